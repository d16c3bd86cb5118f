//! pike — flood detection per source address (Kamailio 5.6's pike
//! module, modules-state-web-ops.md §5): `pike_check_req()` and
//! `pike_check_ip(ip)`, with `sampling_time_unit`,
//! `reqs_density_per_unit`, `remove_latency` and `pike_log_level`.
//!
//! Kamailio's tree, kept as it keeps it: 256 branches by the address's
//! first byte, each behind its own lock; a node counts hits as a prefix
//! (`hits`) and as a whole address (`leaf_hits`), for the previous and
//! the current time unit. A prefix that gets hot (a quarter of the
//! density) grows one child for the next byte, so a flooding address
//! reaches a full-address node after a few requests; that node turns red
//! (blocked) when its hits in the previous unit, in the current one or
//! their average reach the density. Every `sampling_time_unit` seconds
//! the counters shift (a red node that has cooled is unblocked); every
//! second, nodes not hit for `remove_latency` seconds are removed (a
//! parent whose last child goes is armed for removal in turn).
//!
//! Time is the module's ticks (seconds since start-up, as Kamailio's),
//! from the `Instant` the engine passes in.

use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use crate::engine::Ctx;
use crate::engine::module::Module;
use crate::engine::params::{ModParams, ParamError};
use crate::modules::Modules;
use cfgc_vocab::Level;

const M: &str = "pike";
const PREV: usize = 0;
const CURR: usize = 1;
/// The node is a whole address (it was hit as one).
const IPLEAF: u8 = 1 << 2;
/// The node is blocked.
const ISRED: u8 = 1 << 3;

/// One node of the tree: a byte of an address.
#[derive(Debug)]
struct Node {
    byte: u8,
    hits: [u16; 2],
    leaf_hits: [u16; 2],
    flags: u8,
    /// Newest first, as Kamailio links them.
    kids: Vec<Node>,
    /// In the removal timer: the tick at which it goes.
    expires: Option<u64>,
}

impl Node {
    fn new(byte: u8) -> Self {
        Self {
            byte,
            hits: [0; 2],
            leaf_hits: [0; 2],
            flags: 0,
            kids: Vec::new(),
            expires: None,
        }
    }
}

/// What one check found.
#[derive(Debug, PartialEq, Eq)]
enum Mark {
    Ok,
    /// Just turned red.
    NewRed,
    /// Already red.
    Red,
}

/// The module.
#[derive(Debug)]
pub struct Pike {
    /// `sampling_time_unit` (seconds).
    time_unit: u64,
    /// `reqs_density_per_unit`.
    max_hits: u16,
    /// `remove_latency` (seconds).
    timeout: u64,
    /// `pike_log_level`: the level of the BLOCKing/UNBLOCKing lines.
    log_level: Level,
    epoch: Instant,
    branches: Vec<Mutex<Option<Node>>>,
    /// The tick of the last counter shift.
    last_swap: AtomicU64,
    /// The tick of the last removal pass.
    last_clean: AtomicU64,
}

impl Default for Pike {
    fn default() -> Self {
        Self {
            time_unit: 2,
            max_hits: 30,
            timeout: 120,
            log_level: Level::Warn,
            epoch: Instant::now(),
            branches: (0..256).map(|_| Mutex::new(None)).collect(),
            last_swap: AtomicU64::new(0),
            last_clean: AtomicU64::new(0),
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

fn inc(n: &mut u16) {
    // Kamailio stops one short of the type's maximum.
    if *n < u16::MAX - 1 {
        *n += 1;
    }
}

impl Pike {
    /// Reads `modparam("pike", ...)`.
    ///
    /// # Errors
    /// A time unit or density that is not positive (Kamailio refuses to
    /// start on them).
    pub fn from_params(p: &ModParams) -> Result<Self, ParamError> {
        let unit = p.int(M, "sampling_time_unit")?.unwrap_or(2);
        let density = p.int(M, "reqs_density_per_unit")?.unwrap_or(30);
        let latency = p.int(M, "remove_latency")?.unwrap_or(120);
        let level = p.int(M, "pike_log_level")?.unwrap_or(Level::Warn as i32);
        if unit <= 0 || density <= 0 || latency < 0 {
            return Err(ParamError::invalid(
                M,
                "sampling_time_unit",
                "the time unit, density and latency must be positive",
            ));
        }
        Ok(Self {
            time_unit: u64::try_from(unit).unwrap_or(2),
            max_hits: u16::try_from(density).unwrap_or(u16::MAX),
            timeout: u64::try_from(latency).unwrap_or(120),
            log_level: Level::from_int(level),
            ..Self::default()
        })
    }

    fn ticks(&self, now: Instant) -> u64 {
        now.saturating_duration_since(self.epoch).as_secs()
    }

    fn is_hot_leaf(&self, n: &Node) -> bool {
        let m = self.max_hits;
        n.leaf_hits[PREV] >= m
            || n.leaf_hits[CURR] >= m
            || (u32::from(n.leaf_hits[PREV]) + u32::from(n.leaf_hits[CURR])) >> 1 >= u32::from(m)
    }

    fn is_hot_non_leaf(&self, n: &Node) -> bool {
        let q = self.max_hits >> 2;
        n.hits[PREV] >= q
            || n.hits[CURR] >= q
            || (u32::from(n.hits[PREV]) + u32::from(n.hits[CURR])) >> 1 >= u32::from(q)
    }

    fn is_warm(&self, n: &Node) -> bool {
        n.hits[CURR] >= self.max_hits >> 2
    }

    /// One more hit for `ip` (Kamailio's `mark_node` and the timer
    /// bookkeeping of `pike_check_ipaddr`).
    fn mark(&self, ip: &[u8], now: Instant) -> Mark {
        let Some(&first) = ip.first() else {
            return Mark::Ok;
        };
        let expiry = self.ticks(now) + self.timeout;
        let mut branch = lock(&self.branches[usize::from(first)]);
        let Some(root) = branch.as_mut() else {
            let mut n = Node::new(first);
            n.hits[CURR] = 1;
            n.expires = Some(expiry);
            *branch = Some(n);
            return Mark::Ok;
        };
        // The longest prefix of `ip` in the tree.
        let mut node: &mut Node = root;
        let mut pos = 1;
        while pos < ip.len() {
            let Some(i) = node.kids.iter().position(|k| k.byte == ip[pos]) else {
                break;
            };
            node = &mut node.kids[i];
            pos += 1;
        }
        if pos == ip.len() {
            // The whole address.
            node.flags |= IPLEAF;
            inc(&mut node.leaf_hits[CURR]);
            let mark = if node.flags & ISRED != 0 {
                Mark::Red
            } else if self.is_hot_leaf(node) {
                node.flags |= ISRED;
                Mark::NewRed
            } else {
                Mark::Ok
            };
            node.expires = Some(expiry);
            return mark;
        }
        inc(&mut node.hits[CURR]);
        if self.is_hot_non_leaf(node) {
            // Split: a child for the next byte, which inherits part of
            // the hits (Kamailio's `split_node`, quirks included).
            let mut kid = Node::new(ip[pos]);
            if node.hits[CURR] >= 1 {
                kid.hits[CURR] = node.hits[CURR] - 1;
            }
            if node.leaf_hits[CURR] >= 1 {
                kid.leaf_hits[PREV] = node.leaf_hits[PREV].saturating_sub(1);
            }
            kid.expires = Some(expiry);
            node.kids.insert(0, kid);
            // A prefix with one child leaves the timer (its child's
            // removal re-arms it); an address node stays.
            if node.flags & IPLEAF == 0 && node.kids.len() == 1 {
                node.expires = None;
            }
        } else if (node.flags & IPLEAF != 0 || node.kids.is_empty()) && self.is_warm(node) {
            // Cold prefixes are not refreshed, so they expire.
            node.expires = Some(expiry);
        }
        Mark::Ok
    }

    /// `pike_check_*`'s answer for `ip`, logging a new block.
    fn check(&self, ctx: &Ctx<'_>, ip: IpAddr) -> i32 {
        let bytes: Vec<u8> = match ip {
            IpAddr::V4(a) => a.octets().to_vec(),
            IpAddr::V6(a) => a.octets().to_vec(),
        };
        match self.mark(&bytes, ctx.now) {
            Mark::Ok => 1,
            Mark::Red => -1,
            Mark::NewRed => {
                if crate::engine::log::enabled(ctx, self.log_level) {
                    let line = format!("PIKE - BLOCKing ip {ip}, node={:p}\n", &self.branches);
                    ctx.core.log.write(
                        self.log_level,
                        &crate::engine::log::prefix(),
                        line.as_bytes(),
                    );
                }
                -2
            }
        }
    }

    /// Shifts every node's counters (Kamailio's `swap_routine`); a red
    /// node that has cooled is unblocked. (Kamailio logs "PIKE -
    /// UNBLOCKing node" then; the timer here has no logger, so that line
    /// is not written: an accepted difference.)
    fn swap(&self) {
        fn refresh(p: &Pike, n: &mut Node) {
            n.hits[PREV] = n.hits[CURR];
            n.hits[CURR] = 0;
            n.leaf_hits[PREV] = n.leaf_hits[CURR];
            n.leaf_hits[CURR] = 0;
            if n.flags & ISRED != 0 && !p.is_hot_leaf(n) {
                n.flags &= !ISRED;
            }
            for k in &mut n.kids {
                refresh(p, k);
            }
        }
        for b in &self.branches {
            if let Some(n) = lock(b).as_mut() {
                refresh(self, n);
            }
        }
    }

    /// Removes the nodes whose time is up (Kamailio's `clean_routine`).
    fn clean(&self, tick: u64) {
        /// Whether `n` goes.
        fn expire(n: &mut Node, tick: u64, rearm: u64) -> bool {
            let had_kids = !n.kids.is_empty();
            n.kids.retain_mut(|k| !expire(k, tick, rearm));
            if had_kids && n.kids.is_empty() && n.flags & IPLEAF == 0 {
                n.expires = Some(rearm);
            }
            if n.expires.is_none_or(|e| e > tick) {
                return false;
            }
            n.expires = None;
            if n.kids.is_empty() {
                return true;
            }
            // An address that is also a prefix: only its address part
            // goes.
            n.flags &= !IPLEAF;
            n.leaf_hits[CURR] = 0;
            false
        }
        let rearm = tick + self.timeout;
        for b in &self.branches {
            let mut b = lock(b);
            if b.as_mut().is_some_and(|n| expire(n, tick, rearm)) {
                *b = None;
            }
        }
    }
}

impl Module for Pike {
    const NAME: &'static str = M;

    fn from_params(params: &ModParams) -> Result<Self, ParamError> {
        Pike::from_params(params)
    }

    fn tick(&self) -> Option<Duration> {
        Some(Duration::from_secs(1))
    }

    fn on_timer(&self, now: Instant, _out: &mut Vec<crate::transport::Transmit>) {
        let tick = self.ticks(now);
        if self.last_clean.swap(tick, Ordering::Relaxed) != tick {
            self.clean(tick);
        }
        let last = self.last_swap.load(Ordering::Relaxed);
        if tick >= last + self.time_unit
            && self
                .last_swap
                .compare_exchange(last, tick, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            self.swap();
        }
    }
}

/// `pike_check_req()`: the request's source address counted; 1 not
/// blocked, -2 just blocked, -1 still blocked.
pub fn pike_check_req(ctx: &mut Ctx<'_>) -> i32 {
    let ip = ctx.rcv.src.ip();
    Modules::of(ctx).pike.check(ctx, ip)
}

/// `pike_check_ip(ip)`: the same for an address given as text; -1 for
/// one that does not parse. Only IPv4 text parses (Kamailio's `str2ip`).
pub fn pike_check_ip(ctx: &mut Ctx<'_>, ip: &[u8]) -> i32 {
    let parsed = std::str::from_utf8(ip)
        .ok()
        .and_then(|s| s.parse::<std::net::Ipv4Addr>().ok())
        .map(IpAddr::V4);
    let Some(ip) = parsed else {
        crate::engine::log::error(
            ctx,
            &format!(
                "failed to parse ip address: {}",
                String::from_utf8_lossy(ip)
            ),
        );
        return -1;
    };
    Modules::of(ctx).pike.check(ctx, ip)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pike(density: u16) -> Pike {
        Pike {
            max_hits: density,
            timeout: 4,
            ..Pike::default()
        }
    }

    #[test]
    fn a_flood_is_blocked_after_the_tree_grows_to_the_address() {
        // Kamailio with density 16: 21 requests pass, the 22nd blocks,
        // then every one is "still blocked".
        let p = pike(16);
        let now = p.epoch;
        let ip = [127, 0, 0, 2];
        let marks: Vec<Mark> = (0..30).map(|_| p.mark(&ip, now)).collect();
        assert!(marks[..21].iter().all(|m| *m == Mark::Ok), "{marks:?}");
        assert_eq!(marks[21], Mark::NewRed);
        assert!(marks[22..].iter().all(|m| *m == Mark::Red));
        // Another address in the same branch is not blocked.
        assert_eq!(p.mark(&[127, 0, 0, 3], now), Mark::Ok);
    }

    #[test]
    fn cooled_nodes_are_unblocked_and_idle_ones_removed() {
        let p = pike(16);
        let now = p.epoch;
        let ip = [10, 1, 2, 3];
        for _ in 0..22 {
            p.mark(&ip, now);
        }
        assert_eq!(p.mark(&ip, now), Mark::Red);
        // Two shifts without hits: prev then cur fall below the density.
        p.swap();
        p.swap();
        assert_eq!(p.mark(&ip, now), Mark::Ok);
        // Nothing for longer than the latency: the branch goes, in steps.
        for t in 1..30 {
            p.clean(t * 5);
        }
        assert!(lock(&p.branches[10]).is_none());
    }
}
