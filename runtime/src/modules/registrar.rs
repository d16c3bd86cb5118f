//! registrar — REGISTER processing and location look-ups
//! (kamailio-modules.md §10) over usrloc's table.
//!
//! Replies are sent statelessly through sl (`send_reply` without a
//! transaction); once tm exists, a transaction makes them stateful.
//! `received`: a Contact's `received` parameter (`received_param`), else
//! the first value of `received_avp` (which nathelper's
//! `fix_nated_register` fills), is stored with the binding, shown in the
//! reply's Contact and becomes `$du` on `lookup` (without a Path).
//!
//! Not implemented: GRUU, outbound (RFC 5626), xavp_cfg/xavp_rcd, expiry randomisation,
//! forcing the send socket at lookup, Path as Route headers in the
//! stateless forward (`$path` is set for tm).

use std::time::{Duration, Instant};

use crate::engine::ctx::{Branch, Ctx};
use crate::engine::params::{ModParams, ParamError};
use crate::sip::syntax::{unescape, unquote};
use crate::sip::{HeaderName, NameAddr, Uri};
use crate::transport::Proto;

use super::sl;
use super::usrloc::{Contact, Q_UNSPECIFIED};

/// The module's parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub default_expires: u32,
    pub min_expires: u32,
    /// 1: reject a too short expiry with 423.
    pub min_expires_mode: i32,
    /// 0: no upper bound.
    pub max_expires: u32,
    pub default_q: i32,
    pub append_branches: bool,
    pub case_sensitive: bool,
    pub max_contacts: u32,
    pub method_filtering: bool,
    pub use_path: bool,
    pub path_mode: i32,
    pub realm_prefix: Vec<u8>,
    pub retry_after: u32,
    /// GRUU (RFC 5627): `pub-gruu`/`temp-gruu` in the 200 to a REGISTER
    /// that supports `gruu`, and `lookup` of such URIs.
    pub gruu_enabled: bool,
    /// `received_param` ("received"): the Contact parameter whose value
    /// is saved as the binding's received address.
    pub received_param: Vec<u8>,
    /// `received_avp`: where `save` finds the received address when the
    /// Contact has no such parameter.
    pub received_avp: Option<cfgc_vocab::PvRef>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            default_expires: 3600,
            min_expires: 60,
            min_expires_mode: 0,
            max_expires: 0,
            default_q: Q_UNSPECIFIED,
            append_branches: true,
            case_sensitive: false,
            max_contacts: 0,
            method_filtering: false,
            use_path: false,
            path_mode: 2,
            realm_prefix: Vec::new(),
            retry_after: 0,
            gruu_enabled: true,
            received_param: b"received".to_vec(),
            received_avp: None,
        }
    }
}

impl Config {
    /// Reads `modparam("registrar", ...)`.
    ///
    /// # Errors
    /// A non-numeric value, a `received_avp` that is not an AVP. Features
    /// that are not implemented (outbound, xavp_cfg...) are refused at
    /// build (`cfgc_vocab::MODULES`).
    pub fn from_params(p: &ModParams) -> Result<Self, ParamError> {
        let d = Self::default();
        let u = |name: &str, default: u32| -> Result<u32, ParamError> {
            Ok(p.int("registrar", name)?
                .map_or(default, |v| u32::try_from(v).unwrap_or(0)))
        };
        let b = |name: &str, default: bool| -> Result<bool, ParamError> {
            Ok(p.int("registrar", name)?.map_or(default, |v| v != 0))
        };
        Ok(Self {
            default_expires: u("default_expires", d.default_expires)?,
            min_expires: u("min_expires", d.min_expires)?,
            min_expires_mode: p
                .int("registrar", "min_expires_mode")?
                .unwrap_or(d.min_expires_mode),
            max_expires: u("max_expires", d.max_expires)?,
            default_q: p.int("registrar", "default_q")?.unwrap_or(d.default_q),
            append_branches: b("append_branches", d.append_branches)?,
            case_sensitive: b("case_sensitive", d.case_sensitive)?,
            max_contacts: u("max_contacts", d.max_contacts)?,
            method_filtering: b("method_filtering", d.method_filtering)?,
            use_path: b("use_path", d.use_path)?,
            path_mode: p.int("registrar", "path_mode")?.unwrap_or(d.path_mode),
            realm_prefix: p
                .str("registrar", "realm_prefix")
                .unwrap_or_default()
                .into_bytes(),
            retry_after: u("retry_after", d.retry_after)?,
            gruu_enabled: b("gruu_enabled", d.gruu_enabled)?,
            received_param: p
                .str("registrar", "received_param")
                .map_or(d.received_param, String::into_bytes),
            received_avp: super::avp_param(p, "registrar", "received_avp")?,
        })
    }
}

/// Kamailio's method bits (`METHOD_*`), for `Allow` and method filtering.
pub fn method_bit(m: &[u8]) -> u32 {
    const NAMES: [&[u8]; 15] = [
        b"INVITE",
        b"CANCEL",
        b"ACK",
        b"BYE",
        b"INFO",
        b"REGISTER",
        b"SUBSCRIBE",
        b"NOTIFY",
        b"MESSAGE",
        b"OPTIONS",
        b"PRACK",
        b"UPDATE",
        b"REFER",
        b"PUBLISH",
        b"KDMQ",
    ];
    NAMES
        .iter()
        .position(|n| n.eq_ignore_ascii_case(m))
        .map_or(1 << 15, |i| 1 << i)
}

/// `q` text to thousandths: `0`, `1`, `0.5`, `1.0`, `0.125`...
fn parse_q(s: &[u8]) -> Option<i32> {
    let (int, frac) = match s.iter().position(|&b| b == b'.') {
        Some(i) => (&s[..i], &s[i + 1..]),
        None => (s, &b""[..]),
    };
    if frac.len() > 3 || !frac.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let mut f = 0i32;
    for i in 0..3 {
        f = f * 10 + frac.get(i).map_or(0, |d| i32::from(d - b'0'));
    }
    match int {
        b"0" => Some(f),
        b"1" if f == 0 => Some(1000),
        _ => None,
    }
}

/// A q value as Kamailio prints it: `1`, `0`, `0.5`, `0.25`.
fn q_text(q: i32) -> String {
    match q {
        1000.. => "1".into(),
        ..=0 => "0".into(),
        q => {
            let s = format!("0.{q:03}");
            s.trim_end_matches('0').to_string()
        }
    }
}

/// Why a request is rejected: the reply and its `P-Registrar-Error`.
struct RegError {
    code: u16,
    reason: &'static str,
    text: &'static str,
    extra: &'static str,
    /// The AoR's Contact line: an error while updating an existing record
    /// answers with its bindings too (Kamailio's add_contacts builds the
    /// list before replying either way).
    contacts: Vec<u8>,
}

const fn rerr(code: u16, text: &'static str) -> RegError {
    let reason = match code {
        400 => "Bad Request",
        420 => "Bad Extension",
        503 => "Service Unavailable",
        _ => "Server Internal Error",
    };
    RegError {
        code,
        reason,
        text,
        extra: "",
        contacts: Vec::new(),
    }
}

/// The AoR of a URI: unescaped user, `@domain` with usrloc `use_domain`
/// (realm_prefix removed), lower-cased unless `case_sensitive`.
fn aor_of(ctx: &Ctx<'_>, uri: &[u8]) -> Result<Vec<u8>, RegError> {
    let u = Uri::parse(uri).map_err(|_| rerr(400, "Error while parsing AOR"))?;
    let user = u
        .user
        .filter(|u| !u.is_empty())
        .ok_or(rerr(400, "No username in To URI"))?;
    let cfg = &super::Modules::of(ctx).registrar;
    let mut aor = unescape(user).into_owned();
    if super::Modules::of(ctx).usrloc.use_domain {
        let host = u.host;
        let host = host
            .strip_prefix(cfg.realm_prefix.as_slice())
            .filter(|_| !cfg.realm_prefix.is_empty())
            .unwrap_or(host);
        aor.push(b'@');
        aor.extend_from_slice(host);
    }
    if aor.len() > 255 {
        return Err(rerr(500, "Address Of Record too long"));
    }
    if !cfg.case_sensitive {
        aor.make_ascii_lowercase();
    }
    Ok(aor)
}

/// `s` without one pair of surrounding `<` `>`, as Kamailio compares
/// instances (`reg_cmp_instances`).
fn strip_angle(s: &[u8]) -> &[u8] {
    match s {
        [b'<', inner @ .., b'>'] => inner,
        _ => s,
    }
}

/// What a 200 to a REGISTER supporting `gruu` needs for the GRUUs of its
/// contacts: the AoR and the host of the registered URI.
struct GruuCtx<'a> {
    aor: &'a [u8],
    host: &'a [u8],
}

/// usrloc's AoR hash (`ul_get_aorhash`: Kamailio's core hash, whole).
fn aor_hash(aor: &[u8]) -> u32 {
    super::cfgutils::hash32(aor)
}

/// A temp-gruu's user part: `<ruid>-<aor hash>`, the hash in hex digits
/// lowest first, as Kamailio writes it.
fn temp_gruu_user(ruid: &[u8], aor: &[u8]) -> Vec<u8> {
    let mut v = ruid.to_vec();
    v.push(b'-');
    let mut h = aor_hash(aor);
    while h != 0 {
        v.push(b"0123456789abcdef"[(h & 0xf) as usize]);
        h >>= 4;
    }
    v
}

/// A temp-gruu's user part back to (ruid, AoR hash); `None` if it is not
/// one (no `-`, or a character after the last `-` that is not hex).
fn parse_temp_gruu(user: &[u8]) -> Option<(&[u8], u32)> {
    let sep = user.iter().rposition(|&b| b == b'-')?;
    let mut h: u32 = 0;
    for &b in user[sep + 1..].iter().rev() {
        let d = char::from(b).to_digit(16)?;
        h = (h << 4).wrapping_add(d);
    }
    Some((&user[..sep], h))
}

fn contact_line(now: Instant, cs: &[Contact], gruu: Option<&GruuCtx<'_>>) -> Vec<u8> {
    let mut v = b"Contact: ".to_vec();
    for (i, c) in cs.iter().enumerate() {
        if i > 0 {
            v.extend_from_slice(b", ");
        }
        v.push(b'<');
        v.extend_from_slice(&c.uri);
        v.push(b'>');
        if c.q != Q_UNSPECIFIED {
            v.extend_from_slice(b";q=");
            v.extend_from_slice(q_text(c.q).as_bytes());
        }
        // Kamailio keeps expiry times in whole seconds, so a binding just
        // saved shows its full interval: the remainder is rounded up.
        let left = c.expires.saturating_duration_since(now);
        let secs = left.as_secs() + u64::from(left.subsec_nanos() > 0);
        v.extend_from_slice(format!(";expires={secs}").as_bytes());
        if let Some(r) = &c.received {
            v.extend_from_slice(b";received=\"");
            v.extend_from_slice(r);
            v.push(b'"');
        }
        if let (Some(g), Some(inst)) = (gruu, c.instance.as_ref().filter(|i| !i.is_empty())) {
            v.extend_from_slice(b";pub-gruu=\"sip:");
            if g.aor.contains(&b'@') {
                v.extend_from_slice(g.aor);
            } else {
                v.extend_from_slice(g.aor);
                v.push(b'@');
                v.extend_from_slice(g.host);
            }
            v.extend_from_slice(b";gr=");
            v.extend_from_slice(strip_angle(inst));
            v.extend_from_slice(b"\";temp-gruu=\"sip:");
            v.extend_from_slice(&temp_gruu_user(&c.ruid, g.aor));
            v.push(b'@');
            v.extend_from_slice(g.host);
            v.extend_from_slice(b";gr\"");
        }
        if let Some(inst) = c.instance.as_ref().filter(|i| !i.is_empty()) {
            v.extend_from_slice(b";+sip.instance=\"");
            v.extend_from_slice(inst);
            v.push(b'"');
        }
        if c.reg_id != 0 {
            v.extend_from_slice(format!(";reg-id={}", c.reg_id).as_bytes());
        }
    }
    v.extend_from_slice(b"\r\n");
    v
}

/// The Expires header as Kamailio's registrar reads it (parse_expires,
/// get_expires_hf): trimmed; empty is a parse error (`None`); longer than
/// 10 characters or a character other than a digit before any whitespace
/// makes it invalid, read as absent (`Some(None)`); else the digits as an
/// unsigned 32-bit number that wraps (4294967296 is 0), read as a C
/// `int`.
fn expires_hf(v: &[u8]) -> Option<Option<i32>> {
    let v = v.trim_ascii();
    if v.is_empty() {
        return None;
    }
    if v.len() > 10 {
        return Some(None);
    }
    let mut n: u32 = 0;
    for &b in v {
        match b {
            b'0'..=b'9' => n = n.wrapping_mul(10).wrapping_add(u32::from(b - b'0')),
            b' ' | b'\t' | b'\r' | b'\n' => break,
            _ => return Some(None),
        }
    }
    Some(Some(n.cast_signed()))
}

/// Kamailio's `str2int`: only digits, at least one, no overflow of 32
/// bits.
fn str2int(v: &[u8]) -> Option<u32> {
    if v.is_empty() || !v.iter().all(u8::is_ascii_digit) {
        return None;
    }
    v.iter().try_fold(0u32, |n, d| {
        n.checked_mul(10)?.checked_add(u32::from(d - b'0'))
    })
}

fn default_int(v: u32) -> i32 {
    i32::try_from(v).unwrap_or(i32::MAX)
}

fn default_expires(cfg: &Config) -> i32 {
    default_int(cfg.default_expires)
}

/// Sends registrar's error reply. Its headers are reply lumps of the
/// request (Kamailio's `add_lump_rpl`): a later reply to the same request
/// (the stock cfg's `sl_reply_error()` after a failed `save`) carries them
/// too.
fn send_error(ctx: &mut Ctx<'_>, e: &RegError) -> i32 {
    let mut extra = e.contacts.clone();
    extra.extend_from_slice(format!("P-Registrar-Error: {}\r\n", e.text).as_bytes());
    extra.extend_from_slice(e.extra.as_bytes());
    let retry = super::Modules::of(ctx).registrar.retry_after;
    if e.code >= 500 && retry > 0 {
        extra.extend_from_slice(format!("Retry-After: {retry}\r\n").as_bytes());
    }
    ctx.reply_lumps.extend_from_slice(&extra);
    sl::send_local_reply(ctx, e.code, e.reason.as_bytes(), b"");
    -1
}

/// `save(table)`.
pub fn save(ctx: &mut Ctx<'_>, table: &[u8]) -> i32 {
    save_uri(ctx, table, b"0", b"")
}

/// `save(table, flags)`.
pub fn save_flags(ctx: &mut Ctx<'_>, table: &[u8], flags: &[u8]) -> i32 {
    save_uri(ctx, table, flags, b"")
}

fn parse_flags(f: &[u8]) -> Option<u32> {
    let s = std::str::from_utf8(f).ok()?.trim();
    if s.is_empty() {
        return Some(0);
    }
    match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(h) => u32::from_str_radix(h, 16).ok(),
        None => s.parse().ok(),
    }
}

/// `save(table, flags, uri)`: processes a REGISTER (flags: 0x01 memory
/// only, 0x02 no reply, 0x04 one contact per AoR; `uri` replaces the To
/// URI as AoR) and answers 200 with every binding of the AoR. Returns 1
/// contacts inserted, 2 updated (or nothing changed), 3 deleted, 4 only
/// fetched (no Contact); -1 error (a reply with `P-Registrar-Error` was
/// sent), -2 too many contacts (503).
pub fn save_uri(ctx: &mut Ctx<'_>, table: &[u8], flags: &[u8], uri: &[u8]) -> i32 {
    let Some(flags) = parse_flags(flags) else {
        return -1;
    };
    let table = String::from_utf8_lossy(table).into_owned();
    match save_inner(ctx, &table, flags, uri) {
        Ok((rc, reply)) => {
            crate::engine::counters::stats()
                .registrar
                .accepted_regs
                .inc();
            if flags & 0x02 == 0 {
                // The Contact list and Path are reply lumps too.
                if ctx.reply_lumps.is_empty() {
                    ctx.reply_lumps = reply;
                } else {
                    ctx.reply_lumps.extend_from_slice(&reply);
                }
                sl::send_local_reply(ctx, 200, b"OK", b"");
            }
            rc
        }
        Err(e) => {
            crate::engine::counters::stats()
                .registrar
                .rejected_regs
                .inc();
            let rc = if e.code == 503 { -2 } else { -1 };
            if flags & 0x02 == 0 {
                send_error(ctx, &e);
            }
            rc
        }
    }
}

struct NewContact {
    uri: Vec<u8>,
    expires: u32,
    q: i32,
    instance: Option<Vec<u8>>,
    reg_id: u32,
    /// Its `received_param` parameter's value.
    received: Option<Vec<u8>>,
}

fn save_inner(
    ctx: &mut Ctx<'_>,
    table: &str,
    flags: u32,
    uri_arg: &[u8],
) -> Result<(i32, Vec<u8>), RegError> {
    let msg = ctx.msg;
    if !msg.is_request() {
        return Err(rerr(500, "Message parse error"));
    }
    let cfg = super::Modules::of(ctx).registrar.clone();
    let now = ctx.now;
    // AoR, and the host of its URI (the GRUUs' host)
    let aor_uri = if uri_arg.is_empty() {
        msg.to()
            .map_err(|_| rerr(400, "To header not found"))?
            .uri_raw
    } else {
        uri_arg
    };
    let aor = aor_of(ctx, aor_uri)?;
    let gruu_host = (cfg.gruu_enabled && msg.supported().any(|s| s.eq_ignore_ascii_case(b"gruu")))
        .then(|| {
            Uri::parse(aor_uri)
                .map(|u| u.host.to_vec())
                .unwrap_or_default()
        });
    let gruu = gruu_host.as_deref().map(|host| GruuCtx { aor: &aor, host });
    let call_id = msg
        .call_id()
        .map_err(|_| rerr(400, "Call-ID header not found"))?
        .to_vec();
    if call_id.len() > 255 {
        return Err(rerr(400, "Callid too long"));
    }
    if msg.header(HeaderName::CSeq).is_none() {
        return Err(rerr(400, "CSeq header not found"));
    }
    let cseq = msg
        .cseq()
        .map_err(|_| rerr(400, "Invalid CSeq number"))?
        .seq;
    let hdr_expires = match msg.header(HeaderName::Expires) {
        None => None,
        Some(v) => expires_hf(v).ok_or(rerr(400, "Expires parse error"))?,
    };
    // Path
    let path = if cfg.use_path {
        let values: Vec<&[u8]> = msg.header_values(HeaderName::Path).collect();
        if values.is_empty() {
            None
        } else {
            if msg.paths().any(|p| p.is_err()) {
                return Err(rerr(400, "Path parse error"));
            }
            let supported = msg.supported().any(|s| s.eq_ignore_ascii_case(b"path"));
            if cfg.path_mode == 2 && !supported {
                return Err(RegError {
                    extra: "Unsupported: path\r\n",
                    ..rerr(420, "No support for found Path indicated")
                });
            }
            Some(values.join(&b","[..]))
        }
    } else {
        None
    };
    let echo_path = path.as_ref().filter(|_| {
        cfg.path_mode == 2
            || (cfg.path_mode == 1 && msg.supported().any(|s| s.eq_ignore_ascii_case(b"path")))
    });
    let mut reply_extra = Vec::new();
    if let Some(p) = echo_path {
        reply_extra.extend_from_slice(b"Path: ");
        reply_extra.extend_from_slice(p);
        reply_extra.extend_from_slice(b"\r\n");
    }
    let ul = &super::Modules::of(ctx).usrloc;
    let has_contact = msg.header(HeaderName::Contact).is_some();
    // `Contact: *`
    if has_contact && msg.contact_is_star() {
        if hdr_expires != Some(0) {
            return Err(rerr(400, "* used in contact and expires is not zero"));
        }
        if msg.contacts().count() > 1
            || msg
                .headers()
                .iter()
                .filter(|h| h.name == HeaderName::Contact)
                .count()
                > 1
        {
            return Err(rerr(400, "* used in contact and more than 1 contact"));
        }
        ul.store
            .update(table, &aor, &mut |cs| cs.clear())
            .map_err(|_| rerr(500, "usrloc_record_delete failed"))?;
        return Ok((3, reply_extra));
    }
    let mut news = Vec::new();
    for c in kamailio_contact_order(msg) {
        let c: NameAddr<'_> = c.map_err(|_| rerr(400, "Contact parse error"))?;
        if c.uri_raw == b"*" {
            return Err(rerr(400, "* used in contact and more than 1 contact"));
        }
        if c.uri_raw.len() > 512 {
            return Err(rerr(400, "Contact/received too long"));
        }
        // Kamailio's calc_contact_expires: an `expires` parameter with a
        // value is read as an unsigned 32-bit number (default_expires if
        // it is not one); without a value, the Expires header, if valid;
        // else default_expires. Values read as a C `int` (above 2^31 they
        // are negative and end up as min_expires).
        let expires: i32 = match c.param(b"expires").flatten().filter(|v| !v.is_empty()) {
            Some(v) => str2int(v).map_or(default_expires(&cfg), u32::cast_signed),
            None => hdr_expires.unwrap_or(default_expires(&cfg)),
        };
        let expires = if expires == 0 {
            0
        } else {
            let min = default_int(cfg.min_expires);
            let e = if expires < min {
                if cfg.min_expires_mode == 1 {
                    return Err(RegError {
                        reason: "Interval Too Brief",
                        ..rerr(423, "Interval too brief")
                    });
                }
                min
            } else {
                expires
            };
            let max = default_int(cfg.max_expires);
            let e = if max != 0 && e > max { max } else { e };
            e.cast_unsigned()
        };
        let q = match c.q() {
            Some(q) => parse_q(q).ok_or(rerr(400, "Invalid q param in contact"))?,
            None => cfg.default_q,
        };
        let reg_id = match c.param(b"reg-id") {
            Some(v) => std::str::from_utf8(v.unwrap_or_default())
                .ok()
                .and_then(|s| s.parse().ok())
                .ok_or(rerr(400, "Invalid Reg-Id number"))?,
            None => 0,
        };
        news.push(NewContact {
            uri: c.uri_raw.to_vec(),
            expires,
            q,
            // The parameter's value without its quotes, as Kamailio's
            // contact parser gives it.
            instance: c
                .param(b"+sip.instance")
                .flatten()
                .map(|v| unquote(v).to_vec())
                .filter(|v| !v.is_empty()),
            reg_id,
            received: c
                .param(&cfg.received_param)
                .flatten()
                .map(|v| unquote(v).to_vec())
                .filter(|v| !v.is_empty()),
        });
    }
    if news.is_empty() {
        let cs = ul.valid(table, &aor, now);
        if !cs.is_empty() {
            reply_extra.splice(0..0, contact_line(now, &cs, gruu.as_ref()));
        }
        return Ok((4, reply_extra));
    }
    let methods = if msg.header(HeaderName::Allow).is_some() {
        msg.allow()
            .fold(0u32, |m, a| m | method_bit(a.trim_ascii()))
    } else {
        u32::MAX
    };
    // Kamailio's pack_ci: `n/a` without a User-Agent (or an empty one, or
    // one of 255 bytes or more).
    let user_agent = msg
        .header(HeaderName::UserAgent)
        .filter(|ua| !ua.is_empty() && ua.len() < 255)
        .unwrap_or(b"n/a")
        .to_vec();
    let socket = format!(
        "{}:{}",
        match ctx.rcv.proto {
            Proto::Udp => "udp",
            Proto::Tcp => "tcp",
        },
        ctx.rcv.local
    )
    .into_bytes();
    let cflags = ctx.bflags;
    // Kamailio's pack_ci: the first `received_avp` value, when a string.
    let avp_received =
        cfg.received_avp
            .as_ref()
            .and_then(|avp| match crate::engine::pv::read(ctx, avp) {
                crate::engine::value::Value::Str(s) if !s.is_empty() => Some(s.into_owned()),
                _ => None,
            });
    let cseq_delay = ul.cseq_delay;
    let mut result: Result<i32, RegError> = Ok(2);
    let mut contacts_after = Vec::new();
    let mut existed = false;
    let stored = ul.store.update(table, &aor, &mut |cs| {
        existed = !cs.is_empty();
        let mut work: Vec<Contact> = cs.iter().filter(|c| c.expires > now).cloned().collect();
        let (mut inserted, mut updated, mut deleted) = (false, false, false);
        if flags & 0x04 != 0 {
            // One contact per AoR: the others go.
            let keep: Vec<&[u8]> = news.iter().map(|n| n.uri.as_slice()).collect();
            let before = work.len();
            work.retain(|c| keep.contains(&c.uri.as_slice()));
            deleted |= work.len() != before;
        }
        for n in &news {
            // usrloc's get_ucontact_by_instance: a contact with an instance
            // is the stored one with the same instance (and reg-id),
            // whatever its URI; else the one with the same URI.
            let found = match &n.instance {
                Some(inst) => work.iter().position(|c| {
                    c.reg_id == n.reg_id
                        && c.instance
                            .as_deref()
                            .is_some_and(|ci| strip_angle(ci) == strip_angle(inst))
                }),
                None => work.iter().position(|c| c.uri == n.uri),
            };
            // usrloc's get_ucontact: a contact found by URI with the same
            // Call-ID and a lower CSeq, or the same CSeq after cseq_delay,
            // fails the whole save ("Invalid CSeq number"); the same CSeq
            // within cseq_delay (a retransmission) leaves it unchanged.
            if let (Some(i), None) = (found, &n.instance) {
                let c = &work[i];
                if c.call_id == call_id && cseq <= c.cseq {
                    if cseq == c.cseq && now.saturating_duration_since(c.last_modified) < cseq_delay
                    {
                        continue;
                    }
                    // What was updated before stays (Kamailio updates the
                    // record contact by contact).
                    super::Modules::of(ctx).usrloc.sort(&mut work);
                    contacts_after.clone_from(&work);
                    *cs = work;
                    result = Err(rerr(400, "Invalid CSeq number"));
                    return;
                }
            }
            match found {
                Some(i) if n.expires == 0 => {
                    work.remove(i);
                    deleted = true;
                }
                Some(mut i) => {
                    if n.instance.is_some() {
                        // Found by instance: the new address replaces the
                        // old one, and with a new Call-ID the other
                        // contacts of this instance go.
                        work[i].uri.clone_from(&n.uri);
                        if work[i].call_id != call_id {
                            let (inst, keep) = (work[i].instance.clone(), i);
                            let mut j = 0;
                            work.retain(|o| {
                                let other = j != keep && o.instance == inst;
                                j += 1;
                                !other
                            });
                            i = work
                                .iter()
                                .position(|o| o.instance == inst)
                                .unwrap_or_default();
                        }
                    }
                    let c = &mut work[i];
                    c.expires = now + Duration::from_secs(u64::from(n.expires));
                    c.q = n.q;
                    c.call_id.clone_from(&call_id);
                    c.cseq = cseq;
                    c.cflags = cflags;
                    c.user_agent.clone_from(&user_agent);
                    c.path.clone_from(&path);
                    c.socket = Some(socket.clone());
                    c.methods = methods;
                    c.instance.clone_from(&n.instance);
                    c.reg_id = n.reg_id;
                    c.received = n.received.clone().or_else(|| avp_received.clone());
                    c.last_modified = now;
                    updated = true;
                }
                None if n.expires == 0 => {}
                None => {
                    if cfg.max_contacts > 0 && work.len() >= cfg.max_contacts as usize {
                        // Kamailio checks before changing anything.
                        contacts_after = cs.iter().filter(|c| c.expires > now).cloned().collect();
                        super::Modules::of(ctx).usrloc.sort(&mut contacts_after);
                        result = Err(rerr(503, "Too many registered contacts"));
                        return;
                    }
                    work.push(Contact {
                        uri: n.uri.clone(),
                        expires: now + Duration::from_secs(u64::from(n.expires)),
                        q: n.q,
                        call_id: call_id.clone(),
                        cseq,
                        cflags,
                        user_agent: user_agent.clone(),
                        received: n.received.clone().or_else(|| avp_received.clone()),
                        path: path.clone(),
                        socket: Some(socket.clone()),
                        methods,
                        ruid: super::Modules::of(ctx).usrloc.new_ruid(),
                        instance: n.instance.clone(),
                        reg_id: n.reg_id,
                        last_modified: now,
                    });
                    inserted = true;
                }
            }
        }
        super::Modules::of(ctx).usrloc.sort(&mut work);
        result = Ok(if inserted {
            1
        } else if updated {
            2
        } else if deleted {
            3
        } else {
            2
        });
        contacts_after.clone_from(&work);
        *cs = work;
    });
    // A database write that failed (db_mode 1, 3) fails the save.
    let write_failed = stored.is_err();
    let result = result.and_then(|rc| stored.map(|()| rc).map_err(|e| rerr(500, e.0)));
    let rc = match result {
        Ok(rc) => rc,
        Err(mut e) => {
            if !existed && write_failed {
                // Kamailio's insert_contacts: a new record whose write
                // failed is deleted again (from memory, and from the
                // database where a part of it was written); an existing
                // one keeps what was changed in memory.
                let _ = ul.store.update(table, &aor, &mut |cs| cs.clear());
            }
            if existed && !contacts_after.is_empty() {
                e.contacts = contact_line(now, &contacts_after, gruu.as_ref());
            }
            return Err(e);
        }
    };
    if !contacts_after.is_empty() {
        reply_extra.splice(0..0, contact_line(now, &contacts_after, gruu.as_ref()));
    }
    Ok((rc, reply_extra))
}

/// The REGISTER's contacts in the order Kamailio's save() meets them:
/// Contact headers in order, but the contacts of one header last first
/// (its contact parser prepends each to the list). A record made by one
/// REGISTER with `Contact: <a>, <b>` lists b before a (equal q).
fn kamailio_contact_order<'a>(
    msg: &crate::sip::Message<'a>,
) -> Vec<Result<NameAddr<'a>, crate::sip::ParseError>> {
    let headers: Vec<(usize, usize)> = msg
        .headers()
        .iter()
        .filter(|h| h.name == HeaderName::Contact)
        .map(|h| (h.value().start as usize, h.value().end as usize))
        .collect();
    let mut groups: Vec<Vec<Result<NameAddr<'a>, crate::sip::ParseError>>> =
        vec![Vec::new(); headers.len().max(1)];
    let mut raw = msg.list(HeaderName::Contact);
    let mut parsed = msg.contacts();
    while let (Some(v), Some(c)) = (raw.next(), parsed.next()) {
        let off = msg.offset_of(v).unwrap_or(0);
        let g = headers
            .iter()
            .position(|&(s, e)| off >= s && off <= e)
            .unwrap_or(0);
        groups[g].push(c);
    }
    groups
        .into_iter()
        .flat_map(|g| g.into_iter().rev())
        .collect()
}

fn lookup_aor(ctx: &Ctx<'_>, uri: &[u8]) -> Option<Vec<u8>> {
    let uri = if uri.is_empty() { ctx.ruri() } else { uri };
    aor_of(ctx, uri).ok()
}

/// `lookup(table)`.
pub fn lookup(ctx: &mut Ctx<'_>, table: &[u8]) -> i32 {
    lookup_uri(ctx, table, b"")
}

/// `lookup(table, uri)`: the AoR of `uri` (default: the current R-URI).
/// 1 found: R-URI := first contact (highest q), `$du` := first Path URI or
/// received, the others appended as branches (`append_branches`); -1 no
/// valid contact; -2 contacts exist but none allows the method
/// (`method_filtering`, initial requests only); -3 bad AoR.
pub fn lookup_uri(ctx: &mut Ctx<'_>, table: &[u8], uri: &[u8]) -> i32 {
    let Some(aor) = lookup_aor(ctx, uri) else {
        return -3;
    };
    let table = String::from_utf8_lossy(table);
    // A GRUU (RFC 5627): `;gr=<instance>` (pub-gruu) selects the contact of
    // that instance; `;gr` alone (temp-gruu) names one contact by its ruid
    // and its AoR's hash. Either way that contact only, no other branch.
    let target = if uri.is_empty() { ctx.ruri() } else { uri };
    let gr = Uri::parse(target)
        .ok()
        .and_then(|u| u.param(b"gr").map(|v| (v, u.user.unwrap_or_default())));
    let ul = &super::Modules::of(ctx).usrloc;
    let mut cs = match gr {
        Some((None | Some(b""), user)) => {
            let Some((ruid, hash)) = parse_temp_gruu(user) else {
                return -3;
            };
            match ul.store.by_ruid(&table, ruid, &|aor| aor_hash(aor) == hash) {
                Some((_, c)) if c.expires > ctx.now => vec![c],
                _ => return -1,
            }
        }
        Some((Some(inst), _)) => {
            let cs = ul.valid(&table, &aor, ctx.now);
            if cs.is_empty() {
                return -1;
            }
            let inst = strip_angle(inst);
            let found: Vec<Contact> = cs
                .into_iter()
                .filter(|c| {
                    c.instance
                        .as_deref()
                        .is_some_and(|i| strip_angle(i) == inst)
                })
                .take(1)
                .collect();
            if found.is_empty() {
                return -1;
            }
            found
        }
        None => ul.valid(&table, &aor, ctx.now),
    };
    if cs.is_empty() {
        return -1;
    }
    let cfg = &super::Modules::of(ctx).registrar;
    let initial = ctx.msg.to().is_ok_and(|t| t.tag.is_none());
    if cfg.method_filtering && initial {
        let bit = method_bit(ctx.msg.method().map_or(&b""[..], |m| m.as_bytes()));
        cs.retain(|c| c.methods & bit != 0);
        if cs.is_empty() {
            return -2;
        }
    }
    let append_branches = cfg.append_branches && gr.is_none();
    let dst_of = |c: &Contact| -> Option<Vec<u8>> {
        match &c.path {
            Some(p) => NameAddr::parse(crate::sip::syntax::CommaSplit::new(p).next()?)
                .map(|na| na.uri_raw.to_vec()),
            None => c.received.clone(),
        }
    };
    let first = &cs[0];
    ctx.new_uri = Some(first.uri.clone());
    ctx.dst_uri = dst_of(first);
    ctx.path.clone_from(&first.path);
    ctx.bflags |= first.cflags;
    if append_branches {
        for c in &cs[1..] {
            ctx.branches.push(Branch {
                uri: c.uri.clone(),
                dst_uri: dst_of(c),
                path: c.path.clone(),
                q: c.q,
                flags: c.cflags,
                socket: c.socket.clone(),
            });
        }
    }
    1
}

/// `registered(table)`: 1 if the AoR of the R-URI (of To for a reply)
/// has a valid contact, -1 otherwise.
pub fn registered(ctx: &Ctx<'_>, table: &[u8]) -> i32 {
    registered_uri(ctx, table, b"")
}

/// `registered(table, uri)`.
pub fn registered_uri(ctx: &Ctx<'_>, table: &[u8], uri: &[u8]) -> i32 {
    let aor = if uri.is_empty() && !ctx.msg.is_request() {
        ctx.msg.to().ok().and_then(|t| aor_of(ctx, t.uri_raw).ok())
    } else {
        lookup_aor(ctx, uri)
    };
    let Some(aor) = aor else {
        return -1;
    };
    let table = String::from_utf8_lossy(table);
    if super::Modules::of(ctx)
        .usrloc
        .valid(&table, &aor, ctx.now)
        .is_empty()
    {
        -1
    } else {
        1
    }
}

/// `unregister(table, uri)`: removes every contact of the AoR of `uri`.
/// 1 removed, -1 bad AoR, -3 no such AoR.
pub fn unregister(ctx: &mut Ctx<'_>, table: &[u8], uri: &[u8]) -> i32 {
    let Ok(aor) = aor_of(ctx, uri) else {
        return -1;
    };
    let table = String::from_utf8_lossy(table);
    let mut found = false;
    let stored = super::Modules::of(ctx)
        .usrloc
        .store
        .update(&table, &aor, &mut |cs| {
            found = !cs.is_empty();
            cs.clear();
        });
    match (found, stored) {
        (_, Err(_)) => -1,
        (true, Ok(())) => 1,
        (false, Ok(())) => -3,
    }
}

impl crate::engine::module::Module for Config {
    const NAME: &'static str = "registrar";

    fn from_params(p: &ModParams) -> Result<Self, ParamError> {
        Config::from_params(p)
    }
}

#[cfg(test)]
mod tests;
