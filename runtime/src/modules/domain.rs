//! domain — the local domains from a database table (Kamailio 5.6's
//! domain: modules-db-auth-media.md §9): `is_from_local()`,
//! `is_uri_host_local()`, `is_domain_local(domain)`, and with
//! `register_myself` the domains count as `myself` (Kamailio's
//! `check_self` callback: [`crate::engine::module::ModuleSet::is_myself`]).
//!
//! Both tables are loaded at start-up, as Kamailio's mod_init: their
//! `version` rows checked (`domain` 2, `domain_attrs` 1), a domain row with
//! an empty domain or did, or an attribute of a type other than 0 (an
//! integer that must parse) or 2 (text), fails the load and the start.
//! Matching is case-insensitive on the whole host.
//!
//! Not here yet: `lookup_domain` (it names AVPs at run time, refused at
//! build), the `domain.reload`/`domain.dump` RPC commands. In a
//! failure route `is_uri_host_local` reads the current R-URI (Kamailio:
//! the first branch's URI).

use std::sync::{Arc, RwLock};

use crate::db::query::Select;
use crate::db::{Connection, DbValue, ModuleDb};
use crate::engine::Ctx;
use crate::engine::module::Module;
use crate::engine::params::{ModParams, ParamError};
use crate::engine::pv;
use crate::engine::value::Value;
use crate::modules::Modules;
use crate::sip::Uri;

/// The module's parameters and the loaded domains (lower-cased).
#[derive(Debug)]
pub struct Domain {
    db: ModuleDb,
    domain_table: String,
    domain_attrs_table: String,
    did_col: String,
    domain_col: String,
    name_col: String,
    type_col: String,
    value_col: String,
    register_myself: bool,
    domains: RwLock<Arc<Vec<String>>>,
}

impl Default for Domain {
    fn default() -> Self {
        Self {
            db: ModuleDb::default(),
            domain_table: "domain".into(),
            domain_attrs_table: "domain_attrs".into(),
            did_col: "did".into(),
            domain_col: "domain".into(),
            name_col: "name".into(),
            type_col: "type".into(),
            value_col: "value".into(),
            register_myself: false,
            domains: RwLock::default(),
        }
    }
}

impl Domain {
    /// Reads `modparam("domain", ...)`.
    ///
    /// # Errors
    /// A `db_url` that does not parse.
    pub fn from_params(p: &ModParams) -> Result<Self, ParamError> {
        let m = "domain";
        let mut d = Self {
            db: ModuleDb::from_params(p, m)?,
            ..Self::default()
        };
        for (name, field) in [
            ("domain_table", &mut d.domain_table),
            ("domain_attrs_table", &mut d.domain_attrs_table),
            ("did_col", &mut d.did_col),
            ("domain_col", &mut d.domain_col),
            ("name_col", &mut d.name_col),
            ("type_col", &mut d.type_col),
            ("value_col", &mut d.value_col),
        ] {
            if let Some(v) = p.str(m, name) {
                *field = v;
            }
        }
        d.register_myself = p.int(m, "register_myself")?.is_some_and(|v| v != 0);
        Ok(d)
    }

    /// Kamailio's mod_init: both tables' versions checked and loaded.
    ///
    /// # Errors
    /// The database is unreachable, a version differs, a row is invalid.
    pub fn start(&self) -> Result<(), String> {
        let mut c = self.db.open("domain")?;
        c.check_version(&self.domain_table, 2)
            .map_err(|e| format!("domain: {e}"))?;
        c.check_version(&self.domain_attrs_table, 1)
            .map_err(|e| format!("domain: {e}"))?;
        let domains = self
            .load(&mut c)
            .map_err(|e| format!("domain: failed to load the domain tables: {e}"))?;
        *self.domains.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(domains);
        Ok(())
    }

    /// Kamailio's `reload_tables`: the domains (lower-cased); attributes
    /// validated only.
    fn load(&self, c: &mut Connection) -> Result<Vec<String>, String> {
        let q = c.quote();
        let text = |v: Option<&DbValue>| v.and_then(DbValue::text);
        let sql = Select {
            table: &self.domain_table,
            columns: &[self.did_col.as_str(), self.domain_col.as_str()],
            conditions: &[],
            order_by: None,
        }
        .sql(q);
        let res = c.raw_query(&sql).map_err(|e| e.to_string())?;
        let mut out = Vec::new();
        for row in &res.rows {
            let domain = text(row.get(1)).unwrap_or_default();
            if domain.is_empty() {
                return Err("a row with an empty domain".into());
            }
            if text(row.first()).is_some_and(|d| d.is_empty()) {
                return Err("a row with an empty did".into());
            }
            out.push(String::from_utf8_lossy(&domain).to_ascii_lowercase());
        }
        let sql = Select {
            table: &self.domain_attrs_table,
            columns: &[
                self.did_col.as_str(),
                self.name_col.as_str(),
                self.type_col.as_str(),
                self.value_col.as_str(),
            ],
            conditions: &[],
            order_by: None,
        }
        .sql(q);
        let res = c.raw_query(&sql).map_err(|e| e.to_string())?;
        for row in &res.rows {
            let ty = match row.get(2) {
                Some(DbValue::Int(t)) => i64::from(*t),
                Some(DbValue::BigInt(t)) => *t,
                _ => -1,
            };
            let value = text(row.get(3)).unwrap_or_default();
            match ty {
                0 if std::str::from_utf8(&value)
                    .ok()
                    .and_then(|v| v.trim().parse::<i32>().ok())
                    .is_some() => {}
                2 => {}
                _ => return Err(format!("an attribute of type {ty} or value not valid")),
            }
        }
        Ok(out)
    }

    /// Whether `host` is a local domain (case-insensitive).
    pub fn is_local(&self, host: &[u8]) -> bool {
        let d = self.domains.read().unwrap_or_else(|e| e.into_inner());
        d.iter().any(|x| x.as_bytes().eq_ignore_ascii_case(host))
    }

    /// `register_myself`: the domains are `myself`.
    pub fn claims(&self, host: &[u8]) -> bool {
        self.register_myself && self.is_local(host)
    }
}

impl Module for Domain {
    const NAME: &'static str = "domain";

    fn from_params(params: &ModParams) -> Result<Self, ParamError> {
        Domain::from_params(params)
    }
}

fn rc(b: bool) -> i32 {
    if b { 1 } else { -1 }
}

/// `is_from_local()`: 1 if the From URI's host is local, -1 if not, -2 if
/// From does not parse.
pub fn is_from_local(ctx: &mut Ctx<'_>) -> i32 {
    let Value::Str(f) = pv::from_uri(ctx) else {
        return -2;
    };
    let Ok(u) = Uri::parse(&f) else {
        return -2;
    };
    rc(Modules::of(ctx).domain.is_local(u.host))
}

/// `is_uri_host_local()`: 1 if the R-URI's host is local, else -1.
pub fn is_uri_host_local(ctx: &mut Ctx<'_>) -> i32 {
    let ruri = crate::modules::alias_db::current_ruri(ctx);
    let Ok(u) = Uri::parse(&ruri) else {
        return -1;
    };
    rc(Modules::of(ctx).domain.is_local(u.host))
}

/// `is_domain_local(domain)`: 1 if `domain` is local, else -1.
pub fn is_domain_local(ctx: &mut Ctx<'_>, domain: &[u8]) -> i32 {
    rc(Modules::of(ctx).domain.is_local(domain))
}
