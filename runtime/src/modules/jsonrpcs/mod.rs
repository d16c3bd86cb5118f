//! jsonrpcs — JSON-RPC over a FIFO and a datagram socket (Kamailio's
//! jsonrpcs module, reference §10.1). The codec is sans-IO
//! ([`codec`]); the transports are threads started by [`start`], which
//! run every request through a dispatcher (the RPC registry).
//!
//! `transport` bits: 1 HTTP (through xhttp, which this runtime does not
//! have: as Kamailio when xhttp is not loaded, bit 1 is ignored unless it
//! is the only one asked for, then start-up fails), 2 FIFO, 4 datagram;
//! 0 every transport that can start.

pub mod codec;

use std::io::{Read, Write};
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt, PermissionsExt};
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::engine::module::{RpcError, RpcValue};
use crate::engine::params::{ModParams, ParamError};

/// What the transports call for each request.
pub type Dispatcher = Arc<dyn Fn(&str, &[&str]) -> Result<Vec<RpcValue>, RpcError> + Send + Sync>;

const M: &str = "jsonrpcs";

/// jsonrpcs' parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// `pretty_format` (Kamailio's default 0; the stock cfg sets 1).
    pub pretty: bool,
    /// `transport` (6).
    pub transport: i32,
    /// `fifo_name` (`kamailio_rpc.fifo` in the runtime dir).
    pub fifo: PathBuf,
    /// `fifo_mode` (0660).
    pub fifo_mode: u32,
    /// `fifo_reply_dir` (`/tmp/`).
    pub fifo_reply_dir: PathBuf,
    /// `dgram_socket`: a unix socket path, or `udp:ip:port`.
    pub dgram: String,
    /// `dgram_mode` (0660).
    pub dgram_mode: u32,
    /// `dgram_workers` (1).
    pub dgram_workers: usize,
    /// `dgram_timeout` (2000 ms): how long a reply may wait to be sent.
    pub dgram_timeout: Duration,
}

fn in_dir(dir: &Path, name: &str) -> PathBuf {
    // Kamailio puts a relative name in the runtime dir.
    if name.starts_with('/') {
        PathBuf::from(name)
    } else {
        dir.join(name)
    }
}

impl Config {
    /// Reads `modparam("jsonrpcs", ...)`; file names are relative to
    /// `runtime_dir`.
    ///
    /// # Errors
    /// A bad value; the `fifo_user`/`fifo_group`/`dgram_user`/
    /// `dgram_group` parameters (not supported yet).
    pub fn from_params(p: &ModParams, runtime_dir: &Path) -> Result<Self, ParamError> {
        for name in ["fifo_user", "fifo_group", "dgram_user", "dgram_group"] {
            if p.get(M, name).is_some() {
                return Err(ParamError::unsupported(
                    M,
                    name,
                    "changing the owner of the RPC files",
                ));
            }
        }
        let mode = |name: &str| -> Result<u32, ParamError> {
            Ok(p.int(M, name)?.map_or(0o660, |m| m.unsigned_abs() & 0o7777))
        };
        let timeout = p.int(M, "dgram_timeout")?.unwrap_or(2000).max(1);
        Ok(Self {
            pretty: p.int(M, "pretty_format")?.is_some_and(|v| v != 0),
            transport: p.int(M, "transport")?.unwrap_or(6),
            fifo: in_dir(
                runtime_dir,
                &p.str(M, "fifo_name")
                    .unwrap_or_else(|| "kamailio_rpc.fifo".into()),
            ),
            fifo_mode: mode("fifo_mode")?,
            fifo_reply_dir: PathBuf::from(
                p.str(M, "fifo_reply_dir").unwrap_or_else(|| "/tmp/".into()),
            ),
            dgram: p
                .str(M, "dgram_socket")
                .unwrap_or_else(|| "kamailio_rpc.sock".into()),
            dgram_mode: mode("dgram_mode")?,
            dgram_workers: p.int(M, "dgram_workers")?.unwrap_or(1).max(1) as usize,
            dgram_timeout: Duration::from_millis(u64::from(timeout.unsigned_abs())),
        })
    }
}

/// The running transports: stopped, and their files removed, when
/// dropped (Kamailio's `mod_destroy`).
#[derive(Debug, Default)]
pub struct JsonRpcs {
    stop: Arc<AtomicBool>,
    /// The files made, with their inode: removed only if still ours
    /// (another proxy may have replaced them since).
    files: Vec<(PathBuf, u64)>,
    threads: Vec<std::thread::JoinHandle<()>>,
    /// The datagram socket's address (a path or `ip:port`), if started.
    pub dgram_addr: Option<String>,
}

impl Drop for JsonRpcs {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
        for (f, ino) in &self.files {
            if inode(f) == Some(*ino) {
                let _ = std::fs::remove_file(f);
            }
        }
    }
}

fn inode(path: &Path) -> Option<u64> {
    use std::os::unix::fs::MetadataExt;
    std::fs::symlink_metadata(path).ok().map(|m| m.ino())
}

/// How often a file another process re-creates meanwhile is replaced.
const CREATE_TRIES: usize = 5;

impl Config {
    /// Its processes in `core.psx` (threads here), as Kamailio names them.
    pub fn processes(&self) -> Vec<crate::rpc::Process> {
        let all = self.transport == 0;
        let mut v = Vec::new();
        let pid = std::process::id();
        if all || self.transport & 2 != 0 {
            v.push(crate::rpc::Process {
                pid,
                desc: "JSONRPCS FIFO".into(),
            });
        }
        if all || self.transport & 4 != 0 {
            for _ in 0..self.dgram_workers.max(1) {
                v.push(crate::rpc::Process {
                    pid,
                    desc: "JSONRPCS DATAGRAM".into(),
                });
            }
        }
        v
    }
}

/// Starts the transports `transport` asks for.
///
/// # Errors
/// A transport asked for explicitly that cannot start (Kamailio refuses
/// to start); `transport` 1 alone (HTTP needs xhttp).
pub fn start(cfg: &Config, runtime_dir: &Path, dispatch: Dispatcher) -> Result<JsonRpcs, String> {
    let t = cfg.transport;
    if t == 1 {
        return Err("jsonrpcs: cannot bind to XHTTP API (transport 1 needs xhttp)".into());
    }
    let mut rpc = JsonRpcs::default();
    let all = t == 0;
    if all || t & 2 != 0 {
        match start_fifo(cfg, &mut rpc, dispatch.clone()) {
            Ok(()) => {}
            Err(e) if all => eprintln!("note: jsonrpcs FIFO not started: {e}"),
            Err(e) => return Err(format!("jsonrpcs: cannot initialize fifo transport: {e}")),
        }
    }
    if all || t & 4 != 0 {
        match start_dgram(cfg, runtime_dir, &mut rpc, dispatch) {
            Ok(()) => {}
            Err(e) if all => eprintln!("note: jsonrpcs datagram socket not started: {e}"),
            Err(e) => {
                return Err(format!(
                    "jsonrpcs: cannot initialize datagram transport: {e}"
                ));
            }
        }
    }
    Ok(rpc)
}

/// Removes a stale file left by an earlier run (Kamailio does the same),
/// refusing anything but a FIFO or a socket.
fn remove_stale(path: &Path, fifo: bool) -> Result<(), String> {
    match std::fs::symlink_metadata(path) {
        Ok(m) => {
            let t = m.file_type();
            if (fifo && t.is_fifo()) || (!fifo && t.is_socket()) {
                std::fs::remove_file(path).map_err(|e| format!("{}: {e}", path.display()))
            } else {
                Err(format!(
                    "{} exists and is not a {}",
                    path.display(),
                    if fifo { "FIFO" } else { "socket" }
                ))
            }
        }
        Err(_) => Ok(()),
    }
}

fn make_parent(path: &Path) -> Result<(), String> {
    match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => {
            std::fs::create_dir_all(d).map_err(|e| format!("{}: {e}", d.display()))
        }
        _ => Ok(()),
    }
}

fn start_fifo(cfg: &Config, rpc: &mut JsonRpcs, dispatch: Dispatcher) -> Result<(), String> {
    let path = cfg.fifo.clone();
    make_parent(&path)?;
    let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes())
        .map_err(|_| "NUL in fifo_name".to_string())?;
    let mut tries = 0;
    loop {
        remove_stale(&path, true)?;
        // SAFETY: `c` is a valid NUL-terminated path; mkfifo only reads it.
        if unsafe { libc::mkfifo(c.as_ptr(), 0o600) } == 0 {
            break;
        }
        let e = std::io::Error::last_os_error();
        tries += 1;
        // Made meanwhile by another process starting with the same
        // path: replaced, as a stale one.
        if e.kind() != std::io::ErrorKind::AlreadyExists || tries >= CREATE_TRIES {
            return Err(format!("mkfifo {}: {e}", path.display()));
        }
    }
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(cfg.fifo_mode))
        .map_err(|e| format!("{}: {e}", path.display()))?;
    // Opened read-write: the reader never sees end-of-file when a client
    // closes, and the open does not wait for a writer.
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(&path)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    rpc.files.push((path.clone(), inode(&path).unwrap_or(0)));
    let stop = rpc.stop.clone();
    let (pretty, reply_dir) = (cfg.pretty, cfg.fifo_reply_dir.clone());
    let t = std::thread::Builder::new()
        .name("jsonrpcs-fifo".into())
        .spawn(move || fifo_loop(file, &stop, pretty, &reply_dir, &dispatch))
        .map_err(|e| e.to_string())?;
    rpc.threads.push(t);
    Ok(())
}

/// The most a FIFO request may hold before it is dropped.
const FIFO_MAX: usize = 1 << 20;

fn wait_readable(fd: i32, ms: i32) -> bool {
    let mut p = libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one valid pollfd, for the duration of the call.
    unsafe { libc::poll(&mut p, 1, ms) > 0 }
}

fn fifo_loop(
    mut file: std::fs::File,
    stop: &AtomicBool,
    pretty: bool,
    reply_dir: &Path,
    dispatch: &Dispatcher,
) {
    use std::os::fd::AsRawFd;
    let fd = file.as_raw_fd();
    let mut buf: Vec<u8> = Vec::new();
    let mut chunk = [0u8; 4096];
    while !stop.load(Ordering::Relaxed) {
        if !wait_readable(fd, 200) {
            continue;
        }
        let Ok(n) = file.read(&mut chunk) else {
            continue;
        };
        buf.extend_from_slice(chunk.get(..n).unwrap_or_default());
        loop {
            // Skip what precedes an object.
            match buf.iter().position(|c| *c == b'{') {
                Some(0) => {}
                Some(i) => {
                    buf.drain(..i);
                }
                None => {
                    buf.clear();
                    break;
                }
            }
            let Some(end) = codec::object_end(&buf) else {
                if buf.len() > FIFO_MAX {
                    eprintln!("jsonrpcs: FIFO request too large, dropped");
                    buf.clear();
                }
                break;
            };
            let req: Vec<u8> = buf.drain(..end).collect();
            fifo_request(&req, pretty, reply_dir, dispatch);
        }
    }
}

/// One FIFO request: run, and the reply written to the client's FIFO
/// named by `reply_name`.
fn fifo_request(req: &[u8], pretty: bool, reply_dir: &Path, dispatch: &Dispatcher) {
    let Some(j) = codec::parse(req) else {
        eprintln!("jsonrpcs: invalid json doc on the FIFO");
        return;
    };
    let Some(name) = j.get("reply_name").and_then(codec::Json::as_str) else {
        eprintln!("jsonrpcs: missing reply_name field in the FIFO request");
        return;
    };
    if name.is_empty() || name.contains(['.', '/', '\\']) {
        eprintln!("jsonrpcs: Forbidden reply fifo filename: {name}");
        return;
    }
    let reply = codec::handle_json(&j, pretty, &**dispatch);
    let path = reply_dir.join(name);
    // The client has made its FIFO and reads it; without a reader the
    // reply is dropped (logged), never waited for forever.
    let mut opened = None;
    for _ in 0..10 {
        match std::fs::OpenOptions::new()
            .write(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(&path)
        {
            Ok(f) => {
                opened = Some(f);
                break;
            }
            Err(_) => std::thread::sleep(Duration::from_millis(50)),
        }
    }
    let Some(mut f) = opened else {
        eprintln!("jsonrpcs: cannot open reply fifo {}", path.display());
        return;
    };
    if let Ok(false) = f.metadata().map(|m| m.file_type().is_fifo()) {
        eprintln!("jsonrpcs: reply file {} is not a FIFO", path.display());
        return;
    }
    let mut rest: &[u8] = &reply;
    let deadline = std::time::Instant::now() + Duration::from_secs(2);
    while !rest.is_empty() && std::time::Instant::now() < deadline {
        match f.write(rest) {
            Ok(n) => rest = rest.get(n..).unwrap_or_default(),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(5));
            }
            Err(_) => break,
        }
    }
}

/// The largest datagram read (Kamailio's buffer is about 64 KiB).
const DGRAM_MAX: usize = 65_536;

fn start_dgram(
    cfg: &Config,
    runtime_dir: &Path,
    rpc: &mut JsonRpcs,
    dispatch: Dispatcher,
) -> Result<(), String> {
    enum Sock {
        Unix(UnixDatagram),
        Udp(std::net::UdpSocket),
    }
    let sock = if let Some(addr) = cfg.dgram.strip_prefix("udp:") {
        let s = std::net::UdpSocket::bind(addr).map_err(|e| format!("udp:{addr}: {e}"))?;
        rpc.dgram_addr = s.local_addr().ok().map(|a| a.to_string());
        Sock::Udp(s)
    } else {
        let path = in_dir(
            runtime_dir,
            cfg.dgram.strip_prefix("unix:").unwrap_or(&cfg.dgram),
        );
        make_parent(&path)?;
        let mut tries = 0;
        let s = loop {
            remove_stale(&path, false)?;
            match UnixDatagram::bind(&path) {
                Ok(s) => break s,
                Err(e) if e.kind() == std::io::ErrorKind::AddrInUse && tries + 1 < CREATE_TRIES => {
                    tries += 1;
                }
                Err(e) => return Err(format!("{}: {e}", path.display())),
            }
        };
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(cfg.dgram_mode))
            .map_err(|e| format!("{}: {e}", path.display()))?;
        rpc.dgram_addr = Some(path.display().to_string());
        rpc.files.push((path.clone(), inode(&path).unwrap_or(0)));
        Sock::Unix(s)
    };
    for i in 0..cfg.dgram_workers {
        let stop = rpc.stop.clone();
        let d = dispatch.clone();
        let (pretty, timeout) = (cfg.pretty, cfg.dgram_timeout);
        let work: Box<dyn FnOnce() + Send> = match &sock {
            Sock::Unix(s) => {
                let s = s.try_clone().map_err(|e| e.to_string())?;
                let _ = s.set_read_timeout(Some(Duration::from_millis(200)));
                let _ = s.set_write_timeout(Some(timeout));
                Box::new(move || {
                    let mut buf = vec![0u8; DGRAM_MAX];
                    while !stop.load(Ordering::Relaxed) {
                        let Ok((n, from)) = s.recv_from(&mut buf) else {
                            continue;
                        };
                        let Some(reply) =
                            codec::handle(buf.get(..n).unwrap_or_default(), pretty, &*d)
                        else {
                            continue;
                        };
                        match from.as_pathname() {
                            Some(p) => {
                                let _ = s.send_to(&reply, p);
                            }
                            None => {
                                eprintln!("jsonrpcs: datagram from an unnamed socket: no reply")
                            }
                        }
                    }
                })
            }
            Sock::Udp(s) => {
                let s = s.try_clone().map_err(|e| e.to_string())?;
                let _ = s.set_read_timeout(Some(Duration::from_millis(200)));
                let _ = s.set_write_timeout(Some(timeout));
                Box::new(move || {
                    let mut buf = vec![0u8; DGRAM_MAX];
                    while !stop.load(Ordering::Relaxed) {
                        let Ok((n, from)) = s.recv_from(&mut buf) else {
                            continue;
                        };
                        if let Some(reply) =
                            codec::handle(buf.get(..n).unwrap_or_default(), pretty, &*d)
                        {
                            let _ = s.send_to(&reply, from);
                        }
                    }
                })
            }
        };
        let t = std::thread::Builder::new()
            .name(format!("jsonrpcs-dgram-{i}"))
            .spawn(work)
            .map_err(|e| e.to_string())?;
        rpc.threads.push(t);
    }
    Ok(())
}

#[cfg(test)]
mod tests;
