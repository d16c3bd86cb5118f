//! registrar and usrloc against `kamailio -f` on a cfg of our own
//! (`tests/registrar/gruu.cfg`), compiled and interpreted: GRUU (on by
//! default: pub-gruu and temp-gruu in the 200 to a REGISTER that supports
//! `gruu`), a contact with a known `+sip.instance` at a new address
//! replacing the old binding, an older CSeq refused with the bindings, and
//! `lookup` by AoR, by pub-gruu and by temp-gruu (each side's own, from
//! its reply). Replies compared line by line, the ruid's start-up time and
//! pid hidden (the counter after them compared).

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use cfgc_test_support::{GroupGuard, Kamailio, free_port, module_dir, udp_exchange};

fn cfg() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("registrar/gruu.cfg")
}

const INSTANCE: &str = "<urn:uuid:00000000-0000-1000-8000-000A95A0E128>";

fn exchange(port: u16, request: &str) -> String {
    udp_exchange(port, |local| request.replace("LOCAL", &local.to_string()))
        .unwrap_or_else(|| "timeout".into())
}

fn register(port: u16, n: u32, call_id: &str, cseq: u32, contact: &str, gruu: bool) -> String {
    let supported = if gruu {
        "Supported: gruu, outbound\r\n"
    } else {
        ""
    };
    exchange(
        port,
        &format!(
            "REGISTER sip:127.0.0.1:{port} SIP/2.0\r\n\
Via: SIP/2.0/UDP LOCAL;branch=z9hG4bK-reg{n};rport\r\n\
Max-Forwards: 70\r\n\
From: <sip:alice@127.0.0.1:{port}>;tag=r{n}\r\n\
To: <sip:alice@127.0.0.1:{port}>\r\n\
Call-ID: {call_id}\r\n\
CSeq: {cseq} REGISTER\r\n\
{supported}Contact: {contact}\r\n\
Content-Length: 0\r\n\r\n"
        ),
    )
}

fn options(port: u16, n: u32, ruri: &str) -> String {
    exchange(
        port,
        &format!(
            "OPTIONS {ruri} SIP/2.0\r\n\
Via: SIP/2.0/UDP LOCAL;branch=z9hG4bK-opt{n};rport\r\n\
Max-Forwards: 70\r\n\
From: <sip:bob@127.0.0.1>;tag=o{n}\r\n\
To: <sip:alice@127.0.0.1>\r\n\
Call-ID: gruu-options-{n}\r\n\
CSeq: 1 OPTIONS\r\n\
Content-Length: 0\r\n\r\n"
        ),
    )
}

/// The temp-gruu URI of a 200's Contact.
fn temp_gruu(reply: &str) -> String {
    reply
        .split("temp-gruu=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .unwrap_or_else(|| panic!("no temp-gruu in {reply}"))
        .to_string()
}

/// The status line and the headers a registrar writes, ruids normalised.
fn shape(reply: &str) -> Vec<String> {
    let ruid = regex::Regex::new(r"uloc-[0-9a-f]+-[0-9a-f]+-").expect("regex");
    reply
        .lines()
        .filter(|l| {
            l.starts_with("SIP/2.0")
                || l.starts_with("Contact:")
                || l.starts_with("P-Registrar-Error:")
        })
        .map(|l| ruid.replace_all(l, "uloc-T-P-").into_owned())
        .collect()
}

fn session(port: u16) -> Vec<String> {
    let mut out = Vec::new();
    let mut push = |what: &str, reply: &str| {
        for l in shape(reply) {
            out.push(format!("{what}: {l}"));
        }
    };
    let c1 = format!("<sip:alice@127.0.0.1:5091>;+sip.instance=\"{INSTANCE}\";expires=60");
    let first = register(port, 1, "gruu-a", 1, &c1, true);
    push("register", &first);
    let c2 = format!("<sip:alice@127.0.0.1:5092>;+sip.instance=\"{INSTANCE}\";expires=60");
    push("new address", &register(port, 2, "gruu-a", 2, &c2, true));
    push(
        "other device",
        &register(
            port,
            3,
            "gruu-b",
            1,
            "<sip:alice@127.0.0.1:5093>;expires=60",
            false,
        ),
    );
    push(
        "older cseq",
        &register(
            port,
            4,
            "gruu-b",
            0,
            "<sip:alice@127.0.0.1:5093>;expires=30",
            false,
        ),
    );
    push(
        "aor",
        &options(port, 1, &format!("sip:alice@127.0.0.1:{port}")),
    );
    push(
        "pub-gruu",
        &options(
            port,
            2,
            &format!(
                "sip:alice@127.0.0.1;gr={}",
                &INSTANCE[1..INSTANCE.len() - 1]
            ),
        ),
    );
    push("temp-gruu", &options(port, 3, &temp_gruu(&first)));
    push(
        "bad temp-gruu",
        &options(
            port,
            4,
            &temp_gruu(&first).replacen("-", "-f", 1).replace("@", "0@"),
        ),
    );
    push("not gruu", &options(port, 5, "sip:nodash@127.0.0.1;gr"));
    out
}

fn ours(bin: &Path, interpreted: bool) -> (GroupGuard, u16) {
    let cfg = cfg();
    tests::start_ours(
        bin,
        interpreted.then_some(cfg.as_path()),
        &[],
        Duration::from_secs(10),
    )
}

#[test]
fn registrar_gruu_instances_and_cseq_like_kamailio() {
    let kport = free_port();
    let rundir = std::env::temp_dir().join(format!("cfgc-registrar-{kport}"));
    let mut kam = Kamailio::new(cfg(), format!("udp:127.0.0.1:{kport}"), rundir)
        .module_dir(Some(module_dir()))
        .start(Stdio::null(), Stdio::null())
        .expect("kamailio runs (apt-get install kamailio)");
    kam.wait_bound(kport, "kamailio", Duration::from_secs(10))
        .expect("kamailio listens");
    let theirs = session(kport);
    kam.stop().expect("kamailio stopped");
    // The session exercises what it says it does, on Kamailio's side.
    let text = theirs.join("\n");
    for want in [
        "register: Contact: <sip:alice@127.0.0.1:5091>;expires=60;pub-gruu=",
        "new address: Contact: <sip:alice@127.0.0.1:5092>;expires=60;pub-gruu=",
        "older cseq: SIP/2.0 400 Bad Request",
        "older cseq: P-Registrar-Error: Invalid CSeq number",
        "pub-gruu: SIP/2.0 200 rc=1 ru=sip:alice@127.0.0.1:5092",
        "temp-gruu: SIP/2.0 200 rc=1 ru=sip:alice@127.0.0.1:5092",
        "bad temp-gruu: SIP/2.0 200 rc=-1",
        "not gruu: SIP/2.0 200 rc=-3",
    ] {
        assert!(
            text.contains(want),
            "kamailio's session lacks `{want}`:\n{text}"
        );
    }

    let norm = |lines: Vec<String>, port: u16| -> Vec<String> {
        lines
            .into_iter()
            .map(|l| l.replace(&port.to_string(), "PORT"))
            .collect()
    };
    let theirs = norm(theirs, kport);

    let bin = tests::build_proxy(&cfg(), &[], "registrar-gruu-proxy");
    let (compiled, port) = ours(&bin, false);
    let got = norm(session(port), port);
    compiled.stop().expect("proxy stopped");
    assert_eq!(got, theirs, "the compiled proxy answers differently");

    let (interp, port) = ours(Path::new(env!("CARGO_BIN_EXE_interp-proxy")), true);
    let got = norm(session(port), port);
    interp.stop().expect("interpreter stopped");
    assert_eq!(got, theirs, "the interpreted proxy answers differently");
}
