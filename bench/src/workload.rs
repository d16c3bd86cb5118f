//! The fixed messages the in-process benchmarks route: what one call
//! (INVITE, 180, 200, ACK, BYE, 200), one registration and one keepalive
//! bring to a proxy listening on 127.0.0.1:5060. Replies carry the proxy's
//! Via on top, as if it had relayed the request.

fn request(method: &str, cseq: u32, extra: &str, body: &str) -> Vec<u8> {
    format!(
        "{method} sip:bob@127.0.0.1:5060 SIP/2.0\r\n\
Via: SIP/2.0/UDP 127.0.0.1:5080;branch=z9hG4bK-{method}-1;rport\r\n\
Max-Forwards: 70\r\n\
From: \"Alice\" <sip:alice@127.0.0.1:5060>;tag=a73kszlfl\r\n\
To: <sip:bob@127.0.0.1:5060>{}\r\n\
Call-ID: 1j9FpLxk3uxtm8tn@127.0.0.1\r\n\
CSeq: {cseq} {method}\r\n\
Contact: <sip:alice@127.0.0.1:5080>\r\n\
User-Agent: cfgc-bench\r\n\
{extra}Content-Length: {}\r\n\r\n{body}",
        if method == "INVITE" { "" } else { ";tag=b1" },
        body.len()
    )
    .into_bytes()
}

fn reply(code: u16, reason: &str, method: &str, cseq: u32) -> Vec<u8> {
    format!(
        "SIP/2.0 {code} {reason}\r\n\
Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK-proxy-{method}\r\n\
Via: SIP/2.0/UDP 127.0.0.1:5080;branch=z9hG4bK-{method}-1;rport=5080\r\n\
From: \"Alice\" <sip:alice@127.0.0.1:5060>;tag=a73kszlfl\r\n\
To: <sip:bob@127.0.0.1:5060>;tag=b1\r\n\
Call-ID: 1j9FpLxk3uxtm8tn@127.0.0.1\r\n\
CSeq: {cseq} {method}\r\n\
Contact: <sip:bob@127.0.0.1:5070>\r\n\
Content-Length: 0\r\n\r\n"
    )
    .into_bytes()
}

/// The message set, in call order, then REGISTER and OPTIONS.
pub fn messages() -> Vec<Vec<u8>> {
    let sdp = "v=0\r\no=alice 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 6000 RTP/AVP 0\r\n";
    vec![
        request("INVITE", 1, "Content-Type: application/sdp\r\n", sdp),
        reply(180, "Ringing", "INVITE", 1),
        reply(200, "OK", "INVITE", 1),
        request("ACK", 1, "", ""),
        request("BYE", 2, "", ""),
        reply(200, "OK", "BYE", 2),
        "REGISTER sip:127.0.0.1:5060 SIP/2.0\r\n\
Via: SIP/2.0/UDP 127.0.0.1:5090;branch=z9hG4bK-reg-1;rport\r\n\
Max-Forwards: 70\r\n\
From: <sip:carol@127.0.0.1:5060>;tag=c1\r\n\
To: <sip:carol@127.0.0.1:5060>\r\n\
Call-ID: reg-carol@127.0.0.1\r\n\
CSeq: 1 REGISTER\r\n\
Contact: <sip:carol@127.0.0.1:5090>\r\n\
Expires: 3600\r\n\
Content-Length: 0\r\n\r\n"
            .as_bytes()
            .to_vec(),
        "OPTIONS sip:127.0.0.1:5060 SIP/2.0\r\n\
Via: SIP/2.0/UDP 127.0.0.1:5090;branch=z9hG4bK-opt-1;rport\r\n\
Max-Forwards: 70\r\n\
From: <sip:carol@127.0.0.1:5060>;tag=c2\r\n\
To: <sip:127.0.0.1:5060>\r\n\
Call-ID: opt-carol@127.0.0.1\r\n\
CSeq: 1 OPTIONS\r\n\
Content-Length: 0\r\n\r\n"
            .as_bytes()
            .to_vec(),
    ]
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_message_parses() {
        for m in super::messages() {
            runtime::sip::Message::parse(&m)
                .unwrap_or_else(|e| panic!("{e:?}: {}", String::from_utf8_lossy(&m)));
        }
    }
}
