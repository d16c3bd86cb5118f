//! Unit tests of the SIP core, one file per RFC 3261 §25 grammar area.

mod addr;
mod edit;
mod errors;
mod framing;
mod headers;
mod reply;
mod start_line;
mod torture;
mod typed;
mod uri;
mod via;

/// The ~950 B INVITE used by tests and benchmarks (2 Via, Route,
/// Record-Route, Contact, SDP).
pub(super) const INVITE: &[u8] = include_bytes!("../../../tests/data/invite.sip");
/// A REGISTER with Digest Authorization.
pub(super) const REGISTER: &[u8] = include_bytes!("../../../tests/data/register.sip");

/// Turns `\n` line ends into CRLF (tests are written with plain newlines).
pub(super) fn crlf(s: &str) -> Vec<u8> {
    s.replace('\n', "\r\n").into_bytes()
}
