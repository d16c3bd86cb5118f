//! [`Message`]: a parsed SIP message that borrows its input.
//!
//! Guarantees: [`Message::parse`] allocates nothing and touches each byte of
//! the start line and header block about once; the message keeps only
//! `u32` spans into the input. Typed accessors parse on demand, return
//! values that borrow the input (`&'a [u8]`), and never allocate or panic;
//! a missing or malformed header is a [`ParseError`] whose offset points at
//! the header value.

use super::addr::{NameAddr, NameAddrSpans};
use super::error::{ErrorKind, ParseError};
use super::header::HeaderName;
use super::parse::{self, MAX_HEADERS};
use super::syntax::{CommaSplit, first_ctl_or, parse_u32, trim_lws};
use super::typed::{CSeq, ContentType, Credentials, Method};
use super::uri::Uri;
use super::via::{Via, ViaSpans};

/// A byte range `start..end` into the message buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Span {
    /// First byte.
    pub start: u32,
    /// One past the last byte.
    pub end: u32,
}

impl Span {
    /// The bytes of `buf` this span covers (empty if out of range).
    #[inline]
    pub fn slice(self, buf: &[u8]) -> &[u8] {
        buf.get(self.start as usize..self.end as usize)
            .unwrap_or_default()
    }

    /// As a `usize` range.
    #[inline]
    pub fn range(self) -> core::ops::Range<usize> {
        self.start as usize..self.end as usize
    }
}

/// One indexed header line, packed into 16 bytes so the inline index of
/// [`MAX_HEADERS`] entries stays small (a name and the offset of the value
/// in its line are at most 65535 bytes, and so is the whitespace between
/// the value and the line's end; longer is a malformed line).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeaderEntry {
    /// The name, mapped once while indexing.
    pub name: HeaderName,
    name_len: u16,
    value_off: u16,
    /// From the value's end to the line's end (trailing LWS and CRLF).
    tail_len: u16,
    line_start: u32,
    value_end: u32,
}

impl HeaderEntry {
    pub(crate) const EMPTY: Self = Self {
        name: HeaderName::Other,
        name_len: 0,
        value_off: 0,
        tail_len: 0,
        line_start: 0,
        value_end: 0,
    };

    /// Packs an entry from offsets (`name_len` and `value_off` relative to
    /// `line_start`); `None` if the name or value offset does not fit.
    #[inline]
    pub(crate) fn at(
        name: HeaderName,
        line_start: usize,
        name_len: usize,
        value_off: usize,
        value_end: usize,
        line_end: usize,
    ) -> Option<Self> {
        // Offsets are below MAX_MESSAGE_LEN (16 MiB), so they fit u32.
        Some(Self {
            name,
            name_len: u16::try_from(name_len).ok()?,
            value_off: u16::try_from(value_off).ok()?,
            tail_len: u16::try_from(line_end.checked_sub(value_end)?).ok()?,
            line_start: line_start as u32,
            value_end: value_end as u32,
        })
    }

    /// The name as written.
    #[inline]
    pub fn name_span(&self) -> Span {
        Span {
            start: self.line_start,
            end: self.line_start + u32::from(self.name_len),
        }
    }

    /// The value, trimmed; folded continuation lines included.
    #[inline]
    pub fn value(&self) -> Span {
        Span {
            start: self.line_start + u32::from(self.value_off),
            end: self.value_end,
        }
    }

    /// The whole line including its (last) line break.
    #[inline]
    pub fn line(&self) -> Span {
        Span {
            start: self.line_start,
            end: self.value_end + u32::from(self.tail_len),
        }
    }
}

/// The first line of a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartLine {
    /// `Method SP Request-URI SP SIP-Version`
    Request {
        /// The method token.
        method: Span,
        /// The Request-URI.
        uri: Span,
        /// The version token.
        version: Span,
    },
    /// `SIP-Version SP Status-Code SP Reason-Phrase`
    Status {
        /// The version token.
        version: Span,
        /// The status code (100..=699).
        code: u16,
        /// The reason phrase (may be empty).
        reason: Span,
    },
}

/// A lazily parsed SIP message borrowing its input.
#[derive(Debug, Clone)]
pub struct Message<'a> {
    buf: &'a [u8],
    start: StartLine,
    start_line: Span,
    msg_start: u32,
    pub(crate) headers: [HeaderEntry; MAX_HEADERS],
    /// How many of `headers` are used.
    pub(crate) count: u8,
    /// Every header line of a message with more than [`MAX_HEADERS`]
    /// (Kamailio takes them; rare, so the usual message does not
    /// allocate), the first [`MAX_HEADERS`] also in `headers`.
    pub(crate) spill: Vec<HeaderEntry>,
    pub(crate) body: Span,
    /// The top Via, parsed at most once (the receipt check, tm, sanity and
    /// reply building all read it).
    via1: std::cell::OnceCell<Result<ViaSpans, ParseError>>,
    /// From and To, parsed at most once each.
    from1: std::cell::OnceCell<Result<NameAddrSpans, ParseError>>,
    to1: std::cell::OnceCell<Result<NameAddrSpans, ParseError>>,
}

impl<'a> Message<'a> {
    #[inline(always)]
    pub(crate) fn from_parts(
        buf: &'a [u8],
        start: StartLine,
        start_line: Span,
        msg_start: usize,
        (headers, count, spill): ([HeaderEntry; MAX_HEADERS], u8, Vec<HeaderEntry>),
        body: Span,
    ) -> Self {
        Self {
            buf,
            start,
            start_line,
            msg_start: msg_start as u32,
            headers,
            count,
            spill,
            body,
            via1: std::cell::OnceCell::new(),
            from1: std::cell::OnceCell::new(),
            to1: std::cell::OnceCell::new(),
        }
    }

    /// Parses the start line and indexes the header lines of one message
    /// (one datagram, or one frame cut by [`crate::sip::framing`]).
    ///
    /// # Errors
    /// A [`ParseError`] saying what is wrong and whether a 400 can be sent.
    #[inline]
    pub fn parse(buf: &'a [u8]) -> Result<Self, ParseError> {
        match parse::index(buf, true) {
            Ok(m) => Ok(m),
            Err(mut e) => {
                e.can_reply_400 = Self::parse_for_reply(buf).is_some();
                Err(e)
            }
        }
    }

    /// Lenient parse of a request that [`Message::parse`] rejected: skips
    /// malformed header lines and ignores a bad Content-Length. Returns the
    /// message only if it is a request whose Via, From, To, Call-ID and CSeq
    /// are readable, so that [`crate::sip::reply::build`] can answer 400.
    pub fn parse_for_reply(buf: &'a [u8]) -> Option<Self> {
        let m = parse::index(buf, false).ok()?;
        m.can_reply_400().then_some(m)
    }

    /// Whether this is a request whose Via, From, To, Call-ID and CSeq are
    /// readable (the headers a reply copies).
    pub fn can_reply_400(&self) -> bool {
        self.is_request()
            && self.via_top().is_ok()
            && self.from().is_ok()
            && self.to().is_ok()
            && self.call_id().is_ok()
            && self.cseq().is_ok()
    }

    /// The whole input buffer given to `parse`.
    pub fn buffer(&self) -> &'a [u8] {
        self.buf
    }

    /// The message bytes: from the start line to the end of the body
    /// (leading CRLFs and bytes after Content-Length excluded).
    pub fn as_bytes(&self) -> &'a [u8] {
        self.buf
            .get(self.msg_start as usize..self.body.end as usize)
            .unwrap_or_default()
    }

    /// Offset of the start line in [`Message::buffer`].
    pub fn start_offset(&self) -> usize {
        self.msg_start as usize
    }

    /// The parsed start line (spans into [`Message::buffer`]).
    pub fn start_line(&self) -> &StartLine {
        &self.start
    }

    /// The start line including its line break.
    pub fn start_line_span(&self) -> Span {
        self.start_line
    }

    /// The bytes of `span`.
    #[inline]
    pub fn slice(&self, span: Span) -> &'a [u8] {
        span.slice(self.buf)
    }

    /// Whether this is a request.
    pub fn is_request(&self) -> bool {
        matches!(self.start, StartLine::Request { .. })
    }

    /// The request method, `None` for a response.
    pub fn method(&self) -> Option<Method<'a>> {
        match self.start {
            StartLine::Request { method, .. } => Some(Method::from_bytes(self.slice(method))),
            StartLine::Status { .. } => None,
        }
    }

    /// The Request-URI as written, `None` for a response.
    pub fn ruri_bytes(&self) -> Option<&'a [u8]> {
        match self.start {
            StartLine::Request { uri, .. } => Some(self.slice(uri)),
            StartLine::Status { .. } => None,
        }
    }

    /// The parsed Request-URI.
    ///
    /// # Errors
    /// [`ErrorKind::WrongMessageKind`] for a response, [`ErrorKind::BadUri`].
    pub fn ruri(&self) -> Result<Uri<'a>, ParseError> {
        match self.start {
            StartLine::Request { uri, .. } => Uri::parse(self.slice(uri))
                .map_err(|e| ParseError::new(e.kind, uri.start as usize + e.offset)),
            StartLine::Status { .. } => Err(ParseError::new(ErrorKind::WrongMessageKind, 0)),
        }
    }

    /// The status code, `None` for a request.
    pub fn status(&self) -> Option<u16> {
        match self.start {
            StartLine::Status { code, .. } => Some(code),
            StartLine::Request { .. } => None,
        }
    }

    /// The reason phrase, `None` for a request.
    pub fn reason(&self) -> Option<&'a [u8]> {
        match self.start {
            StartLine::Status { reason, .. } => Some(self.slice(reason)),
            StartLine::Request { .. } => None,
        }
    }

    /// All indexed header lines in order.
    #[inline]
    pub fn headers(&self) -> &[HeaderEntry] {
        if self.spill.is_empty() {
            self.inline_headers()
        } else {
            &self.spill
        }
    }

    /// The first [`MAX_HEADERS`] header lines (all of them, unless the
    /// message spilled).
    #[inline(always)]
    fn inline_headers(&self) -> &[HeaderEntry] {
        &self.headers[..usize::from(self.count).min(MAX_HEADERS)]
    }

    /// Offset where the header block starts (just after the start line).
    pub fn headers_start(&self) -> usize {
        self.start_line.end as usize
    }

    /// Offset of the empty line ending the header block.
    pub fn headers_end(&self) -> usize {
        self.headers()
            .last()
            .map_or(self.start_line.end, |h| h.line().end) as usize
    }

    /// The body (empty if none).
    pub fn body(&self) -> &'a [u8] {
        self.slice(self.body)
    }

    /// The body span.
    pub fn body_span(&self) -> Span {
        self.body
    }

    /// The first header line named `name`.
    #[inline]
    pub fn header_entry(&self, name: HeaderName) -> Option<&HeaderEntry> {
        // The inline index first: a spilled message costs the usual one
        // nothing more until a lookup misses there.
        self.inline_headers()
            .iter()
            .find(|h| h.name == name)
            .or_else(|| {
                self.spill
                    .get(MAX_HEADERS..)?
                    .iter()
                    .find(|h| h.name == name)
            })
    }

    /// The value of the first header named `name`.
    #[inline]
    pub fn header(&self, name: HeaderName) -> Option<&'a [u8]> {
        self.header_entry(name).map(|h| self.slice(h.value()))
    }

    /// The values of every header line named `name`, in order.
    pub fn header_values(&self, name: HeaderName) -> impl Iterator<Item = &'a [u8]> + '_ {
        self.headers()
            .iter()
            .filter(move |h| h.name == name)
            .map(|h| self.slice(h.value()))
    }

    /// The value of the first header whose name (as written, any case, or
    /// the compact form of a known header) equals `name`.
    pub fn header_by_name(&self, name: &[u8]) -> Option<&'a [u8]> {
        let hn = HeaderName::from_bytes(name);
        self.headers()
            .iter()
            .find(|h| {
                h.name == hn
                    && (hn != HeaderName::Other
                        || self.slice(h.name_span()).eq_ignore_ascii_case(name))
            })
            .map(|h| self.slice(h.value()))
    }

    /// The elements of a comma-separated list header, across all its lines.
    pub fn list(&self, name: HeaderName) -> ListValues<'_, 'a> {
        ListValues {
            msg: self,
            name,
            next_header: 0,
            current: CommaSplit::new(&[]),
        }
    }

    fn required(&self, name: HeaderName) -> Result<(&'a [u8], usize), ParseError> {
        let h = self
            .header_entry(name)
            .ok_or_else(|| ParseError::new(ErrorKind::MissingHeader(name), self.headers_end()))?;
        Ok((self.slice(h.value()), h.value().start as usize))
    }

    /// The topmost Via (first element of the first Via header).
    ///
    /// # Errors
    /// Missing or malformed Via.
    pub fn via_top(&self) -> Result<Via<'a>, ParseError> {
        let spans = self.via1.get_or_init(|| {
            let (v, off) = self.required(HeaderName::Via)?;
            // Fast path: one via-parm per line is the common case.
            let first = if memchr::memchr(b',', v).is_none() {
                v
            } else {
                CommaSplit::new(v).next().unwrap_or_default()
            };
            let via = Via::parse(first).ok_or(bad(HeaderName::Via, off))?;
            Ok(ViaSpans::of(self.buf, &via))
        });
        spans.map(|s| s.get(self.buf))
    }

    /// Every Via, in order, across lines and comma-separated values.
    pub fn vias(&self) -> impl Iterator<Item = Result<Via<'a>, ParseError>> + '_ {
        self.list(HeaderName::Via)
            .map(|v| Via::parse(v).ok_or(bad(HeaderName::Via, self.offset_of(v).unwrap_or(0))))
    }

    fn name_addr(&self, name: HeaderName) -> Result<NameAddr<'a>, ParseError> {
        let (v, off) = self.required(name)?;
        NameAddr::parse(v).ok_or(bad(name, off))
    }

    /// The From header.
    ///
    /// # Errors
    /// Missing or malformed From.
    pub fn from(&self) -> Result<NameAddr<'a>, ParseError> {
        self.kept_name_addr(&self.from1, HeaderName::From)
    }

    /// The To header.
    ///
    /// # Errors
    /// Missing or malformed To.
    pub fn to(&self) -> Result<NameAddr<'a>, ParseError> {
        self.kept_name_addr(&self.to1, HeaderName::To)
    }

    /// [`Message::name_addr`], parsed once into `cell`.
    fn kept_name_addr(
        &self,
        cell: &std::cell::OnceCell<Result<NameAddrSpans, ParseError>>,
        name: HeaderName,
    ) -> Result<NameAddr<'a>, ParseError> {
        let spans = cell.get_or_init(|| {
            let na = self.name_addr(name)?;
            Ok(NameAddrSpans::of(self.buf, &na))
        });
        spans.map(|s| s.get(self.buf))
    }

    /// The Call-ID value.
    ///
    /// # Errors
    /// Missing, empty, or containing white space.
    pub fn call_id(&self) -> Result<&'a [u8], ParseError> {
        let (v, off) = self.required(HeaderName::CallId)?;
        if v.is_empty() || first_ctl_or(v, [0x7f]).is_some() {
            return Err(bad(HeaderName::CallId, off));
        }
        Ok(v)
    }

    /// The CSeq header.
    ///
    /// # Errors
    /// Missing or malformed CSeq.
    pub fn cseq(&self) -> Result<CSeq<'a>, ParseError> {
        let (v, off) = self.required(HeaderName::CSeq)?;
        CSeq::parse(v).ok_or(bad(HeaderName::CSeq, off))
    }

    fn number(&self, name: HeaderName) -> Result<Option<u32>, ParseError> {
        match self.header_entry(name) {
            None => Ok(None),
            Some(h) => parse_u32(self.slice(h.value()))
                .map(Some)
                .ok_or(bad(name, h.value().start as usize)),
        }
    }

    /// Max-Forwards, `None` if absent.
    ///
    /// # Errors
    /// Not a decimal number.
    pub fn max_forwards(&self) -> Result<Option<u32>, ParseError> {
        self.number(HeaderName::MaxForwards)
    }

    /// Expires, `None` if absent.
    ///
    /// # Errors
    /// Not a decimal number.
    pub fn expires(&self) -> Result<Option<u32>, ParseError> {
        self.number(HeaderName::Expires)
    }

    /// Content-Length as indexed, `None` if absent.
    pub fn content_length(&self) -> Option<u32> {
        self.header(HeaderName::ContentLength).and_then(parse_u32)
    }

    /// Content-Type, `None` if absent.
    ///
    /// # Errors
    /// Malformed media type.
    pub fn content_type(&self) -> Result<Option<ContentType<'a>>, ParseError> {
        match self.header_entry(HeaderName::ContentType) {
            None => Ok(None),
            Some(h) => ContentType::parse(self.slice(h.value()))
                .map(Some)
                .ok_or(bad(HeaderName::ContentType, h.value().start as usize)),
        }
    }

    /// Whether the Contact is `*` (REGISTER removing all bindings).
    pub fn contact_is_star(&self) -> bool {
        self.header(HeaderName::Contact)
            .is_some_and(|v| trim_lws(v) == b"*")
    }

    /// Every Contact, across lines and comma-separated values (`*` is an
    /// error here; check [`Message::contact_is_star`] first).
    pub fn contacts(&self) -> NameAddrs<'_, 'a> {
        NameAddrs(self.list(HeaderName::Contact))
    }

    /// Every Route, in order.
    pub fn routes(&self) -> NameAddrs<'_, 'a> {
        NameAddrs(self.list(HeaderName::Route))
    }

    /// Every Record-Route, in order.
    pub fn record_routes(&self) -> NameAddrs<'_, 'a> {
        NameAddrs(self.list(HeaderName::RecordRoute))
    }

    /// Every Path, in order.
    pub fn paths(&self) -> NameAddrs<'_, 'a> {
        NameAddrs(self.list(HeaderName::Path))
    }

    /// Tokens of Allow.
    pub fn allow(&self) -> ListValues<'_, 'a> {
        self.list(HeaderName::Allow)
    }

    /// Tokens of Supported.
    pub fn supported(&self) -> ListValues<'_, 'a> {
        self.list(HeaderName::Supported)
    }

    /// Tokens of Require.
    pub fn require(&self) -> ListValues<'_, 'a> {
        self.list(HeaderName::Require)
    }

    fn credentials(&self, name: HeaderName) -> Result<Option<Credentials<'a>>, ParseError> {
        match self.header_entry(name) {
            None => Ok(None),
            Some(h) => Credentials::parse(self.slice(h.value()))
                .map(Some)
                .ok_or(bad(name, h.value().start as usize)),
        }
    }

    /// The first Authorization header.
    ///
    /// # Errors
    /// Malformed credentials.
    pub fn authorization(&self) -> Result<Option<Credentials<'a>>, ParseError> {
        self.credentials(HeaderName::Authorization)
    }

    /// The first Proxy-Authorization header.
    ///
    /// # Errors
    /// Malformed credentials.
    pub fn proxy_authorization(&self) -> Result<Option<Credentials<'a>>, ParseError> {
        self.credentials(HeaderName::ProxyAuthorization)
    }

    /// Offset of `part` in [`Message::buffer`] if `part` is a sub-slice of it.
    pub fn offset_of(&self, part: &[u8]) -> Option<usize> {
        let base = self.buf.as_ptr() as usize;
        let p = part.as_ptr() as usize;
        let off = p.checked_sub(base)?;
        (off + part.len() <= self.buf.len()).then_some(off)
    }
}

#[inline]
fn bad(name: HeaderName, offset: usize) -> ParseError {
    ParseError::new(ErrorKind::BadHeaderValue(name), offset)
}

/// Elements of a comma-separated list header across all its lines.
#[derive(Debug, Clone)]
pub struct ListValues<'m, 'a> {
    msg: &'m Message<'a>,
    name: HeaderName,
    next_header: usize,
    current: CommaSplit<'a>,
}

impl<'a> Iterator for ListValues<'_, 'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        loop {
            if let Some(v) = self.current.next() {
                return Some(v);
            }
            let headers = self.msg.headers();
            let i = self.next_header
                + headers
                    .get(self.next_header..)?
                    .iter()
                    .position(|h| h.name == self.name)?;
            self.next_header = i + 1;
            self.current = CommaSplit::new(self.msg.slice(headers[i].value()));
        }
    }
}

/// Name-addr elements of a list header (Contact, Route, Record-Route, Path).
#[derive(Debug, Clone)]
pub struct NameAddrs<'m, 'a>(ListValues<'m, 'a>);

impl<'a> Iterator for NameAddrs<'_, 'a> {
    type Item = Result<NameAddr<'a>, ParseError>;

    fn next(&mut self) -> Option<Self::Item> {
        let name = self.0.name;
        let v = self.0.next()?;
        let off = self.0.msg.offset_of(v).unwrap_or(0);
        Some(NameAddr::parse(v).ok_or(bad(name, off)))
    }
}
