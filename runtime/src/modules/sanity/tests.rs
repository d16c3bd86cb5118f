use super::*;
use crate::engine::params::ParamValue;
use crate::modules::Modules;
use crate::modules::testutil::{msg, reply_text, run_with};

fn stock() -> Modules {
    let mut p = ModParams::new();
    p.push("sanity", "autodrop", ParamValue::Int(0));
    Modules::new(p).expect("modules")
}

fn req_with(start: &str, extra: &[&str], cseq: &str) -> Vec<u8> {
    let cseq = format!("CSeq: {cseq}");
    let mut l = vec![
        start,
        "Via: SIP/2.0/UDP 127.0.0.1:5080;branch=z9hG4bK-s1",
        "From: <sip:alice@127.0.0.1>;tag=a",
        "To: <sip:bob@127.0.0.1>",
        "Call-ID: s1@x",
        &cseq,
    ];
    l.extend_from_slice(extra);
    l.push("Content-Length: 0");
    msg(&l)
}

fn invite(extra: &[&str], cseq: &str) -> Vec<u8> {
    req_with("INVITE sip:bob@127.0.0.1 SIP/2.0", extra, cseq)
}

fn check(raw: &[u8], m: &Modules, c: i32, u: i32) -> (i32, Vec<crate::transport::Transmit>) {
    run_with(raw, m, std::time::Instant::now(), |ctx| {
        sanity_check_uri(ctx, c, u)
    })
}

#[test]
fn good_request_passes_silently() {
    let (rc, out) = check(&invite(&["Expires: 300"], "1 INVITE"), &stock(), 17895, 7);
    assert_eq!(rc, 1);
    assert!(out.is_empty());
}

#[test]
fn cseq_method_mismatch_exact_reply() {
    let (rc, out) = check(&invite(&[], "1 BYE"), &stock(), 17895, 7);
    assert_eq!(rc, -1);
    let t = reply_text(&out);
    let (head, tail) = t.split_once("bob@127.0.0.1>;tag=").expect("to-tag");
    assert_eq!(
        head,
        "SIP/2.0 400 CSeq method does not match request method\r\n\
         Via: SIP/2.0/UDP 127.0.0.1:5080;branch=z9hG4bK-s1\r\n\
         From: <sip:alice@127.0.0.1>;tag=a\r\n\
         To: <sip:"
    );
    let (tag, rest) = tail.split_once("\r\n").expect("line");
    assert_eq!(tag.len(), 41, "{tag}");
    assert_eq!(
        rest,
        "Call-ID: s1@x\r\nCSeq: 1 BYE\r\nServer: kamailio (5.6.3 (x86_64/linux))\r\nContent-Length: 0\r\n\r\n"
    );
}

#[test]
fn autodrop_default_stops_the_script() {
    let (rc, out) = check(&invite(&[], "1 BYE"), &Modules::default(), 17895, 7);
    assert_eq!(rc, 0);
    assert_eq!(out.len(), 1);
}

#[test]
fn ack_gets_no_reply() {
    let raw = req_with("ACK sip:bob@127.0.0.1 SIP/2.0", &[], "1 INVITE");
    let (rc, out) = check(&raw, &stock(), 17895, 7);
    assert_eq!(rc, -1);
    assert!(out.is_empty());
}

#[test]
fn version() {
    let raw = req_with("INVITE sip:bob@127.0.0.1 SIP/2.1", &[], "1 INVITE");
    if crate::sip::Message::parse(&raw).is_ok() {
        let (rc, out) = check(&raw, &stock(), 17895, 7);
        assert_eq!(rc, -1);
        assert!(reply_text(&out).starts_with("SIP/2.1 505 Version Not Supported (R-URI)\r\n"));
    }
}

#[test]
fn cseq_number_and_expires() {
    let m = stock();
    let (rc, out) = check(&invite(&[], "4294967297 INVITE"), &m, 17895, 7);
    assert_eq!(rc, -1);
    assert!(reply_text(&out).starts_with("SIP/2.0 400 CSeq number is illegal\r\n"));
    // Kamailio's bound is 2^32 inclusive.
    let (rc, _) = check(&invite(&[], "4294967296 INVITE"), &m, 17895, 7);
    assert_eq!(rc, 1);
    let (_, out) = check(&invite(&["Expires: abc"], "1 INVITE"), &m, 17895, 7);
    assert!(reply_text(&out).starts_with("SIP/2.0 400 Expires value is illegal\r\n"));
    let (_, out) = check(&invite(&["Expires: 4294967297"], "1 INVITE"), &m, 17895, 7);
    assert!(reply_text(&out).starts_with("SIP/2.0 400 Expires value is illegal\r\n"));
    let (rc, _) = check(&invite(&["Expires: 4294967296"], "1 INVITE"), &m, 17895, 7);
    assert_eq!(rc, 1);
    // Expires is not checked without bit 256.
    let (rc, _) = check(&invite(&["Expires: abc"], "1 INVITE"), &m, 17895 - 256, 7);
    assert_eq!(rc, 1);
}

#[test]
fn bad_ruri_and_unknown_scheme() {
    let m = stock();
    let raw = req_with("INVITE foo:bar SIP/2.0", &[], "1 INVITE");
    let (rc, out) = check(&raw, &m, 17895, 7);
    assert_eq!(rc, -1);
    assert!(reply_text(&out).starts_with("SIP/2.0 400 Bad Request URI\r\n"));
    let raw = req_with("INVITE urn:service:sos SIP/2.0", &[], "1 INVITE");
    let (rc, _) = check(&raw, &m, 17895, 7);
    assert_eq!(rc, 1);
}

#[test]
fn duplicate_required_header_fails_silently() {
    let (rc, out) = check(&invite(&["Call-ID: again"], "1 INVITE"), &stock(), 17895, 7);
    assert_eq!(rc, -1);
    assert!(out.is_empty());
}

#[test]
fn proxy_require_unsupported() {
    let (rc, out) = check(
        &invite(&["Proxy-Require: foo"], "1 INVITE"),
        &stock(),
        512,
        7,
    );
    assert_eq!(rc, -1);
    let t = reply_text(&out);
    assert!(
        t.starts_with("SIP/2.0 420 Bad Proxy Require Extension\r\n"),
        "{t}"
    );
    assert!(t.contains("\r\nUnsupported: foo\r\nServer: "), "{t}");
    // Not in the stock mask.
    let (rc, _) = check(
        &invite(&["Proxy-Require: foo"], "1 INVITE"),
        &stock(),
        17895,
        7,
    );
    assert_eq!(rc, 1);
}

#[test]
fn duptags_and_digest() {
    let m = stock();
    let raw = msg(&[
        "INVITE sip:bob@127.0.0.1 SIP/2.0",
        "Via: SIP/2.0/UDP 127.0.0.1:5080;branch=z9hG4bK-s1",
        "From: <sip:alice@127.0.0.1>;tag=a;tag=b",
        "To: <sip:bob@127.0.0.1>",
        "Call-ID: s1@x",
        "CSeq: 1 INVITE",
        "Content-Length: 0",
    ]);
    if crate::sip::Message::parse(&raw).is_ok() {
        let (rc, out) = check(&raw, &m, 4096, 7);
        assert_eq!(rc, -1);
        assert!(reply_text(&out).starts_with("SIP/2.0 400 Many From Tag Params\r\n"));
    }
    let auth = "Authorization: Digest username=\"\", realm=\"x\", nonce=\"n\", uri=\"sip:x\", response=\"r\"";
    let (rc, out) = check(&invite(&[auth], "1 INVITE"), &m, 2048, 7);
    assert_eq!(rc, -1);
    assert!(reply_text(&out).starts_with("SIP/2.0 400 Auth Empty User\r\n"));
}

#[test]
fn masks_out_of_range() {
    let m = stock();
    let raw = invite(&[], "1 BYE");
    assert_eq!(check(&raw, &m, 0, 7).0, -1);
    assert_eq!(check(&raw, &m, 32768, 7).0, -1);
    assert_eq!(check(&raw, &m, 1, 16).0, -1);
}

#[test]
fn replies_are_checked_but_never_answered() {
    let raw = msg(&[
        "SIP/2.0 200 OK",
        "Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-s1",
        "From: <sip:alice@127.0.0.1>;tag=a",
        "To: <sip:bob@127.0.0.1>;tag=b",
        "Call-ID: s1@x",
        "CSeq: 1 INVITE",
        "Expires: abc",
        "Content-Length: 0",
    ]);
    let m = stock();
    assert_eq!(check(&raw, &m, 17604, 6).0, 1);
    let (rc, out) = check(&raw, &m, 256, 6);
    assert_eq!(rc, -1);
    assert!(out.is_empty());
}

#[test]
fn default_checks_param() {
    let mut p = ModParams::new();
    p.push("sanity", "default_checks", ParamValue::Int(32));
    p.push("sanity", "autodrop", ParamValue::Int(0));
    let m = Modules::new(p).expect("modules");
    let (rc, _) = run_with(
        &invite(&[], "1 BYE"),
        &m,
        std::time::Instant::now(),
        |ctx| (sanity_check(ctx), sanity_check_msg(ctx, 64)),
    );
    assert_eq!(rc, (-1, 1));
}

/// Kamailio's Content-Length check counts every byte received after the
/// headers, not the body cut at the declared length.
#[test]
fn content_length_counts_every_received_byte() {
    let m = stock();
    let mut raw = invite(&[], "1 INVITE");
    let (rc, out) = check(&raw, &m, 17895, 7);
    assert_eq!((rc, out.len()), (1, 0));
    raw.extend_from_slice(b"extra");
    let (rc, out) = check(&raw, &m, 17895, 7);
    assert_eq!(rc, -1);
    assert!(reply_text(&out).starts_with("SIP/2.0 400 Content-Length mis-match\r\n"));
}
