//! What the integration tests (`tests/`) and the benchmarks (`bench/`)
//! share to run proxies on 127.0.0.1: free ports picked at run time,
//! Kamailio's module directory, `kamailio -f` started with given flags,
//! and guards that stop a server's whole process group.
//!
//! Kamailio is GPL: nothing of it is here; the runner starts the installed
//! binary on a cfg the caller names.

use std::collections::HashSet;
use std::net::UdpSocket;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{LazyLock, Mutex};
use std::time::{Duration, Instant};

// --- ports ------------------------------------------------------------------

/// A port of 127.0.0.1 free for both UDP and TCP right now, never handed
/// out twice in this process (tests run concurrently, each on its own
/// ports).
///
/// It is taken below the kernel's ephemeral range
/// (`/proc/sys/net/ipv4/ip_local_port_range`), so that a client socket
/// another test opens later (its local port drawn from that range) cannot
/// take it before the server binds it: a port from `bind(0)` could be, and
/// a TCP listen then failed with "Address already in use".
///
/// # Panics
/// If no port below the ephemeral range is free after many tries.
pub fn free_port() -> u16 {
    static TAKEN: LazyLock<Mutex<HashSet<u16>>> = LazyLock::new(Default::default);
    let low = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|t| t.split_whitespace().next()?.parse::<u16>().ok())
        .unwrap_or(32768);
    let (first, last) = if low > 12000 {
        (10000, low - 1)
    } else {
        (61000, 65000)
    };
    let span = u64::from(last - first + 1);
    let mut seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(1, |d| d.as_nanos() as u64)
        ^ (u64::from(std::process::id()) << 32);
    for _ in 0..10_000 {
        // xorshift64: distinct processes start at distinct points.
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let port = first + (seed % span) as u16;
        let mut taken = TAKEN
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if taken.contains(&port) {
            continue;
        }
        let free = UdpSocket::bind(("127.0.0.1", port)).is_ok()
            && std::net::TcpListener::bind(("127.0.0.1", port)).is_ok();
        if free {
            taken.insert(port);
            return port;
        }
    }
    panic!("no free port in 127.0.0.1:{first}-{last}");
}

/// True if some socket is bound to UDP `port` (from /proc/net/udp).
pub fn udp_bound(port: u16) -> bool {
    let suffix = format!(":{port:04X}");
    std::fs::read_to_string("/proc/net/udp").is_ok_and(|t| {
        t.lines()
            .skip(1)
            .filter_map(|l| l.split_whitespace().nth(1))
            .any(|local| local.ends_with(&suffix))
    })
}

/// One UDP exchange with a server on 127.0.0.1:`port`: `message` (built
/// from the client's own address, for its Via) is sent, and re-sent up to
/// ten times every 500 ms until a datagram comes back; the first answer,
/// as text, or `None`.
pub fn udp_exchange(port: u16, message: impl Fn(std::net::SocketAddr) -> String) -> Option<String> {
    udp_exchange_from("127.0.0.1", port, message)
}

/// [`udp_exchange`] from a socket on `ip` (another loopback address, such
/// as `127.0.0.2`, for a second source).
pub fn udp_exchange_from(
    ip: &str,
    port: u16,
    message: impl Fn(std::net::SocketAddr) -> String,
) -> Option<String> {
    let sock = UdpSocket::bind((ip, 0)).ok()?;
    sock.set_read_timeout(Some(Duration::from_millis(500)))
        .ok()?;
    let msg = message(sock.local_addr().ok()?);
    let mut buf = [0u8; 65536];
    for _ in 0..10 {
        sock.send_to(msg.as_bytes(), ("127.0.0.1", port)).ok()?;
        if let Ok((n, _)) = sock.recv_from(&mut buf) {
            return Some(String::from_utf8_lossy(&buf[..n]).into_owned());
        }
    }
    None
}

/// Every file under `dir` (recursively) whose name ends with one of
/// `suffixes`, sorted; none if `dir` cannot be read.
pub fn files_ending(dir: &Path, suffixes: &[&str]) -> Vec<PathBuf> {
    fn walk(dir: &Path, suffixes: &[&str], out: &mut Vec<PathBuf>) {
        let Ok(rd) = std::fs::read_dir(dir) else {
            return;
        };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, suffixes, out);
            } else if p
                .file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| suffixes.iter().any(|s| n.ends_with(s)))
            {
                out.push(p);
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, suffixes, &mut out);
    out.sort();
    out
}

/// The lines of `a` and `b` outside their longest common subsequence, in
/// order: `(true, line)` only in `a`, `(false, line)` only in `b`.
pub fn line_diff(a: &[String], b: &[String]) -> Vec<(bool, String)> {
    let (n, m) = (a.len(), b.len());
    let mut lcs = vec![vec![0u32; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let (mut i, mut j, mut out) = (0, 0, Vec::new());
    while i < n || j < m {
        if i < n && j < m && a[i] == b[j] {
            i += 1;
            j += 1;
        } else if j == m || (i < n && lcs[i + 1][j] >= lcs[i][j + 1]) {
            out.push((true, a[i].clone()));
            i += 1;
        } else {
            out.push((false, b[j].clone()));
            j += 1;
        }
    }
    out
}

// --- Kamailio ------------------------------------------------------------------

/// Where the installed Kamailio keeps its modules, if it is installed.
pub fn find_module_dir() -> Option<PathBuf> {
    [
        "/usr/lib/x86_64-linux-gnu/kamailio/modules",
        "/usr/lib/aarch64-linux-gnu/kamailio/modules",
        "/usr/lib/kamailio/modules",
        "/usr/lib64/kamailio/modules",
    ]
    .iter()
    .map(PathBuf::from)
    .find(|p| p.join("sl.so").exists())
}

/// The installed module directory (needed by `kamailio -c -L`).
///
/// # Panics
/// If Kamailio is not installed: the tests that need it must fail, not skip
/// (`.ci/run` installs it).
pub fn module_dir() -> PathBuf {
    find_module_dir().expect("Kamailio's modules are not installed: apt-get install kamailio")
}

/// `kamailio -f CFG` in the foreground (`-DD -E`), listening where told,
/// with its run files in a directory of the caller's.
#[derive(Debug, Clone)]
pub struct Kamailio {
    cfg: PathBuf,
    listen: String,
    rundir: PathBuf,
    module_dir: Option<PathBuf>,
    defines: Vec<String>,
    workers: usize,
    shm_mib: u32,
    pkg_mib: u32,
}

impl Kamailio {
    /// Kamailio on `cfg`, listening on `listen` (`udp:127.0.0.1:PORT`),
    /// run files in `rundir` (created when started); modules from
    /// [`find_module_dir`], one worker, 64 MiB shared and 8 MiB private
    /// memory.
    pub fn new(
        cfg: impl Into<PathBuf>,
        listen: impl Into<String>,
        rundir: impl Into<PathBuf>,
    ) -> Self {
        Self {
            cfg: cfg.into(),
            listen: listen.into(),
            rundir: rundir.into(),
            module_dir: find_module_dir(),
            defines: Vec::new(),
            workers: 1,
            shm_mib: 64,
            pkg_mib: 8,
        }
    }

    /// The module directory (`-L`); `None` leaves Kamailio's default.
    pub fn module_dir(mut self, dir: Option<PathBuf>) -> Self {
        self.module_dir = dir;
        self
    }

    /// A define, as `-A` takes it (`NAME` or `NAME=VALUE`).
    pub fn define(mut self, d: impl Into<String>) -> Self {
        self.defines.push(d.into());
        self
    }

    /// Worker processes (`-n`).
    pub fn workers(mut self, n: usize) -> Self {
        self.workers = n;
        self
    }

    /// Shared (`-m`) and private (`-M`) memory, MiB.
    pub fn memory(mut self, shm_mib: u32, pkg_mib: u32) -> Self {
        self.shm_mib = shm_mib;
        self.pkg_mib = pkg_mib;
        self
    }

    /// The command line, in a process group of its own.
    pub fn command(&self) -> Command {
        let mut c = Command::new("kamailio");
        c.arg("-f").arg(&self.cfg);
        if let Some(m) = &self.module_dir {
            c.arg("-L").arg(m);
        }
        for d in &self.defines {
            c.arg("-A").arg(d);
        }
        c.args(["-l", &self.listen, "-DD", "-E"])
            .args(["-n", &self.workers.to_string()])
            .args(["-m", &self.shm_mib.to_string()])
            .args(["-M", &self.pkg_mib.to_string()])
            .arg("-Y")
            .arg(&self.rundir)
            .stdin(Stdio::null())
            .process_group(0);
        c
    }

    /// Starts Kamailio with its output going to `stdout` and `stderr`.
    ///
    /// # Errors
    /// The run directory cannot be made, or `kamailio` cannot be run.
    pub fn start(&self, stdout: Stdio, stderr: Stdio) -> Result<GroupGuard, String> {
        std::fs::create_dir_all(&self.rundir)
            .map_err(|e| format!("{}: {e}", self.rundir.display()))?;
        let child = self
            .command()
            .stdout(stdout)
            .stderr(stderr)
            .spawn()
            .map_err(|e| format!("cannot start kamailio (apt-get install kamailio): {e}"))?;
        Ok(GroupGuard::new(child))
    }
}

/// Waits (at most `limit`) until `child` has bound UDP `port`.
///
/// # Errors
/// The child exited first, or did not bind in time.
pub fn wait_bound(child: &mut Child, port: u16, what: &str, limit: Duration) -> Result<(), String> {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if udp_bound(port) {
            return Ok(());
        }
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!(
                "{what} exited before binding port {port}: {status}"
            ));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Err(format!(
        "{what} did not bind port {port} within {} s",
        limit.as_secs()
    ))
}

// --- process groups -------------------------------------------------------------

/// The processes of process group `pgid` still alive (pgrep).
pub fn group_members(pgid: u32) -> String {
    Command::new("pgrep")
        .args(["-g", &pgid.to_string()])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_else(|e| format!("pgrep failed: {e}"))
}

/// A server started as the leader of its own process group
/// (`process_group(0)`; kamailio forks its workers even in the
/// foreground). Dropping it stops the whole group: SIGTERM, then SIGKILL
/// after the grace period (two seconds unless told otherwise);
/// [`GroupGuard::stop`] also checks that nothing of the group is left.
#[derive(Debug)]
pub struct GroupGuard {
    child: Option<Child>,
    grace: Duration,
}

impl GroupGuard {
    /// Guards `child`, which must lead its own process group.
    pub fn new(child: Child) -> Self {
        Self {
            child: Some(child),
            grace: Duration::from_secs(2),
        }
    }

    /// How long SIGTERM gets before SIGKILL.
    pub fn grace(mut self, grace: Duration) -> Self {
        self.grace = grace;
        self
    }

    /// The group leader's pid (the process group id), if still guarded.
    pub fn id(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// The leader's exit status, if it has exited.
    pub fn try_wait(&mut self) -> Option<ExitStatus> {
        self.child
            .as_mut()
            .and_then(|c| c.try_wait().ok().flatten())
    }

    /// Waits (at most `limit`) until the server has bound UDP `port`
    /// ([`wait_bound`]).
    ///
    /// # Errors
    /// The server exited first, was stopped already, or did not bind in
    /// time.
    pub fn wait_bound(&mut self, port: u16, what: &str, limit: Duration) -> Result<(), String> {
        match self.child.as_mut() {
            Some(child) => wait_bound(child, port, what, limit),
            None => Err(format!("{what} was stopped")),
        }
    }

    /// Stops the group (SIGTERM, SIGKILL after the grace period) and
    /// returns its id, or `None` if it was stopped already.
    pub fn halt(&mut self) -> Option<u32> {
        let mut child = self.child.take()?;
        let pgid = child.id();
        kill_group(pgid, "-TERM");
        let deadline = Instant::now() + self.grace;
        while Instant::now() < deadline {
            if matches!(child.try_wait(), Ok(Some(_))) {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        // Workers may outlive the main process for a moment: kill the group.
        kill_group(pgid, "-KILL");
        let _ = child.wait();
        Some(pgid)
    }

    /// Stops the group; an error if any process of it survives.
    ///
    /// # Errors
    /// Processes of the group are still alive two seconds after SIGKILL.
    pub fn stop(mut self) -> Result<(), String> {
        let Some(pgid) = self.halt() else {
            return Ok(());
        };
        // SIGKILL is asynchronous for the other members: give them a moment.
        let deadline = Instant::now() + Duration::from_secs(2);
        loop {
            let left = group_members(pgid);
            if left.is_empty() {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(format!("processes of group {pgid} left: {left}"));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for GroupGuard {
    fn drop(&mut self) {
        self.halt();
    }
}

/// Sends `signal` (`-TERM`, `-KILL`) to process group `pgid`.
pub fn kill_group(pgid: u32, signal: &str) {
    let _ = Command::new("kill")
        .args([signal, "--", &format!("-{pgid}")])
        .stderr(Stdio::null())
        .status();
}

/// The last `n` lines of a log file, for failure messages.
pub fn tail(path: &Path, n: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_ports_are_distinct_and_bindable() {
        let a = free_port();
        let b = free_port();
        assert_ne!(a, b);
        // A port free a moment ago can be taken by another process before
        // it is bound (seen once in CI): of three, one must bind.
        let (port, s) = std::iter::once(a)
            .chain([free_port(), free_port()])
            .find_map(|p| UdpSocket::bind(("127.0.0.1", p)).ok().map(|s| (p, s)))
            .expect("a free port binds");
        assert!(udp_bound(port), "/proc/net/udp shows the bound port");
        drop(s);
    }

    #[test]
    fn group_guard_stops_the_whole_group() {
        // A shell that leaves a child behind in its group.
        let child = Command::new("sh")
            .args(["-c", "sleep 30 & sleep 30"])
            .process_group(0)
            .spawn()
            .expect("sh runs");
        let mut guard = GroupGuard::new(child);
        let pgid = guard.id().expect("running");
        std::thread::sleep(Duration::from_millis(100));
        assert!(guard.try_wait().is_none());
        assert!(!group_members(pgid).is_empty());
        guard.stop().expect("nothing of the group left");
        assert!(group_members(pgid).is_empty());
    }

    #[test]
    fn kamailio_command_line() {
        let k = Kamailio::new("/x.cfg", "udp:127.0.0.1:5999", "/tmp/run")
            .module_dir(Some("/mods".into()))
            .define("N=1")
            .workers(2)
            .memory(256, 32);
        let args: Vec<String> = k
            .command()
            .get_args()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            args.join(" "),
            "-f /x.cfg -L /mods -A N=1 -l udp:127.0.0.1:5999 -DD -E -n 2 -m 256 -M 32 -Y /tmp/run"
        );
    }
}
