//! RPC over ctl (issue 11): `kamcmd` against `kamailio -f` and against our
//! proxy (compiled and interpreted), the stock config as installed, each
//! with its own runtime directory (`-Y`), after the same REGISTER. The
//! outputs are compared line by line after normalising only what must
//! differ; every normalisation is listed with its reason in
//! `tests/rpc_ctl/differences.txt` (the test checks each one it applies
//! is listed there).

use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use cfgc_test_support::{GroupGuard, Kamailio, free_port, line_diff, module_dir, udp_exchange};
use regex::Regex;

const STOCK_CFG: &str = "/etc/kamailio/kamailio.cfg";

/// The kamcmd commands compared (state changes included, in order).
const COMMANDS: &[&str] = &[
    "core.version",
    "ul.dump",
    "ul.dump brief",
    "ul.lookup location alice@127.0.0.1",
    "ul.lookup location alice",
    "ul.lookup location bob",
    "ul.lookup",
    "cfg.get core debug",
    "cfg.set_now_int core debug 3",
    "cfg.get core debug",
    "cfg.set_now_string core debug s:4",
    "cfg.get core debug",
    "cfg.set_now_string core debug s:x",
    "cfg.seti core debug 2",
    "cfg.get core debug",
    "cfg.get core nosuch",
    "cfg.get nosuch debug",
    "cfg.set_now_int core nosuch 1",
    "cfg.set_now_int core debug",
    "cfg.get",
    "system.methodHelp core.version",
    "no.such",
    "core.uptime",
];

fn differences() -> String {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("rpc_ctl/differences.txt");
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// REGISTERs alice; the Unix time it was sent.
fn register(port: u16) -> i64 {
    let at = unix_now();
    let status = udp_exchange(port, |local| {
        format!(
            "REGISTER sip:127.0.0.1:{port} SIP/2.0\r\n\
Via: SIP/2.0/UDP {local};branch=z9hG4bK-rpc-1;rport\r\n\
Max-Forwards: 70\r\n\
From: <sip:alice@127.0.0.1>;tag=a1\r\n\
To: <sip:alice@127.0.0.1>\r\n\
Call-ID: rpc-reg1@kt\r\n\
CSeq: 1 REGISTER\r\n\
Contact: <sip:alice@127.0.0.1:5999>\r\n\
Expires: 600\r\n\
User-Agent: kt-test\r\n\
Content-Length: 0\r\n\r\n"
        )
    })
    .map_or_else(
        || "timeout".into(),
        |a| a.lines().next().unwrap_or("").to_string(),
    );
    assert_eq!(status, "SIP/2.0 200 OK", "REGISTER to port {port}");
    at
}

/// One kamcmd run: what it printed (stdout, then stderr).
fn kamcmd(sock: &Path, cmd: &str) -> String {
    let out = Command::new("kamcmd")
        .arg("-s")
        .arg(format!("unix:{}", sock.display()))
        .args(cmd.split(' '))
        .stdin(Stdio::null())
        .output()
        .expect("kamcmd runs (apt-get install kamailio)");
    assert!(out.status.success(), "kamcmd {cmd}: {:?}", out.status);
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Every command's output, as `> command` then its lines.
fn session(rundir: &Path) -> Vec<String> {
    let sock = rundir.join("kamailio_ctl");
    let mut lines = Vec::new();
    for cmd in COMMANDS {
        lines.push(format!("> {cmd}"));
        lines.extend(kamcmd(&sock, cmd).lines().map(str::to_string));
    }
    lines
}

/// The normalisations, by the name differences.txt lists them under.
struct Norm {
    used: Vec<&'static str>,
}

impl Norm {
    fn apply(&mut self, name: &'static str, re: &str, to: &str, lines: &mut [String]) {
        let re = Regex::new(re).expect("regex");
        for l in lines.iter_mut() {
            if re.is_match(l) {
                *l = re.replace_all(l, to).into_owned();
                if !self.used.contains(&name) {
                    self.used.push(name);
                }
            }
        }
    }
}

/// Normalises one side's output; `Expires` seconds are compared first
/// (within one second of Kamailio's), then hidden.
fn normalise(norm: &mut Norm, lines: &mut [String]) {
    norm.apply(
        "ruid",
        r"Ruid: uloc-[0-9a-f]+-[0-9a-f]+-(\d+)$",
        "Ruid: uloc-<start time>-<pid>-$1",
        lines,
    );
    norm.apply(
        "socket-port",
        r"(Socket: udp:127\.0\.0\.1):\d+",
        "$1:<port>",
        lines,
    );
    norm.apply(
        "unix-time",
        r"(Last-Keepalive|Last-Modified): \d+",
        "$1: <unix time>",
        lines,
    );
    norm.apply("expires", r"(Expires): \d+", "$1: <secs>", lines);
    norm.apply(
        "uptime",
        r"(now|up_since): \w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4}",
        "$1: <ctime>",
        lines,
    );
    norm.apply("uptime", r"uptime: \d+", "uptime: <secs>", lines);
}

fn expires(lines: &[String]) -> Vec<i64> {
    lines
        .iter()
        .filter_map(|l| l.trim().strip_prefix("Expires: "))
        .filter_map(|n| n.parse().ok())
        .collect()
}

fn unix_times(lines: &[String]) -> Vec<i64> {
    lines
        .iter()
        .filter_map(|l| {
            let t = l.trim();
            t.strip_prefix("Last-Modified: ")
                .or_else(|| t.strip_prefix("Last-Keepalive: "))
        })
        .filter_map(|n| n.parse().ok())
        .collect()
}

/// core.psx compared by shape: blocks of IDX (0, 1, ...), PID, DSC.
fn psx_shape(out: &str) -> Result<usize, String> {
    let lines: Vec<&str> = out.lines().collect();
    if !lines.len().is_multiple_of(5) || lines.is_empty() {
        return Err(format!("not blocks of 5 lines:\n{out}"));
    }
    for (i, b) in lines.chunks(5).enumerate() {
        let ok = b[0] == "{"
            && b[1] == format!("\tIDX: {i}")
            && b[2]
                .strip_prefix("\tPID: ")
                .is_some_and(|p| p.parse::<u32>().is_ok())
            && b[3].starts_with("\tDSC: ")
            && b[4] == "}";
        if !ok {
            return Err(format!("block {i}: {b:?}"));
        }
    }
    Ok(lines.len() / 5)
}

fn ours(bin: &Path, interpreted: bool, rundir: &Path) -> (GroupGuard, u16) {
    tests::start_ours(
        bin,
        interpreted.then_some(Path::new(STOCK_CFG)),
        &["-Y".as_ref(), rundir.as_os_str()],
        Duration::from_secs(20),
    )
}

/// Runs the session against one of ours and compares it with Kamailio's.
fn compare(
    what: &str,
    theirs: &[String],
    (mut got, registered): (Vec<String>, i64),
    rundir: &Path,
    norm: &mut Norm,
) {
    let (te, ge) = (expires(theirs), expires(&got));
    assert_eq!(te.len(), ge.len(), "{what}: Expires lines");
    for (t, g) in te.iter().zip(&ge) {
        assert!((t - g).abs() <= 1, "{what}: Expires {g}, Kamailio {t}");
    }
    assert_eq!(unix_times(theirs).len(), unix_times(&got).len(), "{what}");
    for g in unix_times(&got) {
        assert!(
            (g - registered).abs() <= 2,
            "{what}: Last-Modified {g}, registered at {registered}"
        );
    }
    normalise(norm, &mut got);
    let mut theirs = theirs.to_vec();
    normalise(norm, &mut theirs);
    let diff = line_diff(&theirs, &got);
    assert!(
        diff.is_empty(),
        "{what} answers differently (- kamailio, + ours):\n{}",
        diff.iter()
            .map(|(theirs, l)| format!("{}{l}\n", if *theirs { '-' } else { '+' }))
            .collect::<String>()
    );
    let psx = kamcmd(&rundir.join("kamailio_ctl"), "core.psx");
    let n = psx_shape(&psx).unwrap_or_else(|e| panic!("{what}: core.psx: {e}"));
    assert!(psx.contains("DSC: ctl handler"), "{what}: {psx}");
    assert!(n >= 3, "{what}: {psx}");
}

fn build_proxy() -> PathBuf {
    tests::build_proxy(Path::new(STOCK_CFG), &[], "rpc-ctl-proxy")
}

#[test]
fn kamcmd_answers_like_kamailio_on_the_stock_config() {
    let compiled_bin = build_proxy();
    let base = std::env::temp_dir().join(format!("cfgc-rpc-ctl-{}", free_port()));
    let _ = std::fs::remove_dir_all(&base);
    std::fs::create_dir_all(&base).expect("temp dir");

    let kport = free_port();
    let krun = base.join("kamailio");
    let mut kam = Kamailio::new(STOCK_CFG, format!("udp:127.0.0.1:{kport}"), &krun)
        .module_dir(Some(module_dir()))
        .start(Stdio::null(), Stdio::null())
        .expect("kamailio runs (apt-get install kamailio)");
    kam.wait_bound(kport, "kamailio", Duration::from_secs(10))
        .expect("kamailio listens");
    std::thread::sleep(Duration::from_millis(300));
    let kreg = register(kport);
    let theirs = session(&krun);
    let kpsx = kamcmd(&krun.join("kamailio_ctl"), "core.psx");
    kam.stop().expect("kamailio stopped");
    psx_shape(&kpsx).unwrap_or_else(|e| panic!("kamailio's core.psx: {e}"));
    for t in unix_times(&theirs) {
        assert!(
            (t - kreg).abs() <= 2,
            "Kamailio's Last-Modified {t}, registered at {kreg}"
        );
    }
    // Kamailio's own answers are what §10.4 and §12.2 say they are.
    for want in [
        "kamailio 5.6.3 (x86_64/linux) ",
        "\t\t\t\t\tHashID: 1834153949",
        "error: 500 - AOR not found in location table",
        "error: 500 - command no.such not found",
        "error: 400 - Failed to get the variable",
        "3",
    ] {
        assert!(
            theirs.iter().any(|l| l == want),
            "kamailio printed no `{want}`:\n{theirs:#?}"
        );
    }

    let mut norm = Norm { used: Vec::new() };
    let orun = base.join("compiled");
    let (compiled, port) = ours(&compiled_bin, false, &orun);
    std::thread::sleep(Duration::from_millis(300));
    let at = register(port);
    let got = (session(&orun), at);
    compare("the compiled proxy", &theirs, got, &orun, &mut norm);
    compiled.stop().expect("proxy stopped");
    assert!(
        !orun.join("kamailio_ctl").exists(),
        "the socket file is removed at shutdown"
    );

    let irun = base.join("interpreted");
    let (interp, port) = ours(Path::new(env!("CARGO_BIN_EXE_interp-proxy")), true, &irun);
    std::thread::sleep(Duration::from_millis(300));
    let at = register(port);
    let got = (session(&irun), at);
    compare("the interpreted proxy", &theirs, got, &irun, &mut norm);
    interp.stop().expect("interpreter stopped");

    let listed = differences();
    for name in &norm.used {
        assert!(
            listed.lines().any(|l| l.starts_with(&format!("{name}:"))),
            "normalisation `{name}` is not listed in differences.txt"
        );
    }
    let _ = std::fs::remove_dir_all(&base);
}

fn cfgvars_cfg() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("rpc_ctl/cfgvars.cfg")
}

/// The reason of the reply to an OPTIONS.
fn reason(port: u16, n: u32) -> String {
    udp_exchange(port, |local| {
        format!(
            "OPTIONS sip:x@127.0.0.1:{port} SIP/2.0\r\n\
Via: SIP/2.0/UDP {local};branch=z9hG4bK-cfgvars-{n};rport\r\n\
Max-Forwards: 70\r\n\
From: <sip:t@127.0.0.1>;tag=t{n}\r\n\
To: <sip:x@127.0.0.1>\r\n\
Call-ID: rpc-cfgvars-{n}@test\r\n\
CSeq: 1 OPTIONS\r\n\
Content-Length: 0\r\n\r\n"
        )
    })
    .map_or_else(
        || "timeout".into(),
        |a| a.lines().next().unwrap_or("").to_string(),
    )
}

/// What the script reads and what RPC answers, before and after changing
/// the custom variables.
fn cfgvars_session(port: u16, rundir: &Path) -> Vec<String> {
    let sock = rundir.join("kamailio_ctl");
    let mut v = vec![reason(port, 1)];
    for cmd in [
        "cfg.get custom knob",
        "cfg.get custom label",
        "cfg.seti custom knob 11",
        "cfg.sets custom label beta",
        "cfg.set_now_int custom label 7",
        "cfg.set_now_string custom knob s:x",
        "cfg.get custom knob",
        "cfg.get custom label",
        "cfg.get custom nosuch",
    ] {
        v.push(format!("> {cmd}"));
        v.extend(kamcmd(&sock, cmd).lines().map(str::to_string));
    }
    v.push(reason(port, 2));
    v
}

#[test]
fn custom_cfg_variables_change_at_run_time_like_kamailio() {
    let bin = tests::build_proxy(&cfgvars_cfg(), &[], "rpc-cfgvars-proxy");
    let base = std::env::temp_dir().join(format!("cfgc-rpc-cfgvars-{}", free_port()));
    let _ = std::fs::remove_dir_all(&base);
    std::fs::create_dir_all(&base).expect("temp dir");

    let kport = free_port();
    let krun = base.join("kamailio");
    let mut kam = Kamailio::new(cfgvars_cfg(), format!("udp:127.0.0.1:{kport}"), &krun)
        .module_dir(Some(module_dir()))
        .start(Stdio::null(), Stdio::null())
        .expect("kamailio runs (apt-get install kamailio)");
    kam.wait_bound(kport, "kamailio", Duration::from_secs(10))
        .expect("kamailio listens");
    std::thread::sleep(Duration::from_millis(300));
    let theirs = cfgvars_session(kport, &krun);
    kam.stop().expect("kamailio stopped");
    assert_eq!(theirs[0], "SIP/2.0 200 knob=10 label=alpha", "{theirs:#?}");
    assert_eq!(
        theirs.last().map(String::as_str),
        Some("SIP/2.0 200 knob=11 label=7"),
        "{theirs:#?}"
    );

    for (what, bin, interpreted) in [
        ("compiled", bin.as_path(), false),
        (
            "interpreted",
            Path::new(env!("CARGO_BIN_EXE_interp-proxy")),
            true,
        ),
    ] {
        let run = base.join(what);
        let port = free_port();
        let mut c = Command::new(bin);
        if interpreted {
            c.arg(cfgvars_cfg()).arg("--");
        }
        let child = c
            .args(["-l", &format!("udp:127.0.0.1:{port}"), "-n", "1", "-E"])
            .arg("-Y")
            .arg(&run)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .expect("proxy starts");
        let mut g = GroupGuard::new(child);
        g.wait_bound(port, "proxy", Duration::from_secs(20))
            .expect("proxy listens");
        std::thread::sleep(Duration::from_millis(300));
        let got = cfgvars_session(port, &run);
        g.stop().expect("proxy stopped");
        assert_eq!(got, theirs, "the {what} proxy");
    }
    let _ = std::fs::remove_dir_all(&base);
}
