//! uac's `uac_req_send()` and `$uac_req(...)` (Kamailio 5.6's
//! `uac_send.c`): a request built from the worker's `$uac_req` fields and
//! sent through tm's local requests ([`crate::tm::local`]).
//!
//! * The fields are one record per worker (Kamailio's per-process static
//!   `_uac_req`): what one message set is still there for the next, until
//!   `$uac_req(all) = $null` clears them (all but `auser`, `apasswd` and
//!   `sock`, as Kamailio). Each field has Kamailio's size limit; a value
//!   of the wrong type or too long is refused (-1, logged) and the field
//!   kept. `$uac_req(sock) = $null` clears `apasswd`, not `sock`, as
//!   Kamailio's setter does.
//! * The request: R-URI `ruri`; To `turi`, From `furi` (each `ruri` when
//!   empty), the From tag Kamailio's `t_request` makes (from the Call-ID
//!   and the R-URI); Call-ID `callid` or a new one; CSeq 10; `ouri` the
//!   next hop; `hdrs` and `body` as given; sent from `sock` if set.
//! * `evroute` 1: `event_route[uac:reply]` runs on the final reply, with
//!   the fields as they were at the send and `evcode` (the status),
//!   `evtype` 1; after a timeout on the faked message, with 408 and
//!   `evtype` 2. As in Kamailio, the fields stay so in the worker after
//!   the block.
//! * `auser` and `apasswd` set: a 401/407 reply is answered once, with the
//!   Call-ID, tags and CSeq + 1 of the challenged request, and the
//!   `Authorization`/`Proxy-Authorization` uac's `uac_auth` makes
//!   (`flags` bit 1: `apasswd` is the HA1); with `evroute`, the event
//!   route runs for the challenge and again for the final reply.
//! * `evroute` 2 (the event on failures only) needs tm's failure
//!   callbacks on local transactions (`enable_uac_fr`), which are not
//!   supported yet: `uac_req_send()` then logs it and returns -1.

use std::sync::Arc;

use crate::engine::Ctx;
use crate::engine::events;
use crate::engine::log;
use crate::engine::module::PvExport;
use crate::engine::value::{OwnedValue, Value};
use crate::modules::WorkerModules;
use crate::sip::{HeaderName, Message, NameAddr};
use crate::tm::local::{self, Completion, LocalDialog, LocalRequest};

use super::{Credential, authorization, parse_challenge};

/// `flags` bit 0: `apasswd` is an HA1.
const FL_HA1: u32 = 1;

/// Kamailio's field sizes (values must be shorter).
const MAX_URI: usize = 1024;
const MAX_HDRS: usize = 2048;
const MAX_BODY: usize = 32768;
const MAX_EVPARAM: usize = 128;
const MAX_METHOD: usize = 32;
const MAX_AUSER: usize = 128;
const MAX_APASSWD: usize = 64;
const MAX_CALLID: usize = 128;

/// A worker's `$uac_req` (Kamailio's `uac_send_info_t`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UacReq {
    pub flags: u32,
    pub method: Vec<u8>,
    pub ruri: Vec<u8>,
    pub turi: Vec<u8>,
    pub furi: Vec<u8>,
    pub callid: Vec<u8>,
    pub hdrs: Vec<u8>,
    pub body: Vec<u8>,
    pub ouri: Vec<u8>,
    pub sock: Vec<u8>,
    pub auser: Vec<u8>,
    pub apasswd: Vec<u8>,
    pub evparam: Vec<u8>,
    pub evroute: u32,
    pub evcode: u32,
    pub evtype: u32,
}

fn state<'c>(ctx: &'c Ctx<'_>) -> Option<&'c UacReq> {
    crate::engine::module::worker_state_ref::<WorkerModules>(ctx).map(|w| &w.uac_req)
}

fn state_mut<'c>(ctx: &'c mut Ctx<'_>) -> Option<&'c mut UacReq> {
    crate::engine::module::worker_state::<WorkerModules>(ctx).map(|w| &mut w.uac_req)
}

fn str_pv<'c>(ctx: &'c Ctx<'_>, f: fn(&UacReq) -> &Vec<u8>) -> Value<'c> {
    match state(ctx).map(f) {
        Some(v) if !v.is_empty() => Value::str(v),
        _ => Value::Null,
    }
}

fn int_pv<'c>(ctx: &Ctx<'_>, f: fn(&UacReq) -> u32) -> Value<'c> {
    // Kamailio's unsigned ints; beyond i32 they read as its int value.
    Value::Int(state(ctx).map_or(0, f) as i32)
}

/// Sets a string field: `$null` empties it; a non-string or a value of
/// `max` bytes or more is refused.
fn set_str(
    ctx: &mut Ctx<'_>,
    v: OwnedValue,
    max: usize,
    f: fn(&mut UacReq) -> &mut Vec<u8>,
) -> i32 {
    let bytes = match v {
        OwnedValue::Null => {
            if let Some(s) = state_mut(ctx) {
                f(s).clear();
            }
            return 0;
        }
        OwnedValue::Str(s) => s.to_vec(),
        OwnedValue::Int(_) => {
            log::error(ctx, "uac: Invalid value type\n");
            return -1;
        }
    };
    if bytes.len() >= max {
        log::error(ctx, "uac: Value size too big\n");
        return -1;
    }
    if let Some(s) = state_mut(ctx) {
        *f(s) = bytes;
    }
    0
}

/// Sets an int field: `$null` makes it 0; a string is refused.
fn set_int(ctx: &mut Ctx<'_>, v: OwnedValue, f: fn(&mut UacReq) -> &mut u32) -> i32 {
    let n = match v {
        OwnedValue::Null => 0,
        OwnedValue::Int(n) => n as u32,
        OwnedValue::Str(_) => {
            log::error(ctx, "uac: Invalid value type\n");
            return -1;
        }
    };
    if let Some(s) = state_mut(ctx) {
        *f(s) = n;
    }
    0
}

macro_rules! str_field {
    ($read:ident, $write:ident, $field:ident, $max:expr) => {
        #[doc = concat!("`$uac_req(", stringify!($field), ")`.")]
        pub fn $read<'c>(ctx: &'c Ctx<'_>) -> Value<'c> {
            str_pv(ctx, |r| &r.$field)
        }
        #[doc = concat!("`$uac_req(", stringify!($field), ") = v`.")]
        pub fn $write(ctx: &mut Ctx<'_>, v: OwnedValue) -> i32 {
            set_str(ctx, v, $max, |r| &mut r.$field)
        }
    };
}

macro_rules! int_field {
    ($read:ident, $write:ident, $field:ident) => {
        #[doc = concat!("`$uac_req(", stringify!($field), ")`.")]
        pub fn $read<'c>(ctx: &'c Ctx<'_>) -> Value<'c> {
            int_pv(ctx, |r| r.$field)
        }
        #[doc = concat!("`$uac_req(", stringify!($field), ") = v`.")]
        pub fn $write(ctx: &mut Ctx<'_>, v: OwnedValue) -> i32 {
            set_int(ctx, v, |r| &mut r.$field)
        }
    };
}

str_field!(pv_method, set_method, method, MAX_METHOD);
str_field!(pv_ruri, set_ruri, ruri, MAX_URI);
str_field!(pv_turi, set_turi, turi, MAX_URI);
str_field!(pv_furi, set_furi, furi, MAX_URI);
str_field!(pv_callid, set_callid, callid, MAX_CALLID);
str_field!(pv_hdrs, set_hdrs, hdrs, MAX_HDRS);
str_field!(pv_body, set_body, body, MAX_BODY);
str_field!(pv_ouri, set_ouri, ouri, MAX_URI);
str_field!(pv_auser, set_auser, auser, MAX_AUSER);
str_field!(pv_apasswd, set_apasswd, apasswd, MAX_APASSWD);
str_field!(pv_evparam, set_evparam, evparam, MAX_EVPARAM);
int_field!(pv_flags, set_flags, flags);
int_field!(pv_evroute, set_evroute, evroute);
int_field!(pv_evcode, set_evcode, evcode);
int_field!(pv_evtype, set_evtype, evtype);

/// `$uac_req(sock)`.
pub fn pv_sock<'c>(ctx: &'c Ctx<'_>) -> Value<'c> {
    str_pv(ctx, |r| &r.sock)
}

/// `$uac_req(sock) = v`; `$null` clears `apasswd`, as Kamailio's setter.
pub fn set_sock(ctx: &mut Ctx<'_>, v: OwnedValue) -> i32 {
    if matches!(v, OwnedValue::Null) {
        return set_str(ctx, v, MAX_APASSWD, |r| &mut r.apasswd);
    }
    set_str(ctx, v, MAX_URI, |r| &mut r.sock)
}

/// `$uac_req(all)` reads `flags`.
pub fn pv_all<'c>(ctx: &'c Ctx<'_>) -> Value<'c> {
    pv_flags(ctx)
}

/// `$uac_req(all) = $null`: every field cleared but `auser`, `apasswd`
/// and `sock`; another value changes nothing.
pub fn set_all(ctx: &mut Ctx<'_>, v: OwnedValue) -> i32 {
    if matches!(v, OwnedValue::Null)
        && let Some(r) = state_mut(ctx)
    {
        *r = UacReq {
            auser: std::mem::take(&mut r.auser),
            apasswd: std::mem::take(&mut r.apasswd),
            sock: std::mem::take(&mut r.sock),
            ..UacReq::default()
        };
    }
    0
}

/// `$uac_req(key)`, every key writable.
pub const PVS: [PvExport; 17] = [
    PvExport {
        name: "uac_req(all)",
        read: pv_all,
        write: Some(set_all),
    },
    PvExport {
        name: "uac_req(flags)",
        read: pv_flags,
        write: Some(set_flags),
    },
    PvExport {
        name: "uac_req(method)",
        read: pv_method,
        write: Some(set_method),
    },
    PvExport {
        name: "uac_req(ruri)",
        read: pv_ruri,
        write: Some(set_ruri),
    },
    PvExport {
        name: "uac_req(turi)",
        read: pv_turi,
        write: Some(set_turi),
    },
    PvExport {
        name: "uac_req(furi)",
        read: pv_furi,
        write: Some(set_furi),
    },
    PvExport {
        name: "uac_req(callid)",
        read: pv_callid,
        write: Some(set_callid),
    },
    PvExport {
        name: "uac_req(hdrs)",
        read: pv_hdrs,
        write: Some(set_hdrs),
    },
    PvExport {
        name: "uac_req(body)",
        read: pv_body,
        write: Some(set_body),
    },
    PvExport {
        name: "uac_req(ouri)",
        read: pv_ouri,
        write: Some(set_ouri),
    },
    PvExport {
        name: "uac_req(sock)",
        read: pv_sock,
        write: Some(set_sock),
    },
    PvExport {
        name: "uac_req(auser)",
        read: pv_auser,
        write: Some(set_auser),
    },
    PvExport {
        name: "uac_req(apasswd)",
        read: pv_apasswd,
        write: Some(set_apasswd),
    },
    PvExport {
        name: "uac_req(evroute)",
        read: pv_evroute,
        write: Some(set_evroute),
    },
    PvExport {
        name: "uac_req(evparam)",
        read: pv_evparam,
        write: Some(set_evparam),
    },
    PvExport {
        name: "uac_req(evcode)",
        read: pv_evcode,
        write: Some(set_evcode),
    },
    PvExport {
        name: "uac_req(evtype)",
        read: pv_evtype,
        write: Some(set_evtype),
    },
];

/// `uac_req_send()`: 1 sent, -1 not (no R-URI or method, a bad socket, a
/// target tm cannot send to).
pub fn uac_req_send(ctx: &mut Ctx<'_>) -> i32 {
    let Some(r) = state(ctx).cloned() else {
        return -1;
    };
    if r.ruri.is_empty() || r.method.is_empty() {
        return -1;
    }
    if r.evroute == 2 {
        log::error(
            ctx,
            "uac: $uac_req(evroute) 2 (failure events of local requests) is not supported yet\n",
        );
        return -1;
    }
    let send_sock = if r.sock.is_empty() {
        None
    } else {
        match local::parse_socket(&r.sock) {
            Some(s) => Some(s),
            None => {
                log::error(ctx, "uac: invalid send socket\n");
                return -1;
            }
        }
    };
    let core = ctx.core;
    let call_id = if r.callid.is_empty() {
        local::new_call_id(core)
    } else {
        r.callid.clone()
    };
    let dialog = LocalDialog {
        loc_tag: local::from_tag(core, &call_id, &r.ruri),
        call_id,
        loc_uri: if r.furi.is_empty() { &r.ruri } else { &r.furi }.clone(),
        rem_uri: if r.turi.is_empty() { &r.ruri } else { &r.turi }.clone(),
        loc_seq: 10,
        rem_target: r.ruri.clone(),
        dst_uri: (!r.ouri.is_empty()).then(|| r.ouri.clone()),
        send_sock,
        ..LocalDialog::default()
    };
    let wants_cb = (!r.auser.is_empty() && !r.apasswd.is_empty()) || r.evroute > 0;
    let req = LocalRequest {
        method: r.method.clone(),
        dialog,
        headers: r.hdrs.clone(),
        body: r.body.clone(),
        on_done: wants_cb.then(|| on_done(Arc::new(r), true)),
    };
    match local::send_from(ctx, req) {
        Ok(_) => 1,
        Err(_) => -1,
    }
}

/// What runs when a request of `tp` completes: the event route, then
/// (`first`: not for the authenticated retry) the answer to a challenge.
fn on_done(tp: Arc<UacReq>, first: bool) -> local::OnDone {
    Arc::new(move |c: &Completion<'_>| {
        if tp.evroute != 0 && c.code > 0 {
            raise_reply(&tp, c);
        }
        if first
            && matches!(c.code, 401 | 407)
            && !tp.apasswd.is_empty()
            && let Some((reply, _)) = c.reply
        {
            retry_with_auth(&tp, c.code, reply);
        }
    })
}

/// `event_route[uac:reply]` for a completion of `tp`'s request.
fn raise_reply(tp: &UacReq, c: &Completion<'_>) {
    let mut fields = tp.clone();
    fields.evcode = u32::from(c.code);
    fields.evtype = if c.reply.is_some() { 1 } else { 2 };
    let msg = c.reply.map(|(m, rcv)| (m.as_bytes().to_vec(), *rcv));
    events::raise_on(
        "uac:reply",
        msg,
        Box::new(move |ctx| {
            if let Some(r) = state_mut(ctx) {
                *r = fields;
            }
        }),
    );
}

/// The request again with credentials for the challenge in `reply`
/// (Kamailio's `uac_send_tm_callback`): same Call-ID and From tag, CSeq +
/// 1, From/To URIs of the reply, `hdrs` then the authorization header.
fn retry_with_auth(tp: &Arc<UacReq>, code: u16, reply: &Message<'_>) {
    let hname = if code == 401 {
        HeaderName::WwwAuthenticate
    } else {
        HeaderName::ProxyAuthenticate
    };
    let Some(ch) = reply
        .header_entry(hname)
        .and_then(|h| parse_challenge(reply.slice(h.value())))
    else {
        return;
    };
    let crd = Credential {
        user: tp.auser.clone(),
        realm: ch.realm.to_vec(),
        passwd: tp.apasswd.clone(),
    };
    let (name, value) = authorization(
        code,
        &tp.method,
        &tp.ruri,
        &crd,
        tp.flags & FL_HA1 != 0,
        &ch,
    );
    let uri_of = |h| {
        reply
            .header(h)
            .and_then(NameAddr::parse)
            .map(|na| (na.uri_raw.to_vec(), na.tag.map(<[u8]>::to_vec)))
    };
    let (Some((from, from_tag)), Some((to, _)), Ok(cseq), Ok(call_id)) = (
        uri_of(HeaderName::From),
        uri_of(HeaderName::To),
        reply.cseq(),
        reply.call_id(),
    ) else {
        return;
    };
    let mut headers = tp.hdrs.clone();
    headers.extend_from_slice(name.as_bytes());
    headers.extend_from_slice(b": ");
    headers.extend_from_slice(&value);
    headers.extend_from_slice(b"\r\n");
    local::queue(LocalRequest {
        method: tp.method.clone(),
        dialog: LocalDialog {
            call_id: call_id.to_vec(),
            loc_uri: from,
            loc_tag: from_tag.unwrap_or_default(),
            rem_uri: to,
            loc_seq: cseq.seq.wrapping_add(1),
            rem_target: tp.ruri.clone(),
            dst_uri: (!tp.ouri.is_empty()).then(|| tp.ouri.clone()),
            send_sock: (!tp.sock.is_empty())
                .then(|| local::parse_socket(&tp.sock))
                .flatten(),
            ..LocalDialog::default()
        },
        headers,
        body: tp.body.clone(),
        on_done: (tp.evroute != 0).then(|| on_done(tp.clone(), false)),
    });
}
