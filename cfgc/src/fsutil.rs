//! File-system helpers shared by the build steps (`builder`, `package`).

use std::path::Path;

/// Writes `path` (creating its directory) only if its content changed, so
/// that cargo does not recompile what includes it.
pub(crate) fn write_if_changed(path: &Path, content: &str) -> std::io::Result<()> {
    if std::fs::read_to_string(path).is_ok_and(|old| old == content) {
        return Ok(());
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(path, content)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_only_on_change() {
        let dir = std::env::temp_dir().join(format!("cfgc-fsutil-{}", std::process::id()));
        let path = dir.join("sub").join("f.txt");
        write_if_changed(&path, "a").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "a");
        let before = std::fs::metadata(&path).unwrap().modified().unwrap();
        std::thread::sleep(std::time::Duration::from_millis(20));
        write_if_changed(&path, "a").unwrap();
        let after = std::fs::metadata(&path).unwrap().modified().unwrap();
        assert_eq!(before, after, "unchanged content must not be rewritten");
        write_if_changed(&path, "b").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "b");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
