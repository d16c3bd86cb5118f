//! Editing (Kamailio lumps): headers, R-URI parts (RFC 3261 §16.5–16.6),
//! Via insertion with branch (§16.6 step 8, §16.11), Max-Forwards (§16.6
//! step 3), body and Content-Length (§20.14).

use super::{INVITE, crlf};
use crate::sip::edit::stateless_branch;
use crate::sip::{EditError, Editor, HeaderName, Message};

fn replaced(orig: &[u8], from: &str, to: &str) -> Vec<u8> {
    String::from_utf8_lossy(orig)
        .replacen(from, to, 1)
        .into_bytes()
}

#[test]
fn untouched_bytes_are_copied_verbatim() {
    let m = Message::parse(INVITE).unwrap();
    let mut ed = Editor::new(&m);
    assert_eq!(ed.serialize(), INVITE);
    ed.set_max_forwards(69).unwrap();
    assert_eq!(
        ed.serialize(),
        replaced(INVITE, "Max-Forwards: 70", "Max-Forwards: 69")
    );
    // Same range again supersedes.
    ed.set_max_forwards(5).unwrap();
    assert_eq!(
        ed.serialize(),
        replaced(INVITE, "Max-Forwards: 70", "Max-Forwards: 5")
    );
}

#[test]
fn decrement_max_forwards_like_kamailio() {
    // In place, right-aligned in the original width (kamailio-modules.md §5).
    let m = Message::parse(INVITE).unwrap();
    let mut ed = Editor::new(&m);
    assert_eq!(ed.decrement_max_forwards(10, 70).unwrap(), Some(69));
    assert_eq!(
        ed.serialize(),
        replaced(INVITE, "Max-Forwards: 70", "Max-Forwards: 69")
    );
    for (input, output, value) in [
        ("10", " 9", 9),
        ("1", "0", 0),
        ("255", " 70", 70),
        ("0071", "  70", 70),
        ("71", "70", 70),
    ] {
        let b = crlf(&format!(
            "OPTIONS sip:h SIP/2.0\nMax-Forwards: {input}\nCall-ID: x\n\n"
        ));
        let m = Message::parse(&b).unwrap();
        let mut ed = Editor::new(&m);
        assert_eq!(
            ed.decrement_max_forwards(10, 70).unwrap(),
            Some(value),
            "{input}"
        );
        let want = crlf(&format!(
            "OPTIONS sip:h SIP/2.0\nMax-Forwards: {output}\nCall-ID: x\n\n"
        ));
        assert_eq!(
            String::from_utf8_lossy(&ed.serialize()),
            String::from_utf8_lossy(&want)
        );
        assert_eq!(
            Message::parse(&ed.serialize())
                .unwrap()
                .max_forwards()
                .unwrap(),
            Some(value)
        );
    }
    let zero = crlf("OPTIONS sip:h SIP/2.0\nMax-Forwards: 0\n\n");
    let m = Message::parse(&zero).unwrap();
    let mut ed = Editor::new(&m);
    assert_eq!(ed.decrement_max_forwards(10, 70).unwrap(), None);
    assert!(ed.edits().is_empty());
    let bad = crlf("OPTIONS sip:h SIP/2.0\nMax-Forwards: x\n\n");
    let m = Message::parse(&bad).unwrap();
    assert!(Editor::new(&m).decrement_max_forwards(10, 70).is_err());
    // Absent: inserted at the top with n, not decremented.
    let none = crlf("OPTIONS sip:h SIP/2.0\nCall-ID: x\n\n");
    let m = Message::parse(&none).unwrap();
    let mut ed = Editor::new(&m);
    assert_eq!(ed.decrement_max_forwards(10, 70).unwrap(), Some(10));
    assert_eq!(
        ed.serialize(),
        crlf("OPTIONS sip:h SIP/2.0\nMax-Forwards: 10\nCall-ID: x\n\n")
    );
}

#[test]
fn push_via_with_stable_branch() {
    let m = Message::parse(INVITE).unwrap();
    let b1 = stateless_branch(&m).unwrap();
    assert_eq!(
        b1,
        stateless_branch(&Message::parse(INVITE).unwrap()).unwrap()
    );
    assert!(b1.starts_with(b"z9hG4bK"));
    assert_eq!(b1.len(), 23);
    // The branch depends on the received top branch.
    let other = replaced(INVITE, "z9hG4bK776asdhds", "z9hG4bK776asdhdX");
    assert_ne!(
        b1,
        stateless_branch(&Message::parse(&other).unwrap()).unwrap()
    );
    let mut ed = Editor::new(&m);
    ed.push_via("UDP", "192.0.2.1", Some(5070), &b1).unwrap();
    let out = ed.serialize();
    let e = Message::parse(&out).unwrap();
    let vias: Vec<_> = e.vias().map(Result::unwrap).collect();
    assert_eq!(vias.len(), 3);
    assert_eq!(vias[0].host, b"192.0.2.1");
    assert_eq!(vias[0].port, Some(5070));
    assert_eq!(vias[0].branch, Some(&b1[..]));
    assert_eq!(vias[1].branch, Some(&b"z9hG4bK776asdhds"[..]));
    assert!(ed.push_via("UDP", "bad host", None, b"z9hG4bK1").is_err());
}

#[test]
fn rfc2543_branch_hashes_the_transaction() {
    let a = crlf(
        "INVITE sip:b@h SIP/2.0\nVia: SIP/2.0/UDP h;branch=old\nFrom: <sip:a@h>;tag=1\nTo: <sip:b@h>\nCall-ID: x\nCSeq: 1 INVITE\n\n",
    );
    let b = replaced(&a, "Call-ID: x", "Call-ID: y");
    let ba = stateless_branch(&Message::parse(&a).unwrap()).unwrap();
    let bb = stateless_branch(&Message::parse(&b).unwrap()).unwrap();
    assert_ne!(ba, bb);
}

#[test]
fn header_add_remove_replace() {
    let m = Message::parse(INVITE).unwrap();
    let mut ed = Editor::new(&m);
    ed.add_header("X-Appended", b"1").unwrap();
    ed.insert_header_first("Record-Route", b"<sip:me;lr>")
        .unwrap();
    assert_eq!(ed.remove_headers(HeaderName::Route).unwrap(), 1);
    let ua = m
        .headers()
        .iter()
        .position(|h| h.name == HeaderName::UserAgent)
        .unwrap();
    ed.replace_header_value(ua, b"cfgc").unwrap();
    let out = ed.serialize();
    let e = Message::parse(&out).unwrap();
    assert_eq!(e.headers()[0].name, HeaderName::RecordRoute);
    assert_eq!(e.record_routes().count(), 2);
    assert_eq!(e.routes().count(), 0);
    assert_eq!(e.header(HeaderName::UserAgent), Some(&b"cfgc"[..]));
    assert_eq!(e.headers().last().unwrap().name, HeaderName::Other);
    assert_eq!(e.header_by_name(b"X-Appended"), Some(&b"1"[..]));
    assert_eq!(e.body(), m.body());
    assert_eq!(
        ed.add_header("X", b"a\r\nb").unwrap_err(),
        EditError::LineBreakInValue
    );
    assert_eq!(
        ed.add_header("Bad Name", b"a").unwrap_err(),
        EditError::LineBreakInValue
    );
    assert_eq!(ed.remove_header(999).unwrap_err(), EditError::OutOfMessage);
}

#[test]
fn ruri_parts() {
    let m = Message::parse(INVITE).unwrap();
    let mut ed = Editor::new(&m);
    ed.set_ruri_user(Some(b"carol")).unwrap();
    ed.set_ruri_host(b"[2001:db8::5]").unwrap();
    ed.set_ruri_port(None).unwrap();
    let out = ed.serialize();
    let e = Message::parse(&out).unwrap();
    assert_eq!(
        e.ruri_bytes(),
        Some(&b"sip:carol@[2001:db8::5];transport=udp"[..])
    );
    // Overlapping a part edit with a whole-URI edit is refused.
    assert_eq!(ed.set_ruri(b"sip:x@y").unwrap_err(), EditError::Overlap);

    let b = crlf("OPTIONS sip:host.example SIP/2.0\nCall-ID: x\n\n");
    let m = Message::parse(&b).unwrap();
    let mut ed = Editor::new(&m);
    ed.set_ruri_user(Some(b"alice")).unwrap();
    ed.set_ruri_port(Some(5080)).unwrap();
    let e_buf = ed.serialize();
    let e = Message::parse(&e_buf).unwrap();
    let u = e.ruri().unwrap();
    assert_eq!(
        (u.user, u.host, u.port),
        (Some(&b"alice"[..]), &b"host.example"[..], Some(5080))
    );

    let mut ed = Editor::new(&m);
    ed.set_ruri(b"sip:new@other.example;lr").unwrap();
    assert_eq!(
        Message::parse(&ed.serialize())
            .unwrap()
            .ruri()
            .unwrap()
            .host,
        b"other.example"
    );
    assert!(ed.set_ruri(b"sip:has space").is_err());
}

#[test]
fn remove_ruri_user() {
    let b = crlf("OPTIONS sip:u:pw@h:1 SIP/2.0\n\n");
    let m = Message::parse(&b).unwrap();
    let mut ed = Editor::new(&m);
    ed.set_ruri_user(None).unwrap();
    assert!(ed.serialize().starts_with(b"OPTIONS sip:h:1 SIP/2.0\r\n"));
}

#[test]
fn body_and_content_length() {
    let m = Message::parse(INVITE).unwrap();
    let mut ed = Editor::new(&m);
    ed.set_body(b"new body", Some(b"text/plain")).unwrap();
    ed.set_body(b"newer", None).unwrap();
    ed.append_body(b"!").unwrap();
    let out = ed.serialize();
    let e = Message::parse(&out).unwrap();
    assert_eq!(e.body(), b"newer!");
    assert_eq!(e.content_length(), Some(6));
    // The second call superseded the Content-Type change too.
    assert!(
        e.content_type()
            .unwrap()
            .unwrap()
            .is(b"application", b"sdp")
    );

    let b = crlf("MESSAGE sip:h SIP/2.0\nCall-ID: x\n\n");
    let m = Message::parse(&b).unwrap();
    let mut ed = Editor::new(&m);
    ed.set_body(b"hello", Some(b"text/plain")).unwrap();
    let out = ed.serialize();
    assert_eq!(
        out,
        crlf(
            "MESSAGE sip:h SIP/2.0\nCall-ID: x\nContent-Length: 5\nContent-Type: text/plain\n\nhello"
        )
    );
}

#[test]
fn overlaps_and_foreign_slices() {
    let m = Message::parse(INVITE).unwrap();
    let mut ed = Editor::new(&m);
    let via = m.headers()[0];
    ed.replace_range(
        via.value().start as usize,
        via.value().end as usize,
        b"SIP/2.0/UDP x".to_vec(),
    )
    .unwrap();
    assert_eq!(ed.remove_header(0).unwrap_err(), EditError::Overlap);
    assert_eq!(
        ed.insert_at(via.value().start as usize + 3, b"x".to_vec())
            .unwrap_err(),
        EditError::Overlap
    );
    // Insertions at the boundary are fine.
    ed.insert_at(via.value().end as usize, b";x=1".to_vec())
        .unwrap();
    assert_eq!(
        ed.replace_slice(b"not in message", b"x").unwrap_err(),
        EditError::OutOfMessage
    );
    assert_eq!(
        ed.replace_range(0, INVITE.len() + 1, vec![]).unwrap_err(),
        EditError::OutOfMessage
    );
    let e_buf = ed.serialize();
    let e = Message::parse(&e_buf).unwrap();
    assert_eq!(e.header(HeaderName::Via), Some(&b"SIP/2.0/UDP x;x=1"[..]));
}

#[test]
fn fix_top_via_like_kamailio_forwarding() {
    // Observed on Kamailio 5.6.3 (kamailio-modules.md §0.3).
    let b = crlf(
        "INVITE sip:b@h SIP/2.0\nVia: SIP/2.0/UDP 10.0.0.5:5060;branch=z9hG4bK-nat1;rport\nCall-ID: x\n\n",
    );
    let m = Message::parse(&b).unwrap();
    let mut ed = Editor::new(&m);
    ed.fix_top_via(b"127.0.0.1", 5081, false).unwrap();
    let out = ed.serialize();
    let e = Message::parse(&out).unwrap();
    assert_eq!(
        e.header(HeaderName::Via),
        Some(&b"SIP/2.0/UDP 10.0.0.5:5060;received=127.0.0.1;branch=z9hG4bK-nat1;rport=5081"[..])
    );

    let b = crlf(
        "INVITE sip:b@h SIP/2.0\nVia: SIP/2.0/UDP 127.0.0.1:5080;branch=z9hG4bK-inv1\nCall-ID: x\n\n",
    );
    let m = Message::parse(&b).unwrap();
    let mut ed = Editor::new(&m);
    ed.fix_top_via(b"127.0.0.1", 5080, true).unwrap();
    let out = ed.serialize();
    let e = Message::parse(&out).unwrap();
    assert_eq!(
        e.header(HeaderName::Via),
        Some(&b"SIP/2.0/UDP 127.0.0.1:5080;rport=5080;branch=z9hG4bK-inv1"[..])
    );
    // Nothing to do: same host, no rport.
    let mut ed = Editor::new(&m);
    ed.fix_top_via(b"127.0.0.1", 5080, false).unwrap();
    assert!(ed.edits().is_empty());
}

#[test]
fn a_joined_deletion_keeps_the_edits_inside_it() {
    let m = Message::parse(INVITE).unwrap();
    let text = String::from_utf8_lossy(INVITE).into_owned();
    let line = "Max-Forwards: 70\r\n";
    let at = text.find(line).unwrap();
    let mut ed = Editor::new(&m);
    // A value replaced and a text inserted inside the line, then the
    // whole line deleted.
    ed.replace_range(at + 14, at + 16, b"69".to_vec()).unwrap();
    ed.insert_at(at + 4, b"<in>".to_vec()).unwrap();
    assert_eq!(
        ed.remove_header(
            m.headers()
                .iter()
                .position(|h| h.name == HeaderName::MaxForwards)
                .unwrap()
        ),
        Err(EditError::Overlap)
    );
    ed.delete_joined(at, at + line.len()).unwrap();
    assert_eq!(ed.serialize(), replaced(INVITE, line, "<in>69"));
}
