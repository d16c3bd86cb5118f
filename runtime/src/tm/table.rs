//! The transaction table shared by every worker: sharded by
//! hash(Call-ID, CSeq number) like Kamailio's buckets, each shard a
//! `Mutex<HashMap>`; requests are matched per RFC 3261 §17.2.3 (top Via
//! branch, sent-by, transport, method) with Kamailio's RFC 2543 fallback,
//! replies by the label in our Via branch (kamailio-modules.md §2.2).
//!
//! Lock order: a shard, then a transaction; never a shard while holding a
//! transaction (routes run with their transaction locked).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::sip::encode::{fnv1a, write_u32};
use crate::sip::{Message, Method};

use super::txn::Transaction;

/// Number of shards (a power of two).
pub const SHARDS: usize = 64;

/// A transaction as shared between workers.
pub type TxHandle = Arc<TxCell>;

/// A transaction behind its lock, with its next timer cached outside the
/// lock so the timer sweep skips, without locking, the transactions that
/// have nothing due (most of them): the cache is refreshed whenever a
/// [`TxGuard`] is dropped, the only way to change a transaction.
#[derive(Debug)]
pub struct TxCell {
    tx: Mutex<Transaction>,
    /// `Transaction::next_due` as [`instant_key`]; `u64::MAX`: none.
    due: AtomicU64,
}

/// The origin of cached timer keys.
static EPOCH: std::sync::LazyLock<std::time::Instant> =
    std::sync::LazyLock::new(std::time::Instant::now);

/// An instant as nanoseconds since [`EPOCH`] (0 before it: a cached key
/// only filters, the sweep checks the real timers under the lock).
fn instant_key(t: std::time::Instant) -> u64 {
    t.checked_duration_since(*EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX - 1))
}

fn due_key(tx: &Transaction) -> u64 {
    tx.next_due().map_or(u64::MAX, instant_key)
}

impl TxCell {
    fn new(tx: Transaction) -> Self {
        let due = AtomicU64::new(due_key(&tx));
        Self {
            tx: Mutex::new(tx),
            due,
        }
    }
}

/// A locked transaction; dropping it refreshes the cached next timer.
pub struct TxGuard<'a> {
    g: MutexGuard<'a, Transaction>,
    cell: &'a TxCell,
}

impl std::ops::Deref for TxGuard<'_> {
    type Target = Transaction;
    fn deref(&self) -> &Transaction {
        &self.g
    }
}

impl std::ops::DerefMut for TxGuard<'_> {
    fn deref_mut(&mut self) -> &mut Transaction {
        &mut self.g
    }
}

impl Drop for TxGuard<'_> {
    fn drop(&mut self) {
        self.cell.due.store(due_key(&self.g), Ordering::Relaxed);
    }
}

/// How a request finds its transaction.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ReqKey {
    /// RFC 3261: branch, sent-by host (lower case), port (5060 when
    /// absent), transport (upper case), method (ACK counts as INVITE).
    Rfc3261 {
        branch: Vec<u8>,
        host: Vec<u8>,
        port: u16,
        transport: Vec<u8>,
        method: Vec<u8>,
    },
    /// RFC 2543: Call-ID, CSeq number, From, R-URI, top Via, method (ACK
    /// counts as INVITE), hashed.
    Rfc2543(u64),
    /// A request tm sent itself (`tm::local`): no request matches it; the
    /// transaction id.
    Local(u64),
}

/// Hash index of a request: hash(Call-ID, CSeq number), 16 bits.
pub fn hash_index(msg: &Message<'_>) -> Option<u16> {
    let call_id = msg.call_id().ok()?;
    let seq = msg.cseq().ok()?.seq;
    let mut n = Vec::with_capacity(10);
    write_u32(&mut n, seq);
    Some((fnv1a(&[call_id, &n]) & 0xffff) as u16)
}

/// The key of `msg` for the transaction of `method` (ACK and CANCEL look
/// for their INVITE by passing `Method::Invite`). `None`: the request
/// lacks the headers a transaction needs.
pub fn request_key(msg: &Message<'_>, method: Method<'_>) -> Option<ReqKey> {
    let via = msg.via_top().ok()?;
    let method = match method {
        Method::Ack => b"INVITE".to_vec(),
        m => m.as_bytes().to_vec(),
    };
    match via.branch {
        Some(b) if via.has_rfc3261_branch() => Some(ReqKey::Rfc3261 {
            branch: b.to_vec(),
            host: via.host.to_ascii_lowercase(),
            port: via.port.unwrap_or(5060),
            transport: via.transport.to_ascii_uppercase(),
            method,
        }),
        _ => {
            let mut seq = Vec::with_capacity(10);
            write_u32(&mut seq, msg.cseq().ok()?.seq);
            Some(ReqKey::Rfc2543(fnv1a(&[
                b"2543",
                msg.call_id().ok()?,
                &seq,
                msg.header(crate::sip::HeaderName::From)?,
                msg.ruri_bytes()?,
                via.raw,
                &method,
            ])))
        }
    }
}

#[derive(Default)]
struct Shard {
    txs: HashMap<u64, TxHandle>,
    by_req: HashMap<ReqKey, u64>,
    by_label: HashMap<u128, u64>,
}

/// The table.
pub struct Table {
    shards: Box<[Mutex<Shard>]>,
    next_id: AtomicU64,
    per_shard: usize,
}

impl std::fmt::Debug for Table {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Table").field("len", &self.len()).finish()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding a lock leaves consistent data (every update
    // is a single insert/remove): keep going.
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Locks a transaction.
pub fn lock_tx(t: &TxHandle) -> TxGuard<'_> {
    TxGuard {
        g: lock(&t.tx),
        cell: t,
    }
}

/// Why a transaction could not be added.
#[derive(Debug, Clone)]
pub enum Insert {
    /// The request already has one (a retransmission that raced us).
    Exists(TxHandle),
    /// The table is full.
    Full,
}

impl Table {
    /// A table holding at most `max` transactions.
    pub fn new(max: usize) -> Self {
        Self {
            shards: (0..SHARDS).map(|_| Mutex::new(Shard::default())).collect(),
            next_id: AtomicU64::new(1),
            per_shard: max.div_ceil(SHARDS).max(1),
        }
    }

    fn shard(&self, hash: u16) -> &Mutex<Shard> {
        &self.shards[usize::from(hash) % SHARDS]
    }

    /// A fresh transaction id.
    pub fn next_id(&self) -> u64 {
        self.next_id.fetch_add(1, Ordering::Relaxed)
    }

    /// The transaction a request belongs to.
    pub fn find_request(&self, hash: u16, key: &ReqKey) -> Option<TxHandle> {
        let s = lock(self.shard(hash));
        let id = s.by_req.get(key)?;
        s.txs.get(id).cloned()
    }

    /// The transaction a reply's Via label names.
    pub fn find_label(&self, hash: u16, label: u128) -> Option<TxHandle> {
        let s = lock(self.shard(hash));
        let id = s.by_label.get(&label)?;
        s.txs.get(id).cloned()
    }

    /// Adds `tx` (its `hash`, `label`, `key` and `id` set).
    ///
    /// # Errors
    /// Its key is taken, or the shard is full.
    pub fn insert(&self, tx: Transaction) -> Result<TxHandle, Insert> {
        let mut s = lock(self.shard(tx.hash));
        if let Some(h) = s.by_req.get(&tx.key).and_then(|id| s.txs.get(id)) {
            return Err(Insert::Exists(h.clone()));
        }
        if s.txs.len() >= self.per_shard {
            return Err(Insert::Full);
        }
        let (id, key, label) = (tx.id, tx.key.clone(), tx.label);
        let h = Arc::new(TxCell::new(tx));
        s.txs.insert(id, h.clone());
        s.by_req.insert(key, id);
        s.by_label.insert(label, id);
        Ok(h)
    }

    /// Number of transactions.
    pub fn len(&self) -> usize {
        self.shards.iter().map(|s| lock(s).txs.len()).sum()
    }

    /// Whether the table is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Removes the transactions whose wait timer expired, and returns the
    /// others that have a timer due at `now`. A transaction locked by
    /// another worker is skipped (it is looked at again next tick).
    pub fn sweep(&self, now: std::time::Instant) -> Vec<TxHandle> {
        let mut due = Vec::new();
        let now_key = instant_key(now);
        for shard in &*self.shards {
            let mut s = lock(shard);
            let mut dead = Vec::new();
            for (id, h) in &s.txs {
                // Nothing due: not even a lock (the cache is refreshed on
                // every unlock).
                if h.due.load(Ordering::Relaxed) > now_key {
                    continue;
                }
                let Ok(g) = h.tx.try_lock() else { continue };
                let t = TxGuard { g, cell: h };
                if t.delete_at.is_some_and(|d| d <= now) {
                    dead.push((*id, t.key.clone(), t.label));
                } else if t.next_due().is_some_and(|d| d <= now) {
                    due.push(h.clone());
                }
            }
            crate::engine::counters::stats()
                .tm
                .deleted
                .add(dead.len() as u64);
            for (id, key, label) in dead {
                s.txs.remove(&id);
                if s.by_req.get(&key) == Some(&id) {
                    s.by_req.remove(&key);
                }
                if s.by_label.get(&label) == Some(&id) {
                    s.by_label.remove(&label);
                }
            }
        }
        due
    }
}
