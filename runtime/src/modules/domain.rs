//! domain — the local domains from a database table (Kamailio 5.6's
//! domain: modules-db-auth-media.md §9): `is_from_local()`,
//! `is_uri_host_local()`, `is_domain_local(domain)`,
//! `lookup_domain(domain[, prefix])`, and with
//! `register_myself` the domains count as `myself` (Kamailio's
//! `check_self` callback: [`crate::engine::module::ModuleSet::is_myself`]).
//!
//! Both tables are loaded at start-up, as Kamailio's mod_init: their
//! `version` rows checked (`domain` 2, `domain_attrs` 1), a domain row with
//! an empty domain or did, or an attribute of a type other than 0 (an
//! integer that must parse) or 2 (text), fails the load and the start.
//! Matching is case-insensitive on the whole host.
//!
//! `lookup_domain` adds the domain's attributes as AVPs named at run time
//! (prefix + name); only those the cfg names exist here (by their slots,
//! `pv::avp_slot`), the others could not be read by the script anyway.
//!
//! RPC: `domain.reload` (both tables read again, swapped in whole; a
//! failure keeps the old ones and answers 400) and `domain.dump`, in
//! Kamailio's order (hash slots, then the dids with attributes).
//!
//! In a
//! failure route `is_uri_host_local` reads the current R-URI (Kamailio:
//! the first branch's URI).

use std::sync::{Arc, RwLock};

use crate::db::query::Select;
use crate::db::{Connection, DbValue, ModuleDb};
use crate::engine::Ctx;
use crate::engine::module::{Module, ModuleSet, RpcCommand, RpcError, RpcValue};
use crate::engine::params::{ModParams, ParamError};
use crate::engine::pv;
use crate::engine::value::Value;
use crate::modules::Modules;
use crate::modules::cfgutils::case_hash;
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
    table: RwLock<Arc<Table>>,
}

/// The loaded tables.
#[derive(Debug, Default)]
struct Table {
    /// (domain as written, did), in load order.
    domains: Vec<(String, String)>,
    /// Attributes by did, each did's in load order.
    attrs: Vec<(String, Vec<(String, Value<'static>)>)>,
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
            table: RwLock::default(),
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
        self.load_in(&mut c)
            .map_err(|e| format!("domain: failed to load the domain tables: {e}"))
    }

    /// `domain.reload`: both tables read again and swapped in whole.
    ///
    /// # Errors
    /// The database is unreachable, a row is invalid (the old tables
    /// stay).
    pub fn reload(&self) -> Result<(), String> {
        let mut c = self.db.open("domain")?;
        self.load_in(&mut c)
    }

    /// Both tables loaded over `c` and swapped in whole.
    fn load_in(&self, c: &mut Connection) -> Result<(), String> {
        let table = self.load(c)?;
        *self.table.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(table);
        Ok(())
    }

    /// `domain.dump` (5.6's layout: one struct of `domains` and
    /// `attributes`): the domains by Kamailio's hash slot (128 slots,
    /// each chain last loaded first), then each did with attributes
    /// (last seen first) and its attribute names (last loaded first).
    fn dump(&self) -> Vec<RpcValue> {
        let t = self.table.read().unwrap_or_else(|e| e.into_inner());
        let mut domains: Vec<(u32, usize, &(String, String))> = t
            .domains
            .iter()
            .enumerate()
            .map(|(i, d)| (case_hash(d.0.as_bytes(), 128), i, d))
            .collect();
        domains.sort_by_key(|&(slot, i, _)| (slot, std::cmp::Reverse(i)));
        let domains: Vec<RpcValue> = domains
            .into_iter()
            .map(|(_, _, (domain, did))| {
                RpcValue::Struct(vec![
                    ("domain".into(), RpcValue::Str(domain.clone())),
                    ("did".into(), RpcValue::Str(did.clone())),
                ])
            })
            .collect();
        let attributes: Vec<RpcValue> = t
            .attrs
            .iter()
            .rev()
            .map(|(did, attrs)| {
                let names = attrs
                    .iter()
                    .rev()
                    .map(|(name, _)| RpcValue::Str(name.clone()))
                    .collect();
                RpcValue::Struct(vec![
                    ("did".into(), RpcValue::Str(did.clone())),
                    ("attrs".into(), RpcValue::Array(names)),
                ])
            })
            .collect();
        vec![RpcValue::Struct(vec![
            ("domains".into(), RpcValue::Array(domains)),
            ("attributes".into(), RpcValue::Array(attributes)),
        ])]
    }

    /// Kamailio's `reload_tables`: the domains with their did (the domain
    /// itself when NULL), the attributes by did.
    fn load(&self, c: &mut Connection) -> Result<Table, String> {
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
        let mut out = Table::default();
        for row in &res.rows {
            let domain = text(row.get(1)).unwrap_or_default();
            if domain.is_empty() {
                return Err("a row with an empty domain".into());
            }
            let did = match text(row.first()) {
                Some(d) if d.is_empty() => return Err("a row with an empty did".into()),
                Some(d) => d,
                None => domain.clone(),
            };
            out.domains.push((
                String::from_utf8_lossy(&domain).into_owned(),
                String::from_utf8_lossy(&did).into_owned(),
            ));
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
            let value = match ty {
                0 => match std::str::from_utf8(&value)
                    .ok()
                    .and_then(|v| v.trim().parse::<i32>().ok())
                {
                    Some(n) => Value::Int(n),
                    None => return Err(format!("an attribute of type {ty} or value not valid")),
                },
                2 => Value::string(value),
                _ => return Err(format!("an attribute of type {ty} or value not valid")),
            };
            let did = String::from_utf8_lossy(&text(row.first()).unwrap_or_default()).into_owned();
            let name = String::from_utf8_lossy(&text(row.get(1)).unwrap_or_default()).into_owned();
            match out
                .attrs
                .iter_mut()
                .find(|(d, _)| d.eq_ignore_ascii_case(&did))
            {
                Some((_, list)) => list.push((name, value)),
                None => out.attrs.push((did, vec![(name, value)])),
            }
        }
        Ok(out)
    }

    /// Whether `host` is a local domain (case-insensitive). On every
    /// `myself` check with `register_myself`: nothing copied.
    pub fn is_local(&self, host: &[u8]) -> bool {
        let t = self.table.read().unwrap_or_else(|e| e.into_inner());
        t.domains
            .iter()
            .any(|(d, _)| d.as_bytes().eq_ignore_ascii_case(host))
    }

    /// The did of a local domain (case-insensitive; of the row loaded
    /// last if it repeats, as Kamailio's hash chains are searched), and
    /// its attributes, last loaded first (Kamailio prepends them).
    fn did_of(&self, host: &[u8]) -> Option<(String, Vec<(String, Value<'static>)>)> {
        let t = self.table.read().unwrap_or_else(|e| e.into_inner());
        let (_, did) = t
            .domains
            .iter()
            .rev()
            .find(|(d, _)| d.as_bytes().eq_ignore_ascii_case(host))?;
        let attrs = t
            .attrs
            .iter()
            .find(|(d, _)| d.eq_ignore_ascii_case(did))
            .map(|(_, a)| a.iter().rev().cloned().collect())
            .unwrap_or_default();
        Some((did.clone(), attrs))
    }

    /// `register_myself`: the domains are `myself`.
    pub fn claims(&self, host: &[u8]) -> bool {
        self.register_myself && self.is_local(host)
    }
}

impl Module for Domain {
    const NAME: &'static str = "domain";
    const RPC: &'static [RpcCommand] = &[
        RpcCommand {
            name: "domain.reload",
            help: "Reload domain tables from database",
            handler: rpc_reload,
        },
        RpcCommand {
            name: "domain.dump",
            help: "Return the contents of domain and domain_attrs tables",
            handler: rpc_dump,
        },
    ];

    fn from_params(params: &ModParams) -> Result<Self, ParamError> {
        Domain::from_params(params)
    }
}

fn domain_of(set: &dyn ModuleSet) -> Result<&Domain, RpcError> {
    set.as_any()
        .downcast_ref::<Modules>()
        .map(|m| &m.domain)
        .ok_or_else(|| RpcError::new(500, "domain is not loaded"))
}

fn rpc_reload(set: &dyn ModuleSet, _args: &[&str]) -> Result<Vec<RpcValue>, RpcError> {
    let d = domain_of(set)?;
    d.reload()
        .map_err(|_| RpcError::new(400, "Reload of domain tables failed"))?;
    Ok(Vec::new())
}

fn rpc_dump(set: &dyn ModuleSet, _args: &[&str]) -> Result<Vec<RpcValue>, RpcError> {
    Ok(domain_of(set)?.dump())
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

/// `lookup_domain(domain)`: as [`lookup_domain_prefix`] without a prefix.
pub fn lookup_domain(ctx: &mut Ctx<'_>, domain: &[u8]) -> i32 {
    lookup_domain_prefix(ctx, domain, b"")
}

/// `lookup_domain(domain, prefix)`: -1 if `domain` is not local; else
/// each attribute of its did added as the AVP `prefix` + name (an integer
/// for type 0, text for type 2), then its did as `prefix` + `did`; 1.
pub fn lookup_domain_prefix(ctx: &mut Ctx<'_>, domain: &[u8], prefix: &[u8]) -> i32 {
    let Some((did, attrs)) = Modules::of(ctx).domain.did_of(domain) else {
        return -1;
    };
    let add = |ctx: &mut Ctx<'_>, name: &[u8], v: Value<'static>| {
        let full = [prefix, name].concat();
        if let Some(slot) = pv::avp_slot(ctx, &full) {
            pv::set_avp(ctx, slot, v);
        }
    };
    for (name, v) in attrs {
        add(ctx, name.as_bytes(), v);
    }
    add(ctx, b"did", Value::string(did.into_bytes()));
    1
}
