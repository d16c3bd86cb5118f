//! permissions' trusted table (Kamailio 5.6's `trusted.c`, `hash.c`):
//! `allow_trusted()`, `allow_trusted(src_ip, proto)`,
//! `allow_trusted(src_ip, proto, furi)`.
//!
//! A request is trusted when a row has its source address (as text,
//! compared byte for byte), a protocol that fits, a `from_pattern` that
//! matches the From URI (or `furi`) and a `ruri_pattern` that matches the
//! R-URI as received (rewriting `$ru` changes nothing); a NULL pattern
//! matches anything. Patterns are POSIX basic regular expressions,
//! compiled as glibc does ([`super::bre`]), unanchored and case
//! sensitive. For a reply the patterns are not looked at.
//!
//! * `db_mode` 0: every call queries `select proto,from_pattern,
//!   ruri_pattern,tag from trusted where src_ip='…' order by priority` on
//!   the worker's connection: rows in ascending priority; a row whose
//!   protocol is not text is skipped; a failed query is -1.
//! * `db_mode` 1: the table is loaded at start-up (and by
//!   `permissions.trustedReload`); rows of one address in descending
//!   priority (equal ones in load order, as Kamailio's hash chain); a
//!   row with protocol `none` is left out, an unknown protocol or a
//!   pattern or tag that is not text fails the load (and the start).
//!
//! On a match the row's tag, when not NULL, is added to `peer_tag_avp`;
//! with `peer_tag_mode` 0 the first match answers 1, with 1 every match
//! adds its tag and the answer is how many matched. No match is -1.
//!
//! Where Kamailio 5.6.3 crashes (its worker dies of a SIGSEGV: `regexec`
//! on a pattern `regcomp` refused — an invalid `from_pattern` in
//! `db_mode` 1, or in `db_mode` 0 with a `ruri_pattern` too), the row is
//! logged and skipped, as an invalid pattern is elsewhere. A pattern with
//! a back-reference (valid for glibc, not expressible in the `regex`
//! crate) is logged and its row skipped.

use std::collections::HashMap;

use cfgc_vocab::{Proto, PvRef};

use super::bre::{self, BreError, cstr};
use super::{Permissions, add_tag};
use crate::db::query::{Op, Select, Val};
use crate::db::{Connection, DbValue};
use crate::engine::Ctx;
use crate::modules::Modules;

/// Kamailio's `MAX_URI_SIZE`.
const MAX_URI_SIZE: usize = 1024;

/// A compiled pattern, or why it is not.
type Compiled = Result<regex::bytes::Regex, BreError>;

/// One row of the cached table (`db_mode` 1).
#[derive(Debug)]
struct Row {
    /// `None`: `any`.
    proto: Option<Proto>,
    from: Option<Compiled>,
    ruri: Option<Compiled>,
    tag: Option<Vec<u8>>,
}

/// The trusted table in memory: rows by source address, each list in
/// descending priority (equal priorities in load order).
#[derive(Debug, Default)]
pub struct TrustedTable {
    rows: HashMap<Vec<u8>, Vec<(i64, Row)>>,
}

impl TrustedTable {
    /// How many rows it holds.
    pub fn len(&self) -> usize {
        self.rows.values().map(Vec::len).sum()
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The protocol a row or an argument names: `Some(None)` for `any`.
fn proto_name(s: &[u8]) -> Option<Option<Proto>> {
    if s.eq_ignore_ascii_case(b"any") {
        return Some(None);
    }
    std::str::from_utf8(s)
        .ok()
        .and_then(Proto::from_name)
        .map(Some)
}

impl Permissions {
    /// Kamailio's `reload_trusted_table`: every row of the trusted table.
    ///
    /// # Errors
    /// The query fails; a row Kamailio refuses (its reason).
    pub(super) fn load_trusted(&self, c: &mut Connection) -> Result<TrustedTable, String> {
        let cols = [
            self.source_col.as_str(),
            self.proto_col.as_str(),
            self.from_col.as_str(),
            self.ruri_col.as_str(),
            self.tag_col.as_str(),
            self.priority_col.as_str(),
        ];
        let sql = Select {
            table: &self.trusted_table,
            columns: &cols,
            conditions: &[],
            order_by: None,
        }
        .sql(c.quote());
        let res = c.raw_query(&sql).map_err(|e| e.to_string())?;
        let mut t = TrustedTable::default();
        for row in &res.rows {
            let text = |i: usize| match row.get(i) {
                Some(DbValue::Str(s)) => Ok(Some(cstr(s).to_vec())),
                Some(DbValue::Null) => Ok(None),
                _ => Err("database problem: a row whose values are not text".to_string()),
            };
            let (Some(src), Some(proto)) = (text(0)?, text(1)?) else {
                return Err("database problem: a NULL address or protocol".into());
            };
            let (from, ruri, tag) = (text(2)?, text(3)?, text(4)?);
            let priority = match row.get(5) {
                Some(DbValue::Int(v)) => i64::from(*v),
                Some(DbValue::BigInt(v)) => *v,
                _ => 0,
            };
            if proto.eq_ignore_ascii_case(b"none") {
                continue;
            }
            let Some(proto) = proto_name(&proto) else {
                return Err(format!(
                    "unknown protocol `{}`",
                    String::from_utf8_lossy(&proto)
                ));
            };
            let compile = |p: Option<Vec<u8>>| p.map(|p| bre::compile(&p));
            let r = Row {
                proto,
                from: compile(from),
                ruri: compile(ruri),
                tag,
            };
            let chain = t.rows.entry(src).or_default();
            // After every row of a higher or equal priority.
            let at = chain
                .iter()
                .position(|(p, _)| *p < priority)
                .unwrap_or(chain.len());
            chain.insert(at, (priority, r));
        }
        Ok(t)
    }
}

/// What a call matches against.
struct Subject<'a> {
    /// `None` for a reply: the patterns are not looked at.
    uris: Option<(&'a [u8], &'a [u8])>,
    tag_avp: Option<&'a PvRef>,
    all: bool,
}

/// Whether one row's patterns match (always, for a reply). `crashes`:
/// Kamailio 5.6.3 would run `regexec` on an invalid `from_pattern` of
/// this row (and its worker die of it); here the row is skipped as any
/// row with an invalid pattern.
fn patterns_match(
    ctx: &Ctx<'_>,
    s: &Subject<'_>,
    from: Option<&Compiled>,
    ruri: Option<&Compiled>,
    crashes: bool,
) -> bool {
    let Some((furi, ruri_s)) = s.uris else {
        return true;
    };
    let matches = |re: &Compiled, subject: &[u8], crash: bool| match re {
        Ok(r) => r.is_match(subject),
        Err(BreError::Invalid(why)) => {
            let note = if crash {
                " (Kamailio 5.6.3's worker crashes on this row; cfgc skips it)"
            } else {
                ""
            };
            crate::engine::log::error(
                ctx,
                &format!("permissions: invalid regular expression: {why}{note}\n"),
            );
            false
        }
        Err(BreError::Unsupported(why)) => {
            crate::engine::log::error(
                ctx,
                &format!("permissions: a trusted pattern cfgc cannot match ({why}); row skipped\n"),
            );
            false
        }
    };
    from.is_none_or(|re| matches(re, furi, crashes))
        && ruri.is_none_or(|re| matches(re, ruri_s, false))
}

fn proto_text(p: Proto) -> &'static str {
    match p {
        Proto::Udp => "udp",
        Proto::Tcp => "tcp",
        Proto::Tls => "tls",
        Proto::Sctp => "sctp",
        Proto::Ws => "ws",
        Proto::Wss => "wss",
    }
}

/// Kamailio's `allow_trusted(msg, src_ip, proto, from_uri)`.
fn allow(ctx: &mut Ctx<'_>, src_ip: &[u8], proto: Option<Proto>, furi: &[u8]) -> i32 {
    let perm: &Permissions = &Modules::of(ctx).permissions;
    let src_ip = cstr(src_ip);
    let furi = cstr(furi);
    let ruri: Vec<u8>;
    let uris = if ctx.msg.is_request() {
        ruri = cstr(ctx.msg.ruri_bytes().unwrap_or_default()).to_vec();
        if ruri.len() > MAX_URI_SIZE {
            crate::engine::log::error(ctx, "permissions: message has Request URI too large\n");
            return -1;
        }
        Some((furi, ruri.as_slice()))
    } else {
        None
    };
    let s = Subject {
        uris,
        tag_avp: perm.peer_tag_avp.as_ref(),
        all: perm.peer_tag_mode,
    };
    if perm.db_mode == 0 {
        return query_and_match(ctx, perm, &s, src_ip, proto);
    }
    let Some(table) = perm.trusted_table() else {
        crate::engine::log::error(ctx, "permissions: the trusted table is not loaded\n");
        return -1;
    };
    let mut count = 0;
    let Some(chain) = table.rows.get(src_ip) else {
        return -1;
    };
    for (_, row) in chain {
        if !(row.proto.is_none() || proto.is_none() || row.proto == proto) {
            continue;
        }
        if !patterns_match(ctx, &s, row.from.as_ref(), row.ruri.as_ref(), true) {
            continue;
        }
        if let (Some(avp), Some(tag)) = (s.tag_avp, &row.tag) {
            add_tag(ctx, avp, tag);
        }
        if !s.all {
            return 1;
        }
        count += 1;
    }
    if count == 0 { -1 } else { count }
}

/// `db_mode` 0: the rows of `src_ip` queried now, then Kamailio's
/// `match_res`.
fn query_and_match(
    ctx: &mut Ctx<'_>,
    perm: &Permissions,
    s: &Subject<'_>,
    src_ip: &[u8],
    proto: Option<Proto>,
) -> i32 {
    let ip = String::from_utf8_lossy(src_ip);
    let cols = [
        perm.proto_col.as_str(),
        perm.from_col.as_str(),
        perm.ruri_col.as_str(),
        perm.tag_col.as_str(),
    ];
    let Some(db) = &perm.db else {
        crate::engine::log::error(ctx, "permissions: no connection to database\n");
        return -1;
    };
    let sql = Select {
        table: &perm.trusted_table,
        columns: &cols,
        conditions: &[(perm.source_col.as_str(), Op::Eq, Val::Str(&ip))],
        order_by: Some(&perm.priority_col),
    }
    .sql(db.url.quote());
    let Some(res) = crate::modules::db_query(ctx, "permissions", |w| w.permissions.as_mut(), &sql)
    else {
        return -1;
    };
    let mut count = 0;
    for row in &res.rows {
        let text = |i: usize| match row.get(i) {
            Some(DbValue::Str(v)) => Some(Some(cstr(v))),
            Some(DbValue::Null) => Some(None),
            _ => None,
        };
        // A row with a protocol that is not text, or another value that
        // is neither text nor NULL, is skipped.
        let (Some(Some(row_proto)), Some(from), Some(ruri), Some(tag)) =
            (text(0), text(1), text(2), text(3))
        else {
            continue;
        };
        let proto_ok = proto.is_none()
            || row_proto.eq_ignore_ascii_case(b"any")
            || proto.is_some_and(|p| row_proto.eq_ignore_ascii_case(proto_text(p).as_bytes()));
        if !proto_ok {
            continue;
        }
        let from_re = from.map(bre::compile);
        let ruri_re = ruri.map(bre::compile);
        let crashes = ruri.is_some();
        if !patterns_match(ctx, s, from_re.as_ref(), ruri_re.as_ref(), crashes) {
            continue;
        }
        if let (Some(avp), Some(tag)) = (s.tag_avp, tag) {
            add_tag(ctx, avp, tag);
        }
        if !s.all {
            return 1;
        }
        count += 1;
    }
    if count == 0 { -1 } else { count }
}

/// The received message's From URI, as Kamailio's `allow_trusted` and
/// `allow_trusted(src_ip, proto)` take it: `Err(())` (-1) when the From
/// header does not parse or the URI is longer than `MAX_URI_SIZE`;
/// empty for a reply.
fn from_uri(ctx: &Ctx<'_>) -> Result<Vec<u8>, ()> {
    if !ctx.msg.is_request() {
        return Ok(Vec::new());
    }
    let Ok(f) = ctx.msg.from() else {
        return Err(());
    };
    if f.uri_raw.len() > MAX_URI_SIZE {
        crate::engine::log::error(ctx, "permissions: message has From URI too large\n");
        return Err(());
    }
    Ok(f.uri_raw.to_vec())
}

/// `allow_trusted()`: the message's source address and protocol, and its
/// From URI.
pub fn allow_trusted(ctx: &mut Ctx<'_>) -> i32 {
    let Ok(furi) = from_uri(ctx) else {
        return -1;
    };
    let ip = ctx.rcv.src.ip().to_string();
    let proto = Proto::from_name(ctx.rcv.proto.as_str());
    allow(ctx, ip.as_bytes(), proto, &furi)
}

/// The protocol argument: `any` (`None`), `udp`, `tcp`, `tls`, `sctp`,
/// `ws`, `wss`, case-insensitive; anything else is logged and refused.
fn proto_arg(ctx: &Ctx<'_>, proto: &[u8]) -> Result<Option<Proto>, ()> {
    proto_name(proto).ok_or_else(|| {
        crate::engine::log::error(
            ctx,
            &format!(
                "permissions: unknown protocol {}\n",
                String::from_utf8_lossy(proto)
            ),
        );
    })
}

/// `allow_trusted(src_ip, proto)`: the given address and protocol, and
/// the message's From URI.
pub fn allow_trusted_proto(ctx: &mut Ctx<'_>, src_ip: &[u8], proto: &[u8]) -> i32 {
    let Ok(furi) = from_uri(ctx) else {
        return -1;
    };
    let Ok(proto) = proto_arg(ctx, proto) else {
        return -1;
    };
    allow(ctx, src_ip, proto, &furi)
}

/// `allow_trusted(src_ip, proto, furi)`: the given address, protocol and
/// From URI.
pub fn allow_trusted_furi(ctx: &mut Ctx<'_>, src_ip: &[u8], proto: &[u8], furi: &[u8]) -> i32 {
    let Ok(proto) = proto_arg(ctx, proto) else {
        return -1;
    };
    allow(ctx, src_ip, proto, furi)
}

#[cfg(test)]
mod tests;
