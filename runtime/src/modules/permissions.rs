//! permissions — the address table (Kamailio 5.6's permissions,
//! modules-db-auth-media.md §6): `allow_source_address([group])`,
//! `allow_source_address_group()`, `allow_address(group, addr, port)`,
//! `allow_address_group(addr, port)` against the `address` rows loaded at
//! start-up into memory, as Kamailio's `load_backends` bit 1 does.
//!
//! Loading is Kamailio's: `select grp,ip_addr,mask,port,tag from
//! address`; a row with a group that is not a positive integer, an
//! address that is not text, or a NULL mask or port fails the whole load
//! (and the start); an address with the full mask is an exact entry, a
//! shorter mask a subnet (at most `max_subnets`), text that is not an
//! address a domain name (matched by `allow_address` only, as written).
//! Exact entries are searched last-loaded first (Kamailio prepends to its
//! hash chains), subnets by group. Port 0 in a row matches any port.
//!
//! With `load_backends` bit 2 (in the default) and a `db_url`, the
//! `trusted` table's version is checked at start-up as Kamailio's
//! child_init does; `allow_trusted` itself is not supported yet (refused
//! at build), nor the allow/deny files' functions, `address_file`,
//! `peer_tag_avp` and the RPC reload commands.

use std::net::IpAddr;
use std::sync::{Arc, RwLock};

use crate::db::query::Select;
use crate::db::{Connection, DbValue, ModuleDb};
use crate::engine::Ctx;
use crate::engine::module::Module;
use crate::engine::params::{ModParams, ParamError};
use crate::modules::Modules;

const ADDRESS_VERSION: i64 = 6;
const TRUSTED_VERSION: i64 = 6;

/// One row of the address table.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Entry {
    grp: u32,
    port: u16,
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
    fn exact_group(&self, grp: Option<u32>, ip: IpAddr, port: u16) -> Option<u32> {
        self.exact
            .iter()
            .rev()
            .find(|(a, e)| {
                *a == ip && (e.port == 0 || e.port == port) && grp.is_none_or(|g| g == e.grp)
            })
            .map(|(_, e)| e.grp)
    }

    fn subnet_group(&self, grp: Option<u32>, ip: IpAddr, port: u16) -> Option<u32> {
        self.subnets
            .iter()
            .find(|(net, mask, e)| {
                in_net(ip, *net, *mask)
                    && (e.port == 0 || e.port == port)
                    && grp.is_none_or(|g| g == e.grp)
            })
            .map(|(_, _, e)| e.grp)
    }

    fn domain_group(&self, grp: Option<u32>, name: &str, port: u16) -> Option<u32> {
        self.domains
            .iter()
            .rev()
            .find(|(d, e)| {
                d == name && (e.port == 0 || e.port == port) && grp.is_none_or(|g| g == e.grp)
            })
            .map(|(_, e)| e.grp)
    }

    /// The group of the first match of `addr`:`port` (exact, then
    /// subnet; a name in the domain-name entries), in group `grp` if
    /// given.
    fn group(&self, grp: Option<u32>, addr: &str, port: u16) -> Option<u32> {
        match addr.parse::<IpAddr>() {
            Ok(ip) => self
                .exact_group(grp, ip, port)
                .or_else(|| self.subnet_group(grp, ip, port)),
            Err(_) => self.domain_group(grp, addr, port),
        }
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

/// The module's parameters and its loaded table.
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
    tag_col: String,
    trusted_table: String,
    max_subnets: usize,
    table: RwLock<Arc<AddressTable>>,
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
            max_subnets: 512,
            table: RwLock::default(),
        }
    }
}

impl Permissions {
    /// Reads `modparam("permissions", ...)`.
    ///
    /// # Errors
    /// A `db_url` that does not parse, a negative `max_subnets`.
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
        ] {
            if let Some(v) = p.str(m, name) {
                *field = v;
            }
        }
        if let Some(v) = p.int(m, "load_backends")? {
            s.load_backends = v;
        }
        if let Some(v) = p.int(m, "max_subnets")? {
            s.max_subnets = usize::try_from(v)
                .map_err(|_| ParamError::invalid(m, "max_subnets", format!("{v} is negative")))?;
        }
        Ok(s)
    }

    /// Kamailio's mod_init and child_init: the address table loaded (and
    /// its version checked) with `load_backends` bit 1, the trusted
    /// table's version checked with bit 2; nothing without a `db_url`.
    ///
    /// # Errors
    /// The database is unreachable, a version differs, a row is invalid.
    pub fn start(&self) -> Result<(), String> {
        let Some(db) = &self.db else {
            return Ok(());
        };
        let mut c = db.open("permissions")?;
        if self.load_backends & 1 != 0 {
            c.check_version(&self.address_table, ADDRESS_VERSION)
                .map_err(|e| format!("permissions: {e}"))?;
            let t = self
                .load(&mut c)
                .map_err(|e| format!("permissions: failed to load the address table: {e}"))?;
            *self.table.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(t);
        }
        if self.load_backends & 2 != 0 {
            c.check_version(&self.trusted_table, TRUSTED_VERSION)
                .map_err(|e| format!("permissions: {e}"))?;
        }
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
            let e = Entry { grp, port };
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

    fn from_params(params: &ModParams) -> Result<Self, ParamError> {
        Permissions::from_params(params)
    }
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
    if t.exact_group(Some(grp), ip, port).is_some() || t.subnet_group(Some(grp), ip, port).is_some()
    {
        1
    } else {
        -1
    }
}

/// `allow_source_address_group()`: the group of the source address and
/// port (first exact match, else first subnet), or -1.
pub fn allow_source_address_group(ctx: &mut Ctx<'_>) -> i32 {
    let (ip, port) = source(ctx);
    let t = Modules::of(ctx).permissions.table();
    to_rc(t.group(None, &ip, port))
}

/// `allow_address(group, addr, port)`: 1 if `addr`:`port` is in `group`
/// (an address: exact, then subnet; other text: the domain-name
/// entries), else -1.
pub fn allow_address(ctx: &mut Ctx<'_>, grp: i32, addr: &[u8], port: i32) -> i32 {
    let (Some(grp), Ok(port)) = (group_arg(grp), u16::try_from(port)) else {
        return -1;
    };
    let t = Modules::of(ctx).permissions.table();
    if t.group(Some(grp), &String::from_utf8_lossy(addr), port)
        .is_some()
    {
        1
    } else {
        -1
    }
}

/// `allow_address_group(addr, port)`: the group of `addr`:`port`, or -1.
pub fn allow_address_group(ctx: &mut Ctx<'_>, addr: &[u8], port: i32) -> i32 {
    let Ok(port) = u16::try_from(port) else {
        return -1;
    };
    let t = Modules::of(ctx).permissions.table();
    to_rc(t.group(None, &String::from_utf8_lossy(addr), port))
}

fn to_rc(g: Option<u32>) -> i32 {
    g.and_then(|g| i32::try_from(g).ok()).unwrap_or(-1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(grp: u32, port: u16) -> Entry {
        Entry { grp, port }
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
