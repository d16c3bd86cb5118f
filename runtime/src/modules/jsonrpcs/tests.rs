use std::io::Read;
use std::os::unix::net::UnixDatagram;

use super::*;
use crate::engine::params::ParamValue;
use crate::modules::Modules;

fn tmpdir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("cfgc-jsonrpcs-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn dispatcher() -> Dispatcher {
    let set = Arc::new(Modules::default());
    let lists: Vec<&'static [crate::engine::module::RpcCommand]> =
        crate::rpc::STATIC.iter().map(|(_, l)| *l).collect();
    let reg = crate::engine::RpcRegistry::from_commands(
        crate::engine::ModuleSet::rpc_commands(&*set),
        &lists,
    )
    .unwrap();
    Arc::new(move |m: &str, a: &[&str]| reg.dispatch(&*set, m, a))
}

#[test]
fn params_defaults_and_paths() {
    let dir = Path::new("/x/run");
    let c = Config::from_params(&ModParams::new(), dir).unwrap();
    assert_eq!(c.fifo, dir.join("kamailio_rpc.fifo"));
    assert_eq!(c.dgram, "kamailio_rpc.sock");
    assert_eq!((c.transport, c.pretty, c.fifo_mode), (6, false, 0o660));
    let mut p = ModParams::new();
    p.push(M, "fifo_user", ParamValue::Str("kamailio".into()));
    assert!(Config::from_params(&p, dir).is_err());
    let mut p = ModParams::new();
    p.push(M, "transport", ParamValue::Int(1));
    let c = Config::from_params(&p, dir).unwrap();
    assert!(start(&c, dir, dispatcher()).is_err());
}

#[test]
fn datagram_and_fifo_answer() {
    let dir = tmpdir("t");
    let mut p = ModParams::new();
    p.push(M, "pretty_format", ParamValue::Int(1));
    p.push(M, "transport", ParamValue::Int(7));
    p.push(
        M,
        "fifo_reply_dir",
        ParamValue::Str(format!("{}/", dir.display())),
    );
    let cfg = Config::from_params(&p, &dir).unwrap();
    // A stale socket file from an earlier run is replaced.
    let stale = UnixDatagram::bind(dir.join("kamailio_rpc.sock")).unwrap();
    drop(stale);
    let rpc = start(&cfg, &dir, dispatcher()).unwrap();
    let me = dir.join("client.sock");
    let c = UnixDatagram::bind(&me).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    c.send_to(
        br#"{"jsonrpc":"2.0","method":"no.such","id":7}"#,
        dir.join("kamailio_rpc.sock"),
    )
    .unwrap();
    let mut buf = [0u8; 65536];
    let n = c.recv(&mut buf).unwrap();
    assert_eq!(
        std::str::from_utf8(&buf[..n]).unwrap(),
        "{\n\t\"jsonrpc\":\t\"2.0\",\n\t\"error\":\t{\n\t\t\"code\":\t500,\n\t\t\"message\":\t\"Method Not Found\"\n\t},\n\t\"id\":\t7\n}"
    );
    // Garbage gets no answer, and the server keeps serving.
    c.send_to(b"{{{{", dir.join("kamailio_rpc.sock")).unwrap();
    c.send_to(
        br#"{"jsonrpc":"2.0","method":"tm.stats","id":1}"#,
        dir.join("kamailio_rpc.sock"),
    )
    .unwrap();
    let n = c.recv(&mut buf).unwrap();
    assert!(
        std::str::from_utf8(&buf[..n])
            .unwrap()
            .contains("\"delayed_free\"")
    );

    // FIFO: a reply FIFO the client made, named in the request.
    let reply = dir.join("rpl1");
    let cs = std::ffi::CString::new(reply.to_str().unwrap()).unwrap();
    // SAFETY: valid path.
    assert_eq!(unsafe { libc::mkfifo(cs.as_ptr(), 0o600) }, 0);
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        std::fs::File::open(&reply)
            .unwrap()
            .read_to_string(&mut s)
            .unwrap();
        s
    });
    let mut w = std::fs::OpenOptions::new()
        .write(true)
        .open(dir.join("kamailio_rpc.fifo"))
        .unwrap();
    // A forbidden name first (no reply), then split writes of one object.
    w.write_all(br#"{"jsonrpc":"2.0","method":"x","reply_name":"../etc"}"#)
        .unwrap();
    w.write_all(br#"{"jsonrpc":"2.0","method":"cnt.get","params":["sl","#)
        .unwrap();
    w.write_all(br#""200_replies"],"reply_name":"rpl1","id":"s"}"#)
        .unwrap();
    let got = reader.join().unwrap();
    assert_eq!(
        got,
        "{\n\t\"jsonrpc\":\t\"2.0\",\n\t\"result\":\t0,\n\t\"id\":\t\"s\"\n}".replace(
            "\t0,",
            &format!(
                "\t{},",
                crate::engine::counters::stats().sl.by_code[1].get()
            )
        )
    );
    drop(rpc);
    assert!(!dir.join("kamailio_rpc.fifo").exists());
    assert!(!dir.join("kamailio_rpc.sock").exists());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_second_server_on_the_same_paths_replaces_the_first() {
    let dir = tmpdir("twice");
    let mut p = ModParams::new();
    p.push(M, "transport", ParamValue::Int(6));
    let cfg = Config::from_params(&p, &dir).unwrap();
    let first = start(&cfg, &dir, dispatcher()).unwrap();
    let second = start(&cfg, &dir, dispatcher()).unwrap();
    // The first one stopping leaves the second one's files alone.
    drop(first);
    assert!(dir.join("kamailio_rpc.fifo").exists());
    assert!(dir.join("kamailio_rpc.sock").exists());
    let me = dir.join("c.sock");
    let c2 = UnixDatagram::bind(&me).unwrap();
    c2.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    c2.send_to(
        br#"{"jsonrpc":"2.0","method":"cnt.get_vars","params":["dns"],"id":1}"#,
        dir.join("kamailio_rpc.sock"),
    )
    .unwrap();
    let mut buf = [0u8; 4096];
    let n = c2.recv(&mut buf).unwrap();
    assert_eq!(
        std::str::from_utf8(&buf[..n]).unwrap(),
        r#"{"jsonrpc":"2.0","result":{"failed_dns_request":0,"slow_dns_request":0},"id":1}"#
    );
    drop(second);
    assert!(!dir.join("kamailio_rpc.sock").exists());
    let _ = std::fs::remove_dir_all(&dir);
}
