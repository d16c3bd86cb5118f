//! The registry and the core and cfg commands, without a transport.

use std::sync::Arc;

use super::*;
use crate::engine::CoreConfig;
use crate::modules::Modules;

struct Fixed {
    modules: Modules,
    tm: Tm,
    core: CoreConfig,
}

impl Target for Fixed {
    fn parts(&self) -> Option<Parts<'_>> {
        Some(Parts {
            modules: &self.modules,
            tm: &self.tm,
            core: &self.core,
        })
    }
}

fn server(loaded: &[&str]) -> (Server, Arc<Fixed>) {
    let f = Arc::new(Fixed {
        modules: Modules::default(),
        tm: Tm::default(),
        core: CoreConfig::default(),
    });
    let loaded: Vec<String> = loaded.iter().map(|s| s.to_string()).collect();
    let rpc = Rpc::new(&f.modules, &loaded).unwrap();
    let s = Server {
        rpc: Arc::new(rpc),
        state: Arc::new(State::default()),
        target: f.clone(),
    };
    (s, f)
}

#[test]
fn core_commands() {
    let (s, _) = server(&[]);
    assert_eq!(
        s.call("core.version", &[]),
        Ok(vec![RpcValue::Str("kamailio 5.6.3 (x86_64/linux) ".into())])
    );
    assert_eq!(
        s.call("no.such", &[]),
        Err(RpcError::new(500, "command no.such not found"))
    );
    let Ok(up) = s.call("core.uptime", &[]) else {
        panic!("uptime")
    };
    let [RpcValue::Struct(f)] = up.as_slice() else {
        panic!("{up:?}")
    };
    let names: Vec<&str> = f.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["now", "up_since", "uptime"]);
    assert!(
        matches!(&f[0].1, RpcValue::Str(t) if t.len() == 24),
        "{f:?}"
    );
    let names = s.call("system.listMethods", &[]).unwrap();
    assert!(names.contains(&RpcValue::Str("ul.dump".into())));
    assert!(
        !names.contains(&RpcValue::Str("cfg.get".into())),
        "cfg_rpc not loaded"
    );
    assert_eq!(
        s.call("system.methodHelp", &["core.version"]),
        Ok(vec![RpcValue::Str(
            "Returns the version string of the server.".into()
        )])
    );
    assert_eq!(
        s.call("system.methodHelp", &["x"]),
        Err(RpcError::new(400, "command not found"))
    );
}

#[test]
fn psx_describes_threads() {
    let l = [(
        crate::transport::Proto::Udp,
        "127.0.0.1:5060".parse().unwrap(),
    )];
    let p = core::processes(&l, 2);
    let d: Vec<&str> = p.iter().map(|p| p.desc.as_str()).collect();
    assert_eq!(
        d,
        [
            "main process - attendant",
            "udp receiver child=0 sock=127.0.0.1:5060",
            "udp receiver child=1 sock=127.0.0.1:5060",
            "timer"
        ]
    );
}

#[test]
fn cfg_debug_changes_the_live_level() {
    let (s, f) = server(&["cfg_rpc"]);
    assert_eq!(
        s.call("cfg.get", &["core", "debug"]),
        Ok(vec![RpcValue::Int(2)])
    );
    assert_eq!(
        s.call("cfg.set_now_int", &["core", "debug", "3"]),
        Ok(vec![])
    );
    assert_eq!(f.core.debug.get(), 3);
    assert_eq!(
        s.call("cfg.get", &["core", "debug"]),
        Ok(vec![RpcValue::Int(3)])
    );
    assert_eq!(s.call("cfg.sets", &["core", "debug", "4"]), Ok(vec![]));
    assert_eq!(f.core.debug.get(), 4);
    assert_eq!(s.call("cfg.seti", &["core", "debug", "2"]), Ok(vec![]));
    let e = |c, m: &str| Err(RpcError::new(c, m));
    assert_eq!(
        s.call("cfg.get", &["core", "nosuch"]),
        e(400, "Failed to get the variable")
    );
    assert_eq!(
        s.call("cfg.get", &["nosuch", "debug"]),
        e(400, "Failed to get the variable")
    );
    assert_eq!(
        s.call("cfg.get", &[]),
        e(500, "Failed to get the parameters")
    );
    assert_eq!(
        s.call("cfg.set_now_int", &["core", "nosuch", "1"]),
        e(400, "Failed to set the variable")
    );
    assert_eq!(
        s.call("cfg.set_now_int", &["core", "debug"]),
        e(
            400,
            "error at parameter 2: expected integer type but end of packet encountered"
        )
    );
    assert_eq!(
        s.call("cfg.set_now_int", &["core", "debug", "abc"]),
        e(
            400,
            "error at parameter 2: expected integer type but record doesn't match type"
        )
    );
    assert_eq!(
        s.call("cfg.set_now_string", &["core", "debug", "x"]),
        e(400, "Failed to set the variable")
    );
    assert_eq!(f.core.debug.get(), 2);
}

#[test]
fn cfg_custom_variables_change_what_the_script_reads() {
    let f = Arc::new(Fixed {
        modules: Modules::default(),
        tm: Tm::default(),
        core: CoreConfig {
            cfg_vars: crate::engine::ctx::CfgVars::new(&[
                (
                    "pstn.gw_ip".into(),
                    cfgc_vocab::CoreValue::Str("10.0.0.1".into()),
                ),
                ("pstn.gw_port".into(), cfgc_vocab::CoreValue::Int(5060)),
            ]),
            ..CoreConfig::default()
        },
    });
    let s = Server {
        rpc: Arc::new(Rpc::new(&f.modules, &["cfg_rpc".to_string()]).unwrap()),
        state: Arc::new(State::default()),
        target: f.clone(),
    };
    let get = |v: &str| s.call("cfg.get", &["pstn", v]);
    assert_eq!(get("gw_ip"), Ok(vec![RpcValue::Str("10.0.0.1".into())]));
    assert_eq!(get("gw_port"), Ok(vec![RpcValue::Int(5060)]));
    assert_eq!(
        s.call("cfg.sets", &["pstn", "gw_ip", "10.0.0.2"]),
        Ok(vec![])
    );
    assert_eq!(s.call("cfg.seti", &["pstn", "gw_port", "5070"]), Ok(vec![]));
    // An int on a string variable stores its text; text on an int one
    // must be numeric.
    assert_eq!(
        s.call("cfg.set_now_int", &["pstn", "gw_ip", "7"]),
        Ok(vec![])
    );
    assert_eq!(get("gw_ip"), Ok(vec![RpcValue::Str("7".into())]));
    assert_eq!(
        s.call("cfg.set_now_string", &["pstn", "gw_port", "x"]),
        Err(RpcError::new(400, "Failed to set the variable"))
    );
    assert_eq!(
        f.core.cfg_vars.get("pstn.gw_port"),
        Some(crate::engine::Value::Int(5070))
    );
    assert_eq!(
        s.call("cfg.get", &["pstn", "nosuch"]),
        Err(RpcError::new(400, "Failed to get the variable"))
    );
}

#[test]
fn static_lists_and_duplicates() {
    let m = Modules::default();
    let reg = RpcRegistry::with_static(
        &m,
        &[&[RpcCommand {
            name: "tm.stats",
            help: "",
            handler: |_, _| Ok(vec![RpcValue::Int(7)]),
        }]],
    )
    .unwrap();
    assert_eq!(
        reg.dispatch(&m, "tm.stats", &[]),
        Ok(vec![RpcValue::Int(7)])
    );
    let dup = RpcRegistry::with_static(
        &m,
        &[&[RpcCommand {
            name: "ul.dump",
            help: "",
            handler: |_, _| Ok(vec![]),
        }]],
    );
    assert!(dup.is_err());
}

#[test]
fn ctl_answers_packets_and_refuses_hostile_ones() {
    use crate::modules::ctl::{answer, binrpc};
    let (s, _) = server(&["usrloc"]);
    let req = binrpc::encode_request(&[7, 7], "core.version", &[]);
    let rep = answer(&req, &s, 1024).unwrap();
    let (h, body, _) = binrpc::split(&rep, 1024).unwrap();
    assert_eq!(
        (h.kind, h.cookie.as_slice()),
        (binrpc::REPLY, &[7u8, 7][..])
    );
    assert!(body.ends_with(b"kamailio 5.6.3 (x86_64/linux) \0"));
    // ul.lookup with an int parameter: passed as its decimal text.
    let req = binrpc::encode_request(
        &[1],
        "ul.lookup",
        &[
            binrpc::Param::Str("location".into()),
            binrpc::Param::Int(42),
        ],
    );
    let rep = answer(&req, &s, 1024).unwrap();
    assert_eq!(
        rep,
        binrpc::encode_fault(&[1], &RpcError::new(500, "AOR not found in location table"))
    );
    // Too big: a fault; not BINRPC or truncated: no answer.
    let big = binrpc::encode_request(&[2], &"x".repeat(2000), &[]);
    let rep = answer(&big, &s, 1024).unwrap();
    assert_eq!(
        rep,
        binrpc::encode_fault(&[2], &RpcError::new(400, "request too big"))
    );
    assert_eq!(answer(b"GET / HTTP/1.0\r\n\r\n", &s, 1024), None);
    assert_eq!(answer(&req[..req.len() - 1], &s, 1024), None);
    // A corrupted body: a fault, never a panic.
    let mut bad = binrpc::encode_request(&[3], "core.version", &[]);
    let n = bad.len();
    bad[n - 14] = 0xff;
    let rep = answer(&bad, &s, 1024).unwrap();
    assert_eq!(
        rep,
        binrpc::encode_fault(&[3], &RpcError::new(400, "bad request body"))
    );
}

/// Every ctl transport answers a request; dropping the servers removes
/// the socket files.
#[test]
fn ctl_servers_on_every_transport() {
    use std::io::{Read, Write};

    use crate::modules::ctl::{Addr, Ctl, binrpc};
    let (s, _) = server(&["ctl"]);
    let dir = std::env::temp_dir().join(format!("cfgc-ctl-unit-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    // A stale file where the socket goes is replaced.
    std::fs::write(dir.join("kamailio_ctl"), b"stale").unwrap();
    let ctl = Ctl {
        listen: vec![
            Addr::UnixStream(None),
            Addr::UnixDgram(dir.join("d.sock")),
            Addr::Tcp("127.0.0.1:0".into()),
            Addr::Udp("127.0.0.1:0".into()),
        ],
        ..Ctl::default()
    };
    let servers = ctl.start(s, &dir).unwrap();
    let req = binrpc::encode_request(&[9], "core.version", &[]);
    let want = binrpc::encode_reply(&[9], &[RpcValue::Str(core::version_text())]);
    let t = Some(std::time::Duration::from_secs(5));
    let read_reply = |r: &mut dyn Read| {
        let mut got = vec![0u8; want.len()];
        r.read_exact(&mut got).unwrap();
        got
    };
    let mut c = std::os::unix::net::UnixStream::connect(dir.join("kamailio_ctl")).unwrap();
    c.set_read_timeout(t).unwrap();
    // Two requests on one connection, the first in two pieces.
    c.write_all(&req[..3]).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(50));
    c.write_all(&req[3..]).unwrap();
    assert_eq!(read_reply(&mut c), want);
    c.write_all(&req).unwrap();
    assert_eq!(read_reply(&mut c), want);
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(dir.join("kamailio_ctl"))
            .unwrap()
            .permissions(),
    );
    assert_eq!(mode & 0o777, 0o600);

    let tcp = servers.bound[2].strip_prefix("tcp:").unwrap().to_string();
    let mut c = std::net::TcpStream::connect(&tcp).unwrap();
    c.set_read_timeout(t).unwrap();
    c.write_all(&req).unwrap();
    assert_eq!(read_reply(&mut c), want);

    let udp = servers.bound[3].strip_prefix("udp:").unwrap().to_string();
    let u = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    u.set_read_timeout(t).unwrap();
    u.send_to(&req, &udp).unwrap();
    let mut buf = [0u8; 512];
    let (n, _) = u.recv_from(&mut buf).unwrap();
    assert_eq!(&buf[..n], &want[..]);

    let me = dir.join("client.sock");
    let d = std::os::unix::net::UnixDatagram::bind(&me).unwrap();
    d.set_read_timeout(t).unwrap();
    d.send_to(&req, dir.join("d.sock")).unwrap();
    let n = d.recv(&mut buf).unwrap();
    assert_eq!(&buf[..n], &want[..]);

    drop(servers);
    assert!(!dir.join("kamailio_ctl").exists());
    assert!(!dir.join("d.sock").exists());
    let _ = std::fs::remove_dir_all(&dir);
}
