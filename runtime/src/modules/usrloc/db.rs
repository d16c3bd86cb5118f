//! usrloc's database modes (modules-db-auth-media.md §4): the location
//! table kept in a database as Kamailio keeps it, row for row.
//!
//! - 1 write-through: memory, and every change written at once (a failed
//!   write fails `save` with Kamailio's 500 and is retried by the timer);
//! - 2 write-back: memory, changes written by the timer and at shutdown;
//! - 3 DB-only: every read and write goes to the database;
//! - 4 read-only: loaded at start, never written.
//!
//! Modes 1, 2 and 4 load every row of the tables the cfg's registrar
//! calls name (and usrloc's `preload`) at start-up, expired rows too.
//! What the database holds is tracked per AoR (`synced`): a flush writes
//! the difference between memory and it, keyed by `ruid` as Kamailio's
//! `db_ops_ruid`: new contacts inserted, changed ones updated, removed or
//! expired ones deleted.
//!
//! Connections: a small pool shared by the workers and the timer (a
//! worker takes one for the statement it runs, or opens one), so a
//! worker never waits for another's connection.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::{Contact, LocationStore, MemoryStore, Q_UNSPECIFIED, Record, StoreError};
use crate::db::query::{self, Op, Val};
use crate::db::{Connection, DateTime, DbError, DbValue, ModuleDb, Pool};

/// The `location` table's version Kamailio 5.6 expects.
const LOCATION_VERSION: i64 = 9;

/// The columns of a row, in the order of Kamailio's load query (without
/// `domain`, added last with `use_domain`).
const COLUMNS: &[&str] = &[
    "username",
    "contact",
    "expires",
    "q",
    "callid",
    "cseq",
    "flags",
    "cflags",
    "user_agent",
    "received",
    "path",
    "socket",
    "methods",
    "last_modified",
    "ruid",
    "instance",
    "reg_id",
];

type Key = (String, Vec<u8>);

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The location table in a database (`db_mode` 1–4).
#[derive(Debug)]
pub struct DbStore {
    /// `db_mode`.
    pub mode: u8,
    pool: Pool,
    /// The memory copy (modes 1, 2, 4).
    mem: MemoryStore,
    /// What the database holds, per AoR (modes 1, 2).
    synced: Mutex<HashMap<Key, Vec<Contact>>>,
    /// AoRs changed since their last flush.
    dirty: Mutex<HashSet<Key>>,
    /// The tables in use (start-up's, and those calls named since): what
    /// the DB-only timer cleans and the RPC dumps list.
    tables: Mutex<HashSet<String>>,
    /// One DB-only write at a time in this process: a record read,
    /// changed and written, or the timer's sweep (Kamailio locks the
    /// AoR's slot).
    record_lock: Mutex<()>,
    use_domain: bool,
    desc_time_order: bool,
    /// `db_load` (1): load the tables at start.
    load: bool,
    /// `version_table` (1): check the tables' version at start.
    version_table: bool,
    /// `preload`: tables loaded even if no registrar call names them.
    preload: Vec<String>,
    /// A wall-clock reading and the monotonic instant it was taken at:
    /// how `Instant`s become the database's times and back.
    anchor: (Instant, i64),
}

impl DbStore {
    /// A store for `mode` (1–4) on `db`.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        mode: u8,
        db: ModuleDb,
        use_domain: bool,
        desc_time_order: bool,
        load: bool,
        version_table: bool,
        preload: Vec<String>,
    ) -> Self {
        let wall = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs().cast_signed());
        Self {
            mode,
            pool: Pool::new(db),
            mem: MemoryStore::default(),
            synced: Mutex::default(),
            dirty: Mutex::default(),
            tables: Mutex::new(preload.iter().cloned().collect()),
            record_lock: Mutex::default(),
            use_domain,
            desc_time_order,
            load,
            version_table,
            preload,
            anchor: (Instant::now(), wall),
        }
    }

    /// The database's URL.
    pub fn url(&self) -> &crate::db::DbUrl {
        self.pool.url()
    }

    /// Runs `f` on a pooled connection (a new one if none is free).
    fn with_conn<R>(&self, f: impl FnOnce(&mut Connection) -> R) -> R {
        self.pool.with(f)
    }

    fn unix(&self, t: Instant) -> i64 {
        let (i, w) = self.anchor;
        if t >= i {
            w + t.duration_since(i).as_secs().cast_signed()
        } else {
            w - i.duration_since(t).as_secs().cast_signed()
        }
    }

    fn instant(&self, unix: i64) -> Instant {
        let (i, w) = self.anchor;
        let d = Duration::from_secs((unix - w).unsigned_abs());
        if unix >= w {
            i + d
        } else {
            // Before the process's clock can say: as old as it can be.
            i.checked_sub(d).unwrap_or(i)
        }
    }

    fn dt(&self, t: Instant) -> DateTime {
        DateTime::new(self.pool.url(), self.unix(t))
    }

    /// (username, domain) of an AoR as the table keeps it.
    fn split<'a>(&self, aor: &'a [u8]) -> (&'a [u8], Option<&'a [u8]>) {
        if !self.use_domain {
            return (aor, None);
        }
        match aor.iter().position(|&b| b == b'@') {
            Some(i) => (&aor[..i], Some(&aor[i + 1..])),
            None => (aor, None),
        }
    }

    /// Start-up (Kamailio's fixups and child_init): connects, checks the
    /// version of every table, loads them (modes 1, 2, 4 with `db_load`).
    ///
    /// # Errors
    /// Kamailio's reason to refuse to start.
    pub fn start(&self, tables: &[&str]) -> Result<(), String> {
        let mut all: Vec<&str> = tables.to_vec();
        for t in &self.preload {
            if !all.contains(&t.as_str()) {
                all.push(t);
            }
        }
        self.pool.open("usrloc", |conn| {
            for t in &all {
                lock(&self.tables).insert((*t).to_string());
                if self.version_table {
                    conn.check_version(t, LOCATION_VERSION)
                        .map_err(|e| format!("usrloc: error during table version check: {e}"))?;
                }
                if self.load && matches!(self.mode, 1 | 2 | 4) {
                    self.preload_table(conn, t)
                        .map_err(|e| format!("usrloc: failed to load table {t}: {e}"))?;
                }
            }
            Ok(())
        })
    }

    fn select_sql(
        &self,
        conn: &Connection,
        table: &str,
        conds: &[(&str, Op, Val<'_>)],
        order_by: Option<&str>,
    ) -> String {
        let mut cols: Vec<&str> = COLUMNS.to_vec();
        if self.use_domain {
            cols.push("domain");
        }
        query::Select {
            table,
            columns: &cols,
            conditions: conds,
            order_by,
        }
        .sql(conn.quote())
    }

    /// Every row of `table` into memory, marked as written.
    fn preload_table(&self, conn: &mut Connection, table: &str) -> Result<(), DbError> {
        let sql = self.select_sql(conn, table, &[], None);
        let rows = conn.raw_query(&sql)?.rows;
        let mut synced = lock(&self.synced);
        for (aor, mut cs) in self.records_of(&rows) {
            self.sort(&mut cs);
            let _ = self
                .mem
                .update(table, &aor, &mut |v| v.extend(cs.iter().cloned()));
            synced.insert((table.to_string(), aor), cs);
        }
        Ok(())
    }

    /// The rows of the load query grouped by AoR, in row order (rows
    /// Kamailio skips left out).
    fn records_of(&self, rows: &[Vec<DbValue>]) -> Vec<Record> {
        let mut recs: Vec<Record> = Vec::new();
        for (aor, c) in rows.iter().filter_map(|r| self.contact_of(r)) {
            match recs.iter_mut().find(|(a, _)| *a == aor) {
                Some((_, v)) => v.push(c),
                None => recs.push((aor, vec![c])),
            }
        }
        recs
    }

    fn sort(&self, v: &mut [Contact]) {
        if self.desc_time_order {
            v.sort_by_key(|c| std::cmp::Reverse(c.last_modified));
        } else {
            v.sort_by_key(|c| std::cmp::Reverse(c.q));
        }
    }

    /// A row of the load query as (AoR, contact); rows Kamailio skips
    /// (no username, contact or Call-ID; NULL expires, q, cseq or flags)
    /// are `None`.
    fn contact_of(&self, row: &[DbValue]) -> Option<(Vec<u8>, Contact)> {
        let text = |i: usize| row.get(i).and_then(DbValue::text);
        let int = |i: usize| -> Option<i64> {
            match row.get(i)? {
                DbValue::Int(v) => Some(i64::from(*v)),
                DbValue::BigInt(v) | DbValue::DateTime(v) => Some(*v),
                #[allow(clippy::cast_possible_truncation)]
                DbValue::Double(d) => Some(*d as i64),
                DbValue::Str(s) | DbValue::Blob(s) => {
                    std::str::from_utf8(s).ok()?.trim().parse().ok()
                }
                DbValue::Null => None,
            }
        };
        let user = text(0).filter(|u| !u.is_empty())?;
        let uri = text(1).filter(|u| !u.is_empty())?;
        let expires = int(2)?;
        let q = match row.get(3)? {
            DbValue::Null => return None,
            DbValue::Double(d) => *d,
            v => std::str::from_utf8(&v.text()?).ok()?.trim().parse().ok()?,
        };
        let call_id = text(4).filter(|c| !c.is_empty())?;
        let cseq = int(5)?;
        int(6)?;
        let cflags = int(7)?;
        let aor = match text(COLUMNS.len()).filter(|d| self.use_domain && !d.is_empty()) {
            Some(d) => [user.as_slice(), b"@", &d].concat(),
            None => user,
        };
        #[allow(clippy::cast_possible_truncation)]
        let q = if q < 0.0 {
            Q_UNSPECIFIED
        } else {
            (q * 1000.0).round() as i32
        };
        let c = Contact {
            uri,
            expires: self.instant(expires),
            q,
            call_id,
            cseq: u32::try_from(cseq).unwrap_or(0),
            cflags: u32::try_from(cflags).unwrap_or(0),
            user_agent: text(8).unwrap_or_default(),
            received: text(9).filter(|v| !v.is_empty()),
            path: text(10).filter(|v| !v.is_empty()),
            socket: text(11).filter(|v| !v.is_empty()),
            methods: int(12).map_or(u32::MAX, |m| u32::try_from(m).unwrap_or(u32::MAX)),
            last_modified: int(13).map_or(self.anchor.0, |t| self.instant(t)),
            ruid: text(14).unwrap_or_default(),
            instance: text(15).filter(|v| !v.is_empty()),
            reg_id: int(16).and_then(|r| u32::try_from(r).ok()).unwrap_or(0),
        };
        Some((aor, c))
    }

    /// Writes what changed from `old` to `new` (by ruid): deletes, then
    /// updates and inserts. Stops at the first failure; `done` gets what
    /// the database holds after the statements that ran.
    fn write(
        &self,
        conn: &mut Connection,
        table: &str,
        aor: &[u8],
        old: &[Contact],
        new: &[Contact],
        done: &mut Vec<Contact>,
    ) -> Result<(), StoreError> {
        let q = conn.quote();
        *done = old.to_vec();
        for o in old {
            if new.iter().any(|n| n.ruid == o.ruid) {
                continue;
            }
            let ruid = String::from_utf8_lossy(&o.ruid);
            let sql = query::delete(q, table, &[("ruid", Op::Eq, Val::Str(&ruid))]);
            conn.raw_query(&sql)
                .map_err(|_| StoreError("usrloc_contact_delete failed"))?;
            done.retain(|d| d.ruid != o.ruid);
        }
        for n in new {
            let before = old.iter().find(|o| o.ruid == n.ruid);
            if before == Some(n) {
                continue;
            }
            let owned = self.values(aor, n);
            let vals: Vec<(&str, Val<'_>)> = owned.iter().map(|(k, v)| (*k, v.val())).collect();
            if before.is_some() {
                let ruid = String::from_utf8_lossy(&n.ruid);
                let set: Vec<(&str, Val<'_>)> = UPDATE_ORDER
                    .iter()
                    .map(|k| {
                        (
                            *k,
                            vals.iter()
                                .find(|(c, _)| c == k)
                                .map_or(Val::Null, |(_, v)| *v),
                        )
                    })
                    .collect();
                let sql = query::update(q, table, &set, &[("ruid", Op::Eq, Val::Str(&ruid))]);
                conn.raw_query(&sql)
                    .map_err(|_| StoreError("usrloc_contact_update failed"))?;
                done.retain(|d| d.ruid != n.ruid);
            } else {
                let ins: Vec<(&str, Val<'_>)> =
                    vals.into_iter().filter(|(_, v)| *v != Val::Null).collect();
                let sql = query::insert(q, table, &ins);
                conn.raw_query(&sql)
                    .map_err(|_| StoreError("usrloc_contact_insert failed"))?;
            }
            done.push(n.clone());
        }
        Ok(())
    }

    /// A contact's columns in Kamailio's insert order; absent optional
    /// values are NULL (left out of an insert, set NULL by an update).
    fn values(&self, aor: &[u8], c: &Contact) -> Vec<(&'static str, OwnedVal)> {
        let s = |v: &[u8]| OwnedVal::Str(String::from_utf8_lossy(v).into_owned());
        let opt = |v: &Option<Vec<u8>>| v.as_deref().map_or(OwnedVal::Null, s);
        let (user, domain) = self.split(aor);
        let ua: &[u8] = if c.user_agent.is_empty() {
            b"n/a"
        } else {
            &c.user_agent
        };
        vec![
            ("username", s(user)),
            ("contact", s(&c.uri)),
            ("expires", OwnedVal::Dt(self.dt(c.expires))),
            (
                "q",
                OwnedVal::Double(if c.q == Q_UNSPECIFIED {
                    -1.0
                } else {
                    f64::from(c.q) / 1000.0
                }),
            ),
            ("callid", s(&c.call_id)),
            ("cseq", OwnedVal::Int(i64::from(c.cseq))),
            ("flags", OwnedVal::Int(0)),
            ("cflags", OwnedVal::Int(i64::from(c.cflags))),
            ("user_agent", s(ua)),
            ("received", opt(&c.received)),
            ("path", opt(&c.path)),
            ("socket", opt(&c.socket)),
            (
                "methods",
                if c.methods == u32::MAX {
                    OwnedVal::Null
                } else {
                    OwnedVal::Int(i64::from(c.methods))
                },
            ),
            ("last_modified", OwnedVal::Dt(self.dt(c.last_modified))),
            ("ruid", s(&c.ruid)),
            ("instance", opt(&c.instance)),
            ("reg_id", OwnedVal::Int(i64::from(c.reg_id))),
            ("server_id", OwnedVal::Int(0)),
            // The runtime keeps no TCP connection ids: -1 as for UDP.
            ("connection_id", OwnedVal::Int(-1)),
            ("keepalive", OwnedVal::Int(0)),
            ("partition", OwnedVal::Int(0)),
            ("domain", domain.map_or(OwnedVal::Null, s)),
        ]
    }

    /// Writes one AoR's changes since its last flush (modes 1, 2).
    fn flush_aor(&self, table: &str, aor: &[u8]) -> Result<(), StoreError> {
        let key = (table.to_string(), aor.to_vec());
        let mut synced = lock(&self.synced);
        let old = synced.get(&key).cloned().unwrap_or_default();
        let new = self.mem.get(table, aor);
        if old == new {
            lock(&self.dirty).remove(&key);
            return Ok(());
        }
        let mut done = Vec::new();
        let r = self.with_conn(|c| self.write(c, table, aor, &old, &new, &mut done));
        if done.is_empty() {
            synced.remove(&key);
        } else {
            synced.insert(key.clone(), done);
        }
        if r.is_ok() {
            lock(&self.dirty).remove(&key);
        }
        r
    }

    /// Writes every change not yet in the database (the write-back timer,
    /// shutdown, and mode 1's retry of failed writes); how many AoRs
    /// failed.
    pub fn flush(&self) -> usize {
        if !matches!(self.mode, 1 | 2) {
            return 0;
        }
        let mut keys: HashSet<Key> = lock(&self.dirty).clone();
        keys.extend(lock(&self.synced).keys().cloned());
        keys.iter()
            .filter(|(t, a)| self.flush_aor(t, a).is_err())
            .count()
    }

    /// DB-only: the contacts of `aor` as the table holds them (a failed
    /// query reads as none, as Kamailio's `get_urecord`).
    fn load_aor(&self, table: &str, aor: &[u8]) -> Vec<Contact> {
        let (user, domain) = self.split(aor);
        let user = String::from_utf8_lossy(user);
        let domain = domain.map(String::from_utf8_lossy);
        let mut conds = vec![("username", Op::Eq, Val::Str(&user))];
        if let Some(d) = &domain {
            conds.push(("domain", Op::Eq, Val::Str(d)));
        }
        let rows = self.with_conn(|c| {
            // Kamailio's DB-only record load: by q (ties in the
            // database's order), or by time with desc_time_order.
            let order = if self.desc_time_order {
                "last_modified"
            } else {
                "q"
            };
            let sql = self.select_sql(c, table, &conds, Some(order));
            c.raw_query(&sql).map(|r| r.rows)
        });
        let mut v: Vec<Contact> = rows
            .unwrap_or_default()
            .iter()
            .filter_map(|r| self.contact_of(r))
            .map(|(_, c)| c)
            .collect();
        self.sort(&mut v);
        v
    }

    /// DB-only: every record of every table the rows name (RPC dumps).
    fn load_all(&self) -> Vec<(String, Vec<Record>)> {
        let mut out: Vec<(String, Vec<Record>)> = Vec::new();
        let mut names: Vec<String> = lock(&self.tables).iter().cloned().collect();
        names.sort();
        for t in names {
            let rows = self.with_conn(|c| {
                let sql = self.select_sql(c, &t, &[], None);
                c.raw_query(&sql).map(|r| r.rows)
            });
            out.push((t, self.records_of(&rows.unwrap_or_default())));
        }
        out
    }
}

/// The column order of Kamailio's update statement.
const UPDATE_ORDER: &[&str] = &[
    "expires",
    "q",
    "cseq",
    "flags",
    "cflags",
    "user_agent",
    "received",
    "path",
    "socket",
    "methods",
    "last_modified",
    "callid",
    "instance",
    "reg_id",
    "server_id",
    "connection_id",
    "keepalive",
    "contact",
];

/// An owned statement value.
#[derive(Debug, Clone)]
enum OwnedVal {
    Null,
    Int(i64),
    Double(f64),
    Str(String),
    Dt(DateTime),
}

impl OwnedVal {
    fn val(&self) -> Val<'_> {
        match self {
            OwnedVal::Null => Val::Null,
            OwnedVal::Int(i) => Val::Int(*i),
            OwnedVal::Double(d) => Val::Double(*d),
            OwnedVal::Str(s) => Val::Str(s),
            OwnedVal::Dt(d) => d.val(),
        }
    }
}

impl LocationStore for DbStore {
    fn get(&self, table: &str, aor: &[u8]) -> Vec<Contact> {
        if self.mode == 3 {
            lock(&self.tables).insert(table.to_string());
            return self.load_aor(table, aor);
        }
        self.mem.get(table, aor)
    }

    fn update(
        &self,
        table: &str,
        aor: &[u8],
        f: &mut dyn FnMut(&mut Vec<Contact>),
    ) -> Result<(), StoreError> {
        match self.mode {
            3 => {
                let _one = lock(&self.record_lock);
                lock(&self.tables).insert(table.to_string());
                let old = self.load_aor(table, aor);
                let mut new = old.clone();
                f(&mut new);
                let mut done = Vec::new();
                self.with_conn(|c| self.write(c, table, aor, &old, &new, &mut done))
            }
            4 => self.mem.update(table, aor, f),
            mode => {
                self.mem.update(table, aor, f)?;
                lock(&self.dirty).insert((table.to_string(), aor.to_vec()));
                if mode == 1 {
                    self.flush_aor(table, aor)
                } else {
                    Ok(())
                }
            }
        }
    }

    fn remove_expired(&self, now: Instant) -> usize {
        if self.mode != 3 {
            let n = self.mem.remove_expired(now);
            self.flush();
            return n;
        }
        // Kamailio's DB-only timer: `expires<now+1 AND expires!=epoch`,
        // not interleaved with a record's update (SQLite, which has no
        // busy timeout in Kamailio's driver either, would fail one).
        let _one = lock(&self.record_lock);
        let tables: Vec<String> = lock(&self.tables).iter().cloned().collect();
        let limit = self.dt(now + Duration::from_secs(1));
        let zero = DateTime::new(self.pool.url(), 0);
        let mut n = 0;
        for t in &tables {
            let removed = self.with_conn(|c| {
                let sql = query::delete(
                    c.quote(),
                    t,
                    &[
                        ("expires", Op::Lt, limit.val()),
                        ("expires", Op::Ne, zero.val()),
                    ],
                );
                c.raw_query(&sql).map(|r| r.affected)
            });
            n += usize::try_from(removed.unwrap_or(0)).unwrap_or(0);
        }
        n
    }

    fn records(&self) -> usize {
        if self.mode == 3 {
            return self.load_all().iter().map(|(_, r)| r.len()).sum();
        }
        self.mem.records()
    }

    fn counts(&self) -> Vec<(String, usize, usize)> {
        if self.mode == 3 {
            return self
                .load_all()
                .into_iter()
                .map(|(t, r)| {
                    let contacts = r.iter().map(|(_, c)| c.len()).sum();
                    (t, r.len(), contacts)
                })
                .collect();
        }
        self.mem.counts()
    }

    fn dump(&self) -> Vec<(String, Vec<Record>)> {
        if self.mode == 3 {
            return self.load_all();
        }
        self.mem.dump()
    }
}
