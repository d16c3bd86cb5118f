//! Digest answers for the auth tests: the response a client computes
//! from a challenge's nonce (RFC 2617/7616, MD5 or SHA-256, qop auth or
//! auth-int or none), forged nonces in Kamailio's layout, and the
//! normalising of challenges for comparison (a nonce by its shape).

use std::time::SystemTime;

use runtime::modules::auth::digest::Algorithm;

/// The value of `name="..."` (or `name=token`) in a header.
pub fn param(h: &str, name: &str) -> Option<String> {
    let at = h.find(&format!("{name}="))? + name.len() + 1;
    let rest = &h[at..];
    Some(match rest.strip_prefix('"') {
        Some(q) => q[..q.find('"')?].to_string(),
        None => rest.split([',', ' ']).next().unwrap_or("").to_string(),
    })
}

/// Kamailio's nonce shape: base64 of 24 bytes, 32 characters.
pub fn nonce_shape(n: &str) -> String {
    let b64 = n
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/' || b == b'=');
    format!(
        "<nonce {} chars{}>",
        n.len(),
        if b64 { "" } else { " NOT BASE64" }
    )
}

/// Digest credentials for `user` with `password` against `nonce`.
pub struct Answer<'a> {
    pub alg: Algorithm,
    pub header: &'a str,
    pub user: &'a str,
    pub realm: &'a str,
    pub password: &'a str,
    pub nonce: &'a str,
    pub uri: String,
    pub method: &'a str,
    pub qop: Option<&'a str>,
}

impl Answer<'_> {
    pub fn ha1(&self) -> Vec<u8> {
        self.alg.hex(&[
            self.user.as_bytes(),
            b":",
            self.realm.as_bytes(),
            b":",
            self.password.as_bytes(),
        ])
    }

    pub fn response(&self, method: &str) -> String {
        let ha1 = self.ha1();
        let ha2 = match self.qop {
            // An entity-body hash of the empty body.
            Some("auth-int") => {
                let hb = self.alg.hex(&[b""]);
                self.alg
                    .hex(&[method.as_bytes(), b":", self.uri.as_bytes(), b":", &hb])
            }
            _ => self
                .alg
                .hex(&[method.as_bytes(), b":", self.uri.as_bytes()]),
        };
        let r = match self.qop {
            Some(q) => self.alg.hex(&[
                &ha1,
                b":",
                self.nonce.as_bytes(),
                b":00000001:abcdef:",
                q.as_bytes(),
                b":",
                &ha2,
            ]),
            None => self
                .alg
                .hex(&[&ha1, b":", self.nonce.as_bytes(), b":", &ha2]),
        };
        String::from_utf8(r).expect("hex")
    }

    /// `rspauth` of `Authentication-Info` (HA2 with an empty method).
    pub fn rspauth(&self) -> String {
        self.response("")
    }

    pub fn header(&self) -> String {
        let qop = self
            .qop
            .map(|q| format!(", qop={q}, nc=00000001, cnonce=\"abcdef\""))
            .unwrap_or_default();
        format!(
            "{}: Digest username=\"{}\", realm=\"{}\", nonce=\"{}\", uri=\"{}\", response=\"{}\"{qop}",
            self.header,
            self.user,
            self.realm,
            self.nonce,
            self.uri,
            self.response(self.method)
        )
    }
}

/// A nonce with these times and a made-up hash (Kamailio's layout).
pub fn forged_nonce(since: u32) -> String {
    let mut bin = Vec::new();
    bin.extend_from_slice(&(since + 300).to_be_bytes());
    bin.extend_from_slice(&since.to_be_bytes());
    bin.extend_from_slice(&[0x5a; 16]);
    base64(&bin)
}

pub fn base64(s: &[u8]) -> String {
    const B: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for c in s.chunks(3) {
        let n = (u32::from(c[0]) << 16)
            | (u32::from(c.get(1).copied().unwrap_or(0)) << 8)
            | u32::from(c.get(2).copied().unwrap_or(0));
        for i in 0..=c.len() {
            out.push(char::from(B[(n >> (18 - 6 * i)) as usize & 63]));
        }
        for _ in c.len()..3 {
            out.push('=');
        }
    }
    out
}

pub fn unix_now() -> u32 {
    let s = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs();
    u32::try_from(s).expect("before 2106")
}
