//! Errors of the SIP core.
//!
//! Guarantees: a malformed message is data, never a panic. Every error says
//! what is wrong ([`ErrorKind`]), where (byte offset into the input), and —
//! for [`crate::sip::Message::parse`] — whether a `400 Bad Request` can still
//! be sent, i.e. the input is a request whose start line, Via, From, To,
//! Call-ID and CSeq could be read.

use core::fmt;

use super::header::HeaderName;

/// What is wrong with a message or header value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The input is empty or holds only CRLF keep-alives.
    Empty,
    /// The input is longer than [`crate::sip::MAX_MESSAGE_LEN`].
    TooLarge,
    /// The first line is neither a request line nor a status line.
    BadStartLine,
    /// The protocol version is not `SIP/2.0`.
    BadVersion,
    /// The status code is not three digits in 100..=699.
    BadStatusCode,
    /// A header line has no colon or its name is not a token.
    BadHeaderLine,
    /// More header lines than [`crate::sip::MAX_HEADERS`].
    TooManyHeaders,
    /// The header block does not end with an empty line.
    MissingHeaderEnd,
    /// Content-Length is not a number, or two Content-Length headers differ.
    BadContentLength,
    /// A header the operation needs is absent.
    MissingHeader(HeaderName),
    /// A header value does not match its grammar.
    BadHeaderValue(HeaderName),
    /// A URI does not match the SIP/SIPS/tel URI grammar.
    BadUri,
    /// The operation needs a request but the message is a response (or the
    /// other way round).
    WrongMessageKind,
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => f.write_str("empty message"),
            Self::TooLarge => f.write_str("message too large"),
            Self::BadStartLine => f.write_str("malformed start line"),
            Self::BadVersion => f.write_str("unsupported SIP version"),
            Self::BadStatusCode => f.write_str("malformed status code"),
            Self::BadHeaderLine => f.write_str("malformed header line"),
            Self::TooManyHeaders => f.write_str("too many header lines"),
            Self::MissingHeaderEnd => f.write_str("header block not terminated by an empty line"),
            Self::BadContentLength => f.write_str("malformed or conflicting Content-Length"),
            Self::MissingHeader(h) => write!(f, "missing {} header", h.as_str()),
            Self::BadHeaderValue(h) => write!(f, "malformed {} header", h.as_str()),
            Self::BadUri => f.write_str("malformed URI"),
            Self::WrongMessageKind => f.write_str("wrong message kind (request/response)"),
        }
    }
}

/// A parse or typed-access error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParseError {
    /// What is wrong.
    pub kind: ErrorKind,
    /// Byte offset into the input where the problem was found.
    pub offset: usize,
    /// Whether a `400 Bad Request` can be sent: the input is a request whose
    /// Via, From, To, Call-ID and CSeq are readable (see
    /// [`crate::sip::Message::parse_for_reply`]). Always `false` for errors
    /// of typed accessors; ask [`crate::sip::Message::can_reply_400`] there.
    pub can_reply_400: bool,
}

impl ParseError {
    /// An error of `kind` at `offset`, not replyable.
    pub fn new(kind: ErrorKind, offset: usize) -> Self {
        Self {
            kind,
            offset,
            can_reply_400: false,
        }
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at byte {}", self.kind, self.offset)?;
        if self.can_reply_400 {
            f.write_str(" (400 can be sent)")?;
        }
        Ok(())
    }
}

impl std::error::Error for ParseError {}

/// Errors recorded by the [`crate::sip::edit::Editor`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum EditError {
    /// The edit touches bytes outside the message, or a slice that is not
    /// part of the message buffer was given.
    OutOfMessage,
    /// The edit overlaps an earlier edit (other than replacing exactly the
    /// same range, which supersedes it).
    Overlap,
    /// Reading the part to edit failed.
    Parse(ParseError),
    /// A value to insert contains CR or LF and would break the framing.
    LineBreakInValue,
}

impl fmt::Display for EditError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::OutOfMessage => f.write_str("edit outside the message"),
            Self::Overlap => f.write_str("edit overlaps an earlier edit"),
            Self::Parse(e) => write!(f, "cannot edit: {e}"),
            Self::LineBreakInValue => f.write_str("header value contains CR or LF"),
        }
    }
}

impl std::error::Error for EditError {}

impl From<ParseError> for EditError {
    fn from(e: ParseError) -> Self {
        Self::Parse(e)
    }
}
