//! Shared generators for the property tests: well-formed SIP messages with
//! random fields, rendered with random (legal) formatting choices.

#![allow(dead_code, unreachable_pub, reason = "shared by several test binaries")]

use proptest::prelude::*;

pub const INVITE: &[u8] = include_bytes!("../data/invite.sip");
pub const REGISTER: &[u8] = include_bytes!("../data/register.sip");

/// Random fields of a request.
#[derive(Debug, Clone)]
pub struct Fields {
    pub method: String,
    pub user: Option<String>,
    pub host: String,
    pub port: Option<u16>,
    pub branch: String,
    pub via_host: String,
    pub via_port: Option<u16>,
    pub from_tag: String,
    pub to_tag: Option<String>,
    pub call_id: String,
    pub cseq: u32,
    pub max_forwards: u8,
    pub body: String,
    pub extra_vias: usize,
    pub compact: bool,
    pub lf_only: bool,
    pub route: bool,
}

fn token() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9][a-zA-Z0-9_!~*'+-]{0,11}"
}

fn hostname() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z][a-z0-9-]{0,8}(\\.[a-z][a-z0-9]{0,6}){0,3}",
        (0u8..=255, 0u8..=255, 0u8..=255, 1u8..=254)
            .prop_map(|(a, b, c, d)| format!("{a}.{b}.{c}.{d}")),
    ]
}

pub fn fields() -> impl Strategy<Value = Fields> {
    (
        prop_oneof![
            Just("INVITE".to_string()),
            Just("REGISTER".to_string()),
            Just("OPTIONS".to_string()),
            Just("BYE".to_string()),
            Just("MESSAGE".to_string()),
        ],
        // Users without '.', which rsip 0.4 misparses (issue #50).
        proptest::option::of("[a-zA-Z0-9+_-]{1,12}"),
        hostname(),
        proptest::option::of(1u16..),
        token(),
        hostname(),
        proptest::option::of(1u16..),
        token(),
        proptest::option::of(token()),
        ("[a-zA-Z0-9]{1,20}", proptest::option::of(hostname()))
            .prop_map(|(a, h)| h.map_or(a.clone(), |h| format!("{a}@{h}"))),
        0u32..=i32::MAX as u32,
        any::<u8>(),
    )
        .prop_flat_map(|t| {
            (
                Just(t),
                "[ -~]{0,40}",
                0usize..3,
                any::<bool>(),
                any::<bool>(),
                any::<bool>(),
            )
        })
        .prop_map(
            |(
                (
                    method,
                    user,
                    host,
                    port,
                    branch,
                    via_host,
                    via_port,
                    from_tag,
                    to_tag,
                    call_id,
                    cseq,
                    max_forwards,
                ),
                body,
                extra_vias,
                compact,
                lf_only,
                route,
            )| Fields {
                method,
                user,
                host,
                port,
                branch: format!("z9hG4bK{branch}"),
                via_host,
                via_port,
                from_tag,
                to_tag,
                call_id,
                cseq,
                max_forwards,
                body,
                extra_vias,
                compact,
                lf_only,
                route,
            },
        )
}

impl Fields {
    pub fn ruri(&self) -> String {
        let mut s = String::from("sip:");
        if let Some(u) = &self.user {
            s.push_str(u);
            s.push('@');
        }
        s.push_str(&self.host);
        if let Some(p) = self.port {
            s.push_str(&format!(":{p}"));
        }
        s
    }

    /// Renders the request. `for_rsip` avoids what rsip 0.4 cannot parse
    /// (compact forms, LF-only line ends).
    pub fn render(&self, for_rsip: bool) -> Vec<u8> {
        let compact = self.compact && !for_rsip;
        let h = |long: &'static str, short: &'static str| if compact { short } else { long };
        let mut s = format!("{} {} SIP/2.0\n", self.method, self.ruri());
        let vp = self.via_port.map(|p| format!(":{p}")).unwrap_or_default();
        s.push_str(&format!(
            "{}: SIP/2.0/UDP {}{};branch={};rport\n",
            h("Via", "v"),
            self.via_host,
            vp,
            self.branch
        ));
        for i in 0..self.extra_vias {
            s.push_str(&format!(
                "{}: SIP/2.0/TCP 10.0.0.{i}:5060;branch=z9hG4bKx{i}\n",
                h("Via", "v")
            ));
        }
        s.push_str(&format!("Max-Forwards: {}\n", self.max_forwards));
        if self.route {
            s.push_str("Route: <sip:p1.example.com;lr>, <sip:p2.example.com;lr>\n");
        }
        s.push_str(&format!(
            "{}: \"Al Ice\" <sip:alice@example.com>;tag={}\n",
            h("From", "f"),
            self.from_tag
        ));
        match &self.to_tag {
            Some(t) => s.push_str(&format!("{}: <{}>;tag={t}\n", h("To", "t"), self.ruri())),
            None => s.push_str(&format!("{}: <{}>\n", h("To", "t"), self.ruri())),
        }
        s.push_str(&format!("{}: {}\n", h("Call-ID", "i"), self.call_id));
        s.push_str(&format!("CSeq: {} {}\n", self.cseq, self.method));
        s.push_str(&format!(
            "{}: <sip:alice@192.0.2.1:5060>\n",
            h("Contact", "m")
        ));
        s.push_str(&format!(
            "{}: {}\n\n",
            h("Content-Length", "l"),
            self.body.len()
        ));
        let mut out = if self.lf_only && !for_rsip {
            s
        } else {
            s.replace('\n', "\r\n")
        };
        out.push_str(&self.body);
        out.into_bytes()
    }
}

/// Mutations of a valid message: byte flips, inserts of SIP specials,
/// deletions, truncation, chunk duplication.
pub fn mutated() -> impl Strategy<Value = Vec<u8>> {
    let base = prop_oneof![
        Just(INVITE.to_vec()),
        Just(REGISTER.to_vec()),
        fields().prop_map(|f| f.render(false)),
    ];
    (
        base,
        proptest::collection::vec(
            (any::<u8>(), any::<prop::sample::Index>(), any::<u8>()),
            1..6,
        ),
    )
        .prop_map(|(mut m, ops)| {
            const SPECIAL: &[u8] = b"\r\n:;,<>\"@ \t=?[]%/";
            for (op, at, b) in ops {
                if m.is_empty() {
                    break;
                }
                let i = at.index(m.len());
                match op % 6 {
                    0 => m[i] = b,
                    1 => m.insert(i, SPECIAL[usize::from(b) % SPECIAL.len()]),
                    2 => {
                        m.remove(i);
                    }
                    3 => m.truncate(i),
                    4 => {
                        let end = (i + usize::from(b)).min(m.len());
                        let chunk = m[i..end].to_vec();
                        m.splice(i..i, chunk);
                    }
                    _ => m[i] = SPECIAL[usize::from(b) % SPECIAL.len()],
                }
            }
            m
        })
}
