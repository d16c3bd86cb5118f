//! Stateless forwarding (core `forward()`) and stateless relaying of replies
//! (the core reply path), per kamailio-modules.md §0.3.

use std::net::{IpAddr, SocketAddr, ToSocketAddrs};

use crate::sip::edit::stateless_branch;
use crate::sip::syntax::strip_brackets;
use crate::sip::{Editor, Message, Uri};
use crate::transport::{Proto, RecvInfo, Transmit};

use super::ctx::{CoreConfig, Ctx, HeaderOp, SendInfo};

/// Kamailio's internal error codes that `sl_reply_error()` turns into replies.
pub mod err {
    /// E_SEND: sending failed.
    pub const SEND: i32 = -477;
    /// E_BAD_ADDRESS: unresolvable destination.
    pub const BAD_ADDRESS: i32 = -478;
    /// E_BAD_URI: the URI cannot be processed.
    pub const BAD_URI: i32 = -479;
    /// E_BAD_REQ
    pub const BAD_REQ: i32 = -400;
    /// E_UNSPEC
    pub const UNSPEC: i32 = -1;
}

/// Where a URI says to send: address and transport.
pub fn resolve_uri(uri: &[u8]) -> Result<(SocketAddr, Proto), i32> {
    let u = Uri::parse(uri).map_err(|_| err::BAD_URI)?;
    let proto = match u.transport() {
        Some(t) if t.eq_ignore_ascii_case(b"tcp") => Proto::Tcp,
        _ => Proto::Udp,
    };
    let default_port = if u.scheme == crate::sip::Scheme::Sips {
        5061
    } else {
        5060
    };
    let port = u.port.unwrap_or(default_port);
    let host = std::str::from_utf8(u.host_unbracketed()).map_err(|_| err::BAD_URI)?;
    let ip = resolve_host(host).ok_or(err::BAD_ADDRESS)?;
    Ok((SocketAddr::new(ip, port), proto))
}

/// An IP literal, or a name looked up with the system resolver (A/AAAA;
/// NAPTR/SRV are not done yet).
pub fn resolve_host(host: &str) -> Option<IpAddr> {
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Some(ip);
    }
    (host, 0u16).to_socket_addrs().ok()?.map(|a| a.ip()).next()
}

/// Core `forward()` (and `forward(host, port)` when `target` is given):
/// sends the request statelessly to `$du`, else the R-URI, with our Via on
/// top. Returns 1, or a negative internal error.
pub fn forward(ctx: &mut Ctx<'_>, target: Option<(&str, Option<u16>, Option<Proto>)>) -> i32 {
    let rc = forward_inner(ctx, target);
    ctx.last_error = if rc < 0 { rc } else { 0 };
    rc
}

fn forward_inner(ctx: &mut Ctx<'_>, target: Option<(&str, Option<u16>, Option<Proto>)>) -> i32 {
    let msg = ctx.msg;
    if !msg.is_request() {
        return err::BAD_REQ;
    }
    let (dst, proto) = match target {
        Some((host, port, proto)) => match resolve_host(host) {
            Some(ip) => (
                SocketAddr::new(ip, port.unwrap_or(5060)),
                proto.unwrap_or(Proto::Udp),
            ),
            None => return err::BAD_ADDRESS,
        },
        None => {
            let uri = ctx.dst_uri.as_deref().unwrap_or_else(|| ctx.ruri());
            match resolve_uri(uri) {
                Ok(d) => d,
                Err(e) => return e,
            }
        }
    };
    let Some(local) = ctx.core.socket_for(proto, &dst) else {
        return err::SEND;
    };
    let Ok(branch) = stateless_branch(msg) else {
        return err::BAD_REQ;
    };
    let mut ed = Editor::new(msg);
    if let Some(u) = &ctx.new_uri
        && ed.set_ruri(u).is_err()
    {
        return err::BAD_URI;
    }
    let src_ip = ctx.rcv.src.ip().to_string();
    if ed
        .fix_top_via(src_ip.as_bytes(), ctx.rcv.src.port(), ctx.force_rport)
        .is_err()
    {
        return err::BAD_REQ;
    }
    let (via_host, port) = ctx.core.via_sent_by(local);
    let transport = match proto {
        Proto::Udp => "UDP",
        Proto::Tcp => "TCP",
    };
    // Script edits first: headers inserted at the top of the header block
    // then come before our Via, as Kamailio's lumps created earlier.
    if apply_header_ops(&mut ed, &ctx.headers, ctx.core, ctx.rcv, (proto, local)).is_err() {
        return err::UNSPEC;
    }
    if ed.push_via(transport, &via_host, port, &branch).is_err() {
        return err::UNSPEC;
    }
    ctx.out.push(Transmit {
        proto,
        dst,
        local: Some(local),
        conn: None,
        data: ed.serialize(),
        no_connect: ctx.forward_no_connect,
    });
    super::counters::stats().core.fwd_requests.inc();
    1
}

/// Applies the script's pending header changes ([`Ctx::headers`]) to a
/// request about to leave on `out` (protocol, local socket): the one place
/// where they become bytes, for the stateless forward and tm alike. Call it
/// before adding the new Via so headers inserted at the top come first.
/// An edit overlapping an earlier one is skipped (Kamailio skips
/// overlapping deletions too).
///
/// # Errors
/// A header that cannot be written (bad name, line break in a value).
pub fn apply_header_ops(
    ed: &mut Editor<'_, '_>,
    ops: &[HeaderOp],
    core: &CoreConfig,
    rcv: &RecvInfo,
    out: (Proto, SocketAddr),
) -> Result<(), crate::sip::EditError> {
    apply_ops(ed, ops, Some((core, rcv, out)))
}

/// [`apply_header_ops`] for a reply being relayed: no deferred headers
/// there (the checker allows `record_route` in request routes only).
///
/// # Errors
/// A header that cannot be written.
pub fn apply_reply_header_ops(
    ed: &mut Editor<'_, '_>,
    ops: &[HeaderOp],
) -> Result<(), crate::sip::EditError> {
    apply_ops(ed, ops, None)
}

fn apply_ops(
    ed: &mut Editor<'_, '_>,
    ops: &[HeaderOp],
    request: Option<(&CoreConfig, &RecvInfo, (Proto, SocketAddr))>,
) -> Result<(), crate::sip::EditError> {
    use crate::sip::EditError;
    let tolerate = |r: Result<(), EditError>| match r {
        Err(EditError::Overlap) => Ok(()),
        r => r,
    };
    // Replacements inside the body (textops' `replace_body`...) make a
    // new body, so that Content-Length follows, as Kamailio's lumps do.
    let body_at = ed.message().body_span().start as usize;
    let mut body_edits: Vec<(usize, usize, &[u8])> = Vec::new();
    // The body set whole (the last [`HeaderOp::Body`]), then the body
    // rebuilt with the edits inside it, which win.
    let mut new_body: Option<Vec<u8>> = None;
    for op in ops {
        match op {
            HeaderOp::Replace { start, end, data } if *start >= body_at => {
                body_edits.push((*start - body_at, *end - body_at, data));
            }
            HeaderOp::Append(name, value) => {
                let name = std::str::from_utf8(name).map_err(|_| EditError::LineBreakInValue)?;
                tolerate(ed.add_header(name, value))?;
            }
            // A deletion over earlier edits deletes the rest, as
            // Kamailio joins overlapping lumps.
            HeaderOp::Remove(i) => match ed.remove_header(*i) {
                Err(EditError::Overlap) => {
                    if let Some(h) = ed.message().headers().get(*i) {
                        let l = h.line();
                        ed.delete_joined(l.start as usize, l.end as usize)?;
                    }
                }
                r => r?,
            },
            HeaderOp::InsertFirst(name, value) => {
                let name = std::str::from_utf8(name).map_err(|_| EditError::LineBreakInValue)?;
                tolerate(ed.insert_header_first(name, value))?;
            }
            HeaderOp::Replace { start, end, data } => {
                match ed.replace_range(*start, *end, data.clone()) {
                    Err(EditError::Overlap) if data.is_empty() => {
                        ed.delete_joined(*start, *end)?;
                    }
                    r => tolerate(r)?,
                }
            }
            HeaderOp::Deferred(d) => {
                if let Some((core, rcv, out)) = request {
                    let at = d.anchor(ed.message());
                    for (name, value) in d.build(&SendInfo { core, rcv, out }) {
                        match at {
                            None => tolerate(ed.insert_header_first(name, &value))?,
                            Some(at) => tolerate(ed.insert_header_at(at, name, &value))?,
                        }
                    }
                }
            }
            HeaderOp::Note(..) => {}
            HeaderOp::Body(body) => new_body = Some(body.clone()),
        }
    }
    if !body_edits.is_empty() {
        let body = ed.message().body();
        body_edits.sort_by_key(|e| e.0);
        let mut out = Vec::with_capacity(body.len());
        let mut at = 0;
        for (start, end, data) in body_edits {
            // An edit overlapping an earlier one is skipped.
            if start < at || end > body.len() {
                continue;
            }
            out.extend_from_slice(&body[at..start]);
            out.extend_from_slice(data);
            at = end;
        }
        out.extend_from_slice(&body[at..]);
        new_body = Some(out);
    }
    // A request whose multipart body a module changed has its boundary
    // lines mended as it is built (Kamailio's `check_boundaries`, run for
    // `FL_BODY_MULTIPART` by `build_req_buf_from_sip_req`, also when
    // textopsx's `msg_apply_changes` rebuilds it, which then drops the
    // note as Kamailio clears the flag). Without a Content-Type header
    // Kamailio 5.6.3 crashes here (it reads the missing header); the
    // request is sent as it is.
    if ed.message().is_request()
        && ops
            .iter()
            .any(|op| matches!(op, HeaderOp::Note(k, _) if *k == BODY_MULTIPART))
        && let Some(ob) = crate::sip::multipart::boundary(ed.message())
    {
        let body = new_body.as_deref().unwrap_or(ed.message().body());
        if let Some(mended) = crate::sip::multipart::check_boundaries(body, &ob) {
            new_body = Some(mended);
        }
    }
    if let Some(body) = new_body {
        tolerate(ed.set_body(&body, None))?;
    }
    Ok(())
}

/// The [`HeaderOp::Note`] key of a request whose multipart body a module
/// changed (textops' `append_body_part`, `remove_body_part`: Kamailio's
/// `FL_BODY_MULTIPART`): its boundary lines are mended when it is sent.
pub const BODY_MULTIPART: &str = "FL_BODY_MULTIPART";

/// Relays a reply statelessly: checks that the top Via is ours, removes it,
/// and sends to the next Via (`received`/`rport` if present, else sent-by).
/// Returns 1, or a negative error (the reply is then dropped).
pub fn relay_reply(ctx: &mut Ctx<'_>) -> i32 {
    let msg = ctx.msg;
    let mut vias = msg.vias();
    let Some(Ok(top)) = vias.next() else {
        return err::BAD_REQ;
    };
    let ours = ctx.is_myself(strip_brackets(top.host), top.port)
        || ctx
            .core
            .advertised_address
            .as_deref()
            .is_some_and(|a| a.as_bytes().eq_ignore_ascii_case(top.host));
    if !ours {
        return err::BAD_REQ;
    }
    let Some(Ok(next)) = vias.next() else {
        return err::BAD_REQ;
    };
    let host = strip_brackets(next.received.unwrap_or(next.host));
    let port = match next.rport {
        Some(Some(p)) => std::str::from_utf8(p).ok().and_then(|p| p.parse().ok()),
        _ => None,
    }
    .or(next.port)
    .unwrap_or(5060);
    let Some(ip) = std::str::from_utf8(host).ok().and_then(resolve_host) else {
        return err::BAD_ADDRESS;
    };
    let proto = if next.transport.eq_ignore_ascii_case(b"TCP") {
        Proto::Tcp
    } else {
        Proto::Udp
    };
    let dst = SocketAddr::new(ip, port);
    let mut ed = Editor::new(msg);
    // Remove the top Via value (and its line if it is the only one).
    if remove_top_via(&mut ed, msg).is_err() {
        return err::UNSPEC;
    }
    // The reply route's header changes.
    if apply_reply_header_ops(&mut ed, &ctx.headers).is_err() {
        return err::UNSPEC;
    }
    ctx.out.push(Transmit {
        proto,
        dst,
        local: ctx.core.socket_for(proto, &dst),
        conn: None,
        data: ed.serialize(),
        no_connect: ctx.reply_no_connect,
    });
    super::counters::stats().core.fwd_replies.inc();
    1
}

pub(crate) fn remove_top_via(
    ed: &mut Editor<'_, '_>,
    msg: &Message<'_>,
) -> Result<(), crate::sip::EditError> {
    use crate::sip::HeaderName;
    let Some((idx, h)) = msg
        .headers()
        .iter()
        .enumerate()
        .find(|(_, h)| h.name == HeaderName::Via)
    else {
        return Err(crate::sip::EditError::LineBreakInValue);
    };
    let value = &msg.buffer()[h.value().range()];
    // Several Vias in one line: cut the first one and its comma.
    match crate::sip::syntax::CommaSplit::new(value).next() {
        Some(first) if first.len() < value.trim_ascii().len() => {
            let start = msg.offset_of(first).unwrap_or(h.value().start as usize);
            let rest = &value[(start - h.value().start as usize) + first.len()..];
            let comma = rest.iter().position(|&b| b == b',').map_or(0, |p| p + 1);
            let ws = rest[comma..]
                .iter()
                .take_while(|b| b.is_ascii_whitespace())
                .count();
            ed.replace_range(start, start + first.len() + comma + ws, Vec::new())
        }
        _ => ed.remove_header(idx),
    }
}

/// A socket as Kamailio substitutes it into a header when the message
/// leaves (`SUBST_SND_ALL`: rr's Record-Route, path's Path): the
/// advertised address or the socket's (IPv6 in brackets), `:port` unless
/// 5060, `;transport=` unless UDP (or always, with `explicit_transport`).
pub fn push_socket_address(
    v: &mut Vec<u8>,
    core: &CoreConfig,
    sock: (Proto, SocketAddr),
    explicit_transport: bool,
) {
    match &core.advertised_address {
        Some(a) => v.extend_from_slice(a.as_bytes()),
        None => match sock.1.ip() {
            IpAddr::V4(ip) => v.extend_from_slice(ip.to_string().as_bytes()),
            IpAddr::V6(ip) => v.extend_from_slice(format!("[{ip}]").as_bytes()),
        },
    }
    let port = core.advertised_port.unwrap_or(sock.1.port());
    if port != 5060 {
        v.extend_from_slice(format!(":{port}").as_bytes());
    }
    if sock.0 != Proto::Udp || explicit_transport {
        v.extend_from_slice(b";transport=");
        v.extend_from_slice(sock.0.as_str().to_ascii_lowercase().as_bytes());
    }
}
