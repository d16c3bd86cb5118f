//! auth_db — digest credentials from a database table (Kamailio 5.6's
//! auth_db: modules-db-auth-media.md §3): `www_authenticate` /
//! `www_authorize`, `proxy_authenticate` / `proxy_authorize`,
//! `auth_check` (with its identity checks) and `is_subscriber`, on the
//! digest engine of [`crate::modules::auth`] and the database layer
//! ([`crate::db`]).
//!
//! Each worker has its own connection (Kamailio: one per process, opened
//! in child_init), made on first use and remade after a loss by the
//! driver's rules. At start-up the runtime connects once (a failure
//! refuses to start, as Kamailio's child_init does) and checks the
//! `version` row of every table the cfg names in a
//! `www_authenticate`-style call (Kamailio's fixup), unless
//! `version_table` is 0.
//!
//! The order is Kamailio's: credentials chosen and their nonce checked
//! first (a stale nonce is -4 whoever the user is), then the row looked up
//! (none: -3; a database error: -1), then the response (-2). The columns
//! of `load_credentials` are written to their PVs after a success (or
//! whatever the response with `force_generate_avps`).

use cfgc_vocab::PvRef;

use crate::db::query::{Op, Select, Val};
use crate::db::{Connection, DbValue, ModuleDb};
use crate::engine::Ctx;
use crate::engine::module::Module;
use crate::engine::params::{ModParams, ParamError, ParamValue};
use crate::engine::pv;
use crate::engine::value::{OwnedValue, Value};
use crate::modules::Modules;
use crate::modules::auth::Lookup;
use crate::modules::auth::digest::{self, Credentials, rc};
use crate::sip::{Method, Uri};

/// The `subscriber` table version auth_db 5.6 expects.
const TABLE_VERSION: i64 = 7;

/// `auth_check` flag 1: identity checks; 2: none for INVITE, BYE, PRACK,
/// UPDATE, MESSAGE.
const CHECK_ID: i32 = 1;
const CHECK_SKIP_FWD: i32 = 2;
/// `is_subscriber` flag 1: match the domain too; 2: load no credentials.
const SUBS_USE_DOMAIN: i32 = 1;
const SUBS_SKIP_CREDENTIALS: i32 = 2;

/// The module's parameters.
#[derive(Debug)]
pub struct AuthDb {
    db: ModuleDb,
    user_column: String,
    domain_column: String,
    password_column: String,
    password_column_2: String,
    calculate_ha1: bool,
    use_domain: bool,
    /// `load_credentials`: (column, PV) in cfg order.
    credentials: Vec<(String, PvRef)>,
    version_table: bool,
    force_generate_avps: bool,
}

impl Default for AuthDb {
    fn default() -> Self {
        Self {
            db: ModuleDb::default(),
            user_column: "username".into(),
            domain_column: "domain".into(),
            password_column: "ha1".into(),
            password_column_2: "ha1b".into(),
            calculate_ha1: false,
            use_domain: false,
            credentials: Vec::new(),
            version_table: true,
            force_generate_avps: false,
        }
    }
}

impl AuthDb {
    /// Reads `modparam("auth_db", ...)` and the db_* modules' parameters.
    ///
    /// # Errors
    /// A `db_url` that does not parse, a malformed `load_credentials`.
    pub fn from_params(p: &ModParams) -> Result<Self, ParamError> {
        let m = "auth_db";
        let mut a = Self {
            db: ModuleDb::from_params(p, m)?,
            ..Self::default()
        };
        for (name, field) in [
            ("user_column", &mut a.user_column),
            ("domain_column", &mut a.domain_column),
            ("password_column", &mut a.password_column),
            ("password_column_2", &mut a.password_column_2),
        ] {
            if let Some(v) = p.str(m, name) {
                *field = v;
            }
        }
        let flag = |name: &str, default: bool| -> Result<bool, ParamError> {
            Ok(p.int(m, name)?.map_or(default, |v| v != 0))
        };
        a.calculate_ha1 = flag("calculate_ha1", false)?;
        a.use_domain = flag("use_domain", false)?;
        a.version_table = flag("version_table", true)?;
        a.force_generate_avps = flag("force_generate_avps", false)?;
        for v in p.all(m, "load_credentials") {
            match v {
                ParamValue::PvList(l) => a.credentials.extend(l.iter().cloned()),
                // An empty list (the stock cfg's "") loads nothing.
                ParamValue::Str(s) if s.trim().trim_matches(';').is_empty() => {}
                _ => {
                    return Err(ParamError::invalid(
                        m,
                        "load_credentials",
                        "not resolved by the compiler",
                    ));
                }
            }
        }
        Ok(a)
    }

    /// A worker's connection (opened on first use).
    pub fn worker(&self) -> Connection {
        self.db.worker()
    }

    /// Kamailio's start-up: one connection (its failure refuses to start,
    /// as child_init's), and the `version` check of each table in
    /// `tables` (the cfg's `www_authenticate`-style calls) unless
    /// `version_table` is 0.
    ///
    /// # Errors
    /// The database is unreachable, or a table has another version.
    pub fn start(&self, tables: &[&str]) -> Result<(), String> {
        let mut c = self.db.open("auth_db")?;
        if self.version_table {
            for t in tables {
                c.check_version(t, TABLE_VERSION)
                    .map_err(|e| format!("auth_db: {e}"))?;
            }
        }
        Ok(())
    }

    /// The columns of a lookup: `first` then the `load_credentials` ones
    /// in Kamailio's order (its list is built by prepending: reversed).
    fn columns<'s>(&'s self, first: Option<&'s str>) -> Vec<&'s str> {
        first
            .into_iter()
            .chain(self.credentials.iter().rev().map(|(c, _)| c.as_str()))
            .collect()
    }
}

impl Module for AuthDb {
    const NAME: &'static str = "auth_db";

    fn from_params(params: &ModParams) -> Result<Self, ParamError> {
        AuthDb::from_params(params)
    }
}

fn query(ctx: &mut Ctx<'_>, sql: &str) -> Option<crate::db::QueryResult> {
    crate::modules::db_query(ctx, "auth_db", |w| w.auth_db.as_mut(), sql)
}

fn quote(ctx: &Ctx<'_>) -> &'static str {
    Modules::of(ctx).auth_db.db.url.quote()
}

/// Kamailio's `db_val2pv_spec`: numbers as ints, text as strings, NULL as
/// `$null`.
fn pv_value(v: &DbValue) -> OwnedValue {
    match v {
        DbValue::Null => Value::Null,
        DbValue::Int(i) => Value::Int(*i),
        DbValue::BigInt(i) | DbValue::DateTime(i) => {
            i32::try_from(*i).map_or_else(|_| Value::string(i.to_string()), Value::Int)
        }
        DbValue::Double(d) => Value::string(d.to_string()),
        DbValue::Str(s) | DbValue::Blob(s) => Value::string(s.clone()),
    }
}

/// Writes the `load_credentials` columns of `row` (which holds them after
/// `skip` leading columns, in [`AuthDb::columns`]' order) to their PVs.
fn generate_avps(ctx: &mut Ctx<'_>, row: &[DbValue], skip: usize) {
    let a = &Modules::of(ctx).auth_db;
    for (i, (_, pv)) in a.credentials.iter().rev().enumerate() {
        if let Some(v) = row.get(skip + i) {
            pv::assign(ctx, pv, pv_value(v));
        }
    }
}

/// `username[@domain]` split at the first `@` (Kamailio's digest parser).
fn split_username(u: &[u8]) -> (&[u8], Option<&[u8]>) {
    match u.iter().position(|&b| b == b'@') {
        Some(i) => (&u[..i], Some(&u[i + 1..])),
        None => (u, None),
    }
}

/// Kamailio's `digest_authenticate_hdr`: the auth return code, and the
/// credentials' username when a header was checked (not for ACK, CANCEL,
/// PRACK).
fn digest_authenticate(
    ctx: &mut Ctx<'_>,
    realm: &[u8],
    table: &[u8],
    proxy: bool,
    method: Option<&[u8]>,
) -> (i32, Option<Vec<u8>>) {
    let m = Modules::of(ctx);
    let a = &m.auth_db;
    let mut row: Option<Vec<DbValue>> = None;
    let mut username: Option<Vec<u8>> = None;
    let code = m
        .auth
        .authenticate_with(ctx, realm, proxy, method, |ctx, cred| {
            username = Some(cred.username.to_vec());
            let (r, ha1) = get_ha1(ctx, a, cred, realm, table)?;
            if a.force_generate_avps {
                generate_avps(ctx, &r, 1);
            }
            row = Some(r);
            Ok(ha1)
        });
    if let (rc::OK, false, Some(r)) = (code, a.force_generate_avps, &row) {
        generate_avps(ctx, r, 1);
    }
    (code, username)
}

/// Kamailio's `get_ha1`: the row of the credentials' user (and domain:
/// the username's, else the realm, with `use_domain`), and the HA1 it
/// gives (the password column hashed with `calculate_ha1`).
fn get_ha1(
    ctx: &mut Ctx<'_>,
    a: &AuthDb,
    cred: &Credentials<'_>,
    realm: &[u8],
    table: &[u8],
) -> Result<(Vec<DbValue>, Lookup), i32> {
    let (user, domain) = split_username(cred.username);
    let first = if domain.is_some() && !a.calculate_ha1 {
        &a.password_column_2
    } else {
        &a.password_column
    };
    let user = String::from_utf8_lossy(user);
    let domain = String::from_utf8_lossy(domain.unwrap_or(realm));
    let mut conds = vec![(a.user_column.as_str(), Op::Eq, Val::Str(&user))];
    if a.use_domain {
        conds.push((a.domain_column.as_str(), Op::Eq, Val::Str(&domain)));
    }
    let table = String::from_utf8_lossy(table);
    let columns = a.columns(Some(first));
    let sql = Select {
        table: &table,
        columns: &columns,
        conditions: &conds,
        order_by: None,
    }
    .sql(quote(ctx));
    let Some(res) = query(ctx, &sql) else {
        return Err(rc::ERROR);
    };
    let Some(row) = res.rows.into_iter().next() else {
        return Err(rc::USER_UNKNOWN);
    };
    let secret = row.first().and_then(DbValue::text).unwrap_or_default();
    let ha1 = if a.calculate_ha1 {
        // The whole username and the realm as given (not stripped).
        let alg = Modules::of(ctx).auth.algorithm();
        Lookup::Ha1(digest::ha1(alg, cred.username, realm, &secret))
    } else {
        Lookup::Ha1(secret)
    };
    Ok((row, ha1))
}

fn auth_fn(
    ctx: &mut Ctx<'_>,
    realm: &[u8],
    table: &[u8],
    proxy: bool,
    method: Option<&[u8]>,
) -> i32 {
    if table.is_empty() {
        crate::engine::log::error(ctx, "auth_db: invalid table parameter\n");
        return rc::ERROR;
    }
    if realm.is_empty() {
        crate::engine::log::error(ctx, "auth_db: invalid realm parameter - empty value\n");
        return rc::ERROR;
    }
    if method.is_some_and(<[u8]>::is_empty) {
        crate::engine::log::error(ctx, "auth_db: invalid method parameter - empty value\n");
        return rc::ERROR;
    }
    digest_authenticate(ctx, realm, table, proxy, method).0
}

/// `www_authenticate(realm, table)` (and `www_authorize`): the
/// `Authorization` header against the table.
pub fn www_authenticate(ctx: &mut Ctx<'_>, realm: &[u8], table: &[u8]) -> i32 {
    auth_fn(ctx, realm, table, false, None)
}

/// `www_authenticate(realm, table, method)`: HA2 computed with `method`.
pub fn www_authenticate_method(
    ctx: &mut Ctx<'_>,
    realm: &[u8],
    table: &[u8],
    method: &[u8],
) -> i32 {
    auth_fn(ctx, realm, table, false, Some(method))
}

/// `proxy_authenticate(realm, table)` (and `proxy_authorize`): the
/// `Proxy-Authorization` header against the table.
pub fn proxy_authenticate(ctx: &mut Ctx<'_>, realm: &[u8], table: &[u8]) -> i32 {
    auth_fn(ctx, realm, table, true, None)
}

/// A URI of the message (From's, To's), parsed; `None` if it does not.
fn uri_of(v: &Value<'_>) -> Option<(Vec<u8>, Vec<u8>)> {
    let Value::Str(s) = v else { return None };
    let u = Uri::parse(s).ok()?;
    Some((u.user.unwrap_or_default().to_vec(), u.host.to_vec()))
}

/// `auth_check(realm, table, flags)`: REGISTER is checked against
/// `Authorization`, anything else against `Proxy-Authorization`; with
/// flag 1 the credentials' user must be To's user (REGISTER, PUBLISH;
/// From and To users equal too, hosts too with `use_domain`; PUBLISH:
/// From and R-URI too) or From's (others; not for INVITE, BYE, PRACK,
/// UPDATE, MESSAGE with flag 2): -8 otherwise. ACK and CANCEL: 1.
pub fn auth_check(ctx: &mut Ctx<'_>, realm: &[u8], table: &[u8], flags: i32) -> i32 {
    let method = ctx.msg.method();
    if matches!(method, Some(Method::Ack | Method::Cancel)) {
        return rc::OK;
    }
    if realm.is_empty() {
        crate::engine::log::error(ctx, "auth_db: invalid realm parameter - empty value\n");
        return rc::ERROR;
    }
    if table.is_empty() {
        crate::engine::log::error(ctx, "auth_db: invalid table parameter - empty value\n");
        return rc::ERROR;
    }
    let register = matches!(method, Some(Method::Register));
    let (code, username) = digest_authenticate(ctx, realm, table, !register, None);
    let Some(username) = username else {
        return code;
    };
    if code != rc::OK || flags & CHECK_ID == 0 {
        return code;
    }
    let (suser, _) = split_username(&username);
    let Some(furi) = uri_of(&pv::from_uri(ctx)) else {
        return rc::ERROR;
    };
    let publish = matches!(method, Some(Method::Publish));
    let turi = if register || publish {
        match uri_of(&pv::to_uri(ctx)) {
            Some(t) => Some(t),
            None => return rc::ERROR,
        }
    } else {
        None
    };
    let uri = turi.as_ref().unwrap_or(&furi);
    let skip = flags & CHECK_SKIP_FWD != 0
        && matches!(
            method,
            Some(Method::Invite | Method::Bye | Method::Prack | Method::Update | Method::Message)
        );
    if !skip && suser != uri.0.as_slice() {
        return rc::USER_MISMATCH;
    }
    if let Some(turi) = &turi {
        let use_domain = Modules::of(ctx).auth_db.use_domain;
        if furi.0 != turi.0 || (use_domain && furi.1 != turi.1) {
            return rc::USER_MISMATCH;
        }
        if publish {
            let ruser = pv::r_user(ctx).into_owned();
            let rhost = pv::r_domain(ctx).into_owned();
            let bytes = |v: &OwnedValue| match v {
                Value::Str(s) => s.to_vec(),
                _ => Vec::new(),
            };
            if rhost.is_null() {
                return rc::ERROR;
            }
            if furi.0 != bytes(&ruser) || (use_domain && furi.1 != bytes(&rhost)) {
                return rc::USER_MISMATCH;
            }
        }
    }
    rc::OK
}

/// `is_subscriber(uri, table, flags)`: 1 if the table has a row for the
/// URI's user (and host with flag 1), its `load_credentials` columns
/// written unless flag 2; -2 no row; -1 a bad URI, an empty table, a
/// database error.
pub fn is_subscriber(ctx: &mut Ctx<'_>, uri: &[u8], table: &[u8], flags: i32) -> i32 {
    if uri.is_empty() {
        crate::engine::log::error(ctx, "auth_db: invalid uri parameter - empty value\n");
        return -1;
    }
    let Ok(u) = Uri::parse(uri) else {
        crate::engine::log::error(ctx, "auth_db: invalid uri parameter format\n");
        return -1;
    };
    if table.is_empty() {
        crate::engine::log::error(ctx, "auth_db: invalid table parameter - empty value\n");
        return -1;
    }
    let a = &Modules::of(ctx).auth_db;
    let user = String::from_utf8_lossy(u.user.unwrap_or_default()).into_owned();
    let host = String::from_utf8_lossy(u.host).into_owned();
    let mut conds = vec![(a.user_column.as_str(), Op::Eq, Val::Str(&user))];
    if flags & SUBS_USE_DOMAIN != 0 && !host.is_empty() {
        conds.push((a.domain_column.as_str(), Op::Eq, Val::Str(&host)));
    }
    let skip = flags & SUBS_SKIP_CREDENTIALS != 0;
    let columns = if skip {
        vec![a.user_column.as_str()]
    } else {
        a.columns(None)
    };
    let table = String::from_utf8_lossy(table);
    let q = quote(ctx);
    let sql = if columns.is_empty() {
        // Kamailio prints an empty column list (`select  from ...`),
        // which no database accepts: the query fails.
        let mut s = Select {
            table: &table,
            columns: &[],
            conditions: &conds,
            order_by: None,
        }
        .sql(q);
        s.replace_range(.."select * ".len(), "select  ");
        s
    } else {
        Select {
            table: &table,
            columns: &columns,
            conditions: &conds,
            order_by: None,
        }
        .sql(q)
    };
    let Some(res) = query(ctx, &sql) else {
        return -1;
    };
    let Some(row) = res.rows.into_iter().next() else {
        return -2;
    };
    if !skip {
        generate_avps(ctx, &row, 0);
    }
    1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_and_columns() {
        let mut p = ModParams::new();
        p.push(
            "auth_db",
            "db_url",
            ParamValue::Str("sqlite:///tmp/x.db".into()),
        );
        p.push("auth_db", "calculate_ha1", ParamValue::Int(1));
        p.push(
            "auth_db",
            "password_column",
            ParamValue::Str("password".into()),
        );
        p.push(
            "auth_db",
            "load_credentials",
            ParamValue::PvList(vec![
                ("a".into(), PvRef::Avp(0, 0)),
                ("b".into(), PvRef::Var(1)),
            ]),
        );
        let a = AuthDb::from_params(&p).expect("valid");
        assert!(a.calculate_ha1 && !a.use_domain && a.version_table);
        assert_eq!(a.columns(Some("password")), ["password", "b", "a"]);
        assert_eq!(a.columns(None), ["b", "a"]);
        let d = AuthDb::default();
        assert_eq!(
            Some(&d.db.url),
            crate::db::DbUrl::parse(crate::db::DEFAULT_RO_URL)
                .ok()
                .as_ref()
        );
        assert_eq!(d.password_column, "ha1");
        let mut bad = ModParams::new();
        bad.push("auth_db", "db_url", ParamValue::Str("nonsense".into()));
        assert!(AuthDb::from_params(&bad).is_err());
    }

    #[test]
    fn usernames_split_at_the_first_at() {
        assert_eq!(split_username(b"alice"), (&b"alice"[..], None));
        assert_eq!(
            split_username(b"alice@a@b"),
            (&b"alice"[..], Some(&b"a@b"[..]))
        );
    }
}
