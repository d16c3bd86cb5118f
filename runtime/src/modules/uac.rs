//! uac — the proxy acting as a UAC on the request it relays (Kamailio
//! 5.6's uac module): From/To replacement with its restoration, and
//! digest authentication of a challenged request in a failure route.
//!
//! * `uac_replace_from/to([display,] uri)` edit the From/To header of the
//!   request as Kamailio's lumps do (the display name deleted and the new
//!   one inserted over it, or before the `<`, or with `<`…`>` added around
//!   a bare URI; the URI replaced). Unless `restore_mode` is `none`, the
//!   original URI is kept in a Record-Route parameter (`vsf`/`vst`): the
//!   longer of the two URIs XORed with the shorter (as a prefix), XORed
//!   with `restore_passwd` (cycled), in Kamailio's base64 alphabet with
//!   `-` as padding; and the replies to the request get the original
//!   header back (the span from the start of the value to the URI's `>`
//!   replaced by the original request's, Kamailio's `TMCB_RESPONSE_IN`
//!   callback: [`Module::tm_response_in`] here).
//! * In `auto` mode, rr's `loose_route` hands the Route parameters of our
//!   Route to [`rr_checker`] (Kamailio's RR callback): the parameter
//!   decoded gives the URI to put back into From or To, depending on the
//!   direction of the request; `uac_restore_from/to()` do the same from
//!   the script (`manual` mode; the replies to such a request are not
//!   restored, as in Kamailio, which asks for them only in the
//!   replacement and in the RR callback).
//! * `uac_auth([mode])` in a failure route: the picked branch's 401/407
//!   challenge answered with the credential for its realm (from the auth
//!   AVPs, else the `credential` lines), the
//!   `Authorization`/`Proxy-Authorization` header appended to the request
//!   and the R-URI set to the branch's, for the script's next `t_relay()`.
//!   The CSeq is not changed (Kamailio only increments it through the
//!   dialog module's `track_cseq_updates`, and dialog is not supported).
//!
//!   A `qop` that does not start with `auth` is answered with `nc` and
//!   `cnonce` in the digest but not in the header (Kamailio dereferences
//!   a null `nc` there).
//!
//! * `uac_req_send()` with `$uac_req(...)` and `event_route[uac:reply]`:
//!   [`send`].
//!
//! The dialog-based restoration (`restore_dlg` other than 0), the restore
//! AVPs (`restore_from_avp`/`restore_to_avp`), the registration client
//! (`uac_reg_*` and `reg_*`), `default_socket` and `event_callback` are
//! refused at build.

pub mod send;

use crate::engine::Ctx;
use crate::engine::ctx::HeaderOp;
use crate::engine::log;
use crate::engine::module::Module;
use crate::engine::params::{ModParams, ParamError};
use crate::modules::Modules;
use crate::sip::{HeaderName, Message, NameAddr};
use cfgc_vocab::PvRef;

const M: &str = "uac";

/// Kamailio's `MAX_URI_SIZE`.
const MAX_URI_SIZE: usize = 1024;

/// `restore_mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RestoreMode {
    /// `none`: From/To replaced, never restored.
    None,
    /// `manual`: restored by `uac_restore_from/to()` in the script.
    Manual,
    /// `auto` (the default): restored by rr's `loose_route()`.
    Auto,
}

/// One `credential` (`user:realm:password`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credential {
    pub user: Vec<u8>,
    pub realm: Vec<u8>,
    pub passwd: Vec<u8>,
}

/// The module's parameters.
#[derive(Debug, Clone)]
pub struct Uac {
    pub restore_mode: RestoreMode,
    /// `restore_passwd`.
    pub passwd: Vec<u8>,
    /// `rr_from_store_param` (`vsf`).
    pub rr_from: Vec<u8>,
    /// `rr_to_store_param` (`vst`).
    pub rr_to: Vec<u8>,
    /// The `credential` lines, the last given first (Kamailio links each
    /// new one at the head of its list).
    pub credentials: Vec<Credential>,
    /// `auth_realm_avp`, `auth_username_avp`, `auth_password_avp`
    /// (all three or none).
    pub auth_avps: Option<[PvRef; 3]>,
}

impl Default for Uac {
    fn default() -> Self {
        Self {
            restore_mode: RestoreMode::Auto,
            passwd: Vec::new(),
            rr_from: b"vsf".to_vec(),
            rr_to: b"vst".to_vec(),
            credentials: Vec::new(),
            auth_avps: None,
        }
    }
}

/// Parses a `credential` as Kamailio's `add_credential`: blanks allowed
/// around the `:` separators, none inside the three parts.
pub fn parse_credential(s: &[u8]) -> Option<Credential> {
    let mut p = 0;
    let n = s.len();
    let sp = |b: u8| b.is_ascii_whitespace();
    let part = |p: &mut usize, stop_colon: bool| -> Option<Vec<u8>> {
        while *p < n && sp(s[*p]) {
            *p += 1;
        }
        let start = *p;
        while *p < n && !sp(s[*p]) && !(stop_colon && s[*p] == b':') {
            *p += 1;
        }
        (start != *p).then(|| s[start..*p].to_vec())
    };
    let colon = |p: &mut usize| -> Option<()> {
        if *p >= n {
            return None;
        }
        while *p < n && sp(s[*p]) {
            *p += 1;
        }
        if *p >= n || s[*p] != b':' {
            return None;
        }
        *p += 1;
        while *p < n && sp(s[*p]) {
            *p += 1;
        }
        (*p < n).then_some(())
    };
    let user = part(&mut p, true)?;
    colon(&mut p)?;
    let realm = part(&mut p, true)?;
    colon(&mut p)?;
    let passwd = part(&mut p, false)?;
    while p < n && sp(s[p]) {
        p += 1;
    }
    (p == n).then_some(Credential {
        user,
        realm,
        passwd,
    })
}

/// A credential PV parameter, as the compiler resolved it (a list of
/// one PV).
fn pv_param(p: &ModParams, name: &str) -> Result<Option<PvRef>, ParamError> {
    use crate::engine::params::ParamValue;
    match p.get(M, name) {
        None => Ok(None),
        Some(ParamValue::PvList(l)) if l.len() == 1 => Ok(Some(l[0].1.clone())),
        Some(_) => Err(ParamError::invalid(
            M,
            name,
            format!("malformed or non AVP {name} AVP definition"),
        )),
    }
}

impl Uac {
    /// Reads `modparam("uac", ...)`.
    ///
    /// # Errors
    /// An unknown `restore_mode`, an empty store parameter with
    /// restoration on, a malformed `credential` (Kamailio refuses to
    /// start).
    pub fn from_params(p: &ModParams) -> Result<Self, ParamError> {
        let d = Self::default();
        let restore_mode = match p.str(M, "restore_mode") {
            None => d.restore_mode,
            Some(s) if s.is_empty() => d.restore_mode,
            Some(s) if s.eq_ignore_ascii_case("none") => RestoreMode::None,
            Some(s) if s.eq_ignore_ascii_case("manual") => RestoreMode::Manual,
            Some(s) if s.eq_ignore_ascii_case("auto") => RestoreMode::Auto,
            Some(s) => {
                return Err(ParamError::invalid(
                    M,
                    "restore_mode",
                    format!("unsupported value '{s}' for restore_mode"),
                ));
            }
        };
        let rr_from = p
            .str(M, "rr_from_store_param")
            .map_or(d.rr_from, String::into_bytes);
        let rr_to = p
            .str(M, "rr_to_store_param")
            .map_or(d.rr_to, String::into_bytes);
        if (rr_from.is_empty() || rr_to.is_empty()) && restore_mode != RestoreMode::None {
            return Err(ParamError::invalid(
                M,
                "rr_from_store_param",
                "rr_store_param cannot be empty if FROM is restoreable",
            ));
        }
        let mut credentials = Vec::new();
        for v in p.all(M, "credential") {
            let s = match v {
                crate::engine::params::ParamValue::Str(s) => s.clone(),
                crate::engine::params::ParamValue::Int(n) => n.to_string(),
                crate::engine::params::ParamValue::PvList(_) => String::new(),
            };
            let c = parse_credential(s.as_bytes()).ok_or_else(|| {
                ParamError::invalid(M, "credential", format!("parse error in <{s}>"))
            })?;
            credentials.insert(0, c);
        }
        let avps = [
            pv_param(p, "auth_realm_avp")?,
            pv_param(p, "auth_username_avp")?,
            pv_param(p, "auth_password_avp")?,
        ];
        let auth_avps = match avps {
            [None, None, None] => None,
            [Some(r), Some(u), Some(pw)] => Some([r, u, pw]),
            _ => {
                return Err(ParamError::invalid(
                    M,
                    "auth_realm_avp",
                    "partial definition of auth AVP!",
                ));
            }
        };
        Ok(Self {
            auth_avps,
            restore_mode,
            passwd: p
                .str(M, "restore_passwd")
                .map_or(d.passwd, String::into_bytes),
            rr_from,
            rr_to,
            credentials,
        })
    }

    /// What Kamailio's `mod_init` checks of the other modules: restoring
    /// needs rr (its API), and `auto` rr's `append_fromtag`.
    ///
    /// # Errors
    /// Kamailio's reason to refuse to start.
    pub fn start(&self, rr_loaded: bool, append_fromtag: bool) -> Result<(), String> {
        if self.restore_mode == RestoreMode::None {
            return Ok(());
        }
        if !rr_loaded {
            return Err("uac: can't load RR API".into());
        }
        if self.restore_mode == RestoreMode::Auto && !append_fromtag {
            return Err(
                "uac: 'append_fromtag' RR param is not enabled! - required by AUTO restore mode"
                    .into(),
            );
        }
        Ok(())
    }
}

// ---- the Record-Route parameter's encoding ------------------------------

const ENC: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Kamailio's `encode_uri`: base64 of `src` with `-` for padding.
pub fn encode(src: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(src.len().div_ceil(3) * 4);
    for chunk in src.chunks(3) {
        let mut block = 0u32;
        for (i, b) in chunk.iter().enumerate() {
            block |= u32::from(*b) << (16 - 8 * i);
        }
        let at = |shift: u32| ENC[((block >> shift) & 0x3f) as usize];
        out.push(at(18));
        out.push(at(12));
        out.push(if chunk.len() > 1 { at(6) } else { b'-' });
        out.push(if chunk.len() > 2 { at(0) } else { b'-' });
    }
    out
}

fn dec_char(c: u8) -> Option<u32> {
    ENC.iter().position(|&e| e == c).map(|p| p as u32)
}

/// Kamailio's `decode_uri`: the trailing `-` ignored, the length
/// `len*6/8 - dashes`; `None` for an empty or invalid text or a result
/// over `MAX_URI_SIZE`.
pub fn decode(src: &[u8]) -> Option<Vec<u8>> {
    if src.is_empty() {
        return None;
    }
    let dashes = src.iter().rev().take_while(|&&c| c == b'-').count();
    let len = ((src.len() * 6) >> 3).checked_sub(dashes)?;
    if len > MAX_URI_SIZE {
        return None;
    }
    let end = src.len() - dashes;
    let mut out = vec![0u8; len];
    let (mut i, mut idx) = (0, 0);
    while i < end {
        let mut block = 0u32;
        let mut j = 0;
        while j < 4 && i < end {
            block += dec_char(src[i])? << (18 - 6 * j);
            i += 1;
            j += 1;
        }
        for (k, shift) in [16u32, 8, 0].into_iter().enumerate() {
            if idx + k < len {
                out[idx + k] = ((block >> shift) & 0xff) as u8;
            }
        }
        idx += 3;
    }
    Some(out)
}

/// The parameter value for replacing `old` by `new`: the longer XORed
/// with the shorter, then with the password, encoded.
pub fn rr_value(old: &[u8], new: &[u8], passwd: &[u8]) -> Option<Vec<u8>> {
    let (long, short) = if old.len() > new.len() {
        (old, new)
    } else {
        (new, old)
    };
    if long.len() > MAX_URI_SIZE {
        return None;
    }
    let mut buf = long.to_vec();
    for (b, s) in buf.iter_mut().zip(short) {
        *b ^= s;
    }
    if !passwd.is_empty() {
        for (i, b) in buf.iter_mut().enumerate() {
            *b ^= passwd[i % passwd.len()];
        }
    }
    Some(encode(&buf))
}

/// The URI the parameter value gives when the header holds `current`
/// (Kamailio's `restore_uri` after decoding): `None` if it does not
/// decode, is shorter than `current`, comes out empty or unprintable.
pub fn restored_uri(value: &[u8], current: &[u8], passwd: &[u8]) -> Option<Vec<u8>> {
    let mut new = decode(value)?;
    if !passwd.is_empty() {
        for (i, b) in new.iter_mut().enumerate() {
            *b ^= passwd[i % passwd.len()];
        }
    }
    if new.len() < current.len() {
        return None;
    }
    for (i, c) in current.iter().enumerate() {
        new[i] ^= c;
        if new[i] == 0 {
            new.truncate(i);
            break;
        }
    }
    if new.is_empty() || !new.iter().all(|b| (0x20..0x7f).contains(b)) {
        return None;
    }
    Some(new)
}

/// rr's `get_route_param` over Route parameters (`lr;ftag=x;vsf=...`,
/// no leading `;`): the value of `name` (case-sensitive; quotes dropped;
/// empty for a flag).
pub fn route_param<'a>(params: &'a [u8], name: &[u8]) -> Option<&'a [u8]> {
    let end = params.len();
    let mut p = 0;
    let blank = |b: u8| b == b' ' || b == b'\t';
    while end - p > name.len() + 2 {
        if p != 0 {
            let mut quoted = false;
            while p < end && (params[p] != b';' || quoted) {
                if (params[p] == b'"' || params[p] == b'\'') && params[p - 1] != b'\\' {
                    quoted = !quoted;
                }
                p += 1;
            }
            if p == end {
                return None;
            }
            p += 1;
        }
        while p < end && blank(params[p]) {
            p += 1;
        }
        if end - p < name.len() + 2 {
            return None;
        }
        if &params[p..p + name.len()] != name {
            p += 1;
            continue;
        }
        p += name.len();
        while p < end && blank(params[p]) {
            p += 1;
        }
        if p == end || params[p] == b';' {
            return Some(&[]);
        }
        let eq = params[p] == b'=';
        p += 1;
        if !eq {
            continue;
        }
        while p < end && blank(params[p]) {
            p += 1;
        }
        if p == end {
            return None;
        }
        let start;
        if params[p] == b'\'' || params[p] == b'"' {
            p += 1;
            start = p;
            while p < end {
                if (params[p] == b'"' || params[p] == b'\'') && params[p - 1] != b'\\' {
                    break;
                }
                p += 1;
            }
        } else {
            start = p;
            while p < end && !matches!(params[p], b';' | b' ' | b'\t') {
                p += 1;
            }
        }
        return Some(&params[start..p]);
    }
    None
}

// ---- From/To replacement ---------------------------------------------

/// Which header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Which {
    From,
    To,
}

impl Which {
    /// Kamailio's `FL_USE_UAC_FROM`/`FL_USE_UAC_TO` on the request: a
    /// [`HeaderOp::Note`] (kept with the transaction).
    fn flag(self) -> &'static str {
        match self {
            Self::From => "uac.from",
            Self::To => "uac.to",
        }
    }
    fn name(self) -> HeaderName {
        match self {
            Self::From => HeaderName::From,
            Self::To => HeaderName::To,
        }
    }
    fn text(self) -> &'static str {
        match self {
            Self::From => "from",
            Self::To => "to",
        }
    }
}

/// The note asking tm for the replies (Kamailio's `TMCB_RESPONSE_IN`
/// registration).
const REPLY_CB: &str = "uac.reply";

fn has_note(ops: &[HeaderOp], key: &str) -> bool {
    ops.iter()
        .any(|op| matches!(op, HeaderOp::Note(k, _) if *k == key))
}

/// Marks the request, and its transaction if it has one (Kamailio sets
/// the flag on `t->uas.request` too, and a callback registered from a
/// branch route goes to the transaction): what the replies see.
fn set_note(ctx: &mut Ctx<'_>, key: &'static str) {
    let mark = |ops: &mut Vec<HeaderOp>| {
        if !has_note(ops, key) {
            ops.push(HeaderOp::Note(key, Vec::new()));
        }
    };
    mark(&mut ctx.headers);
    crate::tm::with_tx(ctx, |t, _| mark(&mut t.headers));
}

/// The first header `which` of `msg`, parsed, with the offset of its
/// value in the buffer.
fn header<'a>(msg: &Message<'a>, which: Which) -> Option<NameAddr<'a>> {
    match which {
        Which::From => msg.from().ok(),
        Which::To => msg.to().ok(),
    }
}

/// The header's name-addr span Kamailio restores in replies: from the
/// start of the value to the end of the URI, then blanks and a `>` if
/// one follows.
fn restore_span(msg: &Message<'_>, na: &NameAddr<'_>) -> Option<(usize, usize)> {
    let start = msg.offset_of(na.raw)?;
    let uri_end = msg.offset_of(na.uri_raw)? + na.uri_raw.len();
    let buf = msg.buffer();
    let mut e = uri_end;
    while e < buf.len() && buf[e].is_ascii_whitespace() {
        e += 1;
    }
    let end = if e < buf.len() && buf[e] == b'>' {
        e + 1
    } else {
        uri_end
    };
    Some((start, end))
}

fn replace_uri(ctx: &mut Ctx<'_>, which: Which, display: Option<&[u8]>, uri: &[u8]) -> i32 {
    let cfg = &Modules::of(ctx).uac;
    let msg = ctx.msg;
    if !msg.is_request() {
        return -1;
    }
    let Some(body) = header(msg, which) else {
        log::error(
            ctx,
            &format!(
                "uac: failed to find/parse {} hdr\n",
                which.text().to_uppercase()
            ),
        );
        return -1;
    };
    if ctx.tm.route == crate::tm::RouteKind::Request && has_note(&ctx.headers, which.flag()) {
        log::error(
            ctx,
            &format!(
                "uac: called uac_replace_{}() multiple times on the message\n",
                which.text()
            ),
        );
        return -1;
    }
    let uri = (!uri.is_empty()).then_some(uri);
    if cfg.restore_mode == RestoreMode::Auto && uri.is_some() {
        match msg.to() {
            Err(_) => return -1,
            Ok(t) if t.tag.is_some() => {
                log::error(
                    ctx,
                    "uac: decline FROM replacing in sequential request in auto mode (has TO tag)\n",
                );
                return -1;
            }
            Ok(_) => {}
        }
    }
    let Some(uri_at) = msg.offset_of(body.uri_raw) else {
        return -1;
    };
    let uri_end = uri_at + body.uri_raw.len();
    let mut ops = Vec::new();
    if let Some(d) = display {
        let mut replaced = false;
        if let Some(old) = body.display {
            let Some(at) = msg.offset_of(old) else {
                return -1;
            };
            ops.push(HeaderOp::Replace {
                start: at,
                end: at + old.len(),
                data: d.to_vec(),
            });
            replaced = true;
        }
        if !d.is_empty() && !replaced {
            // Before the `<` if the URI has one, else with `<`...`>` added.
            let value_at = msg
                .header_entry(which.name())
                .map_or(0, |h| h.value().start as usize);
            let buf = msg.buffer();
            let lt = (value_at..uri_at).rev().find(|&i| buf[i] == b'<');
            match lt {
                Some(i) => {
                    let mut v = d.to_vec();
                    v.push(b' ');
                    ops.push(HeaderOp::Replace {
                        start: i,
                        end: i,
                        data: v,
                    });
                }
                None => {
                    ops.push(HeaderOp::Replace {
                        start: uri_end,
                        end: uri_end,
                        data: b">".to_vec(),
                    });
                    let mut v = d.to_vec();
                    v.extend_from_slice(b" <");
                    ops.push(HeaderOp::Replace {
                        start: uri_at,
                        end: uri_at,
                        data: v,
                    });
                }
            }
        }
    }
    let Some(uri) = uri else {
        ctx.headers.extend(ops);
        return 1;
    };
    if uri.len() > MAX_URI_SIZE {
        return -1;
    }
    ops.push(HeaderOp::Replace {
        start: uri_at,
        end: uri_end,
        data: uri.to_vec(),
    });
    if cfg.restore_mode == RestoreMode::None {
        ctx.headers.extend(ops);
        return 1;
    }
    if !Modules::of(ctx).rr.append_fromtag {
        log::error(
            ctx,
            "uac: 'append_fromtag' RR param is not enabled! - required by AUTO restore mode\n",
        );
        return -1;
    }
    let param_name = match which {
        Which::From => &cfg.rr_from,
        Which::To => &cfg.rr_to,
    };
    let Some(value) = rr_value(body.uri_raw, uri, &cfg.passwd) else {
        log::error(ctx, "uac: failed to encode uris\n");
        return -1;
    };
    ctx.headers.extend(ops);
    let mut param = Vec::with_capacity(2 + param_name.len() + value.len());
    param.push(b';');
    param.extend_from_slice(param_name);
    param.push(b'=');
    param.extend_from_slice(&value);
    if super::rr::add_rr_param(ctx, &param) != 1 {
        return -1;
    }
    set_note(ctx, REPLY_CB);
    set_note(ctx, which.flag());
    1
}

/// `uac_replace_from(uri)`: 1, or -1 (an error, a second call in the
/// request route, a URI change of a request with a To-tag in `auto`
/// mode).
pub fn uac_replace_from(ctx: &mut Ctx<'_>, uri: &[u8]) -> i32 {
    replace_uri(ctx, Which::From, None, uri)
}

/// `uac_replace_from(display, uri)`: an empty display removes it, an
/// empty URI leaves the URI alone.
pub fn uac_replace_from_dsp(ctx: &mut Ctx<'_>, display: &[u8], uri: &[u8]) -> i32 {
    replace_uri(ctx, Which::From, Some(display), uri)
}

/// `uac_replace_to(uri)`.
pub fn uac_replace_to(ctx: &mut Ctx<'_>, uri: &[u8]) -> i32 {
    replace_uri(ctx, Which::To, None, uri)
}

/// `uac_replace_to(display, uri)`.
pub fn uac_replace_to_dsp(ctx: &mut Ctx<'_>, display: &[u8], uri: &[u8]) -> i32 {
    replace_uri(ctx, Which::To, Some(display), uri)
}

// ---- restoration -------------------------------------------------------

/// Kamailio's `restore_uri` for the parameter of `which` (`vsf` for
/// From): true if a URI was put back.
fn restore_uri(ctx: &mut Ctx<'_>, which: Which) -> bool {
    let cfg = &Modules::of(ctx).uac;
    let name = match which {
        Which::From => &cfg.rr_from,
        Which::To => &cfg.rr_to,
    };
    let params = ctx.route_params.clone().unwrap_or_default();
    let params = params.strip_prefix(b";").unwrap_or(&params);
    let Some(value) = route_param(params, name) else {
        return false;
    };
    if decode(value).is_none() {
        log::error(ctx, "uac: failed to decode uri\n");
        return false;
    }
    // The parameter goes into our Record-Route again (if the script
    // record-routes this request).
    let mut again = vec![b';'];
    again.extend_from_slice(name);
    again.push(b'=');
    again.extend_from_slice(value);
    if super::rr::add_rr_param(ctx, &again) != 1 {
        return false;
    }
    let upstream = super::rr::is_direction(ctx, b"upstream") == 1;
    let target = match (which, upstream) {
        (Which::From, true) | (Which::To, false) => Which::To,
        _ => Which::From,
    };
    let msg = ctx.msg;
    let Some(body) = header(msg, target) else {
        return false;
    };
    let Some(new) = restored_uri(value, body.uri_raw, &cfg.passwd) else {
        return false;
    };
    let Some(at) = msg.offset_of(body.uri_raw) else {
        return false;
    };
    ctx.headers.push(HeaderOp::Replace {
        start: at,
        end: at + body.uri_raw.len(),
        data: new,
    });
    set_note(ctx, target.flag());
    true
}

/// rr's callback for a request `loose_route()` routed with parameters in
/// our Route (Kamailio's `rr_checker`, registered in `auto` mode): From
/// and To restored, and the replies asked for if either was.
pub fn rr_checker(ctx: &mut Ctx<'_>) {
    let m = Modules::of(ctx);
    if !m.is_loaded(M) || m.uac.restore_mode != RestoreMode::Auto {
        return;
    }
    let from = restore_uri(ctx, Which::From);
    let to = restore_uri(ctx, Which::To);
    if from || to {
        set_note(ctx, REPLY_CB);
    }
}

/// `uac_restore_from()`: 1 if the From (or, upstream, the To) URI was
/// restored from our Route's parameter, else -1.
pub fn uac_restore_from(ctx: &mut Ctx<'_>) -> i32 {
    if !ctx.msg.is_request() {
        return -1;
    }
    if restore_uri(ctx, Which::From) { 1 } else { -1 }
}

/// `uac_restore_to()`.
pub fn uac_restore_to(ctx: &mut Ctx<'_>) -> i32 {
    if !ctx.msg.is_request() {
        return -1;
    }
    if restore_uri(ctx, Which::To) { 1 } else { -1 }
}

/// The edits of a reply to a request whose From/To uac changed
/// (Kamailio's `restore_uris_reply`): each changed header's name-addr
/// replaced by the received request's.
pub fn reply_edits(
    request: &Message<'_>,
    req_ops: &[HeaderOp],
    reply: &Message<'_>,
) -> Vec<HeaderOp> {
    let mut ops = Vec::new();
    for which in [Which::From, Which::To] {
        if !has_note(req_ops, which.flag()) {
            continue;
        }
        let (Some(req), Some(rpl)) = (header(request, which), header(reply, which)) else {
            continue;
        };
        let (Some((rs, re)), Some((ps, pe))) =
            (restore_span(request, &req), restore_span(reply, &rpl))
        else {
            continue;
        };
        ops.push(HeaderOp::Replace {
            start: ps,
            end: pe,
            data: request.buffer()[rs..re].to_vec(),
        });
    }
    ops
}

// ---- uac_auth ----------------------------------------------------------

/// A `WWW-Authenticate`/`Proxy-Authenticate` challenge, as Kamailio's
/// `parse_authenticate_body` reads it.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Challenge<'a> {
    pub realm: &'a [u8],
    pub nonce: &'a [u8],
    pub opaque: &'a [u8],
    pub qop: &'a [u8],
    /// `qop` starts with `auth`.
    pub qop_auth: bool,
}

/// Parses a challenge (`Digest realm="...", nonce="..."`); `None` where
/// Kamailio fails (no `Digest`, no realm or nonce, an algorithm other
/// than a three-letter one, a stale value other than true/false).
pub fn parse_challenge(body: &[u8]) -> Option<Challenge<'_>> {
    let end = body.len();
    let sp = |b: u8| b.is_ascii_whitespace();
    let mut p = 0;
    while p < end && sp(body[p]) {
        p += 1;
    }
    if p + 6 >= end || !body[p..p + 6].eq_ignore_ascii_case(b"digest") {
        return None;
    }
    p += 6;
    if !sp(body[p]) {
        return None;
    }
    p += 1;
    while p < end && sp(body[p]) {
        p += 1;
    }
    if p == end {
        return None;
    }
    let mut c = Challenge::default();
    let (mut realm, mut nonce) = (None, None);
    while p < end {
        let start = p;
        while p < end && !sp(body[p]) && body[p] != b'=' {
            p += 1;
        }
        if p == end {
            return None;
        }
        let name = &body[start..p];
        while p < end && sp(body[p]) {
            p += 1;
        }
        if p == end || body[p] != b'=' {
            return None;
        }
        p += 1;
        while p < end && sp(body[p]) {
            p += 1;
        }
        if p + 1 >= end {
            return None;
        }
        let quoted = body[p] == b'"';
        let val;
        if quoted {
            p += 1;
            let s = p;
            while p < end && body[p] != b'"' {
                p += 1;
            }
            if p == end {
                return None;
            }
            val = &body[s..p];
            p += 1;
        } else {
            let s = p;
            while p < end && !sp(body[p]) && body[p] != b',' {
                p += 1;
            }
            val = &body[s..p];
        }
        while p < end && sp(body[p]) {
            p += 1;
        }
        if p < end && body[p] == b',' {
            p += 1;
            while p < end && sp(body[p]) {
                p += 1;
            }
        }
        let is = |n: &[u8]| name.eq_ignore_ascii_case(n);
        if is(b"qop") {
            c.qop = val;
            c.qop_auth = val.starts_with(b"auth");
        } else if is(b"realm") {
            realm = (!val.is_empty()).then_some(val);
        } else if is(b"nonce") {
            nonce = (!val.is_empty()).then_some(val);
        } else if is(b"opaque") {
            c.opaque = val;
        } else if is(b"algorithm") {
            if val.len() != 3 {
                return None;
            }
        } else if is(b"stale")
            && !val.eq_ignore_ascii_case(b"true")
            && !val.eq_ignore_ascii_case(b"false")
        {
            return None;
        }
    }
    c.realm = realm?;
    c.nonce = nonce?;
    Some(c)
}

fn md5_hex(parts: &[&[u8]]) -> Vec<u8> {
    super::auth::digest::Algorithm::Md5.hex(parts)
}

/// The Authorization (401) or Proxy-Authorization (407) header value
/// Kamailio's `uac_auth` builds for `method` and `uri`.
/// With `ha1`, the password is the HA1 already (its first 32 bytes).
pub fn authorization(
    code: u16,
    method: &[u8],
    uri: &[u8],
    crd: &Credential,
    ha1: bool,
    ch: &Challenge<'_>,
) -> (&'static str, Vec<u8>) {
    let ha1 = if ha1 {
        crd.passwd[..crd.passwd.len().min(32)].to_vec()
    } else {
        md5_hex(&[&crd.user, b":", &crd.realm, b":", &crd.passwd])
    };
    let ha2 = md5_hex(&[method, b":", uri]);
    let (nc, cnonce) = (b"00000001", super::cfgutils::hash32(ch.nonce).to_string());
    let response = if ch.qop.is_empty() {
        md5_hex(&[&ha1, b":", ch.nonce, b":", &ha2])
    } else {
        let qop = ch.qop.split(|&b| b == b',').next().unwrap_or_default();
        md5_hex(&[
            &ha1,
            b":",
            ch.nonce,
            b":",
            nc,
            b":",
            cnonce.as_bytes(),
            b":",
            qop,
            b":",
            &ha2,
        ])
    };
    let mut v = b"Digest username=\"".to_vec();
    v.extend_from_slice(&crd.user);
    v.extend_from_slice(b"\", realm=\"");
    v.extend_from_slice(&crd.realm);
    v.extend_from_slice(b"\", nonce=\"");
    v.extend_from_slice(ch.nonce);
    v.extend_from_slice(b"\", uri=\"");
    v.extend_from_slice(uri);
    if !ch.opaque.is_empty() {
        v.extend_from_slice(b"\", opaque=\"");
        v.extend_from_slice(ch.opaque);
    }
    if ch.qop_auth {
        v.extend_from_slice(b"\", qop=auth, nc=");
        v.extend_from_slice(nc);
        v.extend_from_slice(b", cnonce=\"");
        v.extend_from_slice(cnonce.as_bytes());
    }
    v.extend_from_slice(b"\", response=\"");
    v.extend_from_slice(&response);
    v.extend_from_slice(b"\", algorithm=MD5");
    let name = if code == 401 {
        "Authorization"
    } else {
        "Proxy-Authorization"
    };
    (name, v)
}

/// The mark of the AVPs' credential in the worker's HA1 list (Kamailio's
/// one static credential for them).
const AVP_CREDENTIAL: usize = usize::MAX;

/// The credential the auth AVPs give for `realm` (Kamailio's
/// `get_avp_credential`): a realm AVP unset or empty matches any realm;
/// the user and password must be set and not empty.
fn avp_credential(ctx: &Ctx<'_>, avps: &[PvRef; 3], realm: &[u8]) -> Option<Credential> {
    use crate::engine::value::Value;
    let text = |pv: &PvRef| -> Option<Vec<u8>> {
        match crate::engine::pv::read(ctx, pv) {
            Value::Null => None,
            Value::Int(n) => Some(n.to_string().into_bytes()),
            Value::Str(s) => Some(s.into_owned()),
        }
    };
    let r = text(&avps[0]).filter(|r| !r.is_empty());
    if r.as_deref().is_some_and(|r| r != realm) {
        return None;
    }
    let user = text(&avps[1]).filter(|u| !u.is_empty())?;
    let passwd = text(&avps[2]).filter(|p| !p.is_empty())?;
    Some(Credential {
        user,
        realm: r.unwrap_or_else(|| realm.to_vec()),
        passwd,
    })
}

/// `uac_auth()` in a failure route: 1 if the picked branch's 401/407
/// challenge could be answered (header appended, R-URI set to the
/// branch's), else -1.
pub fn uac_auth(ctx: &mut Ctx<'_>) -> i32 {
    uac_auth_mode(ctx, 0)
}

/// `uac_auth(mode)`, `uac_auth_mode(mode)`: with bit 1 the credential's
/// password is its HA1 (hex), and stays so for the later calls in this
/// worker, as Kamailio marks its process's copy of the credential.
pub fn uac_auth_mode(ctx: &mut Ctx<'_>, mode: i32) -> i32 {
    let Some((code, reply, uri)) = crate::tm::picked_reply(ctx) else {
        log::error(ctx, "uac: no picked reply or a faked one\n");
        return -1;
    };
    let Ok(rpl) = Message::parse(&reply) else {
        return -1;
    };
    let hname = match code {
        401 => HeaderName::WwwAuthenticate,
        407 => HeaderName::ProxyAuthenticate,
        _ => {
            log::error(ctx, "uac: reply is not an auth request\n");
            return -1;
        }
    };
    let Some(h) = rpl.header_entry(hname) else {
        log::error(ctx, "uac: failed to extract authenticate hdr\n");
        return -1;
    };
    let Some(ch) = parse_challenge(rpl.slice(h.value())) else {
        log::error(ctx, "uac: failed to parse auth hdr body\n");
        return -1;
    };
    let cfg = &Modules::of(ctx).uac;
    // The AVPs first, then the `credential`s.
    let from_avps = cfg
        .auth_avps
        .as_ref()
        .and_then(|avps| avp_credential(ctx, avps, ch.realm));
    let found = match from_avps {
        Some(c) => Some((AVP_CREDENTIAL, c)),
        None => cfg
            .credentials
            .iter()
            .enumerate()
            .find(|(_, c)| c.realm == ch.realm)
            .map(|(i, c)| (i, c.clone())),
    };
    let Some((idx, crd)) = found else {
        return -1;
    };
    let crd = &crd;
    let ha1 = match crate::engine::module::worker_state::<super::WorkerModules>(ctx) {
        Some(w) => {
            if mode & 1 != 0 && !w.uac_ha1.contains(&idx) {
                w.uac_ha1.push(idx);
            }
            w.uac_ha1.contains(&idx)
        }
        None => mode & 1 != 0,
    };
    let method = ctx.msg.method().map(|m| m.as_bytes()).unwrap_or_default();
    let (name, value) = authorization(code, method, &uri, crd, ha1, &ch);
    ctx.new_uri = Some(uri);
    ctx.headers
        .push(HeaderOp::Append(name.as_bytes().to_vec(), value));
    1
}

impl Module for Uac {
    const NAME: &'static str = "uac";
    const PVS: &'static [crate::engine::module::PvExport] = &send::PVS;

    fn from_params(params: &ModParams) -> Result<Self, ParamError> {
        Uac::from_params(params)
    }

    fn tm_response_in(
        &self,
        request: &[u8],
        req_ops: &[HeaderOp],
        reply: &Message<'_>,
        ops: &mut Vec<HeaderOp>,
    ) {
        if has_note(req_ops, REPLY_CB)
            && let Ok(request) = Message::parse(request)
        {
            ops.extend(reply_edits(&request, req_ops, reply));
        }
    }
}

#[cfg(test)]
mod tests;
