//! speeddial — per-user speed-dial numbers from a database table
//! (Kamailio 5.6's speeddial: modules-db-auth-media.md §8):
//! `sd_lookup(table[, owner])` replaces the R-URI with the `new_uri` of
//! the row of the owner (the From URI's, or the given URI's user, and
//! host with `use_domain` ≥ 1) and the R-URI's user (and host, with
//! `use_domain` 2); `sip:` is prepended unless the value starts with it.
//!
//! As Kamailio 5.6.3, `domain_prefix` is stripped from the R-URI's host
//! only (its code strips the owner's host in a slot it then overwrites).
//! Each worker has its own connection; at start-up the runtime connects
//! once (a failure refuses to start). No row or an error answers -1.

use crate::db::query::{Op, Select, Val};
use crate::db::{Connection, DbValue, ModuleDb};
use crate::engine::Ctx;
use crate::engine::module::Module;
use crate::engine::params::{ModParams, ParamError};
use crate::engine::pv;
use crate::engine::value::Value;
use crate::modules::Modules;
use crate::modules::alias_db::{current_ruri, strip_domain_prefix};
use crate::sip::Uri;

/// The module's parameters.
#[derive(Debug)]
pub struct Speeddial {
    db: ModuleDb,
    user_column: String,
    domain_column: String,
    sd_user_column: String,
    sd_domain_column: String,
    new_uri_column: String,
    use_domain: i32,
    domain_prefix: String,
}

impl Default for Speeddial {
    fn default() -> Self {
        Self {
            db: ModuleDb::default(),
            user_column: "username".into(),
            domain_column: "domain".into(),
            sd_user_column: "sd_username".into(),
            sd_domain_column: "sd_domain".into(),
            new_uri_column: "new_uri".into(),
            use_domain: 0,
            domain_prefix: String::new(),
        }
    }
}

impl Speeddial {
    /// Reads `modparam("speeddial", ...)`.
    ///
    /// # Errors
    /// A `db_url` that does not parse.
    pub fn from_params(p: &ModParams) -> Result<Self, ParamError> {
        let m = "speeddial";
        let mut s = Self {
            db: ModuleDb::from_params(p, m)?,
            ..Self::default()
        };
        for (name, field) in [
            ("user_column", &mut s.user_column),
            ("domain_column", &mut s.domain_column),
            ("sd_user_column", &mut s.sd_user_column),
            ("sd_domain_column", &mut s.sd_domain_column),
            ("new_uri_column", &mut s.new_uri_column),
            ("domain_prefix", &mut s.domain_prefix),
        ] {
            if let Some(v) = p.str(m, name) {
                *field = v;
            }
        }
        s.use_domain = p.int(m, "use_domain")?.unwrap_or(0);
        Ok(s)
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
        self.db.open("speeddial").map(drop)
    }
}

impl Module for Speeddial {
    const NAME: &'static str = "speeddial";

    fn from_params(params: &ModParams) -> Result<Self, ParamError> {
        Speeddial::from_params(params)
    }
}

/// `sd_lookup(table)`: the owner is the From URI's.
pub fn sd_lookup(ctx: &mut Ctx<'_>, table: &[u8]) -> i32 {
    lookup(ctx, table, None)
}

/// `sd_lookup(table, owner)`: the owner is `owner` (the From URI's if
/// empty).
pub fn sd_lookup_owner(ctx: &mut Ctx<'_>, table: &[u8], owner: &[u8]) -> i32 {
    lookup(ctx, table, Some(owner).filter(|o| !o.is_empty()))
}

fn lookup(ctx: &mut Ctx<'_>, table: &[u8], owner: Option<&[u8]>) -> i32 {
    if table.is_empty() {
        return -1;
    }
    let s = &Modules::of(ctx).speeddial;
    let owner = match owner {
        Some(o) => o.to_vec(),
        None => match pv::from_uri(ctx) {
            Value::Str(f) => f.into_owned(),
            _ => return -1,
        },
    };
    let Ok(o) = Uri::parse(&owner) else {
        return -1;
    };
    let ruri = current_ruri(ctx);
    let Ok(r) = Uri::parse(&ruri) else {
        return -1;
    };
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    let ouser = text(o.user.unwrap_or_default());
    let ohost = text(o.host);
    let ruser = text(r.user.unwrap_or_default());
    let rhost = text(strip_domain_prefix(r.host, &s.domain_prefix));
    let mut conds = vec![(s.user_column.as_str(), Op::Eq, Val::Str(&ouser))];
    if s.use_domain >= 1 {
        conds.push((s.domain_column.as_str(), Op::Eq, Val::Str(&ohost)));
    }
    conds.push((s.sd_user_column.as_str(), Op::Eq, Val::Str(&ruser)));
    if s.use_domain >= 2 {
        conds.push((s.sd_domain_column.as_str(), Op::Eq, Val::Str(&rhost)));
    }
    let table = text(table);
    let sql = Select {
        table: &table,
        columns: &[s.new_uri_column.as_str()],
        conditions: &conds,
        order_by: None,
    }
    .sql(s.db.url.quote());
    let Some(res) = crate::modules::db_query(ctx, "speeddial", |w| w.speeddial.as_mut(), &sql)
    else {
        return -1;
    };
    let Some(new) = res
        .rows
        .first()
        .and_then(|row| row.first())
        .and_then(DbValue::text)
    else {
        return -1;
    };
    let uri = if new.starts_with(b"sip:") {
        new
    } else {
        [b"sip:".as_slice(), &new].concat()
    };
    if pv::set(ctx, cfgc_vocab::PvId::Ru, &Value::Str(uri.into())) < 0 {
        return -1;
    }
    1
}
