//! RFC 3261 §7.3 / §25.1 `message-header`: names (long, compact, any
//! case), HCOLON, folding (LWS), lists over several lines; §18.3 framing of
//! the body by Content-Length.

use super::{INVITE, crlf};
use crate::sip::{ErrorKind, HeaderName, MAX_HEADERS, Message};

#[test]
fn invite_index() {
    let m = Message::parse(INVITE).unwrap();
    assert_eq!(m.headers().len(), 15);
    let names: Vec<HeaderName> = m.headers().iter().map(|h| h.name).collect();
    assert_eq!(names[0], HeaderName::Via);
    assert_eq!(names[1], HeaderName::Via);
    assert_eq!(names[2], HeaderName::MaxForwards);
    assert_eq!(names[14], HeaderName::ContentLength);
    assert_eq!(m.header(HeaderName::CSeq), Some(&b"314159 INVITE"[..]));
    assert_eq!(m.content_length(), Some(m.body().len() as u32));
    assert!(m.body().starts_with(b"v=0\r\n"));
    assert!(m.body().ends_with(b"a=sendrecv\r\n"));
    assert_eq!(m.as_bytes(), INVITE);
}

#[test]
fn compact_forms_map_to_long_names() {
    let table: &[(&str, HeaderName)] = &[
        ("v", HeaderName::Via),
        ("i", HeaderName::CallId),
        ("f", HeaderName::From),
        ("t", HeaderName::To),
        ("m", HeaderName::Contact),
        ("l", HeaderName::ContentLength),
        ("c", HeaderName::ContentType),
        ("s", HeaderName::Subject),
        ("k", HeaderName::Supported),
        ("e", HeaderName::ContentEncoding),
        ("o", HeaderName::Event),
        ("u", HeaderName::AllowEvents),
        ("r", HeaderName::ReferTo),
        ("b", HeaderName::ReferredBy),
        ("j", HeaderName::RejectContact),
        ("x", HeaderName::SessionExpires),
        ("y", HeaderName::Identity),
        ("a", HeaderName::AcceptContact),
        ("d", HeaderName::RequestDisposition),
        ("n", HeaderName::IdentityInfo),
    ];
    for (c, hn) in table {
        assert_eq!(HeaderName::from_bytes(c.as_bytes()), *hn, "{c}");
        assert_eq!(
            HeaderName::from_bytes(c.to_uppercase().as_bytes()),
            *hn,
            "{c}"
        );
        assert_eq!(hn.compact(), Some(c.as_bytes()[0]));
        assert_eq!(HeaderName::from_bytes(hn.as_str().as_bytes()), *hn);
    }
    assert_eq!(HeaderName::from_bytes(b"q"), HeaderName::Other);
    assert_eq!(HeaderName::from_bytes(b""), HeaderName::Other);
}

#[test]
fn names_are_case_insensitive() {
    for n in ["call-id", "CALL-ID", "Call-Id", "cAlL-iD"] {
        assert_eq!(HeaderName::from_bytes(n.as_bytes()), HeaderName::CallId);
    }
    assert_eq!(
        HeaderName::from_bytes(b"www-authenticate"),
        HeaderName::WwwAuthenticate
    );
    assert_eq!(HeaderName::from_bytes(b"X-Custom"), HeaderName::Other);
}

#[test]
fn compact_message() {
    let b = crlf(
        "INVITE sip:b@h SIP/2.0\nv: SIP/2.0/UDP h;branch=z9hG4bK1\nf: <sip:a@h>;tag=1\nt: <sip:b@h>\ni: cid\nCSeq: 1 INVITE\nm: <sip:a@1.2.3.4>\nc: text/plain\nl: 2\n\nhi",
    );
    let m = Message::parse(&b).unwrap();
    assert_eq!(m.via_top().unwrap().branch, Some(&b"z9hG4bK1"[..]));
    assert_eq!(m.from().unwrap().tag, Some(&b"1"[..]));
    assert_eq!(m.call_id().unwrap(), b"cid");
    assert_eq!(m.contacts().count(), 1);
    assert!(m.content_type().unwrap().unwrap().is(b"TEXT", b"Plain"));
    assert_eq!(m.body(), b"hi");
}

#[test]
fn space_before_colon_and_empty_value() {
    let b = crlf("OPTIONS sip:h SIP/2.0\nCall-ID :  abc  \nSubject:\n\n");
    let m = Message::parse(&b).unwrap();
    assert_eq!(m.call_id().unwrap(), b"abc");
    assert_eq!(m.header(HeaderName::Subject), Some(&b""[..]));
}

#[test]
fn folded_lines_belong_to_the_value() {
    let b = crlf(
        "OPTIONS sip:h SIP/2.0\nSubject: I know you're there,\n  pick up the phone\n   and talk to me!\nCall-ID: x\n\n",
    );
    let m = Message::parse(&b).unwrap();
    assert_eq!(m.headers().len(), 2);
    assert_eq!(
        m.header(HeaderName::Subject),
        Some(&b"I know you're there,\r\n  pick up the phone\r\n   and talk to me!"[..])
    );
    assert_eq!(m.call_id().unwrap(), b"x");
}

#[test]
fn folded_via_parses() {
    let b = crlf(
        "OPTIONS sip:h SIP/2.0\nVia: SIP / 2.0 / UDP\n  host.example.com:5060 ;\n branch = z9hG4bK9 ; rport\n\n",
    );
    let m = Message::parse(&b).unwrap();
    let v = m.via_top().unwrap();
    assert_eq!(v.host, b"host.example.com");
    assert_eq!(v.port, Some(5060));
    assert_eq!(v.branch, Some(&b"z9hG4bK9"[..]));
    assert_eq!(v.rport, Some(None));
}

#[test]
fn list_values_span_lines_and_commas() {
    let b = crlf(
        "OPTIONS sip:h SIP/2.0\nRoute: <sip:a;lr>, <sip:b;lr>\nVia: SIP/2.0/UDP h1;branch=z9hG4bK1, SIP/2.0/TCP h2;branch=z9hG4bK2\nRoute: \"A, B\" <sip:c>\nVia: SIP/2.0/UDP h3;branch=z9hG4bK3\n\n",
    );
    let m = Message::parse(&b).unwrap();
    let routes: Vec<&[u8]> = m.routes().map(|r| r.unwrap().uri_raw).collect();
    assert_eq!(routes, [&b"sip:a;lr"[..], b"sip:b;lr", b"sip:c"]);
    let hosts: Vec<&[u8]> = m.vias().map(|v| v.unwrap().host).collect();
    assert_eq!(hosts, [&b"h1"[..], b"h2", b"h3"]);
    assert_eq!(m.header_values(HeaderName::Via).count(), 2);
}

#[test]
fn other_headers_by_name() {
    let b = crlf("OPTIONS sip:h SIP/2.0\nX-Foo: 1\nx-bar: 2\nf: <sip:a@b>\n\n");
    let m = Message::parse(&b).unwrap();
    assert_eq!(m.header_by_name(b"x-foo"), Some(&b"1"[..]));
    assert_eq!(m.header_by_name(b"X-BAR"), Some(&b"2"[..]));
    assert_eq!(m.header_by_name(b"From"), Some(&b"<sip:a@b>"[..]));
    assert_eq!(m.header_by_name(b"X-Baz"), None);
}

#[test]
fn body_is_framed_by_content_length() {
    let b = crlf("MESSAGE sip:h SIP/2.0\nContent-Length: 2\n\n");
    let mut b2 = b.clone();
    b2.extend_from_slice(b"abGARBAGE");
    let m = Message::parse(&b2).unwrap();
    assert_eq!(m.body(), b"ab");
    assert_eq!(m.as_bytes().len(), b.len() + 2);

    // Shorter than declared: the body that arrived (Kamailio takes it;
    // sanity's Content-Length check is what refuses it).
    let mut short = b.clone();
    short.push(b'a');
    assert_eq!(Message::parse(&short).unwrap().body(), b"a");
}

#[test]
fn no_content_length_means_rest_of_datagram() {
    let b = crlf("MESSAGE sip:h SIP/2.0\nCall-ID: x\n\nhello");
    assert_eq!(Message::parse(&b).unwrap().body(), b"hello");
}

#[test]
fn content_length_conflicts() {
    let same = crlf("MESSAGE sip:h SIP/2.0\nl: 1\nContent-Length: 1\n\nx");
    assert_eq!(Message::parse(&same).unwrap().body(), b"x");
    let differ = crlf("MESSAGE sip:h SIP/2.0\nl: 1\nContent-Length: 2\n\nxy");
    assert_eq!(
        Message::parse(&differ).unwrap_err().kind,
        ErrorKind::BadContentLength
    );
    let nan = crlf("MESSAGE sip:h SIP/2.0\nContent-Length: 1x\n\nx");
    assert_eq!(
        Message::parse(&nan).unwrap_err().kind,
        ErrorKind::BadContentLength
    );
}

#[test]
fn header_capacity_is_a_structured_error() {
    let mut s = String::from("OPTIONS sip:h SIP/2.0\n");
    for i in 0..MAX_HEADERS {
        s.push_str(&format!("X-H{i}: {i}\n"));
    }
    s.push('\n');
    let ok = crlf(&s);
    assert_eq!(Message::parse(&ok).unwrap().headers().len(), MAX_HEADERS);
    // More lines than the inline index spill, in order (Kamailio takes
    // 200 extra headers: tests/malformed 074).
    let over = crlf(&s.replacen('\n', "\nX-One-More: 1\n", 1));
    let m = Message::parse(&over).unwrap();
    assert_eq!(m.headers().len(), MAX_HEADERS + 1);
    assert_eq!(m.slice(m.headers()[0].name_span()), b"X-One-More");
    assert_eq!(m.slice(m.headers()[MAX_HEADERS].value()), b"63");
    assert_eq!(m.header_values(HeaderName::Other).count(), MAX_HEADERS + 1);
    let mut huge = String::from("OPTIONS sip:h SIP/2.0\n");
    for _ in 0..=crate::sip::parse::MAX_HEADER_LINES {
        huge.push_str("X: 1\n");
    }
    huge.push('\n');
    let e = Message::parse(&crlf(&huge)).unwrap_err();
    assert_eq!(e.kind, ErrorKind::TooManyHeaders);
}

#[test]
fn typed_numbers() {
    let b = crlf("REGISTER sip:h SIP/2.0\nMax-Forwards: 0\nExpires: 3600\n\n");
    let m = Message::parse(&b).unwrap();
    assert_eq!(m.max_forwards().unwrap(), Some(0));
    assert_eq!(m.expires().unwrap(), Some(3600));
    let b = crlf("REGISTER sip:h SIP/2.0\nMax-Forwards: seventy\n\n");
    let m = Message::parse(&b).unwrap();
    assert_eq!(
        m.max_forwards().unwrap_err().kind,
        ErrorKind::BadHeaderValue(HeaderName::MaxForwards)
    );
    assert_eq!(m.expires().unwrap(), None);
}

#[test]
fn token_lists() {
    let m = Message::parse(INVITE).unwrap();
    let allow: Vec<&[u8]> = m.allow().collect();
    assert_eq!(allow.len(), 8);
    assert_eq!(allow[0], b"INVITE");
    assert_eq!(allow[7], b"MESSAGE");
    let sup: Vec<&[u8]> = m.supported().collect();
    assert_eq!(sup, [&b"replaces"[..], b"timer"]);
    assert_eq!(m.require().count(), 0);
}

#[test]
fn every_known_name_maps_back() {
    let mut n = 0;
    for hn in HeaderName::all_known() {
        assert_eq!(
            HeaderName::from_bytes(hn.as_str().as_bytes()),
            hn,
            "{}",
            hn.as_str()
        );
        assert_eq!(
            HeaderName::from_bytes(hn.as_str().to_uppercase().as_bytes()),
            hn
        );
        assert!(hn.as_str().len() > 1);
        n += 1;
    }
    assert_eq!(n, 42);
    assert_eq!(HeaderName::from_bytes(b"Call-IX"), HeaderName::Other);
    assert_eq!(HeaderName::from_bytes(b"Contacz"), HeaderName::Other);
}

#[test]
fn oversized_name_is_a_malformed_line() {
    // Kamailio takes a 1000-byte name (tests/malformed 076); beyond
    // 65535 bytes the line is malformed.
    let name = "X".repeat(70_000);
    let b = crlf(&format!("OPTIONS sip:h SIP/2.0\n{name}: v\n\n"));
    assert_eq!(
        Message::parse(&b).unwrap_err().kind,
        ErrorKind::BadHeaderLine
    );
    let ok = crlf(&format!(
        "OPTIONS sip:h SIP/2.0\n{}: v\n\n",
        "X".repeat(1000)
    ));
    let m = Message::parse(&ok).unwrap();
    assert_eq!(m.slice(m.headers()[0].name_span()).len(), 1000);
    assert_eq!(m.slice(m.headers()[0].value()), b"v");
}

/// The reference for the indexer's name recognition: token scan plus
/// `eq_ignore_ascii_case` against every long and compact form.
fn reference_name(line: &[u8]) -> Option<(HeaderName, usize)> {
    let n = line
        .iter()
        .position(|&b| !crate::sip::header::is_token_byte(b))
        .unwrap_or(line.len());
    if n == 0 {
        return None;
    }
    let name = &line[..n];
    let hn = HeaderName::all_known()
        .find(|hn| {
            hn.as_str().as_bytes().eq_ignore_ascii_case(name)
                || (n == 1 && hn.compact() == Some(name[0].to_ascii_lowercase()))
        })
        .unwrap_or(HeaderName::Other);
    Some((hn, n))
}

#[test]
fn fast_name_recognition_matches_the_reference() {
    // Long names only hold letters and '-', which `fold_eq` relies on.
    for hn in HeaderName::all_known() {
        let long = hn.as_str().to_ascii_lowercase();
        assert!(long.bytes().all(|b| b.is_ascii_lowercase() || b == b'-'));
    }
    let mut names: Vec<Vec<u8>> = Vec::new();
    for hn in HeaderName::all_known() {
        let long = hn.as_str();
        names.push(long.as_bytes().to_vec());
        names.push(long.to_ascii_lowercase().into_bytes());
        names.push(long.to_ascii_uppercase().into_bytes());
        // Near misses: one byte changed, '-' swapped for CR / '\r' | 0x20,
        // truncated, extended.
        for i in 0..long.len() {
            for repl in [b'\r', b'\n', b'-', b'_', b'm', b'M', b'\0', b'@', 0xcd] {
                let mut v = long.as_bytes().to_vec();
                v[i] = repl;
                names.push(v);
            }
        }
        names.push(long.as_bytes()[..long.len() - 1].to_vec());
        names.push(format!("{long}-x").into_bytes());
        names.push(format!("{long}x").into_bytes());
        if let Some(c) = hn.compact() {
            names.push(vec![c]);
            names.push(vec![c.to_ascii_uppercase()]);
        }
    }
    for b in 0..=255u8 {
        names.push(vec![b]);
        names.push(vec![b'v', b]);
    }
    for name in &names {
        for tail in [
            &b": x"[..],
            b" : x",
            b"\t:",
            b"",
            b"x:",
            b"-:",
            b";",
            b"\r\n",
        ] {
            let mut line = name.clone();
            line.extend_from_slice(tail);
            if let Some((hn, n)) = HeaderName::known_prefix(&line) {
                assert_eq!(Some((hn, n)), reference_name(&line), "{line:?}");
                assert_eq!(HeaderName::from_bytes(&line[..n]), hn, "{line:?}");
            }
            if let Some((hn, n)) = reference_name(&line) {
                assert_eq!(HeaderName::from_bytes(&line[..n]), hn, "{line:?}");
            }
        }
    }
}

#[test]
fn word_scans_match_byte_loops() {
    use crate::sip::syntax::{find2, first_ctl_or};
    let check = |c: &[u8]| {
        assert_eq!(
            first_ctl_or(c, [0x7f]),
            c.iter().position(|&b| b <= b' ' || b == 0x7f),
            "{c:?}"
        );
        assert_eq!(
            first_ctl_or(c, [b'<', b'>', b'"']),
            c.iter()
                .position(|&b| b <= b' ' || b == b'<' || b == b'>' || b == b'"'),
            "{c:?}"
        );
        assert_eq!(
            find2(c, b';', b'"'),
            c.iter().position(|&b| b == b';' || b == b'"'),
            "{c:?}"
        );
    };
    for len in 0..=20 {
        for at in 0..=len {
            for b in 0..=255u8 {
                let mut v = vec![b'a'; len];
                if at < len {
                    v[at] = b;
                }
                check(&v);
                // Neighbours that stress borrow propagation.
                for nb in [0x00, 0x01, 0x20, 0x21, b'"', b';', 0x7e, 0x7f, 0x80, 0xff] {
                    for other in [at + 1, at.wrapping_sub(1), at + 8] {
                        if other < len {
                            let mut w = v.clone();
                            w[other] = nb;
                            check(&w);
                        }
                    }
                }
            }
        }
    }
}

#[test]
fn fold_eq_is_eq_ignore_ascii_case_for_its_targets() {
    use crate::sip::header::fold_eq;
    let targets: &[&[u8]] = &[
        b"sip/",
        b"sip/2.0",
        b"sip",
        b"sips",
        b"tel",
        b"tag",
        b"branch",
        b"received",
        b"rport",
        b"p-asserted-identity",
        b"call-id",
        b"to",
    ];
    for &t in targets {
        assert!(t.iter().all(|&b| b.is_ascii_lowercase() || b < 0x40));
        let up = t.to_ascii_uppercase();
        assert!(fold_eq(t, t) && fold_eq(&up, t));
        for i in 0..t.len() {
            for b in 0..=255u8 {
                let mut v = t.to_vec();
                v[i] = b;
                assert_eq!(fold_eq(&v, t), v.eq_ignore_ascii_case(t), "{v:?} vs {t:?}");
                let mut w = up.clone();
                w[i] = b;
                assert_eq!(fold_eq(&w, t), w.eq_ignore_ascii_case(t), "{w:?} vs {t:?}");
            }
        }
        assert!(!fold_eq(&t[1..], t));
    }
}
