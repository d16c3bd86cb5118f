//! `kamailio_cfg!` turns each error of a cfg into a `compile_error!` that
//! names `file:line:col`, and nothing else fails (the stub script stands
//! in): trybuild snapshots in `tests/ui/*.stderr`. Regenerate them with
//! `TRYBUILD=overwrite cargo test -p tests --test ui`, then read the diff.

use std::path::Path;

#[test]
fn ui() {
    // trybuild compiles `tests/ui/*.rs` in a package of its own, whose
    // `CARGO_MANIFEST_DIR` is `<target>/tests/trybuild/tests`: link its `ui`
    // to ours so that `kamailio_cfg!("ui/….cfg")` finds the cfgs (askama's
    // tests do the same for their templates). The macro canonicalizes the
    // path, so messages name `tests/ui/…`, which trybuild shows as `$DIR/`.
    let project = Path::new(env!("CARGO_TARGET_TMPDIR")).join("../tests/trybuild/tests");
    std::fs::create_dir_all(&project).expect("trybuild project directory");
    let link = project.join("ui");
    if std::fs::read_link(&link).is_err() {
        let ui = Path::new(env!("CARGO_MANIFEST_DIR")).join("ui");
        std::os::unix::fs::symlink(ui, &link).expect("link to tests/ui");
    }
    trybuild::TestCases::new().compile_fail("ui/*.rs");
}
