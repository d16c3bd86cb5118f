//! The digest engine of Kamailio 5.6's auth module, sans-IO: hashes,
//! nonces (Kamailio's binary layout, base64), the credentials of an
//! `Authorization`/`Proxy-Authorization` header, and the check of a
//! response. Time is passed in as Unix seconds; nothing here reads a
//! clock or a socket. auth's functions and auth_db call [`verify`].

use crate::engine::trans::{B64, base64_enc, hex_lower, md5};

/// The hash of `algorithm` (`MD5` by default, or `SHA-256`): HA1, HA2
/// and responses are its lower-case hex.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Algorithm {
    #[default]
    Md5,
    Sha256,
}

impl Algorithm {
    /// `modparam("auth", "algorithm", ...)`: empty is MD5; anything but
    /// `MD5`/`SHA-256` is refused (Kamailio does not start).
    pub fn from_param(s: &str) -> Option<Self> {
        match s {
            "" | "MD5" => Some(Self::Md5),
            "SHA-256" => Some(Self::Sha256),
            _ => None,
        }
    }

    /// Length of a response in hex.
    pub fn hex_len(self) -> usize {
        match self {
            Self::Md5 => 32,
            Self::Sha256 => 64,
        }
    }

    /// The lower-case hex hash of the concatenation of `parts`.
    pub fn hex(self, parts: &[&[u8]]) -> Vec<u8> {
        let data = parts.concat();
        match self {
            Self::Md5 => hex_lower(&md5(&data)),
            Self::Sha256 => hex_lower(&sha256(&data)),
        }
    }
}

/// SHA-256 (FIPS 180-4).
pub fn sha256(data: &[u8]) -> [u8; 32] {
    const K: [u32; 64] = [
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
        0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
        0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
        0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
        0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
        0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
        0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
        0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
        0xc67178f2,
    ];
    let mut h: [u32; 8] = [
        0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab,
        0x5be0cd19,
    ];
    let mut msg = data.to_vec();
    let bits = (data.len() as u64).wrapping_mul(8);
    msg.push(0x80);
    while msg.len() % 64 != 56 {
        msg.push(0);
    }
    msg.extend_from_slice(&bits.to_be_bytes());
    for block in msg.chunks_exact(64) {
        let mut w = [0u32; 64];
        for (i, c) in block.chunks_exact(4).enumerate() {
            w[i] = u32::from_be_bytes([c[0], c[1], c[2], c[3]]);
        }
        for i in 16..64 {
            let s0 = w[i - 15].rotate_right(7) ^ w[i - 15].rotate_right(18) ^ (w[i - 15] >> 3);
            let s1 = w[i - 2].rotate_right(17) ^ w[i - 2].rotate_right(19) ^ (w[i - 2] >> 10);
            w[i] = w[i - 16]
                .wrapping_add(s0)
                .wrapping_add(w[i - 7])
                .wrapping_add(s1);
        }
        let [mut a, mut b, mut c, mut d, mut e, mut f, mut g, mut hh] = h;
        for i in 0..64 {
            let s1 = e.rotate_right(6) ^ e.rotate_right(11) ^ e.rotate_right(25);
            let ch = (e & f) ^ (!e & g);
            let t1 = hh
                .wrapping_add(s1)
                .wrapping_add(ch)
                .wrapping_add(K[i])
                .wrapping_add(w[i]);
            let s0 = a.rotate_right(2) ^ a.rotate_right(13) ^ a.rotate_right(22);
            let maj = (a & b) ^ (a & c) ^ (b & c);
            let t2 = s0.wrapping_add(maj);
            hh = g;
            g = f;
            f = e;
            e = d.wrapping_add(t1);
            d = c;
            c = b;
            b = a;
            a = t1.wrapping_add(t2);
        }
        for (x, v) in h.iter_mut().zip([a, b, c, d, e, f, g, hh]) {
            *x = x.wrapping_add(v);
        }
    }
    let mut out = [0u8; 32];
    for (o, v) in out.chunks_exact_mut(4).zip(h) {
        o.copy_from_slice(&v.to_be_bytes());
    }
    out
}

/// Standard base64 with padding; `None` for a character outside the
/// alphabet or a length that is not a multiple of 4.
fn base64_dec(s: &[u8]) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(4) {
        return None;
    }
    let body = s
        .strip_suffix(b"==")
        .or_else(|| s.strip_suffix(b"="))
        .unwrap_or(s);
    let un = |c: u8| B64.iter().position(|&x| x == c).map(|p| p as u32);
    let mut out = Vec::with_capacity(s.len() / 4 * 3);
    for q in body.chunks(4) {
        let mut n = 0u32;
        for (i, &c) in q.iter().enumerate() {
            n |= un(c)? << (18 - 6 * i);
        }
        let bytes = n.to_be_bytes();
        out.extend_from_slice(&bytes[1..q.len()]);
    }
    Some(out)
}

/// Size of the binary nonce without the optional parts (auth_checks,
/// nonce_count): expire, since, MD5.
pub const NONCE_BIN_LEN: usize = 24;
/// Its base64 length.
pub const NONCE_LEN: usize = 32;

/// A nonce as Kamailio 5.6 builds it (without `auth_checks_*` and
/// `nonce_count`/`one_time_nonce`): base64 of `expire` and `since`
/// (big-endian 32-bit Unix times) then MD5 of those 8 bytes and
/// `secret1`.
pub fn nonce(since: u32, expire: u32, secret1: &[u8]) -> Vec<u8> {
    let mut bin = Vec::with_capacity(NONCE_BIN_LEN);
    bin.extend_from_slice(&expire.to_be_bytes());
    bin.extend_from_slice(&since.to_be_bytes());
    let mut input = bin.clone();
    input.extend_from_slice(secret1);
    bin.extend_from_slice(&md5(&input));
    base64_enc(&bin)
}

/// How a received nonce fares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NonceCheck {
    Valid,
    /// Forged, truncated or undecodable: the credentials are an error.
    Invalid,
    /// Expired, from before the start, or too far in the future: a new
    /// challenge (`stale=true`).
    Stale,
}

/// The rules Kamailio 5.6 checks a nonce with, in its order: length and
/// decoding, creation before `start` (the proxy's start time), creation
/// more than `max_drift` in the future, the MD5, expiry.
pub fn check_nonce(
    nonce: &[u8],
    secret1: &[u8],
    now: u32,
    start: u32,
    max_drift: u32,
) -> NonceCheck {
    if nonce.len() < NONCE_LEN {
        return NonceCheck::Invalid;
    }
    let Some(bin) = base64_dec(nonce) else {
        return NonceCheck::Invalid;
    };
    if bin.len() < NONCE_BIN_LEN {
        return NonceCheck::Invalid;
    }
    let expire = u32::from_be_bytes([bin[0], bin[1], bin[2], bin[3]]);
    let since = u32::from_be_bytes([bin[4], bin[5], bin[6], bin[7]]);
    if since < start && since < now {
        return NonceCheck::Stale;
    }
    if since > now.saturating_add(max_drift) {
        return NonceCheck::Stale;
    }
    let mut input = bin[..8].to_vec();
    input.extend_from_slice(secret1);
    if md5(&input) != bin[8..NONCE_BIN_LEN] {
        return NonceCheck::Invalid;
    }
    if expire < now {
        return NonceCheck::Stale;
    }
    NonceCheck::Valid
}

/// The digest credentials of one `Authorization`/`Proxy-Authorization`
/// header (values unquoted, as sent).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Credentials<'a> {
    pub username: &'a [u8],
    pub realm: &'a [u8],
    pub nonce: &'a [u8],
    pub uri: &'a [u8],
    pub response: &'a [u8],
    pub algorithm: &'a [u8],
    pub cnonce: &'a [u8],
    pub opaque: &'a [u8],
    pub qop: &'a [u8],
    pub nc: &'a [u8],
}

/// Why a header was not read as digest credentials.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParseError {
    /// Another scheme than `Digest` (Kamailio skips the header).
    NotDigest,
    /// Malformed parameters (an error for the auth functions).
    Malformed,
}

impl<'a> Credentials<'a> {
    /// Parses a header value: `Digest name=value, name="value", ...`
    /// (names case-insensitive, unknown ones ignored).
    ///
    /// # Errors
    /// See [`ParseError`].
    pub fn parse(value: &'a [u8]) -> Result<Self, ParseError> {
        let v = value.trim_ascii();
        if v.len() < 6 || !v[..6].eq_ignore_ascii_case(b"Digest") {
            return Err(ParseError::NotDigest);
        }
        let mut rest = &v[6..];
        if !rest.first().is_some_and(u8::is_ascii_whitespace) {
            return Err(ParseError::NotDigest);
        }
        let mut c = Credentials::default();
        loop {
            rest = rest.trim_ascii_start();
            while let Some(r) = rest.strip_prefix(b",") {
                rest = r.trim_ascii_start();
            }
            if rest.is_empty() {
                break;
            }
            let eq = rest
                .iter()
                .position(|&b| b == b'=')
                .ok_or(ParseError::Malformed)?;
            let name = rest[..eq].trim_ascii();
            if name.is_empty() || name.iter().any(|b| b.is_ascii_whitespace() || *b == b',') {
                return Err(ParseError::Malformed);
            }
            rest = rest[eq + 1..].trim_ascii_start();
            let val;
            if let Some(r) = rest.strip_prefix(b"\"") {
                let mut i = 0;
                loop {
                    match r.get(i) {
                        None => return Err(ParseError::Malformed),
                        Some(b'\\') => i += 2,
                        Some(b'"') => break,
                        Some(_) => i += 1,
                    }
                }
                val = &r[..i];
                rest = &r[i + 1..];
            } else {
                let end = rest
                    .iter()
                    .position(|&b| b == b',' || b.is_ascii_whitespace())
                    .unwrap_or(rest.len());
                val = &rest[..end];
                rest = &rest[end..];
            }
            let slot = match name.to_ascii_lowercase().as_slice() {
                b"username" => &mut c.username,
                b"realm" => &mut c.realm,
                b"nonce" => &mut c.nonce,
                b"uri" => &mut c.uri,
                b"response" => &mut c.response,
                b"algorithm" => &mut c.algorithm,
                b"cnonce" => &mut c.cnonce,
                b"opaque" => &mut c.opaque,
                b"qop" => &mut c.qop,
                b"nc" => &mut c.nc,
                _ => continue,
            };
            *slot = val;
            rest = rest.trim_ascii_start();
            if !rest.is_empty() && !rest.starts_with(b",") {
                return Err(ParseError::Malformed);
            }
        }
        Ok(c)
    }

    /// `qop=auth` or `qop=auth-int`.
    fn qop_kind(&self) -> Option<bool> {
        if self.qop.eq_ignore_ascii_case(b"auth") {
            Some(false)
        } else if self.qop.eq_ignore_ascii_case(b"auth-int") {
            Some(true)
        } else {
            None
        }
    }

    /// Kamailio's `check_dig_cred`: username, realm, nonce, uri and
    /// response present; with `qop=auth`/`auth-int` also cnonce and nc.
    pub fn complete(&self) -> bool {
        let base = [
            self.username,
            self.realm,
            self.nonce,
            self.uri,
            self.response,
        ]
        .iter()
        .all(|s| !s.is_empty());
        base && (self.qop_kind().is_none() || (!self.cnonce.is_empty() && !self.nc.is_empty()))
    }

    /// The expected response for `ha1` and `method` (Kamailio's
    /// `calc_response`): `H(HA1:nonce:HA2)`, or with a qop
    /// `H(HA1:nonce:nc:cnonce:qop:HA2)`; `HA2 = H(method:uri)`. `None`
    /// for `qop=auth-int`, which Kamailio 5.6.3 computes from an
    /// uninitialised entity hash (it never verifies).
    pub fn expected_response(&self, alg: Algorithm, ha1: &[u8], method: &[u8]) -> Option<Vec<u8>> {
        if self.qop_kind() == Some(true) {
            return None;
        }
        let ha2 = alg.hex(&[method, b":", self.uri]);
        Some(response(alg, ha1, self, &ha2))
    }
}

fn response(alg: Algorithm, ha1: &[u8], c: &Credentials<'_>, ha2: &[u8]) -> Vec<u8> {
    if c.qop.is_empty() {
        alg.hex(&[ha1, b":", c.nonce, b":", ha2])
    } else {
        alg.hex(&[
            ha1, b":", c.nonce, b":", c.nc, b":", c.cnonce, b":", c.qop, b":", ha2,
        ])
    }
}

/// HA1 from a password: `H(username:realm:password)` (the whole
/// username as sent; the realm of the function, not the credentials').
pub fn ha1(alg: Algorithm, username: &[u8], realm: &[u8], password: &[u8]) -> Vec<u8> {
    alg.hex(&[username, b":", realm, b":", password])
}

/// `rspauth` of `Authentication-Info`: the response with an empty method.
pub fn rspauth(alg: Algorithm, ha1: &[u8], c: &Credentials<'_>) -> Vec<u8> {
    let ha2 = alg.hex(&[b":", c.uri]);
    response(alg, ha1, c, &ha2)
}

/// The auth API's return codes (Kamailio's `auth_cfg_result_t`).
pub mod rc {
    pub const OK: i32 = 1;
    pub const ERROR: i32 = -1;
    pub const INVALID_PASSWORD: i32 = -2;
    pub const USER_UNKNOWN: i32 = -3;
    pub const STALE_NONCE: i32 = -4;
    pub const NO_CREDENTIALS: i32 = -5;
    pub const NONCE_REUSED: i32 = -6;
    pub const USER_MISMATCH: i32 = -8;
}

/// The secret and clock a nonce is checked against.
#[derive(Clone, Copy, Debug)]
pub struct NonceRules<'a> {
    pub secret1: &'a [u8],
    /// Unix seconds now.
    pub now: u32,
    /// Unix seconds when the proxy started.
    pub start: u32,
    pub max_drift: u32,
}

/// The password side of a check: a plain password (HA1 computed from the
/// credentials' username and the realm) or HA1 itself.
#[derive(Clone, Copy, Debug)]
pub enum Secret<'a> {
    Password(&'a [u8]),
    Ha1(&'a [u8]),
}

/// Checks credentials already chosen for `realm` (after the nonce's
/// checks, the response): an auth return code ([`rc`]), and on success
/// the HA1 used (for `Authentication-Info`). The nonce is checked first,
/// so a stale nonce with a wrong password is [`rc::STALE_NONCE`].
pub fn verify(
    cred: &Credentials<'_>,
    realm: &[u8],
    method: &[u8],
    secret: Secret<'_>,
    alg: Algorithm,
    rules: &NonceRules<'_>,
) -> (i32, Option<Vec<u8>>) {
    if let Err(code) = pre_check(cred, rules) {
        return (code, None);
    }
    check_response(cred, realm, method, secret, alg)
}

/// What Kamailio's `pre_auth` checks before any password is looked up:
/// the credentials are complete and the nonce is ours and fresh. `Err`
/// holds the auth return code ([`rc::ERROR`], [`rc::STALE_NONCE`]).
pub fn pre_check(cred: &Credentials<'_>, rules: &NonceRules<'_>) -> Result<(), i32> {
    if !cred.complete() {
        return Err(rc::ERROR);
    }
    match check_nonce(
        cred.nonce,
        rules.secret1,
        rules.now,
        rules.start,
        rules.max_drift,
    ) {
        NonceCheck::Valid => Ok(()),
        NonceCheck::Stale => Err(rc::STALE_NONCE),
        NonceCheck::Invalid => Err(rc::ERROR),
    }
}

/// Kamailio's `check_response`, after [`pre_check`]: the response against
/// the one `secret` gives; [`rc::OK`] with the HA1 used, else
/// [`rc::INVALID_PASSWORD`] (or [`rc::ERROR`] for a response of the
/// wrong length).
pub fn check_response(
    cred: &Credentials<'_>,
    realm: &[u8],
    method: &[u8],
    secret: Secret<'_>,
    alg: Algorithm,
) -> (i32, Option<Vec<u8>>) {
    let ha1 = match secret {
        Secret::Password(p) => ha1(alg, cred.username, realm, p),
        Secret::Ha1(h) => h.to_vec(),
    };
    if cred.response.len() != alg.hex_len() {
        return (rc::ERROR, None);
    }
    match cred.expected_response(alg, &ha1, method) {
        Some(r) if r == cred.response => (rc::OK, Some(ha1)),
        _ => (rc::INVALID_PASSWORD, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_vectors() {
        assert_eq!(
            hex_lower(&sha256(b"abc")),
            b"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(
            hex_lower(&sha256(b"")),
            b"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        let long = b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
        assert_eq!(
            hex_lower(&sha256(long)),
            b"248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
        );
    }

    /// RFC 2617 §3.5: Mufasa, qop=auth, MD5.
    #[test]
    fn rfc2617_example() {
        let h = br#"Digest username="Mufasa", realm="testrealm@host.com", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", uri="/dir/index.html", qop=auth, nc=00000001, cnonce="0a4f113b", response="6629fae49393a05397450978507c4ef1", opaque="5ccc069c403ebaf9f0171e9517f40e41""#;
        let c = Credentials::parse(h).expect("parses");
        assert_eq!(c.username, b"Mufasa");
        assert_eq!(c.qop, b"auth");
        assert!(c.complete());
        let ha1 = ha1(Algorithm::Md5, c.username, c.realm, b"Circle Of Life");
        assert_eq!(
            c.expected_response(Algorithm::Md5, &ha1, b"GET")
                .expect("auth"),
            c.response
        );
    }

    /// RFC 7616 §3.9.1: the same exchange with SHA-256 and MD5.
    #[test]
    fn rfc7616_example() {
        let base = |resp: &str| {
            format!(
                r#"Digest username="Mufasa", realm="http-auth@example.org", uri="/dir/index.html", algorithm=SHA-256, nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", nc=00000001, cnonce="f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ", qop=auth, response="{resp}", opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS""#
            )
        };
        let s = base("753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1");
        let c = Credentials::parse(s.as_bytes()).expect("parses");
        let h = ha1(Algorithm::Sha256, c.username, c.realm, b"Circle of Life");
        assert_eq!(
            c.expected_response(Algorithm::Sha256, &h, b"GET")
                .expect("auth"),
            c.response
        );
        let s = base("8ca523f5e9506fed4657c9700eebdbec");
        let c = Credentials::parse(s.as_bytes()).expect("parses");
        let h = ha1(Algorithm::Md5, c.username, c.realm, b"Circle of Life");
        assert_eq!(
            c.expected_response(Algorithm::Md5, &h, b"GET")
                .expect("auth"),
            c.response
        );
    }

    #[test]
    fn nonce_layout() {
        // The reference nonce: expire 0x6b14d301, since 0x6b14d1d5
        // (300 s apart).
        let n = nonce(0x6b14_d1d5, 0x6b14_d301, b"secret");
        assert_eq!(n.len(), NONCE_LEN);
        assert!(n.starts_with(b"axTTAWsU0d"));
        let bin = base64_dec(&n).expect("decodes");
        assert_eq!(bin.len(), NONCE_BIN_LEN);
        let mut input = bin[..8].to_vec();
        input.extend_from_slice(b"secret");
        assert_eq!(bin[8..], md5(&input));
        assert_eq!(base64_enc(&bin), n);
    }

    #[test]
    fn nonce_checks() {
        let s = b"k";
        let start = 1000;
        let n = nonce(2000, 2300, s);
        let c = |n: &[u8], now| check_nonce(n, s, now, start, 3);
        assert_eq!(c(&n, 2000), NonceCheck::Valid);
        assert_eq!(c(&n, 2300), NonceCheck::Valid);
        assert_eq!(c(&n, 2301), NonceCheck::Stale);
        // Created more than the drift in the future.
        assert_eq!(c(&n, 1996), NonceCheck::Stale);
        assert_eq!(c(&n, 1997), NonceCheck::Valid);
        // Another secret: forged.
        assert_eq!(check_nonce(&n, b"x", 2000, start, 3), NonceCheck::Invalid);
        // Before the start: stale even when forged.
        let old = nonce(900, 1200, b"x");
        assert_eq!(c(&old, 1100), NonceCheck::Stale);
        assert_eq!(c(b"short", 2000), NonceCheck::Invalid);
        let mut bad = n.clone();
        bad[5] = b'!';
        assert_eq!(c(&bad, 2000), NonceCheck::Invalid);
    }

    #[test]
    fn verify_codes() {
        let rules = NonceRules {
            secret1: b"k",
            now: 2000,
            start: 1000,
            max_drift: 3,
        };
        let n = nonce(2000, 2300, b"k");
        let n = String::from_utf8(n).expect("ascii");
        let ha1 = ha1(Algorithm::Md5, b"alice", b"r", b"pw");
        let ha2 = Algorithm::Md5.hex(&[b"REGISTER:sip:r"]);
        let resp = Algorithm::Md5.hex(&[&ha1, b":", n.as_bytes(), b":", &ha2]);
        let resp = String::from_utf8(resp).expect("hex");
        let h = format!(
            r#"Digest username="alice", realm="r", nonce="{n}", uri="sip:r", response="{resp}""#
        );
        let c = Credentials::parse(h.as_bytes()).expect("parses");
        let v = |secret, rules: &NonceRules<'_>| {
            verify(&c, b"r", b"REGISTER", secret, Algorithm::Md5, rules).0
        };
        assert_eq!(v(Secret::Password(b"pw"), &rules), rc::OK);
        assert_eq!(v(Secret::Ha1(&ha1), &rules), rc::OK);
        assert_eq!(v(Secret::Password(b"no"), &rules), rc::INVALID_PASSWORD);
        let late = NonceRules { now: 2400, ..rules };
        assert_eq!(v(Secret::Password(b"no"), &late), rc::STALE_NONCE);
        assert_eq!(
            verify(
                &c,
                b"r",
                b"REGISTER",
                Secret::Password(b"pw"),
                Algorithm::Sha256,
                &rules
            )
            .0,
            rc::ERROR
        );
        let incomplete = Credentials::parse(br#"Digest username="a", realm="r""#).expect("parses");
        assert!(!incomplete.complete());
        assert_eq!(Credentials::parse(b"Basic abc"), Err(ParseError::NotDigest));
        assert_eq!(
            Credentials::parse(br#"Digest username="a"#),
            Err(ParseError::Malformed)
        );
    }
}
