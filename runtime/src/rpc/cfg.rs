//! cfg_rpc: reading and changing cfg framework variables at run time
//! (modules-state-web-ops.md §12). Variables known here: `core debug`
//! (the log level, shared by every worker through
//! [`crate::engine::log::DebugLevel`]: the next message logged sees the new
//! value) and the cfg's custom variables (`group.var = value`, held in
//! [`crate::engine::ctx::CfgVars`]: the next `$sel(cfg_get.group.var)`
//! sees the new value). Others answer Kamailio's 400 faults.

use super::{CoreCommand, Env};
use crate::engine::Value;
use crate::engine::module::{RpcError, RpcValue};

pub static COMMANDS: &[CoreCommand] = &[
    CoreCommand {
        name: "cfg.get",
        help: "Get the value of a configuration variable",
        handler: get,
    },
    CoreCommand {
        name: "cfg.set_now_int",
        help: "Set the value of a configuration variable and commit the change immediately",
        handler: set_now_int,
    },
    CoreCommand {
        name: "cfg.seti",
        help: "Set the value of a configuration variable and commit the change immediately",
        handler: set_now_int,
    },
    CoreCommand {
        name: "cfg.set_now_string",
        help: "Set the value of a configuration variable and commit the change immediately",
        handler: set_now_string,
    },
    CoreCommand {
        name: "cfg.sets",
        help: "Set the value of a configuration variable and commit the change immediately",
        handler: set_now_string,
    },
    CoreCommand {
        name: "cfg.set",
        help: "Set the value of a configuration variable and commit the change immediately",
        handler: set_now,
    },
];

/// A variable's current value.
fn read(env: &Env<'_>, group: &str, var: &str) -> Option<RpcValue> {
    match (group, var) {
        ("core", "debug") => Some(RpcValue::Int(i64::from(env.core.debug.get()))),
        _ => match env.core.cfg_vars.get(&format!("{group}.{var}"))? {
            Value::Int(n) => Some(RpcValue::Int(i64::from(n))),
            Value::Str(s) => Some(RpcValue::Str(String::from_utf8_lossy(&s).into_owned())),
            Value::Null => None,
        },
    }
}

/// Sets a custom variable from text: an int variable takes numeric text
/// only, a string variable any text.
fn write_custom(env: &Env<'_>, group: &str, var: &str, text: &str) -> Result<(), RpcError> {
    let name = format!("{group}.{var}");
    let value = match env.core.cfg_vars.get(&name) {
        Some(Value::Int(_)) => Value::Int(text.trim().parse().map_err(|_| failed_set())?),
        Some(Value::Str(_)) => Value::Str(text.as_bytes().to_vec().into()),
        _ => return Err(failed_set()),
    };
    if env.core.cfg_vars.set(&name, value) {
        Ok(())
    } else {
        Err(failed_set())
    }
}

/// Sets an int variable.
fn write_int(env: &Env<'_>, group: &str, var: &str, n: i32) -> Result<(), RpcError> {
    match (group, var) {
        ("core", "debug") => {
            env.core.debug.set(n);
            Ok(())
        }
        // An int on a string variable stores its decimal text.
        _ => write_custom(env, group, var, &n.to_string()),
    }
}

fn failed_set() -> RpcError {
    RpcError::new(400, "Failed to set the variable")
}

fn get(env: &Env<'_>, args: &[&str]) -> Result<Vec<RpcValue>, RpcError> {
    match args {
        [] => Err(RpcError::new(500, "Failed to get the parameters")),
        [group, var, ..] => read(env, group, var)
            .map(|v| vec![v])
            .ok_or_else(|| RpcError::new(400, "Failed to get the variable")),
        // `cfg.get GROUP`: every variable of the group; only the ones this
        // runtime implements would be listed, which is not Kamailio's
        // answer: refused.
        [_] => Err(RpcError::new(
            500,
            "cfg.get of a whole group is not supported by this runtime",
        )),
    }
}

/// BINRPC's message for a missing parameter (0-based index).
fn missing(index: usize, ty: &str) -> RpcError {
    RpcError::new(
        400,
        format!("error at parameter {index}: expected {ty} type but end of packet encountered"),
    )
}

fn three<'a>(args: &[&'a str], ty: &str) -> Result<(&'a str, &'a str, &'a str), RpcError> {
    match args {
        [g, v, x, ..] => Ok((g, v, x)),
        _ => Err(missing(
            args.len(),
            if args.len() < 2 { "string" } else { ty },
        )),
    }
}

fn set_now_int(env: &Env<'_>, args: &[&str]) -> Result<Vec<RpcValue>, RpcError> {
    let (group, var, value) = three(args, "integer")?;
    let n = value.trim().parse::<i32>().map_err(|_| {
        RpcError::new(
            400,
            "error at parameter 2: expected integer type but record doesn't match type",
        )
    })?;
    write_int(env, group, var, n)?;
    Ok(Vec::new())
}

/// A string for an int variable must be numeric text.
fn set_now_string(env: &Env<'_>, args: &[&str]) -> Result<Vec<RpcValue>, RpcError> {
    let (group, var, value) = three(args, "string")?;
    match read(env, group, var) {
        None => Err(failed_set()),
        Some(RpcValue::Str(_)) => write_custom(env, group, var, value).map(|()| Vec::new()),
        Some(_) => {
            let n = value.trim().parse::<i32>().map_err(|_| failed_set())?;
            write_int(env, group, var, n).map(|()| Vec::new())
        }
    }
}

fn set_now(env: &Env<'_>, args: &[&str]) -> Result<Vec<RpcValue>, RpcError> {
    set_now_string(env, args)
}
