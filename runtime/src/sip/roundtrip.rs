//! The body of the `sip_roundtrip` fuzz target, callable from stable tests.
//!
//! [`check`] runs parse → every typed accessor → serialize → parse, an edit
//! round (new Via, Max-Forwards, added header, new body) → serialize →
//! parse, a reply → parse, and the stream framer, and reports the first
//! broken invariant as an `Err` (the fuzz target turns it into a crash).
//! Panics inside the library are caught by the fuzzer itself.

use super::edit::{Editor, stateless_branch};
use super::error::{ErrorKind, ParseError};
use super::framing::{Frame, Limits, frame_stream};
use super::header::HeaderName;
use super::message::Message;
use super::reply::{ReplyOpts, build};

fn touch(m: &Message<'_>) {
    let _ = m.method();
    let _ = m
        .ruri()
        .map(|u| (u.param(b"transport"), u.host_unbracketed()));
    let _ = m.status();
    let _ = m.reason();
    for v in m.vias() {
        let _ = v.map(|v| (v.branch, v.param(b"ttl")));
    }
    let _ = m.from().map(|f| (f.uri(), f.display_unquoted()));
    let _ = m.to().map(|t| t.uri());
    let _ = m.call_id();
    let _ = m.cseq();
    let _ = m.max_forwards();
    let _ = m.expires();
    let _ = m.content_type();
    let _ = m.contact_is_star();
    for c in m
        .contacts()
        .chain(m.routes())
        .chain(m.record_routes())
        .chain(m.paths())
    {
        let _ = c.map(|c| (c.uri(), c.expires(), c.q()));
    }
    let _ = m.allow().chain(m.supported()).chain(m.require()).count();
    let _ = m.authorization().map(|c| c.map(|c| c.param(b"username")));
    let _ = m.proxy_authorization();
    let _ = m.can_reply_400();
}

fn too_many_lines(e: &ParseError) -> bool {
    e.kind == ErrorKind::TooManyHeaders
}

/// Runs every invariant on `data`.
///
/// # Errors
/// A description of the first invariant that does not hold.
pub fn check(data: &[u8]) -> Result<(), String> {
    if let Frame::Complete { start, end } = frame_stream(data, &Limits::default())
        && (start > end || end > data.len())
    {
        return Err(format!("framer out of range: {start}..{end}"));
    }
    let m = match Message::parse(data) {
        Ok(m) => m,
        Err(e) => {
            if e.offset > data.len() {
                return Err(format!("error offset {} beyond input", e.offset));
            }
            let _ = e.to_string();
            if e.can_reply_400 {
                let salvaged = Message::parse_for_reply(data).ok_or("replyable but no salvage")?;
                let r = build(&salvaged, 400, b"Bad Request", &ReplyOpts::default())
                    .map_err(|e| format!("400 for salvaged request failed: {e}"))?;
                if let Err(e) = Message::parse(&r)
                    && !too_many_lines(&e)
                {
                    return Err(format!("400 reply does not parse: {e}"));
                }
            }
            return Ok(());
        }
    };
    touch(&m);

    // Untouched serialize is the identity and reparses to the same index.
    let out = Editor::new(&m).serialize();
    if out != m.as_bytes() {
        return Err("empty edit changed bytes".into());
    }
    let m2 = Message::parse(&out).map_err(|e| format!("reparse failed: {e}"))?;
    if m2.headers().len() != m.headers().len() || m2.body() != m.body() {
        return Err("reparse differs".into());
    }
    for (a, b) in m.headers().iter().zip(m2.headers()) {
        if a.name != b.name || m.slice(a.value()) != m2.slice(b.value()) {
            return Err("reparse header differs".into());
        }
    }

    // An edit round, when there is room for the added headers.
    // (up to five lines are added: Via, Max-Forwards, X-Fuzz,
    // Content-Length, Content-Type)
    if m.headers().len() + 5 <= super::MAX_HEADERS {
        let mut ed = Editor::new(&m);
        let is_req = m.is_request();
        let branch = if is_req {
            stateless_branch(&m).ok()
        } else {
            None
        };
        if let Some(b) = &branch {
            ed.push_via("UDP", "192.0.2.1", Some(5070), b)
                .map_err(|e| e.to_string())?;
        }
        ed.set_max_forwards(17).map_err(|e| e.to_string())?;
        ed.add_header("X-Fuzz", b"yes").map_err(|e| e.to_string())?;
        ed.set_body(b"v=0\r\n", Some(b"application/sdp"))
            .map_err(|e| e.to_string())?;
        let out = ed.serialize();
        let e = Message::parse(&out).map_err(|e| format!("edited reparse failed: {e}"))?;
        if e.max_forwards() != Ok(Some(17)) {
            return Err("Max-Forwards edit lost".into());
        }
        if e.body() != b"v=0\r\n" || e.content_length() != Some(5) {
            return Err("body edit lost".into());
        }
        let last_x = e
            .headers()
            .iter()
            .rev()
            .find(|h| e.slice(h.name_span()).eq_ignore_ascii_case(b"x-fuzz"));
        if last_x.map(|h| e.slice(h.value())) != Some(&b"yes"[..]) {
            return Err("added header lost".into());
        }
        if let Some(b) = branch
            && e.via_top().ok().and_then(|v| v.branch) != Some(&b[..])
        {
            return Err("pushed Via is not on top".into());
        }
    }

    if m.can_reply_400() {
        for code in [100u16, 180, 200, 404] {
            let r = build(&m, code, b"Reason", &ReplyOpts::default()).map_err(|e| e.to_string())?;
            let rp = match Message::parse(&r) {
                Ok(rp) => rp,
                // A Via header with many comma-separated values becomes one
                // line per value, which can exceed the index capacity.
                Err(e) if too_many_lines(&e) => continue,
                Err(e) => return Err(format!("reply does not parse: {e}")),
            };
            if rp.status() != Some(code) || rp.call_id().ok() != m.call_id().ok() {
                return Err("reply status or Call-ID wrong".into());
            }
            let tagged = rp.to().ok().and_then(|t| t.tag).is_some();
            let had = m.to().ok().and_then(|t| t.tag).is_some();
            if tagged != (had || code >= 180) {
                return Err(format!("To-tag rule broken for {code}"));
            }
            if rp.header(HeaderName::ContentLength) != Some(&b"0"[..]) {
                return Err("reply Content-Length".into());
            }
        }
    }
    Ok(())
}
