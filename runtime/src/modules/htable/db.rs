//! htable's database backend (Kamailio 5.6's `ht_db.c`): a table with
//! `dbtable` is loaded from the `db_url` database at start-up and by
//! `htable.reload`, and written back (every row deleted, one row inserted
//! per item) at shutdown with a non-zero `dbmode` and by `htable.store`.
//!
//! The load reads `key_name, key_type, value_type, key_value` (and
//! `expires` with `db_expires` on a table with `autoexpire`) ordered by
//! the key name, as Kamailio's query does, so rows come in the
//! database's collation order. A row of `key_type` 1 is an array item:
//! the rows of one key name become `name[0]`, `name[1]`, ... and, when
//! the key name changes (or the rows end), `name` + `array_size_suffix`
//! holds their count, Kamailio's bookkeeping kept as it is (the count
//! carries over a plain row of the same name). `value_type` 1 is an
//! integer (`str2sint` of the text: what parses before a bad character),
//! anything else a string. An expiry in the past skips the row; a future
//! one is kept. Kamailio checks no table version for htable.

use crate::db::query::{self, Select, Val};
use crate::db::{Connection, DbValue, ModuleDb};
use crate::engine::params::{ModParams, ParamError};

use super::{Item, M, Table, lock_slot, unix_now};

/// Kamailio's `HT_NAME_BUF_SIZE`: an array item's or count's name is cut
/// to 255 bytes.
const NAME_MAX: usize = 255;

/// The database side of the module: `db_url` and the column parameters.
#[derive(Debug)]
pub(crate) struct HtDb {
    db: ModuleDb,
    name_col: String,
    ktype_col: String,
    vtype_col: String,
    value_col: String,
    expires_col: String,
    /// `array_size_suffix` (`::size`).
    suffix: String,
    /// `fetch_rows` (100): rows per fetch on the drivers that fetch
    /// (MySQL, PostgreSQL); the row numbers of the load's errors count
    /// within a fetch, as Kamailio's.
    fetch_rows: usize,
    /// `db_expires`: the `expires` column is read and written (tables
    /// with `autoexpire` only).
    expires: bool,
}

impl HtDb {
    /// Reads the module's database parameters; `None` without a
    /// `db_url` (or an empty one: no table is loaded).
    ///
    /// # Errors
    /// A `db_url` that does not parse, a bad number.
    pub(crate) fn from_params(p: &ModParams) -> Result<Option<Self>, ParamError> {
        let col = |name: &str, default: &str| p.str(M, name).unwrap_or_else(|| default.into());
        let fetch_rows = p.int(M, "fetch_rows")?;
        let expires = p.int(M, "db_expires")?;
        let suffix = col("array_size_suffix", "::size");
        let name_col = col("key_name_column", "key_name");
        let ktype_col = col("key_type_column", "key_type");
        let vtype_col = col("value_type_column", "value_type");
        let value_col = col("key_value_column", "key_value");
        let expires_col = col("expires_column", "expires");
        if p.str(M, "db_url").is_none_or(|u| u.is_empty()) {
            return Ok(None);
        }
        Ok(Some(Self {
            db: ModuleDb::from_params(p, M)?,
            name_col,
            ktype_col,
            vtype_col,
            value_col,
            expires_col,
            suffix: if suffix.is_empty() {
                "::size".into()
            } else {
                suffix
            },
            fetch_rows: fetch_rows
                .and_then(|n| usize::try_from(n).ok())
                .filter(|n| *n > 0)
                .unwrap_or(100),
            expires: expires.is_some_and(|v| v != 0),
        }))
    }

    /// A connection opened now (Kamailio opens one for each load, store
    /// and RPC command).
    ///
    /// # Errors
    /// The database is unreachable.
    pub(crate) fn open(&self) -> Result<Connection, String> {
        self.db.open(M)
    }

    /// Whether `t`'s `expires` column is read and written.
    fn with_expires(&self, t: &Table) -> bool {
        self.expires && t.autoexpire > 0
    }

    /// Loads `t`'s rows from `dbtable` into a new table like `t`; also
    /// whether there were rows (Kamailio's `dbload` after a start-up
    /// load).
    ///
    /// # Errors
    /// The query fails, a row Kamailio refuses (NULL key, a key or type
    /// column of the wrong type).
    pub(crate) fn load(
        &self,
        con: &mut Connection,
        t: &Table,
        dbtable: &str,
    ) -> Result<(Table, bool), String> {
        let mut cols = vec![
            self.name_col.as_str(),
            self.ktype_col.as_str(),
            self.vtype_col.as_str(),
            self.value_col.as_str(),
        ];
        if self.with_expires(t) {
            cols.push(&self.expires_col);
        }
        let sql = Select {
            table: dbtable,
            columns: &cols,
            conditions: &[],
            order_by: Some(&self.name_col),
        }
        .sql(con.quote());
        let res = con
            .raw_query(&sql)
            .map_err(|e| format!("Error while querying db: {e}"))?;
        let out = t.empty_like();
        if res.rows.is_empty() {
            return Ok((out, false));
        }
        // db_sqlite does not fetch: its rows are one batch.
        let batch = if con.url().scheme == "sqlite" {
            res.rows.len()
        } else {
            self.fetch_rows
        };
        let mut loader = Loader {
            db: self,
            t: &out,
            now: unix_now() as i64 as i32,
            pname: Vec::new(),
            last_ktype: 0,
            n: 0,
        };
        for chunk in res.rows.chunks(batch) {
            for (i, row) in chunk.iter().enumerate() {
                loader.row(i, row)?;
            }
        }
        if loader.last_ktype == 1 {
            let pname = std::mem::take(&mut loader.pname);
            loader.size(&pname);
        }
        Ok((out, true))
    }

    /// Kamailio's `ht_db_delete_records`: every row of `dbtable` (a
    /// failure logged).
    pub(crate) fn delete_records(&self, con: &mut Connection, dbtable: &str) {
        let sql = query::delete(con.quote(), dbtable, &[]);
        if let Err(e) = con.raw_query(&sql) {
            eprintln!("ERROR: htable: failed to delete db records in [{dbtable}]: {e}");
        }
    }

    /// Kamailio's `ht_db_save_table`: one row per item, slot by slot,
    /// `key_type` 0 (an array's items are plain keys by now), the value's
    /// type and text, and with `db_expires` on an expiring table its
    /// expiry; an expiring table's items whose expiry has come (or that
    /// never expire) are left out. A failed insert is logged and the rest
    /// still go.
    pub(crate) fn save(&self, con: &mut Connection, t: &Table, dbtable: &str) {
        let now = unix_now();
        let with_expires = self.with_expires(t);
        for s in &t.slots {
            let slot = lock_slot(s);
            for c in slot.iter() {
                if t.autoexpire > 0 && c.expire <= now {
                    continue;
                }
                let name = String::from_utf8_lossy(&c.name);
                let (vtype, value) = match &c.value {
                    Item::Str(v) => (0, String::from_utf8_lossy(v).into_owned()),
                    Item::Int(n) => (1, n.to_string()),
                };
                let mut values = vec![
                    (self.name_col.as_str(), Val::Str(&name)),
                    (self.ktype_col.as_str(), Val::Int(0)),
                    (self.vtype_col.as_str(), Val::Int(vtype)),
                    (self.value_col.as_str(), Val::Str(&value)),
                ];
                if with_expires {
                    // Kamailio's `(int)it->expire`.
                    values.push((
                        self.expires_col.as_str(),
                        Val::Int(i64::from(c.expire as i32)),
                    ));
                }
                let sql = query::insert(con.quote(), dbtable, &values);
                if let Err(e) = con.raw_query(&sql) {
                    eprintln!(
                        "ERROR: htable: failed to store key [{name}] in table [{dbtable}]: {e}"
                    );
                }
            }
        }
    }
}

/// The state of one load (Kamailio's locals of `ht_db_load_table`).
struct Loader<'a> {
    db: &'a HtDb,
    t: &'a Table,
    /// `time(NULL)` when the rows are read, as Kamailio's `int`.
    now: i32,
    /// The previous row's key name.
    pname: Vec<u8>,
    last_ktype: i32,
    /// Items of the current array so far.
    n: i32,
}

/// `name` cut to Kamailio's name buffer.
fn cut(mut name: Vec<u8>) -> Vec<u8> {
    name.truncate(NAME_MAX);
    name
}

/// Kamailio's `str2sint`: an optional sign and digits; what was read
/// before a bad character stays, an overflow saturates.
fn str2sint(s: &[u8]) -> i32 {
    let (neg, digits) = match s.first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let mut r: i32 = 0;
    for &b in digits {
        if !b.is_ascii_digit() {
            break;
        }
        let d = i32::from(b - b'0');
        let next = r.checked_mul(10).and_then(|v| {
            if neg {
                v.checked_sub(d)
            } else {
                v.checked_add(d)
            }
        });
        match next {
            Some(v) => r = v,
            None => return if neg { i32::MIN } else { i32::MAX },
        }
    }
    r
}

/// A key type or value type column (`DB1_INT` or `DB1_BIGINT`, cut to
/// an `int`).
fn int_col(v: &DbValue, what: &str) -> Result<i32, String> {
    match v {
        DbValue::Int(n) => Ok(*n),
        DbValue::BigInt(n) => Ok(*n as i32),
        _ => Err(format!("Wrong db type for {what} column")),
    }
}

impl Loader<'_> {
    fn set(&self, name: &[u8], v: Item) {
        self.t.set(name, v, 0);
    }

    /// The count of the array `pname` under `pname` + suffix.
    fn size(&mut self, pname: &[u8]) {
        let mut name = pname.to_vec();
        name.extend_from_slice(self.db.suffix.as_bytes());
        self.set(&cut(name), Item::Int(i64::from(self.n)));
    }

    /// One row (`i` its number in its fetch).
    fn row(&mut self, i: usize, row: &[DbValue]) -> Result<(), String> {
        let name = &self.t.name;
        let kname: Vec<u8> = match row.first() {
            None | Some(DbValue::Null) => {
                return Err(format!("htable [{name}] row [{i}] has NULL key value"));
            }
            Some(v @ (DbValue::Str(_) | DbValue::Blob(_))) => v.text().unwrap_or_default(),
            Some(_) => return Err("key type must be string".into()),
        };
        let get = |c: usize| row.get(c).unwrap_or(&DbValue::Null);
        let mut expires = 0;
        if self.db.with_expires(self.t) {
            // Kamailio reads the column's `int_val` whatever its type.
            expires = match get(4) {
                DbValue::Int(n) => *n,
                DbValue::BigInt(n) => *n as i32,
                _ => 0,
            };
            if expires > 0 && expires < self.now {
                return Ok(());
            }
        }
        let ktype = int_col(get(1), "key_type")?;
        if self.last_ktype == 1 && !self.pname.is_empty() && self.pname != kname {
            let pname = std::mem::take(&mut self.pname);
            self.size(&pname);
            self.n = 0;
        }
        self.last_ktype = ktype;
        self.pname.clone_from(&kname);
        let hname = if ktype == 1 {
            let mut h = kname;
            h.extend_from_slice(format!("[{}]", self.n).as_bytes());
            self.n += 1;
            cut(h)
        } else {
            kname
        };
        let vtype = int_col(get(2), "value_type")?;
        let null = || format!("null value in row {i}");
        let value = match (vtype, get(3)) {
            (_, DbValue::Null) => return Err(null()),
            (1, v @ (DbValue::Str(_) | DbValue::Blob(_))) => {
                Item::Int(i64::from(str2sint(&v.text().unwrap_or_default())))
            }
            (1, DbValue::Int(n)) => Item::Int(i64::from(*n)),
            (1, DbValue::BigInt(n)) => Item::Int(i64::from(*n as i32)),
            (0, v @ (DbValue::Str(_) | DbValue::Blob(_))) => {
                Item::Str(v.text().unwrap_or_default())
            }
            // Kamailio's `int2str` takes the number as unsigned.
            (0, DbValue::Int(n)) => Item::Str((i64::from(*n) as u64).to_string().into_bytes()),
            (0, DbValue::BigInt(n)) => Item::Str((*n as u64).to_string().into_bytes()),
            // Another value type: Kamailio reads the text as a string and
            // stores it as an integer (its pointer's low bits); here 0.
            (_, DbValue::Str(_) | DbValue::Blob(_) | DbValue::Int(_) | DbValue::BigInt(_)) => {
                Item::Int(0)
            }
            _ => return Err("Wrong db type for key_value column".into()),
        };
        self.set(&hname, value);
        if self.t.autoexpire > 0 && expires > 0 {
            self.t.set_expire(&hname, i64::from(expires - self.now));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::params::ParamValue;

    fn db(params: &[(&str, &str)]) -> HtDb {
        let mut p = ModParams::default();
        p.push(M, "db_url", ParamValue::Str("sqlite:///tmp/none.db".into()));
        for (k, v) in params {
            p.push(M, k, ParamValue::Str((*v).into()));
        }
        HtDb::from_params(&p).expect("params").expect("db")
    }

    fn s(v: &str) -> DbValue {
        DbValue::Str(v.as_bytes().to_vec())
    }

    /// Rows `(key, key_type, value_type, value)` loaded into `spec`'s
    /// table; its items by name.
    fn load(db: &HtDb, spec: &str, rows: &[(&str, i32, i32, &str)]) -> Vec<(String, Item)> {
        let t = Table::parse(spec).expect("spec");
        let mut l = Loader {
            db,
            t: &t,
            now: unix_now() as i32,
            pname: Vec::new(),
            last_ktype: 0,
            n: 0,
        };
        for (i, (k, kt, vt, v)) in rows.iter().enumerate() {
            l.row(i, &[s(k), DbValue::Int(*kt), DbValue::Int(*vt), s(v)])
                .expect("row");
        }
        if l.last_ktype == 1 {
            let p = std::mem::take(&mut l.pname);
            l.size(&p);
        }
        let mut items: Vec<(String, Item)> = t
            .slots
            .iter()
            .flat_map(|s| {
                lock_slot(s)
                    .iter()
                    .map(|c| {
                        (
                            String::from_utf8_lossy(&c.name).into_owned(),
                            c.value.clone(),
                        )
                    })
                    .collect::<Vec<_>>()
            })
            .collect();
        items.sort_by(|a, b| a.0.cmp(&b.0));
        items
    }

    fn int(n: i64) -> Item {
        Item::Int(n)
    }

    fn text(v: &str) -> Item {
        Item::Str(v.as_bytes().to_vec())
    }

    #[test]
    fn arrays_count_their_items_as_kamailio() {
        let d = db(&[]);
        let got = load(
            &d,
            "t=>size=4",
            &[
                ("a", 1, 0, "x"),
                ("a", 1, 1, "7"),
                ("b", 0, 1, "12ab"),
                ("c", 1, 0, "y"),
            ],
        );
        assert_eq!(
            got,
            vec![
                ("a::size".into(), int(2)),
                ("a[0]".into(), text("x")),
                ("a[1]".into(), int(7)),
                ("b".into(), int(12)),
                ("c::size".into(), int(1)),
                ("c[0]".into(), text("y")),
            ]
        );
        // Kamailio's count carries over a plain row of the array's name
        // into the next array.
        let got = load(
            &d,
            "t=>size=4",
            &[("a", 1, 0, "x"), ("a", 0, 0, "p"), ("b", 1, 0, "y")],
        );
        assert_eq!(
            got,
            vec![
                ("a".into(), text("p")),
                ("a[0]".into(), text("x")),
                ("b::size".into(), int(2)),
                ("b[1]".into(), text("y")),
            ]
        );
        let d = db(&[("array_size_suffix", "#n")]);
        let got = load(&d, "t=>size=4", &[("z", 1, 0, "x")]);
        assert_eq!(got[0], ("z#n".into(), int(1)));
    }

    #[test]
    fn integers_parse_as_str2sint() {
        assert_eq!(str2sint(b"-12"), -12);
        assert_eq!(str2sint(b"+5x"), 5);
        assert_eq!(str2sint(b""), 0);
        assert_eq!(str2sint(b"abc"), 0);
        assert_eq!(str2sint(b"99999999999"), i32::MAX);
        assert_eq!(str2sint(b"-99999999999"), i32::MIN);
    }

    #[test]
    fn a_null_key_fails_the_load() {
        let d = db(&[]);
        let t = Table::parse("t=>size=2").expect("spec");
        let mut l = Loader {
            db: &d,
            t: &t,
            now: 0,
            pname: Vec::new(),
            last_ktype: 0,
            n: 0,
        };
        let e = l
            .row(
                3,
                &[DbValue::Null, DbValue::Int(0), DbValue::Int(0), s("v")],
            )
            .unwrap_err();
        assert_eq!(e, "htable [t] row [3] has NULL key value");
    }

    #[test]
    fn parameters_default_as_kamailio() {
        let d = db(&[("fetch_rows", "0"), ("array_size_suffix", "")]);
        assert_eq!((d.fetch_rows, d.suffix.as_str()), (100, "::size"));
        assert!(!d.expires);
        let p = ModParams::default();
        assert!(HtDb::from_params(&p).expect("params").is_none());
    }
}
