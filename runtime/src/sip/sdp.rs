//! A message's SDP body as Kamailio's SDP parser (`parser/sdp/sdp.c`)
//! hands it to modules: one session (multipart bodies are not looked
//! into here), its connection address, and its media streams with their
//! type, port, transport, payload types, connection address, direction
//! attribute and `a=rtpmap` names, each a slice of the message buffer so
//! that editors (sdpops) can find where it lies.

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
    /// The format list as written: from the first format to the end of
    /// the `m=` line (Kamailio's `payloads`).
    pub payloads_raw: &'b [u8],
    /// `(payload type, encoding name)` of each `a=rtpmap` whose payload
    /// type is in the format list, in the order written.
    pub rtpmaps: Vec<(&'b [u8], &'b [u8])>,
    /// The whole stream: from its `m=` to the next `m=` or the end of the
    /// body (Kamailio's `raw_stream`).
    pub raw: &'b [u8],
}

/// The SDP of a message.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Sdp<'b> {
    /// The session-level `c=` (address type, address).
    pub connection: Option<(&'b [u8], &'b [u8])>,
    /// The `o=` line's session version (its third field), if any.
    pub sess_version: Option<&'b [u8]>,
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
        let mut at = 0;
        // Where the current stream starts, to close its `raw` at the next.
        let mut stream_at = None;
        for line in body.split(|&b| b == b'\n') {
            let start = at;
            at += line.len() + 1;
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            if let Some(m) = line.strip_prefix(b"m=") {
                if let (Some(st), Some(from)) = (s.streams.last_mut(), stream_at) {
                    st.raw = &body[from..start];
                }
                stream_at = Some(start);
                let mut f = m.split(|&b| b == b' ').filter(|f| !f.is_empty());
                let media = f.next().unwrap_or_default();
                let port = f.next().unwrap_or_default();
                let transport = f.next().unwrap_or_default();
                let payloads: Vec<&[u8]> = f.collect();
                let m = m.trim_ascii_end();
                let payloads_raw = match payloads.first() {
                    Some(first) => {
                        let from = first.as_ptr() as usize - m.as_ptr() as usize;
                        &m[from.min(m.len())..]
                    }
                    None => &m[m.len()..],
                };
                s.streams.push(Stream {
                    media,
                    port,
                    transport,
                    payloads,
                    payloads_raw,
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
            } else if let Some(o) = line.strip_prefix(b"o=") {
                // `o=user sess-id sess-version IN IP4 addr`
                if s.streams.is_empty() {
                    s.sess_version = o.split(|&b| b == b' ').filter(|f| !f.is_empty()).nth(2);
                }
            } else if let Some(a) = line.strip_prefix(b"a=")
                && let Some(st) = s.streams.last_mut()
            {
                if [&b"sendrecv"[..], b"sendonly", b"recvonly", b"inactive"]
                    .iter()
                    .any(|m| a.eq_ignore_ascii_case(m))
                {
                    st.sendrecv = a;
                } else if a.len() >= 7 && a[..7].eq_ignore_ascii_case(b"rtpmap:") {
                    // `a=rtpmap:96 opus/48000/2`: Kamailio's `extract_rtpmap`
                    // wants a `/` after the name.
                    let v = a[7..].trim_ascii();
                    let pt_end = v
                        .iter()
                        .position(u8::is_ascii_whitespace)
                        .unwrap_or(v.len());
                    let (pt, rest) = v.split_at(pt_end);
                    let rest = rest.trim_ascii_start();
                    if let Some(slash) = rest.iter().position(|&b| b == b'/')
                        && !pt.is_empty()
                        && !rest.is_empty()
                        && st.payloads.contains(&pt)
                    {
                        st.rtpmaps.push((pt, &rest[..slash]));
                    }
                }
            }
        }
        if let (Some(st), Some(from)) = (s.streams.last_mut(), stream_at) {
            st.raw = &body[from..];
        }
        s
    }
}
