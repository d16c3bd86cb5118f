//! A message's SDP body as Kamailio's SDP parser (`parser/sdp/sdp.c`)
//! hands it to modules: one session (multipart bodies are not looked
//! into here), its connection address, and its media streams with their
//! type, port, transport, payload types, connection address and
//! direction attribute.

use super::Message;

/// One `m=` section.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stream<'b> {
    /// `audio`, `video`...
    pub media: &'b [u8],
    /// The port as written.
    pub port: &'b [u8],
    /// `RTP/AVP`...
    pub transport: &'b [u8],
    /// The format list (payload type numbers for RTP).
    pub payloads: Vec<&'b [u8]>,
    /// Its own `c=` (address type, address), if any.
    pub connection: Option<(&'b [u8], &'b [u8])>,
    /// `sendrecv`, `sendonly`, `recvonly` or `inactive`, from its own
    /// attributes; empty without one.
    pub sendrecv: &'b [u8],
}

/// The SDP of a message.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Sdp<'b> {
    /// The session-level `c=` (address type, address).
    pub connection: Option<(&'b [u8], &'b [u8])>,
    pub streams: Vec<Stream<'b>>,
}

/// Why there is no SDP to look at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NoSdp {
    /// No body (Kamailio's `parse_sdp` returns 1).
    Empty,
    /// A body that is not `application/sdp`, or no Content-Type (-1).
    NotSdp,
}

impl<'b> Sdp<'b> {
    /// The body of `msg` as SDP.
    ///
    /// # Errors
    /// [`NoSdp`].
    pub fn of(msg: &Message<'b>) -> Result<Self, NoSdp> {
        let body = msg.body();
        if body.is_empty() {
            return Err(NoSdp::Empty);
        }
        let Ok(Some(ct)) = msg.content_type() else {
            return Err(NoSdp::NotSdp);
        };
        if !ct.mtype.eq_ignore_ascii_case(b"application")
            || !ct.subtype.eq_ignore_ascii_case(b"sdp")
        {
            return Err(NoSdp::NotSdp);
        }
        Ok(Self::parse(body))
    }

    /// Parses SDP text (lines ending in LF or CRLF).
    pub fn parse(body: &'b [u8]) -> Self {
        let mut s = Sdp::default();
        for line in body.split(|&b| b == b'\n') {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            if let Some(m) = line.strip_prefix(b"m=") {
                let mut f = m.split(|&b| b == b' ').filter(|f| !f.is_empty());
                let media = f.next().unwrap_or_default();
                let port = f.next().unwrap_or_default();
                let transport = f.next().unwrap_or_default();
                s.streams.push(Stream {
                    media,
                    port,
                    transport,
                    payloads: f.collect(),
                    ..Stream::default()
                });
            } else if let Some(c) = line.strip_prefix(b"c=") {
                // `c=IN IP4 192.0.2.1[/ttl]`
                let mut f = c.split(|&b| b == b' ').filter(|f| !f.is_empty());
                let (_net, pf, addr) = (f.next(), f.next(), f.next());
                if let (Some(pf), Some(addr)) = (pf, addr) {
                    let addr = addr.split(|&b| b == b'/').next().unwrap_or(addr);
                    match s.streams.last_mut() {
                        Some(st) => st.connection = Some((pf, addr)),
                        None => s.connection = Some((pf, addr)),
                    }
                }
            } else if let Some(a) = line.strip_prefix(b"a=")
                && let Some(st) = s.streams.last_mut()
                && [&b"sendrecv"[..], b"sendonly", b"recvonly", b"inactive"]
                    .iter()
                    .any(|m| a.eq_ignore_ascii_case(m))
            {
                st.sendrecv = a;
            }
        }
        s
    }
}
