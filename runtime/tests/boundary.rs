//! The engine core imports no module (ARCHITECTURE.md, "Runtime"): the
//! engine (`src/engine/`) and tm (`src/tm/`, part of the core) reach
//! modules only through `engine::module::ModuleSet`. Their unit tests
//! (`tests.rs`, `tests/`) may drive them with real modules: they are not
//! part of the library.

use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    for entry in entries {
        let path = entry.expect("dir entry").path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if path.is_dir() {
            if name != "tests" {
                rust_files(&path, out);
            }
        } else if name.ends_with(".rs") && name != "tests.rs" {
            out.push(path);
        }
    }
}

/// Lines of `text` that name the modules tree, comments left out.
fn module_uses(text: &str) -> Vec<(usize, String)> {
    text.lines()
        .enumerate()
        .filter_map(|(i, line)| {
            let code = line.split("//").next().unwrap_or("");
            let hit = code.contains("crate::modules")
                || code.contains("runtime::modules")
                || code.contains("super::modules")
                || (code.contains("crate::{") && code.contains("modules"));
            hit.then(|| (i + 1, line.trim().to_string()))
        })
        .collect()
}

#[test]
fn engine_and_tm_import_no_module() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    for core in ["engine", "tm"] {
        rust_files(&src.join(core), &mut files);
    }
    assert!(files.len() >= 15, "scanned too few files: {files:?}");
    let mut found = Vec::new();
    for f in &files {
        let text = std::fs::read_to_string(f).expect("read");
        for (line, code) in module_uses(&text) {
            found.push(format!("{}:{line}: {code}", f.display()));
        }
    }
    assert!(
        found.is_empty(),
        "the engine core must reach modules through engine::module only:\n{}",
        found.join("\n")
    );
}

#[test]
fn the_scan_sees_a_module_import() {
    assert_eq!(module_uses("use crate::modules::rr;").len(), 1);
    assert_eq!(module_uses("use crate::{engine, modules::acc};").len(), 1);
    assert_eq!(module_uses("// see crate::modules::acc").len(), 0);
    assert_eq!(module_uses("let x = crate::tm::reply_code(ctx);").len(), 0);
}
