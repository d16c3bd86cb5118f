//! rr — Record-Route and Route processing (kamailio-modules.md §4).
//!
//! `record_route()` leaves an [`RrLump`] in the context (a
//! [`HeaderOp::Deferred`]); the header text is built by [`build_headers`]
//! when the request is sent,
//! because a second (`;r2=on`) Record-Route depends on the socket it
//! leaves on. `loose_route()` edits the Route set through
//! [`HeaderOp::Remove`]/[`HeaderOp::Replace`]/[`HeaderOp::Append`] and sets
//! the R-URI and `$du` in the context.

use std::any::Any;
use std::net::SocketAddr;

use crate::engine::ctx::{CoreConfig, Ctx, DeferredHeader, HeaderOp, SendInfo};
use crate::engine::params::{ModParams, ParamError};
use crate::sip::syntax::CommaSplit;
use crate::sip::{HeaderName, NameAddr, Scheme, Uri};
use crate::transport::{Proto, RecvInfo};

/// The module's parameters (Kamailio's defaults).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Config {
    /// `enable_full_lr`: `;lr=on` instead of `;lr`.
    pub enable_full_lr: bool,
    /// `append_fromtag`: `;ftag=<From-tag>`.
    pub append_fromtag: bool,
    /// `enable_double_rr`: 0 never, 1 when the sockets differ, 2 always.
    pub enable_double_rr: i32,
    /// `add_username`: the R-URI user in the Record-Route URI.
    pub add_username: bool,
    /// `ignore_sips`: always `sip:`.
    pub ignore_sips: bool,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            enable_full_lr: false,
            append_fromtag: true,
            enable_double_rr: 1,
            add_username: false,
            ignore_sips: false,
        }
    }
}

impl Config {
    /// Reads the `modparam("rr", ...)` lines.
    ///
    /// # Errors
    /// A non-numeric value. Parameters this runtime does not implement are
    /// refused at build (`cfgc_vocab::MODULES`).
    pub fn from_params(p: &ModParams) -> Result<Self, ParamError> {
        let d = Self::default();
        let flag = |name: &str, default: bool| -> Result<bool, ParamError> {
            Ok(p.int("rr", name)?.map_or(default, |v| v != 0))
        };
        Ok(Self {
            enable_full_lr: flag("enable_full_lr", d.enable_full_lr)?,
            append_fromtag: flag("append_fromtag", d.append_fromtag)?,
            enable_double_rr: p
                .int("rr", "enable_double_rr")?
                .unwrap_or(d.enable_double_rr),
            add_username: flag("add_username", d.add_username)?,
            ignore_sips: flag("ignore_sips", d.ignore_sips)?,
        })
    }
}

/// A pending `record_route()`: everything of the header but the address,
/// which depends on the sockets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RrLump {
    /// `sips:` instead of `sip:`.
    pub sips: bool,
    /// The user part (`add_username`).
    pub user: Option<Vec<u8>>,
    /// `;lr` or `;lr=on`.
    pub full_lr: bool,
    /// `enable_double_rr` when `record_route()` ran.
    pub double_rr: i32,
    /// `;ftag=...` (empty when not appended).
    pub ftag: Vec<u8>,
    /// The argument of `record_route(params)`.
    pub params: Vec<u8>,
    /// What `add_rr_param()` added, in order.
    pub extra: Vec<u8>,
}

fn push_socket_uri(
    v: &mut Vec<u8>,
    rr: &RrLump,
    core: &CoreConfig,
    sock: (Proto, SocketAddr),
    r2: bool,
    explicit_transport: bool,
) {
    v.push(b'<');
    v.extend_from_slice(if rr.sips { b"sips:" } else { b"sip:" });
    if let Some(u) = &rr.user {
        v.extend_from_slice(u);
        v.push(b'@');
    }
    crate::engine::forward::push_socket_address(v, core, sock, explicit_transport);
    if r2 {
        v.extend_from_slice(b";r2=on");
    }
    v.extend_from_slice(if rr.full_lr { b";lr=on" } else { b";lr" });
    v.extend_from_slice(&rr.ftag);
    v.extend_from_slice(&rr.params);
    v.extend_from_slice(&rr.extra);
    v.push(b'>');
}

/// The Record-Route value(s) for a request received on `rcv` and leaving
/// on `out` (protocol, local socket), in the order they go on top of the
/// header block: one URI of the receiving socket, or, with double
/// record-routing, the outgoing socket's then the receiving one's, both
/// with `;r2=on`.
pub fn build_headers(
    rr: &RrLump,
    core: &CoreConfig,
    rcv: &RecvInfo,
    out: (Proto, SocketAddr),
) -> Vec<Vec<u8>> {
    let inbound = (rcv.proto, rcv.local);
    let double = match rr.double_rr {
        0 => false,
        2 => true,
        _ => inbound != out,
    };
    let explicit = rr.double_rr == 2;
    let mut heads = Vec::with_capacity(2);
    if double {
        for sock in [out, inbound] {
            let mut v = Vec::with_capacity(64);
            push_socket_uri(&mut v, rr, core, sock, true, explicit);
            heads.push(v);
        }
    } else {
        let mut v = Vec::with_capacity(64);
        push_socket_uri(&mut v, rr, core, inbound, false, false);
        heads.push(v);
    }
    heads
}

/// The key of `add_rr_param()`'s pending parameters
/// ([`HeaderOp::Note`]).
const RR_PARAM: &str = "rr.param";

/// The Record-Route `op` holds, if it is one.
fn lump(op: &HeaderOp) -> Option<&RrLump> {
    match op {
        HeaderOp::Deferred(d) => (&**d as &dyn Any).downcast_ref::<RrLump>(),
        _ => None,
    }
}

impl DeferredHeader for RrLump {
    fn build(&self, at: &SendInfo<'_>) -> Vec<(&'static str, Vec<u8>)> {
        build_headers(self, at.core, at.rcv, at.out)
            .into_iter()
            .map(|v| ("Record-Route", v))
            .collect()
    }

    fn clone_box(&self) -> Box<dyn DeferredHeader> {
        Box::new(self.clone())
    }

    fn eq_dyn(&self, other: &dyn DeferredHeader) -> bool {
        (other as &dyn Any).downcast_ref::<Self>() == Some(self)
    }
}

/// `record_route()`.
pub fn record_route(ctx: &mut Ctx<'_>) -> i32 {
    record_route_params(ctx, b"")
}

/// `record_route(params)`: `params` (e.g. `;foo=bar`) follows `;lr` and
/// the ftag. 1, or -1 for a reply or a second `record_route()` on the same
/// request (Kamailio's "double attempt to record-route").
pub fn record_route_params(ctx: &mut Ctx<'_>, params: &[u8]) -> i32 {
    if !ctx.msg.is_request() || ctx.headers.iter().any(|op| lump(op).is_some()) {
        return -1;
    }
    let cfg = super::Modules::of(ctx).rr;
    let (sips, user) = match Uri::parse(ctx.ruri()) {
        Ok(u) => (
            !cfg.ignore_sips && u.scheme == Scheme::Sips,
            u.user.filter(|_| cfg.add_username).map(<[u8]>::to_vec),
        ),
        Err(_) => (false, None),
    };
    let mut ftag = Vec::new();
    if cfg.append_fromtag {
        let tag = if direction_upstream(ctx) {
            ctx.msg.to().ok().and_then(|t| t.tag)
        } else {
            ctx.msg.from().ok().and_then(|f| f.tag)
        };
        if let Some(t) = tag {
            ftag.extend_from_slice(b";ftag=");
            ftag.extend_from_slice(t);
        }
    }
    let mut extra = Vec::new();
    ctx.headers.retain(|op| match op {
        HeaderOp::Note(RR_PARAM, p) => {
            extra.extend_from_slice(p);
            false
        }
        _ => true,
    });
    let lump = RrLump {
        sips,
        user,
        full_lr: cfg.enable_full_lr,
        double_rr: cfg.enable_double_rr,
        ftag,
        params: params.to_vec(),
        extra,
    };
    ctx.headers.push(HeaderOp::Deferred(Box::new(lump)));
    1
}

/// Whether `record_route()` was called for this request.
pub fn has_record_route(ctx: &Ctx<'_>) -> bool {
    ctx.headers.iter().any(|op| lump(op).is_some())
}

/// `add_rr_param(param)`: appended to the Record-Route URI parameters,
/// whether `record_route()` ran before or runs later. 1, -1 for a reply.
pub fn add_rr_param(ctx: &mut Ctx<'_>, param: &[u8]) -> i32 {
    if !ctx.msg.is_request() {
        return -1;
    }
    for op in &mut ctx.headers {
        if let HeaderOp::Deferred(d) = op
            && let Some(l) = (&mut **d as &mut dyn Any).downcast_mut::<RrLump>()
        {
            l.extra.extend_from_slice(param);
            return 1;
        }
    }
    ctx.headers.push(HeaderOp::Note(RR_PARAM, param.to_vec()));
    1
}

/// `remove_record_route()`: drops what `record_route()`/`add_rr_param()`
/// added so far. Always 1.
pub fn remove_record_route(ctx: &mut Ctx<'_>) -> i32 {
    ctx.headers
        .retain(|op| lump(op).is_none() && !matches!(op, HeaderOp::Note(RR_PARAM, _)));
    1
}

/// Whether the ftag of our Route (remembered by `loose_route`) differs
/// from the From-tag: the request goes from callee to caller.
fn direction_upstream(ctx: &Ctx<'_>) -> bool {
    let Some(params) = ctx.route_params.as_deref() else {
        return false;
    };
    let Some(ftag) = crate::sip::syntax::Params::new(params.strip_prefix(b";").unwrap_or(params))
        .get(b"ftag")
        .flatten()
    else {
        return false;
    };
    let from_tag = ctx.msg.from().ok().and_then(|f| f.tag).unwrap_or_default();
    ftag != from_tag
}

/// `is_direction("downstream" | "upstream")`, after `loose_route()`:
/// downstream when our Route had no `ftag` or it equals the From-tag.
pub fn is_direction(ctx: &Ctx<'_>, dir: &[u8]) -> i32 {
    let up = if dir.eq_ignore_ascii_case(b"upstream") {
        true
    } else if dir.eq_ignore_ascii_case(b"downstream") {
        false
    } else {
        return -1;
    };
    if direction_upstream(ctx) == up { 1 } else { -1 }
}

/// `check_route_param(re)`: the regex (case-insensitive, unanchored)
/// matches the parameters of our Route URI that `loose_route()` removed
/// (`;lr;nat=yes`). -1 before `loose_route()` or without parameters.
pub fn check_route_param(ctx: &Ctx<'_>, re: &[u8]) -> i32 {
    let Some(params) = ctx.route_params.as_deref().filter(|p| !p.is_empty()) else {
        return -1;
    };
    if crate::engine::cond::icase_match(re, params) == Some(true) {
        1
    } else {
        -1
    }
}

// ---- loose_route -------------------------------------------------------

/// One Route entry of the received message.
struct Entry<'a> {
    /// Index of its header in `Message::headers`.
    hdr: usize,
    /// Its text (offsets into the buffer via `Message::offset_of`).
    text: &'a [u8],
    uri: &'a [u8],
}

struct Routes<'a> {
    entries: Vec<Entry<'a>>,
    removed: Vec<bool>,
}

impl<'a> Routes<'a> {
    fn of(msg: &crate::sip::Message<'a>) -> Option<Self> {
        let mut entries = Vec::new();
        for (i, h) in msg.headers().iter().enumerate() {
            if h.name != HeaderName::Route {
                continue;
            }
            for text in CommaSplit::new(msg.slice(h.value())) {
                let uri = NameAddr::parse(text)?.uri_raw;
                entries.push(Entry { hdr: i, text, uri });
            }
        }
        let n = entries.len();
        Some(Self {
            entries,
            removed: vec![false; n],
        })
    }

    /// The ops removing the removed entries: a whole header when all its
    /// entries go, else the removed leading entries up to the next kept
    /// one (as Kamailio cuts `<a>, ` keeping the rest verbatim), else the
    /// header value rebuilt from the kept entries.
    fn ops(&self, msg: &crate::sip::Message<'a>) -> Vec<HeaderOp> {
        let mut ops = Vec::new();
        let mut i = 0;
        while i < self.entries.len() {
            let hdr = self.entries[i].hdr;
            let j = i + self.entries[i..]
                .iter()
                .take_while(|e| e.hdr == hdr)
                .count();
            let (ents, rem) = (&self.entries[i..j], &self.removed[i..j]);
            if rem.iter().all(|r| *r) {
                ops.push(HeaderOp::Remove(hdr));
            } else if rem.iter().any(|r| *r) {
                let lead = rem.iter().take_while(|r| **r).count();
                let off = |t: &[u8]| msg.offset_of(t).unwrap_or(0);
                if rem[lead..].iter().all(|r| !*r) {
                    ops.push(HeaderOp::Replace {
                        start: off(ents[0].text),
                        end: off(ents[lead].text),
                        data: Vec::new(),
                    });
                } else {
                    let first = off(ents[0].text);
                    let last = &ents[ents.len() - 1];
                    let mut data = Vec::new();
                    for (e, _) in ents.iter().zip(rem).filter(|(_, r)| !**r) {
                        if !data.is_empty() {
                            data.extend_from_slice(b", ");
                        }
                        data.extend_from_slice(e.text);
                    }
                    ops.push(HeaderOp::Replace {
                        start: first,
                        end: off(last.text) + last.text.len(),
                        data,
                    });
                }
            }
            i = j;
        }
        ops
    }

    fn next_kept(&self, from: usize) -> Option<usize> {
        (from..self.entries.len()).find(|&k| !self.removed[k])
    }
}

fn is_me(ctx: &Ctx<'_>, u: &Uri<'_>) -> bool {
    ctx.is_myself(u.host_unbracketed(), u.port)
}

fn params_of(u: &Uri<'_>) -> Vec<u8> {
    let mut p = Vec::with_capacity(u.params.as_bytes().len() + 1);
    if !u.params.as_bytes().is_empty() {
        p.push(b';');
        p.extend_from_slice(u.params.as_bytes());
    }
    p
}

/// A loose next hop's URI with `maddr` replacing the host.
fn maddr_uri(u: &Uri<'_>) -> Vec<u8> {
    match u.param(b"maddr").flatten() {
        Some(m) => {
            let mut v = format!("{}:", u.scheme.as_str()).into_bytes();
            v.extend_from_slice(m);
            if let Some(p) = u.port_raw {
                v.push(b':');
                v.extend_from_slice(p);
            }
            v
        }
        None => u.raw.to_vec(),
    }
}

/// `loose_route()` (kamailio-modules.md §4): 1 routed by the Route set
/// (`$du` or the R-URI set to the next hop, our own Route entries
/// removed); -1 no Route header or an error; -3 an initial request whose
/// Routes all pointed to us (removed; route it normally). Outbound flow
/// tokens (2, -2) are not implemented.
pub fn loose_route(ctx: &mut Ctx<'_>) -> i32 {
    loose_route_mode(ctx, 0)
}

/// `loose_route_preloaded()`: 1 only for a preloaded initial request that
/// [`loose_route`] routes (1), -1 otherwise.
pub fn loose_route_preloaded(ctx: &mut Ctx<'_>) -> i32 {
    if ctx.msg.to().is_ok_and(|t| t.tag.is_some()) {
        return -1;
    }
    if loose_route(ctx) == 1 { 1 } else { -1 }
}

/// `loose_route_mode(mode)`: mode 1 skips the strict-router check of an
/// R-URI that is ours.
pub fn loose_route_mode(ctx: &mut Ctx<'_>, mode: i32) -> i32 {
    let msg = ctx.msg;
    if !msg.is_request() || msg.header_entry(HeaderName::Route).is_none() {
        return -1;
    }
    let Some(mut routes) = Routes::of(msg) else {
        return -1;
    };
    let Ok(ruri) = Uri::parse(ctx.ruri()) else {
        return -1;
    };
    let preloaded = match msg.to() {
        Ok(t) => t.tag.is_none(),
        Err(_) => return -1,
    };
    let rc = if preloaded {
        after_loose(ctx, &mut routes, true)
    } else if mode != 1 && is_me(ctx, &ruri) && ruri.param(b"gr").is_none() {
        let params = params_of(&ruri);
        let rc = after_strict(ctx, &mut routes);
        if rc == 1 {
            ctx.route_params = Some(params);
        }
        rc
    } else {
        after_loose(ctx, &mut routes, false)
    };
    if rc > 0 || rc == -3 {
        let ops = routes.ops(msg);
        ctx.headers.extend(ops);
        // The RR callbacks, when our Route had parameters: uac's
        // restoration of From/To.
        if ctx.route_params.as_ref().is_some_and(|p| p.len() > 1) {
            super::uac::rr_checker(ctx);
        }
        // rr's callbacks (dialog's in-dialog matching) run when our own
        // Route was consumed.
        if ctx.route_params.as_deref().is_some_and(|p| !p.is_empty())
            && super::Modules::of(ctx).is_loaded("dialog")
        {
            super::dialog::on_route(ctx);
        }
    }
    rc
}

fn after_loose(ctx: &mut Ctx<'_>, routes: &mut Routes<'_>, preloaded: bool) -> i32 {
    let Ok(top) = Uri::parse(routes.entries[0].uri) else {
        return -1;
    };
    let mut next = 0;
    if is_me(ctx, &top) {
        ctx.route_params = Some(params_of(&top));
        routes.removed[0] = true;
        next = 1;
        if top.param(b"r2").is_some() && super::Modules::of(ctx).rr.enable_double_rr != 0 {
            // The second of our two Record-Routes: remove it too.
            if next >= routes.entries.len() {
                return -1;
            }
            routes.removed[next] = true;
            next += 1;
        }
        if next >= routes.entries.len() {
            return if preloaded { -3 } else { 1 };
        }
    }
    let e = &routes.entries[next];
    let Ok(uri) = Uri::parse(e.uri) else {
        return -1;
    };
    if uri.is_loose_route() {
        ctx.dst_uri = Some(maddr_uri(&uri));
    } else {
        // Strict next hop: it becomes the R-URI, the R-URI goes last.
        let mut saved = b"<".to_vec();
        saved.extend_from_slice(ctx.msg.ruri_bytes().unwrap_or_default());
        saved.push(b'>');
        ctx.headers.push(HeaderOp::Append(b"Route".to_vec(), saved));
        ctx.new_uri = Some(maddr_uri(&uri));
        routes.removed[next] = true;
    }
    1
}

fn after_strict(ctx: &mut Ctx<'_>, routes: &mut Routes<'_>) -> i32 {
    let mut first = 0;
    let Ok(top) = Uri::parse(routes.entries[0].uri) else {
        return -1;
    };
    if super::Modules::of(ctx).rr.enable_double_rr != 0
        && top.param(b"r2").is_some()
        && is_me(ctx, &top)
    {
        routes.removed[0] = true;
        first = 1;
        if first >= routes.entries.len() {
            return -1;
        }
    }
    let Ok(uri) = Uri::parse(routes.entries[first].uri) else {
        return -1;
    };
    if !uri.is_loose_route() {
        // The previous hop was a strict router, so is the next: behave
        // as one.
        ctx.new_uri = Some(maddr_uri(&uri));
        routes.removed[first] = true;
    } else {
        // The next hop is loose: it is where to send; the last Route is
        // the original R-URI (RFC 3261 §16.4).
        let Some(last) = routes.next_kept(first).map(|_| routes.entries.len() - 1) else {
            return -1;
        };
        ctx.dst_uri = Some(uri.raw.to_vec());
        ctx.new_uri = Some(routes.entries[last].uri.to_vec());
        routes.removed[last] = true;
    }
    1
}

impl crate::engine::module::Module for Config {
    const NAME: &'static str = "rr";

    fn from_params(p: &ModParams) -> Result<Self, ParamError> {
        Config::from_params(p)
    }
}

#[cfg(test)]
mod tests;
