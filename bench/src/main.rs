//! `cargo run -p bench --release -- [OPTIONS]`: the compiled proxy, the
//! same program interpreted, and Kamailio 5.6 (`kamailio -f`, when
//! installed) on the same cfg, driven by SIPp on 127.0.0.1.
//!
//! Scenarios (each on its own cfg):
//! * `stateless` — `examples/stateless-proxy/kamailio.cfg`: SIPp calls
//!   relayed by `forward()` to a SIPp UAS (6 messages through the proxy per
//!   call).
//! * `register` — the stock `/etc/kamailio/kamailio.cfg`: a REGISTER storm,
//!   one distinct user per call (`bench/sipp/register.xml`).
//! * `call` — the stock cfg: a callee registered, then calls through the
//!   registrar with Record-Route and loose routing
//!   (`bench/sipp/call-{uac,uas}.xml`; 6 messages in per call).
//! * `auth-register` (only when asked for) — the stock cfg with
//!   `WITH_MYSQL WITH_AUTH` on a MariaDB database the bench makes
//!   (`cfgc_bench_auth`, Debian's schema, 1000 subscribers): each REGISTER
//!   (of `u0`, a new Call-ID each) challenged once, then authorised with a
//!   subscriber lookup (`bench/sipp/auth-register.xml`; 2 messages in per
//!   call). Needs MariaDB running (as `.ci/run` starts
//!   it) and `mysql -u root` working.
//! * `nat-call` (only when asked for) — the stock cfg with `WITH_NAT
//!   WITH_RTPENGINE` (its rtpengine socket moved to a daemon the bench
//!   starts once, on 127.0.0.1, for every contender): the `call` flow with
//!   a caller that writes what a client behind NAT writes
//!   (`bench/sipp/call-uac-nat.xml`: private Via, Contact and SDP), so
//!   that every call is offered, answered and deleted through rtpengine.
//!   rtpengine's own CPU per message is measured over the same load and
//!   reported apart (the note column).
//! * `dlg-call` (only when asked for) — `bench/dispatch-dialog.cfg`:
//!   calls spread round robin by dispatcher over two SIPp UASes, each a
//!   dialog (`dlg_manage`, a profile) with a Record-Route, ACK and BYE
//!   loose-routed back (the `call` flow, 6 messages in per call). Then the
//!   dialogs' memory: the PSS of the process tree before and after 10,000
//!   calls left up (`bench/sipp/call-uac-nobye.xml`: no BYE, each call a
//!   confirmed dialog in the proxy), read once tm's wait timer has freed
//!   the transactions (the note column).
//! * `slow-db` (only when asked for) — the auth-register setup with the
//!   database reached through a relay that holds each chunk the proxy
//!   sends for `--slow-ms` (20 ms: every query that much slower): the
//!   authenticated REGISTER storm at `--slow-rate` calls/s and, at the same
//!   time, OPTIONS keepalives from other clients (`bench/sipp/options.xml`,
//!   a socket per call, `--keepalive-rate` per second), which the stock
//!   config answers without the database. Reported: the keepalives'
//!   response times (the issue: does a slow query hold other messages?),
//!   and the CPU per message of both loads together; no rate stepping.
//!
//! For each scenario and contender: CPU per message at a fixed rate
//! (utime+stime of the proxy's process tree from /proc, before/after),
//! SIPp's response times (50/90/99th percentile), the peak proportional
//! set size of the process tree, then the rate stepped up until SIPp sees a
//! failed call (in two runs in a row). Every SIPp run is bounded in calls
//! and time. Output: a Markdown table (stdout and `OUT/bench.md`) and a
//! chart (`OUT/bench.svg`).

mod chart;
mod proc;
mod slowdb;

use std::fmt::Write as _;
use std::net::UdpSocket;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use cfgc_test_support::{GroupGuard, Kamailio, find_module_dir, free_port};

const USAGE: &str = "\
usage: bench [options]
       bench serve-interp [-A DEF]... FILE [-- PROXY-FLAGS]   (used by bench itself)

options:
  --scenario NAME      stateless, register, call, auth-register, slow-db, nat-call
                       or dlg-call
                       (repeatable; default the first three)
  --contender NAME     compiled, interpreted or kamailio (repeatable; default all)
  --stock FILE         the stock config (default /etc/kamailio/kamailio.cfg)
  --workers N          worker threads/processes of every proxy (default 2)
  --cpu-rate R         calls/s of the CPU measurement (default 300)
  --cpu-calls N        calls of the CPU measurement (default 3000)
  --rates LIST         rates to step through, calls/s (default 500,1000,2000,3000,4000,5000)
  --step-secs S        seconds of load per rate step (default 4)
  --out DIR            where bench.md and bench.svg go (default target/bench)
  --slow-ms MS         slow-db: the delay per database chunk (default 20)
  --slow-rate R        slow-db: authenticated REGISTERs/s (default 30)
  --keepalive-rate R   slow-db: OPTIONS keepalives/s (default 100)
  --slow-secs S        slow-db: seconds of load (default 20)
";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Contender {
    Compiled,
    Interpreted,
    Kamailio,
}

impl Contender {
    fn name(self) -> &'static str {
        match self {
            Contender::Compiled => "compiled",
            Contender::Interpreted => "interpreted",
            Contender::Kamailio => "kamailio",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Scenario {
    Stateless,
    Register,
    Call,
    AuthRegister,
    SlowDb,
    NatCall,
    DlgCall,
}

impl Scenario {
    fn name(self) -> &'static str {
        match self {
            Scenario::Stateless => "stateless",
            Scenario::Register => "register",
            Scenario::Call => "call",
            Scenario::AuthRegister => "auth-register",
            Scenario::SlowDb => "slow-db",
            Scenario::NatCall => "nat-call",
            Scenario::DlgCall => "dlg-call",
        }
    }

    /// Messages the proxy receives per SIPp call.
    fn messages_per_call(self) -> u64 {
        match self {
            Scenario::Register | Scenario::SlowDb => 1,
            Scenario::AuthRegister => 2,
            Scenario::Stateless | Scenario::Call | Scenario::NatCall | Scenario::DlgCall => 6,
        }
    }
}

struct Opts {
    scenarios: Vec<Scenario>,
    contenders: Vec<Contender>,
    stock: PathBuf,
    workers: usize,
    cpu_rate: u32,
    cpu_calls: u32,
    rates: Vec<u32>,
    step_secs: u32,
    out: PathBuf,
    slow_ms: u32,
    slow_rate: u32,
    keepalive_rate: u32,
    slow_secs: u32,
}

/// One row of the results.
#[derive(Debug, Clone, Default)]
pub(crate) struct Row {
    pub(crate) scenario: String,
    pub(crate) contender: String,
    /// CPU µs per message at the fixed rate; `None` if that run failed.
    pub(crate) cpu_us: Option<f64>,
    /// Highest stepped rate with zero failed calls.
    pub(crate) max_rate: Option<u32>,
    /// Response time percentiles (ms) at the fixed rate.
    pub(crate) rtt: Option<(f64, f64, f64)>,
    /// Peak PSS of the process tree, MiB.
    pub(crate) peak_mib: f64,
    /// Why the contender could not run, if it could not.
    pub(crate) error: Option<String>,
    /// The media relay's CPU µs per message over the same load (nat-call).
    pub(crate) relay_cpu_us: Option<f64>,
    /// PSS growth (MiB) with 10,000 dialogs up (dlg-call).
    pub(crate) dialogs_mib: Option<f64>,
}

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn parse_opts(args: Vec<String>) -> Result<Opts, String> {
    let mut o = Opts {
        scenarios: Vec::new(),
        contenders: Vec::new(),
        stock: PathBuf::from("/etc/kamailio/kamailio.cfg"),
        workers: 2,
        cpu_rate: 300,
        cpu_calls: 3000,
        rates: vec![500, 1000, 2000, 3000, 4000, 5000],
        step_secs: 4,
        out: workspace().join("target").join("bench"),
        slow_ms: 20,
        slow_rate: 30,
        keepalive_rate: 100,
        slow_secs: 20,
    };
    let mut it = args.into_iter();
    let num = |v: Option<String>, what: &str| -> Result<u32, String> {
        v.as_deref()
            .and_then(|s| s.parse().ok())
            .ok_or(format!("{what} needs a number"))
    };
    while let Some(a) = it.next() {
        match a.as_str() {
            "--scenario" => o.scenarios.push(match it.next().as_deref() {
                Some("stateless") => Scenario::Stateless,
                Some("register") => Scenario::Register,
                Some("call") => Scenario::Call,
                Some("auth-register") => Scenario::AuthRegister,
                Some("slow-db") => Scenario::SlowDb,
                Some("nat-call") => Scenario::NatCall,
                Some("dlg-call") => Scenario::DlgCall,
                other => return Err(format!("unknown scenario {other:?}")),
            }),
            "--contender" => o.contenders.push(match it.next().as_deref() {
                Some("compiled") => Contender::Compiled,
                Some("interpreted") => Contender::Interpreted,
                Some("kamailio") => Contender::Kamailio,
                other => return Err(format!("unknown contender {other:?}")),
            }),
            "--stock" => o.stock = it.next().ok_or("--stock needs FILE")?.into(),
            "--workers" => o.workers = num(it.next(), "--workers")? as usize,
            "--cpu-rate" => o.cpu_rate = num(it.next(), "--cpu-rate")?,
            "--cpu-calls" => o.cpu_calls = num(it.next(), "--cpu-calls")?,
            "--step-secs" => o.step_secs = num(it.next(), "--step-secs")?,
            "--slow-ms" => o.slow_ms = num(it.next(), "--slow-ms")?,
            "--slow-rate" => o.slow_rate = num(it.next(), "--slow-rate")?,
            "--keepalive-rate" => o.keepalive_rate = num(it.next(), "--keepalive-rate")?,
            "--slow-secs" => o.slow_secs = num(it.next(), "--slow-secs")?,
            "--rates" => {
                o.rates = it
                    .next()
                    .ok_or("--rates needs a list")?
                    .split(',')
                    .map(|r| r.trim().parse().map_err(|_| format!("bad rate `{r}`")))
                    .collect::<Result<_, _>>()?;
            }
            "--out" => o.out = it.next().ok_or("--out needs DIR")?.into(),
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown option `{other}`")),
        }
    }
    if o.scenarios.is_empty() {
        o.scenarios = vec![Scenario::Stateless, Scenario::Register, Scenario::Call];
    }
    if o.contenders.is_empty() {
        o.contenders = vec![
            Contender::Compiled,
            Contender::Interpreted,
            Contender::Kamailio,
        ];
    }
    Ok(o)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("serve-interp") {
        return interp::cli::main(args.into_iter().skip(1));
    }
    let opts = match parse_opts(args) {
        Ok(o) => o,
        Err(e) => {
            if !e.is_empty() {
                eprintln!("error: {e}\n");
            }
            eprint!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    let mut rows = Vec::new();
    for &s in &opts.scenarios {
        for &c in &opts.contenders {
            progress(&format!("{} / {}: starting", s.name(), c.name()));
            let row = run_one(&opts, s, c);
            if let Some(e) = &row.error {
                progress(&format!("{} / {}: {e}", s.name(), c.name()));
            }
            rows.push(row);
        }
    }
    stop_relay();
    eprintln!();
    let md = chart::markdown(&rows, &machine());
    print!("{md}");
    if let Err(e) = std::fs::create_dir_all(&opts.out)
        .and_then(|()| std::fs::write(opts.out.join("bench.md"), &md))
    {
        eprintln!("cannot write {}: {e}", opts.out.display());
    }
    match chart::svg(&rows, &opts.out.join("bench.svg")) {
        Ok(()) => eprintln!(
            "wrote {} and {}",
            opts.out.join("bench.md").display(),
            opts.out.join("bench.svg").display()
        ),
        Err(e) => eprintln!("cannot draw the chart: {e}"),
    }
    ExitCode::SUCCESS
}

/// A one-line progress report (overwritten in place on a terminal).
fn progress(msg: &str) {
    eprint!("\r\x1b[2K{msg}");
    if !msg.ends_with(": starting") {
        eprintln!();
    }
}

fn machine() -> String {
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let date = Command::new("date")
        .arg("-u")
        .arg("+%Y-%m-%d %H:%M UTC")
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    format!("{date}, {cpus} CPUs ({model})")
}

/// A running proxy: killed (its whole process group) when dropped.
struct Proxy {
    group: GroupGuard,
    port: u16,
    _rundir: Option<PathBuf>,
}

/// The cfg and defines a scenario runs.
fn scenario_cfg(opts: &Opts, s: Scenario, uas: [u16; 2]) -> Result<(PathBuf, Vec<String>), String> {
    let uas_port = uas[0];
    Ok(match s {
        Scenario::Stateless => (
            workspace().join("examples/stateless-proxy/kamailio.cfg"),
            vec![format!("NEXT_PORT={uas_port}")],
        ),
        Scenario::Register | Scenario::Call => (opts.stock.clone(), Vec::new()),
        Scenario::AuthRegister => (
            opts.stock.clone(),
            vec![
                "WITH_MYSQL".into(),
                "WITH_AUTH".into(),
                format!("DBURL=\"{}\"", auth_db()?),
            ],
        ),
        Scenario::SlowDb => (
            opts.stock.clone(),
            vec![
                "WITH_MYSQL".into(),
                "WITH_AUTH".into(),
                format!("DBURL=\"{}\"", slow_db(opts.slow_ms)?),
            ],
        ),
        Scenario::NatCall => (
            nat_cfg(&opts.stock, relay()?.1)?,
            vec!["WITH_NAT".into(), "WITH_RTPENGINE".into()],
        ),
        Scenario::DlgCall => {
            let list = std::env::temp_dir().join(format!("cfgc-bench-ds-{}.list", uas[0]));
            std::fs::write(
                &list,
                format!("1 sip:127.0.0.1:{}\n1 sip:127.0.0.1:{}\n", uas[0], uas[1]),
            )
            .map_err(|e| format!("{}: {e}", list.display()))?;
            (
                workspace().join("bench/dispatch-dialog.cfg"),
                vec![format!("LIST=\"{}\"", list.display())],
            )
        }
    })
}

/// The rtpengine of the nat-call scenario, started once per run on
/// 127.0.0.1 (every contender against the same relay): its process group
/// and control port. [`stop_relay`] stops it.
static RELAY: std::sync::Mutex<Option<(GroupGuard, u16)>> = std::sync::Mutex::new(None);

fn relay() -> Result<(u32, u16), String> {
    let mut r = RELAY
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if r.is_none() {
        let ng = free_port();
        let child = Command::new("/usr/bin/rtpengine")
            .args([
                "--foreground",
                "--table=-1",
                "--interface=127.0.0.1",
                &format!("--listen-ng=127.0.0.1:{ng}"),
                "--port-min=40000",
                "--port-max=49999",
                "--log-level=3",
                "--log-stderr",
                "--no-redis-required",
                "--delete-delay=0",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .map_err(|e| format!("cannot run rtpengine (apt-get install rtpengine-daemon): {e}"))?;
        let mut g = GroupGuard::new(child);
        g.wait_bound(ng, "rtpengine", Duration::from_secs(10))?;
        *r = Some((g, ng));
    }
    let (g, ng) = r.as_ref().ok_or("no relay")?;
    Ok((g.id().ok_or("rtpengine was stopped")?, *ng))
}

fn stop_relay() {
    let mut r = RELAY
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some((mut g, _)) = r.take() {
        let _ = g.halt();
    }
}

/// The stock config with its rtpengine socket moved to `ng`, written
/// under the temporary directory.
fn nat_cfg(stock: &Path, ng: u16) -> Result<PathBuf, String> {
    let text = std::fs::read_to_string(stock).map_err(|e| format!("{}: {e}", stock.display()))?;
    let from = "modparam(\"rtpengine\", \"rtpengine_sock\", \"udp:127.0.0.1:2223\")";
    if !text.contains(from) {
        return Err(format!("{}: no `{from}` line", stock.display()));
    }
    let text = text.replace(
        from,
        &format!("modparam(\"rtpengine\", \"rtpengine_sock\", \"udp:127.0.0.1:{ng}\")"),
    );
    let p = std::env::temp_dir().join(format!("cfgc-bench-nat-{ng}.cfg"));
    std::fs::write(&p, text).map_err(|e| format!("{}: {e}", p.display()))?;
    Ok(p)
}

/// The auth-register database behind the delaying relay (one per run).
fn slow_db(ms: u32) -> Result<String, String> {
    static URL: std::sync::OnceLock<Result<String, String>> = std::sync::OnceLock::new();
    URL.get_or_init(|| {
        let url = auth_db()?;
        let (host, port) = mysql_server();
        let relay = slowdb::start((host.clone(), port), Duration::from_millis(u64::from(ms)))?;
        Ok(url.replace(&format!("@{host}:{port}/"), &format!("@127.0.0.1:{relay}/")))
    })
    .clone()
}

/// Where the MariaDB server is (as the tests find it).
fn mysql_server() -> (String, u16) {
    let host = std::env::var("CFGC_TEST_MYSQL_HOST").unwrap_or_else(|_| "127.0.0.1".into());
    let port = std::env::var("CFGC_TEST_MYSQL_PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(3306);
    (host, port)
}

/// Subscribers of the auth-register scenario.
const AUTH_USERS: u32 = 1000;

/// The auth-register scenario's database (made once per run): its URL.
fn auth_db() -> Result<String, String> {
    static URL: std::sync::OnceLock<Result<String, String>> = std::sync::OnceLock::new();
    URL.get_or_init(make_auth_db).clone()
}

fn make_auth_db() -> Result<String, String> {
    let (db, user, pw) = ("cfgc_bench_auth", "cfgc_bench", "cfgc-bench-pw");
    let (host, port) = mysql_server();
    let schema = ["standard-create.sql", "auth_db-create.sql"]
        .iter()
        .map(|f| std::fs::read_to_string(Path::new("/usr/share/kamailio/mysql").join(f)))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| {
            format!("Kamailio's mysql schema: {e} (apt-get install kamailio-mysql-modules)")
        })?
        .join("\n");
    let users: Vec<String> = (0..AUTH_USERS)
        .map(|i| format!("('u{i}','127.0.0.1','pw{i}')"))
        .collect();
    let sql = format!(
        "DROP DATABASE IF EXISTS {db}; CREATE DATABASE {db};\n\
         CREATE OR REPLACE USER '{user}'@'%' IDENTIFIED BY '{pw}';\n\
         CREATE OR REPLACE USER '{user}'@'localhost' IDENTIFIED BY '{pw}';\n\
         GRANT ALL ON {db}.* TO '{user}'@'%';\nGRANT ALL ON {db}.* TO '{user}'@'localhost';\n\
         USE {db};\n{schema}\n\
         INSERT INTO subscriber (username, domain, password) VALUES {};\n",
        users.join(",")
    );
    let mut child = Command::new("mysql")
        .args(["-u", "root"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run mysql (apt-get install mariadb-server): {e}"))?;
    if let Some(mut stdin) = child.stdin.take() {
        use std::io::Write as _;
        stdin
            .write_all(sql.as_bytes())
            .map_err(|e| format!("mysql: {e}"))?;
    }
    let out = child.wait_with_output().map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(format!(
            "making the database failed (is mariadb running?): {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(format!("mysql://{user}:{pw}@{host}:{port}/{db}"))
}

fn start(opts: &Opts, c: Contender, cfg: &Path, defines: &[String]) -> Result<Proxy, String> {
    let port = free_port();
    let listen = format!("udp:127.0.0.1:{port}");
    let workers = opts.workers.to_string();
    let mut rundir = None;
    let group = match c {
        Contender::Compiled | Contender::Interpreted => {
            let mut cmd;
            if c == Contender::Compiled {
                let bin = build_compiled(cfg, defines)?;
                cmd = Command::new(bin);
                // -E: log to standard error (discarded), as Kamailio is
                // run: the same logging sink on both sides.
                cmd.args(["-l", &listen, "-n", &workers, "-E"]);
            } else {
                let exe = std::env::current_exe().map_err(|e| e.to_string())?;
                cmd = Command::new(exe);
                cmd.arg("serve-interp");
                for d in defines {
                    cmd.args(["-A", d]);
                }
                cmd.arg(cfg)
                    .args(["--", "-l", &listen, "-n", &workers, "-E"]);
            }
            let child = cmd
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .process_group(0)
                .spawn()
                .map_err(|e| format!("cannot start: {e}"))?;
            GroupGuard::new(child)
        }
        Contender::Kamailio => {
            let dir = std::env::temp_dir().join(format!("cfgc-bench-kam-{port}"));
            let mut k = Kamailio::new(cfg, &listen, &dir)
                .workers(opts.workers)
                .memory(256, 32);
            for d in defines {
                k = k.define(d);
            }
            rundir = Some(dir);
            k.start(Stdio::null(), Stdio::null())?
        }
    };
    let proxy = Proxy {
        group: group.grace(Duration::from_secs(3)),
        port,
        _rundir: rundir,
    };
    if !answers(port, Duration::from_secs(15)) {
        return Err("did not answer OPTIONS within 15 s".into());
    }
    Ok(proxy)
}

/// Builds the compiled proxy for `cfg` with `defines` (cfgc's cache).
fn build_compiled(cfg: &Path, defines: &[String]) -> Result<PathBuf, String> {
    let mut config = cfgc::Config::new();
    for d in defines {
        config.define_arg(d);
    }
    let g = config.generate_file(cfg).map_err(|e| e.to_string())?;
    let Some(code) = g.code else {
        let first = g
            .report
            .diagnostics
            .iter()
            .find(|d| d.severity != cfgc::Severity::Warning)
            .map(|d| d.message.clone())
            .unwrap_or_default();
        return Err(format!("cfgc cannot compile it: {first}"));
    };
    let cache = cfgc::package::cache_dir();
    let dir = cfgc::package::write_package(&cache, cfg, &code).map_err(|e| e.to_string())?;
    let out = cache.join("bin").join(format!(
        "bench-{}",
        cfg.file_stem().and_then(|s| s.to_str()).unwrap_or("cfg")
    ));
    std::fs::create_dir_all(cache.join("bin")).map_err(|e| e.to_string())?;
    cfgc::package::build(&cache, &dir, cfg, &out, false)?;
    Ok(out)
}

/// Whether something answers an OPTIONS on `port` within `limit`.
fn answers(port: u16, limit: Duration) -> bool {
    let Ok(s) = UdpSocket::bind("127.0.0.1:0") else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_millis(200)));
    let local = s.local_addr().map(|a| a.to_string()).unwrap_or_default();
    let msg = format!(
        "OPTIONS sip:127.0.0.1:{port} SIP/2.0\r\nVia: SIP/2.0/UDP {local};branch=z9hG4bK-probe;rport\r\n\
Max-Forwards: 70\r\nFrom: <sip:probe@127.0.0.1>;tag=p\r\nTo: <sip:127.0.0.1:{port}>\r\n\
Call-ID: probe-{port}\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
    );
    let deadline = Instant::now() + limit;
    let mut buf = [0u8; 2048];
    while Instant::now() < deadline {
        let _ = s.send_to(msg.as_bytes(), ("127.0.0.1", port));
        if s.recv_from(&mut buf).is_ok() {
            return true;
        }
    }
    false
}

/// Registers `user` at the proxy with `contact` (one REGISTER, 200
/// expected).
fn register(port: u16, user: &str, contact: &str) -> Result<(), String> {
    let s = UdpSocket::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    let _ = s.set_read_timeout(Some(Duration::from_millis(500)));
    let local = s.local_addr().map_err(|e| e.to_string())?;
    let msg = format!(
        "REGISTER sip:127.0.0.1:{port} SIP/2.0\r\nVia: SIP/2.0/UDP {local};branch=z9hG4bK-reg-{user};rport\r\n\
Max-Forwards: 70\r\nFrom: <sip:{user}@127.0.0.1:{port}>;tag=r\r\nTo: <sip:{user}@127.0.0.1:{port}>\r\n\
Call-ID: reg-{user}-{port}\r\nCSeq: 1 REGISTER\r\nContact: <{contact}>\r\nExpires: 3600\r\n\
User-Agent: cfgc-bench\r\nContent-Length: 0\r\n\r\n"
    );
    let mut buf = [0u8; 4096];
    for _ in 0..6 {
        s.send_to(msg.as_bytes(), ("127.0.0.1", port))
            .map_err(|e| e.to_string())?;
        while let Ok((n, _)) = s.recv_from(&mut buf) {
            let text = String::from_utf8_lossy(&buf[..n]);
            if text.starts_with("SIP/2.0 200") {
                return Ok(());
            }
            if !text.starts_with("SIP/2.0 1") {
                return Err(format!(
                    "REGISTER answered {}",
                    text.lines().next().unwrap_or("")
                ));
            }
        }
    }
    Err("REGISTER not answered".into())
}

/// A SIPp UAS for the scenario, killed when dropped.
struct Uas(Child);

impl Drop for Uas {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The scenario's UASes: one on `ports[0]`, and for `dlg-call` a second
/// on `ports[1]`.
fn start_uases(s: Scenario, ports: [u16; 2]) -> Result<Vec<Uas>, String> {
    let n = if s == Scenario::DlgCall { 2 } else { 1 };
    let mut v = Vec::new();
    for &p in &ports[..n] {
        v.extend(start_uas(s, p)?);
    }
    Ok(v)
}

fn start_uas(s: Scenario, port: u16) -> Result<Option<Uas>, String> {
    let mut cmd = Command::new("sipp");
    match s {
        Scenario::Register | Scenario::AuthRegister | Scenario::SlowDb => return Ok(None),
        Scenario::Stateless => {
            cmd.args(["-sn", "uas"]);
        }
        Scenario::Call | Scenario::NatCall | Scenario::DlgCall => {
            cmd.arg("-sf")
                .arg(workspace().join("bench/sipp/call-uas.xml"));
        }
    }
    let child = cmd
        .args(["-i", "127.0.0.1", "-p", &port.to_string(), "-nostdin"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot run sipp (apt-get install sip-tester): {e}"))?;
    std::thread::sleep(Duration::from_millis(300));
    Ok(Some(Uas(child)))
}

/// What one SIPp load run saw.
struct Load {
    ok: bool,
    rtt_ms: Vec<f64>,
}

/// Runs SIPp as UAC: `calls` calls at `rate` calls/s through the proxy,
/// bounded in time.
fn sipp_load(s: Scenario, proxy: u16, calls: u32, rate: u32) -> Load {
    sipp_load_with(s, proxy, calls, rate, None)
}

/// [`sipp_load`] with another UAC scenario file (`xml`, under `bench/sipp/`).
fn sipp_load_with(s: Scenario, proxy: u16, calls: u32, rate: u32, xml: Option<&str>) -> Load {
    let dir = std::env::temp_dir().join(format!("cfgc-bench-sipp-{}", free_port()));
    let _ = std::fs::create_dir_all(&dir);
    let limit = (u64::from(calls) / u64::from(rate.max(1))) + 30;
    let mut cmd = Command::new("timeout");
    cmd.arg(limit.to_string()).arg("sipp");
    match s {
        Scenario::Stateless => {
            cmd.args(["-sn", "uac"]);
        }
        Scenario::Register => {
            cmd.arg("-sf")
                .arg(workspace().join("bench/sipp/register.xml"));
        }
        Scenario::AuthRegister => {
            cmd.arg("-sf")
                .arg(workspace().join("bench/sipp/auth-register.xml"));
            cmd.args(["-au", "u0", "-ap", "pw0"]);
        }
        Scenario::SlowDb => {
            // Keepalives from many clients: a socket per call.
            cmd.arg("-sf")
                .arg(workspace().join("bench/sipp/options.xml"))
                .args(["-t", "un", "-max_socket", "2000"]);
        }
        Scenario::Call | Scenario::DlgCall => {
            cmd.arg("-sf")
                .arg(
                    workspace()
                        .join("bench/sipp")
                        .join(xml.unwrap_or("call-uac.xml")),
                )
                .args(["-s", "bob"]);
        }
        Scenario::NatCall => {
            cmd.arg("-sf")
                .arg(workspace().join("bench/sipp/call-uac-nat.xml"))
                .args(["-s", "bob"]);
        }
    }
    let status = cmd
        .arg(format!("127.0.0.1:{proxy}"))
        .args(["-i", "127.0.0.1", "-p", &free_port().to_string()])
        .args(["-m", &calls.to_string(), "-r", &rate.to_string()])
        .args(["-l", &(rate * 4).max(100).to_string()])
        .args([
            "-nostdin",
            "-timeout",
            &format!("{limit}s"),
            "-timeout_error",
        ])
        .args(["-recv_timeout", "5000", "-trace_rtt", "-rtt_freq", "1"])
        // A proxy with several workers may relay a 180 after the 200 that
        // followed it (Kamailio's share one UDP socket): not a failure.
        .args(["-default_behaviors", "all,-abortunexp"])
        .current_dir(&dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    let mut rtt_ms = Vec::new();
    if let Ok(entries) = std::fs::read_dir(&dir) {
        for e in entries.flatten() {
            if e.file_name().to_string_lossy().ends_with("_rtt.csv")
                && let Ok(text) = std::fs::read_to_string(e.path())
            {
                rtt_ms.extend(
                    text.lines()
                        .skip(1)
                        .filter_map(|l| l.split(';').nth(1))
                        .filter_map(|v| v.trim().parse::<f64>().ok()),
                );
            }
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    Load {
        ok: status.is_ok_and(|s| s.success()),
        rtt_ms,
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn run_one(opts: &Opts, s: Scenario, c: Contender) -> Row {
    let mut row = Row {
        scenario: s.name().into(),
        contender: c.name().into(),
        ..Row::default()
    };
    if c == Contender::Kamailio && find_module_dir().is_none() {
        row.error = Some("kamailio is not installed".into());
        return row;
    }
    let uas_ports = [free_port(), free_port()];
    let uas_port = uas_ports[0];
    let (cfg, defines) = match scenario_cfg(opts, s, uas_ports) {
        Ok(v) => v,
        Err(e) => {
            row.error = Some(e);
            return row;
        }
    };
    let proxy = match start(opts, c, &cfg, &defines) {
        Ok(p) => p,
        Err(e) => {
            row.error = Some(e);
            return row;
        }
    };
    let Some(pid) = proxy.group.id() else {
        row.error = Some("the proxy was stopped".into());
        return row;
    };
    // Peak memory, sampled in the background while the proxy runs.
    let stop = Arc::new(AtomicBool::new(false));
    let peak = Arc::new(AtomicU64::new(0));
    let sampler = {
        let (stop, peak) = (stop.clone(), peak.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                peak.fetch_max(proc::pss_kib(pid), Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(100));
            }
        })
    };
    let result = (|| -> Result<(), String> {
        let _uas = start_uases(s, uas_ports)?;
        if matches!(s, Scenario::Call | Scenario::NatCall) {
            register(proxy.port, "bob", &format!("sip:bob@127.0.0.1:{uas_port}"))?;
        }
        progress(&format!(
            "{} / {}: CPU at {} calls/s x {}",
            s.name(),
            c.name(),
            opts.cpu_rate,
            opts.cpu_calls
        ));
        if s == Scenario::SlowDb {
            return slow_db_run(opts, &proxy, pid, &mut row);
        }
        let relay_pid = if s == Scenario::NatCall {
            Some(relay()?.0)
        } else {
            None
        };
        let relay_before = relay_pid.map(proc::cpu_ticks);
        let before = proc::cpu_ticks(pid);
        let load = sipp_load(s, proxy.port, opts.cpu_calls, opts.cpu_rate);
        let after = proc::cpu_ticks(pid);
        let relay_after = relay_pid.map(proc::cpu_ticks);
        if load.ok {
            let msgs = u64::from(opts.cpu_calls) * s.messages_per_call();
            let per_msg =
                |ticks: u64| ticks as f64 * 1e6 / proc::clock_ticks() as f64 / msgs as f64;
            row.cpu_us = Some(per_msg(after - before));
            if let (Some(b), Some(a)) = (relay_before, relay_after) {
                row.relay_cpu_us = Some(per_msg(a.saturating_sub(b)));
            }
            let mut r = load.rtt_ms;
            r.sort_by(f64::total_cmp);
            if !r.is_empty() {
                row.rtt = Some((
                    percentile(&r, 0.5),
                    percentile(&r, 0.9),
                    percentile(&r, 0.99),
                ));
            }
        } else {
            return Err(format!(
                "SIPp saw failed calls at {} calls/s",
                opts.cpu_rate
            ));
        }
        if s == Scenario::DlgCall {
            progress(&format!("{} / {}: 10000 dialogs up", s.name(), c.name()));
            row.dialogs_mib = Some(dialogs_memory(proxy.port, pid)?);
        }
        for &rate in &opts.rates {
            progress(&format!("{} / {}: {rate} calls/s", s.name(), c.name()));
            let calls = rate * opts.step_secs;
            // On two cores SIPp and the proxy share the CPUs: one lost
            // datagram fails a call now and then. A failed step counts
            // only if a second run fails too.
            if sipp_load(s, proxy.port, calls, rate).ok || sipp_load(s, proxy.port, calls, rate).ok
            {
                row.max_rate = Some(rate);
            } else {
                break;
            }
        }
        Ok(())
    })();
    stop.store(true, Ordering::Relaxed);
    let _ = sampler.join();
    row.peak_mib = peak.load(Ordering::Relaxed) as f64 / 1024.0;
    if let Err(e) = result {
        row.error = Some(e);
    }
    drop(proxy);
    let mut line = String::new();
    let _ = write!(
        line,
        "{} / {}: {} µs/msg, max {} calls/s",
        s.name(),
        c.name(),
        row.cpu_us.map_or("-".into(), |v| format!("{v:.1}")),
        row.max_rate.map_or("-".into(), |v| v.to_string())
    );
    progress(&line);
    row
}

/// The PSS growth (MiB) of the proxy's process tree with 10,000 more
/// dialogs up: calls without BYE at 500/s, read once tm's wait timer
/// (5 s) has freed their transactions.
fn dialogs_memory(port: u16, pid: u32) -> Result<f64, String> {
    const DIALOGS: u32 = 10_000;
    std::thread::sleep(Duration::from_secs(6));
    let before = proc::pss_kib(pid);
    let load = sipp_load_with(
        Scenario::DlgCall,
        port,
        DIALOGS,
        500,
        Some("call-uac-nobye.xml"),
    );
    if !load.ok {
        return Err("SIPp saw failed calls while setting up the dialogs".into());
    }
    std::thread::sleep(Duration::from_secs(6));
    let after = proc::pss_kib(pid);
    Ok(after.saturating_sub(before) as f64 / 1024.0)
}

/// The slow-db scenario on a started proxy: the authenticated storm in
/// the background, the keepalives measured in the foreground, both for
/// `--slow-secs`.
fn slow_db_run(opts: &Opts, proxy: &Proxy, pid: u32, row: &mut Row) -> Result<(), String> {
    let secs = opts.slow_secs.max(1);
    let auth_calls = opts.slow_rate * secs;
    let keepalives = opts.keepalive_rate * secs;
    progress(&format!(
        "slow-db: {} ms per chunk, {} REGISTER/s + {} OPTIONS/s for {secs} s",
        opts.slow_ms, opts.slow_rate, opts.keepalive_rate
    ));
    let port = proxy.port;
    let rate = opts.slow_rate;
    let before = proc::cpu_ticks(pid);
    let storm =
        std::thread::spawn(move || sipp_load(Scenario::AuthRegister, port, auth_calls, rate));
    // The storm's first queries are under way before the keepalives start.
    std::thread::sleep(Duration::from_millis(500));
    let keep = sipp_load(Scenario::SlowDb, port, keepalives, opts.keepalive_rate);
    let storm = storm.join().map_err(|_| "the storm's thread panicked")?;
    let after = proc::cpu_ticks(pid);
    let msgs =
        u64::from(auth_calls) * Scenario::AuthRegister.messages_per_call() + u64::from(keepalives);
    row.cpu_us = Some((after - before) as f64 * 1e6 / proc::clock_ticks() as f64 / msgs as f64);
    let mut r = keep.rtt_ms;
    r.sort_by(f64::total_cmp);
    if !r.is_empty() {
        row.rtt = Some((
            percentile(&r, 0.5),
            percentile(&r, 0.9),
            percentile(&r, 0.99),
        ));
    }
    let mut storm_rtt = storm.rtt_ms;
    storm_rtt.sort_by(f64::total_cmp);
    let mut notes = vec![format!(
        "keepalives {}{}; REGISTER storm {}, p50/p99 {:.1}/{:.1} ms",
        keepalives,
        if keep.ok { "" } else { " (some failed)" },
        if storm.ok { "all 200" } else { "some failed" },
        percentile(&storm_rtt, 0.5),
        percentile(&storm_rtt, 0.99),
    )];
    if let Some(e) = row.error.take() {
        notes.push(e);
    }
    row.error = Some(notes.join("; "));
    Ok(())
}
