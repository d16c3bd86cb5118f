//! SIP messages: lazy zero-copy parsing, typed access, editing and replies.
//!
//! Sans-IO: pure functions and data over bytes; no sockets, no clock.
//!
//! * [`Message::parse`] indexes the start line and header lines in one pass
//!   without allocating ([`parse`]).
//! * Typed values ([`uri`], [`via`], [`addr`], [`typed`]) are parsed on
//!   demand and borrow the message buffer.
//! * [`edit::Editor`] records Kamailio-style lumps and splices them into a
//!   new buffer without re-rendering untouched bytes ([`encode`]).
//! * [`reply::build`] makes a locally generated reply the way Kamailio does.
//! * [`framing`] cuts messages out of a stream transport buffer.

pub mod addr;
pub mod edit;
pub mod encode;
pub mod error;
pub mod framing;
pub mod header;
pub mod message;
pub mod multipart;
pub mod parse;
pub mod reply;
pub mod roundtrip;
pub mod sdp;
pub mod syntax;
pub mod typed;
pub mod uri;
pub mod via;

#[cfg(test)]
mod tests;

pub use addr::NameAddr;
pub use edit::Editor;
pub use error::{EditError, ErrorKind, ParseError};
pub use header::HeaderName;
pub use message::{HeaderEntry, Message, Span, StartLine};
pub use parse::{MAX_HEADERS, MAX_MESSAGE_LEN};
pub use typed::{CSeq, ContentType, Credentials, Method};
pub use uri::{Scheme, Uri};
pub use via::Via;
