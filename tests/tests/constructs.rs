//! Issue 11, "nothing silent": every construct of the language (grammar,
//! statements, operators, route types, declarations, preprocessor
//! directives) and every core action Kamailio exports, with its state. One
//! probe per construct in `tests/constructs/*.cfg`:
//!
//! ```text
//! # construct: `while` with `break`
//! # group: statement
//! # state: implemented            (or `unsupported`, or `differs`)
//! # expect: SIP/2.0 200 n=3      (what Kamailio answers, one line each)
//! # ours: ...                     (`differs` only: what cfgc answers)
//! # why: ...                      (`differs`: the reason)
//! # uas: 486 Busy Here            (the reply to a request the probe relays
//! #                                back to the client; default 200 OK)
//! request_route { ... }
//! ```
//!
//! `@CLIENT_PORT@` in a probe is a port picked at run time, where the
//! client sends from (for destinations written as constants:
//! `forward("127.0.0.1", @CLIENT_PORT@)`).
//!
//! The probe is appended to [`PRELUDE`] (sl, pv, textops, xlog). An
//! `implemented` probe runs under `kamailio -f`, as the compiled proxy and
//! as the interpreted proxy (each on a port picked at run time); the same
//! OPTIONS goes to each; what comes back (the status line and `X-`
//! headers of replies, the request line and `X-` headers of requests the
//! proxy relays to the client, which answers them as a UAS; or silence) is
//! compared: Kamailio's with `# expect:`, ours with Kamailio's. An
//! `unsupported` probe must be valid Kamailio (`kamailio -c`) and refused
//! by cfgc as "not supported yet". A `differs` probe must still differ, as
//! described. The compiled probes are modules of one generated crate (one
//! cargo build), and probes run concurrently.
//!
//! `docs/constructs.md` is generated from the same files
//! (`UPDATE_DOCS=1 cargo test -p tests --test constructs docs` rewrites it).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::UdpSocket;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use cfgc::Severity;
use cfgc_test_support::{GroupGuard, Kamailio, free_port, module_dir};

/// What every probe starts with.
const PRELUDE: &str = "#!KAMAILIO\n\
debug=2\n\
log_stderror=yes\n\
loadmodule \"sl.so\"\n\
loadmodule \"pv.so\"\n\
loadmodule \"textops.so\"\n\
loadmodule \"xlog.so\"\n";

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Implemented,
    Unsupported,
    Differs,
}

impl State {
    fn word(self) -> &'static str {
        match self {
            State::Implemented => "implemented",
            State::Unsupported => "not supported yet",
            State::Differs => "differs",
        }
    }
}

#[derive(Debug)]
struct Probe {
    /// The file stem.
    name: String,
    construct: String,
    group: String,
    state: State,
    expect: Vec<String>,
    ours: Vec<String>,
    why: String,
    uas: String,
    /// The client's port, when the probe names it (`@CLIENT_PORT@`).
    client_port: Option<u16>,
    /// The whole probe file.
    text: String,
}

const GROUPS: &[(&str, &str)] = &[
    ("statement", "Statements and control flow"),
    ("expression", "Expressions and operators"),
    ("condition", "Keyword conditions"),
    ("route", "Route blocks"),
    ("declaration", "Declarations"),
    ("preprocessor", "Preprocessor directives"),
    ("core", "Core actions"),
];

fn probes() -> Vec<Probe> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("constructs");
    let files = cfgc_test_support::files_ending(&dir, &[".cfg"]);
    let mut v = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(&f).expect("probe readable");
        let name = f.file_stem().unwrap().to_string_lossy().into_owned();
        let mut p = Probe {
            name: name.clone(),
            construct: String::new(),
            group: String::new(),
            state: State::Implemented,
            expect: Vec::new(),
            ours: Vec::new(),
            why: String::new(),
            uas: "200 OK".into(),
            client_port: None,
            text: text.clone(),
        };
        let mut state = None;
        for line in text.lines() {
            let Some((key, value)) = line
                .strip_prefix("# ")
                .and_then(|l| l.split_once(": "))
                .or_else(|| line.strip_prefix("# ").and_then(|l| l.split_once(':')))
            else {
                continue;
            };
            let value = value.trim().to_string();
            match key {
                "construct" => p.construct = value,
                "group" => p.group = value,
                "state" => {
                    state = Some(match value.as_str() {
                        "implemented" => State::Implemented,
                        "unsupported" => State::Unsupported,
                        "differs" => State::Differs,
                        other => panic!("{name}: unknown state `{other}`"),
                    });
                }
                "expect" => p.expect.push(value),
                "ours" => p.ours.push(value),
                "why" => p.why = value,
                "uas" => p.uas = value,
                _ => {}
            }
        }
        p.state = state.unwrap_or_else(|| panic!("{name}: no `# state:` line"));
        assert!(!p.construct.is_empty(), "{name}: no `# construct:` line");
        assert!(
            GROUPS.iter().any(|(g, _)| *g == p.group),
            "{name}: group `{}` is not one of {GROUPS:?}",
            p.group
        );
        match p.state {
            State::Implemented => assert!(!p.expect.is_empty(), "{name}: no `# expect:` line"),
            State::Differs => assert!(
                !p.expect.is_empty() && !p.ours.is_empty() && !p.why.is_empty(),
                "{name}: a `differs` probe needs `# expect:`, `# ours:` and `# why:`"
            ),
            State::Unsupported => {}
        }
        v.push(p);
    }
    v
}

/// The generated table of `docs/constructs.md`.
fn markdown(probes: &[Probe]) -> String {
    let mut s = String::new();
    let count = |st: State| probes.iter().filter(|p| p.state == st).count();
    writeln!(
        s,
        "{} constructs: {} implemented, {} not supported yet, {} differ from Kamailio.\n",
        probes.len(),
        count(State::Implemented),
        count(State::Unsupported),
        count(State::Differs)
    )
    .unwrap();
    for (group, title) in GROUPS {
        writeln!(
            s,
            "## {title}\n\n| construct | state | probe |\n|---|---|---|"
        )
        .unwrap();
        let mut rows: Vec<&Probe> = probes.iter().filter(|p| p.group == *group).collect();
        rows.sort_by_key(|p| p.construct.to_lowercase());
        for p in rows {
            let state = match p.state {
                State::Differs => format!("differs: {}", p.why),
                st => st.word().to_string(),
            };
            writeln!(
                s,
                "| {} | {} | [`{}.cfg`](../tests/constructs/{}.cfg) |",
                p.construct.replace('|', "\\|"),
                state.replace('|', "\\|"),
                p.name,
                p.name
            )
            .unwrap();
        }
        s.push('\n');
    }
    s
}

/// `docs/constructs.md` holds exactly [`markdown`]'s text.
/// `UPDATE_DOCS=1 cargo test -p tests --test constructs docs` rewrites it.
#[test]
fn docs_constructs_md_is_current() {
    let path = workspace().join("docs").join("constructs.md");
    let text = std::fs::read_to_string(&path).expect("docs/constructs.md");
    const START: &str = "<!-- generated by tests/tests/constructs.rs -->\n";
    const END: &str = "<!-- end of generated text -->";
    let (head, rest) = text.split_once(START).expect("start marker");
    let (table, tail) = rest.split_once(END).expect("end marker");
    let want = markdown(&probes());
    if table != want {
        if std::env::var_os("UPDATE_DOCS").is_some() {
            std::fs::write(&path, format!("{head}{START}{want}{END}{tail}")).expect("write docs");
        } else {
            panic!(
                "docs/constructs.md is out of date: run `UPDATE_DOCS=1 cargo test -p tests --test constructs docs`"
            );
        }
    }
}

// ---- running the probes -----------------------------------------------------

/// Where the test writes cfgs, the generated crate and logs.
fn out_dir() -> PathBuf {
    workspace().join("target").join("constructs")
}

fn cfg_path(p: &Probe) -> PathBuf {
    out_dir().join("cfg").join(format!("{}.cfg", p.name))
}

/// The OPTIONS a probe is sent, from `local`, to `port`.
fn request(p: &Probe, who: &str, port: u16, local: std::net::SocketAddr) -> String {
    format!(
        "OPTIONS sip:probe@127.0.0.1:{port} SIP/2.0\r\n\
Via: SIP/2.0/UDP {local};branch=z9hG4bK-{}-{who}-1;rport\r\n\
Max-Forwards: 70\r\n\
From: <sip:tester@127.0.0.1>;tag=t1\r\n\
To: <sip:probe@127.0.0.1>\r\n\
Call-ID: {}-{who}@probe.test\r\n\
CSeq: 1 OPTIONS\r\n\
X-Probe: alpha, beta\r\n\
Content-Length: 0\r\n\r\n",
        p.name, p.name
    )
}

/// The reply of the client's UAS to a request the proxy relayed to it.
fn uas_reply(req: &str, status: &str) -> String {
    let mut s = format!("SIP/2.0 {status}\r\n");
    for line in req.split("\r\n").skip(1) {
        let lower = line.to_ascii_lowercase();
        if lower.starts_with("via:")
            || lower.starts_with("from:")
            || lower.starts_with("call-id:")
            || lower.starts_with("cseq:")
        {
            s.push_str(line);
            s.push_str("\r\n");
        } else if lower.starts_with("to:") {
            s.push_str(line);
            s.push_str(";tag=uas\r\n");
        }
    }
    s.push_str("Content-Length: 0\r\n\r\n");
    s
}

/// Sends the probe's request to `port` and returns what came back,
/// normalised (the proxy's port is `PORT`, the client's `CPORT`).
fn exchange(p: &Probe, who: &str, port: u16) -> Vec<String> {
    let sock = UdpSocket::bind(("127.0.0.1", p.client_port.unwrap_or(0))).expect("client socket");
    let local = sock.local_addr().expect("local address");
    sock.send_to(request(p, who, port, local).as_bytes(), ("127.0.0.1", port))
        .expect("sent");
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut seen = Vec::new();
    let mut buf = vec![0u8; 65536];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            seen.push("no final reply".to_string());
            break;
        }
        // The first answer may come late: a debug-built interpreter
        // compiles a probe's regex on its first message, slowly on a busy
        // machine (CI once saw silence after 1.2 s).
        let wait = if seen.is_empty() { 2500 } else { 1200 };
        sock.set_read_timeout(Some(left.min(Duration::from_millis(wait))))
            .expect("timeout");
        let Ok((n, from)) = sock.recv_from(&mut buf) else {
            seen.push("silence".to_string());
            break;
        };
        let text = String::from_utf8_lossy(&buf[..n]).into_owned();
        let mut lines = text.split("\r\n");
        let first = lines.next().unwrap_or("").to_string();
        let headers: Vec<String> = lines
            .take_while(|l| !l.is_empty())
            .filter(|l| l.len() > 2 && l[..2].eq_ignore_ascii_case("x-"))
            .map(str::to_string)
            .collect();
        if let Some(status) = first.strip_prefix("SIP/2.0 ") {
            let code: u32 = status.get(..3).and_then(|c| c.parse().ok()).unwrap_or(0);
            seen.push(first.clone());
            seen.extend(headers);
            if code >= 200 {
                break;
            }
        } else if first.starts_with("ACK ") {
            continue;
        } else {
            seen.push(format!("> {first}"));
            seen.extend(headers.into_iter().map(|h| format!("> {h}")));
            let _ = sock.send_to(uas_reply(&text, &p.uas).as_bytes(), from);
        }
    }
    let port_s = format!(":{port}");
    let cport_s = format!(":{}", local.port());
    seen.into_iter()
        .map(|l| l.replace(&port_s, ":PORT").replace(&cport_s, ":CPORT"))
        .collect()
}

fn log_file(p: &Probe, who: &str) -> std::fs::File {
    let dir = out_dir().join("logs");
    std::fs::create_dir_all(&dir).expect("log directory");
    std::fs::File::create(dir.join(format!("{}.{who}.log", p.name))).expect("log file")
}

fn run_kamailio(p: &Probe) -> Result<Vec<String>, String> {
    let port = free_port();
    let rundir = std::env::temp_dir().join(format!("cfgc-construct-{}-{port}", p.name));
    let mut kam = Kamailio::new(cfg_path(p), format!("udp:127.0.0.1:{port}"), &rundir)
        .module_dir(Some(module_dir()))
        .start(Stdio::null(), Stdio::from(log_file(p, "kamailio")))?;
    kam.wait_bound(port, "kamailio", Duration::from_secs(10))?;
    let seen = exchange(p, "kamailio", port);
    kam.stop()?;
    let _ = std::fs::remove_dir_all(&rundir);
    Ok(seen)
}

fn run_ours(p: &Probe, mut cmd: Command, who: &str) -> Result<Vec<String>, String> {
    let port = free_port();
    let child = cmd
        .args(["-l", &format!("udp:127.0.0.1:{port}"), "-n", "1", "-E"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::from(log_file(p, who)))
        .process_group(0)
        .spawn()
        .map_err(|e| format!("{who} does not start: {e}"))?;
    let mut g = GroupGuard::new(child);
    g.wait_bound(port, who, Duration::from_secs(10))?;
    let seen = exchange(p, who, port);
    g.stop()?;
    Ok(seen)
}

/// Builds the one crate holding every compiled probe (`CFGC_PROBE` picks
/// one at run time) and returns its binary.
fn build_probes(generated: &[(String, String)]) -> PathBuf {
    let dir = out_dir().join("crate");
    let src = dir.join("src");
    let _ = std::fs::remove_dir_all(&src);
    std::fs::create_dir_all(&src).expect("crate directory");
    let runtime = std::fs::canonicalize(workspace().join("runtime")).expect("runtime sources");
    std::fs::write(
        dir.join("Cargo.toml"),
        format!(
            "[package]\nname = \"construct-probes\"\nversion = \"0.1.0\"\nedition = \"2024\"\npublish = false\n\n\
[dependencies]\ncfgc-runtime = {{ path = {runtime:?}, default-features = false }}\n\n\
[profile.release]\ncodegen-units = 16\nincremental = true\n\n[workspace]\n"
        ),
    )
    .expect("Cargo.toml");
    if !dir.join("Cargo.lock").exists() {
        std::fs::copy(workspace().join("Cargo.lock"), dir.join("Cargo.lock")).expect("lock file");
    }
    let mut main = String::from("//! The construct probes (tests/tests/constructs.rs).\n\n");
    let mut arms = String::new();
    for (i, (name, code)) in generated.iter().enumerate() {
        std::fs::write(src.join(format!("p{i:03}.rs")), code).expect("module");
        writeln!(
            main,
            "/// `tests/constructs/{name}.cfg`\n#[path = \"p{i:03}.rs\"]\nmod p{i:03};"
        )
        .unwrap();
        writeln!(
            arms,
            "        {name:?} => ::cfgc_runtime::proxy::main(p{i:03}::Script::new(), &p{i:03}::settings()),"
        )
        .unwrap();
    }
    write!(
        main,
        "\nfn main() -> std::process::ExitCode {{\n    match std::env::var(\"CFGC_PROBE\").unwrap_or_default().as_str() {{\n{arms}        _ => std::process::ExitCode::FAILURE,\n    }}\n}}\n"
    )
    .unwrap();
    std::fs::write(src.join("main.rs"), main).expect("main.rs");
    let target = workspace().join("target").join("cfgc-cache").join("target");
    let out = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args([
            "build",
            "--release",
            "--message-format=short",
            "--manifest-path",
        ])
        .arg(dir.join("Cargo.toml"))
        .env("CARGO_TARGET_DIR", &target)
        .env_remove("CARGO_MAKEFLAGS")
        .env_remove("MAKEFLAGS")
        .output()
        .expect("cargo runs");
    assert!(
        out.status.success(),
        "the probes do not compile:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    target.join("release").join("construct-probes")
}

#[test]
fn every_construct_is_implemented_alike_or_refused() {
    let started = Instant::now();
    let mut probes = probes();
    assert!(probes.len() >= 80, "only {} probes", probes.len());
    // `CONSTRUCTS=name,name` runs only those probes (while writing one).
    if let Ok(only) = std::env::var("CONSTRUCTS") {
        let only: Vec<&str> = only.split(',').collect();
        probes.retain(|p| only.contains(&p.name.as_str()));
    }
    std::fs::create_dir_all(out_dir().join("cfg")).expect("cfg directory");
    // Files the probes include, next to them.
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("constructs");
    for inc in cfgc_test_support::files_ending(&dir, &[".inc"]) {
        std::fs::copy(&inc, out_dir().join("cfg").join(inc.file_name().unwrap()))
            .expect("include copied");
    }
    let mut failures = Vec::new();
    let mut generated = Vec::new();
    for p in &mut probes {
        let mut text = format!("{PRELUDE}{}", p.text);
        if text.contains("@CLIENT_PORT@") {
            let port = free_port();
            p.client_port = Some(port);
            text = text.replace("@CLIENT_PORT@", &port.to_string());
        }
        std::fs::write(cfg_path(p), text).expect("cfg written");
        let g = cfgc::Config::new()
            .generate_file(cfg_path(p))
            .expect("readable");
        let rendered: String = g
            .report
            .diagnostics
            .iter()
            .map(|d| g.report.render(d))
            .collect();
        let unsupported = g
            .report
            .diagnostics
            .iter()
            .any(|d| d.severity == Severity::Unsupported);
        if g.report.has_errors() {
            failures.push(format!("{}: cfgc reports errors:\n{rendered}", p.name));
            continue;
        }
        match (p.state, unsupported, g.code) {
            (State::Unsupported, true, None) => {}
            (State::Unsupported, _, _) => failures.push(format!(
                "{}: expected a \"not supported yet\" refusal, got:\n{rendered}",
                p.name
            )),
            (_, false, Some(code)) => generated.push((p.name.clone(), code)),
            (_, _, _) => failures.push(format!("{}: expected code, got:\n{rendered}", p.name)),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    let built = Instant::now();
    let bin = build_probes(&generated);
    let build_time = built.elapsed();
    let interp = PathBuf::from(env!("CARGO_BIN_EXE_interp-proxy"));

    // Probes run concurrently, a few at a time.
    let queue = Mutex::new(probes.iter().collect::<Vec<_>>());
    let results: Mutex<BTreeMap<String, Result<(), String>>> = Mutex::new(BTreeMap::new());
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                loop {
                    let Some(p) = queue.lock().unwrap().pop() else {
                        break;
                    };
                    let r = run_probe(p, &bin, &interp);
                    results.lock().unwrap().insert(p.name.clone(), r);
                }
            });
        }
    });
    let results = results.into_inner().unwrap();
    let failures: Vec<String> = results
        .iter()
        .filter_map(|(n, r)| r.as_ref().err().map(|e| format!("{n}: {e}")))
        .collect();
    let count = |st: State| probes.iter().filter(|p| p.state == st).count();
    eprintln!(
        "constructs: {} probes, {} implemented, {} not supported yet, {} differ; probes built in {:.1} s, all in {:.1} s",
        probes.len(),
        count(State::Implemented),
        count(State::Unsupported),
        count(State::Differs),
        build_time.as_secs_f64(),
        started.elapsed().as_secs_f64()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

fn run_probe(p: &Probe, bin: &Path, interp: &Path) -> Result<(), String> {
    if p.state == State::Unsupported {
        let v = tests::kamailio_check(&cfg_path(p), &[]);
        return if v.accepted {
            Ok(())
        } else {
            Err(format!("not valid Kamailio (kamailio -c):\n{}", v.output))
        };
    }
    let theirs = run_kamailio(p)?;
    if theirs != p.expect {
        return Err(format!(
            "kamailio answers {theirs:#?}, the probe expects {:#?}",
            p.expect
        ));
    }
    let want = if p.state == State::Differs {
        &p.ours
    } else {
        &p.expect
    };
    let mut compiled = Command::new(bin);
    compiled.env("CFGC_PROBE", &p.name);
    let got = run_ours(p, compiled, "compiled")?;
    if &got != want {
        return Err(format!("compiled answers {got:#?}, expected {want:#?}"));
    }
    let mut interpreted = Command::new(interp);
    interpreted.arg(cfg_path(p)).arg("--");
    let got = run_ours(p, interpreted, "interpreted")?;
    if &got != want {
        return Err(format!("interpreted answers {got:#?}, expected {want:#?}"));
    }
    Ok(())
}
