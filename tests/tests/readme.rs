//! The README's three ways to use cfgc (the CLI, a build.rs, the macro),
//! taken from the README itself (the code blocks after
//! `<!-- readme-test: NAME -->` markers, so the README cannot rot): each
//! becomes a new crate in a temporary directory outside this workspace,
//! with path dependencies on this checkout, is built with cargo and run on
//! a free 127.0.0.1 UDP port, and must answer an OPTIONS with a 200.
//!
//! The crates share one target directory (`target/readme-crates`), so
//! registry dependencies are compiled once; they build `--offline`
//! (`CARGO_NET_OFFLINE`) from a copy of the workspace's lock file. A
//! missing cargo, bash or dependency fails the test.

use std::collections::BTreeMap;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use cfgc_test_support::{GroupGuard, free_port};

/// What the README's snippets call this checkout.
const CHECKOUT: &str = "/path/to/cfgc";

/// What the README's run commands listen on (replaced by a free port).
const README_LISTEN: &str = "udp:127.0.0.1:5060";

fn workspace() -> PathBuf {
    std::fs::canonicalize(Path::new(env!("CARGO_MANIFEST_DIR")).join(".."))
        .expect("workspace directory")
}

/// The README's marked snippets: name → the code block after the marker.
fn snippets(readme: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut lines = readme.lines();
    while let Some(line) = lines.next() {
        let Some(name) = line
            .trim()
            .strip_prefix("<!-- readme-test:")
            .and_then(|r| r.strip_suffix("-->"))
        else {
            continue;
        };
        let fence = lines.next().unwrap_or_default();
        assert!(
            fence.starts_with("```"),
            "README: `{line}` must be followed by a code block, not `{fence}`"
        );
        let mut body = String::new();
        for l in lines.by_ref() {
            if l.starts_with("```") {
                break;
            }
            body.push_str(l);
            body.push('\n');
        }
        let name = name.trim().to_string();
        assert!(
            out.insert(name.clone(), body).is_none(),
            "README: snippet `{name}` twice"
        );
    }
    out
}

/// A command with the environment every cargo run of this test gets.
fn command(program: &str, dir: &Path, env: &Env) -> Command {
    let mut c = Command::new(program);
    c.current_dir(dir)
        .env("CARGO_TARGET_DIR", &env.target)
        .env("CARGO_NET_OFFLINE", "true")
        .env("CFGC_CACHE", &env.cfgc_cache)
        .env("CARGO_INSTALL_ROOT", &env.install_root)
        .env("PATH", &env.path)
        // Do not inherit the outer cargo's jobserver.
        .env_remove("CARGO_MAKEFLAGS")
        .env_remove("MAKEFLAGS")
        .env_remove("CARGO_BUILD_TARGET_DIR")
        .stdin(Stdio::null());
    c
}

struct Env {
    target: PathBuf,
    cfgc_cache: PathBuf,
    install_root: PathBuf,
    path: std::ffi::OsString,
}

/// Runs a README shell snippet to its end; panics with its output if it
/// fails.
fn run_script(what: &str, script: &str, dir: &Path, env: &Env) {
    let out = command("bash", dir, env)
        .args(["-euo", "pipefail", "-c", script])
        .output()
        .unwrap_or_else(|e| panic!("{what}: cannot run bash: {e}"));
    assert!(
        out.status.success(),
        "{what} failed ({}):\n{script}\n--- stdout\n{}\n--- stderr\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Starts a README run snippet on a free port and asserts the proxy
/// answers an OPTIONS with a 200.
fn run_proxy_and_probe(what: &str, script: &str, dir: &Path, env: &Env) {
    assert!(
        script.contains(README_LISTEN),
        "{what}: the README's run command must listen on {README_LISTEN}: {script}"
    );
    let port = free_port();
    let script = script.replace(README_LISTEN, &format!("udp:127.0.0.1:{port}"));
    let log = dir.join("proxy.log");
    let out = std::fs::File::create(&log).expect("log file");
    let child = command("bash", dir, env)
        .args(["-euo", "pipefail", "-c", &script])
        .stdout(out.try_clone().expect("log file"))
        .stderr(out)
        .process_group(0)
        .spawn()
        .unwrap_or_else(|e| panic!("{what}: cannot run bash: {e}"));
    let mut proxy = GroupGuard::new(child);
    let tail = || cfgc_test_support::tail(&log, 30);
    if let Err(e) = proxy.wait_bound(port, what, Duration::from_secs(300)) {
        panic!("{e}\n{}", tail());
    }
    let answer = options(port);
    assert!(
        answer
            .as_deref()
            .is_some_and(|a| a.starts_with("SIP/2.0 200 ")),
        "{what}: OPTIONS answered {answer:?}\n{}",
        tail()
    );
    proxy
        .stop()
        .unwrap_or_else(|e| panic!("{what}: {e}\n{}", tail()));
}

/// Sends an OPTIONS to 127.0.0.1:`port` (retransmitted) and returns the
/// first answer.
fn options(port: u16) -> Option<String> {
    cfgc_test_support::udp_exchange(port, |local| {
        format!(
            "OPTIONS sip:127.0.0.1:{port} SIP/2.0\r\nVia: SIP/2.0/UDP {local};branch=z9hG4bK-readme-{port};rport\r\n\
Max-Forwards: 70\r\nFrom: <sip:readme@127.0.0.1>;tag=r\r\nTo: <sip:127.0.0.1:{port}>\r\n\
Call-ID: readme-{port}\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
        )
    })
}

#[test]
fn readme_snippets_build_proxies_that_answer_options() {
    let ws = workspace();
    let readme = std::fs::read_to_string(ws.join("README.md")).expect("README.md");
    let snippets = snippets(&readme);
    let names: Vec<&str> = snippets.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        [
            "build-rs/Cargo.toml",
            "build-rs/build.rs",
            "build-rs/run.sh",
            "build-rs/src/main.rs",
            "cli/build.sh",
            "cli/run.sh",
            "emit/route_reqinit.rs",
            "kamailio.cfg",
            "macro/Cargo.toml",
            "macro/run.sh",
            "macro/src/main.rs",
        ],
        "the README's marked snippets"
    );

    let root = std::env::temp_dir().join(format!("cfgc-readme-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    let checkout = ws.display().to_string();
    let cargo = PathBuf::from(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    let install_root = root.join("install");
    let mut path = vec![install_root.join("bin")];
    if let Some(dir) = cargo.parent().filter(|d| !d.as_os_str().is_empty()) {
        path.push(dir.to_path_buf());
    }
    path.extend(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    ));
    let env = Env {
        target: ws.join("target").join("readme-crates"),
        cfgc_cache: ws.join("target").join("cfgc-cache"),
        install_root,
        path: std::env::join_paths(path).expect("PATH"),
    };
    let lock = std::fs::read_to_string(ws.join("Cargo.lock")).expect("Cargo.lock");

    for way in ["cli", "build-rs", "macro"] {
        let dir = root.join(way);
        std::fs::create_dir_all(&dir).expect("crate directory");
        std::fs::write(dir.join("kamailio.cfg"), &snippets["kamailio.cfg"]).expect("write");
        for (name, text) in &snippets {
            let Some(file) = name.strip_prefix(&format!("{way}/")) else {
                continue;
            };
            if file.ends_with(".sh") {
                continue;
            }
            let path = dir.join(file);
            std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            std::fs::write(&path, text.replace(CHECKOUT, &checkout)).expect("write");
        }
        let script = |s: &str| snippets[&format!("{way}/{s}")].replace(CHECKOUT, &checkout);
        if way == "cli" {
            run_script("cli/build.sh", &script("build.sh"), &dir, &env);
        } else {
            // The workspace's versions: no registry access needed.
            std::fs::write(dir.join("Cargo.lock"), &lock).expect("write");
            run_script(
                &format!("{way}: cargo build --release"),
                "cargo build --release",
                &dir,
                &env,
            );
        }
        run_proxy_and_probe(&format!("{way}/run.sh"), &script("run.sh"), &dir, &env);
    }
    let _ = std::fs::remove_dir_all(&root);
}

/// The README's excerpt of generated code is what cfgc generates for the
/// stock config's `route[REQINIT]` today (indentation aside).
#[test]
fn readme_generated_code_is_what_cfgc_emits() {
    let readme = std::fs::read_to_string(workspace().join("README.md")).expect("README.md");
    let excerpt = &snippets(&readme)["emit/route_reqinit.rs"];
    let generated = cfgc::Config::new()
        .generate_file("/etc/kamailio/kamailio.cfg")
        .expect("the stock config (apt-get install kamailio)");
    let code = generated.code.expect("the stock config compiles");
    let strip = |s: &str| -> Vec<String> {
        s.lines()
            .map(|l| l.trim().to_string())
            .filter(|l| !l.is_empty())
            .collect()
    };
    let (want, have) = (strip(excerpt), strip(&code));
    assert!(
        have.windows(want.len()).any(|w| w == want.as_slice()),
        "README's excerpt differs from `cfgc emit`:\n{}",
        want.join("\n")
    );
}

#[test]
fn snippets_are_found_by_their_markers() {
    let text = "x\n<!-- readme-test: a/b.rs -->\n```rust\nfn main() {}\n```\n\
<!-- readme-test: c.sh -->\n```sh\necho 1\necho 2\n```\n";
    let s = snippets(text);
    assert_eq!(s["a/b.rs"], "fn main() {}\n");
    assert_eq!(s["c.sh"], "echo 1\necho 2\n");
    assert_eq!(s.len(), 2);
}
