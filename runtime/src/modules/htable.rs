//! htable — shared hash tables (Kamailio 5.6's htable module, see
//! modules-state-web-ops.md §4): the tables the `htable` parameter
//! defines, their items read and written by `$sht(table=>key)` and its
//! kin, the `sht_*` functions, expiry (`autoexpire`, `updateexpire`,
//! `$shtex`), and the RPC commands operators use.
//!
//! A table is Kamailio's: `2^size` slots, each a list kept in the order
//! of the key's hash (Kamailio's `core_case_hash`, so `htable.dump`
//! lists slots and items as Kamailio does); keys compare case-sensitively.
//! Every slot has its own lock. Expiry is in whole seconds of wall-clock
//! time, as Kamailio's `time(NULL)`: an item whose expiry has passed
//! reads as absent at once, and the sweep (every `timer_interval`)
//! removes it.
//!
//! A table with `dbtable` is loaded from the database of `db_url` at
//! start-up and by `htable.reload`, and written back at a clean shutdown
//! with a non-zero `dbmode` and by `htable.store` (`htable/db.rs`).
//!
//! Not here (refused at start-up, or at build: no binding, or a parameter
//! not listed in `cfgc_vocab::MODULES`): a table's custom database
//! columns (`cols`), DMQ replication, `sht_print`.

use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::ThreadId;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use cfgc_vocab::{PvRef, ShtPv};

use crate::engine::Ctx;
use crate::engine::module::{Module, ModuleSet, RpcCommand, RpcError, RpcValue};
use crate::engine::params::{ModParams, ParamError, ParamValue};
use crate::engine::value::{OwnedValue, Value};
use crate::modules::Modules;
use crate::modules::cfgutils::case_hash;

mod db;

const M: &str = "htable";

/// An item's value: Kamailio's `int_str` with its `AVP_VAL_STR` flag.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Item {
    Int(i64),
    Str(Vec<u8>),
}

/// One item of a slot.
#[derive(Clone, Debug)]
struct Cell {
    /// The key's full hash (the slot's order).
    hid: u32,
    name: Vec<u8>,
    value: Item,
    /// Absolute expiry in seconds since the epoch; 0 never.
    expire: u64,
}

/// One table.
#[derive(Debug)]
pub struct Table {
    pub name: String,
    slots: Vec<Slot>,
    /// `autoexpire` (seconds; 0 = items never expire).
    pub autoexpire: u64,
    /// `updateexpire`: a write re-arms the expiry.
    pub updateexpire: bool,
    /// `initval`: what a missing key reads as, and where `$shtinc`
    /// starts.
    pub initval: Option<i64>,
    /// `dbtable`: the database table it is loaded from (with a `db_url`).
    pub dbtable: Option<String>,
    /// `dbmode`: non-zero writes the table back at shutdown.
    pub dbmode: u32,
    /// Kamailio's `dbload`: the last load found rows (start-up) or
    /// succeeded (`htable.reload`); only such a table is written back at
    /// shutdown.
    dbload: std::sync::atomic::AtomicBool,
}

/// The module: its tables and sweep period.
#[derive(Debug, Default)]
pub struct Htable {
    tables: Vec<Table>,
    /// `timer_interval` (seconds between expiry sweeps).
    timer_interval: u64,
    /// When the sweep last ran.
    last_sweep: Mutex<Option<Instant>>,
    /// The database (`db_url` and the column parameters); `None` without
    /// a `db_url`.
    db: Option<db::HtDb>,
}

/// Seconds since the epoch (Kamailio's `time(NULL)`).
fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// One slot: its items, and the script's lock on it (`sht_lock`, an
/// iterator on the slot), which Kamailio's slot lock is: recursive for the
/// worker that holds it, every other worker's access to the slot waits.
#[derive(Debug, Default)]
struct Slot {
    data: Mutex<SlotData>,
    freed: Condvar,
}

#[derive(Debug, Default)]
struct SlotData {
    cells: Vec<Cell>,
    /// The worker thread holding the script's lock, and how many more
    /// times it took it.
    owner: Option<ThreadId>,
    level: u32,
}

impl std::ops::Deref for SlotData {
    type Target = Vec<Cell>;
    fn deref(&self) -> &Vec<Cell> {
        &self.cells
    }
}

impl std::ops::DerefMut for SlotData {
    fn deref_mut(&mut self) -> &mut Vec<Cell> {
        &mut self.cells
    }
}

/// The slot's items, once no other worker holds its script lock.
fn lock_slot(s: &Slot) -> MutexGuard<'_, SlotData> {
    let mut g = lock(&s.data);
    while g.owner.is_some_and(|o| o != std::thread::current().id()) {
        g = s.freed.wait(g).unwrap_or_else(PoisonError::into_inner);
    }
    g
}

/// Kamailio's `ht_slot_lock`: takes the slot for this worker (again, if it
/// holds it).
fn script_lock(s: &Slot) {
    let mut g = lock_slot(s);
    if g.owner.is_some() {
        g.level += 1;
    } else {
        g.owner = Some(std::thread::current().id());
    }
}

/// Kamailio's `ht_slot_unlock`: one level less, or the slot free (whoever
/// held it, as Kamailio's).
fn script_unlock(s: &Slot) {
    let mut g = lock(&s.data);
    if g.level > 0 {
        g.level -= 1;
    } else if g.owner.take().is_some() {
        s.freed.notify_all();
    }
}

/// Kamailio's `str2int`: decimal digits only (no sign, no blanks).
fn str2int(s: &str) -> Option<u64> {
    (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
        .then(|| s.parse::<u64>().ok())
        .flatten()
}

impl Table {
    /// Parses one `htable` parameter, `name=>key=value;...` (Kamailio's
    /// `ht_table_spec`).
    fn parse(spec: &str) -> Result<Table, String> {
        let bad = || format!("invalid htable parameter [{spec}]");
        let (name, params) = spec.split_once("=>").ok_or_else(bad)?;
        let name = name.trim();
        if name.is_empty() {
            return Err(bad());
        }
        let mut size: u64 = 4;
        let mut autoexpire = 0;
        let mut updateexpire = true;
        let mut initval = None;
        let mut dbtable = None;
        let mut dbmode = 0;
        for p in params.split(';') {
            let p = p.trim();
            if p.is_empty() {
                continue;
            }
            let (k, v) = p.split_once('=').ok_or_else(bad)?;
            let (k, v) = (k.trim(), v.trim());
            match k {
                "size" => size = str2int(v).ok_or_else(bad)?,
                "autoexpire" => autoexpire = str2int(v).ok_or_else(bad)?,
                "updateexpire" => updateexpire = str2int(v).ok_or_else(bad)? != 0,
                "initval" => initval = Some(v.parse::<i64>().map_err(|_| bad())?),
                "dmqreplicate" if str2int(v) == Some(0) => {}
                "dbmode" => {
                    dbmode = str2int(v)
                        .and_then(|n| u32::try_from(n).ok())
                        .ok_or_else(bad)?;
                }
                "dbtable" => dbtable = (!v.is_empty()).then(|| v.to_string()),
                "cols" | "dmqreplicate" => {
                    return Err(format!(
                        "htable `{name}`: `{k}` is not supported by cfgc's runtime yet"
                    ));
                }
                _ => return Err(bad()),
            }
        }
        // Kamailio's `ht_add_table`: 2^size slots, 8 for size <= 1,
        // 16384 above 31.
        let slots = match size {
            0 | 1 => 8,
            s if s > 31 => 1 << 14,
            s => 1usize << s,
        };
        Ok(Table {
            name: name.to_string(),
            slots: (0..slots).map(|_| Slot::default()).collect(),
            autoexpire,
            updateexpire,
            initval,
            dbtable,
            dbmode,
            dbload: std::sync::atomic::AtomicBool::new(false),
        })
    }

    /// An empty table with this one's definition (what a database load
    /// fills before its items replace this table's).
    fn empty_like(&self) -> Table {
        Table {
            name: self.name.clone(),
            slots: (0..self.slots.len()).map(|_| Slot::default()).collect(),
            autoexpire: self.autoexpire,
            updateexpire: self.updateexpire,
            initval: self.initval,
            dbtable: self.dbtable.clone(),
            dbmode: self.dbmode,
            dbload: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// Takes the items of `loaded` (a table [`Table::empty_like`] this
    /// one), slot by slot, as Kamailio's `htable.reload` swaps them.
    fn replace_items(&self, loaded: Table) {
        for (mine, new) in self.slots.iter().zip(loaded.slots) {
            let cells = new
                .data
                .into_inner()
                .unwrap_or_else(PoisonError::into_inner)
                .cells;
            lock_slot(mine).cells = cells;
        }
    }

    fn slot(&self, hid: u32) -> &Slot {
        let n = self.slots.len();
        &self.slots[(hid as usize) & (n - 1)]
    }

    /// `now` when the table expires items (Kamailio reads the clock only
    /// then); 0 otherwise.
    fn now(&self) -> u64 {
        if self.autoexpire > 0 { unix_now() } else { 0 }
    }

    /// The value of `key`, `None` when missing or expired.
    pub fn get(&self, key: &[u8]) -> Option<Item> {
        let hid = case_hash(key, 0);
        let slot = lock_slot(self.slot(hid));
        let c = slot.iter().find(|c| c.hid == hid && c.name == key)?;
        if self.autoexpire > 0 && c.expire != 0 && c.expire < unix_now() {
            return None;
        }
        Some(c.value.clone())
    }

    /// Sets `key` (Kamailio's `ht_set_cell_ex`): `exv` > 0 is an explicit
    /// expiry in seconds from now (`sht_setxs`), else the table's rule.
    pub fn set(&self, key: &[u8], value: Item, exv: i64) {
        let hid = case_hash(key, 0);
        let now = self.now();
        let explicit = u64::try_from(exv).ok().filter(|e| *e > 0);
        let mut slot = lock_slot(self.slot(hid));
        if let Some(c) = slot.iter_mut().find(|c| c.hid == hid && c.name == key) {
            // A string replaced by a longer string, or an int by a string,
            // is a new cell in Kamailio: with an explicit expiry, its
            // `ht_set_cell_ex` writes that expiry to the old cell it frees,
            // so the new one never expires.
            let new_cell = match (&c.value, &value) {
                (Item::Str(old), Item::Str(new)) => new.len() > old.len(),
                (Item::Int(_), Item::Str(_)) => true,
                _ => false,
            };
            c.value = value;
            match explicit {
                Some(_) if new_cell => c.expire = 0,
                Some(e) => c.expire = now + e,
                None if self.updateexpire => c.expire = now + self.autoexpire,
                None => {}
            }
            return;
        }
        let expire = now + explicit.unwrap_or(self.autoexpire);
        let at = slot.partition_point(|c| c.hid <= hid);
        slot.insert(
            at,
            Cell {
                hid,
                name: key.to_vec(),
                value,
                expire,
            },
        );
    }

    /// Deletes `key`; whether it was there.
    pub fn delete(&self, key: &[u8]) -> bool {
        let hid = case_hash(key, 0);
        let mut slot = lock_slot(self.slot(hid));
        match slot.iter().position(|c| c.hid == hid && c.name == key) {
            Some(i) => {
                slot.remove(i);
                true
            }
            None => false,
        }
    }

    /// `$shtinc`/`$shtdec` (Kamailio's `ht_cell_value_add`): the new
    /// integer, `None` for a string item, or a missing (or expired) one
    /// in a table without `initval`.
    pub fn add(&self, key: &[u8], delta: i64) -> Option<i64> {
        let hid = case_hash(key, 0);
        let now = self.now();
        let mut slot = lock_slot(self.slot(hid));
        if let Some(c) = slot.iter_mut().find(|c| c.hid == hid && c.name == key) {
            if now > 0 && c.expire != 0 && c.expire < now {
                c.value = Item::Int(self.initval?);
            }
            let Item::Int(n) = &mut c.value else {
                return None;
            };
            *n = n.wrapping_add(delta);
            let n = *n;
            if self.updateexpire {
                c.expire = now + self.autoexpire;
            }
            return Some(n);
        }
        let n = self.initval?.wrapping_add(delta);
        let at = slot.partition_point(|c| c.hid <= hid);
        slot.insert(
            at,
            Cell {
                hid,
                name: key.to_vec(),
                value: Item::Int(n),
                expire: now + self.autoexpire,
            },
        );
        Some(n)
    }

    /// `$shtex` read: seconds left (wrapping as Kamailio's unsigned
    /// subtraction); 0 for a table without autoexpire or a missing key.
    pub fn expires_in(&self, key: &[u8]) -> u32 {
        if self.autoexpire == 0 {
            return 0;
        }
        let hid = case_hash(key, 0);
        let slot = lock_slot(self.slot(hid));
        slot.iter()
            .find(|c| c.hid == hid && c.name == key)
            .map_or(0, |c| c.expire.wrapping_sub(unix_now()) as u32)
    }

    /// `$shtex = n`: expire in `n` seconds (0 never); nothing for a table
    /// without autoexpire.
    pub fn set_expire(&self, key: &[u8], secs: i64) {
        if self.autoexpire == 0 {
            return;
        }
        let hid = case_hash(key, 0);
        let at = u64::try_from(secs)
            .ok()
            .filter(|s| *s > 0)
            .map_or(0, |s| unix_now() + s);
        let mut slot = lock_slot(self.slot(hid));
        if let Some(c) = slot.iter_mut().find(|c| c.hid == hid && c.name == key) {
            c.expire = at;
        }
    }

    /// Removes every item `pred` selects.
    fn remove_where(&self, mut pred: impl FnMut(&Cell) -> bool) {
        for s in &self.slots {
            lock_slot(s).retain(|c| !pred(c));
        }
    }

    /// Whether any item satisfies `pred`.
    fn any(&self, mut pred: impl FnMut(&Cell) -> bool) -> bool {
        self.slots
            .iter()
            .any(|s| lock_slot(s).iter().any(&mut pred))
    }

    /// How many items satisfy `pred`.
    fn count(&self, mut pred: impl FnMut(&Cell) -> bool) -> usize {
        self.slots
            .iter()
            .map(|s| lock_slot(s).iter().filter(|c| pred(c)).count())
            .sum()
    }

    /// Deletes every item.
    pub fn reset(&self) {
        for s in &self.slots {
            lock_slot(s).clear();
        }
    }

    /// The sweep: items whose expiry has passed go; returned in slot
    /// order, Kamailio's order of `event_route[htable:expired:NAME]`.
    fn sweep(&self, now: u64) -> Vec<Cell> {
        let mut gone = Vec::new();
        if self.autoexpire > 0 {
            for s in &self.slots {
                lock_slot(s).retain(|c| {
                    let expired = c.expire != 0 && c.expire < now;
                    if expired {
                        gone.push(c.clone());
                    }
                    !expired
                });
            }
        }
        gone
    }
}

/// The text of an item in a match: a key, or a string value (an integer
/// value never matches).
fn subject(c: &Cell, values: bool) -> Option<&[u8]> {
    if !values {
        return Some(&c.name);
    }
    match &c.value {
        Item::Str(s) => Some(s),
        Item::Int(_) => None,
    }
}

fn re_match(re: &[u8], s: &[u8]) -> bool {
    crate::engine::cond::icase_match(re, s) == Some(true)
}

impl Htable {
    /// Reads `modparam("htable", ...)`.
    ///
    /// # Errors
    /// A table definition Kamailio refuses (or one naming the database
    /// or replication, not supported), a table defined twice.
    pub fn from_params(p: &ModParams) -> Result<Self, ParamError> {
        let mut tables: Vec<Table> = Vec::new();
        for v in p.all(M, "htable") {
            let ParamValue::Str(spec) = v else {
                return Err(ParamError::invalid(M, "htable", "not a string"));
            };
            let t = Table::parse(spec).map_err(|e| ParamError::invalid(M, "htable", e))?;
            if tables.iter().any(|o| o.name == t.name) {
                return Err(ParamError::invalid(
                    M,
                    "htable",
                    format!("htable already configured [{}]", t.name),
                ));
            }
            tables.push(t);
        }
        let interval = p.int(M, "timer_interval")?.unwrap_or(20);
        Ok(Self {
            tables,
            timer_interval: u64::try_from(interval).unwrap_or(20).max(1),
            last_sweep: Mutex::new(None),
            db: db::HtDb::from_params(p)?,
        })
    }

    /// Kamailio's mod_init with a `db_url`: connects (or refuses to
    /// start, even when no table names a `dbtable`) and loads every table
    /// that has one, in Kamailio's order (the last defined first); a load
    /// that fails refuses to start.
    ///
    /// # Errors
    /// Kamailio's reason to refuse to start.
    pub fn start(&self) -> Result<(), String> {
        let Some(db) = &self.db else {
            return Ok(());
        };
        let mut con = db.open()?;
        for t in self.tables.iter().rev() {
            let Some(dbtable) = &t.dbtable else {
                continue;
            };
            let (loaded, found) = db
                .load(&mut con, t, dbtable)
                .map_err(|e| format!("htable: {e}"))?;
            t.replace_items(loaded);
            t.dbload.store(found, std::sync::atomic::Ordering::SeqCst);
        }
        Ok(())
    }

    /// The table called `name`.
    pub fn table(&self, name: &[u8]) -> Option<&Table> {
        self.tables.iter().find(|t| t.name.as_bytes() == name)
    }
}

impl Module for Htable {
    const NAME: &'static str = M;
    const RPC: &'static [RpcCommand] = &[
        RpcCommand {
            name: "htable.get",
            help: "Get one key from a hash table.",
            handler: rpc_get,
        },
        RpcCommand {
            name: "htable.delete",
            help: "Delete one key from a hash table.",
            handler: rpc_delete,
        },
        RpcCommand {
            name: "htable.sets",
            help: "Set one key in a hash table to a string value.",
            handler: rpc_sets,
        },
        RpcCommand {
            name: "htable.seti",
            help: "Set one key in a hash table to an integer value.",
            handler: rpc_seti,
        },
        RpcCommand {
            name: "htable.dump",
            help: "Dump the content of a hash table.",
            handler: rpc_dump,
        },
        RpcCommand {
            name: "htable.reload",
            help: "Reload hash table.",
            handler: rpc_reload,
        },
        RpcCommand {
            name: "htable.store",
            help: "Store hash table.",
            handler: rpc_store,
        },
        RpcCommand {
            name: "htable.listTables",
            help: "List all htables.",
            handler: rpc_list_tables,
        },
        RpcCommand {
            name: "htable.stats",
            help: "Statistics about htables.",
            handler: rpc_stats,
        },
        RpcCommand {
            name: "htable.flush",
            help: "Empty the content of a hash table.",
            handler: rpc_flush,
        },
    ];

    fn from_params(params: &ModParams) -> Result<Self, ParamError> {
        Htable::from_params(params)
    }

    /// Kamailio's destroy: with a `db_url`, each table with a `dbtable`,
    /// a non-zero `dbmode` and a load behind it replaces its database
    /// rows (nothing when the database cannot be reached).
    fn shutdown(&self) {
        let Some(db) = &self.db else {
            return;
        };
        let todo: Vec<(&Table, &str)> = self
            .tables
            .iter()
            .rev()
            .filter(|t| t.dbmode != 0 && t.dbload.load(std::sync::atomic::Ordering::SeqCst))
            .filter_map(|t| Some((t, t.dbtable.as_deref()?)))
            .collect();
        let mut con = match db.open() {
            Ok(c) => c,
            Err(e) => {
                eprintln!("ERROR: {e}");
                return;
            }
        };
        for (t, dbtable) in todo {
            db.delete_records(&mut con, dbtable);
            db.save(&mut con, t, dbtable);
        }
    }

    fn tick(&self) -> Option<Duration> {
        self.tables
            .iter()
            .any(|t| t.autoexpire > 0)
            .then_some(Duration::from_secs(1))
    }

    fn on_timer(&self, now: Instant, _out: &mut Vec<crate::transport::Transmit>) {
        {
            let mut last = lock(&self.last_sweep);
            match *last {
                Some(l) if now.duration_since(l).as_secs() < self.timer_interval => return,
                Some(_) => *last = Some(now),
                None => {
                    *last = Some(now);
                    return;
                }
            }
        }
        let t = unix_now();
        for table in &self.tables {
            let gone = table.sweep(t);
            if gone.is_empty() {
                continue;
            }
            let route = format!("htable:expired:{}", table.name);
            for c in gone {
                let record = (c.name, c.value);
                crate::engine::events::raise_with(
                    route.clone(),
                    Box::new(move |_ctx| EXPIRED.with(|e| *e.borrow_mut() = Some(record))),
                    Box::new(|| EXPIRED.with(|e| *e.borrow_mut() = None)),
                );
            }
        }
    }
}

thread_local! {
    /// The item whose expiry runs `event_route[htable:expired:NAME]` now
    /// (Kamailio's `ht_expired_cell`), for `$shtrecord`.
    static EXPIRED: std::cell::RefCell<Option<(Vec<u8>, Item)>> =
        const { std::cell::RefCell::new(None) };
}

/// `$shtrecord(key)` (`value` false) and `$shtrecord(value)`: the expired
/// item in `event_route[htable:expired:NAME]`. Elsewhere Kamailio's
/// reader fails, which prints as nothing: an empty string here.
pub fn shtrecord<'c>(_ctx: &Ctx<'_>, value: bool) -> Value<'c> {
    EXPIRED.with(|e| match (&*e.borrow(), value) {
        (None, _) => Value::str(b""),
        (Some((k, _)), false) => Value::Str(k.clone().into()),
        (Some((_, Item::Str(s))), true) => Value::Str(s.clone().into()),
        (Some((_, Item::Int(n))), true) => Value::Int(*n as i32),
    })
}

/// The table an htable PV names.
fn table_of<'a>(ctx: &Ctx<'a>, table: &str) -> Option<&'a Table> {
    Modules::of(ctx).htable.table(table.as_bytes())
}

/// Reads an htable PV (`$sht(t=>k)`, `$shtex`, `$shtinc`, `$shtdec`,
/// `$shtcn`, `$shtcv`); `key` is the key as printed for this message.
/// An unknown table reads `$null`, as in Kamailio.
pub fn pv_get(ctx: &Ctx<'_>, kind: ShtPv, table: &str, key: &[u8]) -> OwnedValue {
    let Some(t) = table_of(ctx, table) else {
        return Value::Null;
    };
    let int = |n: i64| Value::Int(n as i32);
    match kind {
        ShtPv::Val => match t.get(key) {
            Some(Item::Int(n)) => int(n),
            Some(Item::Str(s)) => Value::Str(s.into()),
            None => t.initval.map_or(Value::Null, int),
        },
        ShtPv::Ex => Value::Int(t.expires_in(key) as i32),
        ShtPv::Inc => t.add(key, 1).map_or(Value::Null, int),
        ShtPv::Dec => t.add(key, -1).map_or(Value::Null, int),
        ShtPv::Cn => int(count_re(t, key, false) as i64),
        ShtPv::Cv => int(count_re(t, key, true) as i64),
    }
}

/// Assigns an htable PV: `$sht(t=>k) = v` (`$null` deletes),
/// `$shtex(t=>k) = n`. -1 for an unknown table (or a read-only PV).
pub fn pv_set(ctx: &mut Ctx<'_>, kind: ShtPv, table: &str, key: &[u8], v: OwnedValue) -> i32 {
    let Some(t) = table_of(ctx, table) else {
        return -1;
    };
    match (kind, v) {
        (ShtPv::Val, Value::Null) => {
            t.delete(key);
        }
        (ShtPv::Val, Value::Int(n)) => t.set(key, Item::Int(i64::from(n)), 0),
        (ShtPv::Val, Value::Str(s)) => t.set(key, Item::Str(s.into_owned()), 0),
        (ShtPv::Ex, Value::Int(n)) => t.set_expire(key, i64::from(n)),
        // A string (or `$null`) sets no expiry: Kamailio's value 0.
        (ShtPv::Ex, _) => t.set_expire(key, 0),
        _ => return -1,
    }
    1
}

/// The reader `pv::read` reaches through the module set.
pub(crate) fn read_pv_ref<'c>(pv: &'c PvRef, ctx: &'c Ctx<'_>) -> Option<Value<'c>> {
    let PvRef::Sht(kind, name) = pv else {
        return None;
    };
    let key = crate::engine::pv::format(ctx, &name.key);
    Some(pv_get(ctx, *kind, &name.table, &key))
}

/// The writer `pv::assign` reaches through the module set.
pub(crate) fn write_pv_ref(pv: &PvRef, ctx: &mut Ctx<'_>, v: OwnedValue) -> i32 {
    let PvRef::Sht(kind, name) = pv else {
        return -1;
    };
    let key = crate::engine::pv::format(ctx, &name.key);
    pv_set(ctx, *kind, &name.table, &key, v)
}

/// `$shtcn`/`$shtcv` (Kamailio's `ht_count_cells_re`): the operator
/// prefixes `~~` regex, `~%` ends with, `%~` starts with, `==` equal,
/// `eq` integer equal (values only), `**` every item; no prefix is a
/// regex. Expired items not yet swept count.
fn count_re(t: &Table, sre: &[u8], values: bool) -> usize {
    if sre.is_empty() {
        return 0;
    }
    let op = match sre.get(..2) {
        Some(b"~~") => 1,
        Some(b"~%") => 2,
        Some(b"%~") => 3,
        Some(b"==") => 4,
        Some(b"eq") => 5,
        Some(b"**") => return t.count(|_| true),
        _ => 0,
    };
    let sval = if op == 0 { sre } else { &sre[2..] };
    if op > 0 && sval.is_empty() {
        return 0;
    }
    if op == 5 {
        if !values {
            return 0;
        }
        let n = parse_sint(sval);
        return t.count(|c| c.value == Item::Int(n));
    }
    t.count(|c| {
        subject(c, values).is_some_and(|s| match op {
            2 => s.ends_with(sval),
            3 => s.starts_with(sval),
            4 => s == sval,
            _ => re_match(sval, s),
        })
    })
}

/// Kamailio's `str2sint` as `$shtcv(t=>eqN)` uses it: an optional sign
/// and digits; what fails to parse is 0.
fn parse_sint(s: &[u8]) -> i64 {
    std::str::from_utf8(s)
        .ok()
        .and_then(|t| t.parse::<i64>().ok())
        .unwrap_or(0)
}

// ---- functions ------------------------------------------------------

/// A table named by a function's argument; logs Kamailio's error when
/// there is none.
fn named<'a>(ctx: &Ctx<'a>, name: &[u8]) -> Option<&'a Table> {
    let t = Modules::of(ctx).htable.table(name);
    if t.is_none() {
        crate::engine::log::error(
            ctx,
            &format!("cannot get hash table [{}]", String::from_utf8_lossy(name)),
        );
    }
    t
}

/// `sht_rm(table, key)`: 1 (also when the key is missing); -1 for an
/// unknown table or an empty argument.
pub fn sht_rm(ctx: &mut Ctx<'_>, table: &[u8], key: &[u8]) -> i32 {
    if table.is_empty() || key.is_empty() {
        return -1;
    }
    let Some(t) = named(ctx, table) else {
        return -1;
    };
    t.delete(key);
    1
}

/// `sht_rm_name_re("t=>re")` / `sht_rm_value_re`: the argument is split
/// at build; 1, also for an unknown table (as Kamailio); -1 for an empty
/// regex.
fn rm_re(ctx: &Ctx<'_>, spec: &[u8], values: bool) -> i32 {
    let Some((table, re)) = split_spec(spec) else {
        return -1;
    };
    let Some(t) = Modules::of(ctx).htable.table(table) else {
        return 1;
    };
    if re.is_empty() {
        return -1;
    }
    t.remove_where(|c| subject(c, values).is_some_and(|s| re_match(re, s)));
    1
}

/// `t=>text` at run time (the compiler checked the constant part).
fn split_spec(spec: &[u8]) -> Option<(&[u8], &[u8])> {
    let s = std::str::from_utf8(spec).ok()?;
    let (t, k) = cfgc_vocab::ShtName::split(s)?;
    Some((t.as_bytes(), k.as_bytes()))
}

pub fn sht_rm_name_re(ctx: &mut Ctx<'_>, spec: &[u8]) -> i32 {
    rm_re(ctx, spec, false)
}

pub fn sht_rm_value_re(ctx: &mut Ctx<'_>, spec: &[u8]) -> i32 {
    rm_re(ctx, spec, true)
}

/// `sht_rm_name(t, op, v)` / `sht_rm_value`: op `re` or `sw`; 1, or -1
/// (unknown table or operator, an empty argument).
fn rm_items(ctx: &Ctx<'_>, table: &[u8], op: &[u8], val: &[u8], values: bool) -> i32 {
    if table.is_empty() || op.is_empty() || val.is_empty() {
        return -1;
    }
    let Some(t) = named(ctx, table) else {
        return -1;
    };
    match op {
        b"re" => t.remove_where(|c| subject(c, values).is_some_and(|s| re_match(val, s))),
        b"sw" => t.remove_where(|c| subject(c, values).is_some_and(|s| s.starts_with(val))),
        _ => return -1,
    }
    1
}

pub fn sht_rm_name(ctx: &mut Ctx<'_>, table: &[u8], op: &[u8], val: &[u8]) -> i32 {
    rm_items(ctx, table, op, val, false)
}

pub fn sht_rm_value(ctx: &mut Ctx<'_>, table: &[u8], op: &[u8], val: &[u8]) -> i32 {
    rm_items(ctx, table, op, val, true)
}

/// `sht_match_name(t, op, v)` (`sht_has_name`) / `sht_match_str_value`
/// (`sht_has_str_value`): op `eq`, `ne`, `re`, `sw`; 1 when an item
/// matches, else -1.
fn match_items(ctx: &Ctx<'_>, table: &[u8], op: &[u8], val: &[u8], values: bool) -> i32 {
    if table.is_empty() || op.is_empty() || val.is_empty() {
        return -1;
    }
    let Some(t) = named(ctx, table) else {
        return -1;
    };
    let hit = match op {
        b"eq" => t.any(|c| subject(c, values) == Some(val)),
        b"ne" => t.any(|c| subject(c, values).is_some_and(|s| s != val)),
        b"sw" => t.any(|c| subject(c, values).is_some_and(|s| s.starts_with(val))),
        b"re" => t.any(|c| subject(c, values).is_some_and(|s| re_match(val, s))),
        _ => return -1,
    };
    if hit { 1 } else { -1 }
}

pub fn sht_match_name(ctx: &mut Ctx<'_>, table: &[u8], op: &[u8], val: &[u8]) -> i32 {
    match_items(ctx, table, op, val, false)
}

pub fn sht_match_str_value(ctx: &mut Ctx<'_>, table: &[u8], op: &[u8], val: &[u8]) -> i32 {
    match_items(ctx, table, op, val, true)
}

/// `sht_lock("table=>key")`: takes the key's slot for this worker until
/// `sht_unlock` (every other worker's access to the slot waits, this
/// worker's own go on); 1, -11 for an unknown table, -1 for a malformed
/// argument.
pub fn sht_lock(ctx: &mut Ctx<'_>, spec: &[u8]) -> i32 {
    slot_op(ctx, spec, script_lock)
}

/// `sht_unlock("table=>key")`: gives the key's slot back; 1, -11, -1.
pub fn sht_unlock(ctx: &mut Ctx<'_>, spec: &[u8]) -> i32 {
    slot_op(ctx, spec, script_unlock)
}

fn slot_op(ctx: &Ctx<'_>, spec: &[u8], op: fn(&Slot)) -> i32 {
    let Some((table, key)) = split_spec(spec) else {
        return -1;
    };
    let Some(t) = Modules::of(ctx).htable.table(table) else {
        crate::engine::log::error(ctx, "cannot get $sht root");
        return -11;
    };
    op(t.slot(case_hash(key, 0)));
    1
}

/// Kamailio's number of iterators per worker, and the longest name.
const ITERATORS: usize = 4;
const ITERATOR_NAME: usize = 32;

/// One `sht_iterator_*` iterator: the table, the slot it is on and the
/// position of its current item there (`None`: before the first item, or
/// past the last). While it has a current item it holds the slot's script
/// lock, as Kamailio's does.
#[derive(Debug, Default)]
struct Iter {
    name: Vec<u8>,
    table: Vec<u8>,
    slot: usize,
    pos: Option<usize>,
}

thread_local! {
    /// This worker's iterators (Kamailio's are per process).
    static ITERS: std::cell::RefCell<Vec<Iter>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Runs `f` on the iterator `name` with its table; -1 (logged) when there
/// is none or it was not started on an existing table.
fn with_iter(ctx: &Ctx<'_>, name: &[u8], f: impl FnOnce(&mut Iter, &Table) -> i32) -> i32 {
    let htable = &Modules::of(ctx).htable;
    ITERS.with(|its| {
        let mut its = its.borrow_mut();
        let Some(it) = its.iter_mut().find(|i| i.name == name) else {
            crate::engine::log::error(
                ctx,
                &format!("iterator not found [{}]", String::from_utf8_lossy(name)),
            );
            return -1;
        };
        let Some(t) = htable.table(&it.table) else {
            crate::engine::log::error(
                ctx,
                &format!(
                    "iterator not initialized [{}]",
                    String::from_utf8_lossy(name)
                ),
            );
            return -1;
        };
        f(it, t)
    })
}

/// Leaves the current item: its slot's lock goes.
fn release(it: &mut Iter, t: &Table) {
    if it.pos.take().is_some()
        && let Some(s) = t.slots.get(it.slot)
    {
        script_unlock(s);
    }
}

/// From slot `it.slot` on, the first slot with items: locked, the
/// iterator on its first item; `false` past the last slot.
fn advance(it: &mut Iter, t: &Table) -> bool {
    while let Some(s) = t.slots.get(it.slot) {
        script_lock(s);
        if !lock_slot(s).is_empty() {
            it.pos = Some(0);
            return true;
        }
        script_unlock(s);
        it.slot += 1;
    }
    false
}

/// `sht_iterator_start(iname, table)`: (re)starts the iterator `iname`
/// before the table's first item; 1, -1 (no free iterator, a name too
/// long, an unknown table).
pub fn sht_iterator_start(ctx: &mut Ctx<'_>, iname: &[u8], table: &[u8]) -> i32 {
    if iname.is_empty() || table.is_empty() {
        return -1;
    }
    let htable = &Modules::of(ctx).htable;
    let ok = ITERS.with(|its| {
        let mut its = its.borrow_mut();
        let i = match its.iter().position(|i| i.name == iname) {
            Some(i) => {
                let it = &mut its[i];
                if let Some(t) = htable.table(&it.table) {
                    release(it, t);
                }
                i
            }
            None if its.len() >= ITERATORS => {
                return Err(format!("no iterator available - max number is {ITERATORS}"));
            }
            None if iname.len() >= ITERATOR_NAME => {
                return Err(format!(
                    "iterator name is too big [{}] (max {ITERATOR_NAME})",
                    String::from_utf8_lossy(iname)
                ));
            }
            None => {
                its.push(Iter {
                    name: iname.to_vec(),
                    ..Iter::default()
                });
                its.len() - 1
            }
        };
        let it = &mut its[i];
        it.slot = 0;
        it.pos = None;
        it.table = table.to_vec();
        if htable.table(table).is_none() {
            return Err(format!(
                "cannot get hash table [{}]",
                String::from_utf8_lossy(table)
            ));
        }
        Ok(())
    });
    match ok {
        Ok(()) => 1,
        Err(e) => {
            crate::engine::log::error(ctx, &e);
            -1
        }
    }
}

/// `sht_iterator_next(iname)`: the next item; 1, -1 past the last (the
/// next call starts again from the first).
pub fn sht_iterator_next(ctx: &mut Ctx<'_>, iname: &[u8]) -> i32 {
    with_iter(ctx, iname, |it, t| {
        match it.pos {
            None => it.slot = 0,
            Some(p) => {
                let len = t.slots.get(it.slot).map_or(0, |s| lock_slot(s).len());
                if p + 1 < len {
                    it.pos = Some(p + 1);
                    return 1;
                }
                release(it, t);
                it.slot += 1;
            }
        }
        if advance(it, t) { 1 } else { -1 }
    })
}

/// `sht_iterator_end(iname)`: frees the iterator (and its slot); 1, -1
/// for an unknown iterator.
pub fn sht_iterator_end(ctx: &mut Ctx<'_>, iname: &[u8]) -> i32 {
    let htable = &Modules::of(ctx).htable;
    let found = ITERS.with(|its| {
        let mut its = its.borrow_mut();
        let i = its.iter().position(|i| i.name == iname)?;
        let mut it = its.remove(i);
        if let Some(t) = htable.table(&it.table) {
            release(&mut it, t);
        }
        Some(())
    });
    if found.is_some() {
        1
    } else {
        crate::engine::log::error(
            ctx,
            &format!("iterator not found [{}]", String::from_utf8_lossy(iname)),
        );
        -1
    }
}

/// The iterator's current position and the slot it holds; `None`
/// (logged) when it has no current item.
fn current<'t>(ctx: &Ctx<'_>, iname: &[u8], it: &Iter, t: &'t Table) -> Option<(usize, &'t Slot)> {
    let Some(p) = it.pos else {
        crate::engine::log::error(
            ctx,
            &format!("iterator not used [{}]", String::from_utf8_lossy(iname)),
        );
        return None;
    };
    Some((p, t.slots.get(it.slot)?))
}

/// The current item of the iterator (which holds its slot), through `f`;
/// -1 (logged) when the iterator has none.
fn with_current(
    ctx: &Ctx<'_>,
    iname: &[u8],
    f: impl FnOnce(&Table, &mut SlotData, usize) -> i32,
) -> i32 {
    with_iter(ctx, iname, |it, t| {
        let Some((p, slot)) = current(ctx, iname, it, t) else {
            return -1;
        };
        let mut g = lock_slot(slot);
        if p >= g.len() {
            return -1;
        }
        f(t, &mut g, p)
    })
}

/// `sht_iterator_rm(iname)`: deletes the current item, the iterator on
/// the next; 1, -2 when it was the last, -1 without a current item.
pub fn sht_iterator_rm(ctx: &mut Ctx<'_>, iname: &[u8]) -> i32 {
    with_iter(ctx, iname, |it, t| {
        let Some((p, s)) = current(ctx, iname, it, t) else {
            return -1;
        };
        let left = {
            let mut g = lock_slot(s);
            if p >= g.len() {
                return -1;
            }
            g.remove(p);
            g.len()
        };
        if p < left {
            return 1;
        }
        // The slot's data is released before the next slots are taken:
        // one slot at a time, so two workers never wait on each other.
        release(it, t);
        it.slot += 1;
        if advance(it, t) { 1 } else { -2 }
    })
}

/// `sht_iterator_sets(iname, value)`: the current item becomes the string
/// (its expiry re-armed with `updateexpire`); 1, -1.
pub fn sht_iterator_sets(ctx: &mut Ctx<'_>, iname: &[u8], val: &[u8]) -> i32 {
    with_current(ctx, iname, |t, g, p| {
        let c = &mut g[p];
        c.value = Item::Str(val.to_vec());
        if t.updateexpire {
            c.expire = unix_now() + t.autoexpire;
        }
        1
    })
}

/// `sht_iterator_seti(iname, n)`: the current item becomes the integer;
/// 1, -1.
pub fn sht_iterator_seti(ctx: &mut Ctx<'_>, iname: &[u8], n: i32) -> i32 {
    with_current(ctx, iname, |t, g, p| {
        let c = &mut g[p];
        c.value = Item::Int(i64::from(n));
        if t.updateexpire {
            c.expire = unix_now() + t.autoexpire;
        }
        1
    })
}

/// `sht_iterator_setex(iname, secs)`: the current item expires in `secs`
/// seconds; 1, -1.
pub fn sht_iterator_setex(ctx: &mut Ctx<'_>, iname: &[u8], secs: i32) -> i32 {
    with_current(ctx, iname, |_, g, p| {
        g[p].expire =
            u64::try_from(i64::try_from(unix_now()).unwrap_or(0) + i64::from(secs)).unwrap_or(0);
        1
    })
}

/// `$shtitkey(it)` (`value` false) and `$shtitval(it)`: the iterator's
/// current item; `$null` without one.
pub fn shtit<'c>(ctx: &Ctx<'_>, name: &str, value: bool) -> Value<'c> {
    let htable = &Modules::of(ctx).htable;
    ITERS.with(|its| {
        let its = its.borrow();
        let Some(it) = its.iter().find(|i| i.name == name.as_bytes()) else {
            return Value::Null;
        };
        let (Some(p), Some(t)) = (it.pos, htable.table(&it.table)) else {
            return Value::Null;
        };
        let Some(s) = t.slots.get(it.slot) else {
            return Value::Null;
        };
        let g = lock_slot(s);
        let Some(c) = g.get(p) else {
            return Value::Null;
        };
        match (&c.value, value) {
            (_, false) => Value::Str(c.name.clone().into()),
            (Item::Str(v), true) => Value::Str(v.clone().into()),
            (Item::Int(n), true) => Value::Int(*n as i32),
        }
    })
}

/// `sht_reset(table)`: every item deleted; 1, -1 for an unknown table.
pub fn sht_reset(ctx: &mut Ctx<'_>, table: &[u8]) -> i32 {
    if table.is_empty() {
        return -1;
    }
    let Some(t) = named(ctx, table) else {
        return -1;
    };
    t.reset();
    1
}

/// `sht_setxs(table, key, value, expire)`: a string item expiring in
/// `expire` seconds (0: the table's rule); 1, -1 for an unknown table.
pub fn sht_setxs(ctx: &mut Ctx<'_>, table: &[u8], key: &[u8], val: &[u8], exp: i32) -> i32 {
    setx(ctx, table, key, Item::Str(val.to_vec()), exp)
}

/// `sht_setxi(table, key, value, expire)`: the same with an integer,
/// but 0 when it is set (so the script ends there: Kamailio 5.6.3's
/// `ki_ht_setxi` returns 0 on success), -1 for an unknown table.
pub fn sht_setxi(ctx: &mut Ctx<'_>, table: &[u8], key: &[u8], val: i32, exp: i32) -> i32 {
    match setx(ctx, table, key, Item::Int(i64::from(val)), exp) {
        1 => 0,
        rc => rc,
    }
}

fn setx(ctx: &Ctx<'_>, table: &[u8], key: &[u8], v: Item, exp: i32) -> i32 {
    if table.is_empty() || key.is_empty() {
        return -1;
    }
    let Some(t) = Modules::of(ctx).htable.table(table) else {
        crate::engine::log::error(
            ctx,
            &format!("No such htable: {}", String::from_utf8_lossy(table)),
        );
        return -1;
    };
    t.set(key, v, i64::from(exp));
    1
}

// ---- RPC ------------------------------------------------------------

fn of_set(set: &dyn ModuleSet) -> Result<&Htable, RpcError> {
    set.as_any()
        .downcast_ref::<Modules>()
        .map(|m| &m.htable)
        .ok_or_else(|| RpcError::new(500, "htable is not loaded"))
}

fn rpc_table<'a>(set: &'a dyn ModuleSet, args: &[&str]) -> Result<&'a Table, RpcError> {
    let name = args
        .first()
        .ok_or_else(|| RpcError::new(500, "Table name not found"))?;
    of_set(set)?
        .table(name.as_bytes())
        .ok_or_else(|| RpcError::new(500, "No such htable"))
}

fn rpc_key<'a>(args: &[&'a str]) -> Result<&'a str, RpcError> {
    args.get(1)
        .copied()
        .ok_or_else(|| RpcError::new(500, "Key name not found"))
}

fn item_value(v: &Item) -> RpcValue {
    match v {
        Item::Int(n) => RpcValue::Int(*n),
        Item::Str(s) => RpcValue::Str(String::from_utf8_lossy(s).into_owned()),
    }
}

/// `expire` as `htable.get` prints it: local time, or `NEVER`.
fn expire_text(t: &Table, expire: u64) -> String {
    if t.autoexpire == 0 || expire == 0 {
        return "NEVER".into();
    }
    local_time(expire)
}

/// `%Y-%m-%d %H:%M:%S` in local time (libc's `localtime_r`).
fn local_time(secs: u64) -> String {
    let t = libc::time_t::try_from(secs).unwrap_or(0);
    // SAFETY: `tm` is plain data zeroed before use; `localtime_r` writes
    // it and reads only `t`.
    let tm = unsafe {
        let mut tm: libc::tm = std::mem::zeroed();
        libc::localtime_r(&t, &mut tm);
        tm
    };
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

fn rpc_get(set: &dyn ModuleSet, args: &[&str]) -> Result<Vec<RpcValue>, RpcError> {
    let t = rpc_table(set, args)?;
    let key = rpc_key(args)?.as_bytes();
    let hid = case_hash(key, 0);
    let slot = lock_slot(t.slot(hid));
    let c = slot
        .iter()
        .find(|c| c.hid == hid && c.name == key)
        .ok_or_else(|| RpcError::new(500, "Key name doesn't exist in htable."))?;
    let flags = match c.value {
        Item::Int(_) => 0,
        Item::Str(_) => 2,
    };
    Ok(vec![RpcValue::Struct(vec![(
        "item".into(),
        RpcValue::Struct(vec![
            (
                "name".into(),
                RpcValue::Str(String::from_utf8_lossy(&c.name).into_owned()),
            ),
            ("value".into(), item_value(&c.value)),
            ("flags".into(), RpcValue::Int(flags)),
            ("expire".into(), RpcValue::Str(expire_text(t, c.expire))),
        ]),
    )])])
}

fn rpc_delete(set: &dyn ModuleSet, args: &[&str]) -> Result<Vec<RpcValue>, RpcError> {
    let t = rpc_table(set, args)?;
    t.delete(rpc_key(args)?.as_bytes());
    Ok(vec![RpcValue::Str("Ok. Key deleted.".into())])
}

fn rpc_sets(set: &dyn ModuleSet, args: &[&str]) -> Result<Vec<RpcValue>, RpcError> {
    let t = rpc_table(set, args)?;
    let key = rpc_key(args)?;
    let v = args
        .get(2)
        .ok_or_else(|| RpcError::new(500, "Value not found"))?;
    t.set(key.as_bytes(), Item::Str(v.as_bytes().to_vec()), 0);
    Ok(vec![RpcValue::Str("Ok. Key set to new value.".into())])
}

fn rpc_seti(set: &dyn ModuleSet, args: &[&str]) -> Result<Vec<RpcValue>, RpcError> {
    let t = rpc_table(set, args)?;
    let key = rpc_key(args)?;
    let v = args
        .get(2)
        .ok_or_else(|| RpcError::new(500, "Value not found"))?;
    // A value that is not an integer stores 0, as Kamailio's JSON typing.
    let n = v.parse::<i64>().unwrap_or(0);
    t.set(key.as_bytes(), Item::Int(n), 0);
    Ok(vec![RpcValue::Str("Ok. Key set to new value.".into())])
}

fn rpc_dump(set: &dyn ModuleSet, args: &[&str]) -> Result<Vec<RpcValue>, RpcError> {
    let t = rpc_table(set, args)?;
    let mut out = Vec::new();
    for (i, s) in t.slots.iter().enumerate() {
        let slot = lock_slot(s);
        if slot.is_empty() {
            continue;
        }
        let items = slot
            .iter()
            .map(|c| {
                RpcValue::Struct(vec![
                    (
                        "name".into(),
                        RpcValue::Str(String::from_utf8_lossy(&c.name).into_owned()),
                    ),
                    ("value".into(), item_value(&c.value)),
                    (
                        "type".into(),
                        RpcValue::Str(
                            match c.value {
                                Item::Int(_) => "int",
                                Item::Str(_) => "str",
                            }
                            .into(),
                        ),
                    ),
                ])
            })
            .collect();
        out.push(RpcValue::Struct(vec![
            ("entry".into(), RpcValue::Int(i as i64)),
            ("size".into(), RpcValue::Int(slot.len() as i64)),
            ("slot".into(), RpcValue::Array(items)),
        ]));
    }
    Ok(out)
}

/// Kamailio lists its tables newest first (each defined one is put at
/// the head of its list).
fn rpc_list_tables(set: &dyn ModuleSet, _args: &[&str]) -> Result<Vec<RpcValue>, RpcError> {
    Ok(of_set(set)?
        .tables
        .iter()
        .rev()
        .map(|t| {
            RpcValue::Struct(vec![
                ("name".into(), RpcValue::Str(t.name.clone())),
                (
                    "dbtable".into(),
                    RpcValue::Str(t.dbtable.clone().unwrap_or_default()),
                ),
                ("dbmode".into(), RpcValue::Int(i64::from(t.dbmode))),
                ("expire".into(), RpcValue::Int(t.autoexpire as i64)),
                (
                    "updateexpire".into(),
                    RpcValue::Int(i64::from(t.updateexpire)),
                ),
                ("size".into(), RpcValue::Int(t.slots.len() as i64)),
                ("dmqreplicate".into(), RpcValue::Int(0)),
            ])
        })
        .collect())
}

fn rpc_stats(set: &dyn ModuleSet, _args: &[&str]) -> Result<Vec<RpcValue>, RpcError> {
    Ok(of_set(set)?
        .tables
        .iter()
        .rev()
        .map(|t| {
            let sizes: Vec<usize> = t.slots.iter().map(|s| lock_slot(s).len()).collect();
            RpcValue::Struct(vec![
                ("name".into(), RpcValue::Str(t.name.clone())),
                ("slots".into(), RpcValue::Int(t.slots.len() as i64)),
                (
                    "all".into(),
                    RpcValue::Int(sizes.iter().sum::<usize>() as i64),
                ),
                (
                    "min".into(),
                    RpcValue::Int(sizes.iter().copied().min().unwrap_or(0) as i64),
                ),
                (
                    "max".into(),
                    RpcValue::Int(sizes.iter().copied().max().unwrap_or(0) as i64),
                ),
            ])
        })
        .collect())
}

fn rpc_flush(set: &dyn ModuleSet, args: &[&str]) -> Result<Vec<RpcValue>, RpcError> {
    rpc_table(set, args)?.reset();
    Ok(vec![RpcValue::Str("Ok. Htable flushed.".into())])
}

/// What `htable.reload` and `htable.store` check first, in Kamailio's
/// order: a `db_url`, a connection (opened for this command), a table
/// name, the table, its `dbtable`.
fn rpc_db_table<'a>(
    set: &'a dyn ModuleSet,
    args: &[&str],
) -> Result<(&'a db::HtDb, crate::db::Connection, &'a Table, &'a str), RpcError> {
    let h = of_set(set)?;
    let db =
        h.db.as_ref()
            .ok_or_else(|| RpcError::new(500, "No htable db_url"))?;
    let con = db
        .open()
        .map_err(|_| RpcError::new(500, "Failed to open htable db connection"))?;
    let name = args
        .first()
        .ok_or_else(|| RpcError::new(500, "No htable name given"))?;
    let t = h
        .table(name.as_bytes())
        .ok_or_else(|| RpcError::new(500, "No such htable"))?;
    let dbtable = t
        .dbtable
        .as_deref()
        .ok_or_else(|| RpcError::new(500, "No database htable"))?;
    Ok((db, con, t, dbtable))
}

/// `htable.reload NAME`: the table's items replaced by its rows (the
/// items kept when the load fails); the table is then written back at
/// shutdown (with a `dbmode`), even when it had no rows.
fn rpc_reload(set: &dyn ModuleSet, args: &[&str]) -> Result<Vec<RpcValue>, RpcError> {
    let (db, mut con, t, dbtable) = rpc_db_table(set, args)?;
    match db.load(&mut con, t, dbtable) {
        Ok((loaded, _)) => {
            t.replace_items(loaded);
            t.dbload.store(true, std::sync::atomic::Ordering::SeqCst);
            Ok(vec![RpcValue::Str("Ok. Htable reloaded.".into())])
        }
        Err(e) => {
            eprintln!("ERROR: htable: {e}");
            Err(RpcError::new(500, "Htable reload failed"))
        }
    }
}

/// `htable.store NAME`: the table's rows replaced by its items, whatever
/// its `dbmode`.
fn rpc_store(set: &dyn ModuleSet, args: &[&str]) -> Result<Vec<RpcValue>, RpcError> {
    let (db, mut con, t, dbtable) = rpc_db_table(set, args)?;
    db.delete_records(&mut con, dbtable);
    db.save(&mut con, t, dbtable);
    Ok(vec![RpcValue::Str(
        "Ok. Htable successfully stored to DB.".into(),
    )])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(spec: &str) -> Table {
        Table::parse(spec).expect("spec")
    }

    /// `sht_lock` is Kamailio's slot lock: recursive for the worker that
    /// holds it, another worker's access to the slot waits until the last
    /// `sht_unlock`.
    #[test]
    fn a_script_lock_holds_other_workers_off_the_slot() {
        let t = std::sync::Arc::new(table("x=>size=2"));
        let s = t.slot(case_hash(b"k", 0));
        script_lock(s);
        script_lock(s);
        t.set(b"k", Item::Int(1), 0);
        let other = t.clone();
        let h = std::thread::spawn(move || other.set(b"k", Item::Int(2), 0));
        std::thread::sleep(Duration::from_millis(150));
        assert_eq!(t.get(b"k"), Some(Item::Int(1)), "the other worker waits");
        script_unlock(s);
        std::thread::sleep(Duration::from_millis(100));
        assert_eq!(t.get(b"k"), Some(Item::Int(1)), "still held once");
        script_unlock(s);
        h.join().expect("the other worker ends");
        assert_eq!(t.get(b"k"), Some(Item::Int(2)));
    }

    #[test]
    fn specs_parse_as_kamailio_reads_them() {
        let t = table("ipban=>size=8;autoexpire=300;");
        assert_eq!(
            (t.name.as_str(), t.slots.len(), t.autoexpire),
            ("ipban", 256, 300)
        );
        assert!(t.updateexpire && t.initval.is_none());
        let t = table("a=>size=1;initval=-3;updateexpire=0");
        assert_eq!(
            (t.slots.len(), t.initval, t.updateexpire),
            (8, Some(-3), false)
        );
        assert_eq!(table("b=>size=40").slots.len(), 16384);
        assert_eq!(table("c=>").slots.len(), 16);
        for bad in [
            "x",
            "=>size=2",
            "x=>size=a",
            "x=>nope=1",
            "x=>size",
            "x=>autoexpire=-1",
        ] {
            assert!(Table::parse(bad).is_err(), "{bad}");
        }
        assert!(
            Table::parse("x=>cols='a,b'")
                .unwrap_err()
                .contains("not supported")
        );
        let t = table("d=>dbtable=htable;dbmode=1");
        assert_eq!((t.dbtable.as_deref(), t.dbmode), (Some("htable"), 1));
        assert!(Table::parse("x=>dbmode=-1").is_err());
    }

    #[test]
    fn items_set_read_replace_and_delete() {
        let t = table("t=>size=2");
        t.set(b"k", Item::Int(5), 0);
        assert_eq!(t.get(b"k"), Some(Item::Int(5)));
        assert_eq!(t.get(b"K"), None, "keys are case-sensitive");
        t.set(b"k", Item::Str(b"abc".to_vec()), 0);
        assert_eq!(t.get(b"k"), Some(Item::Str(b"abc".to_vec())));
        assert!(t.delete(b"k") && !t.delete(b"k"));
        assert_eq!(t.get(b"k"), None);
    }

    #[test]
    fn inc_and_dec_follow_initval() {
        let t = table("t=>initval=0");
        assert_eq!(t.add(b"n", 1), Some(1));
        assert_eq!(t.add(b"n", 1), Some(2));
        assert_eq!(t.add(b"n", -1), Some(1));
        t.set(b"s", Item::Str(b"x".to_vec()), 0);
        assert_eq!(t.add(b"s", 1), None);
        let u = table("u=>size=2");
        assert_eq!(u.add(b"n", 1), None, "no initval: nothing created");
        assert_eq!(u.get(b"n"), None);
    }

    #[test]
    fn expiry_reads_as_absent_and_is_swept() {
        let t = table("t=>autoexpire=300");
        t.set(b"k", Item::Int(1), 0);
        let left = t.expires_in(b"k");
        assert!((299..=300).contains(&left), "{left}");
        t.set_expire(b"k", 0);
        // Pinned: Kamailio's unsigned subtraction wraps.
        assert!(t.expires_in(b"k") > 300);
        {
            let hid = case_hash(b"k", 0);
            let mut s = lock_slot(t.slot(hid));
            s[0].expire = unix_now() - 1;
        }
        assert_eq!(t.get(b"k"), None);
        assert_eq!(t.count(|_| true), 1, "counted until swept");
        t.sweep(unix_now());
        assert_eq!(t.count(|_| true), 0);
    }

    #[test]
    fn counts_by_operator() {
        let t = table("t=>size=4");
        t.set(b"alpha", Item::Str(b"one".to_vec()), 0);
        t.set(b"beta", Item::Str(b"two".to_vec()), 0);
        t.set(b"gamma", Item::Int(7), 0);
        assert_eq!(count_re(&t, b"**", false), 3);
        assert_eq!(count_re(&t, b"~~^[ab]", false), 2);
        assert_eq!(count_re(&t, b"~%ta", false), 1);
        assert_eq!(count_re(&t, b"%~gam", false), 1);
        assert_eq!(count_re(&t, b"==two", true), 1);
        assert_eq!(count_re(&t, b"eq7", true), 1);
        assert_eq!(count_re(&t, b"eq7", false), 0);
        assert_eq!(
            count_re(&t, b"A", false),
            3,
            "no prefix: a case-insensitive regex"
        );
    }

    #[test]
    fn slots_keep_hash_order() {
        let t = table("t=>size=1");
        for k in ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j"] {
            t.set(k.as_bytes(), Item::Int(1), 0);
        }
        for s in &t.slots {
            let s = lock_slot(s);
            assert!(s.windows(2).all(|w| w[0].hid <= w[1].hid));
        }
    }
}
