use std::time::{Duration, Instant};

use super::*;
use crate::engine::ModuleSet;
use crate::engine::params::ParamValue;
use crate::modules::Modules;
use crate::modules::testutil::{msg, reply_text, run_with};

/// The stock cfg's registrar/usrloc parameters.
fn stock() -> Modules {
    let mut p = ModParams::new();
    p.push("registrar", "method_filtering", ParamValue::Int(1));
    p.push("registrar", "max_expires", ParamValue::Int(3600));
    p.push("registrar", "gruu_enabled", ParamValue::Int(0));
    p.push("registrar", "use_path", ParamValue::Int(1));
    p.push("registrar", "path_mode", ParamValue::Int(0));
    p.push("usrloc", "timer_interval", ParamValue::Int(60));
    p.push("usrloc", "use_domain", ParamValue::Int(0));
    Modules::new(p).expect("modules")
}

fn register(cseq: u32, extra: &[&str]) -> Vec<u8> {
    let cseq = format!("CSeq: {cseq} REGISTER");
    let mut l = vec![
        "REGISTER sip:127.0.0.1:5070 SIP/2.0",
        "Via: SIP/2.0/UDP 127.0.0.1:5080;branch=z9hG4bK-r1",
        "From: <sip:bob@127.0.0.1>;tag=r1",
        "To: <sip:bob@127.0.0.1>",
        "Call-ID: reg1@x",
        &cseq,
    ];
    l.extend_from_slice(extra);
    l.push("Content-Length: 0");
    msg(&l)
}

fn save_at(m: &Modules, now: Instant, raw: &[u8]) -> (i32, String) {
    let (rc, out) = run_with(raw, m, now, |ctx| save(ctx, b"location"));
    (rc, reply_text(&out))
}

/// The reply without its sl To-tag.
fn untagged(reply: &str) -> String {
    let (head, tail) = reply
        .split_once("To: <sip:bob@127.0.0.1>;tag=")
        .expect("to-tag");
    let (_, rest) = tail.split_once("\r\n").expect("eol");
    format!("{head}To: <sip:bob@127.0.0.1>\r\n{rest}")
}

#[test]
fn first_registration_exact_reply_and_max_expires() {
    let m = stock();
    let t0 = Instant::now();
    let (rc, reply) = save_at(
        &m,
        t0,
        &register(1, &["Contact: <sip:bob@127.0.0.1:5090>", "Expires: 7200"]),
    );
    assert_eq!(rc, 1);
    assert_eq!(
        untagged(&reply),
        "SIP/2.0 200 OK\r\n\
         Via: SIP/2.0/UDP 127.0.0.1:5080;branch=z9hG4bK-r1\r\n\
         From: <sip:bob@127.0.0.1>;tag=r1\r\n\
         To: <sip:bob@127.0.0.1>\r\n\
         Call-ID: reg1@x\r\n\
         CSeq: 1 REGISTER\r\n\
         Contact: <sip:bob@127.0.0.1:5090>;expires=3600\r\n\
         Server: kamailio (5.6.3 (x86_64/linux))\r\n\
         Content-Length: 0\r\n\r\n"
    );
}

#[test]
fn all_bindings_listed_by_q_with_remaining_expires() {
    let m = stock();
    let t0 = Instant::now();
    save_at(
        &m,
        t0,
        &register(1, &["Contact: <sip:bob@127.0.0.1:5090>;expires=600"]),
    );
    let (rc, reply) = save_at(
        &m,
        t0 + Duration::from_secs(1),
        &register(2, &["Contact: <sip:bob@127.0.0.1:5091>;q=0.5"]),
    );
    assert_eq!(rc, 1);
    // kamailio-modules.md §10, observed on 5.6.3.
    assert!(
        reply.contains(
            "\r\nContact: <sip:bob@127.0.0.1:5091>;q=0.5;expires=3600, <sip:bob@127.0.0.1:5090>;expires=599\r\nServer: "
        ),
        "{reply}"
    );
}

#[test]
fn refresh_unregister_and_star() {
    let m = stock();
    let t0 = Instant::now();
    let c = "Contact: <sip:bob@127.0.0.1:5090>";
    save_at(&m, t0, &register(1, &[c]));
    let (rc, reply) = save_at(&m, t0, &register(2, &[c, "Expires: 300"]));
    assert_eq!(rc, 2);
    assert!(reply.contains(";expires=300\r\n"));
    // Same Call-ID, older CSeq: 400 with the bindings, unchanged, and
    // the error (observed on 5.6.3); the same CSeq again at once (a
    // retransmission): 200, unchanged.
    let (rc, reply) = save_at(&m, t0, &register(1, &[c, "Expires: 900"]));
    assert_eq!(rc, -1);
    assert!(
        reply.starts_with("SIP/2.0 400 Bad Request\r\n")
            && reply.contains(
                "\r\nContact: <sip:bob@127.0.0.1:5090>;expires=300\r\nP-Registrar-Error: Invalid CSeq number\r\n"
            ),
        "{reply}"
    );
    let (rc, reply) = save_at(&m, t0, &register(2, &[c, "Expires: 900"]));
    assert_eq!(rc, 2);
    assert!(reply.contains(";expires=300\r\n"), "{reply}");
    // No Contact: the bindings are only fetched.
    let (rc, reply) = save_at(&m, t0 + Duration::from_secs(100), &register(3, &[]));
    assert_eq!(rc, 4);
    assert!(reply.contains("Contact: <sip:bob@127.0.0.1:5090>;expires=200\r\n"));
    let (rc, reply) = save_at(&m, t0, &register(4, &[c, "Expires: 0"]));
    assert_eq!(rc, 3);
    assert!(!reply.contains("Contact:"), "{reply}");
    save_at(&m, t0, &register(5, &[c]));
    let (rc, reply) = save_at(&m, t0, &register(6, &["Contact: *"]));
    assert_eq!(rc, -1);
    assert!(
        reply.starts_with("SIP/2.0 400 Bad Request\r\n")
            && reply.contains(
                "\r\nP-Registrar-Error: * used in contact and expires is not zero\r\nServer: "
            ),
        "{reply}"
    );
    let (rc, reply) = save_at(&m, t0, &register(7, &["Contact: *", "Expires: 0"]));
    assert_eq!(rc, 3);
    assert!(!reply.contains("Contact:"));
    let (rc, _) = run_with(&register(8, &[]), &m, t0, |ctx| {
        registered(ctx, b"location")
    });
    assert_eq!(rc, -1);
}

#[test]
fn bad_q_and_min_expires() {
    let m = stock();
    let t0 = Instant::now();
    let (rc, reply) = save_at(&m, t0, &register(1, &["Contact: <sip:bob@h>;q=1.5"]));
    assert_eq!(rc, -1);
    assert!(reply.contains("P-Registrar-Error: Invalid q param in contact\r\n"));
    let (rc, reply) = save_at(&m, t0, &register(1, &["Contact: <sip:bob@h>;expires=10"]));
    assert_eq!(rc, 1);
    assert!(reply.contains("<sip:bob@h>;expires=60\r\n"), "{reply}");
}

fn invite(method: &str, to_tag: bool) -> Vec<u8> {
    let start = format!("{method} sip:bob@127.0.0.1 SIP/2.0");
    let cseq = format!("CSeq: 1 {method}");
    let to = if to_tag {
        "To: <sip:bob@127.0.0.1>;tag=x"
    } else {
        "To: <sip:bob@127.0.0.1>"
    };
    msg(&[
        &start,
        "Via: SIP/2.0/UDP 127.0.0.1:5080;branch=z9hG4bK-i1",
        "From: <sip:alice@127.0.0.1>;tag=a",
        to,
        "Call-ID: i1@x",
        &cseq,
        "Content-Length: 0",
    ])
}

#[test]
fn lookup_sets_ruri_branches_and_expires_on_the_virtual_clock() {
    let m = stock();
    let t0 = Instant::now();
    save_at(
        &m,
        t0,
        &register(1, &["Contact: <sip:bob@127.0.0.1:5090>;expires=600"]),
    );
    save_at(
        &m,
        t0,
        &register(
            2,
            &[
                "Contact: <sip:bob@127.0.0.1:5091>;q=0.5",
                "Path: <sip:10.0.0.1;lr>, <sip:10.0.0.2;lr>",
            ],
        ),
    );
    let (r, _) = run_with(
        &invite("INVITE", false),
        &m,
        t0 + Duration::from_secs(10),
        |ctx| {
            (
                lookup(ctx, b"location"),
                ctx.new_uri.clone(),
                ctx.dst_uri.clone(),
                ctx.path.clone(),
                ctx.branches.clone(),
            )
        },
    );
    assert_eq!(r.0, 1);
    assert_eq!(r.1.as_deref(), Some(&b"sip:bob@127.0.0.1:5091"[..]));
    assert_eq!(r.2.as_deref(), Some(&b"sip:10.0.0.1;lr"[..]));
    assert_eq!(
        r.3.as_deref(),
        Some(&b"<sip:10.0.0.1;lr>, <sip:10.0.0.2;lr>"[..])
    );
    assert_eq!(r.4.len(), 1);
    assert_eq!(r.4[0].uri, b"sip:bob@127.0.0.1:5090");
    assert_eq!(r.4[0].dst_uri, None);
    assert_eq!(r.4[0].q, -1);
    assert_eq!(r.4[0].socket.as_deref(), Some(&b"udp:127.0.0.1:5070"[..]));
    // After 600 s the first contact is gone for lookup, before any timer.
    let later = t0 + Duration::from_secs(600);
    let (r, _) = run_with(&invite("INVITE", false), &m, later, |ctx| {
        (lookup(ctx, b"location"), ctx.branches.len())
    });
    assert_eq!(r, (1, 0));
    assert_eq!(m.usrloc.store.get("location", b"bob").len(), 2);
    ModuleSet::on_timer(&m, later, &mut Vec::new());
    assert_eq!(m.usrloc.store.get("location", b"bob").len(), 1);
    let (rc, _) = run_with(
        &invite("INVITE", false),
        &m,
        t0 + Duration::from_secs(3600),
        |ctx| lookup(ctx, b"location"),
    );
    assert_eq!(rc, -1);
}

#[test]
fn method_filtering_and_bad_aor() {
    let m = stock();
    let t0 = Instant::now();
    save_at(
        &m,
        t0,
        &register(
            1,
            &[
                "Contact: <sip:bob@127.0.0.1:5090>",
                "Allow: INVITE, ACK, BYE",
            ],
        ),
    );
    let lk = |raw: Vec<u8>| run_with(&raw, &m, t0, |ctx| lookup(ctx, b"location")).0;
    assert_eq!(lk(invite("INVITE", false)), 1);
    assert_eq!(lk(invite("MESSAGE", false)), -2);
    // In-dialog requests are not filtered.
    assert_eq!(lk(invite("MESSAGE", true)), 1);
    let (rc, _) = run_with(&invite("INVITE", false), &m, t0, |ctx| {
        ctx.new_uri = Some(b"sip:127.0.0.1".to_vec());
        lookup(ctx, b"location")
    });
    assert_eq!(rc, -3);
    let (rc, _) = run_with(&invite("INVITE", false), &m, t0, |ctx| {
        ctx.new_uri = Some(b"sip:carol@127.0.0.1".to_vec());
        lookup(ctx, b"location")
    });
    assert_eq!(rc, -1);
    let (rc, _) = run_with(&invite("INVITE", false), &m, t0, |ctx| {
        (
            registered(ctx, b"location"),
            unregister(ctx, b"location", b"sip:bob@x"),
            registered(ctx, b"location"),
        )
    });
    assert_eq!(rc, (1, 1, -1));
}

#[test]
fn path_mode_2_requires_supported_path() {
    let mut p = ModParams::new();
    p.push("registrar", "use_path", ParamValue::Int(1));
    let m = Modules::new(p).expect("modules");
    let (rc, reply) = save_at(
        &m,
        Instant::now(),
        &register(1, &["Contact: <sip:bob@h>", "Path: <sip:10.0.0.1;lr>"]),
    );
    assert_eq!(rc, -1);
    assert!(
        reply.starts_with("SIP/2.0 420 Bad Extension\r\n"),
        "{reply}"
    );
    assert!(reply.contains(
        "\r\nP-Registrar-Error: No support for found Path indicated\r\nUnsupported: path\r\n"
    ));
    let (rc, reply) = save_at(
        &m,
        Instant::now(),
        &register(
            1,
            &[
                "Contact: <sip:bob@h>",
                "Path: <sip:10.0.0.1;lr>",
                "Supported: path",
            ],
        ),
    );
    assert_eq!(rc, 1);
    assert!(reply.contains("\r\nPath: <sip:10.0.0.1;lr>\r\n"), "{reply}");
}

#[test]
fn max_contacts() {
    let mut p = ModParams::new();
    p.push("registrar", "max_contacts", ParamValue::Int(1));
    let m = Modules::new(p).expect("modules");
    let t0 = Instant::now();
    save_at(&m, t0, &register(1, &["Contact: <sip:bob@a>"]));
    let (rc, reply) = save_at(&m, t0, &register(2, &["Contact: <sip:bob@b>"]));
    assert_eq!(rc, -2);
    assert!(reply.starts_with("SIP/2.0 503 Service Unavailable\r\n"));
    assert!(reply.contains("P-Registrar-Error: Too many registered contacts\r\n"));
    assert_eq!(m.usrloc.store.get("location", b"bob").len(), 1);
}

#[test]
fn q_values() {
    assert_eq!(parse_q(b"0.5"), Some(500));
    assert_eq!(parse_q(b"1"), Some(1000));
    assert_eq!(parse_q(b"1.0"), Some(1000));
    assert_eq!(parse_q(b"0.125"), Some(125));
    assert_eq!(parse_q(b"0.1255"), None);
    assert_eq!(parse_q(b"2"), None);
    assert_eq!(q_text(500), "0.5");
    assert_eq!(q_text(250), "0.25");
    assert_eq!(q_text(1000), "1");
    assert_eq!(q_text(0), "0");
    assert_eq!(q_text(7), "0.007");
}

#[test]
fn expires_read_as_kamailio_reads_them() {
    // Observed on 5.6.3 (tests/malformed 037, 039): an Expires of 2^32
    // wraps to 0, a de-registration answered 200 without Contact; an
    // `expires=abc` parameter is the default expiry, not an error.
    let m = stock();
    let t0 = Instant::now();
    let (rc, reply) = save_at(
        &m,
        t0,
        &register(
            1,
            &["Contact: <sip:bob@127.0.0.1:5090>", "Expires: 4294967296"],
        ),
    );
    assert!(rc > 0, "{reply}");
    assert!(reply.starts_with("SIP/2.0 200 OK\r\n"), "{reply}");
    assert!(!reply.contains("Contact:"), "{reply}");
    let (rc, reply) = save_at(
        &m,
        t0,
        &register(2, &["Contact: <sip:bob@127.0.0.1:5090>;expires=abc"]),
    );
    assert_eq!(rc, 1, "{reply}");
    // default_expires 3600 (max_expires 3600 too).
    assert!(
        reply.contains("\r\nContact: <sip:bob@127.0.0.1:5090>;expires=3600\r\n"),
        "{reply}"
    );
    assert_eq!(expires_hf(b" 60 "), Some(Some(60)));
    assert_eq!(expires_hf(b"60 garbage"), Some(Some(60)));
    assert_eq!(expires_hf(b"6x"), Some(None));
    assert_eq!(expires_hf(b"12345678901"), Some(None));
    assert_eq!(expires_hf(b"4294967297"), Some(Some(1)));
    assert_eq!(expires_hf(b"3000000000"), Some(Some(-1_294_967_296)));
    assert_eq!(expires_hf(b"  "), None);
    assert_eq!(str2int(b"4294967295"), Some(u32::MAX));
    assert_eq!(str2int(b"4294967296"), None);
    assert_eq!(str2int(b"1a"), None);
}

#[test]
fn error_headers_stay_on_later_replies() {
    // Observed on 5.6.3 (tests/malformed 040): `Contact: *` with Expires
    // 60 is refused with 400 and P-Registrar-Error; the stock cfg's
    // sl_reply_error() then sends a 500 that carries the header too.
    let m = stock();
    let raw = register(1, &["Contact: *", "Expires: 60"]);
    let (rc, out) = run_with(&raw, &m, Instant::now(), |ctx| {
        let rc = save(ctx, b"location");
        sl::send_local_reply(ctx, 500, b"Later", b"");
        rc
    });
    assert_eq!(rc, -1);
    let all: String = out
        .iter()
        .map(|t| String::from_utf8_lossy(&t.data).into_owned())
        .collect();
    let header = "P-Registrar-Error: * used in contact and expires is not zero\r\nServer: ";
    assert_eq!(all.matches(header).count(), 2, "{all}");
    assert!(all.contains("SIP/2.0 400 Bad Request\r\n"), "{all}");
    assert!(all.contains("SIP/2.0 500 Later\r\n"), "{all}");
}

/// GRUU (gruu_enabled is 1 unless set): the 200 to a REGISTER with
/// `Supported: gruu` gives each contact with an instance its pub-gruu and
/// temp-gruu (observed on 5.6.3: `temp-gruu="sip:<ruid>-dd7f25d6@host;gr"`
/// for the AoR `alice`), a contact with the same instance and a new
/// address replaces the old one, and lookup finds a contact by either
/// GRUU, that contact only.
#[test]
fn gruu_and_instances() {
    let mut p = ModParams::new();
    p.push("usrloc", "use_domain", ParamValue::Int(0));
    let m = Modules::new(p).expect("modules");
    let t0 = Instant::now();
    let inst = "+sip.instance=\"<urn:uuid:00000000-0000-1000-8000-000A95A0E128>\"";
    let reg = |cseq: u32, call_id: &str, contact: &str, supported: bool| {
        let cseq = format!("CSeq: {cseq} REGISTER");
        let call_id = format!("Call-ID: {call_id}");
        let mut l = vec![
            "REGISTER sip:127.0.0.1:5070 SIP/2.0",
            "Via: SIP/2.0/UDP 127.0.0.1:5080;branch=z9hG4bK-g1",
            "From: <sip:alice@127.0.0.1:5070>;tag=g1",
            "To: <sip:alice@127.0.0.1:5070>",
            &call_id,
            &cseq,
            contact,
        ];
        if supported {
            l.push("Supported: gruu, outbound");
        }
        l.push("Content-Length: 0");
        msg(&l)
    };
    let c1 = format!("Contact: <sip:alice@127.0.0.1:5091>;{inst};expires=60");
    let (rc, reply) = save_at(&m, t0, &reg(1, "g-1", &c1, true));
    assert_eq!(rc, 1);
    let ruid = String::from_utf8(m.usrloc.store.get("location", b"alice")[0].ruid.clone()).unwrap();
    let want = format!(
        "\r\nContact: <sip:alice@127.0.0.1:5091>;expires=60;pub-gruu=\"sip:alice@127.0.0.1;gr=urn:uuid:00000000-0000-1000-8000-000A95A0E128\";temp-gruu=\"sip:{ruid}-dd7f25d6@127.0.0.1;gr\";+sip.instance=\"<urn:uuid:00000000-0000-1000-8000-000A95A0E128>\"\r\n"
    );
    assert!(reply.contains(&want), "{reply}");
    // Without `Supported: gruu`, no GRUU; the same instance at a new
    // address is the same binding.
    let c2 = format!("Contact: <sip:alice@127.0.0.1:5092>;{inst};expires=60");
    let (rc, reply) = save_at(&m, t0, &reg(2, "g-1", &c2, false));
    assert_eq!(rc, 2);
    assert!(
        reply.contains("\r\nContact: <sip:alice@127.0.0.1:5092>;expires=60;+sip.instance=\"<urn:uuid:00000000-0000-1000-8000-000A95A0E128>\"\r\n"),
        "{reply}"
    );
    // Another device.
    save_at(
        &m,
        t0,
        &reg(
            1,
            "g-2",
            "Contact: <sip:alice@127.0.0.1:5093>;expires=60",
            false,
        ),
    );
    assert_eq!(m.usrloc.store.get("location", b"alice").len(), 2);
    let lookup_of = |ruri: &str| {
        let raw = msg(&[
            &format!("INVITE {ruri} SIP/2.0"),
            "Via: SIP/2.0/UDP 127.0.0.1:5080;branch=z9hG4bK-i1",
            "From: <sip:bob@127.0.0.1>;tag=i1",
            "To: <sip:alice@127.0.0.1>",
            "Call-ID: gi@x",
            "CSeq: 1 INVITE",
            "Content-Length: 0",
        ]);
        run_with(&raw, &m, t0, |ctx| {
            (
                lookup(ctx, b"location"),
                ctx.new_uri.clone().map(|u| String::from_utf8(u).unwrap()),
                ctx.branches.len(),
            )
        })
        .0
    };
    assert_eq!(
        lookup_of("sip:alice@127.0.0.1"),
        (1, Some("sip:alice@127.0.0.1:5092".into()), 1)
    );
    assert_eq!(
        lookup_of("sip:alice@127.0.0.1;gr=urn:uuid:00000000-0000-1000-8000-000A95A0E128"),
        (1, Some("sip:alice@127.0.0.1:5092".into()), 0)
    );
    assert_eq!(
        lookup_of(&format!("sip:{ruid}-dd7f25d6@127.0.0.1;gr")),
        (1, Some("sip:alice@127.0.0.1:5092".into()), 0)
    );
    assert_eq!(
        lookup_of(&format!("sip:{ruid}-dd7f25d7@127.0.0.1;gr")).0,
        -1
    );
    assert_eq!(lookup_of("sip:nodash@127.0.0.1;gr").0, -3);
    assert_eq!(lookup_of("sip:alice@127.0.0.1;gr=urn:uuid:other").0, -1);
}
