//! acc — transaction accounting to the log (kamailio-modules.md §16).
//!
//! tm calls in where Kamailio's acc has its callbacks: when a transaction
//! is created ([`armed`], TMCB_REQUEST_IN), when a failure route is about
//! to run ([`on_missed`], TMCB_ON_FAILURE) and when a reply is sent
//! upstream ([`on_reply_out`], TMCB_RESPONSE_OUT). A record is one log
//! line: the label, `timestamp=`, the fixed fields, then the `log_extra`
//! pairs: the compiler resolves `log_extra`'s PVs (a
//! [`ParamValue::PvList`]) and acc reads them with `engine::pv::read`.
//!
//! The database backend ([`db::AccDb`], `db_flag`, `db_missed_flag`,
//! `db_extra`) writes the same records as rows, beside the log ones, as
//! Kamailio's acc does. What needs dialogs, or what tm does not tell us
//! yet (`report_ack`, `detect_direction`, `time_mode`,
//! `multi_leg_info`), is refused at build and at start-up rather than
//! ignored.

use crate::engine::log::Level;
use crate::engine::module::{TmReply, tmcb};
use crate::engine::params::{ModParams, ParamError, ParamValue};
use crate::engine::{Ctx, Value};
use crate::sip::Method;

pub mod db;

/// `ACC: transaction answered: `
pub const ANSWERED: &str = "ACC: transaction answered: ";
/// `ACC: call missed: `
pub const MISSED: &str = "ACC: call missed: ";
/// `ACC: request accounted: `
pub const REQUEST: &str = "ACC: request accounted: ";

/// Kamailio's MAX_SYSLOG_SIZE: a record longer than this is truncated.
const MAX_RECORD: usize = 65536;

/// What Kamailio prints before the record on stderr (module, source
/// location of the LM_GEN2 call in acc.c 5.6.3, function).
const LOG_PREFIX: &str = "acc [acc.c:287]: acc_log_request(): ";

/// acc's parameters (log accounting).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// `log_flag`: account the transaction's final reply.
    pub log_flag: Option<u32>,
    /// `log_missed_flag`: account failed INVITEs as missed calls.
    pub log_missed_flag: Option<u32>,
    /// `failed_transaction_flag`: account negative replies too.
    pub failed_transaction_flag: Option<u32>,
    /// `failed_filter`: negative codes not accounted as failed.
    pub failed_filter: Vec<u16>,
    /// `acc_prepare_flag` / `acc_prepare_always`.
    pub prepare_flag: Option<u32>,
    pub prepare_always: bool,
    /// `early_media`: a provisional with a body counts as answered.
    pub early_media: bool,
    /// `report_cancels`: CANCEL transactions are accounted.
    pub report_cancels: bool,
    /// `reason_from_hf`: the reason comes from the reply's Reason header.
    pub reason_from_hf: bool,
    /// `log_level` (default NOTICE).
    pub log_level: i32,
    /// `log_facility` (default LOG_DAEMON): records go to syslog on it when
    /// the core logs to syslog.
    pub log_facility: i32,
    /// `log_extra`: each name with its PV, in order (resolved by cfgc).
    pub log_extra: Vec<(String, crate::engine::pv::PvRef)>,
    /// Database accounting, with a `db_url`.
    pub db: Option<db::AccDb>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            log_flag: None,
            log_facility: libc::LOG_DAEMON,
            log_missed_flag: None,
            failed_transaction_flag: None,
            failed_filter: Vec::new(),
            prepare_flag: None,
            prepare_always: false,
            early_media: false,
            report_cancels: false,
            reason_from_hf: false,
            log_level: Level::Notice as i32,
            log_extra: Vec::new(),
            db: None,
        }
    }
}

fn flag(p: &ModParams, name: &str) -> Result<Option<u32>, ParamError> {
    match p.int("acc", name)? {
        None | Some(-1) => Ok(None),
        Some(n @ 0..=31) => Ok(Some(n.unsigned_abs())),
        Some(n) => Err(ParamError::invalid(
            "acc",
            name,
            format!("{n} is not a flag (0..31, or -1 for none)"),
        )),
    }
}

impl Config {
    /// Reads `modparam("acc", ...)`.
    ///
    /// # Errors
    /// A bad value. What the runtime cannot do (database accounting,
    /// CDRs, ACK reports...) is refused at build, and at start-up by
    /// `ModParams::check_supported`, from `cfgc_vocab::MODULES`.
    pub fn from_params(p: &ModParams) -> Result<Self, ParamError> {
        let bool_param = |name: &str| -> Result<bool, ParamError> {
            Ok(p.int("acc", name)?.is_some_and(|v| v != 0))
        };
        let mut c = Config {
            log_flag: flag(p, "log_flag")?,
            log_missed_flag: flag(p, "log_missed_flag")?,
            failed_transaction_flag: flag(p, "failed_transaction_flag")?,
            prepare_flag: flag(p, "acc_prepare_flag")?,
            prepare_always: bool_param("acc_prepare_always")?,
            early_media: bool_param("early_media")?,
            report_cancels: bool_param("report_cancels")?,
            reason_from_hf: bool_param("reason_from_hf")?,
            ..Config::default()
        };
        if let Some(l) = p.int("acc", "log_level")? {
            c.log_level = l;
        }
        if let Some(f) = p.str("acc", "log_facility") {
            c.log_facility = crate::engine::log::facility(&f).ok_or_else(|| {
                ParamError::invalid("acc", "log_facility", format!("unknown facility `{f}`"))
            })?;
        }
        match p.get("acc", "log_extra") {
            None => {}
            Some(ParamValue::PvList(l)) => c.log_extra.clone_from(l),
            Some(ParamValue::Str(s)) if s.trim().is_empty() => {}
            Some(_) => {
                return Err(ParamError::invalid(
                    "acc",
                    "log_extra",
                    "not resolved by cfgc (name=$pv;...)",
                ));
            }
        }
        if let Some(s) = p.str("acc", "failed_filter") {
            c.failed_filter = parse_failed_filter(&s)?;
        }
        c.db = db::AccDb::from_params(p, flag(p, "db_flag")?, flag(p, "db_missed_flag")?)?;
        Ok(c)
    }

    /// `db_flag`, if database accounting is on.
    fn db_flag(&self) -> Option<u32> {
        self.db.as_ref().and_then(|d| d.flag)
    }

    /// `db_missed_flag`, if database accounting is on.
    fn db_missed_flag(&self) -> Option<u32> {
        self.db.as_ref().and_then(|d| d.missed_flag)
    }

    /// Start-up: the database backend connects.
    ///
    /// # Errors
    /// The database is unreachable.
    pub fn start(&self) -> Result<(), String> {
        match &self.db {
            Some(d) => d.start(),
            None => Ok(()),
        }
    }

    fn is_set(flag: Option<u32>, flags: u32) -> bool {
        flag.is_some_and(|f| flags & (1 << f) != 0)
    }
}

/// `failed_filter`: comma-separated 3-digit codes, each >= 300.
fn parse_failed_filter(s: &str) -> Result<Vec<u16>, ParamError> {
    let err = |why: &str| ParamError::invalid("acc", "failed_filter", why);
    s.split(',')
        .map(|c| {
            if c.len() != 3 || !c.bytes().all(|b| b.is_ascii_digit()) {
                return Err(err("a code must have 3 digits"));
            }
            let n: u16 = c.parse().map_err(|_| err("a code must have 3 digits"))?;
            if n < 300 {
                return Err(err(&format!("invalid response code {n}")));
            }
            Ok(n)
        })
        .collect()
}

/// Which of acc's tm callbacks a transaction gets, decided from the
/// request's flags when the transaction is created (acc_onreq).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Armed {
    /// TMCB_RESPONSE_OUT: replies sent upstream are looked at.
    pub reply: bool,
    /// TMCB_ON_FAILURE: missed calls reported before the failure route.
    pub failure: bool,
}

/// acc_onreq: the callbacks a new transaction gets.
pub fn armed(cfg: &Config, method: Method<'_>, flags: u32) -> Armed {
    if method == Method::Cancel && !cfg.report_cancels {
        return Armed::default();
    }
    let acc = Config::is_set(cfg.log_flag, flags) || Config::is_set(cfg.db_flag(), flags);
    let mc =
        Config::is_set(cfg.log_missed_flag, flags) || Config::is_set(cfg.db_missed_flag(), flags);
    let prepare = cfg.prepare_always || Config::is_set(cfg.prepare_flag, flags);
    if !(acc || mc || prepare) {
        return Armed::default();
    }
    Armed {
        reply: true,
        failure: method == Method::Invite && (mc || prepare),
    }
}

/// The reply a record is about.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Outcome {
    pub code: u16,
    /// The status line's reason (the Reason header's value with
    /// `reason_from_hf`); Kamailio's text for the code if tm made the
    /// reply.
    pub reason: Vec<u8>,
    /// The tag of the reply's To (of the request's To for a reply tm
    /// made).
    pub to_tag: Vec<u8>,
    /// tm made the reply (Kamailio's FAKED_REPLY): the transaction's own
    /// To tag, which missed-call records use when the To has none.
    pub local_to_tag: Option<Vec<u8>>,
    /// The reply has a body (Content-Length > 0), for `early_media`.
    pub has_body: bool,
}

impl Outcome {
    /// A reply received from downstream (`data`, as relayed).
    pub fn received(cfg: &Config, msg: &crate::sip::Message<'_>) -> Self {
        let code = msg.status().unwrap_or(0);
        let reason_hf = if cfg.reason_from_hf {
            msg.header_by_name(b"Reason")
        } else {
            None
        };
        Self {
            code,
            reason: reason_hf
                .or_else(|| msg.reason())
                .unwrap_or_default()
                .to_vec(),
            to_tag: msg
                .to()
                .ok()
                .and_then(|t| t.tag)
                .unwrap_or_default()
                .to_vec(),
            local_to_tag: None,
            has_body: msg.content_length().is_some_and(|n| n > 0),
        }
    }

    /// A reply tm built (`request`: the transaction's request).
    pub fn local(code: u16, request: &crate::sip::Message<'_>, tm_to_tag: &[u8]) -> Self {
        Self {
            code,
            reason: error_text(code).as_bytes().to_vec(),
            to_tag: request
                .to()
                .ok()
                .and_then(|t| t.tag)
                .unwrap_or_default()
                .to_vec(),
            local_to_tag: Some(tm_to_tag.to_vec()),
            has_body: false,
        }
    }
}

/// Kamailio's `error_text`: the reason it gives a code in replies and
/// records it makes itself.
pub fn error_text(code: u16) -> &'static str {
    known_text(code).unwrap_or(match code {
        600.. => "Global Failure",
        500..=599 => "Server Failure",
        400..=499 => "Request Failure",
        300..=399 => "Redirection",
        200..=299 => "Successful",
        100..=199 => "Provisional",
        _ => "Unspecified",
    })
}

fn known_text(code: u16) -> Option<&'static str> {
    Some(match code {
        100 => "Trying",
        180 => "Ringing",
        181 => "Call Is Being Forwarded",
        182 => "Queued",
        183 => "Session Progress",
        200 => "OK",
        300 => "Multiple Choices",
        301 => "Moved Permanently",
        302 => "Moved Temporarily",
        305 => "Use Proxy",
        380 => "Alternative Service",
        400 => "Bad Request",
        401 => "Unauthorized",
        402 => "Payment Required",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        406 => "Not Acceptable",
        407 => "Proxy Authentication Required",
        408 => "Request Timeout",
        410 => "Gone",
        413 => "Request Entity Too Large",
        414 => "Request-URI Too Long",
        415 => "Unsupported Media Type",
        416 => "Unsupported URI Scheme",
        417 => "Bad Extension",
        421 => "Extension Required",
        423 => "Interval Too Brief",
        480 => "Temporarily Unavailable",
        481 => "Call/Transaction Does Not Exist",
        482 => "Loop Detected",
        483 => "Too Many Hops",
        484 => "Address Incomplete",
        485 => "Ambiguous",
        486 => "Busy Here",
        487 => "Request Terminated",
        488 => "Not Acceptable Here",
        491 => "Request Pending",
        500 => "Server Internal Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Server Time-Out",
        505 => "Version Not Supported",
        513 => "Message Too Large",
        600 => "Busy Everywhere",
        603 => "Decline",
        604 => "Does Not Exist Anywhere",
        606 => "Not Acceptable",
        _ => return None,
    })
}

/// The fixed fields of a record, in Kamailio's order.
#[derive(Clone, Copy, Debug, Default)]
pub struct Fields<'f> {
    pub method: &'f [u8],
    pub from_tag: &'f [u8],
    pub to_tag: &'f [u8],
    pub call_id: &'f [u8],
    pub code: &'f [u8],
    pub reason: &'f [u8],
}

/// One record, as acc_log_request prints it: `<label>timestamp=<ts>`,
/// then `;name=value` for each fixed field and each extra (`extras`
/// already holds its `;name=value` pairs), then a newline. Too long a
/// record is cut at Kamailio's limit, whole pairs only.
pub fn record(label: &str, timestamp: u64, f: &Fields<'_>, extras: &[u8]) -> Vec<u8> {
    let mut pairs = Vec::with_capacity(128 + extras.len());
    for (name, value) in [
        (&b"method"[..], f.method),
        (b"from_tag", f.from_tag),
        (b"to_tag", f.to_tag),
        (b"call_id", f.call_id),
        (b"code", f.code),
        (b"reason", f.reason),
    ] {
        if pairs.len() + 1 + name.len() + 1 + value.len() >= MAX_RECORD - 2 {
            break;
        }
        pairs.push(b';');
        pairs.extend_from_slice(name);
        pairs.push(b'=');
        pairs.extend_from_slice(value);
    }
    // The extras, pair by pair, under the same limit.
    let mut rest = extras;
    while let Some(rest1) = rest.strip_prefix(b";") {
        let end = rest1.iter().position(|&b| b == b';').unwrap_or(rest1.len());
        if pairs.len() + 1 + end >= MAX_RECORD - 2 {
            break;
        }
        pairs.push(b';');
        pairs.extend_from_slice(&rest1[..end]);
        rest = &rest1[end..];
    }
    let mut line = Vec::with_capacity(label.len() + 24 + pairs.len());
    line.extend_from_slice(label.as_bytes());
    line.extend_from_slice(format!("timestamp={timestamp}").as_bytes());
    line.extend_from_slice(&pairs);
    line.push(b'\n');
    line
}

/// Appends one `;name=value` extra (`$null` → empty value).
pub fn push_extra(out: &mut Vec<u8>, name: &str, v: &Value<'_>) {
    out.push(b';');
    out.extend_from_slice(name.as_bytes());
    out.push(b'=');
    if !matches!(v, Value::Null) {
        out.extend_from_slice(&v.to_bytes());
    }
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Writes one record about `ctx`'s request (acc_log_request).
fn log_request(ctx: &Ctx<'_>, label: &str, code: &[u8], reason: &[u8], to_tag: &[u8]) {
    let cfg = &super::Modules::of(ctx).acc;
    if cfg.log_level > ctx.core.debug.get() {
        return;
    }
    let msg = ctx.msg;
    let method = msg.cseq().map(|c| c.method.as_bytes()).unwrap_or_default();
    let from_tag = msg.from().ok().and_then(|f| f.tag).unwrap_or_default();
    let call_id = msg.call_id().unwrap_or_default();
    let mut extras = Vec::new();
    for (name, pv) in &cfg.log_extra {
        push_extra(&mut extras, name, &crate::engine::pv::read(ctx, pv));
    }
    let fields = Fields {
        method,
        from_tag,
        to_tag,
        call_id,
        code,
        reason,
    };
    let line = record(label, unix_now(), &fields, &extras);
    let prefix = format!("{}{LOG_PREFIX}", crate::engine::log::prefix());
    ctx.core.log.write_on(
        Some(cfg.log_facility),
        Level::from_int(cfg.log_level),
        &prefix,
        &line,
    );
}

/// Writes one row about `ctx`'s request into `table` (acc_db_request):
/// false, with an error logged, if the insert failed.
fn db_request(ctx: &Ctx<'_>, table: &str, code: &[u8], reason: &[u8], to_tag: &[u8]) -> bool {
    let Some(d) = &super::Modules::of(ctx).acc.db else {
        return false;
    };
    match d.insert(ctx, table, code, reason, to_tag) {
        Ok(()) => true,
        Err(e) => {
            if crate::engine::log::enabled(ctx, Level::Err) {
                let line = format!("acc: acc_db_request(): failed to insert into database: {e}\n");
                ctx.core
                    .log
                    .write(Level::Err, &crate::engine::log::prefix(), line.as_bytes());
            }
            false
        }
    }
}

/// on_missed: a failed INVITE with `log_missed_flag` (`db_missed_flag`)
/// set gives a "call missed" record (a `missed_calls` row), and the flags
/// are cleared after both (in `ctx.flags`: tm saves them back into the
/// transaction). `ctx` is the transaction's request with the winning
/// branch's R-URI. True if a record was written.
pub fn on_missed(ctx: &mut Ctx<'_>, out: &Outcome) -> bool {
    let cfg = &super::Modules::of(ctx).acc;
    let log = cfg.log_missed_flag.filter(|&f| ctx.flags & (1 << f) != 0);
    let db = cfg.db_missed_flag().filter(|&f| ctx.flags & (1 << f) != 0);
    if log.is_none() && db.is_none() {
        return false;
    }
    let code = out.code.to_string();
    let to_tag = match &out.local_to_tag {
        Some(t) if out.to_tag.is_empty() => t,
        _ => &out.to_tag,
    };
    if log.is_some() {
        log_request(ctx, MISSED, code.as_bytes(), &out.reason, to_tag);
    }
    if db.is_some()
        && let Some(d) = &cfg.db
    {
        db_request(ctx, &d.table_missed, code.as_bytes(), &out.reason, to_tag);
    }
    for f in [log, db].into_iter().flatten() {
        ctx.flags &= !(1 << f);
    }
    true
}

/// acc_onreply: a reply sent upstream by a transaction acc was armed for.
/// `ctx` is the transaction's request (flags as saved), with the R-URI
/// of the branch whose reply it is.
pub fn on_reply_out(ctx: &mut Ctx<'_>, out: &Outcome) {
    let code = out.code;
    let is_invite = ctx.msg.method() == Some(Method::Invite);
    let mut missed_local = false;
    if is_invite && code >= 300 {
        missed_local = on_missed(ctx, out) && out.local_to_tag.is_some();
    }
    let cfg = &super::Modules::of(ctx).acc;
    let flags = ctx.flags;
    let log = Config::is_set(cfg.log_flag, flags);
    let db = Config::is_set(cfg.db_flag(), flags);
    // should_acc_reply (is_acc_on: either backend's flag)
    let account = if code >= 300 {
        Config::is_set(cfg.failed_transaction_flag, flags) && !cfg.failed_filter.contains(&code)
    } else {
        (log || db) && (code >= 200 || cfg.early_media && out.has_body)
    };
    if !account || !(log || db) {
        return;
    }
    // A missed-call record of a reply tm made left its To tag behind
    // (Kamailio's acc_env), used when the To has none.
    let to_tag = match &out.local_to_tag {
        Some(t) if missed_local && out.to_tag.is_empty() => t,
        _ => &out.to_tag,
    };
    let code = code.to_string();
    if log {
        log_request(ctx, ANSWERED, code.as_bytes(), &out.reason, to_tag);
    }
    if db && let Some(d) = &cfg.db {
        db_request(ctx, &d.table_acc, code.as_bytes(), &out.reason, to_tag);
    }
}

/// A request comment: 3 digits give the code, the rest (after blanks)
/// the reason; else no code and the whole text is the reason.
fn code_and_reason(comment: &[u8]) -> (&[u8], &[u8]) {
    match comment {
        [a, b, c, rest @ ..] if [a, b, c].iter().all(|d| d.is_ascii_digit()) => {
            let start = rest
                .iter()
                .position(|b| !b.is_ascii_whitespace())
                .unwrap_or(rest.len());
            (&comment[..3], &rest[start..])
        }
        _ => (&b""[..], comment),
    }
}

/// `acc_log_request(comment)`: a "request accounted" record now; a
/// comment starting with 3 digits gives the code, the rest the reason.
/// Always 1.
pub fn acc_log_request(ctx: &mut Ctx<'_>, comment: &[u8]) -> i32 {
    let (code, reason) = code_and_reason(comment);
    let to_tag = ctx.msg.to().ok().and_then(|t| t.tag).unwrap_or_default();
    log_request(ctx, REQUEST, code, reason, to_tag);
    1
}

/// `acc_db_request(comment, table)`: a row about the request now into
/// `table` (the request's own To tag, empty on an initial request; the
/// comment read as [`acc_log_request`]'s). 1 inserted, -1 not (no
/// `db_url`, or the insert failed).
pub fn acc_db_request(ctx: &mut Ctx<'_>, comment: &[u8], table: &[u8]) -> i32 {
    let (code, reason) = code_and_reason(comment);
    let to_tag = ctx.msg.to().ok().and_then(|t| t.tag).unwrap_or_default();
    let table = String::from_utf8_lossy(table);
    if db_request(ctx, &table, code, reason, to_tag) {
        1
    } else {
        -1
    }
}

impl crate::engine::module::Module for Config {
    const NAME: &'static str = "acc";

    fn from_params(p: &ModParams) -> Result<Self, ParamError> {
        Config::from_params(p)
    }

    /// acc_onreq: the callbacks a new transaction gets.
    fn tm_request_in(&self, ctx: &mut Ctx<'_>) -> u32 {
        let Some(method) = ctx.msg.method() else {
            return 0;
        };
        let a = armed(self, method, ctx.flags);
        let mut mask = 0;
        if a.reply {
            mask |= tmcb::RESPONSE_OUT;
        }
        if a.failure {
            mask |= tmcb::ON_FAILURE;
        }
        mask
    }

    fn tm_event(&self, event: u32, ctx: &mut Ctx<'_>, reply: &TmReply<'_>) {
        let outcome = match reply {
            TmReply::Local { code, to_tag } => Outcome::local(*code, ctx.msg, to_tag),
            TmReply::Received(m) => Outcome::received(self, m),
        };
        if event & tmcb::RESPONSE_OUT != 0 {
            on_reply_out(ctx, &outcome);
        }
        if event & tmcb::ON_FAILURE != 0 {
            on_missed(ctx, &outcome);
        }
    }
}

#[cfg(test)]
mod tests;
