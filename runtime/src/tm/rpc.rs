//! tm's RPC command `tm.stats` over its counters
//! ([`crate::engine::counters::TmStats`]).

use crate::engine::counters::stats;
use crate::engine::module::{ModuleSet, RpcCommand, RpcError, RpcValue};

/// `tm.stats`: one struct, Kamailio's members in Kamailio's order.
pub fn tm_stats(_: &dyn ModuleSet, _: &[&str]) -> Result<Vec<RpcValue>, RpcError> {
    let t = &stats().tm;
    let tr = t.transactions.get();
    let deleted = t.deleted.get();
    let int = |v: u64| RpcValue::Int(v as i64);
    let mut m = vec![
        ("current".to_string(), int(tr.saturating_sub(deleted))),
        (
            "waiting".to_string(),
            int(t.waiting.get().saturating_sub(deleted)),
        ),
        ("total".to_string(), int(tr)),
        ("total_local".to_string(), int(t.client_transactions.get())),
        ("rpl_received".to_string(), int(t.rpl_received.get())),
        ("rpl_generated".to_string(), int(t.rpl_generated.get())),
        ("rpl_sent".to_string(), int(t.rpl_sent.get())),
    ];
    for (i, c) in t.completed.iter().enumerate().rev() {
        m.push((format!("{}xx", i + 2), int(c.get())));
    }
    m.push(("created".to_string(), int(tr)));
    m.push(("freed".to_string(), int(deleted)));
    m.push(("delayed_free".to_string(), int(t.delayed_free.get())));
    Ok(vec![RpcValue::Struct(m)])
}

/// tm's RPC commands.
pub const RPC: &[RpcCommand] = &[RpcCommand {
    name: "tm.stats",
    help: "Print transaction statistics.",
    handler: tm_stats,
}];
