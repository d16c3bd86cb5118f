//! path's `add_path`/`add_path_received` on an edge proxy, differential:
//! REGISTERs (with and without a Path header already) get their Path
//! headers from `kamailio -f`, the compiled proxy and the interpreter
//! (`tests/path/kamailio.cfg`), which send them back to the client; the
//! header blocks are compared, the proxy's and client's ports written as
//! `PROXY` and `CLIENT`.

use std::path::{Path, PathBuf};

use cfgc_test_support::udp_exchange;

fn cfg() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("path/kamailio.cfg")
}

/// (operation, a Path header the request already has).
const CASES: &[(&str, Option<&str>)] = &[
    ("plain", None),
    ("user", None),
    ("params", None),
    ("received", None),
    ("received-user", Some("<sip:outer.example;lr>")),
    ("twice", Some("<sip:outer.example;lr>")),
];

fn answers(port: u16) -> Vec<String> {
    CASES
        .iter()
        .enumerate()
        .map(|(i, (op, path))| {
            let client = std::cell::Cell::new(0u16);
            let a = udp_exchange(port, |local| {
                client.set(local.port());
                let path = path.map_or(String::new(), |p| format!("Path: {p}\r\n"));
                format!(
                    "REGISTER sip:127.0.0.1 SIP/2.0\r\n\
Via: SIP/2.0/UDP {local};branch=z9hG4bK-path-{i}\r\n\
Max-Forwards: 70\r\n\
From: <sip:alice@127.0.0.1>;tag=p{i}\r\n\
To: <sip:alice@127.0.0.1>\r\n\
Call-ID: path-{i}@test\r\n\
CSeq: 1 REGISTER\r\n\
Contact: <sip:alice@192.0.2.7:5060>\r\n\
{path}Supported: path\r\n\
X-Op: {op}\r\n\
Content-Length: 0\r\n\r\n"
                )
            });
            let a = a.unwrap_or_else(|| "timeout".into());
            let lines: Vec<String> = a
                .lines()
                .filter(|l| l.starts_with("Path:") || l.starts_with("X-Rc:"))
                .map(|l| {
                    l.replace(&format!("127.0.0.1:{port}"), "127.0.0.1:PROXY")
                        .replace(&format!("127.0.0.1:{}", client.get()), "127.0.0.1:CLIENT")
                })
                .collect();
            format!("{op}: {}", lines.join(" | "))
        })
        .collect()
}

#[test]
fn path_headers_like_kamailio() {
    let interp = PathBuf::from(env!("CARGO_BIN_EXE_interp-proxy"));
    let mut all = Vec::new();
    for who in ["kamailio", "compiled", "interpreted"] {
        let (g, port) = tests::start_contender(who, &cfg(), &[], "path-edge", &interp);
        let got = answers(port);
        g.stop().expect("stopped");
        all.push((who, got));
    }
    let theirs = &all[0].1;
    for l in theirs {
        eprintln!("{l}");
    }
    assert!(
        theirs[0].contains("Path: <sip:127.0.0.1:PROXY;lr>"),
        "{}",
        theirs[0]
    );
    for (who, got) in &all[1..] {
        assert_eq!(got, theirs, "{who} adds other Path headers");
    }
}
