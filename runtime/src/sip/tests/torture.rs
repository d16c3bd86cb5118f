//! Torture-style messages in the spirit of RFC 4475 §3.1.1 (valid but
//! unusual): odd white space, folding everywhere, escapes, mixed forms.
//! Written for this project, not copied.

use super::crlf;
use crate::sip::syntax::unescape;
use crate::sip::{HeaderName, Message, Method};

#[test]
fn whitespace_folding_and_compact_mix() {
    let b = crlf(concat!(
        "INVITE sip:%61lice@example.com;unknownparam SIP/2.0\n",
        "TO :\n sip:bob@example.com ;   tag    = 1918181833n\n",
        "from   : \"J Rosenberg \\\\\\\"\"       <sip:jdrosen@example.com>\n  ;\n  tag = 98asjd8\n",
        "MaX-fOrWaRdS: 0068\n",
        "Call-ID: wsinv.ndaksdj@192.0.2.1\n",
        "Content-Length   : 3\n",
        "cseq: 0009\n  INVITE\n",
        "Via  : SIP  /   2.0\n /UDP\n    192.0.2.2;rport;branch=z9hG4bK390skdjuw\n",
        "s :\n",
        "NewFangledHeader:   newfangled value\n continued newfangled value\n",
        "UnknownHeaderWithUnusualValue: ;;,,;;,;\n",
        "Content-Type: application/sdp\n",
        "Route:\n <sip:services.example.com;lr;unknownwith=value;unknown-no-value>\n",
        "v:  SIP/2.0/TCP     spindle.example.com   ;\n  branch  =   z9hG4bK9ikj8  ,\n SIP  /    2.0   / UDP  192.168.255.111   ; branch=\n z9hG4bK30239\n",
        "m:\"Quoted string \\\"\\\"\" <sip:jdrosen@example.com> ; newparam =\n      newvalue ;\n  secondparam ; q = 0.33\n",
        "\n",
        "v=0",
    ));
    let m = Message::parse(&b).unwrap();
    assert_eq!(m.method(), Some(Method::Invite));
    let ruri = m.ruri().unwrap();
    assert_eq!(&*unescape(ruri.user.unwrap()), b"alice");
    assert_eq!(m.to().unwrap().tag, Some(&b"1918181833n"[..]));
    let from = m.from().unwrap();
    assert_eq!(from.tag, Some(&b"98asjd8"[..]));
    assert_eq!(from.uri_raw, b"sip:jdrosen@example.com");
    assert_eq!(m.max_forwards().unwrap(), Some(68));
    let cseq = m.cseq().unwrap();
    assert_eq!((cseq.seq, cseq.method), (9, Method::Invite));
    let vias: Vec<_> = m.vias().map(Result::unwrap).collect();
    assert_eq!(vias.len(), 3);
    assert_eq!(vias[0].host, b"192.0.2.2");
    assert_eq!(vias[1].host, b"spindle.example.com");
    assert_eq!(vias[1].branch, Some(&b"z9hG4bK9ikj8"[..]));
    assert_eq!(vias[2].transport, b"UDP");
    assert_eq!(vias[2].branch, Some(&b"z9hG4bK30239"[..]));
    let c = m.contacts().next().unwrap().unwrap();
    assert_eq!(c.q(), Some(&b"0.33"[..]));
    assert_eq!(c.param(b"newparam"), Some(Some(&b"newvalue"[..])));
    assert_eq!(c.param(b"secondparam"), Some(None));
    assert!(
        m.routes()
            .next()
            .unwrap()
            .unwrap()
            .uri()
            .unwrap()
            .is_loose_route()
    );
    assert_eq!(m.header(HeaderName::Subject), Some(&b""[..]));
    assert_eq!(m.body(), b"v=0");
    assert!(m.can_reply_400());
}

#[test]
fn long_values_and_many_params() {
    let long = "x".repeat(10_000);
    let mut params = String::new();
    for i in 0..200 {
        params.push_str(&format!(";p{i}={i}"));
    }
    let b = crlf(&format!(
        "OPTIONS sip:h{params} SIP/2.0\nX-Long: {long}\nVia: SIP/2.0/UDP h{params};branch=z9hG4bKlong\nCall-ID: x\n\n"
    ));
    let m = Message::parse(&b).unwrap();
    assert_eq!(m.header_by_name(b"x-long").map(<[u8]>::len), Some(10_000));
    assert_eq!(m.ruri().unwrap().param(b"p199"), Some(Some(&b"199"[..])));
    assert_eq!(m.via_top().unwrap().branch, Some(&b"z9hG4bKlong"[..]));
}

#[test]
fn semicolons_and_commas_inside_quotes() {
    let b = crlf(
        "MESSAGE sip:h SIP/2.0\nFrom: \"a;tag=no, b\" <sip:a@h>;tag=yes\nContact: \"x, y\" <sip:x@h>, <sip:y@h>\n\n",
    );
    let m = Message::parse(&b).unwrap();
    assert_eq!(m.from().unwrap().tag, Some(&b"yes"[..]));
    assert_eq!(m.contacts().count(), 2);
}

#[test]
fn response_to_options_with_everything_compact() {
    let b = crlf(
        "SIP/2.0 200 OK\nv: SIP/2.0/UDP h;branch=z9hG4bK1;received=192.0.2.1\nf: <sip:a@h>;tag=1\nt: <sip:b@h>;tag=2\ni: abc\nCSeq: 7 OPTIONS\nk: path, gruu\nl: 0\n\n",
    );
    let m = Message::parse(&b).unwrap();
    assert_eq!(m.status(), Some(200));
    assert_eq!(m.via_top().unwrap().received, Some(&b"192.0.2.1"[..]));
    assert_eq!(m.supported().collect::<Vec<_>>(), [&b"path"[..], b"gruu"]);
    assert!(!m.can_reply_400());
}
