//! cfgutils — global flags, random decisions, script locks, `core_hash`,
//! `sleep` (Kamailio 5.6's cfgutils module: names, parameters and return
//! codes as its README and source give them).
//!
//! State is shared by every worker, as Kamailio keeps it in shared memory:
//! the probability and the global flags are atomics, the lock set an array
//! of flags taken and released by any worker (a `lock()` in one message may
//! be released by an `unlock()` in another, as in Kamailio).
//!
//! `hash_file` (a config-file digest for RPC) is refused at start-up: the
//! compiled proxy has no config file to re-read. `check_route_exists`,
//! `route_if_exists`, `abort` and the memory-status functions have no
//! binding (cfgc reports them as not supported yet).

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::Duration;

use crate::engine::Ctx;
use crate::engine::module::{Module, ModuleSet, PvExport, RpcCommand, RpcError, RpcValue};
use crate::engine::params::{ModParams, ParamError};
use crate::engine::value::Value;
use crate::modules::Modules;

/// The module's state.
#[derive(Debug)]
pub struct Cfgutils {
    /// `initial_probability` (percent), what `rand_reset_prob` restores.
    initial_prob: u32,
    probability: AtomicU32,
    gflags: AtomicU32,
    /// `lock_set_size`: 2^n locks, none when 0.
    locks: Vec<AtomicBool>,
}

impl Default for Cfgutils {
    fn default() -> Self {
        Self {
            initial_prob: 10,
            probability: AtomicU32::new(10),
            gflags: AtomicU32::new(0),
            locks: Vec::new(),
        }
    }
}

impl Cfgutils {
    /// Reads `modparam("cfgutils", ...)`.
    ///
    /// # Errors
    /// A probability over 100, a value that is not a number (`hash_file`
    /// is refused at build: `cfgc_vocab::MODULES`).
    pub fn from_params(p: &ModParams) -> Result<Self, ParamError> {
        let m = "cfgutils";
        let prob = p.int(m, "initial_probability")?.unwrap_or(10);
        let initial_prob = u32::try_from(prob)
            .ok()
            .filter(|p| *p <= 100)
            .ok_or_else(|| {
                ParamError::invalid(m, "initial_probability", format!("{prob} is not in 0..100"))
            })?;
        let gflags = p.int(m, "initial_gflags")?.unwrap_or(0);
        // A power of two, at most 2^14 (Kamailio lowers larger values).
        let size = p.int(m, "lock_set_size")?.unwrap_or(0).clamp(0, 14);
        let locks = if size > 0 {
            (0..1usize << size)
                .map(|_| AtomicBool::new(false))
                .collect()
        } else {
            Vec::new()
        };
        Ok(Self {
            initial_prob,
            probability: AtomicU32::new(initial_prob),
            gflags: AtomicU32::new(gflags.cast_unsigned()),
            locks,
        })
    }

    /// The global flags (RPC `cfgutils.get_gflags`).
    pub fn gflags(&self) -> u32 {
        self.gflags.load(Ordering::Relaxed)
    }

    /// Sets (`true`) or resets the bits of `mask` (RPC and script).
    pub fn change_gflags(&self, mask: u32, set: bool) {
        if set {
            self.gflags.fetch_or(mask, Ordering::Relaxed);
        } else {
            self.gflags.fetch_and(!mask, Ordering::Relaxed);
        }
    }

    /// The probability in percent.
    pub fn probability(&self) -> u32 {
        self.probability.load(Ordering::Relaxed)
    }

    /// Sets the probability; `false` if over 100.
    pub fn set_probability(&self, percent: u32) -> bool {
        if percent > 100 {
            return false;
        }
        self.probability.store(percent, Ordering::Relaxed);
        true
    }

    /// Back to `initial_probability`.
    pub fn reset_probability(&self) {
        self.probability.store(self.initial_prob, Ordering::Relaxed);
    }

    /// The lock of `key` (case-insensitive hash, as Kamailio), if there is
    /// a lock set.
    fn lock_of(&self, key: &[u8]) -> Option<&AtomicBool> {
        if self.locks.is_empty() {
            return None;
        }
        let size = u32::try_from(self.locks.len()).unwrap_or(u32::MAX);
        let pos = hash(key, None, size, true);
        self.locks.get(pos as usize)
    }
}

impl Module for Cfgutils {
    const NAME: &'static str = "cfgutils";
    const PVS: &'static [PvExport] = &[PvExport {
        name: "RANDOM",
        read: pv_random,
        write: None,
    }];
    const RPC: &'static [RpcCommand] = &[
        RpcCommand {
            name: "cfgutils.is_gflag",
            help: "Checks if the bits specified by the argument are all set.",
            handler: rpc_is_gflag,
        },
        RpcCommand {
            name: "cfgutils.set_gflag",
            help: "Sets the bits specified by the argument.",
            handler: rpc_set_gflag,
        },
        RpcCommand {
            name: "cfgutils.reset_gflag",
            help: "Resets the bits specified by the argument.",
            handler: rpc_reset_gflag,
        },
        RpcCommand {
            name: "cfgutils.get_gflags",
            help: "Return the value for global flags.",
            handler: rpc_get_gflags,
        },
        RpcCommand {
            name: "cfgutils.rand_set_prob",
            help: "Set the random probability.",
            handler: rpc_set_prob,
        },
        RpcCommand {
            name: "cfgutils.rand_reset_prob",
            help: "Reset the random probability.",
            handler: rpc_reset_prob,
        },
        RpcCommand {
            name: "cfgutils.rand_get_prob",
            help: "Get the random probability.",
            handler: rpc_get_prob,
        },
    ];

    fn from_params(params: &ModParams) -> Result<Self, ParamError> {
        Cfgutils::from_params(params)
    }
}

fn state<'c>(ctx: &Ctx<'c>) -> &'c Cfgutils {
    &Modules::of(ctx).cfgutils
}

fn of_set(set: &dyn ModuleSet) -> Result<&Cfgutils, RpcError> {
    set.as_any()
        .downcast_ref::<Modules>()
        .map(|m| &m.cfgutils)
        .ok_or_else(|| RpcError::new(500, "cfgutils is not loaded"))
}

/// The one integer parameter of a cfgutils RPC command (a bit mask for
/// the gflag commands, as Kamailio's, or a percent).
fn int_arg(args: &[&str]) -> Result<i64, RpcError> {
    args.first()
        .and_then(|a| a.trim().parse().ok())
        .ok_or_else(|| RpcError::new(500, "Invalid Parameters"))
}

fn mask_arg(args: &[&str]) -> Result<u32, RpcError> {
    // Kamailio reads an int and uses its bits.
    i32::try_from(int_arg(args)?)
        .map(i32::cast_unsigned)
        .map_err(|_| RpcError::new(500, "Invalid Parameters"))
}

fn rpc_is_gflag(set: &dyn ModuleSet, args: &[&str]) -> Result<Vec<RpcValue>, RpcError> {
    let mask = mask_arg(args)?;
    let all = of_set(set)?.gflags() & mask == mask;
    Ok(vec![RpcValue::Str(
        if all { "TRUE" } else { "FALSE" }.into(),
    )])
}

fn rpc_set_gflag(set: &dyn ModuleSet, args: &[&str]) -> Result<Vec<RpcValue>, RpcError> {
    let mask = mask_arg(args)?;
    of_set(set)?.change_gflags(mask, true);
    Ok(Vec::new())
}

fn rpc_reset_gflag(set: &dyn ModuleSet, args: &[&str]) -> Result<Vec<RpcValue>, RpcError> {
    let mask = mask_arg(args)?;
    of_set(set)?.change_gflags(mask, false);
    Ok(Vec::new())
}

fn rpc_get_gflags(set: &dyn ModuleSet, _args: &[&str]) -> Result<Vec<RpcValue>, RpcError> {
    let f = of_set(set)?.gflags();
    Ok(vec![RpcValue::Str(format!("0x{f:X} ({f})"))])
}

fn rpc_set_prob(set: &dyn ModuleSet, args: &[&str]) -> Result<Vec<RpcValue>, RpcError> {
    let p = u32::try_from(int_arg(args)?).unwrap_or(u32::MAX);
    if !of_set(set)?.set_probability(p) {
        return Err(RpcError::new(500, "Invalid Percent"));
    }
    Ok(Vec::new())
}

fn rpc_reset_prob(set: &dyn ModuleSet, _args: &[&str]) -> Result<Vec<RpcValue>, RpcError> {
    of_set(set)?.reset_probability();
    Ok(Vec::new())
}

fn rpc_get_prob(set: &dyn ModuleSet, _args: &[&str]) -> Result<Vec<RpcValue>, RpcError> {
    let p = of_set(set)?.probability();
    Ok(vec![RpcValue::Str(format!(
        "actual probability: {p} percent"
    ))])
}

/// A flag number as its bit: 0..31 (Kamailio refuses others at start-up).
fn flag_bit(flag: i32) -> Option<u32> {
    u32::try_from(flag).ok().filter(|f| *f < 32).map(|f| 1 << f)
}

/// `set_gflag(flag)`: 1.
pub fn set_gflag(ctx: &mut Ctx<'_>, flag: i32) -> i32 {
    match flag_bit(flag) {
        Some(bit) => {
            state(ctx).change_gflags(bit, true);
            1
        }
        None => -1,
    }
}

/// `reset_gflag(flag)`: 1.
pub fn reset_gflag(ctx: &mut Ctx<'_>, flag: i32) -> i32 {
    match flag_bit(flag) {
        Some(bit) => {
            state(ctx).change_gflags(bit, false);
            1
        }
        None => -1,
    }
}

/// `is_gflag(flag)`: 1 if set, else -1.
pub fn is_gflag(ctx: &Ctx<'_>, flag: i32) -> i32 {
    match flag_bit(flag) {
        Some(bit) if state(ctx).gflags() & bit != 0 => 1,
        _ => -1,
    }
}

/// `rand_event()`: 1 with the current probability, else -1.
pub fn rand_event(ctx: &mut Ctx<'_>) -> i32 {
    match state(ctx).probability() {
        0 => -1,
        100.. => 1,
        p => {
            let r = f64::from(random()) / f64::from(RAND_MAX);
            if r < f64::from(p) / 100.0 { 1 } else { -1 }
        }
    }
}

/// `rand_set_prob(percent)`: 1; -1 for a value over 100 (Kamailio refuses
/// such a constant at start-up).
pub fn rand_set_prob(ctx: &mut Ctx<'_>, percent: i32) -> i32 {
    match u32::try_from(percent) {
        Ok(p) if state(ctx).set_probability(p) => 1,
        _ => {
            crate::engine::log::error(ctx, &format!("invalid probability <{percent}>\n"));
            -1
        }
    }
}

/// `rand_reset_prob()`: 1.
pub fn rand_reset_prob(ctx: &mut Ctx<'_>) -> i32 {
    state(ctx).reset_probability();
    1
}

/// `rand_get_prob()`: the probability itself as the return code (so 0
/// ends the script, as in Kamailio).
pub fn rand_get_prob(ctx: &mut Ctx<'_>) -> i32 {
    i32::try_from(state(ctx).probability()).unwrap_or(100)
}

/// `sleep(seconds)`: blocks this worker, as Kamailio blocks its process.
pub fn sleep(_ctx: &mut Ctx<'_>, seconds: i32) -> i32 {
    std::thread::sleep(Duration::from_secs(u64::from(seconds.cast_unsigned())));
    1
}

/// `usleep(microseconds)`: blocks this worker.
pub fn usleep(_ctx: &mut Ctx<'_>, micros: i32) -> i32 {
    std::thread::sleep(Duration::from_micros(u64::from(micros.cast_unsigned())));
    1
}

fn no_lock_set(ctx: &Ctx<'_>, op: u8, key: &[u8]) -> i32 {
    crate::engine::log::error(
        ctx,
        &format!(
            "lock set not initialized (attempt to do op: {op} on: {}) - see param lock_set_size\n",
            String::from_utf8_lossy(key)
        ),
    );
    -1
}

/// `lock(key)`: waits for the key's lock; 1, or -1 without a lock set.
pub fn lock(ctx: &mut Ctx<'_>, key: &[u8]) -> i32 {
    let Some(l) = state(ctx).lock_of(key) else {
        return no_lock_set(ctx, 0, key);
    };
    let mut spins = 0u32;
    while l
        .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
        .is_err()
    {
        spins += 1;
        if spins < 64 {
            std::hint::spin_loop();
        } else {
            std::thread::sleep(Duration::from_micros(50));
        }
    }
    1
}

/// `unlock(key)`: 1, or -1 without a lock set.
pub fn unlock(ctx: &mut Ctx<'_>, key: &[u8]) -> i32 {
    let Some(l) = state(ctx).lock_of(key) else {
        return no_lock_set(ctx, 1, key);
    };
    l.store(false, Ordering::Release);
    1
}

/// `trylock(key)`: 1 if taken now, -1 if held (or no lock set).
pub fn trylock(ctx: &mut Ctx<'_>, key: &[u8]) -> i32 {
    let Some(l) = state(ctx).lock_of(key) else {
        return no_lock_set(ctx, 2, key);
    };
    match l.compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed) {
        Ok(_) => 1,
        Err(_) => -1,
    }
}

/// `core_hash(s1, s2, size)`: Kamailio's core hash of `s1` (then `s2`
/// unless empty) in 2^size slots (2 when size <= 0), plus 1.
pub fn core_hash(_ctx: &mut Ctx<'_>, s1: &[u8], s2: &[u8], size: i32) -> i32 {
    let slots = if size <= 0 {
        2
    } else {
        1u32.checked_shl(size.cast_unsigned()).unwrap_or(0)
    };
    let s2 = (!s2.is_empty()).then_some(s2);
    i32::try_from(hash(s1, s2, slots, false)).map_or(i32::MAX, |h| h.saturating_add(1))
}

/// Kamailio's `core_hash(s, NULL, 0)`: the full 32-bit hash (usrloc's
/// AoR hash, `HashID` in `ul.dump`).
pub fn hash32(s: &[u8]) -> u32 {
    hash(s, None, 0, false)
}

/// Kamailio's `core_hash(s, NULL, size)` (`size` a power of two): the
/// slot of a hash table (dialog's `h_entry`, of the Call-ID).
pub fn slot_hash(s: &[u8], size: u32) -> u32 {
    hash(s, None, size, false)
}

/// Kamailio's `core_case_hash(s, NULL, size)` (`size` a power of two):
/// the slot of a case-insensitive hash table (domain's).
pub fn case_hash(s: &[u8], size: u32) -> u32 {
    hash(s, None, size, true)
}

/// Kamailio's `core_hash`/`core_case_hash`: 4 bytes at a time (bytes read
/// as C `char`, signed on the platforms Kamailio is built for), the tail
/// folded in, then mixed; reduced to `size` slots (a power of two) unless
/// `size` is 0.
fn hash(s1: &[u8], s2: Option<&[u8]>, size: u32, icase: bool) -> u32 {
    let byte = |b: u8| {
        let b = if icase { b.to_ascii_lowercase() } else { b };
        // C `char` is signed: a byte >= 0x80 widens negative.
        i32::from(b.cast_signed()).cast_unsigned()
    };
    let mut h: u32 = 0;
    let mut feed = |s: &[u8]| {
        let mut chunks = s.chunks_exact(4);
        for c in &mut chunks {
            let v = (byte(c[0]) << 24)
                .wrapping_add(byte(c[1]) << 16)
                .wrapping_add(byte(c[2]) << 8)
                .wrapping_add(byte(c[3]));
            h = h.wrapping_add(v ^ (v >> 3));
        }
        let mut v: u32 = 0;
        for &b in chunks.remainder() {
            v = (v << 8).wrapping_add(byte(b));
        }
        h = h.wrapping_add(v ^ (v >> 3));
    };
    feed(s1);
    if let Some(s2) = s2 {
        feed(s2);
    }
    let h = h
        .wrapping_add(h >> 11)
        .wrapping_add((h >> 13).wrapping_add(h >> 23));
    if size == 0 { h } else { h & (size - 1) }
}

/// Kamailio's `KAM_RAND_MAX`.
const RAND_MAX: u32 = 0x7fff_ffff;

thread_local! {
    static RNG: std::cell::Cell<u64> = std::cell::Cell::new(seed());
}

fn seed() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(u64::from(std::process::id()));
    h.finish() | 1
}

/// A random number in 0..=`RAND_MAX` (xorshift64*, seeded per thread).
pub(crate) fn random() -> u32 {
    RNG.with(|r| {
        let mut x = r.get();
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        r.set(x);
        let v = x.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 33;
        u32::try_from(v).unwrap_or(0) & RAND_MAX
    })
}

/// `$RANDOM`: a random int (0..2^31-1), a new one on every read.
pub fn pv_random<'c>(_ctx: &'c Ctx<'_>) -> Value<'c> {
    Value::Int(random().cast_signed())
}

/// `check_route_exists(name)`: 1 when the cfg has `route[name]`, else -1.
pub fn check_route_exists(ctx: &mut Ctx<'_>, name: &[u8]) -> i32 {
    let found = ctx
        .tm
        .script
        .is_some_and(|s| std::str::from_utf8(name).is_ok_and(|n| s.has_route(n)));
    if found { 1 } else { -1 }
}

/// `route_if_exists(name)`: runs `route[name]` when the cfg has it: its
/// value, 0 when it ends the script (`exit`, and `drop`, which Kamailio's
/// inner run reports as an exit); -1 when there is no such route.
pub fn route_if_exists(ctx: &mut Ctx<'_>, name: &[u8]) -> i32 {
    let (Some(script), Ok(name)) = (ctx.tm.script, std::str::from_utf8(name)) else {
        return -1;
    };
    match script.route_named(name, ctx) {
        None => -1,
        Some(Ok(v)) => v,
        Some(Err(_)) => 0,
    }
}

/// `pkg_status()`, `shm_status()`, `pkg_summary()`, `shm_summary()`: a
/// documented no-op, 1. Kamailio dumps its own allocators' state at the
/// `memlog` level (debug by default, so nothing is printed at the usual
/// levels); this runtime has no such allocator to dump.
pub fn mem_status(_ctx: &mut Ctx<'_>) -> i32 {
    1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn core_hash_follows_kamailio() {
        // Values computed with Kamailio's algorithm by hand: "a" alone is
        // v = 0x61, h = 0x61 ^ 0x0c = 0x6d; mixed: 0x6d (shifts are 0).
        assert_eq!(hash(b"a", None, 0, false), 0x6d);
        // Case-insensitive hashing lowers ASCII letters only.
        assert_eq!(hash(b"A", None, 0, true), hash(b"a", None, 0, true));
        // Reduction to a power of two.
        assert_eq!(hash(b"a", None, 16, false), 0x6d & 15);
        // A high byte widens as a negative C char.
        assert_ne!(hash(&[0x80], None, 0, false), hash(&[0x00], None, 0, false));
    }

    #[test]
    fn random_is_in_range_and_varies() {
        let a: Vec<u32> = (0..8).map(|_| random()).collect();
        assert!(a.iter().all(|v| *v <= RAND_MAX));
        assert!(a.windows(2).any(|w| w[0] != w[1]));
    }

    #[test]
    fn rpc_commands_change_what_the_script_sees() {
        let mut p = ModParams::new();
        p.push(
            "cfgutils",
            "initial_gflags",
            crate::engine::params::ParamValue::Int(1),
        );
        let set = Modules::new(p).expect("valid");
        let reg = crate::engine::module::RpcRegistry::new(&set).expect("unique names");
        let run = |name: &str, args: &[&str]| reg.dispatch(&set, name, args);
        assert_eq!(
            run("cfgutils.get_gflags", &[]),
            Ok(vec![RpcValue::Str("0x1 (1)".into())])
        );
        run("cfgutils.set_gflag", &["6"]).expect("set");
        assert_eq!(
            run("cfgutils.is_gflag", &["7"]),
            Ok(vec![RpcValue::Str("TRUE".into())])
        );
        run("cfgutils.reset_gflag", &["2"]).expect("reset");
        assert_eq!(
            run("cfgutils.is_gflag", &["6"]),
            Ok(vec![RpcValue::Str("FALSE".into())])
        );
        assert_eq!(set.cfgutils.gflags(), 5);
        assert_eq!(
            run("cfgutils.rand_set_prob", &["101"]),
            Err(RpcError::new(500, "Invalid Percent"))
        );
        run("cfgutils.rand_set_prob", &["40"]).expect("set");
        assert_eq!(
            run("cfgutils.rand_get_prob", &[]),
            Ok(vec![RpcValue::Str("actual probability: 40 percent".into())])
        );
        assert_eq!(
            run("cfgutils.set_gflag", &[]),
            Err(RpcError::new(500, "Invalid Parameters"))
        );
    }

    #[test]
    fn parameters() {
        let mut p = ModParams::new();
        p.push(
            "cfgutils",
            "initial_probability",
            crate::engine::params::ParamValue::Int(15),
        );
        p.push(
            "cfgutils",
            "initial_gflags",
            crate::engine::params::ParamValue::Int(5),
        );
        p.push(
            "cfgutils",
            "lock_set_size",
            crate::engine::params::ParamValue::Int(20),
        );
        let c = Cfgutils::from_params(&p).expect("valid");
        assert_eq!(c.probability(), 15);
        assert_eq!(c.gflags(), 5);
        assert_eq!(c.locks.len(), 1 << 14);
        assert!(!c.set_probability(101));
        c.set_probability(40);
        c.reset_probability();
        assert_eq!(c.probability(), 15);
        let mut bad = ModParams::new();
        bad.push(
            "cfgutils",
            "initial_probability",
            crate::engine::params::ParamValue::Int(101),
        );
        assert!(Cfgutils::from_params(&bad).is_err());
        let mut hash_file = ModParams::new();
        hash_file.push(
            "cfgutils",
            "hash_file",
            crate::engine::params::ParamValue::Str("/etc/kamailio/kamailio.cfg".into()),
        );
        // Refused from the vocabulary's table, not by the module.
        assert!(hash_file.check_supported().is_err());
    }
}
