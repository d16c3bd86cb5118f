//! The lazy indexer: start line plus an index of header lines in one pass.
//!
//! Guarantees: no heap allocation up to [`MAX_HEADERS`] header lines (more
//! spill into one vector, up to [`MAX_HEADER_LINES`]; beyond is
//! [`ErrorKind::TooManyHeaders`], not a panic); names mapped to
//! [`HeaderName`] once; folded lines (LWS continuation) belong to the value
//! they continue; CRLF and bare LF line ends are both accepted; leading CRLFs
//! before the start line are skipped. Content-Length frames the body: bytes
//! after it are discarded (RFC 3261 §18.3), a shorter input is the body
//! that arrived (as Kamailio takes it), and without Content-Length the body
//! runs to the end of the datagram.

use memchr::memchr;

use super::error::{ErrorKind, ParseError};
use super::header::{HeaderName, fold_eq, is_token_byte};
use super::message::{HeaderEntry, Message, Span, StartLine};
use super::syntax::{first_ctl_or, is_ws, parse_u32};

/// Header lines indexed without allocating.
pub const MAX_HEADERS: usize = 64;
const _: () = assert!(MAX_HEADERS <= u8::MAX as usize);

/// Maximum number of header lines of a message (Kamailio has no limit but
/// its buffer size; this bounds the index of a hostile message).
pub const MAX_HEADER_LINES: usize = 16384;

/// Maximum message size accepted by the parser (offsets are `u32`).
pub const MAX_MESSAGE_LEN: usize = 16 * 1024 * 1024;

#[inline]
fn err(kind: ErrorKind, offset: usize) -> ParseError {
    ParseError::new(kind, offset)
}

#[inline]
fn span(start: usize, end: usize) -> Span {
    // Callers guarantee end <= MAX_MESSAGE_LEN < u32::MAX.
    Span {
        start: start as u32,
        end: end as u32,
    }
}

/// End of the line starting at `pos`: `(content_end, next_line_start)`.
#[inline]
fn line_end(buf: &[u8], pos: usize) -> Option<(usize, usize)> {
    let rest = buf.get(pos..)?;
    let nl = pos + memchr(b'\n', rest)?;
    let end = if nl > pos && buf[nl - 1] == b'\r' {
        nl - 1
    } else {
        nl
    };
    Some((end, nl + 1))
}

fn parse_start_line(buf: &[u8], pos: usize) -> Result<(StartLine, usize), ParseError> {
    let (end, next) = line_end(buf, pos).ok_or(err(ErrorKind::BadStartLine, pos))?;
    let line = &buf[pos..end];
    if line.len() >= 8 && fold_eq(&line[..4], b"sip/") && line.get(7) == Some(&b' ') {
        // Status-Line = SIP-Version SP Status-Code SP Reason-Phrase
        if !fold_eq(&line[..7], b"sip/2.0") {
            return Err(err(ErrorKind::BadVersion, pos));
        }
        let code = line
            .get(8..11)
            .ok_or(err(ErrorKind::BadStatusCode, pos + 8))?;
        let code = parse_u32(code)
            .filter(|c| (100..=699).contains(c))
            .ok_or(err(ErrorKind::BadStatusCode, pos + 8))?;
        let reason = match line.get(11) {
            None => span(end, end),
            Some(b' ') => span(pos + 12, end),
            Some(_) => return Err(err(ErrorKind::BadStatusCode, pos + 8)),
        };
        let code = code as u16; // checked range above
        return Ok((
            StartLine::Status {
                version: span(pos, pos + 7),
                code,
                reason,
            },
            next,
        ));
    }
    // Request-Line = Method SP Request-URI SP SIP-Version
    // One pass per part: the method must be a non-empty token ended by SP
    // (a missing SP and a bad byte are the same error), and likewise the
    // URI is non-empty, free of controls and white space, and ended by SP.
    let m_end = line
        .iter()
        .position(|&b| !is_token_byte(b))
        .filter(|&i| i > 0 && line[i] == b' ')
        .ok_or(err(ErrorKind::BadStartLine, pos))?;
    let rest = &line[m_end + 1..];
    let u_start = pos + m_end + 1;
    let u_len = first_ctl_or(rest, [0x7f])
        .filter(|&i| i > 0 && rest[i] == b' ')
        .ok_or(err(ErrorKind::BadStartLine, u_start))?;
    let v_start = u_start + u_len + 1;
    let version = &buf[v_start..end];
    if !fold_eq(version, b"sip/2.0") {
        return Err(err(ErrorKind::BadVersion, v_start));
    }
    Ok((
        StartLine::Request {
            method: span(pos, pos + m_end),
            uri: span(u_start, u_start + u_len),
            version: span(v_start, end),
        },
        next,
    ))
}

/// Indexes `buf`. In lenient mode (used to salvage a 400 reply) malformed
/// header lines are skipped, the index stops at capacity, and a bad
/// Content-Length makes the body run to the end of the input.
#[inline]
pub(crate) fn index(buf: &[u8], strict: bool) -> Result<Message<'_>, ParseError> {
    if buf.len() > MAX_MESSAGE_LEN {
        return Err(err(ErrorKind::TooLarge, MAX_MESSAGE_LEN));
    }
    let mut pos = buf
        .iter()
        .position(|&b| b != b'\r' && b != b'\n')
        .ok_or(err(ErrorKind::Empty, 0))?;
    let msg_start = pos;
    let (start, next) = parse_start_line(buf, pos)?;
    let start_span = span(pos, next);
    pos = next;

    // The index is filled here and moved into the message once at the end,
    // which saves a copy of the ~1 KB array over building the message first.
    let mut headers = [HeaderEntry::EMPTY; MAX_HEADERS];
    let mut count = 0usize;
    let mut spill: Vec<HeaderEntry> = Vec::new();
    let mut content_length: Option<u32> = None;
    let mut cl_bad = false;

    loop {
        let (end, next) = line_end(buf, pos).ok_or(err(ErrorKind::MissingHeaderEnd, pos))?;
        if end == pos {
            // Empty line: end of headers.
            pos = next;
            break;
        }
        let line_start = pos;
        // Extend over folded continuation lines.
        let mut value_end = end;
        let mut line_next = next;
        while line_next < buf.len() && is_ws(buf[line_next]) {
            let Some((e, n)) = line_end(buf, line_next) else {
                return Err(err(ErrorKind::MissingHeaderEnd, line_next));
            };
            value_end = e;
            line_next = n;
        }
        pos = line_next;

        let Some(entry) = header_line(buf, line_start, value_end, line_next) else {
            if strict {
                return Err(err(ErrorKind::BadHeaderLine, line_start));
            }
            continue;
        };
        if entry.name == HeaderName::ContentLength {
            match parse_u32(entry.value().slice(buf)) {
                Some(n) if content_length.is_none_or(|c| c == n) => content_length = Some(n),
                _ => cl_bad = true,
            }
            if cl_bad && strict {
                return Err(err(
                    ErrorKind::BadContentLength,
                    entry.value().start as usize,
                ));
            }
        }
        if count < MAX_HEADERS {
            headers[count] = entry;
            count += 1;
        } else if spill.len() < MAX_HEADER_LINES {
            if spill.is_empty() {
                spill.reserve(2 * MAX_HEADERS);
                spill.extend_from_slice(&headers);
            }
            spill.push(entry);
        } else if strict {
            return Err(err(ErrorKind::TooManyHeaders, line_start));
        }
    }
    let body_start = pos;
    let body_end = match content_length {
        Some(n) if !cl_bad => {
            // A body shorter than declared is what arrived: Kamailio's
            // parser takes such a datagram (sanity's Content-Length check
            // refuses it, tests/malformed 028); stream framing never hands
            // over a short body.
            (body_start + n as usize).min(buf.len())
        }
        _ => buf.len(),
    };
    Ok(Message::from_parts(
        buf,
        start,
        start_span,
        msg_start,
        (headers, count as u8, spill),
        span(body_start, body_end),
    ))
}

/// Parses one (possibly folded) header line; `None` if malformed.
#[inline]
fn header_line(buf: &[u8], start: usize, value_end: usize, next: usize) -> Option<HeaderEntry> {
    let line = &buf[start..value_end];
    let (name, name_end) = match HeaderName::known_prefix(line) {
        Some(known) => known,
        None => {
            let n = line
                .iter()
                .position(|&b| !is_token_byte(b))
                .unwrap_or(line.len());
            if n == 0 {
                return None;
            }
            (HeaderName::from_bytes(&line[..n]), n)
        }
    };
    let mut i = name_end;
    if let Some(&[b':', b' ', v]) = line
        .get(i..i + 3)
        .and_then(|w| <&[u8; 3]>::try_from(w).ok())
        && v > b' '
    {
        // The usual `Name: value`: no LWS to skip.
        i += 2;
    } else {
        while i < line.len() && is_ws(line[i]) {
            i += 1;
        }
        if line.get(i) != Some(&b':') {
            return None;
        }
        i += 1;
        // Skip leading LWS (including a fold right after the colon).
        while i < line.len() && matches!(line[i], b' ' | b'\t' | b'\r' | b'\n') {
            i += 1;
        }
    }
    let mut v_end = line.len();
    while v_end > i && matches!(line[v_end - 1], b' ' | b'\t' | b'\r' | b'\n') {
        v_end -= 1;
    }
    HeaderEntry::at(name, start, name_end, i, start + v_end, next)
}
