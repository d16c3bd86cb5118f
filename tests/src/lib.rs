//! Shared helpers for the integration tests: where Debian installs Kamailio
//! and its example configs, and how to ask the real `kamailio -c` about a
//! file (the oracle that cfgc is compared with).
//!
//! Kamailio is GPL: its configs are read where the package installs them,
//! never copied into this repository.

pub mod db;
pub mod digest;
pub mod rtpproxy;

use std::path::{Path, PathBuf};
use std::process::Command;

use cfgc_test_support::module_dir;

/// The stock configuration of the Debian package.
pub const STOCK_CFG: &str = "/etc/kamailio/kamailio.cfg";

/// The example configurations of the Debian package.
pub const EXAMPLES_DIR: &str = "/usr/share/doc/kamailio/examples";

/// What `kamailio -c` said about a configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KamailioVerdict {
    pub accepted: bool,
    /// Line of the first `parse error in config file ..., line N, column C:
    /// syntax error` message, if any.
    pub syntax_error_line: Option<usize>,
    /// The whole output, for failure messages.
    pub output: String,
}

/// Runs `kamailio -c -L <moddir> -f FILE -A DEF...`.
///
/// # Panics
/// If the `kamailio` binary cannot be run.
pub fn kamailio_check(file: &Path, defines: &[&str]) -> KamailioVerdict {
    let mut cmd = Command::new("kamailio");
    cmd.arg("-c")
        .arg("-L")
        .arg(module_dir())
        .arg("-f")
        .arg(file);
    for d in defines {
        cmd.arg("-A").arg(d);
    }
    let out = cmd
        .output()
        .expect("cannot run `kamailio`: apt-get install kamailio");
    let output =
        String::from_utf8_lossy(&out.stderr).into_owned() + &String::from_utf8_lossy(&out.stdout);
    let syntax_error_line = output.lines().find_map(|l| {
        let rest = l.split_once("parse error in config file ")?.1;
        if !rest.trim_end().ends_with(": syntax error") {
            return None;
        }
        let after = rest.split_once(", line ")?.1;
        after.split(',').next()?.trim().parse().ok()
    });
    KamailioVerdict {
        accepted: out.status.success(),
        syntax_error_line,
        output,
    }
}

/// Every `*.cfg` and `*.cfg.sample` under the examples directory, sorted.
///
/// # Panics
/// If the directory is missing (Kamailio not installed).
pub fn example_configs() -> Vec<PathBuf> {
    let dir = Path::new(EXAMPLES_DIR);
    assert!(
        dir.is_dir(),
        "{EXAMPLES_DIR} is missing: apt-get install kamailio"
    );
    cfgc_test_support::files_ending(dir, &[".cfg", ".cfg.sample"])
}

/// Our proxy for `cfg` (with `defines`, `NAME=VALUE`), built with cfgc's
/// library as `cfgc build` does, into `target/cfgc-cache/<out_name>` (the
/// cache's target directory is shared by every test that builds one).
///
/// # Panics
/// If cfgc generates no code (the diagnostics are rendered) or the build
/// fails.
pub fn build_proxy(cfg: &Path, defines: &[(&str, &str)], out_name: &str) -> PathBuf {
    // One build at a time in a test binary: every build of a cfg shares
    // one generated package (named after the cfg), whatever the defines,
    // and all share the cache's target directory.
    static BUILD: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one = BUILD
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let cache = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("target")
        .join("cfgc-cache");
    let mut config = cfgc::Config::new();
    for (name, value) in defines {
        config.define_value(*name, *value);
    }
    let generated = config
        .generate_file(cfg)
        .unwrap_or_else(|e| panic!("{}: {e}", cfg.display()));
    let code = generated.code.unwrap_or_else(|| {
        let r = &generated.report;
        panic!(
            "cfgc generates no code for {}:\n{}",
            cfg.display(),
            r.diagnostics
                .iter()
                .map(|d| r.render(d))
                .collect::<String>()
        )
    });
    let dir = cfgc::package::write_package(&cache, cfg, &code).expect("package written");
    let out = cache.join(out_name);
    cfgc::package::build(&cache, &dir, cfg, &out, false).expect("proxy builds");
    out
}

/// Runs cfgc's front end (all passes) with Kamailio-style `-A` defines.
pub fn cfgc_check(file: &Path, defines: &[&str], syntax_only: bool) -> cfgc::Report {
    let mut config = cfgc::Config::new();
    for d in defines {
        config.define_arg(d);
    }
    config.syntax_only(syntax_only);
    config
        .check_file(file)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", file.display()))
}

/// All error diagnostics of a report, rendered, for assertion messages.
pub fn rendered_errors(report: &cfgc::Report) -> String {
    report.errors().map(|d| report.render(d)).collect()
}

/// The `WITH_*` names the stock config tests with `#!ifdef`/`#!ifndef`.
pub fn stock_with_defines() -> Vec<String> {
    let text = std::fs::read_to_string(STOCK_CFG)
        .expect("/etc/kamailio/kamailio.cfg is missing: apt-get install kamailio");
    let mut v: Vec<String> = text
        .lines()
        .filter_map(|l| {
            let l = l.trim_start();
            let rest = l
                .strip_prefix("#!ifdef ")
                .or_else(|| l.strip_prefix("#!ifndef "))?;
            let name = rest.split_whitespace().next()?;
            name.starts_with("WITH_").then(|| name.to_string())
        })
        .collect();
    v.sort();
    v.dedup();
    v
}

/// Starts one of cfgc's proxies on a free loopback UDP port, one worker,
/// logging to stderr (discarded): `bin` a compiled proxy, or the
/// interpreter running `interpret`; `extra` more of Kamailio's flags
/// (`-Y DIR`). Returns once it listens (within `wait`), with its process
/// group guard and the port.
pub fn start_ours(
    bin: &Path,
    interpret: Option<&Path>,
    extra: &[&std::ffi::OsStr],
    wait: std::time::Duration,
) -> (cfgc_test_support::GroupGuard, u16) {
    let mut c = Command::new(bin);
    if let Some(cfg) = interpret {
        c.arg(cfg).arg("--");
    }
    start_command(c, extra, wait)
}

/// [`start_ours`] for a command already holding what comes before the
/// proxy's own flags (the interpreter with `-A` defines and the cfg).
pub fn start_command(
    mut c: Command,
    extra: &[&std::ffi::OsStr],
    wait: std::time::Duration,
) -> (cfgc_test_support::GroupGuard, u16) {
    use std::os::unix::process::CommandExt as _;
    let port = cfgc_test_support::free_port();
    let child = c
        .args(["-l", &format!("udp:127.0.0.1:{port}"), "-n", "1", "-E"])
        .args(extra)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .process_group(0)
        .spawn()
        .expect("proxy starts");
    let mut g = cfgc_test_support::GroupGuard::new(child);
    g.wait_bound(port, "proxy", wait).expect("proxy listens");
    (g, port)
}

/// Runs a proxy that should refuse to start: whether it exited with a
/// failure within 20 s, and what it logged (its standard error, kept in
/// `log`).
///
/// # Panics
/// It cannot be started, or the log file cannot be made.
pub fn refuses(mut c: Command, log: &Path) -> (bool, String) {
    use std::os::unix::process::CommandExt as _;
    let file = std::fs::File::create(log).expect("log file");
    let child = c
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(file)
        .process_group(0)
        .spawn()
        .expect("starts");
    let mut g = cfgc_test_support::GroupGuard::new(child);
    let t0 = std::time::Instant::now();
    let status = loop {
        if let Some(s) = g.try_wait() {
            break Some(s);
        }
        if t0.elapsed() > std::time::Duration::from_secs(20) {
            break None;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    let text = std::fs::read_to_string(log).unwrap_or_default();
    if status.is_none() {
        g.stop().expect("stopped");
    }
    (status.is_some_and(|s| !s.success()), text)
}

/// One side of a differential test on `cfg` with `defines` (`NAME`,
/// `VALUE`): `who` is `"kamailio"` (`kamailio -f`), `"compiled"` (the
/// compiled proxy, built as `build_name`) or `"interpreted"` (`interp`,
/// the test's `CARGO_BIN_EXE_interp-proxy`); started on a free loopback
/// UDP port, one worker, and returned once it listens.
///
/// # Panics
/// It cannot be built or started, or does not listen within 20 s.
pub fn start_contender(
    who: &str,
    cfg: &Path,
    defines: &[(String, String)],
    build_name: &str,
    interp: &Path,
) -> (cfgc_test_support::GroupGuard, u16) {
    let wait = std::time::Duration::from_secs(20);
    match who {
        "kamailio" => {
            let port = cfgc_test_support::free_port();
            let rundir = std::env::temp_dir().join(format!("cfgc-{build_name}-{port}"));
            let mut k =
                cfgc_test_support::Kamailio::new(cfg, format!("udp:127.0.0.1:{port}"), rundir)
                    .module_dir(Some(module_dir()));
            for (n, v) in defines {
                k = k.define(format!("{n}={v}"));
            }
            let mut g = k
                .start(std::process::Stdio::null(), std::process::Stdio::null())
                .expect("kamailio runs (apt-get install kamailio)");
            g.wait_bound(port, "kamailio", wait)
                .expect("kamailio listens");
            (g, port)
        }
        "compiled" => {
            let refs: Vec<(&str, &str)> = defines
                .iter()
                .map(|(a, b)| (a.as_str(), b.as_str()))
                .collect();
            let bin = build_proxy(cfg, &refs, build_name);
            start_ours(&bin, None, &[], wait)
        }
        _ => {
            let mut c = Command::new(interp);
            for (n, v) in defines {
                c.arg("-A").arg(format!("{n}={v}"));
            }
            c.arg(cfg).arg("--");
            start_command(c, &[], wait)
        }
    }
}

/// The operator's `kamcmd CMD ARGS...` on the ctl socket Kamailio (and
/// ours) make in `rundir` (`-Y`): what it printed, standard output then
/// standard error.
///
/// # Panics
/// kamcmd cannot run.
pub fn kamcmd(rundir: &Path, cmd: &str) -> String {
    let out = Command::new("kamcmd")
        .arg("-s")
        .arg(format!("unix:{}", rundir.join("kamailio_ctl").display()))
        .args(cmd.split(' '))
        .stdin(std::process::Stdio::null())
        .output()
        .expect("kamcmd runs (apt-get install kamailio)");
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// A user-space rtpengine daemon for a test: its control (ng) socket on
/// 127.0.0.1:`ng`, media ports `rtp`..`rtp`+99, killed with the guard.
///
/// # Panics
/// rtpengine is not installed (`apt-get install rtpengine-daemon`) or
/// does not listen within 10 s.
pub fn rtpengine_daemon(ng: u16, rtp: u16) -> cfgc_test_support::GroupGuard {
    rtpengine_daemon_logged(ng, rtp, None)
}

/// [`rtpengine_daemon`], its log (at level 6: every ng command it
/// received, `Received command 'offer' from ...`) written to `log` when
/// given; [`rtpengine_commands`] reads the commands back.
///
/// # Panics
/// As [`rtpengine_daemon`], or the log file cannot be made.
pub fn rtpengine_daemon_logged(
    ng: u16,
    rtp: u16,
    log: Option<&Path>,
) -> cfgc_test_support::GroupGuard {
    use std::os::unix::process::CommandExt as _;
    let stderr = log.map_or_else(std::process::Stdio::null, |p| {
        std::fs::File::create(p).expect("rtpengine log").into()
    });
    // The packaged /etc/rtpengine/rtpengine.conf names fixed CLI and
    // HTTP ports: a second daemon would fail to bind them and exit, so
    // each gets free ones.
    let cli = cfgc_test_support::free_port();
    let http = cfgc_test_support::free_port();
    let child = Command::new("/usr/bin/rtpengine")
        .args([
            &format!("--listen-cli=127.0.0.1:{cli}"),
            &format!("--listen-http=127.0.0.1:{http}"),
            "--foreground",
            "--table=-1",
            "--interface=127.0.0.1",
            &format!("--listen-ng=127.0.0.1:{ng}"),
            &format!("--port-min={rtp}"),
            &format!("--port-max={}", rtp + 99),
            "--log-stderr",
            "--log-level=6",
            "--no-redis-required",
            "--delete-delay=0",
        ])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(stderr)
        .process_group(0)
        .spawn()
        .expect("rtpengine runs (apt-get install rtpengine-daemon)");
    let mut g = cfgc_test_support::GroupGuard::new(child);
    g.wait_bound(ng, "rtpengine", std::time::Duration::from_secs(10))
        .expect("rtpengine listens");
    g
}

/// The ng commands an rtpengine logged (see [`rtpengine_daemon_logged`]),
/// in order: `offer`, `answer`, `delete`, ...
pub fn rtpengine_commands(log: &Path) -> Vec<String> {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split("Received command '").nth(1))
        .filter_map(|l| l.split('\'').next())
        .map(str::to_string)
        .collect()
}

/// Asserts that `who` saw what Kamailio saw, line for line, showing the
/// lines that differ (`!`) when not.
///
/// # Panics
/// They differ.
pub fn assert_same_lines(who: &str, theirs: &[String], ours: &[String]) {
    let diff = cfgc_test_support::line_diff(theirs, ours);
    assert_eq!(
        theirs,
        ours,
        "{who} differs from kamailio -f:\n{}",
        diff.iter()
            .map(|(ok, l)| format!("{} {l}", if *ok { ' ' } else { '!' }))
            .collect::<Vec<_>>()
            .join("\n")
    );
}

/// The status line of the reply to an OPTIONS for `user` (R-URI and To)
/// from `from_user`, with Call-ID `call_id`, sent to 127.0.0.1:`port`
/// (retransmitted as `udp_exchange` does); "timeout" when none came. The
/// request the module tests send to cfgs that answer in a reply's reason.
pub fn options_status(port: u16, user: &str, from_user: &str, call_id: &str) -> String {
    let answer = cfgc_test_support::udp_exchange(port, |local| {
        format!(
            "OPTIONS sip:{user}@127.0.0.1:{port} SIP/2.0\r\n\
Via: SIP/2.0/UDP {local};branch=z9hG4bK-{user}-1;rport\r\n\
Max-Forwards: 70\r\n\
From: <sip:{from_user}@127.0.0.1>;tag=t1\r\n\
To: <sip:{user}@127.0.0.1>\r\n\
Call-ID: {call_id}\r\n\
CSeq: 1 OPTIONS\r\n\
Content-Length: 0\r\n\r\n"
        )
    });
    answer.map_or_else(
        || "timeout".into(),
        |a| a.lines().next().unwrap_or("").to_string(),
    )
}

/// A fresh runtime directory (`-Y`, ctl's socket) for `who` in the test
/// `name`.
pub fn rundir(name: &str, who: &str, port: u16) -> PathBuf {
    let d = std::env::temp_dir().join(format!("cfgc-{name}-{who}-{port}"));
    std::fs::create_dir_all(&d).expect("rundir");
    d
}

/// `session` (the traffic and RPC commands of a differential test, given
/// the proxy's port and runtime directory) against `kamailio -f cfg`: its
/// lines, for the caller to check against what the cfg means.
pub fn kamailio_session(
    cfg: &Path,
    name: &str,
    session: impl Fn(u16, &Path) -> Vec<String>,
) -> Vec<String> {
    let kport = cfgc_test_support::free_port();
    let krun = rundir(name, "kamailio", kport);
    let mut kam = cfgc_test_support::Kamailio::new(
        cfg.to_path_buf(),
        format!("udp:127.0.0.1:{kport}"),
        krun.clone(),
    )
    .module_dir(Some(module_dir()))
    .start(std::process::Stdio::null(), std::process::Stdio::null())
    .expect("kamailio runs (apt-get install kamailio)");
    kam.wait_bound(kport, "kamailio", std::time::Duration::from_secs(10))
        .expect("kamailio listens");
    let lines = session(kport, &krun);
    kam.stop().expect("kamailio stopped");
    lines
}

/// The same `session` against the compiled proxy and the interpreter
/// (`interp`: the test's `CARGO_BIN_EXE_interp-proxy`) of `cfg`, each
/// compared line by line with Kamailio's `theirs`.
pub fn ours_match(
    cfg: &Path,
    name: &str,
    interp: &Path,
    theirs: &[String],
    session: impl Fn(u16, &Path) -> Vec<String>,
) {
    let bin = build_proxy(cfg, &[], &format!("{name}-proxy"));
    for (who, interpreted) in [("compiled", false), ("interpreted", true)] {
        let exe = if interpreted { interp } else { bin.as_path() };
        let run = rundir(name, who, cfgc_test_support::free_port());
        let (g, port) = start_ours(
            exe,
            interpreted.then_some(cfg),
            &["-Y".as_ref(), run.as_os_str()],
            std::time::Duration::from_secs(20),
        );
        let got = session(port, &run);
        g.stop().expect("proxy stopped");
        assert_same_lines(who, theirs, &got);
    }
}

/// One datagram on `sock` within `wait` (at least 1 ms), as text, and who
/// sent it; `None` if none came.
pub fn recv_text(
    sock: &std::net::UdpSocket,
    wait: std::time::Duration,
) -> Option<(String, std::net::SocketAddr)> {
    let mut buf = [0u8; 65536];
    sock.set_read_timeout(Some(wait.max(std::time::Duration::from_millis(1))))
        .expect("timeout");
    let (n, a) = sock.recv_from(&mut buf).ok()?;
    Some((String::from_utf8_lossy(&buf[..n]).into_owned(), a))
}

/// A test UAS's reply to `req`: its Vias, From, Call-ID and CSeq, its To
/// with `;tag=TO_TAG` added, then the `extra` header lines and an empty
/// body.
pub fn uas_reply(req: &str, status: &str, to_tag: &str, extra: &str) -> String {
    let mut r = format!("SIP/2.0 {status}\r\n");
    for l in req.split("\r\n").skip(1) {
        let lower = l.to_ascii_lowercase();
        if ["via:", "from:", "call-id:", "cseq:"]
            .iter()
            .any(|p| lower.starts_with(p))
        {
            r.push_str(l);
            r.push_str("\r\n");
        } else if lower.starts_with("to:") {
            r.push_str(l);
            r.push_str(";tag=");
            r.push_str(to_tag);
            r.push_str("\r\n");
        }
    }
    r.push_str(extra);
    r.push_str("Content-Length: 0\r\n\r\n");
    r
}
