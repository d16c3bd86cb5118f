//! Sans-IO framing of one stream connection (TCP now, TLS later).
//!
//! [`StreamFramer`] buffers what a connection has read and yields complete
//! messages (cut with [`crate::sip::framing::frame_stream`]) and CRLF
//! keep-alive pings (RFC 5626 §3.5.1). It holds at most one message of
//! `max_message_size` bytes, and its work per byte read is bounded: it
//! looks for the end of the headers incrementally and, once the headers
//! are complete, learns the message length once and then only compares
//! lengths until the body is complete, so a peer trickling a message byte
//! by byte costs linear, not quadratic, time.

use memchr::memmem;

use crate::sip::framing::{Frame, FrameError, Limits, frame_stream};

/// One thing read from a stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Item<'a> {
    /// A CRLF keep-alive ping (`\r\n\r\n`); answer with `\r\n`.
    Ping,
    /// One complete SIP message.
    Message(&'a [u8]),
}

/// Why a stream cannot go on; close the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamError {
    /// The framer rejected the stream.
    Frame(FrameError),
    /// A message larger than the size limit.
    TooLarge,
}

impl core::fmt::Display for StreamError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Frame(e) => e.fmt(f),
            Self::TooLarge => f.write_str("message exceeds the size limit"),
        }
    }
}

impl std::error::Error for StreamError {}

/// Framing state of one stream connection.
#[derive(Debug, Clone)]
pub struct StreamFramer {
    buf: Vec<u8>,
    /// Bytes at the front of `buf` already handed out.
    pos: usize,
    limits: Limits,
    max: usize,
    /// Bytes of the current message searched for a header end in vain.
    scanned: usize,
    /// The current message's headers are complete.
    head_found: bool,
    /// The current message's total length, once known.
    need: Option<usize>,
    failed: Option<StreamError>,
}

impl StreamFramer {
    /// A framer for messages of at most `max_message_size` bytes (headers
    /// and body).
    pub fn new(max_message_size: usize) -> Self {
        Self {
            buf: Vec::new(),
            pos: 0,
            limits: Limits {
                max_header_bytes: max_message_size,
                max_body_bytes: max_message_size,
            },
            max: max_message_size,
            scanned: 0,
            head_found: false,
            need: None,
            failed: None,
        }
    }

    /// How many bytes [`StreamFramer::push`] takes now; read no more than
    /// this. Positive unless the framer has failed.
    pub fn room(&self) -> usize {
        if self.failed.is_some() {
            return 0;
        }
        self.max
            .saturating_add(4)
            .saturating_sub(self.buf.len() - self.pos)
    }

    /// Appends bytes read from the stream. Bytes beyond
    /// [`StreamFramer::room`] fail the stream with
    /// [`StreamError::TooLarge`].
    pub fn push(&mut self, data: &[u8]) {
        if self.pos > 0 {
            self.buf.drain(..self.pos);
            self.pos = 0;
        }
        if data.len() > self.room() {
            self.failed.get_or_insert(StreamError::TooLarge);
            return;
        }
        self.buf.extend_from_slice(data);
    }

    /// Whether part of a message (not just keep-alive bytes) is buffered.
    pub fn has_partial(&self) -> bool {
        self.buf
            .get(self.pos)
            .is_some_and(|&b| b != b'\r' && b != b'\n')
    }

    /// The next ping or complete message; `None` when more bytes are
    /// needed. After an error every call returns that error.
    pub fn next_item(&mut self) -> Option<Result<Item<'_>, StreamError>> {
        if let Some(e) = self.failed {
            return Some(Err(e));
        }
        // Keep-alives sit between messages only.
        loop {
            let rest = &self.buf[self.pos..];
            if rest.starts_with(b"\r\n\r\n") {
                self.pos += 4;
                return Some(Ok(Item::Ping));
            }
            if rest.len() < 4 && b"\r\n\r\n".starts_with(rest) {
                return None; // nothing, or perhaps the start of a ping
            }
            if rest[0] == b'\r' || rest[0] == b'\n' {
                self.pos += 1; // a stray CR/LF, e.g. the peer's pong
                continue;
            }
            break;
        }
        let rest = &self.buf[self.pos..];
        match self.need {
            Some(n) if rest.len() < n => return None,
            Some(_) => {}
            None if !self.head_found => {
                let from = self.scanned.saturating_sub(3);
                if has_header_end(&rest[from..]) {
                    self.head_found = true;
                } else {
                    self.scanned = rest.len();
                    if rest.len() < self.limits.max_header_bytes {
                        return None; // frame_stream would say Incomplete
                    }
                }
            }
            None => {}
        }
        match frame_stream(rest, &self.limits) {
            Frame::Complete { start, end } => {
                if end - start > self.max {
                    return Some(Err(self.fail(StreamError::TooLarge)));
                }
                let (s, e) = (self.pos + start, self.pos + end);
                self.pos = e;
                self.scanned = 0;
                self.head_found = false;
                self.need = None;
                Some(Ok(Item::Message(&self.buf[s..e])))
            }
            Frame::Incomplete { .. } => {
                // Only the body is missing: the headers are complete,
                // since without them frame_stream says Incomplete only
                // below max_header_bytes, which returned above.
                if self.need.is_none() {
                    match message_len(rest, &self.limits) {
                        Ok(n) => self.need = Some(n),
                        Err(e) => return Some(Err(self.fail(e))),
                    }
                }
                if self.need.is_some_and(|n| n > self.max) {
                    return Some(Err(self.fail(StreamError::TooLarge)));
                }
                None
            }
            Frame::Error(e) => Some(Err(self.fail(StreamError::Frame(e)))),
        }
    }

    fn fail(&mut self, e: StreamError) -> StreamError {
        self.failed = Some(e);
        e
    }
}

/// Whether `s` holds an end of headers (CRLFCRLF or LFLF).
fn has_header_end(s: &[u8]) -> bool {
    memmem::find(s, b"\n\n").is_some() || memmem::find(s, b"\r\n\r\n").is_some()
}

/// Total length of the message whose complete headers start `rest`:
/// frame a copy padded with the largest body allowed. Called once per
/// message that arrives in pieces.
fn message_len(rest: &[u8], limits: &Limits) -> Result<usize, StreamError> {
    let mut probe = Vec::with_capacity(rest.len() + limits.max_body_bytes);
    probe.extend_from_slice(rest);
    probe.resize(rest.len() + limits.max_body_bytes, 0);
    match frame_stream(&probe, limits) {
        Frame::Complete { end, .. } => Ok(end),
        Frame::Error(e) => Err(StreamError::Frame(e)),
        Frame::Incomplete { .. } => Err(StreamError::TooLarge),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(body: &str) -> Vec<u8> {
        format!(
            "MESSAGE sip:a@b SIP/2.0\r\nVia: SIP/2.0/TCP h;branch=z9hG4bK1\r\nl: {}\r\n\r\n{body}",
            body.len()
        )
        .into_bytes()
    }

    /// Feeds `chunks` and collects what comes out (`None` for a ping).
    fn run(f: &mut StreamFramer, chunks: &[&[u8]]) -> Result<Vec<Option<Vec<u8>>>, StreamError> {
        let mut out = Vec::new();
        for c in chunks {
            f.push(c);
            while let Some(item) = f.next_item() {
                match item? {
                    Item::Ping => out.push(None),
                    Item::Message(m) => out.push(Some(m.to_vec())),
                }
            }
        }
        Ok(out)
    }

    #[test]
    fn every_split_point_frames_the_same() {
        let mut stream = b"\r\n\r\n".to_vec();
        let a = msg("hello");
        let b = msg("");
        stream.extend_from_slice(&a);
        stream.extend_from_slice(b"\r\n\r\n");
        stream.extend_from_slice(&b);
        let want = vec![None, Some(a.clone()), None, Some(b.clone())];
        for i in 0..=stream.len() {
            for j in i..=stream.len() {
                let mut f = StreamFramer::new(1024);
                let got = run(&mut f, &[&stream[..i], &stream[i..j], &stream[j..]]);
                assert_eq!(got.as_ref(), Ok(&want), "split at {i}, {j}");
                assert!(!f.has_partial());
            }
        }
    }

    #[test]
    fn byte_by_byte() {
        let a = msg(&"x".repeat(300));
        let mut f = StreamFramer::new(1024);
        let chunks: Vec<&[u8]> = a.chunks(1).collect();
        assert_eq!(run(&mut f, &chunks), Ok(vec![Some(a.clone())]));
    }

    #[test]
    fn lf_only_headers() {
        let m = b"OPTIONS sip:a@b SIP/2.0\nContent-Length: 2\n\nhi".to_vec();
        let mut f = StreamFramer::new(1024);
        let chunks: Vec<&[u8]> = m.chunks(3).collect();
        assert_eq!(run(&mut f, &chunks), Ok(vec![Some(m.clone())]));
    }

    #[test]
    fn stray_crlf_before_message_is_skipped() {
        let a = msg("");
        let mut s = b"\r\n".to_vec();
        s.extend_from_slice(&a);
        let mut f = StreamFramer::new(1024);
        assert_eq!(run(&mut f, &[&s]), Ok(vec![Some(a)]));
    }

    #[test]
    fn errors_are_sticky() {
        let mut f = StreamFramer::new(1024);
        let e = run(&mut f, &[b"INVITE sip:x SIP/2.0\r\n\r\n"]);
        assert_eq!(e, Err(StreamError::Frame(FrameError::MissingContentLength)));
        assert_eq!(
            f.next_item(),
            Some(Err(StreamError::Frame(FrameError::MissingContentLength)))
        );
        assert_eq!(f.room(), 0);
    }

    #[test]
    fn size_limits() {
        // Body over the limit, known from the headers.
        let mut f = StreamFramer::new(100);
        let r = run(&mut f, &[b"M sip:x SIP/2.0\r\nContent-Length: 500\r\n\r\n"]);
        assert!(r.is_err());
        // Headers plus body over the limit, each under it.
        let mut f = StreamFramer::new(100);
        let head = b"M sip:x SIP/2.0\r\nContent-Length: 80\r\n\r\n";
        assert!(run(&mut f, &[head]).is_err());
        // Headers that never end.
        let mut f = StreamFramer::new(100);
        let junk = [b'a'; 60];
        assert_eq!(run(&mut f, &[&junk]), Ok(vec![]));
        assert!(f.has_partial());
        let take = f.room().min(60);
        assert!(run(&mut f, &[&junk[..take]]).is_err());
        // Pushing past room fails.
        let mut f = StreamFramer::new(10);
        f.push(&[b'a'; 15]);
        assert_eq!(f.next_item(), Some(Err(StreamError::TooLarge)));
    }

    #[test]
    fn exact_limit_is_accepted() {
        let m = msg("0123456789");
        let mut f = StreamFramer::new(m.len());
        let chunks: Vec<&[u8]> = m.chunks(7).collect();
        assert_eq!(run(&mut f, &chunks), Ok(vec![Some(m.clone())]));
        let mut f = StreamFramer::new(m.len() - 1);
        assert!(run(&mut f, &chunks).is_err());
    }

    #[test]
    fn garbage_never_panics() {
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..2000 {
            let mut f = StreamFramer::new(256);
            for _ in 0..8 {
                let mut chunk = Vec::new();
                for _ in 0..(seed % 64) {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    let alphabet = b"\r\n: 0123456789Content-Length l SIP/2.0 INVITE";
                    chunk.push(alphabet[(seed % alphabet.len() as u64) as usize]);
                }
                seed = seed.wrapping_add(1);
                let take = chunk.len().min(f.room());
                f.push(&chunk[..take]);
                while let Some(item) = f.next_item() {
                    if item.is_err() {
                        break;
                    }
                }
            }
        }
    }
}
