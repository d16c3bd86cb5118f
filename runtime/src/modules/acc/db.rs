//! acc's database backend (modules-db-auth-media.md §5): the same
//! records as the log backend, each an insert of the fixed columns
//! (method, from_tag, to_tag, callid, sip_code, sip_reason, time) and the
//! `db_extra` ones into `db_table_acc` (transactions) or
//! `db_table_missed_calls` (missed calls). Kamailio checks no table
//! version for acc.

use std::sync::Arc;

use crate::db::query::{self, Val};
use crate::db::{DateTime, ModuleDb, Pool};
use crate::engine::params::{ModParams, ParamError, ParamValue};
use crate::engine::pv::PvRef;
use crate::engine::{Ctx, Value};

/// The default column names, in Kamailio's order, with their parameters.
const COLUMNS: [(&str, &str); 7] = [
    ("acc_method_column", "method"),
    ("acc_from_tag_column", "from_tag"),
    ("acc_to_tag_column", "to_tag"),
    ("acc_callid_column", "callid"),
    ("acc_sip_code_column", "sip_code"),
    ("acc_sip_reason_column", "sip_reason"),
    ("acc_time_column", "time"),
];

/// acc's database settings; `None` in [`super::Config`] without a
/// `db_url` (Kamailio then accounts nothing to a database).
#[derive(Debug, Clone)]
pub struct AccDb {
    /// `db_flag`: account the transaction to `table_acc`.
    pub flag: Option<u32>,
    /// `db_missed_flag`: account failed INVITEs to `table_missed`.
    pub missed_flag: Option<u32>,
    /// `db_table_acc` ("acc").
    pub table_acc: String,
    /// `db_table_missed_calls` ("missed_calls").
    pub table_missed: String,
    /// The fixed columns' names, in Kamailio's order.
    pub columns: [String; 7],
    /// `db_extra`: each column with its PV, in order (resolved by cfgc).
    pub extra: Vec<(String, PvRef)>,
    /// `acc_extra_nullable`: a `$null` extra is NULL, not `''`.
    pub nullable: bool,
    pool: Arc<Pool>,
}

impl PartialEq for AccDb {
    fn eq(&self, o: &Self) -> bool {
        (
            self.flag,
            self.missed_flag,
            &self.table_acc,
            &self.table_missed,
            &self.columns,
            &self.extra,
            self.nullable,
        ) == (
            o.flag,
            o.missed_flag,
            &o.table_acc,
            &o.table_missed,
            &o.columns,
            &o.extra,
            o.nullable,
        ) && self.pool.url() == o.pool.url()
    }
}

impl Eq for AccDb {}

impl AccDb {
    /// Reads the database parameters; `None` without a `db_url`.
    ///
    /// # Errors
    /// A bad value; a `db_extra` cfgc did not resolve.
    pub fn from_params(
        p: &ModParams,
        flag: Option<u32>,
        missed_flag: Option<u32>,
    ) -> Result<Option<Self>, ParamError> {
        let text = |name: &str, default: &str| -> String {
            p.str("acc", name)
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| default.to_string())
        };
        let table_acc = text("db_table_acc", "acc");
        let table_missed = text("db_table_missed_calls", "missed_calls");
        for (name, t) in [
            ("db_table_acc", &table_acc),
            ("db_table_missed_calls", &table_missed),
        ] {
            if t.contains('$') {
                return Err(ParamError::invalid(
                    "acc",
                    name,
                    "a table name computed per record is not supported yet",
                ));
            }
        }
        let columns = COLUMNS.map(|(param, default)| text(param, default));
        let extra = match p.get("acc", "db_extra") {
            None => Vec::new(),
            Some(ParamValue::PvList(l)) => l.clone(),
            Some(ParamValue::Str(s)) if s.trim().is_empty() => Vec::new(),
            Some(_) => {
                return Err(ParamError::invalid(
                    "acc",
                    "db_extra",
                    "not resolved by cfgc (name=$pv;...)",
                ));
            }
        };
        let nullable = p.int("acc", "acc_extra_nullable")?.is_some_and(|v| v != 0);
        if p.str("acc", "db_url").is_none_or(|u| u.trim().is_empty()) {
            return Ok(None);
        }
        let db = ModuleDb::from_params(p, "acc")?;
        Ok(Some(Self {
            flag,
            missed_flag,
            table_acc,
            table_missed,
            columns,
            extra,
            nullable,
            pool: Arc::new(Pool::new(db)),
        }))
    }

    /// Start-up: Kamailio's acc connects in child_init (and fails the
    /// start if it cannot).
    ///
    /// # Errors
    /// The database is unreachable.
    pub fn start(&self) -> Result<(), String> {
        self.pool.open("acc", |_| Ok(()))
    }

    /// Inserts one record about `ctx`'s request into `table`.
    ///
    /// # Errors
    /// The insert failed (logged by the caller's return code).
    pub fn insert(
        &self,
        ctx: &Ctx<'_>,
        table: &str,
        code: &[u8],
        reason: &[u8],
        to_tag: &[u8],
    ) -> Result<(), crate::db::DbError> {
        let msg = ctx.msg;
        let text = |v: &[u8]| String::from_utf8_lossy(v).into_owned();
        let method = text(msg.cseq().map(|c| c.method.as_bytes()).unwrap_or_default());
        let from_tag = text(msg.from().ok().and_then(|f| f.tag).unwrap_or_default());
        let call_id = text(msg.call_id().unwrap_or_default());
        let (to_tag, code, reason) = (text(to_tag), text(code), text(reason));
        let time = DateTime::new(self.pool.url(), super::unix_now().cast_signed());
        let extras: Vec<Option<String>> = self
            .extra
            .iter()
            .map(|(_, pv)| match crate::engine::pv::read(ctx, pv) {
                Value::Null if self.nullable => None,
                Value::Null => Some(String::new()),
                v => Some(text(&v.to_bytes())),
            })
            .collect();
        let mut values: Vec<(&str, Val<'_>)> = vec![
            (&self.columns[0], Val::Str(&method)),
            (&self.columns[1], Val::Str(&from_tag)),
            (&self.columns[2], Val::Str(&to_tag)),
            (&self.columns[3], Val::Str(&call_id)),
            (&self.columns[4], Val::Str(&code)),
            (&self.columns[5], Val::Str(&reason)),
            (&self.columns[6], time.val()),
        ];
        for ((name, _), v) in self.extra.iter().zip(&extras) {
            values.push((name, v.as_deref().map_or(Val::Null, Val::Str)));
        }
        self.pool.with(|c| {
            let sql = query::insert(c.quote(), table, &values);
            c.raw_query(&sql).map(|_| ())
        })
    }
}
