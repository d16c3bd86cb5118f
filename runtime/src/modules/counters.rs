//! counters — Kamailio's counters module: script counters declared with
//! `script_counter` (`[group.]name[( |:)description]`, group
//! `script_cnt_grp_name`, default `script`), moved by `cnt_inc`/`cnt_add`/
//! `cnt_reset`, and the `cnt.*` RPC commands over every statistic of the
//! process (kex's list, [`super::kex::stats::all`]).

use std::sync::Arc;

use crate::engine::Ctx;
use crate::engine::counters::{Counter, stats};
use crate::engine::log::Level;
use crate::engine::module::{Module, ModuleSet, RpcCommand, RpcError, RpcValue};
use crate::engine::params::{ModParams, ParamError, ParamValue};
use crate::modules::Modules;
use crate::modules::kex::stats::{self, Stat};

/// The module's state: its group name and the counters it declared.
#[derive(Debug, Clone)]
pub struct Counters {
    /// `script_cnt_grp_name` ("script").
    pub group: String,
    /// `(group, name, counter)`, declared at start-up in the process's
    /// counters.
    pub declared: Vec<(String, String, Arc<Counter>)>,
}

impl Default for Counters {
    fn default() -> Self {
        Self {
            group: "script".into(),
            declared: Vec::new(),
        }
    }
}

/// `[group.]name[( |:)description]` → (group, name).
fn declaration<'a>(text: &'a str, default_group: &'a str) -> (&'a str, &'a str) {
    let spec = text.split([' ', ':']).next().unwrap_or_default().trim();
    match spec.split_once('.') {
        Some((g, n)) => (g, n),
        None => (default_group, spec),
    }
}

impl Module for Counters {
    const NAME: &'static str = "counters";

    fn from_params(p: &ModParams) -> Result<Self, ParamError> {
        let group = p
            .str("counters", "script_cnt_grp_name")
            .unwrap_or_else(|| "script".into());
        let mut declared = Vec::new();
        for v in p.all("counters", "script_counter") {
            let ParamValue::Str(text) = v else {
                return Err(ParamError::invalid(
                    "counters",
                    "script_counter",
                    "a string is expected",
                ));
            };
            let (g, n) = declaration(text, &group);
            if n.is_empty() || g.is_empty() {
                return Err(ParamError::invalid(
                    "counters",
                    "script_counter",
                    format!("bad counter declaration `{text}`"),
                ));
            }
            let c = stats().declare(g, n);
            declared.push((g.to_string(), n.to_string(), c));
        }
        Ok(Self { group, declared })
    }
}

impl Counters {
    /// The declared counter `[group.]name`.
    pub fn find(&self, spec: &[u8]) -> Option<&Counter> {
        let spec = std::str::from_utf8(spec).ok()?;
        let (g, n) = spec.split_once('.').unwrap_or((&self.group, spec));
        self.declared
            .iter()
            .find(|(dg, dn, _)| dg == g && dn == n)
            .map(|(_, _, c)| &**c)
    }
}

fn with_counter(ctx: &Ctx<'_>, spec: &[u8], f: impl FnOnce(&Counter)) -> i32 {
    match Modules::of(ctx).counters.find(spec) {
        Some(c) => {
            f(c);
            1
        }
        None => {
            // Kamailio refuses such a call at start-up.
            if crate::engine::log::enabled(ctx, Level::Err) {
                ctx.core.log.write(
                    Level::Err,
                    &crate::engine::log::prefix(),
                    format!(
                        "counters: counter {} not declared with script_counter\n",
                        String::from_utf8_lossy(spec)
                    )
                    .as_bytes(),
                );
            }
            -1
        }
    }
}

/// `cnt_inc([group.]name)`: 1; -1 for an undeclared counter.
pub fn cnt_inc(ctx: &mut Ctx<'_>, spec: &[u8]) -> i32 {
    with_counter(ctx, spec, Counter::inc)
}

/// `cnt_add([group.]name, number)`: 1; -1 for an undeclared counter.
/// A negative number subtracts (the counter wraps as Kamailio's).
pub fn cnt_add(ctx: &mut Ctx<'_>, spec: &[u8], n: i32) -> i32 {
    with_counter(ctx, spec, |c| c.add(i64::from(n) as u64))
}

/// `cnt_reset([group.]name)`: 1; -1 for an undeclared counter.
pub fn cnt_reset(ctx: &mut Ctx<'_>, spec: &[u8]) -> i32 {
    with_counter(ctx, spec, Counter::reset)
}

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
pub fn rpc_get(set: &dyn ModuleSet, args: &[&str]) -> Result<Vec<RpcValue>, RpcError> {
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
pub fn rpc_get_vars(set: &dyn ModuleSet, args: &[&str]) -> Result<Vec<RpcValue>, RpcError> {
    let grp = arg(args, 0)?;
    Ok(vec![group_vars(&stats::all(set), grp)])
}

/// `cnt.grps_list`: the group names (an array in JSON-RPC).
pub fn rpc_grps_list(set: &dyn ModuleSet, _: &[&str]) -> Result<Vec<RpcValue>, RpcError> {
    let mut g: Vec<String> = stats::all(set).into_iter().map(|s| s.group).collect();
    g.dedup();
    Ok(g.into_iter().map(RpcValue::Str).collect())
}

/// `cnt.var_list group`: the group's counter names (an array in
/// JSON-RPC).
pub fn rpc_var_list(set: &dyn ModuleSet, args: &[&str]) -> Result<Vec<RpcValue>, RpcError> {
    let grp = arg(args, 0)?;
    Ok(stats::all(set)
        .into_iter()
        .filter(|s| s.group == grp)
        .map(|s| RpcValue::Str(s.name))
        .collect())
}

/// `cnt.reset group name`: resets a counter (computed ones stay).
pub fn rpc_reset(set: &dyn ModuleSet, args: &[&str]) -> Result<Vec<RpcValue>, RpcError> {
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
        handler: rpc_get,
    },
    RpcCommand {
        name: "cnt.get_vars",
        help: "get all the counters and their values in a group",
        handler: rpc_get_vars,
    },
    RpcCommand {
        name: "cnt.grps_list",
        help: "list all the counter group names",
        handler: rpc_grps_list,
    },
    RpcCommand {
        name: "cnt.var_list",
        help: "list all the counters names in a specified group",
        handler: rpc_var_list,
    },
    RpcCommand {
        name: "cnt.reset",
        help: "reset counter (takes group and counter name as parameters)",
        handler: rpc_reset,
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declarations_as_kamailio_reads_them() {
        assert_eq!(declaration("foo", "script"), ("script", "foo"));
        assert_eq!(declaration("test.bar", "script"), ("test", "bar"));
        assert_eq!(declaration("baz example counter", "g"), ("g", "baz"));
        assert_eq!(declaration("test.x:another example", "g"), ("test", "x"));
    }

    #[test]
    fn script_counters_move_and_rpc_reads_them() {
        let mut p = ModParams::new();
        p.push(
            "counters",
            "script_counter",
            ParamValue::Str("cfgc_unit_a hits".into()),
        );
        p.push(
            "counters",
            "script_counter",
            ParamValue::Str("cfgcunit.b".into()),
        );
        let m = Modules {
            counters: Counters::from_params(&p).unwrap(),
            ..Modules::default()
        };
        let a = m.counters.find(b"cfgc_unit_a").unwrap();
        a.inc();
        a.add(4);
        let b = m.counters.find(b"cfgcunit.b").unwrap();
        b.add(7);
        assert!(m.counters.find(b"nosuch").is_none());
        assert_eq!(
            rpc_get(&m, &["script", "cfgc_unit_a"]).unwrap(),
            vec![RpcValue::Int(5)]
        );
        assert_eq!(
            rpc_get_vars(&m, &["cfgcunit"]).unwrap(),
            vec![RpcValue::Struct(vec![("b".into(), RpcValue::Int(7))])]
        );
        rpc_reset(&m, &["cfgcunit", "b"]).unwrap();
        assert_eq!(b.get(), 0);
        assert_eq!(
            rpc_get(&m, &["sl", "nosuch"]),
            Err(RpcError::new(400, "non-existent counter sl.nosuch\n"))
        );
    }
}
