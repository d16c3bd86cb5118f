//! kex's statistics commands (`stats.*`) over every counter of the
//! process ([`crate::engine::counters`]), grouped as Kamailio groups them.

use std::sync::Arc;

use crate::engine::counters::{self, Counter, DNS_NAMES, TCP_NAMES};
use crate::engine::module::{ModuleSet, RpcCommand, RpcError, RpcValue};
use crate::modules::Modules;

/// How a statistic is read and reset.
#[derive(Debug, Clone)]
pub enum Handle {
    /// A counter (resettable).
    Counter(&'static Counter),
    /// A declared counter (resettable).
    Declared(Arc<Counter>),
    /// Computed when read (Kamailio's `STAT_IS_FUNC`): not resettable.
    Computed,
}

/// One statistic as listed.
#[derive(Debug, Clone)]
pub struct Stat {
    pub group: String,
    pub name: String,
    pub value: u64,
    pub handle: Handle,
}

impl Stat {
    fn new(group: &str, name: impl Into<String>, value: u64, handle: Handle) -> Self {
        Self {
            group: group.to_string(),
            name: name.into(),
            value,
            handle,
        }
    }

    /// Resets it if it is a counter.
    pub fn reset(&self) {
        match &self.handle {
            Handle::Counter(c) => c.reset(),
            Handle::Declared(c) => c.reset(),
            Handle::Computed => {}
        }
    }

    /// Its value now.
    pub fn current(&self) -> u64 {
        match &self.handle {
            Handle::Counter(c) => c.get(),
            Handle::Declared(c) => c.get(),
            Handle::Computed => self.value,
        }
    }
}

fn counter(group: &str, name: impl Into<String>, c: &'static Counter) -> Stat {
    Stat::new(group, name, c.get(), Handle::Counter(c))
}

fn computed(group: &str, name: &str, value: u64) -> Stat {
    Stat::new(group, name, value, Handle::Computed)
}

/// The usrloc tables whose statistics exist: `location` (the stock
/// table) and every table holding records.
fn usrloc_tables(m: &Modules) -> Vec<(String, usize, usize)> {
    let mut v = m.usrloc.store.counts();
    if !v.iter().any(|(t, _, _)| t == "location") {
        v.push(("location".into(), 0, 0));
    }
    v
}

/// Every statistic of the process, sorted by group then name (byte
/// order, as Kamailio lists them).
pub fn all(set: &dyn ModuleSet) -> Vec<Stat> {
    let s = counters::stats();
    let m = set.as_any().downcast_ref::<Modules>();
    let defaults;
    let m = match m {
        Some(m) => m,
        None => {
            defaults = Modules::default();
            &defaults
        }
    };
    let mut v = Vec::with_capacity(160);
    s.core.each(|n, c| v.push(counter("core", n, c)));
    for (n, c) in DNS_NAMES.iter().zip(&s.dns) {
        v.push(counter("dns", *n, c));
    }
    let r = &m.registrar;
    v.push(counter(
        "registrar",
        "accepted_regs",
        &s.registrar.accepted_regs,
    ));
    v.push(counter(
        "registrar",
        "rejected_regs",
        &s.registrar.rejected_regs,
    ));
    let int = |name: &str| {
        m.params
            .int("registrar", name)
            .ok()
            .flatten()
            .map_or(0, |v| u64::from(v.unsigned_abs()))
    };
    v.push(computed(
        "registrar",
        "default_expire",
        u64::from(r.default_expires),
    ));
    v.push(computed(
        "registrar",
        "default_expires_range",
        int("default_expires_range"),
    ));
    v.push(computed("registrar", "expires_range", int("expires_range")));
    v.push(computed(
        "registrar",
        "max_contacts",
        u64::from(r.max_contacts),
    ));
    v.push(computed(
        "registrar",
        "max_expires",
        u64::from(r.max_expires),
    ));
    // No shared memory pool in this runtime: every shmem statistic is 0.
    for n in [
        "fragments",
        "free_size",
        "max_used_size",
        "real_used_size",
        "total_size",
        "used_size",
    ] {
        v.push(computed("shmem", n, 0));
    }
    // sl's statistics are function-backed in Kamailio: not resettable.
    s.sl.each(|n, c| v.push(Stat::new("sl", n, c.get(), Handle::Computed)));
    for (n, c) in TCP_NAMES.iter().zip(&s.tcp) {
        v.push(counter("tcp", *n, c));
    }
    let t = &s.tm;
    let (tr, waiting, deleted) = (t.transactions.get(), t.waiting.get(), t.deleted.get());
    let (sent, generated, received) = (
        t.rpl_sent.get(),
        t.rpl_generated.get(),
        t.rpl_received.get(),
    );
    let relayed = sent.saturating_sub(generated);
    for (i, c) in t.completed.iter().enumerate() {
        v.push(computed(
            "tmx",
            &format!("{}xx_transactions", i + 2),
            c.get(),
        ));
    }
    v.push(computed(
        "tmx",
        "UAC_transactions",
        t.client_transactions.get(),
    ));
    v.push(computed("tmx", "UAS_transactions", tr));
    v.push(computed(
        "tmx",
        "active_transactions",
        tr.saturating_sub(waiting),
    ));
    v.push(computed(
        "tmx",
        "inuse_transactions",
        tr.saturating_sub(deleted),
    ));
    v.push(computed(
        "tmx",
        "rpl_absorbed",
        received.saturating_sub(relayed),
    ));
    v.push(computed("tmx", "rpl_generated", generated));
    v.push(computed("tmx", "rpl_received", received));
    v.push(computed("tmx", "rpl_relayed", relayed));
    v.push(computed("tmx", "rpl_sent", sent));
    let tables = usrloc_tables(m);
    let expired = s
        .usrloc
        .expired
        .read()
        .map(|e| e.clone())
        .unwrap_or_default();
    let mut users = 0;
    for (t, records, contacts) in &tables {
        users += records;
        let exp = expired.iter().find(|(n, _)| n == t).map_or(0, |(_, k)| *k);
        v.push(computed(
            "usrloc",
            &format!("{t}_contacts"),
            *contacts as u64,
        ));
        v.push(computed("usrloc", &format!("{t}_expires"), exp));
        v.push(computed("usrloc", &format!("{t}_users"), *records as u64));
    }
    v.push(computed("usrloc", "registered_users", users as u64));
    if let Ok(d) = s.declared.read() {
        for (g, n, c) in d.iter() {
            v.push(Stat::new(
                g,
                n.clone(),
                c.get(),
                Handle::Declared(c.clone()),
            ));
        }
    }
    // A module's statistics exist in Kamailio only when the cfg loads it.
    v.retain(|s| match s.group.as_str() {
        g @ ("registrar" | "usrloc" | "sl" | "tmx") => m.is_loaded(g),
        _ => true,
    });
    v.sort_by(|a, b| (&a.group, &a.name).cmp(&(&b.group, &b.name)));
    v
}

/// The statistics `which` selects: `all`, `group:`, or a bare name (the
/// first statistic of that name).
fn select<'s>(stats: &'s [Stat], which: &str) -> Vec<&'s Stat> {
    if which == "all" {
        stats.iter().collect()
    } else if let Some(g) = which.strip_suffix(':') {
        stats.iter().filter(|s| s.group == g).collect()
    } else {
        stats.iter().find(|s| s.name == which).into_iter().collect()
    }
}

fn need(args: &[&str], what: &str) -> Result<(), RpcError> {
    if args.is_empty() {
        return Err(RpcError::new(400, what));
    }
    Ok(())
}

fn line(s: &Stat) -> RpcValue {
    RpcValue::Str(format!("{}:{} = {}", s.group, s.name, s.current()))
}

/// `stats.get_statistics all|group:|name...`: one string per statistic
/// (an array in JSON-RPC).
pub fn get_statistics(set: &dyn ModuleSet, args: &[&str]) -> Result<Vec<RpcValue>, RpcError> {
    need(args, "Please provide which stats to retrieve")?;
    let stats = all(set);
    Ok(args
        .iter()
        .flat_map(|a| select(&stats, a))
        .map(line)
        .collect())
}

fn fetch_with(
    set: &dyn ModuleSet,
    args: &[&str],
    numeric: bool,
) -> Result<Vec<RpcValue>, RpcError> {
    need(args, "Please provide which stats to retrieve")?;
    let stats = all(set);
    let mut members = Vec::new();
    for a in args {
        let mut chosen = select(&stats, a);
        if chosen.is_empty() && *a != "all" && !a.ends_with(':') {
            // `group.name` or `group:name`.
            if let Some((g, n)) = a.split_once('.').or_else(|| a.split_once(':')) {
                chosen = stats
                    .iter()
                    .find(|s| s.name == n)
                    .filter(|s| s.group == g)
                    .into_iter()
                    .collect();
            }
        }
        for s in chosen {
            let v = s.current();
            members.push((
                format!("{}.{}", s.group, s.name),
                if numeric {
                    RpcValue::Int(v as i64)
                } else {
                    RpcValue::Str(v.to_string())
                },
            ));
        }
    }
    Ok(vec![RpcValue::Struct(members)])
}

/// `stats.fetch ...`: one struct, `group.name` → the value as a string.
pub fn fetch(set: &dyn ModuleSet, args: &[&str]) -> Result<Vec<RpcValue>, RpcError> {
    fetch_with(set, args, false)
}

/// `stats.fetchn ...`: as `stats.fetch`, values as numbers.
pub fn fetchn(set: &dyn ModuleSet, args: &[&str]) -> Result<Vec<RpcValue>, RpcError> {
    fetch_with(set, args, true)
}

/// `stats.reset_statistics ...`: resets the counters (computed
/// statistics stay); answers nothing.
pub fn reset_statistics(set: &dyn ModuleSet, args: &[&str]) -> Result<Vec<RpcValue>, RpcError> {
    need(args, "Please provide stats name")?;
    let stats = all(set);
    for a in args {
        for s in select(&stats, a) {
            s.reset();
        }
    }
    Ok(Vec::new())
}

/// `stats.clear_statistics ...`: resets and answers `group:name = new`
/// or `group:name = new (old)` for each.
pub fn clear_statistics(set: &dyn ModuleSet, args: &[&str]) -> Result<Vec<RpcValue>, RpcError> {
    need(args, "Please provide stats name")?;
    let stats = all(set);
    let mut out = Vec::new();
    for a in args {
        for s in select(&stats, a) {
            let old = s.current();
            s.reset();
            let new = s.current();
            out.push(RpcValue::Str(if old == new {
                format!("{}:{} = {new}", s.group, s.name)
            } else {
                format!("{}:{} = {new} ({old})", s.group, s.name)
            }));
        }
    }
    Ok(out)
}

/// kex's statistics commands (Kamailio has them in kex).
pub const RPC: &[RpcCommand] = &[
    RpcCommand {
        name: "stats.get_statistics",
        help: "print core and modules stats",
        handler: get_statistics,
    },
    RpcCommand {
        name: "stats.fetch",
        help: "fetch core and modules stats as a struct of strings",
        handler: fetch,
    },
    RpcCommand {
        name: "stats.fetchn",
        help: "fetch core and modules stats as a struct of numbers",
        handler: fetchn,
    },
    RpcCommand {
        name: "stats.reset_statistics",
        help: "reset core and modules stats (silent operation)",
        handler: reset_statistics,
    },
    RpcCommand {
        name: "stats.clear_statistics",
        help: "clear core and modules stats (verbose operation)",
        handler: clear_statistics,
    },
];
