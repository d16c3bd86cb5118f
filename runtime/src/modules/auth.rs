//! auth — the digest engine of Kamailio 5.6 (its `auth` module): nonces in
//! Kamailio's format, challenges (`www_challenge`, `proxy_challenge`,
//! `auth_challenge`), checks of credentials against a password held in a
//! PV (`pv_www_authenticate`, `pv_proxy_authenticate`), `has_credentials`
//! and `consume_credentials`; return codes of Kamailio's auth API
//! ([`digest::rc`]).
//!
//! The sans-IO engine is [`digest`]; [`Auth::authenticate_with`] is the
//! API a credentials store (auth_db) calls: the message, the realm, and a
//! lookup run once the credentials and their nonce passed (it answers the
//! password or HA1, or a return code); it answers the auth return code.
//!
//! Not implemented (refused at build by `cfgc_vocab::MODULES`, or without
//! a binding): `auth_checks_*` (extra values hashed into the nonce),
//! `nonce_count`, `one_time_nonce`, a
//! `challenge_attr` AVP (the `pv_*` flags 2/4/8), `auth_get_www_authenticate`
//! and `pv_auth_check`.

pub mod digest;

use std::cell::Cell;
use std::time::{Duration, Instant, SystemTime};

use crate::engine::Ctx;
use crate::engine::ctx::HeaderOp;
use crate::engine::module::Module;
use crate::engine::params::{ModParams, ParamError};
use crate::modules::Modules;
use crate::sip::{HeaderName, Method};

use digest::{Algorithm, Credentials, NonceRules, ParseError, Secret, rc};

/// The module's parameters and start time.
#[derive(Debug)]
pub struct Auth {
    /// `secret` (or 32 random printable characters).
    secret1: Vec<u8>,
    nonce_expire: u32,
    max_drift: u32,
    realm_prefix: Vec<u8>,
    algorithm: Algorithm,
    /// `algorithm` as configured (printed in challenges), empty for none.
    algorithm_name: String,
    add_authinfo_hdr: bool,
    /// Challenges always stateless (sl), never through tm.
    force_stateless_reply: bool,
    www_header: String,
    proxy_header: String,
    /// When the proxy started: Unix time and the matching instant (the
    /// clock of a message is `Ctx::now`).
    start_unix: Duration,
    start: Instant,
}

impl Default for Auth {
    fn default() -> Self {
        Self::with_start(random_secret(), SystemTime::now(), Instant::now())
    }
}

impl Auth {
    fn with_start(secret1: Vec<u8>, unix: SystemTime, start: Instant) -> Self {
        Self {
            secret1,
            nonce_expire: 300,
            max_drift: 3,
            realm_prefix: Vec::new(),
            algorithm: Algorithm::Md5,
            algorithm_name: String::new(),
            add_authinfo_hdr: false,
            force_stateless_reply: false,
            www_header: "WWW-Authenticate".into(),
            proxy_header: "Proxy-Authenticate".into(),
            start_unix: unix
                .duration_since(SystemTime::UNIX_EPOCH)
                .unwrap_or_default(),
            start,
        }
    }

    /// Reads `modparam("auth", ...)`.
    ///
    /// # Errors
    /// An `algorithm` other than MD5/SHA-256, a `qop` other than
    /// auth/auth-int/empty, a negative time.
    pub fn from_params(p: &ModParams) -> Result<Self, ParamError> {
        let m = "auth";
        let secret = p
            .str(m, "secret")
            .filter(|s| !s.is_empty())
            .map_or_else(random_secret, String::into_bytes);
        let mut a = Self::with_start(secret, SystemTime::now(), Instant::now());
        let secs = |name: &str, default: u32| -> Result<u32, ParamError> {
            match p.int(m, name)? {
                None => Ok(default),
                Some(v) => u32::try_from(v)
                    .map_err(|_| ParamError::invalid(m, name, format!("{v} is negative"))),
            }
        };
        a.nonce_expire = secs("nonce_expire", 300)?;
        a.max_drift = secs("nonce_auth_max_drift", 3)?;
        a.realm_prefix = p.str(m, "realm_prefix").unwrap_or_default().into_bytes();
        let alg = p.str(m, "algorithm").unwrap_or_default();
        a.algorithm = Algorithm::from_param(&alg).ok_or_else(|| {
            ParamError::invalid(m, "algorithm", format!("`{alg}`: MD5 or SHA-256"))
        })?;
        a.algorithm_name = alg;
        // Only checked: the cfg functions take their qop from their flags.
        let qop = p.str(m, "qop").unwrap_or_default();
        if !matches!(qop.as_str(), "" | "auth" | "auth-int") {
            return Err(ParamError::invalid(
                m,
                "qop",
                format!("`{qop}`: auth, auth-int or empty"),
            ));
        }
        a.add_authinfo_hdr = p.int(m, "add_authinfo_hdr")?.unwrap_or(0) != 0;
        a.force_stateless_reply = p.int(m, "force_stateless_reply")?.unwrap_or(0) != 0;
        if let Some(h) = p.str(m, "www_challenge_header") {
            a.www_header = h;
        }
        if let Some(h) = p.str(m, "proxy_challenge_header") {
            a.proxy_header = h;
        }
        Ok(a)
    }

    /// Unix seconds at `now` (the clock of a message).
    pub fn unix_secs(&self, now: Instant) -> u32 {
        let t = self.start_unix + now.saturating_duration_since(self.start);
        u32::try_from(t.as_secs()).unwrap_or(u32::MAX)
    }

    fn rules(&self, now: Instant) -> NonceRules<'_> {
        NonceRules {
            secret1: &self.secret1,
            now: self.unix_secs(now),
            start: u32::try_from(self.start_unix.as_secs()).unwrap_or(u32::MAX),
            max_drift: self.max_drift,
        }
    }

    /// Kamailio's `strip_realm`: `realm_prefix` removed from the front.
    pub fn strip_realm<'r>(&self, realm: &'r [u8]) -> &'r [u8] {
        realm
            .strip_prefix(self.realm_prefix.as_slice())
            .unwrap_or(realm)
    }

    /// A fresh nonce at Unix time `now`.
    pub fn nonce(&self, now: u32) -> Vec<u8> {
        digest::nonce(now, now.saturating_add(self.nonce_expire), &self.secret1)
    }

    /// The challenge header line (name, value, CRLF) for `realm`
    /// (already stripped), Kamailio's exact bytes.
    pub fn challenge(
        &self,
        proxy: bool,
        realm: &[u8],
        qop: Option<&str>,
        stale: bool,
        now: u32,
    ) -> Vec<u8> {
        let name = if proxy {
            &self.proxy_header
        } else {
            &self.www_header
        };
        let mut h = Vec::with_capacity(128);
        h.extend_from_slice(name.as_bytes());
        h.extend_from_slice(b": Digest realm=\"");
        h.extend_from_slice(realm);
        h.extend_from_slice(b"\", nonce=\"");
        h.extend_from_slice(&self.nonce(now));
        h.push(b'"');
        if let Some(q) = qop {
            h.extend_from_slice(b", qop=\"");
            h.extend_from_slice(q.as_bytes());
            h.push(b'"');
        }
        if stale {
            h.extend_from_slice(b", stale=true");
        }
        if !self.algorithm_name.is_empty() {
            h.extend_from_slice(b", algorithm=");
            h.extend_from_slice(self.algorithm_name.as_bytes());
        }
        h.extend_from_slice(b"\r\n");
        h
    }

    /// Checks the credentials of the message for `realm` (`Proxy-Authorization` if
    /// `proxy`, else `Authorization`) against `secret`, with `method` for
    /// HA2 (the request's by default). Answers the auth return code; on
    /// success adds `Authentication-Info` when configured. ACK, CANCEL
    /// and PRACK are always authenticated (1).
    pub fn authenticate(
        &self,
        ctx: &mut Ctx<'_>,
        realm: &[u8],
        proxy: bool,
        secret: Secret<'_>,
        method: Option<&[u8]>,
    ) -> i32 {
        self.authenticate_with(ctx, realm, proxy, method, |_, _| match secret {
            Secret::Password(p) => Ok(Lookup::Password(p.to_vec())),
            Secret::Ha1(h) => Ok(Lookup::Ha1(h.to_vec())),
        })
    }

    /// The API a credentials store calls (auth_db): Kamailio's
    /// `pre_auth` (credentials for `realm`, complete, with a fresh nonce
    /// of ours), then `lookup` with the credentials chosen (it answers
    /// the password or HA1, or an auth return code: user unknown, a
    /// database error), then the response check and `post_auth`
    /// (`Authentication-Info` when configured). ACK, CANCEL and PRACK are
    /// always authenticated (1) without a lookup.
    pub fn authenticate_with<F>(
        &self,
        ctx: &mut Ctx<'_>,
        realm: &[u8],
        proxy: bool,
        method: Option<&[u8]>,
        lookup: F,
    ) -> i32
    where
        F: FnOnce(&mut Ctx<'_>, &Credentials<'_>) -> Result<Lookup, i32>,
    {
        if matches!(
            ctx.msg.method(),
            Some(Method::Ack | Method::Cancel | Method::Prack)
        ) {
            return rc::OK;
        }
        let realm = self.strip_realm(realm);
        let (idx, cred) = match find_credentials(ctx, realm, proxy) {
            Found::Error => return rc::ERROR,
            Found::None => return rc::NO_CREDENTIALS,
            Found::At(i, c) => (i, c),
        };
        mark_authorized(ctx, idx);
        if let Err(code) = digest::pre_check(&cred, &self.rules(ctx.now)) {
            return code;
        }
        let secret = match lookup(ctx, &cred) {
            Ok(s) => s,
            Err(code) => return code,
        };
        let method = match method {
            Some(m) => m,
            None => ctx.msg.method().map(|m| m.as_bytes()).unwrap_or_default(),
        };
        let secret = match &secret {
            Lookup::Password(p) => Secret::Password(p),
            Lookup::Ha1(h) => Secret::Ha1(h),
        };
        let (code, ha1) = digest::check_response(&cred, realm, method, secret, self.algorithm);
        if let (true, Some(ha1)) = (self.add_authinfo_hdr, ha1) {
            let rspauth = digest::rspauth(self.algorithm, &ha1, &cred);
            let mut h = b"Authentication-Info: nextnonce=\"".to_vec();
            for part in [
                cred.nonce,
                b"\", qop=",
                cred.qop,
                b", rspauth=\"",
                &rspauth,
                b"\", cnonce=\"",
                cred.cnonce,
                b"\", nc=",
                cred.nc,
                b"\r\n",
            ] {
                h.extend_from_slice(part);
            }
            ctx.reply_lumps.extend_from_slice(&h);
        }
        code
    }

    /// The configured digest algorithm (auth_db computes HA1 with it).
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }
}

/// What a credentials store found for the user: the plain password (HA1
/// is then computed from the credentials' username and the realm) or HA1.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Lookup {
    Password(Vec<u8>),
    Ha1(Vec<u8>),
}

impl Module for Auth {
    const NAME: &'static str = "auth";

    fn from_params(params: &ModParams) -> Result<Self, ParamError> {
        Auth::from_params(params)
    }

    fn on_request_in(&self, _ctx: &mut Ctx<'_>) {
        AUTHORIZED.with(|a| a.set(None));
    }
}

/// 32 random printable characters (0x20..0x7e), as Kamailio makes its
/// secret when none is configured.
fn random_secret() -> Vec<u8> {
    use std::hash::{BuildHasher, Hasher};
    let state = std::collections::hash_map::RandomState::new();
    (0..32u64)
        .map(|i| {
            let mut h = state.build_hasher();
            h.write_u64(i);
            h.write_u32(std::process::id());
            // 95 printable characters.
            0x20 + u8::try_from(h.finish() % 95).unwrap_or(0)
        })
        .collect()
}

fn state<'c>(ctx: &Ctx<'c>) -> &'c Auth {
    &Modules::of(ctx).auth
}

thread_local! {
    /// The credentials header the last check of this worker's message
    /// chose (Kamailio marks it in the parsed message): the message
    /// buffer's address and the header's index, for `consume_credentials`.
    static AUTHORIZED: Cell<Option<(usize, usize)>> = const { Cell::new(None) };
}

fn msg_key(ctx: &Ctx<'_>) -> usize {
    ctx.msg.buffer().as_ptr() as usize
}

fn mark_authorized(ctx: &Ctx<'_>, idx: usize) {
    let key = msg_key(ctx);
    AUTHORIZED.with(|a| a.set(Some((key, idx))));
}

/// The username of the credentials the last successful check of this
/// message chose (Kamailio's `get_authorized_cred`, for siputils'
/// `is_user`).
pub fn authorized_username<'m>(ctx: &Ctx<'m>) -> Option<&'m [u8]> {
    let key = msg_key(ctx);
    let idx = AUTHORIZED
        .with(Cell::get)
        .and_then(|(k, i)| (k == key).then_some(i))?;
    let msg: &'m crate::sip::Message<'m> = ctx.msg;
    let h = msg.headers().get(idx)?;
    Credentials::parse(&msg.buffer()[h.value().range()])
        .ok()
        .map(|c| c.username)
}

enum Found<'m> {
    /// A header before the match did not parse.
    Error,
    None,
    At(usize, Credentials<'m>),
}

/// Kamailio's `find_credentials`: the first header of the kind whose
/// realm equals `realm` (case-insensitive); a malformed one before it is
/// an error, one of another scheme is skipped.
fn find_credentials<'m>(ctx: &Ctx<'m>, realm: &[u8], proxy: bool) -> Found<'m> {
    let kind = if proxy {
        HeaderName::ProxyAuthorization
    } else {
        HeaderName::Authorization
    };
    let msg: &'m crate::sip::Message<'m> = ctx.msg;
    let buf = msg.buffer();
    for (i, h) in msg.headers().iter().enumerate() {
        if h.name != kind {
            continue;
        }
        match Credentials::parse(&buf[h.value().range()]) {
            Ok(c) if c.realm.eq_ignore_ascii_case(realm) => return Found::At(i, c),
            Ok(_) | Err(ParseError::NotDigest) => {}
            Err(ParseError::Malformed) => return Found::Error,
        }
    }
    Found::None
}

/// Kamailio's `auth_send_reply`: the header as a reply lump, then a reply
/// through tm when the request has a transaction (unless
/// `force_stateless_reply`), else stateless.
fn send_challenge(ctx: &mut Ctx<'_>, code: i32, reason: &[u8], header: &[u8]) -> i32 {
    ctx.reply_lumps.extend_from_slice(header);
    send(ctx, code, reason)
}

fn send(ctx: &mut Ctx<'_>, code: i32, reason: &[u8]) -> i32 {
    if state(ctx).force_stateless_reply {
        crate::modules::sl::sl_send_reply(ctx, code, reason)
    } else {
        crate::modules::sl::send_reply(ctx, code, reason)
    }
}

fn internal_error(ctx: &mut Ctx<'_>, flags: i32) -> i32 {
    if flags & 4 == 0 && send(ctx, 500, b"Internal Server Error") < 0 {
        return -4;
    }
    -1
}

/// Kamailio's `auth_challenge_helper`: flags 1 qop="auth", 2
/// qop="auth-int", 16 stale=true.
fn challenge(ctx: &mut Ctx<'_>, realm: &[u8], flags: i32, proxy: bool) -> i32 {
    if realm.is_empty() {
        crate::engine::log::error(ctx, "invalid realm value - empty content\n");
        return internal_error(ctx, flags);
    }
    let a = state(ctx);
    let qop = if flags & 2 != 0 {
        Some("auth-int")
    } else if flags & 1 != 0 {
        Some("auth")
    } else {
        None
    };
    let realm = a.strip_realm(realm);
    let hf = a.challenge(proxy, realm, qop, flags & 16 != 0, a.unix_secs(ctx.now));
    let sent = if proxy {
        send_challenge(ctx, 407, b"Proxy Authentication Required", &hf)
    } else {
        send_challenge(ctx, 401, b"Unauthorized", &hf)
    };
    if sent < 0 { -3 } else { 1 }
}

/// `www_challenge(realm, flags)`: 401 with `WWW-Authenticate`.
pub fn www_challenge(ctx: &mut Ctx<'_>, realm: &[u8], flags: i32) -> i32 {
    challenge(ctx, realm, flags, false)
}

/// `proxy_challenge(realm, flags)`: 407 with `Proxy-Authenticate`.
pub fn proxy_challenge(ctx: &mut Ctx<'_>, realm: &[u8], flags: i32) -> i32 {
    challenge(ctx, realm, flags, true)
}

/// `auth_challenge(realm, flags)`: 401 for REGISTER, 407 otherwise; ACK
/// and CANCEL are not challenged (1).
pub fn auth_challenge(ctx: &mut Ctx<'_>, realm: &[u8], flags: i32) -> i32 {
    match ctx.msg.method() {
        Some(Method::Ack | Method::Cancel) => 1,
        Some(Method::Register) => challenge(ctx, realm, flags, false),
        _ => challenge(ctx, realm, flags, true),
    }
}

/// `has_credentials(realm)`: 1 if a `Proxy-Authorization`, else an
/// `Authorization`, has that realm; -1 otherwise.
pub fn has_credentials(ctx: &mut Ctx<'_>, realm: &[u8]) -> i32 {
    for proxy in [true, false] {
        if let Found::At(..) = find_credentials(ctx, realm, proxy) {
            return 1;
        }
    }
    -1
}

/// `consume_credentials()`: removes the header the last check chose; -1
/// when there is none (and for ACK, CANCEL, PRACK, which are never
/// checked).
pub fn consume_credentials(ctx: &mut Ctx<'_>) -> i32 {
    let key = msg_key(ctx);
    let Some(idx) = AUTHORIZED
        .with(Cell::get)
        .and_then(|(k, i)| (k == key).then_some(i))
    else {
        if !matches!(ctx.msg.method(), Some(Method::Ack | Method::Cancel)) {
            crate::engine::log::error(ctx, "no authorized credentials found (error in scripts)\n");
        }
        return -1;
    };
    ctx.headers.push(HeaderOp::Remove(idx));
    1
}

/// Kamailio's `pv_authenticate`: flags 1 = `passwd` is HA1; 2/4/8 (a
/// challenge into `challenge_attr`) are not supported yet: logged as an
/// error, no AVP is written (the return code is Kamailio's).
fn pv_authenticate(
    ctx: &mut Ctx<'_>,
    realm: &[u8],
    passwd: &[u8],
    flags: i32,
    proxy: bool,
    method: Option<&[u8]>,
) -> i32 {
    if realm.is_empty() || passwd.is_empty() || method.is_some_and(<[u8]>::is_empty) {
        return rc::ERROR;
    }
    if flags & 14 != 0 {
        crate::engine::log::error(
            ctx,
            "auth: the challenge AVP (flags 2, 4, 8) is not supported yet; no challenge built\n",
        );
    }
    let secret = if flags & 1 != 0 {
        Secret::Ha1(passwd)
    } else {
        Secret::Password(passwd)
    };
    let a = state(ctx);
    a.authenticate(ctx, realm, proxy, secret, method)
}

/// `pv_www_authenticate(realm, passwd, flags)` (and `pv_www_authorize`).
pub fn pv_www_authenticate(ctx: &mut Ctx<'_>, realm: &[u8], passwd: &[u8], flags: i32) -> i32 {
    pv_authenticate(ctx, realm, passwd, flags, false, None)
}

/// `pv_www_authenticate(realm, passwd, flags, method)`.
pub fn pv_www_authenticate_method(
    ctx: &mut Ctx<'_>,
    realm: &[u8],
    passwd: &[u8],
    flags: i32,
    method: &[u8],
) -> i32 {
    pv_authenticate(ctx, realm, passwd, flags, false, Some(method))
}

/// `pv_proxy_authenticate(realm, passwd, flags)` (and
/// `pv_proxy_authorize`).
pub fn pv_proxy_authenticate(ctx: &mut Ctx<'_>, realm: &[u8], passwd: &[u8], flags: i32) -> i32 {
    pv_authenticate(ctx, realm, passwd, flags, true, None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::params::ParamValue;

    #[test]
    fn parameters() {
        let mut p = ModParams::new();
        p.push("auth", "secret", ParamValue::Str("s3cret".into()));
        p.push("auth", "nonce_expire", ParamValue::Int(30));
        p.push("auth", "algorithm", ParamValue::Str("SHA-256".into()));
        p.push("auth", "realm_prefix", ParamValue::Str("sip.".into()));
        let a = Auth::from_params(&p).expect("valid");
        assert_eq!(a.secret1, b"s3cret");
        assert_eq!(a.algorithm, Algorithm::Sha256);
        assert_eq!(a.strip_realm(b"sip.example.com"), b"example.com");
        assert_eq!(a.strip_realm(b"example.com"), b"example.com");
        let h = a.challenge(false, b"r", Some("auth"), true, 1000);
        let n = String::from_utf8(a.nonce(1000)).expect("ascii");
        assert_eq!(
            String::from_utf8(h).expect("ascii"),
            format!(
                "WWW-Authenticate: Digest realm=\"r\", nonce=\"{n}\", qop=\"auth\", stale=true, algorithm=SHA-256\r\n"
            )
        );
        let mut bad = ModParams::new();
        bad.push("auth", "algorithm", ParamValue::Str("MD5-sess".into()));
        assert!(Auth::from_params(&bad).is_err());
        let d = Auth::default();
        assert_eq!(d.secret1.len(), 32);
        assert!(d.secret1.iter().all(|b| (0x20..0x7f).contains(b)));
        let h = d.challenge(true, b"r", None, false, 1000);
        assert!(h.starts_with(b"Proxy-Authenticate: Digest realm=\"r\", nonce=\""));
        assert!(h.ends_with(b"\"\r\n"));
        assert_eq!(
            h.len(),
            "Proxy-Authenticate: Digest realm=\"r\", nonce=\"\"\r\n".len() + 32
        );
    }
}
