//! Locally generated replies, shaped like Kamailio's (`sl_send_reply`,
//! `t_reply`, ...): see `kamailio-modules.md` §0.1–0.2.
//!
//! Guarantees, in this order on the wire:
//! 1. `SIP/2.0 <code> <reason>` with the request's version token;
//! 2. every Via value of the request, one per line, in order; the top one
//!    gets `rport` filled (in place, or appended when `force_rport`) and
//!    `received` (in place, or appended last when the Via host differs
//!    from the source IP or the Via has an `rport` param) when a source
//!    address is given — as observed on Kamailio 5.6.3: `;rport` with a
//!    matching host gets `;rport=<port>;received=<ip>`, `force_rport()`
//!    alone with a matching host only `;rport=<port>`;
//! 3. From, To, Call-ID, CSeq copied verbatim in their original order
//!    relative to Via; To gets `;tag=` only when `code >= 180` and it had
//!    none;
//! 4. Record-Route copied only when `180 <= code < 300`;
//! 5. every other request header dropped;
//! 6. the caller's extra header lines, then Content-Type if given;
//! 7. `Server:` (default: Kamailio 5.6.3's signature);
//! 8. `Content-Length:` always;
//! 9. empty line and body.
//!
//! No panics. Without `source` the only allocation is the output buffer
//! (none with [`build_into`] and a reused buffer that is large enough);
//! patching the top Via for `source` uses a few small temporaries.

use super::encode::{Edit, EditTag, fnv1a, splice, write_u32};
use super::error::{ErrorKind, ParseError};
use super::header::HeaderName;
use super::message::{Message, StartLine};
use super::syntax::{CommaSplit, strip_brackets};
use super::via::Via;

/// Kamailio 5.6.3's default `Server` value, for byte-exact emulation.
pub const KAMAILIO_SERVER: &[u8] = b"kamailio (5.6.3 (x86_64/linux))";

/// Options of a reply.
#[derive(Debug, Clone, Copy)]
pub struct ReplyOpts<'o> {
    /// To-tag to add (when `code >= 180` and the request has none); `None`
    /// computes [`stateless_to_tag`] with `tag_seed`.
    pub to_tag: Option<&'o [u8]>,
    /// Seed of the computed tag (e.g. the first listen address).
    pub tag_seed: &'o [u8],
    /// `Server` value; `None` omits the header.
    pub server: Option<&'o [u8]>,
    /// The request's reply lumps (header lines, each ending in CRLF),
    /// emitted after the copied headers.
    pub lumps: &'o [u8],
    /// Extra header lines (`Name: value\r\n` each), emitted after the
    /// lumps (a missing final CRLF is added).
    pub extra_headers: &'o [u8],
    /// Content-Type of `body`.
    pub content_type: Option<&'o [u8]>,
    /// Body.
    pub body: &'o [u8],
    /// Source IP and port of the request, for `received`/`rport`.
    pub source: Option<(&'o [u8], u16)>,
    /// Kamailio's `force_rport()` was executed.
    pub force_rport: bool,
}

impl Default for ReplyOpts<'_> {
    fn default() -> Self {
        Self {
            to_tag: None,
            tag_seed: b"",
            server: Some(KAMAILIO_SERVER),
            lumps: b"",
            extra_headers: b"",
            content_type: None,
            body: b"",
            source: None,
            force_rport: false,
        }
    }
}

/// A computed To-tag: `<32 hex>.<8 hex>`, the shape of Kamailio's sl tags.
/// The same request (and its retransmissions) always gets the same tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ToTag([u8; 41]);

impl ToTag {
    /// The tag bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

/// Computes the stateless To-tag of `msg`: 32 hex digits from `seed` (a
/// per-instance constant), `.`, then 8 hex digits from top Via host, port,
/// branch and Call-ID.
pub fn stateless_to_tag(msg: &Message<'_>, seed: &[u8]) -> ToTag {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut t = [b'.'; 41];
    let put = |t: &mut [u8; 41], at: usize, n: u64, digits: usize| {
        for i in 0..digits {
            t[at + i] = HEX[((n >> ((digits - 1 - i) * 4)) & 0xf) as usize];
        }
    };
    put(&mut t, 0, fnv1a(&[b"cfgc-stateless", seed]), 16);
    put(&mut t, 16, fnv1a(&[seed, b"cfgc-stateless"]), 16);
    let (host, port, branch) = match msg.via_top() {
        Ok(via) => (
            via.host,
            via.port_raw.unwrap_or_default(),
            via.branch.unwrap_or_default(),
        ),
        Err(_) => (&b""[..], &b""[..], &b""[..]),
    };
    let call_id = msg.call_id().unwrap_or_default();
    let a = fnv1a(&[host, port, branch]) & 0xffff;
    let b = fnv1a(&[port, host, call_id]) & 0xffff;
    put(&mut t, 33, (a << 16) | b, 8);
    ToTag(t)
}

/// Builds a reply to `msg`.
///
/// # Errors
/// `msg` is a response, `code` outside 100..=699, `reason` containing
/// CR/LF, Via/From/To/Call-ID unreadable, or no CSeq.
pub fn build(
    msg: &Message<'_>,
    code: u16,
    reason: &[u8],
    opts: &ReplyOpts<'_>,
) -> Result<Vec<u8>, ParseError> {
    let mut out = Vec::with_capacity(msg.headers_end() + opts.body.len() + 128);
    build_into(msg, code, reason, opts, &mut out)?;
    Ok(out)
}

/// As [`build`], appending to `out`.
///
/// # Errors
/// As [`build`].
pub fn build_into(
    msg: &Message<'_>,
    code: u16,
    reason: &[u8],
    opts: &ReplyOpts<'_>,
    out: &mut Vec<u8>,
) -> Result<(), ParseError> {
    let StartLine::Request { version, .. } = *msg.start_line() else {
        return Err(ParseError::new(ErrorKind::WrongMessageKind, 0));
    };
    if !(100..=699).contains(&code) {
        return Err(ParseError::new(ErrorKind::BadStatusCode, 0));
    }
    if reason.iter().any(|&b| b == b'\r' || b == b'\n') {
        return Err(ParseError::new(ErrorKind::BadStartLine, 0));
    }
    let top_via = msg.via_top()?;
    let to = msg.to()?;
    // From is copied verbatim: present is enough (Kamailio's sanity answers
    // 400 Invalid From Header to a From it cannot parse, tests/malformed
    // 071).
    if msg.header(HeaderName::From).is_none() {
        msg.from()?;
    }
    msg.call_id()?;
    // CSeq is copied verbatim: present is enough (Kamailio answers a
    // request whose CSeq number is out of range, e.g. sanity's 400).
    if msg.header(HeaderName::CSeq).is_none() {
        msg.cseq()?;
    }

    let buf = msg.buffer();
    out.extend_from_slice(msg.slice(version));
    out.push(b' ');
    write_u32(out, u32::from(code));
    out.push(b' ');
    out.extend_from_slice(reason);
    out.extend_from_slice(b"\r\n");

    let mut first_via = true;
    let mut to_done = false;
    for h in msg.headers() {
        let line_text = buf
            .get(h.line().start as usize..h.value().end as usize)
            .unwrap_or_default();
        match h.name {
            HeaderName::Via => {
                let name = msg.slice(h.name_span());
                let value = msg.slice(h.value());
                let mut elems = CommaSplit::new(value);
                let single = elems.clone().nth(1).is_none();
                if single && !(first_via && needs_via_fix(&top_via, opts)) {
                    out.extend_from_slice(line_text);
                    out.extend_from_slice(b"\r\n");
                    first_via = false;
                    continue;
                }
                for v in elems.by_ref() {
                    out.extend_from_slice(name);
                    out.extend_from_slice(b": ");
                    if first_via {
                        write_top_via(out, v, opts);
                        first_via = false;
                    } else {
                        out.extend_from_slice(v);
                    }
                    out.extend_from_slice(b"\r\n");
                }
            }
            HeaderName::From | HeaderName::CallId | HeaderName::CSeq => {
                out.extend_from_slice(line_text);
                out.extend_from_slice(b"\r\n");
            }
            HeaderName::To => {
                out.extend_from_slice(line_text);
                if code >= 180 && to.tag.is_none() && !to_done {
                    out.extend_from_slice(b";tag=");
                    match opts.to_tag {
                        Some(t) => out.extend_from_slice(t),
                        None => {
                            out.extend_from_slice(stateless_to_tag(msg, opts.tag_seed).as_bytes())
                        }
                    }
                }
                to_done = true;
                out.extend_from_slice(b"\r\n");
            }
            HeaderName::RecordRoute if (180..300).contains(&code) => {
                out.extend_from_slice(line_text);
                out.extend_from_slice(b"\r\n");
            }
            _ => {}
        }
    }
    out.extend_from_slice(opts.lumps);
    if !opts.extra_headers.is_empty() {
        out.extend_from_slice(opts.extra_headers);
        if !opts.extra_headers.ends_with(b"\n") {
            out.extend_from_slice(b"\r\n");
        }
    }
    if let Some(ct) = opts.content_type {
        out.extend_from_slice(b"Content-Type: ");
        out.extend_from_slice(ct);
        out.extend_from_slice(b"\r\n");
    }
    if let Some(s) = opts.server {
        out.extend_from_slice(b"Server: ");
        out.extend_from_slice(s);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"Content-Length: ");
    write_u32(out, u32::try_from(opts.body.len()).unwrap_or(u32::MAX));
    out.extend_from_slice(b"\r\n\r\n");
    out.extend_from_slice(opts.body);
    Ok(())
}

fn needs_via_fix(via: &Via<'_>, opts: &ReplyOpts<'_>) -> bool {
    opts.source.is_some()
        && (via.rport.is_some() || via.received.is_some() || opts.force_rport || {
            let (ip, _) = opts.source.unwrap_or_default();
            !strip_brackets(via.host).eq_ignore_ascii_case(strip_brackets(ip))
        })
}

/// Writes the top Via `v` with `rport`/`received` set per Kamailio.
fn write_top_via(out: &mut Vec<u8>, v: &[u8], opts: &ReplyOpts<'_>) {
    let (Some((ip, port)), Some(via)) = (opts.source, Via::parse(v)) else {
        out.extend_from_slice(v);
        return;
    };
    let base = v.as_ptr() as usize;
    let off = |s: &[u8]| (s.as_ptr() as usize).saturating_sub(base);
    let mut edits: Vec<Edit> = Vec::new();
    let mut push = |start: usize, end: usize, data: Vec<u8>| {
        let seq = u32::try_from(edits.len()).unwrap_or(u32::MAX);
        edits.push(Edit {
            start,
            end,
            data,
            seq,
            tag: EditTag::Plain,
        });
    };
    let mut port_s = Vec::with_capacity(6);
    write_u32(&mut port_s, u32::from(port));
    match via.rport {
        Some(Some(val)) => push(off(val), off(val) + val.len(), port_s.clone()),
        Some(None) => {
            if let Some(p) = via
                .params
                .iter()
                .find(|p| p.name.eq_ignore_ascii_case(b"rport"))
            {
                let at = off(p.name) + p.name.len();
                let mut d = b"=".to_vec();
                d.extend_from_slice(&port_s);
                push(at, at, d);
            }
        }
        None if opts.force_rport => {
            let mut d = b";rport=".to_vec();
            d.extend_from_slice(&port_s);
            push(v.len(), v.len(), d);
        }
        None => {}
    }
    // Kamailio's received test: the host differs, or the Via asked for
    // rport (then `received` always accompanies it).
    let host_differs = !strip_brackets(via.host).eq_ignore_ascii_case(strip_brackets(ip));
    match via.received {
        Some(r) => push(off(r), off(r) + r.len(), ip.to_vec()),
        None if host_differs || via.rport.is_some() => {
            let mut d = b";received=".to_vec();
            d.extend_from_slice(ip);
            push(v.len(), v.len(), d);
        }
        None => {}
    }
    edits.sort_by_key(|e| (e.start, e.seq));
    splice(v, 0, v.len(), &edits, out);
}
