//! Message framing (RFC 3261 §18.3).
//!
//! Guarantees: datagrams need no framer — one datagram is one message and
//! [`crate::sip::Message::parse`] discards bytes after Content-Length.
//! For stream transports (TCP, TLS, WebSocket byte streams)
//! [`frame_stream`] finds the end of the first message in a buffer using
//! Content-Length, skipping leading CRLF keep-alives (RFC 5626 §3.5.1),
//! within configurable size limits. It only reads the buffer: no
//! allocation, no panics, and the work per call is bounded by the limits.

use memchr::memmem;

use super::header::HeaderName;
use super::syntax::{is_ws, parse_u32, trim_lws};

/// Size limits of a stream framer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Maximum bytes of start line + headers + empty line.
    pub max_header_bytes: usize,
    /// Maximum body bytes (Content-Length value).
    pub max_body_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_header_bytes: 16 * 1024,
            max_body_bytes: 64 * 1024,
        }
    }
}

/// Result of [`frame_stream`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Frame {
    /// A whole message is `buf[start..end]`; consume `end` bytes. `start`
    /// skips leading keep-alive CRLFs.
    Complete {
        /// First byte of the message.
        start: usize,
        /// One past its last byte.
        end: usize,
    },
    /// More bytes are needed. `skip` leading keep-alive bytes may be
    /// consumed already.
    Incomplete {
        /// Keep-alive CR/LF bytes at the front.
        skip: usize,
    },
    /// The stream cannot be framed; close the connection.
    Error(FrameError),
}

/// Why a stream cannot be framed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum FrameError {
    /// Headers longer than [`Limits::max_header_bytes`].
    HeadersTooLarge,
    /// Content-Length larger than [`Limits::max_body_bytes`].
    BodyTooLarge,
    /// No Content-Length (mandatory on streams, RFC 3261 §20.14).
    MissingContentLength,
    /// Content-Length is not a number, or two differ.
    BadContentLength,
}

impl core::fmt::Display for FrameError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            Self::HeadersTooLarge => "headers exceed the size limit",
            Self::BodyTooLarge => "body exceeds the size limit",
            Self::MissingContentLength => "missing Content-Length on a stream",
            Self::BadContentLength => "malformed or conflicting Content-Length",
        })
    }
}

impl std::error::Error for FrameError {}

/// Finds the first message in a stream buffer.
pub fn frame_stream(buf: &[u8], limits: &Limits) -> Frame {
    let start = buf
        .iter()
        .position(|&b| b != b'\r' && b != b'\n')
        .unwrap_or(buf.len());
    let rest = &buf[start..];
    if rest.is_empty() {
        return Frame::Incomplete { skip: start };
    }
    let window = &rest[..rest.len().min(limits.max_header_bytes)];
    let Some((head_len, sep_len)) = header_end(window) else {
        if rest.len() >= limits.max_header_bytes {
            return Frame::Error(FrameError::HeadersTooLarge);
        }
        return Frame::Incomplete { skip: start };
    };
    let head = &rest[..head_len];
    let mut cl: Option<u32> = None;
    // Skip the start line, then look at each header line's name.
    let mut lines = head.split(|&b| b == b'\n').skip(1);
    for line in lines.by_ref() {
        if line.first().is_some_and(|&b| is_ws(b)) {
            continue; // folded continuation
        }
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            continue;
        };
        let name = trim_lws(&line[..colon]);
        if HeaderName::from_bytes(name) != HeaderName::ContentLength {
            continue;
        }
        match parse_u32(trim_lws(&line[colon + 1..])) {
            Some(n) if cl.is_none_or(|c| c == n) => cl = Some(n),
            _ => return Frame::Error(FrameError::BadContentLength),
        }
    }
    let Some(cl) = cl else {
        return Frame::Error(FrameError::MissingContentLength);
    };
    let cl = cl as usize;
    if cl > limits.max_body_bytes {
        return Frame::Error(FrameError::BodyTooLarge);
    }
    let end = start + head_len + sep_len + cl;
    if end > buf.len() {
        return Frame::Incomplete { skip: start };
    }
    Frame::Complete { start, end }
}

/// Length of the header block (up to, not including, the empty line) and
/// of the separator, for CRLFCRLF or LFLF.
fn header_end(s: &[u8]) -> Option<(usize, usize)> {
    let crlf = memmem::find(s, b"\r\n\r\n").map(|i| (i + 2, 2));
    let lf = memmem::find(s, b"\n\n").map(|i| (i + 1, 1));
    match (crlf, lf) {
        (Some(a), Some(b)) => Some(if a.0 <= b.0 { a } else { b }),
        (a, b) => a.or(b),
    }
}
