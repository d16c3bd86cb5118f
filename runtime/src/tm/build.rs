//! Messages tm builds: Via branches, To-tags, the hop-by-hop ACK and the
//! CANCEL of a branch (kamailio-modules.md §0.2, §0.3, §2.6), and relayed
//! replies.

use crate::engine::ctx::HeaderOp;
use crate::engine::forward::{apply_reply_header_ops, remove_top_via};
use crate::sip::encode::{fnv1a, write_hex, write_u32};
use crate::sip::{Editor, HeaderName, Message};

/// The Via branch cookie of RFC 3261.
pub const COOKIE: &[u8] = b"z9hG4bK";

/// Appends `n` in hex, least significant digit first, no leading zeros
/// (Kamailio's `int2reverse_hex`): `0` is `0`.
pub fn write_reverse_hex(out: &mut Vec<u8>, mut n: u64) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    loop {
        out.push(HEX[(n & 0xf) as usize]);
        n >>= 4;
        if n == 0 {
            break;
        }
    }
}

fn read_reverse_hex(s: &[u8]) -> Option<u64> {
    if s.is_empty() || s.len() > 16 {
        return None;
    }
    let mut n = 0u64;
    for (i, &b) in s.iter().enumerate() {
        let d = crate::sip::syntax::hex_val(b)?;
        n |= u64::from(d) << (4 * i);
    }
    Some(n)
}

/// The Via branch of branch `idx` of a transaction:
/// `z9hG4bK<hash, reverse hex>.<label, 32 hex>.<idx, reverse hex>`.
pub fn via_branch(hash: u16, label: u128, idx: usize) -> Vec<u8> {
    let mut b = Vec::with_capacity(48);
    b.extend_from_slice(COOKIE);
    write_reverse_hex(&mut b, u64::from(hash));
    b.push(b'.');
    write_hex(&mut b, (label >> 64) as u64, 16);
    write_hex(&mut b, label as u64, 16);
    b.push(b'.');
    write_reverse_hex(&mut b, idx as u64);
    b
}

/// Reads a branch [`via_branch`] made: (hash, label, branch index).
pub fn parse_via_branch(b: &[u8]) -> Option<(u16, u128, usize)> {
    let rest = b.strip_prefix(COOKIE)?;
    let mut parts = rest.split(|&c| c == b'.');
    let hash = u16::try_from(read_reverse_hex(parts.next()?)?).ok()?;
    let label = parts.next()?;
    if label.len() != 32 {
        return None;
    }
    let hi = u64::from_str_radix(std::str::from_utf8(&label[..16]).ok()?, 16).ok()?;
    let lo = u64::from_str_radix(std::str::from_utf8(&label[16..]).ok()?, 16).ok()?;
    let idx = usize::try_from(read_reverse_hex(parts.next()?)?).ok()?;
    if parts.next().is_some() {
        return None;
    }
    Some(((hash), (u128::from(hi) << 64) | u128::from(lo), idx))
}

/// tm's To-tag: `<32 hex>-<8 hex>`, the first part constant per instance
/// (from `seed`), the second from the top Via and Call-ID, so a request
/// and its retransmissions get the same tag (§0.2).
pub fn to_tag(msg: &Message<'_>, seed: &[u8]) -> Vec<u8> {
    let mut t = Vec::with_capacity(41);
    write_hex(&mut t, fnv1a(&[b"SER-TM/tags", seed]), 16);
    write_hex(&mut t, fnv1a(&[seed, b"SER-TM/tags"]), 16);
    t.push(b'-');
    let (host, port, branch) = match msg.via_top() {
        Ok(v) => (
            v.host,
            v.port_raw.unwrap_or_default(),
            v.branch.unwrap_or_default(),
        ),
        Err(_) => (&b""[..], &b""[..], &b""[..]),
    };
    let call_id = msg.call_id().unwrap_or_default();
    let a = fnv1a(&[host, port, branch]) & 0xffff;
    let b = fnv1a(&[port, host, call_id]) & 0xffff;
    write_hex(&mut t, (a << 16) | b, 8);
    t
}

/// The ACK (`reply` given: To from the reply) or CANCEL of a branch,
/// rebuilt from the request as sent on it (§2.6): `<METHOD> <R-URI>`, our
/// Via only, From, To, Call-ID, CSeq (method replaced), Route and
/// Max-Forwards in the order of the sent request, `Content-Length: 0`,
/// then `extra` header lines (a CANCEL's Reason). `None` if the sent
/// request cannot be read.
pub fn local_request(sent: &[u8], reply: Option<&Message<'_>>, extra: &[u8]) -> Option<Vec<u8>> {
    let req = Message::parse(sent).ok()?;
    let method: &[u8] = if reply.is_some() { b"ACK" } else { b"CANCEL" };
    let ruri = req.ruri_bytes()?;
    let cseq = req.cseq().ok()?;
    let reply_to = match reply {
        Some(r) => Some(r.header(HeaderName::To)?),
        None => None,
    };
    let buf = req.buffer();
    let mut out = Vec::with_capacity(sent.len().min(1024));
    out.extend_from_slice(method);
    out.push(b' ');
    out.extend_from_slice(ruri);
    out.extend_from_slice(b" SIP/2.0\r\n");
    let mut via_done = false;
    for h in req.headers() {
        let line = buf.get(h.line().start as usize..h.value().end as usize)?;
        match h.name {
            HeaderName::Via if !via_done => {
                via_done = true;
                let value = req.slice(h.value());
                let first = crate::sip::syntax::CommaSplit::new(value).next()?;
                out.extend_from_slice(b"Via: ");
                out.extend_from_slice(first);
                out.extend_from_slice(b"\r\n");
            }
            HeaderName::To => match reply_to {
                Some(v) => {
                    out.extend_from_slice(b"To: ");
                    out.extend_from_slice(v);
                    out.extend_from_slice(b"\r\n");
                }
                None => {
                    out.extend_from_slice(line);
                    out.extend_from_slice(b"\r\n");
                }
            },
            HeaderName::CSeq => {
                out.extend_from_slice(b"CSeq: ");
                write_u32(&mut out, cseq.seq);
                out.push(b' ');
                out.extend_from_slice(method);
                out.extend_from_slice(b"\r\n");
            }
            HeaderName::From | HeaderName::CallId | HeaderName::Route | HeaderName::MaxForwards => {
                out.extend_from_slice(line);
                out.extend_from_slice(b"\r\n");
            }
            _ => {}
        }
    }
    out.extend_from_slice(b"Content-Length: 0\r\n");
    out.extend_from_slice(extra);
    out.extend_from_slice(b"\r\n");
    Some(out)
}

/// A received reply as relayed upstream: top Via removed, the onreply
/// route's header changes applied. `None` if it cannot be edited.
pub fn relayed_reply(reply: &Message<'_>, ops: &[HeaderOp]) -> Option<Vec<u8>> {
    let mut ed = Editor::new(reply);
    remove_top_via(&mut ed, reply).ok()?;
    apply_reply_header_ops(&mut ed, ops).ok()?;
    Some(ed.serialize())
}

/// The Reason header(s) of a received CANCEL, as lines.
pub fn reason_lines(cancel: &Message<'_>) -> Vec<u8> {
    let mut out = Vec::new();
    let buf = cancel.buffer();
    for h in cancel.headers() {
        if h.name == HeaderName::Other
            && cancel.slice(h.name_span()).eq_ignore_ascii_case(b"Reason")
            && let Some(line) = buf.get(h.line().start as usize..h.value().end as usize)
        {
            out.extend_from_slice(line);
            out.extend_from_slice(b"\r\n");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn branch_round_trip() {
        let b = via_branch(0xe3f4, 0x7a93_6d74_46f2_033a_fe75_0980_1688_2071, 1);
        assert_eq!(
            std::str::from_utf8(&b).expect("ascii"),
            "z9hG4bK4f3e.7a936d7446f2033afe75098016882071.1"
        );
        assert_eq!(
            parse_via_branch(&b),
            Some((0xe3f4, 0x7a93_6d74_46f2_033a_fe75_0980_1688_2071, 1))
        );
        assert_eq!(parse_via_branch(&via_branch(0, 5, 17)), Some((0, 5, 17)));
        assert_eq!(parse_via_branch(b"z9hG4bK-1"), None);
        assert_eq!(parse_via_branch(b"z9hG4bK1.abc.0"), None);
        assert_eq!(
            parse_via_branch(b"z9hG4bK1.7a936d7446f2033afe75098016882071.0.1"),
            None
        );
    }

    #[test]
    fn ack_and_cancel_from_the_sent_invite() {
        let sent = b"INVITE sip:bob@127.0.0.1:5090 SIP/2.0\r\n\
Record-Route: <sip:127.0.0.1:5070;lr>\r\n\
Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK1.00000000000000000000000000000001.0\r\n\
Via: SIP/2.0/UDP 127.0.0.1:5080;rport=5080;branch=z9hG4bK-inv1\r\n\
From: \"Alice\" <sip:alice@127.0.0.1>;tag=a1\r\n\
To: <sip:bob@127.0.0.1>\r\n\
Call-ID: inv1@x\r\n\
CSeq: 10 INVITE\r\n\
Max-Forwards: 69\r\n\
Contact: <sip:alice@127.0.0.1:5080>\r\n\
Content-Length: 0\r\n\r\n";
        let reply = b"SIP/2.0 486 Busy\r\n\
Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK1.00000000000000000000000000000001.0\r\n\
From: \"Alice\" <sip:alice@127.0.0.1>;tag=a1\r\n\
To: <sip:bob@127.0.0.1>;tag=b1\r\n\
Call-ID: inv1@x\r\n\
CSeq: 10 INVITE\r\n\
Content-Length: 0\r\n\r\n";
        let r = Message::parse(reply).expect("reply");
        let ack = local_request(sent, Some(&r), b"").expect("ack");
        assert_eq!(
            String::from_utf8_lossy(&ack),
            "ACK sip:bob@127.0.0.1:5090 SIP/2.0\r\n\
Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK1.00000000000000000000000000000001.0\r\n\
From: \"Alice\" <sip:alice@127.0.0.1>;tag=a1\r\n\
To: <sip:bob@127.0.0.1>;tag=b1\r\n\
Call-ID: inv1@x\r\n\
CSeq: 10 ACK\r\n\
Max-Forwards: 69\r\n\
Content-Length: 0\r\n\r\n"
        );
        let cancel = local_request(
            sent,
            None,
            b"Reason: SIP;cause=200;text=\"Call completed elsewhere\"\r\n",
        )
        .expect("cancel");
        assert_eq!(
            String::from_utf8_lossy(&cancel),
            "CANCEL sip:bob@127.0.0.1:5090 SIP/2.0\r\n\
Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK1.00000000000000000000000000000001.0\r\n\
From: \"Alice\" <sip:alice@127.0.0.1>;tag=a1\r\n\
To: <sip:bob@127.0.0.1>\r\n\
Call-ID: inv1@x\r\n\
CSeq: 10 CANCEL\r\n\
Max-Forwards: 69\r\n\
Content-Length: 0\r\n\
Reason: SIP;cause=200;text=\"Call completed elsewhere\"\r\n\r\n"
        );
        assert!(local_request(b"garbage", None, b"").is_none());
    }
}
