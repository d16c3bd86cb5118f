//! permissions (Kamailio 5.6's permissions, modules-db-auth-media.md
//! §6): the address table — `allow_source_address([group])`,
//! `allow_source_address_group()`, `allow_address(group, addr, port)`,
//! `allow_address_group(addr, port)` against the `address` rows loaded at
//! start-up into memory, as Kamailio's `load_backends` bit 1 does — and
//! the trusted table, `allow_trusted([src_ip, proto[, furi]])`
//! ([`trusted`], `load_backends` bit 2, `db_mode` 0 or 1).
//!
//! Loading the address table is Kamailio's: `select grp,ip_addr,mask,
//! port,tag from address`; a row with a group that is not a positive
//! integer, an address that is not text, or a NULL mask or port fails the
//! whole load (and the start); an address with the full mask is an exact
//! entry, a shorter mask a subnet (at most `max_subnets`), text that is
//! not an address a domain name (matched by `allow_address` only, as
//! written). Exact entries are searched last-loaded first (Kamailio
//! prepends to its hash chains), subnets by group. Port 0 in a row
//! matches any port.
//!
//! `peer_tag_avp` (an `$avp`, resolved by the compiler): a match adds
//! its row's tag (when not NULL) to it, as Kamailio's matchers do —
//! except `allow_address_group` on a domain name, whose matcher adds
//! none in Kamailio either.
//!
//! RPC: `permissions.addressReload` and `permissions.trustedReload`
//! (with `db_mode` 1) load the table again and swap it in, at most once
//! per `reload_delta` seconds between them. The allow/deny files'
//! functions, `address_file` and the `*Dump` commands are not supported
//! yet (refused at build; the commands are unknown).

use std::net::IpAddr;
use std::sync::{Arc, Mutex, RwLock};

use cfgc_vocab::PvRef;

use crate::db::query::Select;
use crate::db::{Connection, DbValue, ModuleDb};
use crate::engine::Ctx;
use crate::engine::module::{Module, ModuleSet, RpcCommand, RpcError, RpcValue};
use crate::engine::params::{ModParams, ParamError};
use crate::engine::pv;
use crate::engine::value::Value;
use crate::modules::Modules;

pub mod bre;
pub mod trusted;

pub use trusted::{TrustedTable, allow_trusted, allow_trusted_furi, allow_trusted_proto};

const ADDRESS_VERSION: i64 = 6;
const TRUSTED_VERSION: i64 = 6;

/// One row of the address table.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Entry {
    grp: u32,
    port: u16,
    /// Its tag, for `peer_tag_avp`.
    tag: Option<Vec<u8>>,
}

/// The address table in memory.
#[derive(Clone, Debug, Default)]
pub struct AddressTable {
    /// Full-mask addresses, in load order.
    exact: Vec<(IpAddr, Entry)>,
    /// Subnets (network, mask bits), sorted by group (stable).
    subnets: Vec<(IpAddr, u8, Entry)>,
    /// Text that is not an address, as written.
    domains: Vec<(String, Entry)>,
}

impl AddressTable {
    fn exact_entry(&self, grp: Option<u32>, ip: IpAddr, port: u16) -> Option<&Entry> {
        self.exact
            .iter()
            .rev()
            .find(|(a, e)| {
                *a == ip && (e.port == 0 || e.port == port) && grp.is_none_or(|g| g == e.grp)
            })
            .map(|(_, e)| e)
    }

    fn subnet_entry(&self, grp: Option<u32>, ip: IpAddr, port: u16) -> Option<&Entry> {
        self.subnets
            .iter()
            .find(|(net, mask, e)| {
                in_net(ip, *net, *mask)
                    && (e.port == 0 || e.port == port)
                    && grp.is_none_or(|g| g == e.grp)
            })
            .map(|(_, _, e)| e)
    }

    fn domain_entry(&self, grp: Option<u32>, name: &str, port: u16) -> Option<&Entry> {
        self.domains
            .iter()
            .rev()
            .find(|(d, e)| {
                d == name && (e.port == 0 || e.port == port) && grp.is_none_or(|g| g == e.grp)
            })
            .map(|(_, e)| e)
    }

    /// The first match of `addr`:`port` (exact, then subnet; a name in
    /// the domain-name entries), in group `grp` if given.
    fn entry(&self, grp: Option<u32>, addr: &str, port: u16) -> Option<&Entry> {
        match addr.parse::<IpAddr>() {
            Ok(ip) => self
                .exact_entry(grp, ip, port)
                .or_else(|| self.subnet_entry(grp, ip, port)),
            Err(_) => self.domain_entry(grp, addr, port),
        }
    }

    /// The group of [`Self::entry`].
    #[cfg(test)]
    fn group(&self, grp: Option<u32>, addr: &str, port: u16) -> Option<u32> {
        self.entry(grp, addr, port).map(|e| e.grp)
    }
}

/// Whether `ip` is in `net`/`mask` (same family).
fn in_net(ip: IpAddr, net: IpAddr, mask: u8) -> bool {
    match (ip, net) {
        (IpAddr::V4(a), IpAddr::V4(n)) => {
            let m = u32::MAX.checked_shl(32 - u32::from(mask)).unwrap_or(0);
            u32::from(a) & m == u32::from(n) & m
        }
        (IpAddr::V6(a), IpAddr::V6(n)) => {
            let m = u128::MAX.checked_shl(128 - u32::from(mask)).unwrap_or(0);
            u128::from(a) & m == u128::from(n) & m
        }
        _ => false,
    }
}

/// The module's parameters and its loaded tables.
#[derive(Debug)]
pub struct Permissions {
    /// `None` without a `db_url`: no database backend.
    db: Option<ModuleDb>,
    load_backends: i32,
    address_table: String,
    grp_col: String,
    ip_addr_col: String,
    mask_col: String,
    port_col: String,
    /// The tag column of both tables.
    tag_col: String,
    trusted_table: String,
    source_col: String,
    proto_col: String,
    from_col: String,
    ruri_col: String,
    priority_col: String,
    /// 0: `allow_trusted` queries the table; 1: it is cached.
    db_mode: i32,
    /// Where a match adds its row's tag.
    peer_tag_avp: Option<PvRef>,
    /// Every trusted match adds its tag, and the count is returned.
    peer_tag_mode: bool,
    max_subnets: usize,
    /// Seconds between two RPC reloads.
    reload_delta: i64,
    table: RwLock<Arc<AddressTable>>,
    /// The cached trusted table (`db_mode` 1, once loaded).
    trusted: RwLock<Option<Arc<TrustedTable>>>,
    /// When the last RPC reload began (Unix seconds, 0: never).
    last_reload: Mutex<i64>,
}

impl Default for Permissions {
    fn default() -> Self {
        Self {
            db: None,
            load_backends: 0xffff,
            address_table: "address".into(),
            grp_col: "grp".into(),
            ip_addr_col: "ip_addr".into(),
            mask_col: "mask".into(),
            port_col: "port".into(),
            tag_col: "tag".into(),
            trusted_table: "trusted".into(),
            source_col: "src_ip".into(),
            proto_col: "proto".into(),
            from_col: "from_pattern".into(),
            ruri_col: "ruri_pattern".into(),
            priority_col: "priority".into(),
            db_mode: 0,
            peer_tag_avp: None,
            peer_tag_mode: false,
            max_subnets: 512,
            reload_delta: 5,
            table: RwLock::default(),
            trusted: RwLock::default(),
            last_reload: Mutex::new(0),
        }
    }
}

impl Permissions {
    /// Reads `modparam("permissions", ...)`.
    ///
    /// # Errors
    /// A `db_url` that does not parse, a negative `max_subnets`, a
    /// `db_mode` other than 0 or 1, a `peer_tag_avp` the compiler did not
    /// resolve to an AVP.
    pub fn from_params(p: &ModParams) -> Result<Self, ParamError> {
        let m = "permissions";
        let mut s = Self::default();
        if p.str(m, "db_url").is_some_and(|u| !u.is_empty()) {
            s.db = Some(ModuleDb::from_params(p, m)?);
        }
        for (name, field) in [
            ("address_table", &mut s.address_table),
            ("grp_col", &mut s.grp_col),
            ("ip_addr_col", &mut s.ip_addr_col),
            ("mask_col", &mut s.mask_col),
            ("port_col", &mut s.port_col),
            ("tag_col", &mut s.tag_col),
            ("trusted_table", &mut s.trusted_table),
            ("source_col", &mut s.source_col),
            ("proto_col", &mut s.proto_col),
            ("from_col", &mut s.from_col),
            ("ruri_col", &mut s.ruri_col),
            ("priority_col", &mut s.priority_col),
        ] {
            if let Some(v) = p.str(m, name) {
                *field = v;
            }
        }
        if let Some(v) = p.int(m, "load_backends")? {
            s.load_backends = v;
        }
        if let Some(v) = p.int(m, "db_mode")? {
            if v != 0 && v != 1 {
                return Err(ParamError::invalid(
                    m,
                    "db_mode",
                    format!("invalid db_mode value: {v}"),
                ));
            }
            s.db_mode = v;
        }
        if let Some(v) = p.int(m, "peer_tag_mode")? {
            s.peer_tag_mode = v != 0;
        }
        if let Some(v) = p.int(m, "reload_delta")? {
            // Kamailio: a negative delta is the default.
            s.reload_delta = if v < 0 { 5 } else { i64::from(v) };
        }
        s.peer_tag_avp = super::avp_param(p, m, "peer_tag_avp")?;
        if let Some(v) = p.int(m, "max_subnets")? {
            s.max_subnets = usize::try_from(v)
                .map_err(|_| ParamError::invalid(m, "max_subnets", format!("{v} is negative")))?;
        }
        Ok(s)
    }

    /// Kamailio's mod_init and child_init: the address table loaded (and
    /// its version checked) with `load_backends` bit 1, the trusted
    /// table's version checked with bit 2 (and the table loaded with
    /// `db_mode` 1); nothing without a `db_url`.
    ///
    /// # Errors
    /// The database is unreachable, a version differs, a row is invalid.
    pub fn start(&self) -> Result<(), String> {
        let Some(db) = &self.db else {
            return Ok(());
        };
        let mut c = db.open("permissions")?;
        if self.load_backends & 2 != 0 {
            c.check_version(&self.trusted_table, TRUSTED_VERSION)
                .map_err(|e| format!("permissions: {e}"))?;
            if self.db_mode == 1 {
                let t = self
                    .load_trusted(&mut c)
                    .map_err(|e| format!("permissions: reload of trusted table failed: {e}"))?;
                *self.trusted.write().unwrap_or_else(|e| e.into_inner()) = Some(Arc::new(t));
            }
        }
        if self.load_backends & 1 != 0 {
            c.check_version(&self.address_table, ADDRESS_VERSION)
                .map_err(|e| format!("permissions: {e}"))?;
            let t = self
                .load(&mut c)
                .map_err(|e| format!("permissions: failed to load the address table: {e}"))?;
            *self.table.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(t);
        }
        Ok(())
    }

    /// A worker's connection for `allow_trusted` in `db_mode` 0 (Kamailio
    /// opens one per worker in child_init); `None` otherwise.
    pub fn worker(&self) -> Option<Connection> {
        match &self.db {
            Some(db) if self.db_mode == 0 && self.load_backends & 2 != 0 => Some(db.worker()),
            _ => None,
        }
    }

    /// The cached trusted table, if loaded.
    fn trusted_table(&self) -> Option<Arc<TrustedTable>> {
        self.trusted
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Kamailio's `rpc_check_reload`: at most one reload per
    /// `reload_delta` seconds (the time is taken even if the reload then
    /// fails).
    fn check_reload(&self) -> Result<(), RpcError> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
        let mut last = self.last_reload.lock().unwrap_or_else(|e| e.into_inner());
        if *last != 0 && *last > now - self.reload_delta {
            return Err(RpcError::new(500, "ongoing reload"));
        }
        *last = now;
        Ok(())
    }

    /// `permissions.trustedReload`: the trusted table loaded again
    /// (`db_mode` 1 only: otherwise there is no cache to reload).
    fn reload_trusted(&self) -> Result<(), String> {
        let Some(db) = &self.db else {
            return Err("db_url not set".into());
        };
        if self.db_mode != 1 || self.load_backends & 2 == 0 {
            return Err("in-memory hash table not initialized".into());
        }
        let mut c = db.open("permissions")?;
        let t = self.load_trusted(&mut c)?;
        *self.trusted.write().unwrap_or_else(|e| e.into_inner()) = Some(Arc::new(t));
        Ok(())
    }

    /// `permissions.addressReload`: the address table loaded again.
    fn reload_address(&self) -> Result<(), String> {
        let Some(db) = &self.db else {
            return Err("db_url not set".into());
        };
        if self.load_backends & 1 == 0 {
            return Err("the address table is not loaded".into());
        }
        let mut c = db.open("permissions")?;
        let t = self.load(&mut c)?;
        *self.table.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(t);
        Ok(())
    }

    /// Kamailio's `reload_address_db_table`.
    fn load(&self, c: &mut Connection) -> Result<AddressTable, String> {
        let cols = [
            self.grp_col.as_str(),
            self.ip_addr_col.as_str(),
            self.mask_col.as_str(),
            self.port_col.as_str(),
            self.tag_col.as_str(),
        ];
        let sql = Select {
            table: &self.address_table,
            columns: &cols,
            conditions: &[],
            order_by: None,
        }
        .sql(c.quote());
        let res = c.raw_query(&sql).map_err(|e| e.to_string())?;
        let mut t = AddressTable::default();
        for row in &res.rows {
            let int = |i: usize| match row.get(i) {
                Some(DbValue::Int(v)) => Some(i64::from(*v)),
                Some(DbValue::BigInt(v)) => Some(*v),
                _ => None,
            };
            let grp = int(0)
                .filter(|g| *g > 0)
                .and_then(|g| u32::try_from(g).ok())
                .ok_or("a group that is not a positive integer")?;
            let Some(DbValue::Str(addr)) = row.get(1) else {
                return Err("an address that is not text".into());
            };
            let addr = String::from_utf8_lossy(addr).into_owned();
            let mask = int(2).ok_or("a NULL or non-integer mask")?;
            let port = int(3)
                .and_then(|p| u16::try_from(p).ok())
                .ok_or("a NULL or invalid port")?;
            let tag = match row.get(4) {
                Some(DbValue::Str(t)) => Some(bre::cstr(t).to_vec()),
                _ => None,
            };
            let e = Entry { grp, port, tag };
            match addr.parse::<IpAddr>() {
                Ok(ip) => {
                    let full: i64 = if ip.is_ipv4() { 32 } else { 128 };
                    let mask = if mask == 0 { full } else { mask };
                    if !(0..=full).contains(&mask) {
                        return Err(format!("mask {mask} of {addr}"));
                    }
                    if mask == full {
                        t.exact.push((ip, e));
                    } else {
                        if t.subnets.len() >= self.max_subnets {
                            return Err("more subnets than max_subnets".into());
                        }
                        t.subnets.push((ip, u8::try_from(mask).unwrap_or(0), e));
                    }
                }
                Err(_) => t.domains.push((addr, e)),
            }
        }
        t.subnets.sort_by_key(|(_, _, e)| e.grp);
        Ok(t)
    }

    fn table(&self) -> Arc<AddressTable> {
        self.table.read().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

impl Module for Permissions {
    const NAME: &'static str = "permissions";
    const RPC: &'static [RpcCommand] = &[
        RpcCommand {
            name: "permissions.trustedReload",
            help: "Reload permissions trusted table",
            handler: rpc_trusted_reload,
        },
        RpcCommand {
            name: "permissions.addressReload",
            help: "Reload permissions address table",
            handler: rpc_address_reload,
        },
    ];

    fn from_params(params: &ModParams) -> Result<Self, ParamError> {
        Permissions::from_params(params)
    }
}

fn of_set(set: &dyn ModuleSet) -> Result<&Permissions, RpcError> {
    set.as_any()
        .downcast_ref::<Modules>()
        .map(|m| &m.permissions)
        .ok_or_else(|| RpcError::new(500, "permissions is not loaded"))
}

/// Kamailio's answers: "Reload OK", or a fault (500) "Reload failed."
/// (the reason, which Kamailio logs, is not logged: an RPC handler has
/// no logger here).
fn rpc_reload(
    set: &dyn ModuleSet,
    reload: fn(&Permissions) -> Result<(), String>,
) -> Result<Vec<RpcValue>, RpcError> {
    let p = of_set(set)?;
    p.check_reload()?;
    match reload(p) {
        Ok(()) => Ok(vec![RpcValue::Str("Reload OK".into())]),
        Err(_) => Err(RpcError::new(500, "Reload failed.")),
    }
}

fn rpc_trusted_reload(set: &dyn ModuleSet, _args: &[&str]) -> Result<Vec<RpcValue>, RpcError> {
    rpc_reload(set, Permissions::reload_trusted)
}

fn rpc_address_reload(set: &dyn ModuleSet, _args: &[&str]) -> Result<Vec<RpcValue>, RpcError> {
    rpc_reload(set, Permissions::reload_address)
}

/// Adds a matching row's tag to `peer_tag_avp` (Kamailio's `add_avp`).
fn add_tag(ctx: &mut Ctx<'_>, avp: &PvRef, tag: &[u8]) {
    pv::assign(ctx, avp, Value::string(tag.to_vec()));
}

/// A match of the address table: its tag added, as Kamailio's matchers
/// do.
fn tagged(ctx: &mut Ctx<'_>, e: Option<&Entry>) -> Option<u32> {
    let e = e?;
    let avp = Modules::of(ctx).permissions.peer_tag_avp.as_ref();
    if let (Some(avp), Some(tag)) = (avp, &e.tag) {
        add_tag(ctx, avp, tag);
    }
    Some(e.grp)
}

fn source(ctx: &Ctx<'_>) -> (String, u16) {
    (ctx.rcv.src.ip().to_string(), ctx.rcv.src.port())
}

fn group_arg(g: i32) -> Option<u32> {
    u32::try_from(g).ok()
}

/// `allow_source_address()`: the source address and port in group 1.
pub fn allow_source_address(ctx: &mut Ctx<'_>) -> i32 {
    allow_source_address_grp(ctx, 1)
}

/// `allow_source_address(group)`: 1 if the source address and port are in
/// `group` (exact, then subnet), else -1.
pub fn allow_source_address_grp(ctx: &mut Ctx<'_>, grp: i32) -> i32 {
    let Some(grp) = group_arg(grp) else {
        return -1;
    };
    let (ip, port) = source(ctx);
    let Ok(ip) = ip.parse::<IpAddr>() else {
        return -1;
    };
    let t = Modules::of(ctx).permissions.table();
    let e = t
        .exact_entry(Some(grp), ip, port)
        .or_else(|| t.subnet_entry(Some(grp), ip, port));
    if tagged(ctx, e).is_some() { 1 } else { -1 }
}

/// `allow_source_address_group()`: the group of the source address and
/// port (first exact match, else first subnet), or -1.
pub fn allow_source_address_group(ctx: &mut Ctx<'_>) -> i32 {
    let (ip, port) = source(ctx);
    let t = Modules::of(ctx).permissions.table();
    let g = tagged(ctx, t.entry(None, &ip, port));
    to_rc(g)
}

/// `allow_address(group, addr, port)`: 1 if `addr`:`port` is in `group`
/// (an address: exact, then subnet; other text: the domain-name
/// entries), else -1.
pub fn allow_address(ctx: &mut Ctx<'_>, grp: i32, addr: &[u8], port: i32) -> i32 {
    let (Some(grp), Ok(port)) = (group_arg(grp), u16::try_from(port)) else {
        return -1;
    };
    let t = Modules::of(ctx).permissions.table();
    let e = t.entry(Some(grp), &String::from_utf8_lossy(addr), port);
    if tagged(ctx, e).is_some() { 1 } else { -1 }
}

/// `allow_address_group(addr, port)`: the group of `addr`:`port`, or -1.
pub fn allow_address_group(ctx: &mut Ctx<'_>, addr: &[u8], port: i32) -> i32 {
    let Ok(port) = u16::try_from(port) else {
        return -1;
    };
    let addr = String::from_utf8_lossy(addr);
    let t = Modules::of(ctx).permissions.table();
    let g = match addr.parse::<IpAddr>() {
        Ok(_) => tagged(ctx, t.entry(None, &addr, port)),
        // Kamailio's find_group_in_domain_name_table adds no tag.
        Err(_) => t.domain_entry(None, &addr, port).map(|e| e.grp),
    };
    to_rc(g)
}

fn to_rc(g: Option<u32>) -> i32 {
    g.and_then(|g| i32::try_from(g).ok()).unwrap_or(-1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(grp: u32, port: u16) -> Entry {
        Entry {
            grp,
            port,
            tag: None,
        }
    }

    #[test]
    fn exact_then_subnet_then_names() {
        let ip = |s: &str| s.parse::<IpAddr>().expect("ip");
        let t = AddressTable {
            exact: vec![(ip("10.0.0.1"), e(3, 0)), (ip("10.0.0.1"), e(4, 5060))],
            subnets: vec![
                (ip("10.0.0.0"), 8, e(2, 0)),
                (ip("2001:db8::"), 32, e(5, 0)),
            ],
            domains: vec![("gw.example.com".into(), e(6, 0))],
        };
        // The last loaded exact row first, its port matching.
        assert_eq!(t.group(None, "10.0.0.1", 5060), Some(4));
        assert_eq!(t.group(None, "10.0.0.1", 5070), Some(3));
        assert_eq!(t.group(Some(2), "10.0.0.1", 5060), Some(2));
        assert_eq!(t.group(None, "10.9.9.9", 1), Some(2));
        assert_eq!(t.group(None, "11.0.0.1", 1), None);
        assert_eq!(t.group(None, "2001:db8:1::7", 1), Some(5));
        assert_eq!(t.group(None, "gw.example.com", 9), Some(6));
        assert_eq!(t.group(None, "GW.example.com", 9), None);
        assert!(in_net(ip("1.2.3.4"), ip("0.0.0.0"), 0));
    }
}
