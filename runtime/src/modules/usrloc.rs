//! usrloc — the location table (kamailio-modules.md §11), kept in memory
//! (`db_mode` 0, [`MemoryStore`]) or in a database (`db_mode` 1–4,
//! [`db::DbStore`]) behind [`LocationStore`]. Shared by every worker through [`crate::modules::Modules`]; time
//! is passed in (sans-IO), expired contacts are invisible at once and
//! removed by [`Usrloc::on_timer`].

use std::collections::HashMap;
use std::fmt::Debug;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::engine::module::{ModuleSet, RpcCommand, RpcError, RpcValue};
use crate::engine::params::{ModParams, ParamError};

pub mod db;

/// A change the store could not write (db_mode 1 and 3): the text of
/// registrar's `P-Registrar-Error` (`usrloc_contact_insert failed`...).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StoreError(pub &'static str);

/// `q` of a contact without one (Kamailio's `Q_UNSPECIFIED`).
pub const Q_UNSPECIFIED: i32 = -1;

/// One binding of an address of record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contact {
    /// The contact URI as registered.
    pub uri: Vec<u8>,
    /// When it expires.
    pub expires: Instant,
    /// q in thousandths, or [`Q_UNSPECIFIED`].
    pub q: i32,
    pub call_id: Vec<u8>,
    pub cseq: u32,
    /// Branch flags to restore at lookup (`cflags`).
    pub cflags: u32,
    pub user_agent: Vec<u8>,
    /// The `received` URI (NAT), if stored.
    pub received: Option<Vec<u8>>,
    /// The Path vector, if stored.
    pub path: Option<Vec<u8>>,
    /// The socket the REGISTER arrived on, `proto:ip:port`.
    pub socket: Option<Vec<u8>>,
    /// Methods from `Allow` (Kamailio's method bits), `u32::MAX` = all.
    pub methods: u32,
    /// `uloc-...` unique id.
    pub ruid: Vec<u8>,
    pub instance: Option<Vec<u8>>,
    pub reg_id: u32,
    pub last_modified: Instant,
}

/// Storage of the location table. Every operation on one AoR is atomic.
pub trait LocationStore: Debug + Send + Sync {
    /// The contacts of `aor` in `table` (expired ones included), in
    /// storage order.
    fn get(&self, table: &str, aor: &[u8]) -> Vec<Contact>;
    /// Runs `f` on the contacts of `aor` (empty if unknown) and stores the
    /// result (an empty list removes the record), atomically.
    ///
    /// # Errors
    /// A database write failed (the memory copy, if any, is changed).
    fn update(
        &self,
        table: &str,
        aor: &[u8],
        f: &mut dyn FnMut(&mut Vec<Contact>),
    ) -> Result<(), StoreError>;
    /// Removes every contact expired at `now`; returns how many.
    fn remove_expired(&self, now: Instant) -> usize;
    /// Number of records (AoRs) with at least one contact.
    fn records(&self) -> usize;
    /// Per table: its name, records and contacts (usrloc's statistics).
    fn counts(&self) -> Vec<(String, usize, usize)> {
        Vec::new()
    }
    /// Every table with its records (AoR, contacts), tables sorted by
    /// name (`ul.dump`).
    fn dump(&self) -> Vec<(String, Vec<Record>)>;
    /// The contact with this `ruid` in `table` whose AoR `aor_matches`
    /// (usrloc's `get_urecord_by_ruid`, which looks in the AoR hash's
    /// slot), with its AoR.
    fn by_ruid(
        &self,
        table: &str,
        ruid: &[u8],
        aor_matches: &dyn Fn(&[u8]) -> bool,
    ) -> Option<(Vec<u8>, Contact)> {
        self.dump()
            .into_iter()
            .filter(|(t, _)| t == table)
            .flat_map(|(_, records)| records)
            .filter(|(aor, _)| aor_matches(aor))
            .find_map(|(aor, cs)| cs.into_iter().find(|c| c.ruid == ruid).map(|c| (aor, c)))
    }
}

/// One record of a table: the AoR and its contacts.
pub type Record = (Vec<u8>, Vec<Contact>);

/// Records by (table, AoR).
type Records = HashMap<(String, Vec<u8>), Vec<Contact>>;

/// The in-memory store (`db_mode` 0).
#[derive(Debug, Default)]
pub struct MemoryStore {
    table: Mutex<Records>,
}

impl MemoryStore {
    fn lock(&self) -> std::sync::MutexGuard<'_, Records> {
        // A panic while holding the lock cannot leave a record half
        // written (updates replace whole vectors), so poisoning is ignored.
        self.table
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl LocationStore for MemoryStore {
    fn by_ruid(
        &self,
        table: &str,
        ruid: &[u8],
        aor_matches: &dyn Fn(&[u8]) -> bool,
    ) -> Option<(Vec<u8>, Contact)> {
        self.lock().iter().find_map(|((t, aor), cs)| {
            if t != table || !aor_matches(aor) {
                return None;
            }
            cs.iter()
                .find(|c| c.ruid == ruid)
                .map(|c| (aor.clone(), c.clone()))
        })
    }

    fn get(&self, table: &str, aor: &[u8]) -> Vec<Contact> {
        self.lock()
            .get(&(table.to_string(), aor.to_vec()))
            .cloned()
            .unwrap_or_default()
    }

    fn update(
        &self,
        table: &str,
        aor: &[u8],
        f: &mut dyn FnMut(&mut Vec<Contact>),
    ) -> Result<(), StoreError> {
        let mut t = self.lock();
        let key = (table.to_string(), aor.to_vec());
        let mut contacts = t.remove(&key).unwrap_or_default();
        f(&mut contacts);
        if !contacts.is_empty() {
            t.insert(key, contacts);
        }
        Ok(())
    }

    fn remove_expired(&self, now: Instant) -> usize {
        let mut n = 0;
        let mut per_table: Vec<(String, u64)> = Vec::new();
        self.lock().retain(|(table, _), cs| {
            let before = cs.len();
            cs.retain(|c| c.expires > now);
            let gone = before - cs.len();
            n += gone;
            if gone > 0 {
                match per_table.iter_mut().find(|(t, _)| t == table) {
                    Some(e) => e.1 += gone as u64,
                    None => per_table.push((table.clone(), gone as u64)),
                }
            }
            !cs.is_empty()
        });
        if !per_table.is_empty() {
            let mut e = crate::engine::counters::stats()
                .usrloc
                .expired
                .write()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            for (t, k) in per_table {
                match e.iter_mut().find(|(n, _)| *n == t) {
                    Some(x) => x.1 += k,
                    None => e.push((t, k)),
                }
            }
        }
        n
    }

    fn records(&self) -> usize {
        self.lock().len()
    }

    fn counts(&self) -> Vec<(String, usize, usize)> {
        let mut v: Vec<(String, usize, usize)> = Vec::new();
        for ((table, _), cs) in self.lock().iter() {
            match v.iter_mut().find(|(t, _, _)| t == table) {
                Some(e) => {
                    e.1 += 1;
                    e.2 += cs.len();
                }
                None => v.push((table.clone(), 1, cs.len())),
            }
        }
        v
    }

    fn dump(&self) -> Vec<(String, Vec<Record>)> {
        let mut by_table: std::collections::BTreeMap<String, Vec<Record>> =
            std::collections::BTreeMap::new();
        for ((table, aor), contacts) in self.lock().iter() {
            by_table
                .entry(table.clone())
                .or_default()
                .push((aor.clone(), contacts.clone()));
        }
        by_table.into_iter().collect()
    }
}

/// usrloc's `db_url` when unset (it writes, so the read-write account).
pub const DEFAULT_RW_URL: &str = "mysql://kamailio:kamailiorw@localhost/kamailio";

/// usrloc's parameters and its store.
#[derive(Debug)]
pub struct Usrloc {
    pub store: Arc<dyn LocationStore>,
    /// The database store when `db_mode` is not 0 (the same as `store`).
    pub db: Option<Arc<db::DbStore>>,
    /// `timer_interval` (60 s).
    pub timer_interval: Duration,
    /// `use_domain`: AoRs are `user@domain`.
    pub use_domain: bool,
    /// `desc_time_order`: newest contact first instead of by q.
    pub desc_time_order: bool,
    /// `cseq_delay` (20 s): a REGISTER with the same Call-ID and an older
    /// CSeq within this delay is a retransmission.
    pub cseq_delay: Duration,
    ruid_seq: AtomicU64,
    /// Unix time the table was made (the first part of a ruid).
    started: u64,
    /// When the expiry scan is next due.
    due: Mutex<Option<Instant>>,
}

impl Default for Usrloc {
    fn default() -> Self {
        Self {
            store: Arc::new(MemoryStore::default()),
            db: None,
            timer_interval: Duration::from_secs(60),
            use_domain: false,
            desc_time_order: false,
            cseq_delay: Duration::from_secs(20),
            ruid_seq: AtomicU64::new(0),
            started: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
            due: Mutex::new(None),
        }
    }
}

impl Usrloc {
    /// Reads `modparam("usrloc", ...)`.
    ///
    /// # Errors
    /// A non-numeric value. A database mode or a matching mode other than
    /// the default is refused at build (`cfgc_vocab::MODULES`).
    pub fn from_params(p: &ModParams) -> Result<Self, ParamError> {
        let d = Self::default();
        let flag = |name: &str, default: bool| -> Result<bool, ParamError> {
            Ok(p.int("usrloc", name)?.map_or(default, |v| v != 0))
        };
        let secs = |name: &str, default: Duration| -> Result<Duration, ParamError> {
            Ok(p.int("usrloc", name)?.map_or(default, |s| {
                Duration::from_secs(u64::from(s.max(1).unsigned_abs()))
            }))
        };
        let use_domain = flag("use_domain", false)?;
        let desc_time_order = flag("desc_time_order", false)?;
        let mode = p.int("usrloc", "db_mode")?.unwrap_or(0);
        // Read whatever the mode (a database setting with db_mode 0 is
        // ignored, as Kamailio ignores it).
        let url = p.str("usrloc", "db_url");
        let load = flag("db_load", true)?;
        let version_table = flag("version_table", true)?;
        let preload: Vec<String> = p
            .all("usrloc", "preload")
            .filter_map(|v| match v {
                crate::engine::params::ParamValue::Str(s) => Some(s.clone()),
                _ => None,
            })
            .collect();
        let (store, db): (Arc<dyn LocationStore>, _) = match u8::try_from(mode) {
            Ok(0) => (d.store.clone(), None),
            Ok(mode @ 1..=4) => {
                let mut module_db = crate::db::ModuleDb::from_params(p, "usrloc")?;
                if url.is_none() {
                    // usrloc writes: Kamailio's read-write default.
                    module_db.url = crate::db::DbUrl::parse(DEFAULT_RW_URL)
                        .map_err(|e| ParamError::invalid("usrloc", "db_url", e.message))?;
                }
                let s = Arc::new(db::DbStore::new(
                    mode,
                    module_db,
                    use_domain,
                    desc_time_order,
                    load,
                    version_table,
                    preload,
                ));
                (s.clone() as Arc<dyn LocationStore>, Some(s))
            }
            _ => {
                return Err(ParamError::invalid(
                    "usrloc",
                    "db_mode",
                    format!("unknown db_mode {mode} (0 to 4)"),
                ));
            }
        };
        Ok(Self {
            store,
            db,
            timer_interval: secs("timer_interval", d.timer_interval)?,
            use_domain,
            desc_time_order,
            cseq_delay: secs("cseq_delay", d.cseq_delay)?,
            ..d
        })
    }

    /// Start-up with a database mode: connects, checks the version of
    /// `tables` (the registrar calls' constant tables) and loads them.
    ///
    /// # Errors
    /// Kamailio's reason to refuse to start.
    pub fn start(&self, tables: &[&str]) -> Result<(), String> {
        match &self.db {
            Some(db) => db.start(tables),
            None => Ok(()),
        }
    }

    /// How often [`Usrloc::on_timer`] runs.
    pub fn timer_interval(&self) -> Duration {
        self.timer_interval
    }

    /// The expiry timer: removes expired contacts (and with a database
    /// mode writes what is not written yet).
    pub fn on_timer(&self, now: Instant) -> usize {
        self.store.remove_expired(now)
    }

    /// A new unique contact id, `uloc-<start time hex>-<pid hex>-<n>` as
    /// Kamailio's.
    pub fn new_ruid(&self) -> Vec<u8> {
        let n = self.ruid_seq.fetch_add(1, Ordering::Relaxed) + 1;
        // Kamailio's: start-up time and pid in hex, then the counter in
        // hex digits, least significant first (26 is `a1`).
        let mut counter = String::new();
        let mut k = n;
        loop {
            counter.push(char::from_digit((k & 0xf) as u32, 16).unwrap_or('0'));
            k >>= 4;
            if k == 0 {
                break;
            }
        }
        format!("uloc-{:x}-{:x}-{counter}", self.started, std::process::id()).into_bytes()
    }

    /// Contacts of `aor` still valid at `now`, in storage order (q
    /// descending, unspecified q last, oldest first among equals; newest
    /// first with `desc_time_order`).
    pub fn valid(&self, table: &str, aor: &[u8], now: Instant) -> Vec<Contact> {
        let mut v: Vec<Contact> = self
            .store
            .get(table, aor)
            .into_iter()
            .filter(|c| c.expires > now)
            .collect();
        self.sort(&mut v);
        v
    }

    /// Sorts contacts in storage order (stable).
    pub fn sort(&self, v: &mut [Contact]) {
        if self.desc_time_order {
            v.reverse();
        } else {
            v.sort_by_key(|c| std::cmp::Reverse(c.q));
        }
    }
}

impl crate::engine::module::Module for Usrloc {
    const NAME: &'static str = "usrloc";
    const RPC: &'static [RpcCommand] = &[
        RpcCommand {
            name: "ul.lookup",
            help: "Lookup one AOR in the usrloc location table",
            handler: rpc_lookup,
        },
        RpcCommand {
            name: "ul.dump",
            help: "Dump user location tables",
            handler: rpc_dump,
        },
    ];

    fn from_params(p: &ModParams) -> Result<Self, ParamError> {
        Usrloc::from_params(p)
    }

    fn tick(&self) -> Option<Duration> {
        Some(self.timer_interval)
    }

    /// The expiry scan goes over the whole table: only every
    /// `timer_interval`, however often the engine ticks.
    fn on_timer(&self, now: Instant, _out: &mut Vec<crate::transport::Transmit>) {
        let mut due = self
            .due
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if due.is_some_and(|d| now < d) {
            return;
        }
        *due = Some(now + self.timer_interval);
        drop(due);
        self.on_timer(now);
    }

    /// Write-back and write-through: what is not written yet goes to the
    /// database before the process ends (Kamailio's destroy).
    fn shutdown(&self) {
        if let Some(db) = &self.db {
            db.flush();
        }
    }
}

/// `ul.lookup table AOR`: Kamailio's `{ AoR, Contacts: { Contact: {...}
/// ... } }` (the domain part dropped without `use_domain`), or its 500
/// faults.
fn rpc_lookup(set: &dyn ModuleSet, args: &[&str]) -> Result<Vec<RpcValue>, RpcError> {
    let [table, aor, ..] = args else {
        return Err(RpcError::new(
            500,
            "Not enough parameters (table and AOR to lookup)",
        ));
    };
    let m = modules_of(set)?;
    let aor = if m.usrloc.use_domain {
        *aor
    } else {
        aor.split_once('@').map_or(*aor, |(u, _)| u)
    };
    let now = Instant::now();
    let clock = Clock::now(now);
    let contacts = m.usrloc.valid(table, aor.as_bytes(), now);
    if contacts.is_empty() {
        return Err(RpcError::new(500, "AOR not found in location table"));
    }
    Ok(vec![RpcValue::Struct(vec![
        ("AoR".into(), RpcValue::Str(aor.to_string())),
        ("Contacts".into(), contacts_value(&contacts, &clock)),
    ])])
}

fn modules_of(set: &dyn ModuleSet) -> Result<&crate::modules::Modules, RpcError> {
    set.as_any()
        .downcast_ref::<crate::modules::Modules>()
        .ok_or_else(|| RpcError::new(500, "usrloc is not loaded"))
}

/// `Instant`s to Unix seconds.
struct Clock {
    now: Instant,
    wall: std::time::SystemTime,
}

impl Clock {
    fn now(now: Instant) -> Self {
        Self {
            now,
            wall: std::time::SystemTime::now(),
        }
    }

    /// The Unix second `t` falls in.
    fn unix(&self, t: Instant) -> i64 {
        let wall = match t.checked_duration_since(self.now) {
            Some(ahead) => self.wall.checked_add(ahead),
            None => self.wall.checked_sub(self.now.saturating_duration_since(t)),
        };
        wall.and_then(|w| w.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
    }

    /// Whole seconds left until `t` (Kamailio: expiry second minus the
    /// current second, so a fresh 600 s binding shows 600).
    fn left(&self, t: Instant) -> i64 {
        self.unix(t) - self.unix(self.now)
    }
}

fn text(v: &[u8]) -> RpcValue {
    RpcValue::Str(String::from_utf8_lossy(v).into_owned())
}

fn opt_text(v: Option<&Vec<u8>>) -> RpcValue {
    v.map_or_else(|| RpcValue::Str("[not set]".into()), |v| text(v))
}

/// `Contacts`: one `Contact` struct per binding, Kamailio's fields in its
/// order. Fields this runtime does not track hold Kamailio's values for
/// an in-memory UDP binding (State CS_NEW, Flags 0, Server-Id 0,
/// Tcpconn-Id -1, Keepalive 0, KA-Roundtrip 0; Last-Keepalive is the
/// registration time, as Kamailio sets it).
fn contacts_value(contacts: &[Contact], clock: &Clock) -> RpcValue {
    RpcValue::Array(
        contacts
            .iter()
            .map(|c| {
                let modified = clock.unix(c.last_modified);
                RpcValue::Struct(vec![(
                    "Contact".into(),
                    RpcValue::Struct(vec![
                        ("Address".into(), text(&c.uri)),
                        (
                            "Expires".into(),
                            if c.expires <= clock.now {
                                RpcValue::Str("expired".into())
                            } else {
                                RpcValue::Int(clock.left(c.expires))
                            },
                        ),
                        ("Q".into(), RpcValue::Int(i64::from(c.q))),
                        ("Call-ID".into(), text(&c.call_id)),
                        ("CSeq".into(), RpcValue::Int(i64::from(c.cseq))),
                        ("User-Agent".into(), text(&c.user_agent)),
                        ("Received".into(), opt_text(c.received.as_ref())),
                        ("Path".into(), opt_text(c.path.as_ref())),
                        ("State".into(), RpcValue::Str("CS_NEW".into())),
                        ("Flags".into(), RpcValue::Int(0)),
                        ("CFlags".into(), RpcValue::Int(i64::from(c.cflags))),
                        ("Socket".into(), opt_text(c.socket.as_ref())),
                        ("Methods".into(), RpcValue::Int(i64::from(c.methods))),
                        ("Ruid".into(), text(&c.ruid)),
                        ("Instance".into(), opt_text(c.instance.as_ref())),
                        ("Reg-Id".into(), RpcValue::Int(i64::from(c.reg_id))),
                        ("Server-Id".into(), RpcValue::Int(0)),
                        ("Tcpconn-Id".into(), RpcValue::Int(-1)),
                        ("Keepalive".into(), RpcValue::Int(0)),
                        ("Last-Keepalive".into(), RpcValue::Int(modified)),
                        ("KA-Roundtrip".into(), RpcValue::Int(0)),
                        ("Last-Modified".into(), RpcValue::Int(modified)),
                    ]),
                )])
            })
            .collect(),
    )
}

/// usrloc's `hash_size` (2^10 slots, Kamailio's default).
const HASH_SLOTS: u32 = 1024;

/// `ul.dump [brief]`: every domain (table) with its records, Kamailio's
/// shape: `{ Domains: { Domain: { Domain, Size, AoRs: { Info: {...} ... },
/// Stats: { Records, Max-Slots } } } }`; `brief` lists only `AoR`s.
fn rpc_dump(set: &dyn ModuleSet, args: &[&str]) -> Result<Vec<RpcValue>, RpcError> {
    let m = modules_of(set)?;
    let brief = args.first().is_some_and(|a| *a == "brief");
    let now = Instant::now();
    let clock = Clock::now(now);
    let mut tables = m.usrloc.store.dump();
    if !tables.iter().any(|(t, _)| t == "location") {
        // registrar's save("location")/lookup("location") register the
        // domain at start-up in Kamailio, so it is listed while empty.
        tables.insert(0, ("location".into(), Vec::new()));
    }
    let domains = tables
        .into_iter()
        .map(|(table, mut records)| {
            records.sort_by_key(|(aor, _)| hash32(aor) % HASH_SLOTS);
            let mut per_slot: HashMap<u32, i64> = HashMap::new();
            let aors = records
                .iter()
                .map(|(aor, contacts)| {
                    *per_slot.entry(hash32(aor) % HASH_SLOTS).or_default() += 1;
                    if brief {
                        return RpcValue::Struct(vec![("AoR".into(), text(aor))]);
                    }
                    let mut contacts = contacts.clone();
                    m.usrloc.sort(&mut contacts);
                    RpcValue::Struct(vec![(
                        "Info".into(),
                        RpcValue::Struct(vec![
                            ("AoR".into(), text(aor)),
                            ("HashID".into(), RpcValue::Int(i64::from(hash32(aor)))),
                            ("Contacts".into(), contacts_value(&contacts, &clock)),
                        ]),
                    )])
                })
                .collect();
            RpcValue::Struct(vec![(
                "Domain".into(),
                RpcValue::Struct(vec![
                    ("Domain".into(), RpcValue::Str(table)),
                    ("Size".into(), RpcValue::Int(i64::from(HASH_SLOTS))),
                    ("AoRs".into(), RpcValue::Array(aors)),
                    (
                        "Stats".into(),
                        RpcValue::Struct(vec![
                            (
                                "Records".into(),
                                RpcValue::Int(i64::try_from(records.len()).unwrap_or(i64::MAX)),
                            ),
                            (
                                "Max-Slots".into(),
                                RpcValue::Int(per_slot.values().copied().max().unwrap_or(0)),
                            ),
                        ]),
                    ),
                ]),
            )])
        })
        .collect();
    Ok(vec![RpcValue::Struct(vec![(
        "Domains".into(),
        RpcValue::Array(domains),
    )])])
}

fn hash32(aor: &[u8]) -> u32 {
    crate::modules::cfgutils::hash32(aor)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn contact(uri: &str, expires: Instant, q: i32) -> Contact {
        Contact {
            uri: uri.as_bytes().to_vec(),
            expires,
            q,
            call_id: b"c".to_vec(),
            cseq: 1,
            cflags: 0,
            user_agent: Vec::new(),
            received: None,
            path: None,
            socket: None,
            methods: u32::MAX,
            ruid: Vec::new(),
            instance: None,
            reg_id: 0,
            last_modified: expires,
        }
    }

    #[test]
    fn expiry_is_immediate_for_readers_and_timer_removes() {
        let ul = Usrloc::default();
        let t0 = Instant::now();
        ul.store
            .update("location", b"bob", &mut |cs| {
                cs.push(contact(
                    "sip:a",
                    t0 + Duration::from_secs(10),
                    Q_UNSPECIFIED,
                ));
                cs.push(contact("sip:b", t0 + Duration::from_secs(100), 500));
            })
            .expect("in memory");
        let at = |s| t0 + Duration::from_secs(s);
        let uris = |v: Vec<Contact>| v.into_iter().map(|c| c.uri).collect::<Vec<_>>();
        assert_eq!(
            uris(ul.valid("location", b"bob", at(5))),
            vec![b"sip:b".to_vec(), b"sip:a".to_vec()]
        );
        assert_eq!(
            uris(ul.valid("location", b"bob", at(10))),
            vec![b"sip:b".to_vec()]
        );
        assert_eq!(ul.store.get("location", b"bob").len(), 2);
        assert_eq!(ul.on_timer(at(10)), 1);
        assert_eq!(ul.store.get("location", b"bob").len(), 1);
        assert_eq!(ul.on_timer(at(100)), 1);
        assert_eq!(ul.store.records(), 0);
        assert!(ul.valid("location", b"bob", at(0)).is_empty());
    }

    #[test]
    fn tables_are_separate_and_ruids_unique() {
        let ul = Usrloc::default();
        let t0 = Instant::now() + Duration::from_secs(5);
        ul.store
            .update("location", b"bob", &mut |cs| {
                cs.push(contact("sip:a", t0, 1000))
            })
            .expect("in memory");
        assert!(ul.store.get("other", b"bob").is_empty());
        assert_ne!(ul.new_ruid(), ul.new_ruid());
        // Kamailio's counter digits: hex, least significant first.
        let r26 = (3..=26).map(|_| ul.new_ruid()).last().unwrap_or_default();
        assert!(r26.ends_with(b"-a1"), "{}", String::from_utf8_lossy(&r26));
    }

    #[test]
    fn dump_and_lookup_have_kamailios_shape() {
        let m = crate::modules::Modules::default();
        let t0 = Instant::now();
        m.usrloc
            .store
            .update("location", b"alice", &mut |cs| {
                let mut c = contact("sip:alice@h", t0 + Duration::from_secs(600), Q_UNSPECIFIED);
                c.methods = u32::MAX;
                cs.push(c);
                cs.push(contact("sip:old@h", t0, 500));
            })
            .expect("in memory");
        let got = rpc_dump(&m, &[]).unwrap();
        let [RpcValue::Struct(top)] = got.as_slice() else {
            panic!("{got:?}")
        };
        let RpcValue::Array(domains) = &top[0].1 else {
            panic!("{top:?}")
        };
        let RpcValue::Struct(d) = &domains[0] else {
            panic!()
        };
        let RpcValue::Struct(d) = &d[0].1 else {
            panic!()
        };
        let names: Vec<&str> = d.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["Domain", "Size", "AoRs", "Stats"]);
        let RpcValue::Array(aors) = &d[2].1 else {
            panic!()
        };
        let RpcValue::Struct(info) = &aors[0] else {
            panic!()
        };
        let RpcValue::Struct(info) = &info[0].1 else {
            panic!()
        };
        assert_eq!(info[1], ("HashID".into(), RpcValue::Int(1834153949)));
        assert_eq!(hash32(b"alice"), 1834153949, "Kamailio's HashID of alice");
        let RpcValue::Array(contacts) = &info[2].1 else {
            panic!()
        };
        assert_eq!(contacts.len(), 2, "ul.dump shows expired contacts too");
        // q 500 first, then the unspecified q.
        let RpcValue::Struct(c) = &contacts[1] else {
            panic!()
        };
        let RpcValue::Struct(c) = &c[0].1 else {
            panic!()
        };
        assert_eq!(c.len(), 22);
        assert_eq!(c[1], ("Expires".into(), RpcValue::Int(600)));
        assert_eq!(
            c[12],
            ("Methods".into(), RpcValue::Int(i64::from(u32::MAX)))
        );
        let RpcValue::Struct(old) = &contacts[0] else {
            panic!()
        };
        let RpcValue::Struct(old) = &old[0].1 else {
            panic!()
        };
        assert_eq!(old[1], ("Expires".into(), RpcValue::Str("expired".into())));
        let brief = rpc_dump(&m, &["brief"]).unwrap();
        assert!(format!("{brief:?}").contains(r#"Struct([("AoR", Str("alice"))])"#));
        let one = rpc_lookup(&m, &["location", "alice@example.com"]).unwrap();
        let [RpcValue::Struct(l)] = one.as_slice() else {
            panic!()
        };
        assert_eq!(l[0], ("AoR".into(), RpcValue::Str("alice".into())));
        let RpcValue::Array(valid) = &l[1].1 else {
            panic!()
        };
        assert_eq!(valid.len(), 1, "lookup shows valid contacts only");
        // An empty store still lists the location domain.
        let empty = rpc_dump(&crate::modules::Modules::default(), &[]).unwrap();
        assert!(format!("{empty:?}").contains(r#"("Domain", Str("location"))"#));
    }

    #[test]
    fn params() {
        let mut p = ModParams::new();
        p.push(
            "usrloc",
            "matching_mode",
            crate::engine::params::ParamValue::Int(2),
        );
        // Refused from the vocabulary's table, not by the module.
        assert!(p.check_supported().is_err());
        let mut p = ModParams::new();
        p.push(
            "usrloc",
            "db_mode",
            crate::engine::params::ParamValue::Int(5),
        );
        assert!(Usrloc::from_params(&p).is_err(), "no db_mode 5");
        p.push(
            "usrloc",
            "db_mode",
            crate::engine::params::ParamValue::Int(2),
        );
        let ul = Usrloc::from_params(&p).expect("db_mode 2");
        assert_eq!(ul.db.as_ref().map(|d| d.mode), Some(2));
        assert_eq!(
            ul.db.as_ref().map(|d| d.url().text.clone()),
            Some(DEFAULT_RW_URL.to_string()),
            "usrloc writes: the read-write default"
        );
        let mut p = ModParams::new();
        p.push(
            "usrloc",
            "timer_interval",
            crate::engine::params::ParamValue::Int(30),
        );
        p.push(
            "usrloc",
            "use_domain",
            crate::engine::params::ParamValue::Int(1),
        );
        let ul = Usrloc::from_params(&p).expect("ok");
        assert_eq!(ul.timer_interval(), Duration::from_secs(30));
        assert!(ul.use_domain);
    }
}
