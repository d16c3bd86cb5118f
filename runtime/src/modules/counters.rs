//! counters — Kamailio's counters module: the `cnt.*` RPC commands over
//! every statistic of the process (kex's list, [`super::kex::stats::all`]).

use crate::engine::module::{ModuleSet, RpcCommand, RpcError, RpcValue};
use crate::modules::kex::stats::{self, Stat};

fn group_vars(all: &[Stat], grp: &str) -> RpcValue {
    RpcValue::Struct(
        all.iter()
            .filter(|s| s.group == grp)
            .map(|s| (s.name.clone(), RpcValue::Int(s.current() as i64)))
            .collect(),
    )
}

fn arg<'a>(args: &[&'a str], i: usize) -> Result<&'a str, RpcError> {
    args.get(i)
        .copied()
        .ok_or_else(|| RpcError::new(400, "Invalid Parameters"))
}

/// `cnt.get group [name]`: the counter's value; without a name, the
/// group's counters (as `cnt.get_vars`).
pub fn cnt_get(set: &dyn ModuleSet, args: &[&str]) -> Result<Vec<RpcValue>, RpcError> {
    let grp = arg(args, 0)?;
    let all = stats::all(set);
    let Some(name) = args.get(1) else {
        return Ok(vec![group_vars(&all, grp)]);
    };
    all.iter()
        .find(|s| s.group == grp && s.name == *name)
        .map(|s| vec![RpcValue::Int(s.current() as i64)])
        .ok_or_else(|| RpcError::new(400, format!("non-existent counter {grp}.{name}\n")))
}

/// `cnt.get_vars group`: a struct of the group's counters (empty for an
/// unknown group).
pub fn cnt_get_vars(set: &dyn ModuleSet, args: &[&str]) -> Result<Vec<RpcValue>, RpcError> {
    let grp = arg(args, 0)?;
    Ok(vec![group_vars(&stats::all(set), grp)])
}

/// `cnt.grps_list`: the group names (an array in JSON-RPC).
pub fn cnt_grps_list(set: &dyn ModuleSet, _: &[&str]) -> Result<Vec<RpcValue>, RpcError> {
    let mut g: Vec<String> = stats::all(set).into_iter().map(|s| s.group).collect();
    g.dedup();
    Ok(g.into_iter().map(RpcValue::Str).collect())
}

/// `cnt.var_list group`: the group's counter names (an array in
/// JSON-RPC).
pub fn cnt_var_list(set: &dyn ModuleSet, args: &[&str]) -> Result<Vec<RpcValue>, RpcError> {
    let grp = arg(args, 0)?;
    Ok(stats::all(set)
        .into_iter()
        .filter(|s| s.group == grp)
        .map(|s| RpcValue::Str(s.name))
        .collect())
}

/// `cnt.reset group name`: resets a counter (computed ones stay).
pub fn cnt_reset(set: &dyn ModuleSet, args: &[&str]) -> Result<Vec<RpcValue>, RpcError> {
    let (grp, name) = (arg(args, 0)?, arg(args, 1)?);
    let all = stats::all(set);
    let s = all
        .iter()
        .find(|s| s.group == grp && s.name == name)
        .ok_or_else(|| RpcError::new(400, format!("non-existent counter {grp}.{name}\n")))?;
    s.reset();
    Ok(Vec::new())
}

/// The counters module's RPC commands.
pub const RPC: &[RpcCommand] = &[
    RpcCommand {
        name: "cnt.get",
        help: "get counter value (takes group and counter name as parameters)",
        handler: cnt_get,
    },
    RpcCommand {
        name: "cnt.get_vars",
        help: "get all the counters and their values in a group",
        handler: cnt_get_vars,
    },
    RpcCommand {
        name: "cnt.grps_list",
        help: "list all the counter group names",
        handler: cnt_grps_list,
    },
    RpcCommand {
        name: "cnt.var_list",
        help: "list all the counters names in a specified group",
        handler: cnt_var_list,
    },
    RpcCommand {
        name: "cnt.reset",
        help: "reset counter (takes group and counter name as parameters)",
        handler: cnt_reset,
    },
];
