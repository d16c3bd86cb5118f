//! db_sqlite: rusqlite (bundled SQLite). A raw query is prepared and
//! stepped as db_sqlite does (one statement); a column's type comes from
//! its declared type, else from the first row's value (§1.2); no busy
//! timeout, so a locked file fails the statement at once, as Kamailio.

use rusqlite::types::ValueRef;
use rusqlite::{Connection, OpenFlags};

use super::{DbError, DbType, DbUrl, DbValue, Driver, ErrorKind, Params, QueryResult};

pub(super) struct Sqlite {
    conn: Connection,
}

fn err(kind: ErrorKind, e: &rusqlite::Error) -> DbError {
    DbError::new(kind, e.to_string())
}

impl Sqlite {
    pub(super) fn open(url: &DbUrl, params: &Params) -> Result<Self, DbError> {
        let path = &url.database;
        let readonly = params
            .sqlite_readonly
            .iter()
            .any(|p| p == path || p.trim_start_matches('/') == path.trim_start_matches('/'));
        let flags = if readonly {
            OpenFlags::SQLITE_OPEN_READ_ONLY
        } else {
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE
        } | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags).map_err(|e| {
            DbError::new(
                ErrorKind::Connect,
                format!("failed to open sqlite database '{path}': {e}"),
            )
        })?;
        // No busy timeout (rusqlite sets 5 s by default; db_sqlite none).
        conn.busy_timeout(std::time::Duration::ZERO)
            .map_err(|e| err(ErrorKind::Connect, &e))?;
        for (p, mode) in &params.sqlite_journal {
            if p.trim_start_matches('/') == path.trim_start_matches('/') {
                conn.query_row(&format!("PRAGMA journal_mode={mode}"), [], |_| Ok(()))
                    .map_err(|e| err(ErrorKind::Connect, &e))?;
            }
        }
        Ok(Self { conn })
    }
}

/// db_sqlite's `decltype_to_dbtype`, loosely as SQLite's affinity rules.
fn decl_type(decl: &str) -> DbType {
    let d = decl.to_ascii_uppercase();
    if d.starts_with("BIGINT") {
        DbType::BigInt
    } else if d.contains("INT") {
        DbType::Int
    } else if d.starts_with("DATETIME") || d.starts_with("TIMESTAMP") || d == "DATE" {
        DbType::DateTime
    } else if d.contains("BLOB") {
        DbType::Blob
    } else if d.contains("REAL")
        || d.contains("FLOA")
        || d.contains("DOUB")
        || d.starts_with("DECIMAL")
        || d.starts_with("NUMERIC")
    {
        DbType::Double
    } else {
        DbType::Str
    }
}

fn value_type(v: ValueRef<'_>) -> Option<DbType> {
    match v {
        ValueRef::Null => None,
        ValueRef::Integer(_) => Some(DbType::Int),
        ValueRef::Real(_) => Some(DbType::Double),
        ValueRef::Text(_) => Some(DbType::Str),
        ValueRef::Blob(_) => Some(DbType::Blob),
    }
}

/// SQLite's own conversions (`sqlite3_column_int` and friends).
fn as_i64(v: ValueRef<'_>) -> i64 {
    match v {
        ValueRef::Integer(i) => i,
        #[allow(clippy::cast_possible_truncation)]
        ValueRef::Real(f) => f as i64,
        ValueRef::Text(t) | ValueRef::Blob(t) => {
            let s = String::from_utf8_lossy(t);
            let s = s.trim();
            let end = s
                .char_indices()
                .find(|(i, c)| !(c.is_ascii_digit() || (*i == 0 && (*c == '-' || *c == '+'))))
                .map_or(s.len(), |(i, _)| i);
            s[..end].parse().unwrap_or(0)
        }
        ValueRef::Null => 0,
    }
}

fn as_f64(v: ValueRef<'_>) -> f64 {
    match v {
        #[allow(clippy::cast_precision_loss)]
        ValueRef::Integer(i) => i as f64,
        ValueRef::Real(f) => f,
        ValueRef::Text(t) | ValueRef::Blob(t) => {
            String::from_utf8_lossy(t).trim().parse().unwrap_or(0.0)
        }
        ValueRef::Null => 0.0,
    }
}

fn as_bytes(v: ValueRef<'_>) -> Vec<u8> {
    match v {
        ValueRef::Text(t) | ValueRef::Blob(t) => t.to_vec(),
        ValueRef::Integer(i) => i.to_string().into_bytes(),
        ValueRef::Real(f) => f.to_string().into_bytes(),
        ValueRef::Null => Vec::new(),
    }
}

fn convert(t: DbType, v: ValueRef<'_>) -> DbValue {
    if matches!(v, ValueRef::Null) {
        return DbValue::Null;
    }
    match t {
        #[allow(clippy::cast_possible_truncation)]
        DbType::Int => DbValue::Int(as_i64(v) as i32),
        DbType::BigInt => DbValue::BigInt(as_i64(v)),
        DbType::Double => DbValue::Double(as_f64(v)),
        DbType::Str => DbValue::Str(as_bytes(v)),
        DbType::Blob => DbValue::Blob(as_bytes(v)),
        // Stored as a Julian day (REAL), as db_sqlite writes it.
        #[allow(clippy::cast_possible_truncation)]
        DbType::DateTime => {
            DbValue::DateTime(((as_f64(v) - 2_440_587.5) * 86_400.0).round() as i64)
        }
    }
}

impl Driver for Sqlite {
    fn raw_query(&mut self, sql: &str) -> Result<QueryResult, DbError> {
        let q = |e: rusqlite::Error| err(ErrorKind::Query, &e);
        let mut stmt = self.conn.prepare(sql).map_err(q)?;
        let columns: Vec<String> = stmt
            .column_names()
            .iter()
            .map(|c| (*c).to_string())
            .collect();
        let decl: Vec<Option<DbType>> = stmt
            .columns()
            .iter()
            .map(|c| c.decl_type().map(decl_type))
            .collect();
        let mut types: Vec<Option<DbType>> = decl.clone();
        let mut out = Vec::new();
        let mut rows = stmt.raw_query();
        while let Some(row) = rows.next().map_err(q)? {
            let mut vals = Vec::with_capacity(columns.len());
            for (i, t) in types.iter_mut().enumerate() {
                let v = row.get_ref(i).map_err(q)?;
                if out.is_empty() && t.is_none() {
                    *t = value_type(v);
                }
                vals.push(convert(t.unwrap_or(DbType::Str), v));
            }
            out.push(vals);
        }
        drop(rows);
        drop(stmt);
        Ok(QueryResult {
            columns,
            rows: out,
            affected: self.conn.changes(),
        })
    }
}
