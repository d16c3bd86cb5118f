//! sqlops — SQL queries from the script (Kamailio 5.6's sqlops:
//! modules-db-auth-media.md §10): `sql_query`, `sql_xquery`,
//! `sql_pvquery`, `sql_result_free`, `$dbr(res=>...)` and
//! `$sqlrows(con)`, over the runtime's database layer (`crate::db`).
//!
//! Each worker has its own connection per `sqlcon` (Kamailio: one per
//! process, opened in child_init) and its own result containers
//! (Kamailio's live in process memory too). With `connect_mode` 0 every
//! connection is tried once at start-up and a failure refuses to start,
//! as Kamailio's child_init failure does; workers then connect on first
//! use and reconnect after a loss (the driver's rules, `crate::db`).
//! A failing query is logged and answers -1; no connection at all with
//! `connect_mode` 1 answers -2.
//!
//! Not here yet (refused at build: no binding): `sql_query_async`, the
//! `{sql.*}` transformations; in `sql_pvquery`'s list, writable PVs of
//! modules the runtime lacks (`$sht`...).

use std::borrow::Cow;
use std::sync::Arc;

use cfgc_vocab::{DbrKey, PvRef};

use crate::engine::pv;
use crate::engine::value::OwnedValue;
use crate::engine::xavp;

use crate::db::{Connection, DbUrl, DbValue, Params, QueryResult};
use crate::engine::Ctx;
use crate::engine::module::Module;
use crate::engine::params::{ModParams, ParamError, ParamValue};
use crate::engine::value::Value;
use crate::modules::{Modules, WorkerModules};

/// The module's configuration: the connections and the result names.
#[derive(Debug, Default)]
pub struct Sqlops {
    /// `sqlcon`: name and URL, in order.
    cons: Vec<(String, DbUrl)>,
    /// `results_maxsize` (32): how many result containers a worker keeps.
    results_maxsize: usize,
    /// `connect_mode` (0): 1 = start even if a database is unreachable.
    connect_mode: i32,
    /// The db_* modules' parameters.
    db: Arc<Params>,
}

/// One result container (`sql_query`'s third argument).
#[derive(Debug, Default, Clone)]
struct Container {
    name: String,
    columns: Vec<String>,
    rows: Vec<Vec<DbValue>>,
}

/// A worker's connections (one per `sqlcon`), results and row counts.
#[derive(Debug, Default)]
pub struct Worker {
    cons: Vec<Connection>,
    /// The rows the last statement on each connection changed.
    affected: Vec<u64>,
    results: Vec<Container>,
}

impl Sqlops {
    /// Reads `modparam("sqlops", ...)` and the db_* modules' parameters;
    /// with `connect_mode` 0, connects to each database once.
    ///
    /// # Errors
    /// A `sqlcon` without `=>`, a bad or duplicate name, a URL that does
    /// not parse, a database unreachable at start-up.
    pub fn from_params(p: &ModParams) -> Result<Self, ParamError> {
        let m = "sqlops";
        let db = Arc::new(Params::from_params(p)?);
        let results_maxsize = p.int(m, "results_maxsize")?.unwrap_or(32);
        let results_maxsize = usize::try_from(results_maxsize).map_err(|_| {
            ParamError::invalid(
                m,
                "results_maxsize",
                format!("{results_maxsize} is negative"),
            )
        })?;
        let connect_mode = p.int(m, "connect_mode")?.unwrap_or(0);
        let mut cons: Vec<(String, DbUrl)> = Vec::new();
        for v in p.all(m, "sqlcon") {
            let ParamValue::Str(s) = v else {
                return Err(ParamError::invalid(m, "sqlcon", "not `name=>db_url`"));
            };
            let (name, url) = s
                .split_once("=>")
                .ok_or_else(|| ParamError::invalid(m, "sqlcon", format!("`{s}` has no `=>`")))?;
            let (name, url) = (name.trim(), url.trim());
            if name.is_empty() || cons.iter().any(|(n, _)| n == name) {
                return Err(ParamError::invalid(
                    m,
                    "sqlcon",
                    format!("invalid or duplicate connection name `{name}`"),
                ));
            }
            let url = DbUrl::parse(url).map_err(|e| ParamError::invalid(m, "sqlcon", e.message))?;
            cons.push((name.to_string(), url));
        }
        if connect_mode == 0 {
            for (name, url) in &cons {
                Connection::open(url.clone(), db.clone()).map_err(|e| {
                    ParamError::invalid(
                        m,
                        "sqlcon",
                        format!("failed to connect to the database `{name}` ({url}): {e}"),
                    )
                })?;
            }
        }
        Ok(Self {
            cons,
            results_maxsize,
            connect_mode,
            db,
        })
    }

    /// A worker's state: its (not yet open) connections.
    pub fn worker(&self) -> Worker {
        Worker {
            cons: self
                .cons
                .iter()
                .map(|(_, u)| Connection::lazy(u.clone(), self.db.clone()))
                .collect(),
            affected: vec![0; self.cons.len()],
            results: Vec::new(),
        }
    }

    fn con_index(&self, name: &[u8]) -> Option<usize> {
        self.cons.iter().position(|(n, _)| n.as_bytes() == name)
    }
}

impl Module for Sqlops {
    const NAME: &'static str = "sqlops";

    fn from_params(params: &ModParams) -> Result<Self, ParamError> {
        Sqlops::from_params(params)
    }
}

fn worker<'c>(ctx: &'c mut Ctx<'_>) -> Option<&'c mut Worker> {
    crate::engine::module::worker_state::<WorkerModules>(ctx).map(|w| &mut w.sqlops)
}

fn worker_ref<'c>(ctx: &'c Ctx<'_>) -> Option<&'c Worker> {
    crate::engine::module::worker_state_ref::<WorkerModules>(ctx).map(|w| &w.sqlops)
}

/// The container `name` of `w`, made (emptied) if needed; `None` when
/// `results_maxsize` containers exist already.
fn container<'w>(w: &'w mut Worker, name: &[u8], max: usize) -> Option<&'w mut Container> {
    let i = match w.results.iter().position(|c| c.name.as_bytes() == name) {
        Some(i) => i,
        None if w.results.len() < max => {
            w.results.push(Container {
                name: String::from_utf8_lossy(name).into_owned(),
                ..Container::default()
            });
            w.results.len() - 1
        }
        None => return None,
    };
    w.results.get_mut(i)
}

/// `sql_query(con, query[, res])`: 1 rows stored in `res`; 2 no rows (or
/// a statement without a result set); 3 rows but no `res`; -1 the query
/// failed; -2 no connection (`connect_mode` 1).
pub fn sql_query(ctx: &mut Ctx<'_>, con: &[u8], query: &[u8], res: &[u8]) -> i32 {
    do_query(ctx, con, query, Some(res))
}

/// `sql_query(con, query)`: as [`sql_query`] without a result container.
pub fn sql_query2(ctx: &mut Ctx<'_>, con: &[u8], query: &[u8]) -> i32 {
    do_query(ctx, con, query, None)
}

/// The index of the connection named `con`; an unknown name is logged.
fn connection(ctx: &Ctx<'_>, con: &[u8]) -> Option<usize> {
    let ci = Modules::of(ctx).sqlops.con_index(con);
    if ci.is_none() {
        crate::engine::log::error(
            ctx,
            &format!("invalid connection [{}]\n", String::from_utf8_lossy(con)),
        );
    }
    ci
}

/// Runs `sql` on this worker's connection `ci`. A failure is logged and
/// is the script's code: -2 when `connect_mode` 1 never got a connection,
/// else -1.
fn run(ctx: &mut Ctx<'_>, ci: usize, sql: &str) -> Result<QueryResult, i32> {
    let connect_mode = Modules::of(ctx).sqlops.connect_mode;
    let Some(conn) = worker(ctx).and_then(|w| w.cons.get_mut(ci)) else {
        return Err(-1);
    };
    let was_connected = conn.is_connected();
    let out = conn.raw_query(sql);
    let never_connected = !was_connected && !conn.is_connected();
    // `$sqlrows` reads the connection's count of its last statement.
    if let Ok(r) = &out
        && let Some(a) = worker(ctx).and_then(|w| w.affected.get_mut(ci))
    {
        *a = r.affected;
    }
    out.map_err(|e| {
        crate::engine::log::error(ctx, &format!("cannot do the query [{sql}]: {e}\n"));
        if connect_mode == 1 && never_connected {
            -2
        } else {
            -1
        }
    })
}

fn do_query(ctx: &mut Ctx<'_>, con: &[u8], query: &[u8], res: Option<&[u8]>) -> i32 {
    let Some(ci) = connection(ctx, con) else {
        return -1;
    };
    let max = Modules::of(ctx).sqlops.results_maxsize;
    let sql = String::from_utf8_lossy(query).into_owned();
    let Some(w) = worker(ctx) else {
        return -1;
    };
    // The container is emptied first, whatever happens next.
    if let Some(r) = res {
        match container(w, r, max) {
            Some(c) => {
                c.columns.clear();
                c.rows.clear();
            }
            None => {
                let msg = format!(
                    "too many result containers (results_maxsize {max}) for [{}]\n",
                    String::from_utf8_lossy(r)
                );
                crate::engine::log::error(ctx, &msg);
                return -1;
            }
        }
    }
    let result = match run(ctx, ci, &sql) {
        Ok(r) => r,
        Err(code) => return code,
    };
    let Some(w) = worker(ctx) else {
        return -1;
    };
    if result.rows.is_empty() || result.columns.is_empty() {
        return 2;
    }
    let Some(r) = res else {
        return 3;
    };
    if let Some(c) = container(w, r, max) {
        c.columns = result.columns;
        c.rows = result.rows;
    }
    1
}

/// `sql_pvquery(con, query, pvs)`: the result's rows written to `pvs`
/// (resolved at compile time), as Kamailio's `sql_do_pvquery`: rows last
/// to first, each row's columns to the PVs in order (so a non-AVP ends
/// with the first row's value, an AVP stacks every row's); a NULL (or a
/// DOUBLE, which Kamailio cannot convert) is `$null`, skipped for an
/// AVP. 1 done; 2 no rows (or no result set); -1 the query failed, or a
/// column has no PV (what came before it stays written).
pub fn sql_pvquery(ctx: &mut Ctx<'_>, con: &[u8], query: &[u8], pvs: &[PvRef]) -> i32 {
    let Some(ci) = connection(ctx, con) else {
        return -1;
    };
    let sql = String::from_utf8_lossy(query).into_owned();
    // Kamailio's sql_do_pvquery has no -2.
    let Ok(result) = run(ctx, ci, &sql) else {
        return -1;
    };
    if result.rows.is_empty() || result.columns.is_empty() {
        return 2;
    }
    for row in result.rows.iter().rev() {
        for (j, v) in row.iter().enumerate().take(result.columns.len()) {
            let Some(target) = pvs.get(j) else {
                crate::engine::log::error(ctx, &format!("Missing pv spec for column {}\n", j + 1));
                return -1;
            };
            let value = pv_value(v);
            if value.is_null() && matches!(target, PvRef::Avp(..)) {
                continue;
            }
            if pv::assign(ctx, target, value) < 0 {
                let column = result.columns.get(j).map_or("", String::as_str);
                crate::engine::log::error(
                    ctx,
                    &format!("Failed to convert value for column {column}\n"),
                );
                return -1;
            }
        }
    }
    1
}

/// `sql_xquery(con, query, xavp)`: the rows as XAVPs named `xavp` (its
/// value printed now), as Kamailio's `sql_exec_xquery`: one root item
/// per row, added last row first, so that `$xavp(xavp[0]=>col)` is the
/// first row (an earlier result of that name stays, after them); in each
/// row one item per column, under the column's name. 1 rows; 2 none (or
/// no result set); -1 the query failed; -2 no connection
/// (`connect_mode` 1).
pub fn sql_xquery(ctx: &mut Ctx<'_>, con: &[u8], query: &[u8], xavp: &[u8]) -> i32 {
    let Some(ci) = connection(ctx, con) else {
        return -1;
    };
    let sql = String::from_utf8_lossy(query).into_owned();
    let result = match run(ctx, ci, &sql) {
        Ok(r) => r,
        Err(code) => return code,
    };
    if result.rows.is_empty() || result.columns.is_empty() {
        return 2;
    }
    if xavp.is_empty() {
        // Kamailio: a name of no length makes no XAVP (nothing added).
        return 1;
    }
    for row in result.rows.iter().rev() {
        let mut list = xavp::List::default();
        for (col, v) in result.columns.iter().zip(row).rev() {
            list.add(col.as_bytes(), xvalue(v));
        }
        ctx.avps.xavps.add(xavp, xavp::XValue::List(list));
    }
    1
}

/// A cell as `sql_exec_xquery` stores it: strings and blobs as strings;
/// INT, DATETIME (and BITMAP) as integers; BIGINT as a 64-bit integer
/// (read as its decimal text); NULL and types it does not know (DOUBLE)
/// as null.
fn xvalue(v: &DbValue) -> xavp::XValue {
    match v {
        DbValue::Null | DbValue::Double(_) => xavp::XValue::Null,
        DbValue::Int(i) => xavp::XValue::Int(*i),
        #[allow(clippy::cast_possible_truncation)]
        DbValue::DateTime(t) => xavp::XValue::Int(*t as i32),
        DbValue::BigInt(i) => xavp::XValue::LLong(*i),
        DbValue::Str(s) | DbValue::Blob(s) => xavp::XValue::Str(s.clone()),
    }
}

/// A cell as Kamailio's `db_val2pv_spec` makes it a PV value: strings
/// and blobs as strings; INT and DATETIME as integers; a BIGINT as an
/// integer when its upper 32 bits are clear, else its decimal text;
/// NULL and types it does not know (DOUBLE) as `$null`.
fn pv_value(v: &DbValue) -> OwnedValue {
    match v {
        DbValue::Null | DbValue::Double(_) => Value::Null,
        DbValue::Int(i) => Value::Int(*i),
        #[allow(clippy::cast_possible_truncation)]
        DbValue::DateTime(t) => Value::Int(*t as i32),
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        DbValue::BigInt(i) => {
            if (*i as u64) & 0xffff_ffff_0000_0000 == 0 {
                Value::Int(*i as i32)
            } else {
                Value::string(i.to_string())
            }
        }
        DbValue::Str(s) | DbValue::Blob(s) => Value::string(s.clone()),
    }
}

/// `sql_result_free(res)`: empties the container; 1.
pub fn sql_result_free(ctx: &mut Ctx<'_>, res: &[u8]) -> i32 {
    let max = Modules::of(ctx).sqlops.results_maxsize;
    if let Some(w) = worker(ctx)
        && let Some(c) = container(w, res, max)
    {
        c.columns.clear();
        c.rows.clear();
    }
    1
}

/// A result cell as sqlops gives it to the script: strings and blobs as
/// strings, INT and DATETIME as integers, BIGINT as a decimal string,
/// DOUBLE and NULL as `$null`.
fn cell(v: &DbValue) -> Value<'_> {
    match v {
        DbValue::Null | DbValue::Double(_) => Value::Null,
        DbValue::Int(i) => Value::Int(*i),
        DbValue::BigInt(i) => Value::string(i.to_string()),
        #[allow(clippy::cast_possible_truncation)]
        DbValue::DateTime(t) => Value::Int(*t as i32),
        DbValue::Str(s) | DbValue::Blob(s) => Value::Str(Cow::Borrowed(s)),
    }
}

/// `$dbr(res=>key)`.
pub fn dbr<'c>(ctx: &'c Ctx<'_>, res: &str, key: DbrKey) -> Value<'c> {
    let c = worker_ref(ctx).and_then(|w| w.results.iter().find(|c| c.name == res));
    let count = |n: usize| Value::Int(i32::try_from(n).unwrap_or(i32::MAX));
    let Some(c) = c else {
        // A container never filled: empty.
        return match key {
            DbrKey::Rows | DbrKey::Cols => Value::Int(0),
            _ => Value::Null,
        };
    };
    match key {
        DbrKey::Rows => count(c.rows.len()),
        DbrKey::Cols => count(c.columns.len()),
        DbrKey::Cell(r, col) => c
            .rows
            .get(r as usize)
            .and_then(|row| row.get(col as usize))
            .map_or(Value::Null, cell),
        DbrKey::ColName(col) => c
            .columns
            .get(col as usize)
            .map_or(Value::Null, |n| Value::str(n.as_bytes())),
    }
}

/// `$sqlrows(con)`: the rows the connection's last statement changed
/// (returned, for a SELECT). db_sqlite cannot tell (no
/// `DB_CAP_AFFECTED_ROWS`): a getter error, logged (printed as an empty
/// string; an assignment from it fails and keeps the old value).
pub fn sqlrows<'c>(ctx: &'c Ctx<'_>, con: &str) -> Value<'c> {
    let s = &Modules::of(ctx).sqlops;
    let i = s.con_index(con.as_bytes());
    if let Some(i) = i
        && s.cons.get(i).is_some_and(|(_, u)| u.scheme == "sqlite")
    {
        crate::engine::log::error(
            ctx,
            &format!("database module does not have DB_CAP_AFFECTED_ROWS [{con}]\n"),
        );
        return crate::engine::value::pv_error();
    }
    let n = i
        .and_then(|i| worker_ref(ctx).and_then(|w| w.affected.get(i).copied()))
        .unwrap_or(0);
    Value::Int(i32::try_from(n).unwrap_or(i32::MAX))
}

/// `pv::read`'s way to `$dbr` and `$sqlrows` (through the module set).
pub(crate) fn read_pv_ref<'c>(pv: &'c PvRef, ctx: &'c Ctx<'_>) -> Value<'c> {
    match pv {
        PvRef::Dbr(res, key) => dbr(ctx, res, *key),
        PvRef::SqlRows(con) => sqlrows(ctx, con),
        _ => Value::Null,
    }
}

#[cfg(test)]
mod tests;
