//! db_mysql: the `mysql` crate, text protocol (`mysql_query` as
//! db_mysql's raw query). Column types as db_mysql maps MySQL's field
//! types; a lost connection (server gone, I/O error) is
//! [`ErrorKind::Lost`], which [`super::Connection`] retries after
//! reconnecting when `auto_reconnect` is on.

use mysql::consts::ColumnType as T;
use mysql::prelude::Queryable;
use mysql::{Conn, OptsBuilder, Value};

use super::{DbError, DbType, DbUrl, DbValue, Driver, ErrorKind, Params, QueryResult};

pub(super) struct Mysql {
    conn: Conn,
}

fn classify(e: &mysql::Error) -> ErrorKind {
    match e {
        mysql::Error::IoError(_) | mysql::Error::CodecError(_) => ErrorKind::Lost,
        mysql::Error::DriverError(
            mysql::DriverError::ConnectTimeout
            | mysql::DriverError::CouldNotConnect(_)
            | mysql::DriverError::PacketOutOfSync
            | mysql::DriverError::UnexpectedPacket
            | mysql::DriverError::Timeout,
        ) => ErrorKind::Lost,
        // CR_SERVER_GONE_ERROR, CR_SERVER_LOST, ER_CONNECTION_KILLED.
        mysql::Error::MySqlError(m) if matches!(m.code, 2006 | 2013 | 1927 | 1053) => {
            ErrorKind::Lost
        }
        _ => ErrorKind::Query,
    }
}

fn err(e: &mysql::Error) -> DbError {
    DbError::new(classify(e), e.to_string())
}

impl Mysql {
    pub(super) fn open(url: &DbUrl, params: &Params) -> Result<Self, DbError> {
        let host = if url.host.is_empty() || url.host == "localhost" {
            "127.0.0.1"
        } else {
            url.host.as_str()
        };
        let t = Some(params.mysql_timeout);
        let opts = OptsBuilder::new()
            .ip_or_hostname(Some(host))
            .tcp_port(url.port.unwrap_or(3306))
            .user(url.user.as_deref())
            .pass(url.password.as_deref())
            .db_name(Some(url.database.as_str()))
            .prefer_socket(false)
            .tcp_connect_timeout(t)
            .read_timeout(t)
            .write_timeout(t);
        let conn = Conn::new(opts).map_err(|e| {
            DbError::new(ErrorKind::Connect, format!("driver error on connect: {e}"))
        })?;
        Ok(Self { conn })
    }
}

/// db_mysql's field type → `db_type_t`.
fn db_type(t: T) -> DbType {
    match t {
        T::MYSQL_TYPE_TINY
        | T::MYSQL_TYPE_SHORT
        | T::MYSQL_TYPE_LONG
        | T::MYSQL_TYPE_INT24
        | T::MYSQL_TYPE_YEAR
        | T::MYSQL_TYPE_TIMESTAMP => DbType::Int,
        T::MYSQL_TYPE_LONGLONG => DbType::BigInt,
        T::MYSQL_TYPE_FLOAT | T::MYSQL_TYPE_DOUBLE => DbType::Double,
        T::MYSQL_TYPE_DATETIME | T::MYSQL_TYPE_DATE => DbType::DateTime,
        T::MYSQL_TYPE_BLOB
        | T::MYSQL_TYPE_TINY_BLOB
        | T::MYSQL_TYPE_MEDIUM_BLOB
        | T::MYSQL_TYPE_LONG_BLOB => DbType::Blob,
        // DECIMAL too: db_mysql reads it as a string (`select 1.5`).
        _ => DbType::Str,
    }
}

/// A text-protocol value of a column of type `t`.
pub(super) fn convert(t: DbType, v: &Value) -> DbValue {
    let Value::Bytes(b) = v else {
        return match v {
            Value::Int(i) => DbValue::BigInt(*i),
            _ => DbValue::Null,
        };
    };
    let s = String::from_utf8_lossy(b);
    match t {
        DbType::Int => DbValue::Int(s.trim().parse::<i64>().map_or(0, |v| v as i32)),
        DbType::BigInt => DbValue::BigInt(s.trim().parse().unwrap_or(0)),
        DbType::Double => DbValue::Double(s.trim().parse().unwrap_or(0.0)),
        DbType::Str => DbValue::Str(b.clone()),
        DbType::Blob => DbValue::Blob(b.clone()),
        DbType::DateTime => DbValue::DateTime(super::local_time(&s).unwrap_or(0)),
    }
}

impl Driver for Mysql {
    fn raw_query(&mut self, sql: &str) -> Result<QueryResult, DbError> {
        let mut result = self.conn.query_iter(sql).map_err(|e| err(&e))?;
        let cols = result.columns();
        let cols = cols.as_ref();
        let columns: Vec<String> = cols.iter().map(|c| c.name_str().into_owned()).collect();
        let types: Vec<DbType> = cols.iter().map(|c| db_type(c.column_type())).collect();
        // Read before the rows: once they are consumed the result moves
        // on to the (absent) next set.
        let affected = result.affected_rows();
        let mut rows = Vec::new();
        for row in result.by_ref() {
            let row = row.map_err(|e| err(&e))?;
            let vals = row.unwrap();
            rows.push(
                vals.iter()
                    .zip(&types)
                    .map(|(v, t)| convert(*t, v))
                    .collect(),
            );
        }
        drop(result);
        // libmysqlclient's `mysql_affected_rows` after a stored result set
        // is its row count (what Kamailio's `$sqlrows` shows after a
        // SELECT); the protocol's OK packet has 0 there.
        let affected = if columns.is_empty() {
            affected
        } else {
            rows.len() as u64
        };
        Ok(QueryResult {
            columns,
            rows,
            affected,
        })
    }

    fn ping(&mut self) -> Result<(), DbError> {
        self.conn
            .ping()
            .map_err(|e| DbError::new(ErrorKind::Lost, e.to_string()))
    }

    fn quote(&self) -> &'static str {
        "`"
    }
}
