//! textopsx's header-value functions (`append_hf_value` and family),
//! `msg_set_buffer` and iterator names, differential: the requests of
//! `tests/textopsx/hf_value.cfg` (which runs what `X-Op` names, writes the
//! return codes to `X-Rc` and sends the edited request back to the client)
//! to `kamailio -f`, to the compiled proxy and to the interpreter;
//! Kamailio's messages checked for what each case means, ours against
//! Kamailio's byte for byte, but for the proxy's own Via (its branch is
//! each proxy's hash) and the client's port.

use std::path::{Path, PathBuf};

use cfgc_test_support::udp_exchange;

fn cfg() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("textopsx/hf_value.cfg")
}

/// (name, X-Op, extra headers, texts Kamailio's message must hold).
const CASES: &[(&str, &str, &str, &[&str])] = &[
    (
        "append",
        "append",
        "X-L: a, b\r\nX-L: c\r\n",
        &[
            "X-L: a, b\r\nX-L: c\r\nContent-Length: 0\r\nX-L: new\r\nX-None: n1\r\n",
            "X-Rc: 1 1\r\n",
        ],
    ),
    (
        "append-idx",
        "append-idx",
        "X-L: a, b\r\nX-L: c\r\n",
        &[
            "X-L: a,n1, b,n2\r\nX-L: c\r\n",
            "X-L: n5\r\nX-L: n9\r\n",
            "X-Rc: 1 1 1 1\r\n",
        ],
    ),
    (
        "append-zero",
        "append-zero",
        "X-L: a, b\r\nX-L: c\r\n",
        &["X-L: a,, b\r\nX-L: c,e,bob-OPTIONS\r\n", "X-Rc: 1 1 1\r\n"],
    ),
    (
        "insert",
        "insert",
        "X-A: 1\r\nX-L: a, b\r\nX-L: c\r\n",
        &[
            "X-A: 1\r\nX-L: h1\r\nX-L: a, b\r\n",
            "x-none: h2\r\n",
            "X-Rc: 1 1\r\n",
        ],
    ),
    (
        "insert-idx",
        "insert-idx",
        "X-L: a, b\r\nX-L: c\r\n",
        &[
            "X-L: a,i2, b\r\nX-L: i3,c\r\n",
            "X-None: y\r\n",
            "X-Rc: 1 1 -1 1 -1\r\n",
        ],
    ),
    (
        "remove",
        "remove",
        "X-L: a, b\r\nX-L: c\r\n",
        &["X-L:  b\r\nContent-Length", "X-Rc: 1 1 -1\r\n"],
    ),
    (
        "remove-mid",
        "remove-mid",
        "X-L: a, b, c\r\n",
        &["X-L: a,\r\n", "X-Rc: 1 1\r\n"],
    ),
    (
        "remove-last",
        "remove-last",
        "X-L: a ,b,c\r\n",
        &["X-L: b\r\n", "X-Rc: 1 1\r\n"],
    ),
    (
        "remove-all",
        "remove-all",
        "X-L: a, b\r\nX-K: k\r\nx-l: c\r\n",
        &[
            "X-Op: remove-all\r\nX-K: k\r\nContent-Length",
            "X-Rc: 1 -1\r\n",
        ],
    ),
    (
        "remove-param",
        "remove-param",
        "X-P: <sip:a@h>;p=1;q, <sip:b@h> ; P = 2 ;x\r\nX-P: c;p=3\r\n",
        &[
            "X-P: <sip:a@h>;q, <sip:b@h>  ;x\r\nX-P: c\r\n",
            "X-Rc: 1 1 -1 1\r\n",
        ],
    ),
    (
        "remove-param-all",
        "remove-param-all",
        "X-P: <sip:a@h>;q;p=1;q=2, <sip:b@h>;q\r\nX-P: c\r\n",
        &[
            "X-P: <sip:a@h>;p=1, <sip:b@h>\r\nX-P: c\r\n",
            "X-Rc: 1 -1\r\n",
        ],
    ),
    (
        "assign",
        "assign",
        "X-L: a, b\r\nX-L: c\r\n",
        &["X-L: a, B\r\nX-L: \r\n", "X-Rc: 1 1 -1\r\n"],
    ),
    (
        "assign-first",
        "assign-first",
        "X-L: a, b\r\n",
        &["X-L: A OPTIONS, b\r\n", "X-Rc: 1\r\n"],
    ),
    (
        "assign-param",
        "assign-param",
        "X-P: <sip:a@h>;p=1;q, <sip:b@h>;p=2\r\n",
        &[
            "X-P: <sip:a@h>;p=9;q, <sip:b@h>;p=2;new=v;flag\r\n",
            "X-Rc: 1 1 1 1\r\n",
        ],
    ),
    (
        "assign-param-q",
        "assign-param-q",
        "X-P: <sip:a@h>;p=1;q, <sip:b@h>;p=2\r\n",
        &["X-P: <sip:a@h>;p=1;q=w, <sip:b@h>;p=2\r\n", "X-Rc: 1\r\n"],
    ),
    (
        "assign-all",
        "assign-all",
        "X-P: <sip:a@h>;p=1, b\r\nX-P: \"n\" <sip:c@h>;p=\"x\"\r\n",
        &[
            "X-P: <sip:a@h>;p=z, b;p=z\r\nX-P: \"n\" <sip:c@h>;p=z\r\n",
            "X-Rc: 1\r\n",
        ],
    ),
    (
        "value2",
        "value2",
        "X-D: Digest username=\"al\", realm=\"r\", nonce=\"n1\"\r\n",
        &[
            "X-D: Digest username=\"al\", nonce=n2,opaque=o\r\n",
            "X-Rc: 1 1 1 -1\r\n",
        ],
    ),
    (
        "value2-first",
        "value2-first",
        "X-D: Digest username=\"al\", realm=\"r\"\r\nX-E: Basic\r\n",
        &[
            "X-D: Digest  realm=\"r\"\r\nX-E: Basic a=1\r\n",
            "X-Rc: 1 1\r\n",
        ],
    ),
    (
        "value2-whole",
        "value2-whole",
        "X-L: a, b\r\nX-L: c\r\n",
        &["X-L: w\r\nContent-Length", "X-Rc: 1 1 -1\r\n"],
    ),
    (
        "value2-all",
        "value2-all",
        "X-D: Digest nonce=\"a\"\r\nX-D: Digest realm=r,nonce=b\r\n",
        &[
            "X-D: Digest nonce=all\r\nX-D: Digest realm=r,nonce=all\r\n",
            "X-Rc: 1\r\n",
        ],
    ),
    (
        "value2-remove-all",
        "value2-remove-all",
        "X-D: Digest nonce=\"a\"\r\nX-D: x\r\nX-E: a=1, b=2, a=3\r\n",
        &["value2-remove-all\r\nX-E:  b=2\r\n", "X-Rc: 1 1\r\n"],
    ),
    (
        "incexc",
        "incexc",
        "X-L: a, B\r\nX-L: c, b\r\n",
        &[
            "X-L: a,d\r\nX-L: c\r\n",
            "X-None: n\r\n",
            "X-Rc: 1 -1 -1 1 1 1 1 1 -1\r\n",
        ],
    ),
    (
        "exclude-only",
        "exclude-only",
        "X-L: b\r\nX-M: a,b\r\n",
        &["exclude-only\r\nX-M: a\r\n", "X-Rc: 1 1\r\n"],
    ),
    (
        "quoted",
        "quoted",
        "X-Q: \"a,b\" <sip:x@h>;p=1, c\r\n",
        &["X-Q: \"a,b\" <sip:x@h>;p=2\r\n", "X-Rc: 1 1 1 1\r\n"],
    ),
    (
        "known",
        "known",
        "m: <sip:a@h>, <sip:b@h>\r\nk: 100rel\r\n",
        &[
            "m:  <sip:b@h>\r\nk: 100rel\r\n",
            "Supported: timer\r\nRequire: 100rel\r\n",
            "X-Rc: 1 1 1 1\r\n",
        ],
    ),
    (
        "spaces",
        "spaces",
        "X-L: a, b\r\nX-P: x;p=1\r\n",
        &["X-L: a\r\nX-P: x;p=s\r\n", "X-Rc: 1 1\r\n"],
    ),
    // Edits over earlier ones, as Kamailio joins its lumps: a value added
    // inside a removed header comes out where the header ended; deletions
    // that overlap delete both.
    (
        "overlap",
        "overlap",
        "X-L: a, b\r\nX-M: a, b\r\nX-N: b, b\r\n",
        &[
            "X-Op: overlap\r\nn,X-M: z b\r\nX-N: \r\n",
            "X-Rc: 1 1 1 1 1\r\n",
        ],
    ),
    (
        "deep",
        "deep",
        "X-L: 1,2,3,4,5\r\nX-L: 6,7,8,9,10,11,12\r\nX-M: 1, 2\r\n",
        &[
            "X-L: two\r\nX-L: 6,7,8,9,10,11,i,12\r\nX-M: 1, 2\r\n",
            "X-Rc: 1 -1 1 1\r\n",
        ],
    ),
    (
        "moved",
        "unit",
        "X-L: a, b\r\nX-L: c\r\nX-P: \"n\" <sip:a@h;p=0>;p=1;q, b ; P = 2\r\n",
        &[
            "X-L: an1,\r\nX-L: i,c\r\nX-P: \"n\" <sip:a@h;p=0>;p=9;q;new, b \r\n",
            "X-Rc: 1 1 1 1 1 1\r\n",
        ],
    ),
    // textops' remove_hf over values edited before: the header goes, the
    // text added in it stays (Kamailio moves it to where the header ended).
    (
        "joined",
        "joined",
        "X-L: a, b\r\nX-M: a, b\r\nX-N: a, b\r\nX-O: o\r\n",
        &["X-Op: joined\r\nzn,X-O: o\r\n", "X-Rc: 1 1 1 1 1 1\r\n"],
    ),
    // Empty values, an escaped quote, quoted parameter values with `;`.
    (
        "edge",
        "edge",
        "X-E: \r\nX-Q: \"a\\\",b\", c, d\r\nX-F:  \r\nX-G: <sip:g@h;p=1>\r\nX-H: x;a=1;b;a=\"2;3\" ;a\r\n",
        &[
            "X-Op: edge\r\nX-Q: \"a\\\",b\", d\r\nX-F:  ,v\r\nX-G: <sip:g@h;p=1>;p=\"q r\"\r\nX-H: x;b\r\n",
            "X-Rc: 1 1 1 1 1 1\r\n",
        ],
    ),
    (
        "set-buffer",
        "set-buffer",
        "X-Old: o\r\n",
        &[
            "OPTIONS sip:carol@127.0.0.1 SIP/2.0\r\n",
            "X-New: a\r\nContent-Type: text/plain\r\n",
            "X-Ru: sip:carol@127.0.0.1 carol a, b hello\r\n",
            "X-Rc: -1 1 1\r\n\r\nhello",
        ],
    ),
    (
        "iter-name",
        "iter-name",
        "",
        &["X-It: Max-Forwards [70] [<null>]\r\n", "X-Rc: 1 1 1 1\r\n"],
    ),
];

fn request(name: &str, op: &str, extra: &str, local: std::net::SocketAddr) -> String {
    format!(
        "OPTIONS sip:bob@127.0.0.1 SIP/2.0\r\n\
Via: SIP/2.0/UDP {local};branch=z9hG4bK-hfv-{name};rport\r\n\
Max-Forwards: 70\r\n\
From: <sip:alice@127.0.0.1>;tag=to1\r\n\
To: <sip:bob@127.0.0.1>\r\n\
Call-ID: hfv-{name}@test\r\n\
CSeq: 1 OPTIONS\r\n\
X-Op: {op}\r\n\
{extra}Content-Length: 0\r\n\r\n"
    )
}

/// What each case's request comes back as, the proxy's Via line dropped
/// and client ports written `PORT`.
fn exchanged(port: u16) -> Vec<String> {
    let ports = regex::Regex::new(r"(127\.0\.0\.1:|rport=)\d+").expect("regex");
    CASES
        .iter()
        .map(|(name, op, extra, _)| {
            let a = udp_exchange(port, |local| request(name, op, extra, local))
                .unwrap_or_else(|| "timeout".into());
            let mut out = String::new();
            let mut first_via = true;
            for l in a.split_inclusive("\r\n") {
                if l.starts_with("Via: ") && first_via {
                    first_via = false;
                    continue;
                }
                out.push_str(l);
            }
            format!("{name}:\n{}", ports.replace_all(&out, "${1}PORT"))
        })
        .collect()
}

#[test]
fn header_values_are_edited_like_kamailio() {
    let interp = PathBuf::from(env!("CARGO_BIN_EXE_interp-proxy"));
    let mut all = Vec::new();
    for who in ["kamailio", "compiled", "interpreted"] {
        let (g, port) = tests::start_contender(who, &cfg(), &[], "textopsx-hfv", &interp);
        let got = exchanged(port);
        g.stop().expect("stopped");
        all.push((who, got));
    }
    let theirs = &all[0].1;
    for ((name, _, _, wants), got) in CASES.iter().zip(theirs) {
        eprintln!("{got}");
        for w in *wants {
            assert!(got.contains(w), "kamailio's {name} lacks {w:?}:\n{got}");
        }
    }
    for (who, got) in &all[1..] {
        for (a, b) in got.iter().zip(theirs) {
            assert_eq!(a, b, "{who} answers differently");
        }
    }
}

/// What Kamailio refuses when it loads the cfg (the functions' fixups),
/// cfgc refuses at build: the line put before the cfg's last
/// `append_hf`, and the text Kamailio's log holds.
const REFUSED: &[(&str, &str)] = &[
    ("remove_hf_value(\"\");", "cannot parse header near ''"),
    (
        "remove_hf_value(\"[1]\");",
        "cannot parse header near '[1]'",
    ),
    ("remove_hf_value(\"$var(h)\");", "cannot parse header"),
    (
        "remove_hf_value(\"X-L[a]\");",
        "cannot parse header near 'a]'",
    ),
    ("remove_hf_value(\"X-L[1\");", "cannot parse header near ''"),
    ("remove_hf_value(\"X-L.\");", "cannot parse header near ''"),
    (
        "remove_hf_value(\"X-L.p \");",
        "cannot parse header near ' '",
    ),
    (
        "remove_hf_value(\"X-L x\");",
        "cannot parse header near 'x'",
    ),
    (
        "remove_hf_value(\"X-L[-11]\");",
        "index cannot be lower than -10",
    ),
    (
        "append_hf_value(\"X-L[*]\", \"a\");",
        "asterisk not supported",
    ),
    ("insert_hf_value(\"X-L.p\", \"a\");", "param not supported"),
    (
        "assign_hf_value2(\"X-L[*]\", \"a\");",
        "asterisk not supported without param",
    ),
    (
        "include_hf_value(\"X-L[1]\", \"a\");",
        "neither index nor param may be specified",
    ),
    (
        "hf_value_exists(\"X-L.p\", \"a\");",
        "neither index nor param may be specified",
    ),
];

#[test]
fn bad_header_value_names_are_refused_like_kamailio() {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("textopsx-hfv-refused");
    std::fs::create_dir_all(&dir).expect("mkdir");
    let text = std::fs::read_to_string(cfg()).expect("cfg");
    let anchor = "\tappend_hf(\"X-Rc:$var(rc)\\r\\n\");\n\t$du";
    assert!(text.contains(anchor), "the cfg changed: {anchor:?} is gone");
    for (i, (line, kamailio_says)) in REFUSED.iter().enumerate() {
        let bad = dir.join(format!("bad-{i}.cfg"));
        std::fs::write(
            &bad,
            text.replacen(anchor, &format!("\t{line}\n{anchor}"), 1),
        )
        .expect("write");
        let port = cfgc_test_support::free_port();
        let rundir = dir.join(format!("run-{i}"));
        std::fs::create_dir_all(&rundir).expect("rundir");
        let k = cfgc_test_support::Kamailio::new(&bad, format!("udp:127.0.0.1:{port}"), rundir)
            .module_dir(Some(cfgc_test_support::module_dir()));
        let (refused, log) = tests::refuses(k.command(), &dir.join(format!("kamailio-{i}.log")));
        assert!(
            refused && log.contains(kamailio_says),
            "kamailio starts with {line} (or says otherwise):\n{log}"
        );
        let mut config = cfgc::Config::new();
        config.lower(true);
        let ours = config.check_file(&bad).expect("readable");
        assert!(
            ours.diagnostics.iter().any(|d| d.code == "bad-hf-name"),
            "cfgc does not refuse {line}:\n{}",
            tests::rendered_errors(&ours)
        );
    }
}

/// The "reply" request relayed by the proxy (tm) to the client, which
/// answers 200 with header values to edit; the reply the proxy relays
/// back, edited in its onreply route, client ports written `PORT`.
fn reply_exchange(port: u16) -> String {
    use std::net::UdpSocket;
    let sock = UdpSocket::bind("127.0.0.1:0").expect("bind");
    sock.set_read_timeout(Some(std::time::Duration::from_secs(3)))
        .expect("timeout");
    let local = sock.local_addr().expect("addr");
    let req = request("reply", "reply", "", local);
    sock.send_to(req.as_bytes(), ("127.0.0.1", port))
        .expect("send");
    let mut buf = [0u8; 65536];
    let Ok((n, from)) = sock.recv_from(&mut buf) else {
        return "no request relayed".into();
    };
    let relayed = String::from_utf8_lossy(&buf[..n]).into_owned();
    let mut answer = "SIP/2.0 200 OK\r\n".to_string();
    for l in relayed.split("\r\n") {
        if l.starts_with("Via: ")
            || l.starts_with("From: ")
            || l.starts_with("Call-ID: ")
            || l.starts_with("CSeq: ")
        {
            answer.push_str(l);
            answer.push_str("\r\n");
        } else if l.starts_with("To: ") {
            answer.push_str(l);
            answer.push_str(";tag=uas\r\n");
        }
    }
    answer.push_str(
        "X-L: a, b\r\nX-P: <sip:p@h>;p=1\r\nk: path, TIMER\r\nSupported: timer\r\nX-Q: Digest a=1, b=2\r\nContent-Length: 0\r\n\r\n",
    );
    sock.send_to(answer.as_bytes(), from).expect("answer");
    let Ok((n, _)) = sock.recv_from(&mut buf) else {
        return "no reply relayed".into();
    };
    let got = String::from_utf8_lossy(&buf[..n]).into_owned();
    let ports = regex::Regex::new(r"(127\.0\.0\.1:|rport=)\d+").expect("regex");
    ports.replace_all(&got, "${1}PORT").into_owned()
}

#[test]
fn replies_are_edited_like_kamailio() {
    let interp = PathBuf::from(env!("CARGO_BIN_EXE_interp-proxy"));
    let mut all = Vec::new();
    for who in ["kamailio", "compiled", "interpreted"] {
        let (g, port) = tests::start_contender(who, &cfg(), &[], "textopsx-hfv-reply", &interp);
        let got = reply_exchange(port);
        g.stop().expect("stopped");
        all.push((who, got));
    }
    let theirs = &all[0].1;
    eprintln!("{theirs}");
    for w in [
        "X-L: i, b\r\nX-P: <sip:p@h>;p=2\r\nk: path,gruu\r\nX-Q: Digest  b=2,c=3\r\n",
        "Content-Length: 0\r\nX-L: r\r\nX-Rc: 1 1 1 1 1 1 1 1 1\r\n",
    ] {
        assert!(
            theirs.contains(w),
            "kamailio's reply lacks {w:?}:\n{theirs}"
        );
    }
    for (who, got) in &all[1..] {
        assert_eq!(got, theirs, "{who} relays differently");
    }
}
