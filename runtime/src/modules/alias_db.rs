//! alias_db — aliases of users from a database table (Kamailio 5.6's
//! alias_db: modules-db-auth-media.md §7): `alias_db_lookup(table[,
//! flags])` replaces the R-URI with `sip:<username>@<domain>` of the
//! first row whose alias is the R-URI's user (and host, with domain
//! matching), or the other way round with flag `r`.
//!
//! Each worker has its own connection, made on first use; at start-up
//! the runtime connects once (a failure refuses to start, as Kamailio's
//! child_init). A database error or no row answers -1.
//!
//! `alias_db_find(table, input, output[, flags])` does the same lookup
//! on the URI `input` holds and writes the result to `output` (an `$avp`
//! or `$var`, checked at build as Kamailio's fixup does), leaving the
//! R-URI alone.
//!
//! Not here yet (refused at build): `append_branches` other than 0 (more
//! rows as branches, or as more values of `alias_db_find`'s AVP). The
//! input of `alias_db_find` is a PV format here; Kamailio takes one PV
//! and answers -1 when its value is an integer (we use its text).

use cfgc_vocab::PvRef;

use crate::db::query::{Op, Select, Val};
use crate::db::{Connection, DbValue, ModuleDb};
use crate::engine::Ctx;
use crate::engine::module::Module;
use crate::engine::params::{ModParams, ParamError};
use crate::engine::pv;
use crate::engine::value::Value;
use crate::modules::Modules;
use crate::sip::Uri;

/// The module's parameters.
#[derive(Debug)]
pub struct AliasDb {
    db: ModuleDb,
    user_column: String,
    domain_column: String,
    alias_user_column: String,
    alias_domain_column: String,
    use_domain: bool,
    domain_prefix: String,
}

impl Default for AliasDb {
    fn default() -> Self {
        Self {
            db: ModuleDb::default(),
            user_column: "username".into(),
            domain_column: "domain".into(),
            alias_user_column: "alias_username".into(),
            alias_domain_column: "alias_domain".into(),
            use_domain: false,
            domain_prefix: String::new(),
        }
    }
}

impl AliasDb {
    /// Reads `modparam("alias_db", ...)`.
    ///
    /// # Errors
    /// A `db_url` that does not parse.
    pub fn from_params(p: &ModParams) -> Result<Self, ParamError> {
        let m = "alias_db";
        let mut a = Self {
            db: ModuleDb::from_params(p, m)?,
            ..Self::default()
        };
        for (name, field) in [
            ("user_column", &mut a.user_column),
            ("domain_column", &mut a.domain_column),
            ("alias_user_column", &mut a.alias_user_column),
            ("alias_domain_column", &mut a.alias_domain_column),
            ("domain_prefix", &mut a.domain_prefix),
        ] {
            if let Some(v) = p.str(m, name) {
                *field = v;
            }
        }
        a.use_domain = p.int(m, "use_domain")?.is_some_and(|v| v != 0);
        Ok(a)
    }

    /// A worker's connection (opened on first use).
    pub fn worker(&self) -> Connection {
        self.db.worker()
    }

    /// Kamailio's child_init: one connection, or no start.
    ///
    /// # Errors
    /// The database is unreachable.
    pub fn start(&self) -> Result<(), String> {
        self.db.open("alias_db").map(drop)
    }
}

impl Module for AliasDb {
    const NAME: &'static str = "alias_db";

    fn from_params(params: &ModParams) -> Result<Self, ParamError> {
        AliasDb::from_params(params)
    }
}

/// `host` without `prefix` (case-insensitive, only when shorter than the
/// host), as alias_db and speeddial strip `domain_prefix`.
pub(crate) fn strip_domain_prefix<'h>(host: &'h [u8], prefix: &str) -> &'h [u8] {
    let p = prefix.as_bytes();
    if !p.is_empty() && p.len() < host.len() && host[..p.len()].eq_ignore_ascii_case(p) {
        &host[p.len()..]
    } else {
        host
    }
}

/// The R-URI as a script reads it now (`$ru`).
pub(crate) fn current_ruri(ctx: &Ctx<'_>) -> Vec<u8> {
    match pv::ru(ctx) {
        Value::Str(s) => s.into_owned(),
        _ => Vec::new(),
    }
}

/// `alias_db_lookup(table)`: domain matching as `use_domain`.
pub fn alias_db_lookup(ctx: &mut Ctx<'_>, table: &[u8]) -> i32 {
    let domain = Modules::of(ctx).alias_db.use_domain;
    lookup(ctx, table, domain, false)
}

/// `alias_db_lookup(table, flags)`: `d` no domain matching, `u` domain
/// matching, `r` reverse (the alias of a user); the compiler refuses
/// other letters, as Kamailio refuses to start.
pub fn alias_db_lookup_flags(ctx: &mut Ctx<'_>, table: &[u8], flags: &[u8]) -> i32 {
    let (domain, reverse) = read_flags(ctx, flags);
    lookup(ctx, table, domain, reverse)
}

/// (domain matching, reverse) from `use_domain` and the flag letters.
fn read_flags(ctx: &Ctx<'_>, flags: &[u8]) -> (bool, bool) {
    let mut domain = Modules::of(ctx).alias_db.use_domain;
    let mut reverse = false;
    for f in flags {
        match f.to_ascii_lowercase() {
            b'd' => domain = false,
            b'u' => domain = true,
            b'r' => reverse = true,
            _ => {}
        }
    }
    (domain, reverse)
}

/// `alias_db_find(table, input, output)`: domain matching as
/// `use_domain`.
pub fn alias_db_find(ctx: &mut Ctx<'_>, table: &[u8], input: &[u8], out: &[PvRef]) -> i32 {
    alias_db_find_flags(ctx, table, input, out, b"")
}

/// `alias_db_find(table, input, output, flags)`: the alias (or, with
/// `r`, the user) of the URI `input` written to `output`; 1, or -1 when
/// `input` is no URI, the query fails or finds nothing.
pub fn alias_db_find_flags(
    ctx: &mut Ctx<'_>,
    table: &[u8],
    input: &[u8],
    out: &[PvRef],
    flags: &[u8],
) -> i32 {
    let (domain, reverse) = read_flags(ctx, flags);
    let Some(uri) = query(ctx, table, input, domain, reverse) else {
        return -1;
    };
    match out.first() {
        Some(pv) if pv::assign(ctx, pv, Value::Str(uri.into())) >= 0 => 1,
        _ => -1,
    }
}

fn lookup(ctx: &mut Ctx<'_>, table: &[u8], domain: bool, reverse: bool) -> i32 {
    let ruri = current_ruri(ctx);
    let Some(uri) = query(ctx, table, &ruri, domain, reverse) else {
        return -1;
    };
    if pv::set(ctx, cfgc_vocab::PvId::Ru, &Value::Str(uri.into())) < 0 {
        return -1;
    }
    1
}

/// Kamailio's `alias_db_query`: `sip:<user>@<domain>` of the first row
/// for the URI `uri`.
fn query(
    ctx: &mut Ctx<'_>,
    table: &[u8],
    uri: &[u8],
    domain: bool,
    reverse: bool,
) -> Option<Vec<u8>> {
    let a = &Modules::of(ctx).alias_db;
    let Ok(u) = Uri::parse(uri) else {
        return None;
    };
    let (keys, cols) = if reverse {
        (
            [&a.user_column, &a.domain_column],
            [a.alias_user_column.as_str(), a.alias_domain_column.as_str()],
        )
    } else {
        (
            [&a.alias_user_column, &a.alias_domain_column],
            [a.user_column.as_str(), a.domain_column.as_str()],
        )
    };
    let user = String::from_utf8_lossy(u.user.unwrap_or_default()).into_owned();
    let host = String::from_utf8_lossy(strip_domain_prefix(u.host, &a.domain_prefix)).into_owned();
    let mut conds = vec![(keys[0].as_str(), Op::Eq, Val::Str(&user))];
    if domain {
        conds.push((keys[1].as_str(), Op::Eq, Val::Str(&host)));
    }
    let table = String::from_utf8_lossy(table);
    let sql = Select {
        table: &table,
        columns: &cols,
        conditions: &conds,
        order_by: None,
    }
    .sql(a.db.url.quote());
    let res = crate::modules::db_query(ctx, "alias_db", |w| w.alias_db.as_mut(), &sql)?;
    let row = res.rows.first()?;
    let user = row.first().and_then(DbValue::text)?;
    let domain = row.get(1).and_then(DbValue::text).unwrap_or_default();
    let mut uri = b"sip:".to_vec();
    uri.extend_from_slice(&user);
    uri.push(b'@');
    uri.extend_from_slice(&domain);
    Some(uri)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domain_prefix_is_stripped_only_before_a_longer_host() {
        assert_eq!(
            strip_domain_prefix(b"sip.example.com", "SIP."),
            b"example.com"
        );
        assert_eq!(strip_domain_prefix(b"sip.", "sip."), b"sip.");
        assert_eq!(strip_domain_prefix(b"example.com", ""), b"example.com");
        assert_eq!(strip_domain_prefix(b"example.com", "sip."), b"example.com");
    }
}
