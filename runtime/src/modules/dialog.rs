//! dialog (modules-state-web-ops.md §1): dialogs created by `dlg_manage()`
//! or the `dlg_flag` on initial INVITEs, followed through tm's replies
//! (confirmed on a 2xx, failed on a final reply >= 300) and in-dialog
//! requests (matched from rr's `loose_route`, Kamailio's rr callback, by the
//! `did` Record-Route parameter or by Call-ID and tags), ended by a BYE or
//! when their lifetime runs out; profiles, `$dlg(...)` and `$dlg_var(...)`.
//!
//! One table shared by the workers behind one lock, never held across a
//! send. A dialog in state 5 stays visible (as in Kamailio until the
//! transaction that ended it is destroyed) for [`LINGER`], then is freed by
//! the timer; its profile links go when it enters state 5, as Kamailio's.
//!
//! BYEs (`send_bye`, `dlg_bye`) go out as tm local requests
//! ([`crate::tm::local`]) built as Kamailio's `build_dlg_t` builds its
//! `dlg_t` from what each leg stored (`populate_leg_info`): the caller's
//! Contact, CSeq and Record-Route set from the INVITE, the callee's tag,
//! Contact and Record-Route set (reversed, the caller's and our own
//! skipped) from the 2xx; in-dialog requests update the CSeq of the side
//! that sent them (and a re-INVITE its Contact). The BYE to a side carries
//! the other side's last CSeq + 1 (+80 after a PRACK), `Max-Forwards: 70`
//! after tm's headers, and the dialog enters state 5 at the first final
//! reply (or timeout) to one of its BYEs, as Kamailio's `bye_reply_cb`.
//! The lifetime is counted in ticks of a one-second clock from start-up,
//! as Kamailio's dialog timer (`get_ticks() + lifetime`): a dialog ends
//! between `lifetime - 1` and `lifetime` seconds after it is (re)armed.
//!
//! `dlg.end_dlg`/`dlg.terminate_dlg` build the same BYEs on the RPC
//! thread, which has no tm: the dialog's next timer run (every tm tick,
//! at most 50 ms later) queues them. An INVITE without exactly one
//! Contact makes no dialog (Kamailio's `populate_leg_info` fails).
//!
//! A change of state runs the event route Kamailio's `dlg_run_event_route`
//! runs, at once and with no lock held: `dialog:start` on the 2xx going
//! upstream (before the callee's leg is stored), `dialog:failed` on the
//! final negative reply going upstream (after the failure route: tm's
//! `TMCB_ON_FAILURE` changes no state, the failure route may forward
//! again), `dialog:end` on the BYE (inline, so its changes go with the
//! relayed BYE), and on the faked message when a lifetime runs out, at
//! `dlg_bye()` and at the RPC BYEs (after the BYEs are sent). Accepted
//! difference: Kamailio skips `dialog:end` after its timer or RPC BYEs
//! when another of its processes handled a reply to one of them first
//! (the state is then already 5), and its block reads state 5 when such
//! a reply is handled while it runs; ours always runs it, in state 4.
//!
//! A dialog an INVITE created that no transaction took by the end of the
//! script (answered statelessly, dropped) is destroyed then, as
//! Kamailio's post-script callback does.
//!
//! Not done (refused at build): `$dlg_ctx`, database modes, the `dialog`
//! statistics, other RPC commands, `dlg_extra_hdrs`/`lreq_callee_headers`.
//! Accepted
//! differences: a Contact with an `alias` parameter and no route set is
//! not restored to its received address (`uri_restore_rcv_alias`), a strict
//! router (no `;lr`) first in a route set is not handled as tm's
//! `calculate_routeset` does, a BYE leaves from the socket tm picks for
//! its destination, not the one the side's message came in on, the RPC
//! BYEs leave up to a tm tick after the command returns, and Kamailio's
//! dialog timer checks at a phase of its own against the seconds of its
//! tick counter (so its BYE comes `lifetime - 1` to `lifetime + 1` s after
//! the arming depending on start-up; ours `lifetime - 1` to `lifetime`).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::Modules;
use crate::engine::ctx::HeaderOp;
use crate::engine::module::{
    Module, ModuleSet, PvExport, RpcCommand, RpcError, RpcValue, TmReply, tmcb,
};
use crate::engine::params::{ModParams, ParamError};
use crate::engine::value::OwnedValue;
use crate::engine::{Ctx, Value, log, pv};
use crate::sip::Method;
use crate::transport::Transmit;
use cfgc_vocab::PvRef;

const M: &str = "dialog";

/// How long a dialog in state 5 stays findable: tm's default `wait_timer`,
/// after which Kamailio destroys the transaction that ended it.
pub const LINGER: Duration = Duration::from_secs(5);

/// The dialog bound to the message (Kamailio's `_dlg_ctx.iuid`): a
/// [`HeaderOp::Note`] holding `h_entry:h_id`.
const CURRENT: &str = "dialog.current";
/// A profile link waiting for the dialog of this message
/// (`current_pending_linkers`): profile index, NUL, value.
const PENDING: &str = "dialog.pending";
/// A `$dlg_var` written before the message has a dialog: name, NUL, `1`
/// and the value (set) or `0` (deleted).
const PENDING_VAR: &str = "dialog.var";
/// The dialog this message created (`_dlg_ctx.cpid`): `h_entry:h_id`.
const CREATED: &str = "dialog.created";
/// tm took the message's dialog into a transaction (`_dlg_ctx.t`).
const IN_TX: &str = "dialog.tx";

pub const UNCONFIRMED: u8 = 1;
pub const EARLY: u8 = 2;
pub const CONFIRMED_NA: u8 = 3;
pub const CONFIRMED: u8 = 4;
pub const DELETED: u8 = 5;

/// The event routes a change of state runs (`dlg_run_event_route`).
const START: &str = "dialog:start";
const END: &str = "dialog:end";
const FAILED: &str = "dialog:failed";

/// A dialog ended from a timer: the BYEs to queue for tm, the dialog, and
/// the event route to raise after them (Kamailio's `dlg_bye_all`, then
/// `dlg_run_event_route`).
type Ending = (
    Vec<crate::tm::local::LocalRequest>,
    (u32, u32),
    Option<&'static str>,
);

/// [`run_event`] from a timer: raised for the engine to run on the faked
/// message after the requests the timer queued.
fn raise_event(name: &'static str, id: (u32, u32)) {
    crate::engine::events::raise(name, Some(Box::new(move |c: &mut Ctx<'_>| bind(c, id))));
}

/// `dlg_run_event_route`: `event_route[name]` at once, on `msg` (the
/// faked message if `None`), with dialog `id` as the block's dialog. No
/// lock of the table is held.
fn run_event(
    ctx: &mut Ctx<'_>,
    name: &str,
    id: (u32, u32),
    msg: Option<(&crate::sip::Message<'_>, &crate::transport::RecvInfo)>,
) {
    crate::engine::events::run_nested(ctx, name, msg, |c| bind(c, id));
}

/// A profile (`profiles_no_value` / `profiles_with_value`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    pub name: String,
    pub has_value: bool,
}

/// One dialog.
#[derive(Debug, Clone)]
pub struct Dlg {
    pub h_entry: u32,
    pub h_id: u32,
    pub state: u8,
    pub callid: Vec<u8>,
    pub from_uri: Vec<u8>,
    pub to_uri: Vec<u8>,
    pub from_tag: Vec<u8>,
    pub to_tag: Vec<u8>,
    /// Lifetime in seconds (`default_timeout`, `dlg_set_timeout`).
    pub lifetime: u32,
    /// Wall-clock second of the 2xx (0 before).
    pub start_ts: u32,
    /// The tick of the module's one-second clock when the lifetime runs
    /// out (armed at the 2xx).
    expires: Option<u64>,
    /// When a dialog in state 5 is freed.
    gone: Option<Instant>,
    /// `$dlg_var(...)`: name, value.
    pub vars: Vec<(Vec<u8>, Vec<u8>)>,
    /// What Kamailio keeps per leg: [caller, callee].
    legs: [Leg; 2],
    /// Record-Routes the INVITE came with (`from_rr_nb`).
    from_rr_nb: usize,
    /// Whether the INVITE was record-routed here when tm took it (our
    /// Record-Route, one or two with `r2=on`, is skipped in the 2xx's).
    own_rr: bool,
    /// `send_bye`: BYEs when the lifetime runs out (`DLG_IFLAG_TIMEOUTBYE`).
    timeout_bye: bool,
    /// A PRACK was seen before the ACK (`DLG_IFLAG_PRACK`).
    prack: bool,
    /// `dlg_bye` sent to the caller / to the callee
    /// (`DLG_FLAG_CALLERBYE`/`DLG_FLAG_CALLEEBYE`).
    bye_sent: [bool; 2],
}

/// A leg's `dlg_set_leg_info`: Contact URI, Route set (values in the
/// order of the Route header the side is sent), CSeq (`None`: not a
/// number, no BYE can be built).
#[derive(Debug, Clone, Default)]
struct Leg {
    contact: Vec<u8>,
    route_set: Vec<Vec<u8>>,
    cseq: Option<u32>,
}

pub const CALLER: usize = 0;
pub const CALLEE: usize = 1;

impl Dlg {
    fn set_var(&mut self, name: &[u8], value: Option<&[u8]>) {
        self.vars.retain(|(k, _)| k != name);
        if let Some(v) = value {
            self.vars.push((name.to_vec(), v.to_vec()));
        }
    }
}

/// A dialog's membership of a profile.
#[derive(Debug, Clone)]
struct Link {
    profile: usize,
    value: Vec<u8>,
    dlg: (u32, u32),
}

#[derive(Debug, Default)]
struct Table {
    /// By (`h_entry`, `h_id`): the dialogs of one Call-ID share the hash
    /// entry of its hash, so finding them is a range, not a scan.
    dlgs: BTreeMap<(u32, u32), Dlg>,
    /// `hash_size` (the entries' hash modulus).
    hash_size: u32,
    /// Per hash entry, the last `h_id` given (Kamailio starts each entry
    /// at a random value).
    next_id: HashMap<u32, u32>,
    links: Vec<Link>,
    seed: u32,
}

/// The module: its parameters and the dialog table.
#[derive(Debug)]
pub struct Dialog {
    /// The `dlg_flag` bit (0: none).
    flag_mask: u32,
    default_timeout: u32,
    /// `dlg_match_mode`: 0 `did` only, 1 `did` then Call-ID/tags, 2
    /// Call-ID/tags only.
    match_mode: i32,
    rr_param: String,
    hash_size: u32,
    detect_spirals: bool,
    /// `timeout_avp`: an integer > 0 in it is a new dialog's lifetime.
    timeout_avp: Option<PvRef>,
    /// `send_bye`.
    send_bye: bool,
    pub profiles: Vec<Profile>,
    table: Arc<Mutex<Table>>,
    /// Tick 0 of the dialog clock.
    epoch: Instant,
    /// BYEs the RPC commands built, with their dialog and the event route
    /// of its ending, for the next timer run to queue for tm (the RPC
    /// thread has no tm of its own) and raise after.
    #[allow(clippy::type_complexity)]
    rpc_byes: Mutex<
        Vec<(
            Vec<crate::tm::local::LocalRequest>,
            (u32, u32),
            Option<&'static str>,
        )>,
    >,
    /// The dialog clock's tick + 1 of the last expiry sweep: the timer
    /// runs on every worker's tick (50 ms), the sweep once per second of
    /// the clock (lifetimes are whole ticks, as Kamailio's).
    swept: std::sync::atomic::AtomicU64,
}

impl Default for Dialog {
    fn default() -> Self {
        Self {
            flag_mask: 0,
            default_timeout: 43200,
            match_mode: 0,
            rr_param: "did".into(),
            hash_size: 4096,
            detect_spirals: true,
            timeout_avp: None,
            send_bye: false,
            profiles: Vec::new(),
            table: Arc::new(Mutex::new(Table {
                hash_size: 4096,
                ..Table::default()
            })),
            epoch: Instant::now(),
            rpc_byes: Mutex::new(Vec::new()),
            swept: std::sync::atomic::AtomicU64::new(0),
        }
    }
}

fn lock(m: &Mutex<Table>) -> MutexGuard<'_, Table> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Parses a `profiles_*` list: `;`-separated, trimmed names of
/// `[A-Za-z0-9_]`.
fn parse_profiles(
    spec: &str,
    has_value: bool,
    param: &str,
    out: &mut Vec<Profile>,
) -> Result<(), ParamError> {
    for name in spec.split(';').map(str::trim).filter(|n| !n.is_empty()) {
        if !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            return Err(ParamError::invalid(
                M,
                param,
                format!("invalid profile name <{name}>"),
            ));
        }
        if out.iter().any(|p| p.name == name) {
            return Err(ParamError::invalid(
                M,
                param,
                format!("duplicate dialog profile <{name}>"),
            ));
        }
        out.push(Profile {
            name: name.to_string(),
            has_value,
        });
    }
    Ok(())
}

/// `int2reverse_hex`: hex digits, lowest first, `0` for zero.
fn push_reverse_hex(out: &mut Vec<u8>, mut n: u32) {
    if n == 0 {
        out.push(b'0');
        return;
    }
    while n != 0 {
        out.push(b"0123456789abcdef"[(n & 0xf) as usize]);
        n >>= 4;
    }
}

/// Reads a `did` value back (`parse_dlg_rr_param`).
fn parse_reverse_hex(s: &[u8]) -> Option<u32> {
    if s.is_empty() || s.len() > 8 {
        return None;
    }
    let mut n: u32 = 0;
    for &b in s.iter().rev() {
        let d = char::from(b).to_digit(16)?;
        n = (n << 4) | d;
    }
    Some(n)
}

fn wall_secs() -> u32 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u32::try_from(d.as_secs()).unwrap_or(u32::MAX))
}

impl Dialog {
    /// Reads `modparam("dialog", ...)`.
    ///
    /// # Errors
    /// Values Kamailio refuses at start-up.
    pub fn from_params(p: &ModParams) -> Result<Self, ParamError> {
        let d = Self::default();
        let flag = p.int(M, "dlg_flag")?.unwrap_or(-1);
        if !(-1..=31).contains(&flag) {
            return Err(ParamError::invalid(
                M,
                "dlg_flag",
                format!("invalid dlg flag {flag}!!"),
            ));
        }
        let default_timeout = p.int(M, "default_timeout")?.unwrap_or(43200);
        if default_timeout <= 0 {
            return Err(ParamError::invalid(
                M,
                "default_timeout",
                "0 default_timeout not accepted!!",
            ));
        }
        let match_mode = p.int(M, "dlg_match_mode")?.unwrap_or(0);
        if !(0..=2).contains(&match_mode) {
            return Err(ParamError::invalid(
                M,
                "dlg_match_mode",
                format!("invalid value {match_mode} for seq_match_mode param!!"),
            ));
        }
        let rr_param = p.str(M, "rr_param").unwrap_or_else(|| d.rr_param.clone());
        if rr_param.len() > 32 {
            return Err(ParamError::invalid(
                M,
                "rr_param",
                "rr_param too long (max 32)",
            ));
        }
        // Rounded down to a power of two, at least 1.
        let size = p.int(M, "hash_size")?.unwrap_or(4096).max(1);
        let hash_size = 1u32 << (31 - size.cast_unsigned().leading_zeros());
        let mut profiles = Vec::new();
        if let Some(s) = p.str(M, "profiles_no_value") {
            parse_profiles(&s, false, "profiles_no_value", &mut profiles)?;
        }
        if let Some(s) = p.str(M, "profiles_with_value") {
            parse_profiles(&s, true, "profiles_with_value", &mut profiles)?;
        }
        let seed = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(1, |d| d.subsec_nanos() | 1);
        Ok(Self {
            flag_mask: u32::try_from(flag).map_or(0, |f| 1 << f),
            default_timeout: default_timeout.cast_unsigned(),
            match_mode,
            rr_param,
            hash_size,
            detect_spirals: p.int(M, "detect_spirals")?.unwrap_or(1) != 0,
            timeout_avp: super::avp_param(p, M, "timeout_avp")?,
            send_bye: p.int(M, "send_bye")?.unwrap_or(0) != 0,
            profiles,
            table: Arc::new(Mutex::new(Table {
                seed,
                hash_size,
                ..Table::default()
            })),
            epoch: Instant::now(),
            rpc_byes: Mutex::new(Vec::new()),
            swept: std::sync::atomic::AtomicU64::new(0),
        })
    }

    /// The dialog clock at `now`: whole seconds since start-up
    /// (Kamailio's `get_ticks()`).
    fn ticks(&self, now: Instant) -> u64 {
        now.saturating_duration_since(self.epoch).as_secs()
    }

    /// The tick when a lifetime of `secs` armed at `now` runs out.
    fn deadline(&self, now: Instant, secs: u32) -> u64 {
        self.ticks(now) + u64::from(secs)
    }

    /// The profile called `name`.
    pub fn profile(&self, name: &[u8]) -> Option<usize> {
        self.profiles.iter().position(|p| p.name.as_bytes() == name)
    }

    /// A copy of dialog `id`.
    pub fn get(&self, id: (u32, u32)) -> Option<Dlg> {
        lock(&self.table).dlgs.get(&id).cloned()
    }

    /// How many dialogs are in the table (any state).
    pub fn len(&self) -> usize {
        lock(&self.table).dlgs.len()
    }

    /// Whether the table is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The size of profile `p` (with `value`, the links of that value).
    pub fn profile_size(&self, p: usize, value: Option<&[u8]>) -> usize {
        let has_value = self.profiles.get(p).is_some_and(|x| x.has_value);
        lock(&self.table)
            .links
            .iter()
            .filter(|l| l.profile == p)
            .filter(|l| !has_value || value.is_none_or(|v| l.value == v))
            .count()
    }
}

/// `get_dlg_timeout`: an integer > 0 in `timeout_avp`, else
/// `default_timeout`.
fn dlg_timeout(ctx: &Ctx<'_>, d: &Dialog) -> u32 {
    if let Some(pv) = &d.timeout_avp
        && let Value::Int(n) = pv::read(ctx, pv)
        && n > 0
    {
        return n.cast_unsigned();
    }
    d.default_timeout
}

/// Call-ID, From tag and To tag of a message (`pre_match_parse`).
fn ids<'m>(ctx: &Ctx<'m>) -> Option<(&'m [u8], &'m [u8], &'m [u8])> {
    let msg = ctx.msg;
    let callid = msg.call_id().ok()?;
    let ftag = msg.from().ok()?.tag?;
    let ttag = msg.to().ok()?.tag.unwrap_or_default();
    Some((callid, ftag, ttag))
}

impl Table {
    /// The dialogs of Call-ID `callid` (those of its hash entry, checked).
    fn of_callid<'t>(&'t self, callid: &'t [u8]) -> impl Iterator<Item = &'t Dlg> + 't {
        let h = super::cfgutils::slot_hash(callid, self.hash_size.max(1));
        self.dlgs
            .range((h, 0)..=(h, u32::MAX))
            .map(|(_, d)| d)
            .filter(move |d| d.callid == callid)
    }

    /// `get_dlg`: a dialog matching Call-ID and tags, one with a callee
    /// tag preferred.
    fn find(&self, callid: &[u8], ftag: &[u8], ttag: &[u8]) -> Option<(u32, u32)> {
        let mut no_totag = None;
        let mut best: Option<&Dlg> = None;
        for d in self.of_callid(callid) {
            if d.to_tag.is_empty() {
                if d.from_tag == ttag || d.from_tag == ftag {
                    no_totag = Some(d);
                }
            } else if (d.from_tag == ftag && d.to_tag == ttag)
                || (d.from_tag == ttag && d.to_tag == ftag)
            {
                // The newest of equals (a later dialog with the same ids).
                if best.is_none_or(|b| b.h_id < d.h_id) {
                    best = Some(d);
                }
            }
        }
        best.or(no_totag).map(|d| (d.h_entry, d.h_id))
    }

    fn set_state(&mut self, id: (u32, u32), state: u8, now: Instant) {
        if let Some(d) = self.dlgs.get_mut(&id) {
            d.state = state;
            if state == DELETED {
                d.expires = None;
                d.gone = Some(now + LINGER);
                self.links.retain(|l| l.dlg != id);
            }
        }
    }
}

fn state<'a>(ctx: &Ctx<'a>) -> &'a Dialog {
    &Modules::of(ctx).dialog
}

/// The dialog bound to this message by an earlier call.
fn current(ctx: &Ctx<'_>) -> Option<(u32, u32)> {
    ctx.headers.iter().rev().find_map(|op| match op {
        HeaderOp::Note(CURRENT, v) => {
            let s = std::str::from_utf8(v).ok()?;
            let (e, i) = s.split_once(':')?;
            Some((e.parse().ok()?, i.parse().ok()?))
        }
        _ => None,
    })
}

fn bind(ctx: &mut Ctx<'_>, id: (u32, u32)) {
    ctx.headers.push(HeaderOp::Note(
        CURRENT,
        format!("{}:{}", id.0, id.1).into_bytes(),
    ));
}

/// `dlg_get_msg_dialog`: the bound dialog, else one matching the message's
/// Call-ID and tags.
fn msg_dialog(ctx: &Ctx<'_>) -> Option<(u32, u32)> {
    if let Some(id) = current(ctx) {
        return Some(id);
    }
    let (callid, ftag, ttag) = ids(ctx)?;
    lock(&state(ctx).table).find(callid, ftag, ttag)
}

/// `dlg_new_dialog`: a dialog for an initial INVITE (pending profile
/// links attached, the `did` parameter added to the Record-Route); 0
/// created or a spiral bound, -1 not.
fn new_dialog(ctx: &mut Ctx<'_>) -> i32 {
    let d = state(ctx);
    if current(ctx).is_some() || ctx.msg.method() != Some(Method::Invite) {
        return -1;
    }
    let msg = ctx.msg;
    let (Some((callid, ftag, ttag)), Ok(from), Ok(to)) = (ids(ctx), msg.from(), msg.to()) else {
        return -1;
    };
    if !ttag.is_empty() {
        return -1;
    }
    // populate_leg_info: one Contact, a CSeq; the Record-Routes as they
    // came.
    let (Some(contact), Ok(cseq)) = (single_contact(msg), msg.cseq()) else {
        log::error(ctx, "could not add further info to the dialog\n");
        return -1;
    };
    let route_set = route_values(msg);
    let caller = Leg {
        contact,
        cseq: Some(cseq.seq),
        route_set: route_set.clone(),
    };
    let mut t = lock(&d.table);
    if d.detect_spirals
        && let Some(id) = t.find(callid, ftag, ttag)
        && t.dlgs.get(&id).is_some_and(|x| x.state != DELETED)
    {
        drop(t);
        bind(ctx, id);
        return 0;
    }
    let lifetime = dlg_timeout(ctx, d);
    let h_entry = super::cfgutils::slot_hash(callid, d.hash_size);
    let seed = t.seed;
    let next = t.next_id.entry(h_entry).or_insert_with(|| {
        // Kamailio: a random start below 3 * hash_size.
        let x = seed
            .wrapping_mul(2_654_435_761)
            .wrapping_add(h_entry.wrapping_mul(40503));
        x % (3 * d.hash_size)
    });
    *next = next.wrapping_add(1);
    let h_id = *next;
    let id = (h_entry, h_id);
    t.dlgs.insert(
        id,
        Dlg {
            h_entry,
            h_id,
            state: UNCONFIRMED,
            callid: callid.to_vec(),
            from_uri: from.uri_raw.to_vec(),
            to_uri: to.uri_raw.to_vec(),
            from_tag: ftag.to_vec(),
            to_tag: Vec::new(),
            lifetime,
            start_ts: 0,
            expires: None,
            gone: None,
            vars: Vec::new(),
            from_rr_nb: route_set.len(),
            legs: [caller, Leg::default()],
            own_rr: false,
            timeout_bye: d.send_bye,
            prack: false,
            bye_sent: [false; 2],
        },
    );
    let mut pending = Vec::new();
    let mut vars = Vec::new();
    ctx.headers.retain(|op| match op {
        HeaderOp::Note(PENDING, v) => {
            pending.push(v.clone());
            false
        }
        HeaderOp::Note(PENDING_VAR, v) => {
            vars.push(v.clone());
            false
        }
        _ => true,
    });
    if let Some(dlg) = t.dlgs.get_mut(&id) {
        for v in &vars {
            let (name, value) = pending_var(v);
            dlg.set_var(name, value);
        }
    }
    for v in pending {
        let mut parts = v.splitn(2, |&b| b == 0);
        let p = parts
            .next()
            .and_then(|p| std::str::from_utf8(p).ok()?.parse().ok());
        if let Some(profile) = p {
            t.links.push(Link {
                profile,
                value: parts.next().unwrap_or_default().to_vec(),
                dlg: id,
            });
        }
    }
    drop(t);
    if d.match_mode != 2 {
        add_did(ctx, d, id);
    }
    bind(ctx, id);
    ctx.headers.push(HeaderOp::Note(
        CREATED,
        format!("{}:{}", id.0, id.1).into_bytes(),
    ));
    0
}

/// Kamailio's post-script callback (`dlg_cfg_cb`): a dialog this message
/// created that no transaction took (the INVITE answered statelessly,
/// dropped) is destroyed, its profile links with it; no event route runs.
pub fn after_script(ctx: &mut Ctx<'_>) {
    let mut created = None;
    let mut in_tx = false;
    for op in &ctx.headers {
        match op {
            HeaderOp::Note(CREATED, v) => {
                created = std::str::from_utf8(v).ok().and_then(|s| {
                    let (e, i) = s.split_once(':')?;
                    Some((e.parse::<u32>().ok()?, i.parse::<u32>().ok()?))
                });
            }
            HeaderOp::Note(IN_TX, _) => in_tx = true,
            _ => {}
        }
    }
    let Some(id) = created else {
        return;
    };
    if in_tx || ctx.tm.has_tx() {
        return;
    }
    let mut t = lock(&state(ctx).table);
    if t.dlgs.get(&id).is_some_and(|d| d.state == UNCONFIRMED) {
        t.dlgs.remove(&id);
        t.links.retain(|l| l.dlg != id);
    }
}

/// The URI of a message's only Contact (`None`: none, `*`, or several).
fn single_contact(msg: &crate::sip::Message<'_>) -> Option<Vec<u8>> {
    let mut it = msg.contacts();
    let first = it.next()?.ok()?;
    if it.next().is_some() || msg.contact_is_star() {
        return None;
    }
    Some(first.uri_raw.to_vec())
}

/// The message's Record-Route values, in order (each a name-addr with
/// its parameters).
fn route_values(msg: &crate::sip::Message<'_>) -> Vec<Vec<u8>> {
    msg.record_routes()
        .filter_map(Result::ok)
        .map(|r| r.raw.trim_ascii().to_vec())
        .collect()
}

fn add_did(ctx: &mut Ctx<'_>, d: &Dialog, id: (u32, u32)) {
    let mut p = Vec::with_capacity(d.rr_param.len() + 20);
    p.push(b';');
    p.extend_from_slice(d.rr_param.as_bytes());
    p.push(b'=');
    push_reverse_hex(&mut p, id.0);
    p.push(b'.');
    push_reverse_hex(&mut p, id.1);
    super::rr::add_rr_param(ctx, &p);
}

/// rr's callback (`dlg_onroute`): `loose_route()` consumed our Route, its
/// parameters in `ctx.route_params`. Matches the in-dialog request to its
/// dialog and runs the state machine.
pub fn on_route(ctx: &mut Ctx<'_>) {
    let d = state(ctx);
    if current(ctx).is_some() || ctx.msg.to().ok().and_then(|t| t.tag).is_none() {
        return;
    }
    let mut found = None;
    if d.match_mode != 2 {
        let val = ctx.route_params.as_deref().and_then(|params| {
            let params = params.strip_prefix(b";").unwrap_or(params);
            crate::sip::syntax::Params::new(params)
                .get(d.rr_param.as_bytes())
                .flatten()
                .map(<[u8]>::to_vec)
        });
        match val {
            None if d.match_mode == 0 => return,
            None => {}
            Some(v) => {
                let mut it = v.splitn(2, |&b| b == b'.');
                let (Some(e), Some(i)) = (
                    it.next().and_then(parse_reverse_hex),
                    it.next().and_then(parse_reverse_hex),
                ) else {
                    return;
                };
                let Some((callid, ftag, ttag)) = ids(ctx) else {
                    return;
                };
                let t = lock(&d.table);
                let tight = t.dlgs.get(&(e, i)).is_some_and(|x| {
                    x.callid == callid
                        && ((x.from_tag == ftag && (x.to_tag.is_empty() || x.to_tag == ttag))
                            || (x.from_tag == ttag && (x.to_tag.is_empty() || x.to_tag == ftag)))
                });
                if tight {
                    found = Some((e, i));
                } else if d.match_mode == 0 {
                    return;
                }
            }
        }
    }
    in_dialog(ctx, d, found);
}

/// The in-dialog state machine for a request of dialog `found` (else
/// matched by Call-ID and tags).
fn in_dialog(ctx: &mut Ctx<'_>, d: &Dialog, found: Option<(u32, u32)>) {
    let id = match found {
        Some(id) => id,
        None => {
            let Some((callid, ftag, ttag)) = ids(ctx) else {
                return;
            };
            match lock(&d.table).find(callid, ftag, ttag) {
                Some(id) => id,
                None => return,
            }
        }
    };
    bind(ctx, id);
    let now = ctx.now;
    let msg = ctx.msg;
    let method = msg.method();
    // A timeout_avp other than the default replaces the lifetime.
    let timeout = dlg_timeout(ctx, d);
    let mut add = false;
    let mut ended = false;
    {
        let mut t = lock(&d.table);
        let Some(dlg) = t.dlgs.get_mut(&id) else {
            return;
        };
        let old = dlg.state;
        // Downstream (from the caller) when the From tag is the caller's.
        let from_caller = msg
            .from()
            .ok()
            .and_then(|f| f.tag)
            .is_some_and(|tag| tag == dlg.from_tag);
        let side = if from_caller { CALLER } else { CALLEE };
        match method {
            Some(Method::Bye) => {
                if matches!(old, CONFIRMED_NA | CONFIRMED) {
                    t.set_state(id, DELETED, now);
                    ended = true;
                }
            }
            Some(Method::Ack) => {
                if old == CONFIRMED_NA {
                    dlg.state = CONFIRMED;
                }
                if dlg.state == CONFIRMED {
                    if timeout != d.default_timeout {
                        dlg.lifetime = timeout;
                    }
                    dlg.expires = Some(d.deadline(now, dlg.lifetime));
                }
            }
            Some(Method::Prack) => {
                if matches!(old, EARLY | CONFIRMED_NA) {
                    dlg.prack = true;
                }
            }
            _ => {
                if matches!(old, EARLY | CONFIRMED_NA | CONFIRMED) && timeout != d.default_timeout {
                    dlg.lifetime = timeout;
                }
                if matches!(old, CONFIRMED_NA | CONFIRMED) {
                    dlg.expires = Some(d.deadline(now, dlg.lifetime));
                }
                // dlg_refresh_contacts (a re-INVITE's Contact) and
                // update_cseqs, for the side that sent it.
                if matches!(old, EARLY | CONFIRMED) {
                    if method == Some(Method::Invite)
                        && let Some(c) = single_contact(msg)
                    {
                        dlg.legs[side].contact = c;
                    }
                    if let Ok(c) = msg.cseq() {
                        dlg.legs[side].cseq = Some(c.seq);
                    }
                }
                add = matches!(old, EARLY | CONFIRMED_NA | CONFIRMED);
            }
        }
    }
    if add {
        add_did(ctx, d, id);
    }
    // On the BYE itself, as Kamailio's: what the block changes goes with
    // the relayed BYE.
    if ended && let Some(script) = ctx.tm.script.filter(|s| s.has_event_route(END)) {
        let _ = script.event_route(END, ctx);
    }
}

/// `dlg_manage()`: on an initial INVITE creates the dialog (1; -1 not an
/// INVITE, already bound, or malformed); on a request with a To tag
/// matches it by Call-ID and tags (always 1).
pub fn dlg_manage(ctx: &mut Ctx<'_>) -> i32 {
    let Ok(to) = ctx.msg.to() else {
        log::error(ctx, "bad TO header\n");
        return -1;
    };
    if to.tag.is_some_and(|t| !t.is_empty()) {
        let d = state(ctx);
        if current(ctx).is_none() {
            in_dialog(ctx, d, None);
        }
        return 1;
    }
    if new_dialog(ctx) != 0 {
        return -1;
    }
    1
}

/// `is_known_dlg()`: 1 if the message belongs to a dialog, else -1.
pub fn is_known_dlg(ctx: &mut Ctx<'_>) -> i32 {
    if msg_dialog(ctx).is_some() { 1 } else { -1 }
}

fn unknown_profile(ctx: &Ctx<'_>, name: &[u8]) -> i32 {
    log::error(
        ctx,
        &format!(
            "dialog profile <{}> not defined\n",
            String::from_utf8_lossy(name)
        ),
    );
    -1
}

/// `set_dlg_profile(profile)`.
pub fn set_dlg_profile(ctx: &mut Ctx<'_>, profile: &[u8]) -> i32 {
    set_profile(ctx, profile, None)
}

/// `set_dlg_profile(profile, value)`.
pub fn set_dlg_profile_value(ctx: &mut Ctx<'_>, profile: &[u8], value: &[u8]) -> i32 {
    set_profile(ctx, profile, Some(value))
}

fn set_profile(ctx: &mut Ctx<'_>, name: &[u8], value: Option<&[u8]>) -> i32 {
    let d = state(ctx);
    let Some(p) = d.profile(name) else {
        return unknown_profile(ctx, name);
    };
    let has_value = d.profiles[p].has_value;
    let value = if has_value {
        match value {
            Some(v) if !v.is_empty() => v.to_vec(),
            _ => return -1,
        }
    } else {
        Vec::new()
    };
    match msg_dialog(ctx) {
        Some(id) => {
            lock(&d.table).links.push(Link {
                profile: p,
                value,
                dlg: id,
            });
            1
        }
        None if ctx.tm.route == crate::tm::RouteKind::Request => {
            let mut v = p.to_string().into_bytes();
            v.push(0);
            v.extend_from_slice(&value);
            ctx.headers.push(HeaderOp::Note(PENDING, v));
            1
        }
        None => -1,
    }
}

/// `unset_dlg_profile(profile[, value])`: -1 in a request route (as
/// Kamailio), else removes the dialog's first matching link.
pub fn unset_dlg_profile(ctx: &mut Ctx<'_>, profile: &[u8]) -> i32 {
    unset_profile(ctx, profile, None)
}

/// `unset_dlg_profile(profile, value)`.
pub fn unset_dlg_profile_value(ctx: &mut Ctx<'_>, profile: &[u8], value: &[u8]) -> i32 {
    unset_profile(ctx, profile, Some(value))
}

fn unset_profile(ctx: &mut Ctx<'_>, name: &[u8], value: Option<&[u8]>) -> i32 {
    let d = state(ctx);
    let Some(p) = d.profile(name) else {
        return unknown_profile(ctx, name);
    };
    if ctx.tm.route == crate::tm::RouteKind::Request {
        log::error(
            ctx,
            "dialog delete profile cannot be used in request route\n",
        );
        return -1;
    }
    let Some(id) = msg_dialog(ctx) else {
        return -1;
    };
    let has_value = d.profiles[p].has_value;
    let mut t = lock(&d.table);
    let pos = t.links.iter().position(|l| {
        l.dlg == id && l.profile == p && (!has_value || value.is_some_and(|v| v == l.value))
    });
    match pos {
        Some(i) => {
            t.links.remove(i);
            1
        }
        None => -1,
    }
}

/// `is_in_profile(profile)`.
pub fn is_in_profile(ctx: &mut Ctx<'_>, profile: &[u8]) -> i32 {
    in_profile(ctx, profile, None)
}

/// `is_in_profile(profile, value)`.
pub fn is_in_profile_value(ctx: &mut Ctx<'_>, profile: &[u8], value: &[u8]) -> i32 {
    in_profile(ctx, profile, Some(value))
}

fn in_profile(ctx: &mut Ctx<'_>, name: &[u8], value: Option<&[u8]>) -> i32 {
    let d = state(ctx);
    let Some(p) = d.profile(name) else {
        return unknown_profile(ctx, name);
    };
    let Some(id) = msg_dialog(ctx) else {
        return -1;
    };
    let has_value = d.profiles[p].has_value;
    let t = lock(&d.table);
    let hit = t.links.iter().any(|l| {
        l.dlg == id && l.profile == p && (!has_value || value.is_some_and(|v| v == l.value))
    });
    if hit { 1 } else { -1 }
}

/// `get_profile_size(profile, $out)`: the profile's size into `$out`; 1
/// (-1 for a profile with values, which needs one).
pub fn get_profile_size(ctx: &mut Ctx<'_>, profile: &[u8], out: &[PvRef]) -> i32 {
    profile_size(ctx, profile, None, out)
}

/// `get_profile_size(profile, value, $out)`.
pub fn get_profile_size_value(
    ctx: &mut Ctx<'_>,
    profile: &[u8],
    value: &[u8],
    out: &[PvRef],
) -> i32 {
    profile_size(ctx, profile, Some(value), out)
}

fn profile_size(ctx: &mut Ctx<'_>, name: &[u8], value: Option<&[u8]>, out: &[PvRef]) -> i32 {
    let d = state(ctx);
    let Some(p) = d.profile(name) else {
        return unknown_profile(ctx, name);
    };
    let value = if d.profiles[p].has_value {
        match value {
            Some(v) if !v.is_empty() => Some(v),
            _ => {
                log::error(ctx, "invalid value parameter\n");
                return -1;
            }
        }
    } else {
        None
    };
    let n = d.profile_size(p, value);
    let Some(pv) = out.first() else {
        return -1;
    };
    let n = i32::try_from(n).unwrap_or(i32::MAX);
    if pv::assign(ctx, pv, Value::Int(n)) < 0 {
        log::error(ctx, "setting profile PV failed\n");
        return -1;
    }
    1
}

/// `dlg_set_timeout(secs)`: the bound dialog's lifetime (its timer re-armed
/// if running); -1 for secs <= 0 or without a dialog.
pub fn dlg_set_timeout(ctx: &mut Ctx<'_>, secs: i32) -> i32 {
    let Ok(secs) = u32::try_from(secs) else {
        return -1;
    };
    if secs == 0 {
        return -1;
    }
    let Some(id) = msg_dialog(ctx) else {
        return -1;
    };
    let now = ctx.now;
    let mut t = lock(&state(ctx).table);
    let Some(dlg) = t.dlgs.get_mut(&id) else {
        return -1;
    };
    // Past the 2xx the timer is re-armed; it must be running (Kamailio's
    // `update_dlg_timer` fails on a dialog off its timer list).
    if !matches!(dlg.state, UNCONFIRMED | EARLY) {
        if dlg.expires.is_none() {
            return -1;
        }
        dlg.expires = Some(state(ctx).deadline(now, secs));
    }
    dlg.lifetime = secs;
    1
}

// ---- $dlg(...) ---------------------------------------------------------

fn with_dlg<'c>(ctx: &'c Ctx<'_>, f: impl FnOnce(&Dlg) -> Value<'static>) -> Value<'c> {
    let Some(id) = msg_dialog(ctx) else {
        return Value::Null;
    };
    lock(&state(ctx).table).dlgs.get(&id).map_or(Value::Null, f)
}

fn uint(n: u32) -> Value<'static> {
    Value::Int(n.cast_signed())
}

fn text(s: &[u8]) -> Value<'static> {
    if s.is_empty() {
        Value::Null
    } else {
        Value::Str(s.to_vec().into())
    }
}

/// `$dlg(h_id)`.
pub fn pv_h_id<'c>(ctx: &'c Ctx<'_>) -> Value<'c> {
    with_dlg(ctx, |d| uint(d.h_id))
}
/// `$dlg(h_entry)`.
pub fn pv_h_entry<'c>(ctx: &'c Ctx<'_>) -> Value<'c> {
    with_dlg(ctx, |d| uint(d.h_entry))
}
/// `$dlg(state)`.
pub fn pv_state<'c>(ctx: &'c Ctx<'_>) -> Value<'c> {
    with_dlg(ctx, |d| uint(u32::from(d.state)))
}
/// `$dlg(lifetime)`.
pub fn pv_lifetime<'c>(ctx: &'c Ctx<'_>) -> Value<'c> {
    with_dlg(ctx, |d| uint(d.lifetime))
}
/// `$dlg(start_ts)`.
pub fn pv_start_ts<'c>(ctx: &'c Ctx<'_>) -> Value<'c> {
    with_dlg(ctx, |d| uint(d.start_ts))
}
/// `$dlg(callid)`.
pub fn pv_callid<'c>(ctx: &'c Ctx<'_>) -> Value<'c> {
    with_dlg(ctx, |d| text(&d.callid))
}
/// `$dlg(from_uri)`.
pub fn pv_from_uri<'c>(ctx: &'c Ctx<'_>) -> Value<'c> {
    with_dlg(ctx, |d| text(&d.from_uri))
}
/// `$dlg(to_uri)`.
pub fn pv_to_uri<'c>(ctx: &'c Ctx<'_>) -> Value<'c> {
    with_dlg(ctx, |d| text(&d.to_uri))
}
/// `$dlg(from_tag)`.
pub fn pv_from_tag<'c>(ctx: &'c Ctx<'_>) -> Value<'c> {
    with_dlg(ctx, |d| text(&d.from_tag))
}
/// `$dlg(to_tag)`.
pub fn pv_to_tag<'c>(ctx: &'c Ctx<'_>) -> Value<'c> {
    with_dlg(ctx, |d| text(&d.to_tag))
}

// ---- $dlg_var(name) ----------------------------------------------------

/// A pending variable's name and value (`None`: deleted).
fn pending_var(note: &[u8]) -> (&[u8], Option<&[u8]>) {
    let mut it = note.splitn(2, |&b| b == 0);
    let name = it.next().unwrap_or_default();
    match it.next() {
        Some([b'1', value @ ..]) => (name, Some(value)),
        _ => (name, None),
    }
}

/// `$dlg_var(name)`: the variable of the message's dialog (before the
/// dialog exists, what this message set); `$null` if unset.
pub fn dlg_var<'c>(ctx: &'c Ctx<'_>, name: &str) -> Value<'c> {
    let name = name.as_bytes();
    if let Some(id) = msg_dialog(ctx) {
        let t = lock(&state(ctx).table);
        return t
            .dlgs
            .get(&id)
            .and_then(|d| d.vars.iter().find(|(k, _)| k == name))
            .map_or(Value::Null, |(_, v)| Value::Str(v.clone().into()));
    }
    let last = ctx.headers.iter().rev().find_map(|op| match op {
        HeaderOp::Note(PENDING_VAR, v) => {
            let (n, value) = pending_var(v);
            (n == name).then_some(value)
        }
        _ => None,
    });
    match last.flatten() {
        Some(v) => Value::Str(v.into()),
        None => Value::Null,
    }
}

/// `$dlg_var(name) = v`: a string is stored, `$null` deletes; an integer
/// is refused (-1, as Kamailio: "non-string values are not supported").
pub fn set_dlg_var(ctx: &mut Ctx<'_>, name: &str, v: OwnedValue) -> i32 {
    let value = match &v {
        Value::Null => None,
        Value::Str(s) => Some(s.as_ref()),
        Value::Int(_) => {
            log::error(ctx, "non-string values are not supported\n");
            return -1;
        }
    };
    if let Some(id) = msg_dialog(ctx) {
        let mut t = lock(&state(ctx).table);
        return match t.dlgs.get_mut(&id) {
            Some(d) => {
                d.set_var(name.as_bytes(), value);
                1
            }
            None => -1,
        };
    }
    let mut note = name.as_bytes().to_vec();
    note.push(0);
    if let Some(s) = value {
        note.push(b'1');
        note.extend_from_slice(s);
    } else {
        note.push(b'0');
    }
    ctx.headers.push(HeaderOp::Note(PENDING_VAR, note));
    1
}

// ---- tm events and the timer -----------------------------------------

impl Dialog {
    /// tm created the INVITE's transaction (`TMCB_REQUEST_IN`): the
    /// dialog of `dlg_flag` is created here; a dialog bound to the request
    /// follows the transaction's replies.
    fn request_in(&self, ctx: &mut Ctx<'_>) -> u32 {
        if ctx.msg.method() != Some(Method::Invite) {
            return 0;
        }
        if current(ctx).is_none() {
            if self.flag_mask == 0 || ctx.flags & self.flag_mask != self.flag_mask {
                return 0;
            }
            if new_dialog(ctx) != 0 {
                return 0;
            }
        }
        ctx.headers.push(HeaderOp::Note(IN_TX, Vec::new()));
        // Our Record-Route on the branches (Kamailio: the branch's
        // TM_UAC_FLAG_RR/R2), skipped in the 2xx's route set.
        if super::rr::has_record_route(ctx)
            && let Some(id) = current(ctx)
            && let Some(dlg) = lock(&self.table).dlgs.get_mut(&id)
        {
            dlg.own_rr = true;
        }
        tmcb::RESPONSE_OUT | tmcb::ON_FAILURE
    }

    /// A reply of the INVITE's transaction went upstream: `dlg_onreply`'s
    /// state machine (Kamailio's `TMCB_RESPONSE_READY`), and the event
    /// route a change of state runs. tm's `TMCB_ON_FAILURE`, before the
    /// failure route, changes nothing (the failure route may forward
    /// again): the final reply that goes upstream after it does.
    fn on_reply(&self, event: u32, ctx: &mut Ctx<'_>, reply: &TmReply<'_>) {
        if event & tmcb::RESPONSE_OUT == 0 {
            return;
        }
        let (code, to_tag, rpl): (u16, Vec<u8>, _) = match reply {
            TmReply::Local { code, to_tag } => (*code, to_tag.to_vec(), None),
            TmReply::Received(m) => (
                m.status().unwrap_or(0),
                m.to().ok().and_then(|t| t.tag).unwrap_or_default().to_vec(),
                Some(*m),
            ),
        };
        let Some((callid, ftag, _)) = ids(ctx) else {
            return;
        };
        let now = ctx.now;
        let mut t = lock(&self.table);
        // The INVITE's dialog: the newest not yet ended for these ids.
        let Some(id) = t
            .of_callid(callid)
            .filter(|x| x.from_tag == ftag && x.state != DELETED)
            .map(|x| (x.h_entry, x.h_id))
            .max_by_key(|k| k.1)
        else {
            return;
        };
        let Some(dlg) = t.dlgs.get_mut(&id) else {
            return;
        };
        let event = match code {
            0..=199 => {
                if matches!(dlg.state, UNCONFIRMED | EARLY) {
                    dlg.state = EARLY;
                }
                None
            }
            200..=299 => {
                if matches!(dlg.state, UNCONFIRMED | EARLY) {
                    dlg.state = CONFIRMED_NA;
                    Some(START)
                } else {
                    None
                }
            }
            _ => {
                if matches!(dlg.state, UNCONFIRMED | EARLY) {
                    t.set_state(id, DELETED, now);
                    Some(FAILED)
                } else {
                    None
                }
            }
        };
        drop(t);
        let Some(name) = event else {
            return;
        };
        // The block runs on the reply (the faked message for one tm
        // made), with the lock released; the callee's leg is stored
        // after it, as Kamailio's.
        let from = ctx
            .tm
            .reply_from
            .unwrap_or_else(crate::engine::events::faked_rcv);
        run_event(ctx, name, id, rpl.map(|m| (m, &from)));
        if name != START {
            return;
        }
        let mut t = lock(&self.table);
        if let Some(dlg) = t.dlgs.get_mut(&id)
            && dlg.state != DELETED
        {
            dlg.to_tag = to_tag;
            dlg.start_ts = wall_secs();
            dlg.expires = Some(self.deadline(now, dlg.lifetime));
            if let Some(m) = rpl {
                callee_leg(dlg, m);
            }
        }
    }

    /// Ends the dialogs whose lifetime ran out and frees those that
    /// lingered in state 5. A confirmed dialog with `send_bye` gets its
    /// BYEs (`dlg_bye_all`, queued for tm) and ends at their first final
    /// reply; any other enters state 5 at once. Returns, per dialog, the
    /// BYEs to queue and the event route to raise after them.
    fn expire(&self, now: Instant) -> Vec<Ending> {
        let tick = self.ticks(now);
        let mut t = lock(&self.table);
        let expired: Vec<(u32, u32)> = t
            .dlgs
            .values()
            .filter(|d| d.expires.is_some_and(|e| e <= tick))
            .map(|d| (d.h_entry, d.h_id))
            .collect();
        let mut ended = Vec::new();
        for id in expired {
            let Some(dlg) = t.dlgs.get_mut(&id) else {
                continue;
            };
            let event = ending_event(dlg.state);
            let mut byes = Vec::new();
            if dlg.timeout_bye && matches!(dlg.state, CONFIRMED_NA | CONFIRMED) {
                dlg.expires = None;
                for side in [CALLER, CALLEE] {
                    byes.extend(bye_request(&self.table, dlg, side, b""));
                }
            } else {
                t.set_state(id, DELETED, now);
            }
            ended.push((byes, id, event));
        }
        t.dlgs.retain(|_, d| d.gone.is_none_or(|g| g > now));
        drop(t);
        ended
    }
}

/// The callee's leg from the 2xx (`populate_leg_info`): its Contact and
/// its Record-Routes reversed, without the caller's (`from_rr_nb`) and
/// ours; its CSeq `0` (it has sent no request yet).
fn callee_leg(dlg: &mut Dlg, m: &crate::sip::Message<'_>) {
    let mut rr = route_values(m);
    rr.reverse();
    let mut skip = dlg.from_rr_nb;
    if dlg.own_rr {
        // Two with double record-routing (both `r2=on`).
        let r2 = |v: &Vec<u8>| memchr::memmem::find(v, b";r2=on").is_some();
        skip += if rr.get(skip).is_some_and(r2) && rr.get(skip + 1).is_some_and(r2) {
            2
        } else {
            1
        };
    }
    dlg.legs[CALLEE] = Leg {
        contact: single_contact(m).unwrap_or_default(),
        route_set: rr.into_iter().skip(skip).collect(),
        cseq: Some(0),
    };
}

/// `send_bye`'s request to `side` of `dlg` (`build_dlg_t`): `None` (and
/// an error logged by the caller) without a Contact or a CSeq. Its first
/// final reply ends the dialog (`bye_reply_cb`).
fn bye_request(
    table: &Arc<Mutex<Table>>,
    dlg: &Dlg,
    side: usize,
    extra: &[u8],
) -> Option<crate::tm::local::LocalRequest> {
    let leg = &dlg.legs[side];
    let other = &dlg.legs[1 - side];
    if leg.contact.is_empty() {
        return None;
    }
    // tm adds one (`t_request_within`); 80 more after a PRACK.
    let seq = other
        .cseq?
        .wrapping_add(1)
        .wrapping_add(if dlg.prack { 80 } else { 0 });
    let (loc_uri, loc_tag, rem_uri, rem_tag) = if side == CALLER {
        (&dlg.to_uri, &dlg.to_tag, &dlg.from_uri, &dlg.from_tag)
    } else {
        (&dlg.from_uri, &dlg.from_tag, &dlg.to_uri, &dlg.to_tag)
    };
    let id = (dlg.h_entry, dlg.h_id);
    let table = Arc::clone(table);
    let on_done: crate::tm::local::OnDone = Arc::new(move |_c| {
        let mut t = lock(&table);
        if t.dlgs
            .get(&id)
            .is_some_and(|d| matches!(d.state, CONFIRMED_NA | CONFIRMED))
        {
            t.set_state(id, DELETED, Instant::now());
        }
    });
    Some(crate::tm::local::LocalRequest {
        method: b"BYE".to_vec(),
        dialog: crate::tm::local::LocalDialog {
            call_id: dlg.callid.clone(),
            loc_uri: loc_uri.clone(),
            loc_tag: loc_tag.clone(),
            rem_uri: rem_uri.clone(),
            rem_tag: rem_tag.clone(),
            loc_seq: seq,
            rem_target: leg.contact.clone(),
            route_set: leg.route_set.clone(),
            dst_uri: None,
            send_sock: None,
        },
        headers: [&b"Max-Forwards: 70\r\n"[..], extra].concat(),
        body: Vec::new(),
        on_done: Some(on_done),
    })
}

/// `dlg_bye(side)`: BYE to the caller (`side` 1), the callee (2) or both
/// (0) of the message's dialog; 1 sent, -1 without a dialog, not
/// confirmed, already sent to that side by `dlg_bye`, or not sent.
pub fn dlg_bye(ctx: &mut Ctx<'_>, side: &[u8]) -> i32 {
    let sides: &[usize] = if side.eq_ignore_ascii_case(b"caller") {
        &[CALLER]
    } else if side.eq_ignore_ascii_case(b"callee") {
        &[CALLEE]
    } else {
        &[CALLER, CALLEE]
    };
    let all = sides.len() == 2;
    let Some(id) = current(ctx) else {
        return -1;
    };
    let d = state(ctx);
    let mut reqs = Vec::new();
    let was;
    {
        let mut t = lock(&d.table);
        let Some(dlg) = t.dlgs.get_mut(&id) else {
            return -1;
        };
        was = dlg.state;
        for &s in sides {
            if !all {
                if dlg.bye_sent[s] {
                    return -1;
                }
                dlg.bye_sent[s] = true;
            }
            if !matches!(dlg.state, CONFIRMED_NA | CONFIRMED) {
                log::error(ctx, "terminating non-confirmed dialogs not supported\n");
                reqs.push(None);
                continue;
            }
            reqs.push(bye_request(&d.table, dlg, s, b""));
        }
    }
    let mut rc = 1;
    for req in reqs {
        let Some(req) = req else {
            rc = -1;
            continue;
        };
        if crate::tm::local::send_from(ctx, req).is_err() {
            log::error(ctx, "failed to send the BYE request\n");
            rc = -1;
        }
    }
    // Kamailio's `dlg_bye`/`dlg_bye_all` run the event route of ending
    // the dialog after the BYEs are sent, whatever the sends did.
    if let Some(name) = ending_event(was) {
        run_event(ctx, name, id, None);
    }
    rc
}

/// The event route of a dialog in state `state` ending: `dialog:end` for
/// a confirmed one, `dialog:failed` for one not yet confirmed.
fn ending_event(state: u8) -> Option<&'static str> {
    match state {
        CONFIRMED_NA | CONFIRMED => Some(END),
        UNCONFIRMED | EARLY => Some(FAILED),
        _ => None,
    }
}

impl Module for Dialog {
    const NAME: &'static str = "dialog";
    const PVS: &'static [PvExport] = &[
        pv_export("dlg(h_id)", pv_h_id),
        pv_export("dlg(h_entry)", pv_h_entry),
        pv_export("dlg(state)", pv_state),
        pv_export("dlg(lifetime)", pv_lifetime),
        pv_export("dlg(start_ts)", pv_start_ts),
        pv_export("dlg(callid)", pv_callid),
        pv_export("dlg(from_uri)", pv_from_uri),
        pv_export("dlg(to_uri)", pv_to_uri),
        pv_export("dlg(from_tag)", pv_from_tag),
        pv_export("dlg(to_tag)", pv_to_tag),
    ];
    const RPC: &'static [RpcCommand] = &[
        RpcCommand {
            name: "dlg.profile_get_size",
            help: "Returns the number of dialogs belonging to a profile",
            handler: rpc_profile_get_size,
        },
        RpcCommand {
            name: "dlg.end_dlg",
            help: "End a given dialog based on [h_entry] [h_id]",
            handler: rpc_end_dlg,
        },
        RpcCommand {
            name: "dlg.terminate_dlg",
            help: "End a given dialog based on callid",
            handler: rpc_terminate_dlg,
        },
    ];

    fn from_params(params: &ModParams) -> Result<Self, ParamError> {
        Dialog::from_params(params)
    }

    fn tick(&self) -> Option<Duration> {
        Some(Duration::from_secs(1))
    }

    fn on_timer(&self, now: Instant, _out: &mut Vec<Transmit>) {
        let rpc = std::mem::take(
            &mut *self
                .rpc_byes
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        );
        // The first worker to see a new tick of the clock sweeps.
        let key = self.ticks(now) + 1;
        let sweep = self
            .swept
            .fetch_max(key, std::sync::atomic::Ordering::Relaxed)
            < key;
        let expired = if sweep { self.expire(now) } else { Vec::new() };
        // Each dialog's BYEs, then its event route (the engine keeps the
        // order of what a timer queued and raised).
        for (reqs, id, event) in rpc.into_iter().chain(expired) {
            for req in reqs {
                crate::tm::local::queue(req);
            }
            if let Some(name) = event {
                raise_event(name, id);
            }
        }
    }

    fn tm_request_in(&self, ctx: &mut Ctx<'_>) -> u32 {
        self.request_in(ctx)
    }

    fn after_script(&self, ctx: &mut Ctx<'_>) {
        after_script(ctx);
    }

    fn tm_event(&self, event: u32, ctx: &mut Ctx<'_>, reply: &TmReply<'_>) {
        self.on_reply(event, ctx, reply);
    }
}

fn rpc_dialog(set: &dyn ModuleSet) -> Result<&Dialog, RpcError> {
    set.as_any()
        .downcast_ref::<Modules>()
        .map(|m| &m.dialog)
        .ok_or_else(|| RpcError::new(500, "dialog is not loaded"))
}

impl Dialog {
    /// `dlg_bye_all` from an RPC command: the BYEs of dialog `id` (none
    /// unless confirmed: Kamailio logs and answers nothing either) handed
    /// to the next timer run, which queues them for tm.
    fn rpc_bye_all(&self, id: (u32, u32), extra: &[u8]) {
        let t = lock(&self.table);
        let Some(dlg) = t.dlgs.get(&id) else {
            return;
        };
        // `dlg_bye_all`: no BYE for a dialog not confirmed, the event
        // route of its ending all the same.
        let reqs: Vec<_> = if matches!(dlg.state, CONFIRMED_NA | CONFIRMED) {
            [CALLER, CALLEE]
                .into_iter()
                .filter_map(|side| bye_request(&self.table, dlg, side, extra))
                .collect()
        } else {
            Vec::new()
        };
        let event = ending_event(dlg.state);
        drop(t);
        self.rpc_byes
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push((reqs, id, event));
    }
}

/// `dlg.end_dlg h_entry h_id [headers]`: BYEs to both sides of the dialog
/// (in any state: one not confirmed gets none), the headers after
/// `Max-Forwards`. Nothing is returned.
fn rpc_end_dlg(set: &dyn ModuleSet, args: &[&str]) -> Result<Vec<RpcValue>, RpcError> {
    let d = rpc_dialog(set)?;
    // Integers as BINRPC reads them (`-1` wraps, as Kamailio's unsigned).
    let int = |a: Option<&&str>| a.and_then(|v| v.parse::<i64>().ok()).map(|n| n as u32);
    let (Some(h_entry), Some(h_id)) = (int(args.first()), int(args.get(1))) else {
        return Err(RpcError::new(500, "Invalid parameters"));
    };
    if d.get((h_entry, h_id)).is_none() {
        return Err(RpcError::new(404, "Dialog not found"));
    }
    let extra = args.get(2).map_or(&b""[..], |h| h.as_bytes());
    d.rpc_bye_all((h_entry, h_id), extra);
    Ok(Vec::new())
}

/// `dlg.terminate_dlg callid from_tag to_tag`: BYEs to both sides of the
/// dialog these ids name (either way round). Nothing is returned.
fn rpc_terminate_dlg(set: &dyn ModuleSet, args: &[&str]) -> Result<Vec<RpcValue>, RpcError> {
    let d = rpc_dialog(set)?;
    let [callid, ftag, ttag, ..] = args else {
        return Err(RpcError::new(400, "Need a Callid ,from tag ,to tag"));
    };
    let id = lock(&d.table)
        .find(callid.as_bytes(), ftag.as_bytes(), ttag.as_bytes())
        .ok_or_else(|| RpcError::new(500, "Couldnt find callid in dialog"))?;
    d.rpc_bye_all(id, b"");
    Ok(Vec::new())
}

/// `dlg.profile_get_size profile [value]`: the profile's size (all its
/// dialogs without a value, or for a profile without values).
fn rpc_profile_get_size(set: &dyn ModuleSet, args: &[&str]) -> Result<Vec<RpcValue>, RpcError> {
    let d = set
        .as_any()
        .downcast_ref::<Modules>()
        .map(|m| &m.dialog)
        .ok_or_else(|| RpcError::new(500, "dialog is not loaded"))?;
    let Some(name) = args.first() else {
        // BINRPC's message for a missing parameter (Kamailio scans it
        // with `.S`, any type converted).
        return Err(RpcError::new(
            400,
            "error at parameter 0: expected any type but end of packet encountered",
        ));
    };
    let p = d
        .profile(name.as_bytes())
        .ok_or_else(|| RpcError::new(404, format!("Profile not found: {name}")))?;
    let n = d.profile_size(p, args.get(1).map(|v| v.as_bytes()));
    Ok(vec![RpcValue::Int(i64::try_from(n).unwrap_or(i64::MAX))])
}

const fn pv_export(name: &'static str, read: for<'c> fn(&'c Ctx<'_>) -> Value<'c>) -> PvExport {
    PvExport {
        name,
        read,
        write: None,
    }
}

#[cfg(test)]
mod tests;
