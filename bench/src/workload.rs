//! The messages the in-process benchmarks route: what a registration, a
//! call (INVITE, 180, 200, ACK, BYE, 200) and a keepalive bring to a proxy
//! listening on 127.0.0.1:5060. Every round has its own Call-IDs, tags and
//! branches (a stateful proxy would otherwise see retransmissions); the
//! callee `bob` registers first, so a registrar config relays the call.
//! Replies carry a Via of the proxy on top.

fn request(method: &str, round: u32, cseq: u32, extra: &str, body: &str) -> Vec<u8> {
    let to_tag = if method == "INVITE" {
        String::new()
    } else {
        format!(";tag=b{round}")
    };
    format!(
        "{method} sip:bob@127.0.0.1:5060 SIP/2.0\r\n\
Via: SIP/2.0/UDP 127.0.0.1:5080;branch=z9hG4bK-{method}-{round};rport\r\n\
Max-Forwards: 70\r\n\
From: \"Alice\" <sip:alice@127.0.0.1:5060>;tag=a{round}\r\n\
To: <sip:bob@127.0.0.1:5060>{to_tag}\r\n\
Call-ID: call-{round}@127.0.0.1\r\n\
CSeq: {cseq} {method}\r\n\
Contact: <sip:alice@127.0.0.1:5080>\r\n\
User-Agent: cfgc-bench\r\n\
{extra}Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

fn reply(code: u16, reason: &str, method: &str, round: u32, cseq: u32) -> Vec<u8> {
    format!(
        "SIP/2.0 {code} {reason}\r\n\
Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK-proxy-{method}-{round}\r\n\
Via: SIP/2.0/UDP 127.0.0.1:5080;branch=z9hG4bK-{method}-{round};rport=5080\r\n\
From: \"Alice\" <sip:alice@127.0.0.1:5060>;tag=a{round}\r\n\
To: <sip:bob@127.0.0.1:5060>;tag=b{round}\r\n\
Call-ID: call-{round}@127.0.0.1\r\n\
CSeq: {cseq} {method}\r\n\
Contact: <sip:bob@127.0.0.1:5070>\r\n\
Content-Length: 0\r\n\r\n"
    )
    .into_bytes()
}

fn register(user: &str, port: u16, round: u32) -> Vec<u8> {
    format!(
        "REGISTER sip:127.0.0.1:5060 SIP/2.0\r\n\
Via: SIP/2.0/UDP 127.0.0.1:{port};branch=z9hG4bK-reg-{user}-{round};rport\r\n\
Max-Forwards: 70\r\n\
From: <sip:{user}@127.0.0.1:5060>;tag=r{round}\r\n\
To: <sip:{user}@127.0.0.1:5060>\r\n\
Call-ID: reg-{user}-{round}@127.0.0.1\r\n\
CSeq: 1 REGISTER\r\n\
Contact: <sip:{user}@127.0.0.1:{port}>\r\n\
Expires: 3600\r\n\
Content-Length: 0\r\n\r\n"
    )
    .into_bytes()
}

/// The messages of round `round`: REGISTER bob, the call, OPTIONS.
pub fn round(round: u32) -> Vec<Vec<u8>> {
    let sdp = "v=0\r\no=alice 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 6000 RTP/AVP 0\r\n";
    vec![
        register("bob", 5070, round),
        request("INVITE", round, 1, "Content-Type: application/sdp\r\n", sdp),
        reply(180, "Ringing", "INVITE", round, 1),
        reply(200, "OK", "INVITE", round, 1),
        request("ACK", round, 1, "", ""),
        request("BYE", round, 2, "", ""),
        reply(200, "OK", "BYE", round, 2),
        format!(
            "OPTIONS sip:127.0.0.1:5060 SIP/2.0\r\n\
Via: SIP/2.0/UDP 127.0.0.1:5090;branch=z9hG4bK-opt-{round};rport\r\n\
Max-Forwards: 70\r\n\
From: <sip:carol@127.0.0.1:5060>;tag=c{round}\r\n\
To: <sip:127.0.0.1:5060>\r\n\
Call-ID: opt-{round}@127.0.0.1\r\n\
CSeq: 1 OPTIONS\r\n\
Content-Length: 0\r\n\r\n"
        )
        .into_bytes(),
    ]
}

/// `rounds` rounds, generated up front.
pub fn rounds(n: u32) -> Vec<Vec<u8>> {
    (0..n).flat_map(round).collect()
}

/// One round (the criterion benchmark repeats it; a stateful config sees
/// retransmissions from the second iteration on, the same for both
/// contenders).
pub fn messages() -> Vec<Vec<u8>> {
    round(0)
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_message_parses_and_rounds_differ() {
        let two = super::rounds(2);
        assert_eq!(two.len(), 16);
        for m in &two {
            runtime::sip::Message::parse(m)
                .unwrap_or_else(|e| panic!("{e:?}: {}", String::from_utf8_lossy(m)));
        }
        assert_ne!(two[1], two[9], "round 1 repeats round 0");
    }
}
