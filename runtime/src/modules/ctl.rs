//! ctl — the BINRPC control socket `kamcmd` talks to
//! (modules-state-web-ops.md §10.3). Parameters: `binrpc` (repeatable:
//! `unix:`/`unixs:` stream, `unixd:` datagram, `udp:`/`tcp:host[:port]`,
//! default `unixs:<runtime dir>/kamailio_ctl`), `mode`, `user`, `group` of
//! the socket files. `binrpc_buffer_size`, `binrpc_max_body_size` and
//! `binrpc_struct_max_body_size` are documented no-ops (Kamailio's fixed
//! reply buffers; replies here are sized to what they hold), and
//! `autoconversion` and `fifo` are refused at build by the vocabulary's
//! module table ("not supported yet"). The `ctl.listen`,
//! `ctl.connections`, `ctl.who` commands are not exported.
//!
//! One thread per listener serves requests one at a time (Kamailio's single
//! "ctl handler" process); a stale socket file is unlinked before bind and
//! removed when [`Servers`] is dropped (at shutdown).

pub mod binrpc;

use std::io::{Read, Write};
use std::net::{TcpListener, UdpSocket};
use std::os::unix::net::{UnixDatagram, UnixListener};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::engine::module::{Module, RpcError};
use crate::engine::params::{ModParams, ParamError};
use crate::rpc::{Process, Server};

/// The largest request body served: Kamailio's ctl reads a request into a
/// fixed buffer too (its size is not a parameter).
pub const MAX_REQUEST_BODY: usize = 32 * 1024;

/// One `binrpc` address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Addr {
    /// `unix:`/`unixs:` (stream); `None`: the default file in the runtime
    /// directory.
    UnixStream(Option<PathBuf>),
    /// `unixd:`.
    UnixDgram(PathBuf),
    Udp(String),
    Tcp(String),
}

/// ctl's default port for `udp:`/`tcp:` without one.
pub const DEFAULT_PORT: u16 = 2049;

impl Addr {
    /// Parses a `binrpc` value.
    ///
    /// # Errors
    /// An unknown protocol or an empty address.
    pub fn parse(s: &str) -> Result<Self, String> {
        let (proto, rest) = match s.split_once(':') {
            Some((p, r)) if ["unix", "unixs", "unixd", "udp", "tcp"].contains(&p) => (p, r),
            _ if s.starts_with('/') => ("unixs", s),
            _ => return Err(format!("unknown protocol in `{s}`")),
        };
        if rest.is_empty() {
            return Err(format!("empty address in `{s}`"));
        }
        let host = |r: &str| {
            if r.rsplit_once(':')
                .is_some_and(|(_, p)| p.parse::<u16>().is_ok())
            {
                r.to_string()
            } else {
                format!("{r}:{DEFAULT_PORT}")
            }
        };
        Ok(match proto {
            "unixd" => Self::UnixDgram(rest.into()),
            "udp" => Self::Udp(host(rest)),
            "tcp" => Self::Tcp(host(rest)),
            _ => Self::UnixStream(Some(rest.into())),
        })
    }
}

/// ctl's parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ctl {
    pub listen: Vec<Addr>,
    /// `mode` of the socket files (0600).
    pub mode: u32,
    pub user: Option<String>,
    pub group: Option<String>,
}

impl Default for Ctl {
    fn default() -> Self {
        Self {
            listen: vec![Addr::UnixStream(None)],
            mode: 0o600,
            user: None,
            group: None,
        }
    }
}

impl Module for Ctl {
    const NAME: &'static str = "ctl";

    fn from_params(p: &ModParams) -> Result<Self, ParamError> {
        let d = Self::default();
        let mut listen = Vec::new();
        for v in p.all("ctl", "binrpc") {
            let s = match v {
                crate::engine::params::ParamValue::Str(s) => s.clone(),
                other => return Err(ParamError::invalid("ctl", "binrpc", format!("{other:?}"))),
            };
            listen
                .push(Addr::parse(s.trim()).map_err(|e| ParamError::invalid("ctl", "binrpc", e))?);
        }
        // An int as the cfg's lexer read it (`0600` is octal there), a
        // string as octal text.
        let mode = match p.get("ctl", "mode") {
            None => d.mode,
            Some(crate::engine::params::ParamValue::Int(n)) => {
                u32::try_from(*n).map_err(|_| ParamError::invalid("ctl", "mode", format!("{n}")))?
            }
            Some(_) => {
                let m = p.str("ctl", "mode").unwrap_or_default();
                u32::from_str_radix(m.trim(), 8).map_err(|_| {
                    ParamError::invalid("ctl", "mode", format!("`{m}` is not an octal mode"))
                })?
            }
        };
        Ok(Self {
            listen: if listen.is_empty() { d.listen } else { listen },
            mode,
            user: p.str("ctl", "user"),
            group: p.str("ctl", "group"),
        })
    }
}

/// The running listeners; dropping it stops them and removes their files.
#[derive(Debug, Default)]
pub struct Servers {
    stop: Arc<AtomicBool>,
    files: Vec<PathBuf>,
    /// Where each listener is, for tests and logs.
    pub bound: Vec<String>,
}

impl Drop for Servers {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        for f in &self.files {
            let _ = std::fs::remove_file(f);
        }
    }
}

/// How often a listener looks at the stop flag.
const POLL: Duration = Duration::from_millis(100);
/// How long a client may take to send a request.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(5);

impl Ctl {
    /// ctl's entry of `core.psx`.
    pub fn processes(&self) -> Vec<Process> {
        vec![Process {
            pid: std::process::id(),
            desc: "ctl handler".into(),
        }]
    }

    /// Binds every listener and starts its thread.
    ///
    /// # Errors
    /// An address that cannot be bound.
    pub fn start(&self, server: Server, runtime_dir: &Path) -> Result<Servers, String> {
        let mut s = Servers::default();
        for a in &self.listen {
            let server = server.clone();
            let stop = s.stop.clone();
            let max = MAX_REQUEST_BODY;
            match a {
                Addr::UnixStream(path) => {
                    let path = path
                        .clone()
                        .unwrap_or_else(|| runtime_dir.join("kamailio_ctl"));
                    let _ = std::fs::remove_file(&path);
                    let l = UnixListener::bind(&path)
                        .map_err(|e| format!("ctl: cannot bind unix:{}: {e}", path.display()))?;
                    self.own(&path)?;
                    l.set_nonblocking(true).map_err(|e| e.to_string())?;
                    s.bound.push(format!("unix:{}", path.display()));
                    s.files.push(path);
                    spawn(move || {
                        while !stop.load(Ordering::Acquire) {
                            match l.accept() {
                                Ok((c, _)) => serve_stream(c, &server, max),
                                Err(_) => std::thread::sleep(POLL),
                            }
                        }
                    })?;
                }
                Addr::Tcp(addr) => {
                    let l = TcpListener::bind(addr)
                        .map_err(|e| format!("ctl: cannot bind tcp:{addr}: {e}"))?;
                    l.set_nonblocking(true).map_err(|e| e.to_string())?;
                    s.bound.push(format!(
                        "tcp:{}",
                        l.local_addr().map_err(|e| e.to_string())?
                    ));
                    spawn(move || {
                        while !stop.load(Ordering::Acquire) {
                            match l.accept() {
                                Ok((c, _)) => serve_stream(c, &server, max),
                                Err(_) => std::thread::sleep(POLL),
                            }
                        }
                    })?;
                }
                Addr::UnixDgram(path) => {
                    let _ = std::fs::remove_file(path);
                    let sock = UnixDatagram::bind(path)
                        .map_err(|e| format!("ctl: cannot bind unixd:{}: {e}", path.display()))?;
                    self.own(path)?;
                    sock.set_read_timeout(Some(POLL))
                        .map_err(|e| e.to_string())?;
                    s.bound.push(format!("unixd:{}", path.display()));
                    s.files.push(path.clone());
                    spawn(move || {
                        let mut buf = vec![0u8; 65536];
                        while !stop.load(Ordering::Acquire) {
                            let Ok((n, from)) = sock.recv_from(&mut buf) else {
                                continue;
                            };
                            if let (Some(reply), Some(to)) =
                                (answer(&buf[..n], &server, max), from.as_pathname())
                            {
                                let _ = sock.send_to(&reply, to);
                            }
                        }
                    })?;
                }
                Addr::Udp(addr) => {
                    let sock = UdpSocket::bind(addr)
                        .map_err(|e| format!("ctl: cannot bind udp:{addr}: {e}"))?;
                    sock.set_read_timeout(Some(POLL))
                        .map_err(|e| e.to_string())?;
                    s.bound.push(format!(
                        "udp:{}",
                        sock.local_addr().map_err(|e| e.to_string())?
                    ));
                    spawn(move || {
                        let mut buf = vec![0u8; 65536];
                        while !stop.load(Ordering::Acquire) {
                            let Ok((n, from)) = sock.recv_from(&mut buf) else {
                                continue;
                            };
                            if let Some(reply) = answer(&buf[..n], &server, max) {
                                let _ = sock.send_to(&reply, from);
                            }
                        }
                    })?;
                }
            }
        }
        Ok(s)
    }

    /// `mode`, `user`, `group` of a socket file.
    fn own(&self, path: &Path) -> Result<(), String> {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(self.mode))
            .map_err(|e| format!("ctl: chmod {}: {e}", path.display()))?;
        let uid = match &self.user {
            Some(u) => Some(lookup_id(u, true).ok_or_else(|| format!("ctl: unknown user `{u}`"))?),
            None => None,
        };
        let gid = match &self.group {
            Some(g) => {
                Some(lookup_id(g, false).ok_or_else(|| format!("ctl: unknown group `{g}`"))?)
            }
            None => None,
        };
        if uid.is_some() || gid.is_some() {
            std::os::unix::fs::chown(path, uid, gid)
                .map_err(|e| format!("ctl: chown {}: {e}", path.display()))?;
        }
        Ok(())
    }
}

/// A user or group id from a name or a number.
fn lookup_id(name: &str, user: bool) -> Option<u32> {
    if let Ok(n) = name.parse() {
        return Some(n);
    }
    let c = std::ffi::CString::new(name).ok()?;
    // SAFETY: getpwnam/getgrnam read a NUL-terminated string that lives
    // for the call; the returned record is read at once, before any other
    // call that could overwrite it (start-up, one thread).
    unsafe {
        if user {
            let p = libc::getpwnam(c.as_ptr());
            (!p.is_null()).then(|| (*p).pw_uid)
        } else {
            let g = libc::getgrnam(c.as_ptr());
            (!g.is_null()).then(|| (*g).gr_gid)
        }
    }
}

fn spawn(f: impl FnOnce() + Send + 'static) -> Result<(), String> {
    std::thread::Builder::new()
        .name("ctl".into())
        .spawn(f)
        .map(|_| ())
        .map_err(|e| format!("ctl: cannot start a thread: {e}"))
}

/// The reply to one packet (`None`: not BINRPC, or not a request).
pub fn answer(packet: &[u8], server: &Server, max_body: usize) -> Option<Vec<u8>> {
    match binrpc::split(packet, max_body) {
        Ok((h, body, _)) => Some(reply(&h, body, server)),
        Err(binrpc::BinrpcError::TooBig(_)) => {
            let h = binrpc::header(packet, usize::MAX).ok()?;
            Some(binrpc::encode_fault(
                &h.cookie,
                &RpcError::new(400, "request too big"),
            ))
        }
        Err(_) => None,
    }
}

fn reply(h: &binrpc::Header, body: &[u8], server: &Server) -> Vec<u8> {
    if h.kind != binrpc::REQUEST {
        return binrpc::encode_fault(&h.cookie, &RpcError::new(400, "not a request"));
    }
    let Ok(req) = binrpc::decode_request(body) else {
        return binrpc::encode_fault(&h.cookie, &RpcError::new(400, "bad request body"));
    };
    let texts: Vec<String> = req.params.iter().map(binrpc::Param::text).collect();
    let args: Vec<&str> = texts.iter().map(String::as_str).collect();
    match server.call(&req.method, &args) {
        Ok(values) => binrpc::encode_reply(&h.cookie, &values),
        Err(e) => binrpc::encode_fault(&h.cookie, &e),
    }
}

/// Serves one stream connection: packets in, replies out, until EOF, an
/// error, a non-BINRPC byte or the client's timeout.
fn serve_stream<C: Read + Write + SetTimeout>(mut c: C, server: &Server, max_body: usize) {
    if c.timeouts(CLIENT_TIMEOUT).is_err() {
        return;
    }
    let mut buf: Vec<u8> = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        match binrpc::split(&buf, max_body) {
            Ok((h, body, used)) => {
                let out = reply(&h, body, server);
                buf.drain(..used);
                if c.write_all(&out).is_err() {
                    return;
                }
                continue;
            }
            Err(binrpc::BinrpcError::Incomplete) => {}
            Err(binrpc::BinrpcError::TooBig(_)) => {
                if let Ok(h) = binrpc::header(&buf, usize::MAX) {
                    let _ = c.write_all(&binrpc::encode_fault(
                        &h.cookie,
                        &RpcError::new(400, "request too big"),
                    ));
                }
                return;
            }
            Err(_) => return,
        }
        match c.read(&mut chunk) {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
}

/// Blocking mode with timeouts for an accepted connection.
trait SetTimeout {
    fn timeouts(&self, t: Duration) -> std::io::Result<()>;
}

impl SetTimeout for std::os::unix::net::UnixStream {
    fn timeouts(&self, t: Duration) -> std::io::Result<()> {
        self.set_nonblocking(false)?;
        self.set_read_timeout(Some(t))?;
        self.set_write_timeout(Some(t))
    }
}

impl SetTimeout for std::net::TcpStream {
    fn timeouts(&self, t: Duration) -> std::io::Result<()> {
        self.set_nonblocking(false)?;
        self.set_read_timeout(Some(t))?;
        self.set_write_timeout(Some(t))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::params::ParamValue;

    #[test]
    fn params() {
        let c = Ctl::from_params(&ModParams::new()).unwrap();
        assert_eq!(c, Ctl::default());
        let mut p = ModParams::new();
        p.push("ctl", "binrpc", ParamValue::Str("unix:/tmp/x".into()));
        p.push("ctl", "binrpc", ParamValue::Str("udp:127.0.0.1".into()));
        p.push(
            "ctl",
            "binrpc",
            ParamValue::Str("tcp:127.0.0.1:3000".into()),
        );
        p.push("ctl", "binrpc", ParamValue::Str("unixd:/tmp/d".into()));
        p.push("ctl", "mode", ParamValue::Str("0660".into()));
        let c = Ctl::from_params(&p).unwrap();
        assert_eq!(
            c.listen,
            vec![
                Addr::UnixStream(Some("/tmp/x".into())),
                Addr::Udp("127.0.0.1:2049".into()),
                Addr::Tcp("127.0.0.1:3000".into()),
                Addr::UnixDgram("/tmp/d".into()),
            ]
        );
        assert_eq!(c.mode, 0o660);
        let mut p = ModParams::new();
        p.push("ctl", "mode", ParamValue::Int(0o640));
        assert_eq!(Ctl::from_params(&p).unwrap().mode, 0o640);
        let mut p = ModParams::new();
        p.push("ctl", "binrpc", ParamValue::Str("sctp:1.2.3.4".into()));
        assert!(Ctl::from_params(&p).is_err());
    }
}
