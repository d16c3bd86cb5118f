//! db_postgres: the `postgres` crate. The statement is prepared first
//! (its columns' types, as db_postgres maps PostgreSQL's OIDs), then run
//! with the simple query protocol (values as text, as libpq's
//! `PQgetvalue`; rows affected from the command tag).
//!
//! The client lives on a thread of its own: `postgres` drives a private
//! tokio runtime with `block_on`, which must not run on a thread that is
//! inside the proxy's own runtimes (TCP workers).

use std::sync::mpsc;
use std::thread;

use postgres::types::Type;
use postgres::{Client, NoTls, SimpleQueryMessage};

use super::{DbError, DbType, DbUrl, DbValue, Driver, ErrorKind, QueryResult};

type Reply = Result<QueryResult, DbError>;

pub(super) struct Postgres {
    to: mpsc::Sender<(String, mpsc::Sender<Reply>)>,
}

fn err(e: &postgres::Error) -> DbError {
    let kind = if e.is_closed() || e.code().is_none() && e.as_db_error().is_none() {
        ErrorKind::Lost
    } else {
        ErrorKind::Query
    };
    DbError::new(kind, e.to_string())
}

impl Postgres {
    pub(super) fn open(url: &DbUrl) -> Result<Self, DbError> {
        let mut cfg = postgres::Config::new();
        cfg.host(if url.host.is_empty() {
            "localhost"
        } else {
            &url.host
        })
        .port(url.port.unwrap_or(5432))
        .dbname(&url.database);
        if let Some(u) = &url.user {
            cfg.user(u);
        }
        if let Some(p) = &url.password {
            cfg.password(p);
        }
        let (to, from) = mpsc::channel::<(String, mpsc::Sender<Reply>)>();
        let (ready_tx, ready_rx) = mpsc::channel::<Result<(), DbError>>();
        thread::Builder::new()
            .name("db_postgres".into())
            .spawn(move || {
                let mut client = match cfg.connect(NoTls) {
                    Ok(c) => {
                        let _ = ready_tx.send(Ok(()));
                        c
                    }
                    Err(e) => {
                        let _ = ready_tx.send(Err(DbError::new(
                            ErrorKind::Connect,
                            format!("failed to connect to the database: {e}"),
                        )));
                        return;
                    }
                };
                while let Ok((sql, reply)) = from.recv() {
                    let r = query(&mut client, &sql);
                    let lost = matches!(&r, Err(e) if e.kind == ErrorKind::Lost);
                    let _ = reply.send(r);
                    if lost {
                        return;
                    }
                }
            })
            .map_err(|e| DbError::new(ErrorKind::Connect, e.to_string()))?;
        match ready_rx.recv() {
            Ok(Ok(())) => Ok(Self { to }),
            Ok(Err(e)) => Err(e),
            Err(_) => Err(DbError::new(
                ErrorKind::Connect,
                "the connection thread ended",
            )),
        }
    }
}

/// db_postgres' OID → `db_type_t`.
fn db_type(t: &Type) -> DbType {
    match *t {
        Type::INT2 | Type::INT4 | Type::BOOL | Type::OID => DbType::Int,
        Type::INT8 => DbType::BigInt,
        Type::FLOAT4 | Type::FLOAT8 | Type::NUMERIC => DbType::Double,
        Type::BYTEA => DbType::Blob,
        Type::TIMESTAMP | Type::TIMESTAMPTZ | Type::DATE => DbType::DateTime,
        _ => DbType::Str,
    }
}

fn convert(t: DbType, v: Option<&str>) -> DbValue {
    let Some(s) = v else {
        return DbValue::Null;
    };
    match t {
        DbType::Int => DbValue::Int(match s {
            "t" => 1,
            "f" => 0,
            s => s.trim().parse::<i64>().map_or(0, |v| v as i32),
        }),
        DbType::BigInt => DbValue::BigInt(s.trim().parse().unwrap_or(0)),
        DbType::Double => DbValue::Double(s.trim().parse().unwrap_or(0.0)),
        DbType::Str => DbValue::Str(s.as_bytes().to_vec()),
        DbType::Blob => DbValue::Blob(unbytea(s)),
        DbType::DateTime => DbValue::DateTime(super::local_time(s).unwrap_or(0)),
    }
}

/// A bytea value as text (`\\x6869` hex, or the escape format) as bytes.
fn unbytea(s: &str) -> Vec<u8> {
    if let Some(hex) = s.strip_prefix("\\x") {
        return hex
            .as_bytes()
            .chunks(2)
            .filter_map(|p| {
                std::str::from_utf8(p)
                    .ok()
                    .and_then(|p| u8::from_str_radix(p, 16).ok())
            })
            .collect();
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && b.get(i + 1) == Some(&b'\\') {
            out.push(b'\\');
            i += 2;
        } else if b[i] == b'\\'
            && let Some(o) = b.get(i + 1..i + 4)
            && let Some(v) = std::str::from_utf8(o)
                .ok()
                .and_then(|o| u8::from_str_radix(o, 8).ok())
        {
            out.push(v);
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    out
}

fn query(client: &mut Client, sql: &str) -> Reply {
    let stmt = client.prepare(sql).map_err(|e| err(&e))?;
    let types: Vec<DbType> = stmt.columns().iter().map(|c| db_type(c.type_())).collect();
    let columns: Vec<String> = stmt
        .columns()
        .iter()
        .map(|c| c.name().to_string())
        .collect();
    let mut rows = Vec::new();
    let mut affected = 0;
    for m in client.simple_query(sql).map_err(|e| err(&e))? {
        match m {
            SimpleQueryMessage::Row(r) => rows.push(
                (0..r.len())
                    .map(|i| convert(types.get(i).copied().unwrap_or(DbType::Str), r.get(i)))
                    .collect(),
            ),
            SimpleQueryMessage::CommandComplete(n) => affected = n,
            _ => {}
        }
    }
    Ok(QueryResult {
        columns,
        rows,
        affected,
    })
}

impl Driver for Postgres {
    fn raw_query(&mut self, sql: &str) -> Result<QueryResult, DbError> {
        let (tx, rx) = mpsc::channel();
        let lost = || DbError::new(ErrorKind::Lost, "no connection to the database");
        self.to.send((sql.to_string(), tx)).map_err(|_| lost())?;
        rx.recv().map_err(|_| lost())?
    }
}
