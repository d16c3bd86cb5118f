//! The SDP as rtpproxy's `force_rtp_proxy` sees it through Kamailio's
//! core parser (`parser/sdp/sdp.c`): sessions from each `v=` line, the
//! session's `o=` and `c=` addresses, and per `m=` line its port,
//! payload list, RTP-ness, own `c=` address and `a=rtcp:` value, each as
//! a range of the body so that they can be rewritten in place (Kamailio's
//! lumps against the received body). Sans-IO.

use std::ops::Range;

/// An address of a `c=` or `o=` line: where it lies and its family
/// (`true`: `IP6`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Addr {
    pub at: Range<usize>,
    pub v6: bool,
}

/// One `m=` line and what belongs to it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stream {
    pub port: Range<usize>,
    /// The format list, from its first token to the end of the line.
    pub payloads: Range<usize>,
    /// A transport Kamailio counts as RTP (`RTP/AVP`, `RTP/AVPF`,
    /// `RTP/SAVP`, `RTP/SAVPF`, any case).
    pub is_rtp: bool,
    pub connection: Option<Addr>,
    /// The value of the last `a=rtcp:` line (to its end, trimmed).
    pub rtcp: Option<Range<usize>>,
}

/// One session (from a `v=` line).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Session {
    pub origin: Addr,
    pub connection: Option<Addr>,
    pub streams: Vec<Stream>,
}

/// The line starts of `body` (Kamailio's `find_sdp_line`: a line starts
/// after LF or CR, and at the start of the body), each with its
/// two-byte type.
fn lines(body: &[u8]) -> Vec<usize> {
    let mut out = vec![0];
    for (i, &b) in body.iter().enumerate() {
        if (b == b'\n' || b == b'\r') && i + 1 < body.len() {
            out.push(i + 1);
        }
    }
    out
}

fn is_line(body: &[u8], at: usize, kind: u8) -> bool {
    body.get(at) == Some(&kind) && body.get(at + 1) == Some(&b'=')
}

/// The end of the line starting at `at` (before its CR/LF).
fn line_end(body: &[u8], at: usize) -> usize {
    body[at..]
        .iter()
        .position(|&b| b == b'\n' || b == b'\r')
        .map_or(body.len(), |p| at + p)
}

fn is_blank(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

/// `trim_len` over `from..to`.
fn trim(body: &[u8], mut from: usize, mut to: usize) -> Range<usize> {
    while from < to && is_blank(body[from]) {
        from += 1;
    }
    while to > from && is_blank(body[to - 1]) {
        to -= 1;
    }
    from..to
}

/// `extract_mediaip`: the address after the last ` IP4`/` IP6` of the
/// line at `at` (a `c=` or `o=` line).
fn media_ip(body: &[u8], at: usize) -> Result<Addr, &'static str> {
    let v = trim(body, at + 2, line_end(body, at));
    let text = &body[v.clone()];
    if text.is_empty() {
        return Err("no c=/o= line content in SDP");
    }
    let ip = text
        .windows(3)
        .rposition(|w| w == b" IP")
        .ok_or("no `IP[4|6]' in c=/o= field")?;
    let v6 = match text.get(ip + 3) {
        Some(b'4') => false,
        Some(b'6') => true,
        _ => return Err("invalid addrtype IPx in c=/o= line"),
    };
    let mut p = (ip + 5).min(text.len());
    while p < text.len() && matches!(text[p], b' ' | b'\t') {
        p += 1;
    }
    let end = text[p..]
        .iter()
        .position(|&b| is_blank(b))
        .map_or(text.len(), |e| p + e);
    if end == p {
        return Err("no `IP[4|6]' address in c=/o= field");
    }
    Ok(Addr {
        at: v.start + p..v.start + end,
        v6,
    })
}

/// Parses `body` as Kamailio's `parse_sdp` does for rtpproxy.
///
/// # Errors
/// What Kamailio's parser refuses (no `v=`, `o=` or `m=`, a malformed
/// address, a stream without any `c=`, an `m=` line without port or
/// transport).
pub fn parse(body: &[u8]) -> Result<Vec<Session>, &'static str> {
    let starts = lines(body);
    let v_lines: Vec<usize> = starts
        .iter()
        .copied()
        .filter(|&s| is_line(body, s, b'v'))
        .collect();
    if v_lines.is_empty() {
        return Err("no sessions in SDP");
    }
    let mut sessions = Vec::new();
    for (k, &v) in v_lines.iter().enumerate() {
        let limit = v_lines.get(k + 1).copied().unwrap_or(body.len());
        let in_session: Vec<usize> = starts
            .iter()
            .copied()
            .filter(|&s| s >= v && s < limit)
            .collect();
        let o = *in_session
            .iter()
            .find(|&&s| is_line(body, s, b'o'))
            .ok_or("no o= in session")?;
        let m_lines: Vec<usize> = in_session
            .iter()
            .copied()
            .filter(|&s| s > o && is_line(body, s, b'm'))
            .collect();
        let Some(&m1) = m_lines.first() else {
            return Err("no m= in session");
        };
        let origin = media_ip(body, o)?;
        let connection = match in_session
            .iter()
            .find(|&&s| s > o && s < m1 && is_line(body, s, b'c'))
        {
            Some(&c) => Some(media_ip(body, c)?),
            None => None,
        };
        let mut streams = Vec::new();
        for (j, &m) in m_lines.iter().enumerate() {
            let m2 = m_lines.get(j + 1).copied().unwrap_or(limit);
            let in_stream = || in_session.iter().copied().filter(move |&s| s > m && s < m2);
            let own_c = match in_stream().find(|&s| is_line(body, s, b'c')) {
                Some(c) => Some(media_ip(body, c)?),
                None => None,
            };
            if own_c.is_none() && connection.is_none() {
                return Err("can't find media IP in the message");
            }
            // `m=<media> <port> <transport> <payloads>`
            let line = trim(body, m + 2, line_end(body, m));
            let text = &body[line.clone()];
            let tok_end = |from: usize| {
                text[from..]
                    .iter()
                    .position(|&b| is_blank(b))
                    .map_or(text.len(), |e| from + e)
            };
            let skip = |mut from: usize| {
                while from < text.len() && matches!(text[from], b' ' | b'\t') {
                    from += 1;
                }
                from
            };
            let media_end = tok_end(0);
            let port_at = skip(media_end);
            if media_end == 0 || port_at == media_end || port_at >= text.len() {
                return Err("no port in `m='");
            }
            let port_end = tok_end(port_at);
            let tr_at = skip(port_end);
            if tr_at == port_end || tr_at >= text.len() {
                return Err("no protocol type in `m='");
            }
            let tr_end = tok_end(tr_at);
            let pl_at = skip(tr_end);
            let transport = &text[tr_at..tr_end];
            let is_rtp = [&b"rtp/avp"[..], b"rtp/avpf", b"rtp/savp", b"rtp/savpf"]
                .iter()
                .any(|t| transport.eq_ignore_ascii_case(t));
            let rtcp = in_stream()
                .rfind(|&s| body[s..].starts_with(b"a=rtcp:"))
                .map(|s| trim(body, s + 7, line_end(body, s)));
            streams.push(Stream {
                port: line.start + port_at..line.start + port_end,
                payloads: line.start + pl_at..line.end,
                is_rtp,
                connection: own_c,
                rtcp,
            });
        }
        sessions.push(Session {
            origin,
            connection,
            streams,
        });
    }
    Ok(sessions)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_call_offer() {
        let b = b"v=0\r\no=alice 1 1 IN IP4 192.168.1.10\r\ns=-\r\nc=IN IP4 192.168.1.10\r\nt=0 0\r\nm=audio 49170 RTP/AVP 0 8 101\r\na=rtcp:49171 IN IP4 192.168.1.10\r\nm=video 0 RTP/AVP 96\r\nc=IN IP6 ::\r\n";
        let s = parse(b).unwrap();
        assert_eq!(s.len(), 1);
        let t = |r: &Range<usize>| std::str::from_utf8(&b[r.clone()]).unwrap().to_string();
        assert_eq!(t(&s[0].origin.at), "192.168.1.10");
        assert_eq!(t(&s[0].connection.as_ref().unwrap().at), "192.168.1.10");
        assert_eq!(s[0].streams.len(), 2);
        assert_eq!(t(&s[0].streams[0].port), "49170");
        assert_eq!(t(&s[0].streams[0].payloads), "0 8 101");
        assert_eq!(
            t(s[0].streams[0].rtcp.as_ref().unwrap()),
            "49171 IN IP4 192.168.1.10"
        );
        assert!(s[0].streams[0].is_rtp);
        let c = s[0].streams[1].connection.as_ref().unwrap();
        assert!(c.v6);
        assert_eq!(t(&c.at), "::");
        assert!(parse(b"v=0\r\no=a 1 1 IN IP4 1.2.3.4\r\nm=audio 1 RTP/AVP 0\r\n").is_err());
        assert!(parse(b"o=a 1 1 IN IP4 1.2.3.4\r\n").is_err());
        assert!(
            parse(b"v=0\r\no=a 1 1 IN IP4 1.2.3.4\r\nc=IN IP4 1.2.3.4\r\nm=audio\r\n").is_err()
        );
    }
}
