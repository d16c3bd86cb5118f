//! Kamailio's database API (srdb1) as the cfg sees it: `db_url`s, one
//! connection per worker and URL, the SQL Kamailio's helpers generate,
//! the `version` table check, reconnects, and failures returned as
//! errors (the caller logs them and answers the script a negative code;
//! nothing here panics). modules-db-auth-media.md §1.
//!
//! Drivers, each behind [`Driver`], picked by the URL's scheme as Kamailio
//! picks `db_<scheme>`:
//! * `sqlite:///path` — [`rusqlite`] with its `bundled` SQLite: the most
//!   used SQLite binding, maintained, and bundling makes the build
//!   independent of the host's libsqlite3 (no C library to install).
//! * `mysql://` (MySQL, MariaDB) — the [`mysql`] crate (rust-mysql-simple):
//!   synchronous, pure Rust (`minimal-rust`: no OpenSSL, no libmysqlclient),
//!   maintained for a decade, the sync twin of `mysql_async`. The script
//!   runs synchronously on a worker thread and Kamailio blocks its worker
//!   on a query too, so a blocking client is the faithful choice.
//! * `postgres://` — the [`postgres`] crate: the synchronous wrapper of
//!   `tokio-postgres` (rust-postgres), the reference Rust client, pure Rust.
//!   Its tokio is the one the runtime already links.
//!
//! sqlx (async, compile-time checked queries) buys nothing here: every
//! query is built at run time, by the script or by a module.

mod mysql;
mod postgres;
pub mod query;
mod sqlite;

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::engine::params::{ModParams, ParamError, ParamValue};

/// A parsed `db_url` (`scheme://[user[:password]@]host[:port]/database`).
#[derive(Clone, PartialEq, Eq)]
pub struct DbUrl {
    /// The scheme: which `db_<scheme>` module serves it.
    pub scheme: String,
    pub user: Option<String>,
    pub password: Option<String>,
    pub host: String,
    pub port: Option<u16>,
    /// The database name; for SQLite the file's path.
    pub database: String,
    /// The URL as written (Kamailio pools connections by it).
    pub text: String,
}

impl fmt::Debug for DbUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print the password.
        f.debug_struct("DbUrl")
            .field("scheme", &self.scheme)
            .field("user", &self.user)
            .field("host", &self.host)
            .field("port", &self.port)
            .field("database", &self.database)
            .finish()
    }
}

impl fmt::Display for DbUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://", self.scheme)?;
        if let Some(u) = &self.user {
            write!(f, "{u}@")?;
        }
        write!(f, "{}", self.host)?;
        if let Some(p) = self.port {
            write!(f, ":{p}")?;
        }
        write!(f, "/{}", self.database)
    }
}

impl DbUrl {
    /// The identifier quote of its driver (backtick for MySQL, none else).
    pub fn quote(&self) -> &'static str {
        if self.scheme == "mysql" { "`" } else { "" }
    }

    /// Parses a `db_url` as Kamailio's `db_id` parser does (§1.1): the
    /// password ends at the last `@`, the database is everything after
    /// the first `/` that follows the host (up to a `?`), `[v6]` hosts
    /// lose their brackets. SQLite's path is absolute: Kamailio works in
    /// `/`, so `sqlite:///a/b.db` and `sqlite:////a/b.db` are `/a/b.db`.
    ///
    /// # Errors
    /// No `scheme://`, shorter than `s://a/b`, or no `/database`.
    pub fn parse(url: &str) -> Result<Self, DbError> {
        let bad =
            |why: &str| DbError::new(ErrorKind::Url, format!("invalid db_url `{url}`: {why}"));
        if url.len() < 7 {
            return Err(bad("too short"));
        }
        let (scheme, rest) = url.split_once("://").ok_or_else(|| bad("no `scheme://`"))?;
        if scheme.is_empty() {
            return Err(bad("no scheme"));
        }
        // The password ends at the last `@` (it may hold `/` and `@`).
        let (auth, after) = match rest.rfind('@') {
            Some(at) => (Some(&rest[..at]), &rest[at + 1..]),
            None => (None, rest),
        };
        let slash = after.find('/').ok_or_else(|| bad("no `/database`"))?;
        let (hostport, db) = (&after[..slash], &after[slash + 1..]);
        let db = db.split('?').next().unwrap_or("");
        let (user, password) = match auth {
            None => (None, None),
            Some(a) => match a.split_once(':') {
                Some((u, p)) => (Some(u.to_string()), Some(p.to_string())),
                None => (Some(a.to_string()), None),
            },
        };
        let (host, port) = split_host_port(hostport);
        let database = if scheme == "sqlite" && !db.starts_with('/') {
            format!("/{db}")
        } else {
            db.to_string()
        };
        if database.is_empty() {
            return Err(bad("no database name"));
        }
        Ok(Self {
            scheme: scheme.to_string(),
            user,
            password,
            host,
            port,
            database,
            text: url.to_string(),
        })
    }
}

/// `host[:port]`, `[v6][:port]`; the port read leniently (digits only,
/// as `str2s`), a missing or bad one is the driver's default.
fn split_host_port(s: &str) -> (String, Option<u16>) {
    if let Some(inner) = s.strip_prefix('[')
        && let Some(end) = inner.find(']')
    {
        let (h, tail) = (&inner[..end], &inner[end + 1..]);
        let port = tail.strip_prefix(':').and_then(|p| p.parse().ok());
        if h.parse::<std::net::Ipv6Addr>().is_ok() {
            return (h.to_string(), port);
        }
        // Not an address: db_mysql's `[group]`, kept as written.
        return (s.to_string(), None);
    }
    match s.rsplit_once(':') {
        Some((h, p)) => (h.to_string(), p.parse().ok()),
        None => (s.to_string(), None),
    }
}

/// Kamailio's read-only default URL (`DEFAULT_RODB_URL`), the `db_url` of
/// auth_db, alias_db, speeddial... when the cfg sets none.
pub const DEFAULT_RO_URL: &str = "mysql://kamailioro:kamailioro@localhost/kamailio";

/// [`DEFAULT_RO_URL`], parsed.
pub fn default_ro_url() -> DbUrl {
    DbUrl {
        scheme: "mysql".into(),
        user: Some("kamailioro".into()),
        password: Some("kamailioro".into()),
        host: "localhost".into(),
        port: None,
        database: "kamailio".into(),
        text: DEFAULT_RO_URL.into(),
    }
}

/// Why a database operation failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// The URL does not parse or names no driver.
    Url,
    /// Connecting failed.
    Connect,
    /// The connection is gone (server restarted, killed, network): the
    /// caller may reconnect and retry.
    Lost,
    /// The statement failed (syntax, constraint, lock...).
    Query,
}

/// A failed database operation: the kind and the driver's message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DbError {
    pub kind: ErrorKind,
    pub message: String,
}

impl DbError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }
}

impl fmt::Display for DbError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for DbError {}

/// A column's type, as Kamailio's `db_type_t` (what sqlops turns into a
/// PV value).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DbType {
    Int,
    BigInt,
    Double,
    Str,
    Blob,
    DateTime,
}

/// One value of a result row.
#[derive(Clone, Debug, PartialEq)]
pub enum DbValue {
    Null,
    Int(i32),
    BigInt(i64),
    Double(f64),
    Str(Vec<u8>),
    Blob(Vec<u8>),
    /// Unix seconds.
    DateTime(i64),
}

impl DbValue {
    /// The value as Kamailio's modules read a text column (`string_val`,
    /// up to a NUL; numbers in decimal); `None` for NULL.
    pub fn text(&self) -> Option<Vec<u8>> {
        Some(match self {
            DbValue::Null => return None,
            DbValue::Str(s) | DbValue::Blob(s) => {
                s.iter().take_while(|&&b| b != 0).copied().collect()
            }
            DbValue::Int(i) => i.to_string().into_bytes(),
            DbValue::BigInt(i) | DbValue::DateTime(i) => i.to_string().into_bytes(),
            DbValue::Double(d) => d.to_string().into_bytes(),
        })
    }
}

/// What a statement answered: columns and rows (none for statements
/// without a result set), and the rows it changed.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct QueryResult {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<DbValue>>,
    pub affected: u64,
}

/// One open connection of a driver.
pub trait Driver: Send {
    /// Runs `sql` as written (Kamailio's `raw_query`).
    ///
    /// # Errors
    /// [`ErrorKind::Lost`] when the connection is gone, else
    /// [`ErrorKind::Query`].
    fn raw_query(&mut self, sql: &str) -> Result<QueryResult, DbError>;
    /// Checks the connection (db_mysql's `mysql_ping`).
    ///
    /// # Errors
    /// The connection is gone.
    fn ping(&mut self) -> Result<(), DbError> {
        self.raw_query("select 1").map(|_| ())
    }
    /// How its identifiers are quoted (backtick for MySQL, none else).
    fn quote(&self) -> &'static str {
        ""
    }
}

/// The db_* modules' parameters (db_mysql, db_postgres, db_sqlite), read
/// once at start-up and shared by every connection.
#[derive(Clone, Debug)]
pub struct Params {
    /// db_mysql `auto_reconnect` (1): retry a query after a lost
    /// connection, up to 3 times.
    pub mysql_auto_reconnect: bool,
    /// db_mysql `ping_interval` (300 s): ping before a query on a
    /// connection idle that long.
    pub mysql_ping_interval: Duration,
    /// db_mysql `timeout_interval` (2 s): connect, read and write timeout.
    pub mysql_timeout: Duration,
    /// db_postgres `retries` (2): extra attempts after a lost connection.
    pub pg_retries: u32,
    /// db_sqlite `db_set_readonly`: files opened read-only.
    pub sqlite_readonly: Vec<String>,
    /// db_sqlite `db_set_journal_mode`: `(file, MODE)`.
    pub sqlite_journal: Vec<(String, String)>,
}

impl Default for Params {
    fn default() -> Self {
        Self {
            mysql_auto_reconnect: true,
            mysql_ping_interval: Duration::from_secs(300),
            mysql_timeout: Duration::from_secs(2),
            pg_retries: 2,
            sqlite_readonly: Vec::new(),
            sqlite_journal: Vec::new(),
        }
    }
}

impl Params {
    /// Reads the db_* modules' `modparam`s.
    ///
    /// # Errors
    /// A value that is not a number, a negative one, a journal mode
    /// without `=`.
    pub fn from_params(p: &ModParams) -> Result<Self, ParamError> {
        let d = Self::default();
        let secs = |m: &str, n: &str, default: Duration| -> Result<Duration, ParamError> {
            match p.int(m, n)? {
                None => Ok(default),
                Some(v) => u64::try_from(v)
                    .map(Duration::from_secs)
                    .map_err(|_| ParamError::invalid(m, n, format!("{v} is negative"))),
            }
        };
        let strs = |m: &'static str, n: &'static str| -> Vec<String> {
            p.all(m, n)
                .map(|v| match v {
                    ParamValue::Int(i) => i.to_string(),
                    ParamValue::Str(s) => s.clone(),
                    ParamValue::PvList(_) => String::new(),
                })
                .collect()
        };
        let mut journal = Vec::new();
        for v in strs("db_sqlite", "db_set_journal_mode") {
            // `path=MODE;`, as db_sqlite reads it.
            let v = v.trim().trim_end_matches(';');
            let (path, mode) = v.split_once('=').ok_or_else(|| {
                ParamError::invalid(
                    "db_sqlite",
                    "db_set_journal_mode",
                    format!("`{v}` has no `=`"),
                )
            })?;
            // Kamailio's check applies WAL, DELETE, MEMORY and OFF and
            // silently ignores the others (§1.1).
            let mode = mode.trim().to_ascii_uppercase();
            if ["WAL", "DELETE", "MEMORY", "OFF"].contains(&mode.as_str()) {
                journal.push((path.trim().to_string(), mode));
            }
        }
        Ok(Self {
            mysql_auto_reconnect: p
                .int("db_mysql", "auto_reconnect")?
                .map_or(d.mysql_auto_reconnect, |v| v != 0),
            mysql_ping_interval: secs("db_mysql", "ping_interval", d.mysql_ping_interval)?,
            mysql_timeout: secs("db_mysql", "timeout_interval", d.mysql_timeout)?,
            pg_retries: match p.int("db_postgres", "retries")? {
                None => d.pg_retries,
                Some(v) => u32::try_from(v).unwrap_or(0),
            },
            sqlite_readonly: strs("db_sqlite", "db_set_readonly"),
            sqlite_journal: journal,
        })
    }
}

/// What each database module keeps: its `db_url` and the db_* modules'
/// parameters; it opens the start-up connection and makes the workers'.
#[derive(Clone, Debug)]
pub struct ModuleDb {
    pub url: DbUrl,
    params: Arc<Params>,
}

impl Default for ModuleDb {
    fn default() -> Self {
        Self {
            url: default_ro_url(),
            params: Arc::default(),
        }
    }
}

impl ModuleDb {
    /// `modparam(module, "db_url")` ([`DEFAULT_RO_URL`] when unset) and
    /// the db_* modules' parameters.
    ///
    /// # Errors
    /// A `db_url` that does not parse, a bad db_* parameter.
    pub fn from_params(p: &ModParams, module: &str) -> Result<Self, ParamError> {
        let params = Arc::new(Params::from_params(p)?);
        let url = match p.str(module, "db_url") {
            Some(u) => {
                DbUrl::parse(&u).map_err(|e| ParamError::invalid(module, "db_url", e.message))?
            }
            None => default_ro_url(),
        };
        Ok(Self { url, params })
    }

    /// A worker's connection, opened on first use.
    pub fn worker(&self) -> Connection {
        Connection::lazy(self.url.clone(), self.params.clone())
    }

    /// A connection opened now (the start-up one, as Kamailio's mod_init
    /// and child_init open theirs).
    ///
    /// # Errors
    /// `module`'s message: the database is unreachable.
    pub fn open(&self, module: &str) -> Result<Connection, String> {
        Connection::open(self.url.clone(), self.params.clone()).map_err(|e| {
            format!(
                "{module}: unable to connect to the database {}: {e}",
                self.url
            )
        })
    }
}

/// The connections of a module that writes from any worker and from its
/// timer (usrloc, acc): whoever runs a statement takes a free connection
/// (or opens one) and gives it back, so no worker waits for another's.
#[derive(Debug)]
pub struct Pool {
    db: ModuleDb,
    free: std::sync::Mutex<Vec<Connection>>,
}

impl Pool {
    /// A pool on `db`, with no connection yet.
    pub fn new(db: ModuleDb) -> Self {
        Self {
            db,
            free: std::sync::Mutex::default(),
        }
    }

    /// The database's URL.
    pub fn url(&self) -> &DbUrl {
        &self.db.url
    }

    fn free(&self) -> std::sync::MutexGuard<'_, Vec<Connection>> {
        self.free
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Runs `f` on a free connection (a new one, connected on first use,
    /// if none is free).
    pub fn with<R>(&self, f: impl FnOnce(&mut Connection) -> R) -> R {
        let mut c = self.free().pop().unwrap_or_else(|| self.db.worker());
        let r = f(&mut c);
        self.free().push(c);
        r
    }

    /// Connects now (start-up, as Kamailio's child_init) and runs `f` on
    /// that connection, which then joins the pool.
    ///
    /// # Errors
    /// `module`'s message: the database is unreachable; or `f`'s.
    pub fn open<R>(
        &self,
        module: &str,
        f: impl FnOnce(&mut Connection) -> Result<R, String>,
    ) -> Result<R, String> {
        let mut c = self.db.open(module)?;
        let r = f(&mut c);
        self.free().push(c);
        r
    }
}

/// Opens a driver connection for `url`.
fn connect(url: &DbUrl, params: &Params) -> Result<Box<dyn Driver>, DbError> {
    match url.scheme.as_str() {
        "sqlite" => sqlite::Sqlite::open(url, params).map(|d| Box::new(d) as Box<dyn Driver>),
        "mysql" => mysql::Mysql::open(url, params).map(|d| Box::new(d) as Box<dyn Driver>),
        "postgres" => postgres::Postgres::open(url).map(|d| Box::new(d) as Box<dyn Driver>),
        other => Err(DbError::new(
            ErrorKind::Url,
            format!("Module db_{other} not found"),
        )),
    }
}

/// A worker's connection to one `db_url`: connects when first used (or at
/// once with [`Connection::open`]), reconnects after a loss as the
/// driver's Kamailio module does (db_mysql: `auto_reconnect`, up to 3
/// retries; db_postgres: `retries`; SQLite: never needed).
pub struct Connection {
    url: DbUrl,
    params: Arc<Params>,
    driver: Option<Box<dyn Driver>>,
    last_used: Instant,
}

impl fmt::Debug for Connection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connection")
            .field("url", &self.url)
            .field("connected", &self.driver.is_some())
            .finish()
    }
}

impl Connection {
    /// A connection that connects on first use.
    pub fn lazy(url: DbUrl, params: Arc<Params>) -> Self {
        Self {
            url,
            params,
            driver: None,
            last_used: Instant::now(),
        }
    }

    /// A connection, connected now.
    ///
    /// # Errors
    /// The connection fails.
    pub fn open(url: DbUrl, params: Arc<Params>) -> Result<Self, DbError> {
        let mut c = Self::lazy(url, params);
        c.driver = Some(connect(&c.url, &c.params)?);
        Ok(c)
    }

    pub fn url(&self) -> &DbUrl {
        &self.url
    }

    /// Whether a driver connection is open now.
    pub fn is_connected(&self) -> bool {
        self.driver.is_some()
    }

    /// How many times a statement is retried after a lost connection.
    fn retries(&self) -> u32 {
        match self.url.scheme.as_str() {
            "mysql" if self.params.mysql_auto_reconnect => 3,
            "postgres" => self.params.pg_retries,
            _ => 0,
        }
    }

    /// Runs `sql` as written, reconnecting first if the connection was
    /// lost (and, for MySQL, pinging a connection idle longer than
    /// `ping_interval`).
    ///
    /// # Errors
    /// Connecting failed, or the statement failed (after the retries a
    /// lost connection allows).
    pub fn raw_query(&mut self, sql: &str) -> Result<QueryResult, DbError> {
        let retries = self.retries();
        let mut attempt = 0;
        loop {
            let r = self.try_query(sql);
            match r {
                Err(e) if e.kind == ErrorKind::Lost || e.kind == ErrorKind::Connect => {
                    self.driver = None;
                    if attempt >= retries {
                        return Err(e);
                    }
                    attempt += 1;
                }
                r => return r,
            }
        }
    }

    fn try_query(&mut self, sql: &str) -> Result<QueryResult, DbError> {
        let idle = self.last_used.elapsed();
        self.last_used = Instant::now();
        let driver = match &mut self.driver {
            Some(d) => {
                if self.url.scheme == "mysql" && idle > self.params.mysql_ping_interval {
                    d.ping()?;
                }
                d
            }
            None => self.driver.insert(connect(&self.url, &self.params)?),
        };
        driver.raw_query(sql)
    }

    /// The identifier quote of this connection's driver.
    pub fn quote(&self) -> &'static str {
        if self.url.scheme == "mysql" { "`" } else { "" }
    }

    /// The `version` table check every Kamailio module with a table does
    /// at start-up (§1.3): the row of `table` must hold `expected`.
    ///
    /// # Errors
    /// The query fails, more than one row or a value that is not a
    /// number, or another version (no row is version 0): Kamailio's
    /// "invalid version N for table T found, expected M".
    pub fn check_version(&mut self, table: &str, expected: i64) -> Result<(), DbError> {
        let found = self.table_version(table)?;
        if found == expected {
            Ok(())
        } else {
            Err(DbError::new(
                ErrorKind::Query,
                format!("invalid version {found} for table {table} found, expected {expected}"),
            ))
        }
    }

    /// The `version` row of `table` (Kamailio's `db_table_version`: 0
    /// when there is none), for a module that accepts several.
    ///
    /// # Errors
    /// The query fails, more than one row or a value that is not a
    /// number.
    pub fn table_version(&mut self, table: &str) -> Result<i64, DbError> {
        let q = query::Select {
            table: "version",
            columns: &["table_version"],
            conditions: &[("table_name", query::Op::Eq, query::Val::Str(table))],
            order_by: None,
        }
        .sql(self.quote());
        let r = self.raw_query(&q)?;
        let found = match r.rows.as_slice() {
            [] => 0,
            [row] => match row.first() {
                Some(DbValue::Int(v)) => i64::from(*v),
                Some(DbValue::BigInt(v)) => *v,
                Some(DbValue::Str(s)) => std::str::from_utf8(s)
                    .ok()
                    .and_then(|s| s.trim().parse().ok())
                    .ok_or_else(|| {
                        DbError::new(
                            ErrorKind::Query,
                            format!("invalid version for table {table}"),
                        )
                    })?,
                _ => {
                    return Err(DbError::new(
                        ErrorKind::Query,
                        format!("invalid version for table {table}"),
                    ));
                }
            },
            _ => {
                return Err(DbError::new(
                    ErrorKind::Query,
                    format!("invalid number of rows in version table for {table}"),
                ));
            }
        };
        Ok(found)
    }
}

#[cfg(test)]
mod tests;

/// `YYYY-MM-DD[ HH:MM:SS]` in the process's local time zone as Unix
/// seconds (Kamailio's `strptime` + `mktime`).
pub(crate) fn local_time(s: &str) -> Option<i64> {
    let s = s.trim();
    let (date, time) = s.split_once([' ', 'T']).unwrap_or((s, "00:00:00"));
    let mut d = date.splitn(3, '-').map(|p| p.parse::<i32>().ok());
    let (y, mo, da) = (d.next()??, d.next()??, d.next()??);
    let mut t = time
        .splitn(3, ':')
        .map(|p| p.get(..2.min(p.len())).and_then(|p| p.parse::<i32>().ok()));
    let (h, mi, se) = (
        t.next().flatten().unwrap_or(0),
        t.next().flatten().unwrap_or(0),
        t.next().flatten().unwrap_or(0),
    );
    // SAFETY: `tm` is a plain C struct, zero is a valid value for each of
    // its fields; `mktime` only reads and normalises it.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = da;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = se;
    tm.tm_isdst = -1;
    // SAFETY: `tm` is a valid, exclusively borrowed `struct tm`.
    let t = unsafe { libc::mktime(&raw mut tm) };
    (t != -1).then_some(t)
}

/// A DATETIME value as a driver writes it (§14.1): a Julian day (REAL)
/// for SQLite (db_sqlite binds `timetojulianday`), else the local-time
/// text `YYYY-MM-DD HH:MM:SS` (db_mysql, db_postgres).
#[derive(Clone, Debug, PartialEq)]
pub enum DateTime {
    Julian(f64),
    Text(String),
}

impl DateTime {
    /// `unix` seconds as `url`'s driver writes them.
    pub fn new(url: &DbUrl, unix: i64) -> Self {
        if url.scheme == "sqlite" {
            #[allow(clippy::cast_precision_loss)]
            let days = unix as f64 / 86_400.0 + 2_440_587.5;
            Self::Julian(days)
        } else {
            Self::Text(local_text(unix))
        }
    }

    /// The value in a statement.
    pub fn val(&self) -> query::Val<'_> {
        match self {
            Self::Julian(d) => query::Val::Double(*d),
            Self::Text(s) => query::Val::Str(s),
        }
    }
}

/// Unix seconds as `YYYY-MM-DD HH:MM:SS` in the local time zone
/// (Kamailio's `localtime` + `strftime`).
pub(crate) fn local_text(unix: i64) -> String {
    // SAFETY: `tm` is a plain C struct, zero is a valid value for each of
    // its fields.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    let t: libc::time_t = unix;
    // SAFETY: both pointers are valid for the call; localtime_r is the
    // reentrant form and writes only `tm`.
    if unsafe { libc::localtime_r(&raw const t, &raw mut tm) }.is_null() {
        return "1970-01-01 00:00:00".into();
    }
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
        tm.tm_year + 1900,
        tm.tm_mon + 1,
        tm.tm_mday,
        tm.tm_hour,
        tm.tm_min,
        tm.tm_sec
    )
}
