//! Calls: `route(X)`, core actions and module functions.

use crate::catalog::{self, CoreArg, RouteArg, route_type};
use crate::diag::Diagnostic;
use crate::syntax::ast::{Arg, BlockKind, Call, CallKind, Expr, UnOp};

use super::body::{self, Block, Ctx};

pub(super) fn call(ctx: &mut Ctx<'_>, block: Block<'_>, c: &Call) {
    // Expressions inside arguments first (PVs, typing, lints).
    for a in &c.args {
        if let Arg::Expr(e) = a {
            body::expr(ctx, block, e);
        }
    }
    match c.kind {
        CallKind::Route => route_call(ctx, block, c),
        CallKind::Core => core_call(ctx, block, c),
        CallKind::Module => module_call(ctx, block, c),
    }
}

fn route_call(ctx: &mut Ctx<'_>, block: Block<'_>, c: &Call) {
    if block.kind == BlockKind::OnsendRoute {
        ctx.push(
            Diagnostic::error("route-type", "`route()` cannot be used in `onsend_route`")
                .with_label(c.name.span, "not allowed here"),
        );
    }
    let Some(arg) = c.args.first() else {
        return;
    };
    if c.args.len() != 1 {
        ctx.push(
            Diagnostic::error("wrong-arity", "`route()` takes exactly one argument")
                .with_label(c.span, format!("{} arguments given", c.args.len())),
        );
        return;
    }
    let Some(name) = body::const_string(arg) else {
        // A dynamic route name is looked up per call.
        return;
    };
    if !ctx.routes.request.contains_key(&name) {
        let mut d = Diagnostic::error("undefined-route", format!("route `{name}` is not defined"))
            .with_label(arg.span(), format!("no `route[{name}]` block"));
        let elsewhere = [
            (&ctx.routes.failure, "failure_route"),
            (&ctx.routes.branch, "branch_route"),
            (&ctx.routes.onreply, "onreply_route"),
        ]
        .into_iter()
        .find(|(t, _)| t.contains_key(&name));
        if let Some((_, kind)) = elsewhere {
            d = d.with_note(format!(
                "there is a `{kind}[{name}]`, but `route()` only calls `route[...]` blocks"
            ));
        } else if let Some(s) =
            super::modules::closest(&name, ctx.routes.request.keys().map(String::as_str))
        {
            d = d.with_help(format!("a route with a similar name exists: `{s}`"));
        }
        ctx.push(d);
    }
}

fn core_call(ctx: &mut Ctx<'_>, block: Block<'_>, c: &Call) {
    let Some(action) = catalog::core_action(&c.name.text) else {
        return;
    };
    if matches!(action.name, "cfg_select" | "cfg_reset")
        && let Some(Arg::Expr(Expr::Str(group, span))) = c.args.first()
    {
        body::cfg_get(ctx, &format!("cfg_get.{group}"), *span);
    }
    if block.kind == BlockKind::OnsendRoute && !action.onsend {
        ctx.push(
            Diagnostic::error(
                "route-type",
                format!(
                    "core action `{}` cannot be used in `onsend_route`",
                    c.name.text
                ),
            )
            .with_label(c.name.span, "not allowed here")
            .with_note(
                "onsend_route allows only `drop`, `log`, the flag actions, `if` and module \
                 functions allowed there, and the `set_*_close`/`set_*_no_connect` actions",
            ),
        );
    }
    let n = c.args.len();
    let Some(form) = action.forms.iter().find(|f| f.len() == n) else {
        let counts: Vec<String> = action.forms.iter().map(|f| f.len().to_string()).collect();
        ctx.push(
            Diagnostic::error(
                "wrong-arity",
                format!(
                    "`{}` takes {} argument(s), not {n}",
                    c.name.text,
                    counts.join(" or ")
                ),
            )
            .with_label(c.span, format!("{n} given")),
        );
        return;
    };
    for (a, kind) in c.args.iter().zip(form.iter()) {
        if let Some(problem) = core_arg_problem(ctx, a, *kind) {
            ctx.push(
                Diagnostic::error(
                    "bad-arg",
                    format!("`{}` takes {}", c.name.text, kind.describe()),
                )
                .with_label(a.span(), problem)
                .with_note(
                    "core actions take literal arguments only; assign PVs instead (`$rd = ...;`)",
                ),
            );
        }
    }
}

/// Why `a` is not acceptable as `kind`, if it is not.
fn core_arg_problem(ctx: &Ctx<'_>, a: &Arg, kind: CoreArg) -> Option<String> {
    let int_lit = |a: &Arg| match a {
        Arg::Expr(Expr::Int(n, _)) => Some(*n),
        Arg::Expr(Expr::Unary {
            op: UnOp::Neg,
            expr,
            ..
        }) => match expr.as_ref() {
            Expr::Int(n, _) => Some(-n),
            _ => None,
        },
        _ => None,
    };
    match kind {
        CoreArg::Str => match a {
            Arg::Expr(Expr::Str(..)) => None,
            _ => Some("expected a string literal".into()),
        },
        CoreArg::Int => match int_lit(a) {
            Some(n) if n >= 0 => None,
            Some(_) => Some("expected a non-negative number".into()),
            None => Some("expected a number literal".into()),
        },
        CoreArg::Sint => match int_lit(a) {
            Some(_) => None,
            None => Some("expected a number literal".into()),
        },
        CoreArg::Flag => match (int_lit(a), a) {
            (Some(n), _) if (0..=31).contains(&n) => None,
            (Some(n), _) => Some(format!("flag {n} is out of range 0..31")),
            (None, Arg::Ident(name)) => {
                if ctx.flag_names.contains(&name.text) {
                    None
                } else {
                    Some(format!("`{}` is not a declared flag name", name.text))
                }
            }
            (None, Arg::Expr(Expr::Str(s, _))) => {
                if ctx.flag_names.contains(s) {
                    None
                } else {
                    Some(format!("`{s}` is not a declared flag name"))
                }
            }
            _ => Some("expected a flag number or name".into()),
        },
        CoreArg::Proto => match a {
            Arg::Proto(..) => None,
            _ => Some("expected `udp`, `tcp`, `tls` or `sctp`".into()),
        },
        // Kamailio's grammar takes a host or an address here, not a socket
        // (`forward(127.0.0.1:5060)`, `forward(udp:host)`: "bad forward
        // argument"); the port is the second argument.
        CoreArg::Dest => match a {
            Arg::Sock(s) if s.proto.is_some() || s.port.is_some() => Some(
                "expected a host or an address, without a transport or a port (the port is the next argument)"
                    .into(),
            ),
            _ => None,
        },
        CoreArg::Port | CoreArg::Sock | CoreArg::Any => None,
    }
}

fn module_call(ctx: &mut Ctx<'_>, block: Block<'_>, c: &Call) {
    let name = c.name.text.as_str();
    let all = catalog::functions_named(name);
    let loaded: Vec<_> = all
        .iter()
        .filter(|(m, _)| ctx.loaded(m.name))
        .copied()
        .collect();
    if loaded.is_empty() {
        if !all.is_empty() {
            let mut providers: Vec<&str> = all.iter().map(|(m, _)| m.name).collect();
            providers.dedup();
            let m = preferred_provider(&providers);
            let mut d = Diagnostic::error(
                "module-not-loaded",
                format!("function `{name}` needs module `{m}`, which is not loaded"),
            )
            .with_label(
                c.name.span,
                format!("provided by `{}`", providers.join("`, `")),
            )
            .with_help(format!("add `loadmodule \"{m}.so\"`"));
            if catalog::core_action(name).is_some() {
                d = d.with_note("it is a core action in some spellings; check the name");
            }
            ctx.push(d);
        } else if !ctx.open_world {
            let mut d = Diagnostic::error("unknown-function", format!("unknown function `{name}`"))
                .with_label(
                    c.name.span,
                    "not a core action nor a function of a loaded module",
                );
            let candidates = catalog::modules()
                .iter()
                .filter(|m| ctx.loaded(m.name))
                .flat_map(|m| m.functions.iter().map(|f| f.name))
                .chain(catalog::core::core_actions().iter().map(|a| a.name));
            if let Some(s) = super::modules::closest(name, candidates) {
                d = d.with_help(format!("a function with a similar name exists: `{s}`"));
            }
            ctx.push(d);
        }
        return;
    }
    let n = c.args.len();
    let by_arity: Vec<_> = loaded
        .iter()
        .filter(|(_, f)| f.arity.accepts(n))
        .copied()
        .collect();
    if by_arity.is_empty() {
        let mut counts: Vec<String> = loaded
            .iter()
            .map(|(_, f)| match f.arity {
                catalog::Arity::Fixed(k) => k.to_string(),
                catalog::Arity::Var => "any number of".into(),
            })
            .collect();
        counts.sort();
        counts.dedup();
        ctx.push(
            Diagnostic::error(
                "wrong-arity",
                format!(
                    "`{name}` takes {} argument(s), not {n}",
                    counts.join(" or ")
                ),
            )
            .with_label(c.span, format!("{n} given")),
        );
        return;
    }
    let allowed: Vec<_> = by_arity
        .iter()
        .filter(|(_, f)| route_type::allows(f.mask, block.mask))
        .copied()
        .collect();
    let Some(&(module, func)) = allowed.first() else {
        let (m, f) = by_arity[0];
        ctx.push(
            Diagnostic::error(
                "route-type",
                format!(
                    "`{name}` cannot be used in `{}`",
                    match block.name {
                        Some(n) => format!("{}[{n}]", block.kind.keyword()),
                        None => block.kind.keyword().to_string(),
                    }
                ),
            )
            .with_label(c.name.span, "not allowed in this kind of block")
            .with_note(format!(
                "`{}` (module `{}`) may be used in: {}",
                name,
                m.name,
                route_type::names(f.mask).join(", ")
            ))
            .with_note_if(
                block.kind == BlockKind::Route,
                "`route[...]` blocks are always checked as request routes",
            ),
        );
        return;
    };
    ctx.calls.push(super::ResolvedCall {
        span: c.name.span,
        module: module.name,
        function: func,
    });
    if func.const_args {
        for (i, a) in c.args.iter().enumerate() {
            if !is_constant_arg(a) {
                ctx.push(
                    Diagnostic::error(
                        "arg-not-constant",
                        format!("argument {} of `{name}` must be a constant", i + 1),
                    )
                    .with_label(a.span(), "not a constant expression")
                    .with_help("put the PVs inside a string literal, which the function expands at run time (`\"$var(x)\"`)")
                    .with_note(format!(
                        "`{name}` parses its arguments once at startup (module `{}`)",
                        module.name
                    )),
                );
            }
        }
    }
    for (i, a) in c.args.iter().enumerate() {
        if i < 8
            && func.fmt_args & (1 << i) != 0
            && let Arg::Expr(Expr::Str(s, span)) = a
        {
            body::format_string(ctx, s, *span);
        }
    }
    // htable's `table=>key` arguments: the key is a PV format, parsed
    // when Kamailio loads the cfg (`fixup_ht_key`).
    if module.name == "htable"
        && matches!(
            name,
            "sht_rm_name_re" | "sht_rm_value_re" | "sht_lock" | "sht_unlock"
        )
        && let Some(Arg::Expr(Expr::Str(s, span))) = c.args.first()
    {
        match cfgc_vocab::ShtName::split(s) {
            Some((_, key)) => body::format_string(ctx, key, *span),
            None => ctx.push(
                Diagnostic::error("pv-name", format!("`{s}` is not `table=>key`"))
                    .with_label(*span, "Kamailio refuses to start: wrong format"),
            ),
        }
    }
    for (i, a) in c.args.iter().enumerate() {
        if let Arg::Expr(Expr::Str(s, span)) = a
            && cfgc_vocab::BINDINGS.iter().any(|b| {
                b.module == module.name
                    && b.name == name
                    && b.args.get(i) == Some(&cfgc_vocab::ArgConv::Subst)
            })
        {
            body::subst_pvs(ctx, s, *span);
        }
    }
    arg_values(ctx, module.name, func, c);
    if !func.is_supported(module.name)
        && !ctx
            .unsupported_reported
            .iter()
            .any(|(m, f)| *m == module.name && *f == name)
    {
        ctx.unsupported_reported.push((module.name, func.name));
        ctx.push(
            Diagnostic::unsupported(
                "unsupported-function",
                format!(
                    "`{name}` (module `{}`) is not implemented by cfgc's runtime yet",
                    module.name
                ),
            )
            .with_label(c.name.span, "first use"),
        );
    }
    if let Some(kind) = catalog::route_arg(module.name, name)
        && let Some(a) = c.args.first()
        && let Some(target) = body::const_string(a)
        && !target.contains('$')
        // `""` or `"0"` disarms the route.
        && !(target.is_empty() || target == "0")
    {
        let table = match kind {
            RouteArg::Failure => &ctx.routes.failure,
            RouteArg::Branch => &ctx.routes.branch,
            RouteArg::Reply => &ctx.routes.onreply,
            RouteArg::BranchFailure => &ctx.routes.event,
        };
        let key = match kind {
            RouteArg::BranchFailure => format!("tm:branch-failure:{target}"),
            _ => target.clone(),
        };
        if !table.contains_key(&key) {
            ctx.push(
                Diagnostic::error(
                    "undefined-route",
                    format!("`{}` is not defined", kind.block(&target)),
                )
                .with_label(a.span(), format!("`{name}` arms a missing block"))
                .with_note("Kamailio only warns at startup and then runs an empty route"),
            );
        }
    }
}

/// Checks the values of constant arguments the fixups would parse at
/// startup: integers, regexes, log levels and facilities, flag numbers.
fn arg_values(ctx: &mut Ctx<'_>, module: &str, func: &catalog::Function, c: &Call) {
    let name = func.name;
    for (i, a) in c.args.iter().enumerate().take(8) {
        let Some(v) = body::const_string(a) else {
            continue;
        };
        if v.starts_with('$') {
            // A PV given as a string: evaluated at run time.
            continue;
        }
        let bit = 1u8 << i;
        if func.int_args & bit != 0 {
            match parse_int(&v) {
                None => ctx.push(
                    Diagnostic::error(
                        "bad-arg",
                        format!("argument {} of `{name}` must be an integer", i + 1),
                    )
                    .with_label(a.span(), format!("`{v}` is not a number")),
                ),
                Some(n) if is_flag_function(module, name) && i == 0 && !(0..=31).contains(&n) => {
                    ctx.push(
                        Diagnostic::error("bad-arg", format!("flag {n} is out of range"))
                            .with_label(a.span(), "flags are numbered 0..31")
                            .with_note(format!(
                                "`{name}` fails at run time with an out-of-range flag"
                            )),
                    )
                }
                Some(_) => {}
            }
        }
        if func.regex_args & bit != 0 {
            if let Err(msg) = super::regex::check_ere(&v) {
                ctx.push(
                    Diagnostic::error(
                        "bad-regex",
                        format!(
                            "argument {} of `{name}` is not a valid regular expression",
                            i + 1
                        ),
                    )
                    .with_label(a.span(), msg)
                    .with_note(
                        "the module compiles it as a POSIX extended regular expression at startup",
                    ),
                );
            } else {
                super::lints::regex_escapes(ctx, &v, a.span());
            }
        }
    }
    if module == "xlog" {
        xlog_args(ctx, name, c);
    }
    if module == "counters" && matches!(name, "cnt_inc" | "cnt_add" | "cnt_reset") {
        counter_arg(ctx, c);
    }
    // dialog's `fixup_dlg_bye`: "all", "caller" or "callee" (any case).
    if module == "dialog"
        && name == "dlg_bye"
        && let Some(a) = c.args.first()
        && let Some(v) = body::const_string(a)
        && !["all", "caller", "callee"]
            .iter()
            .any(|s| s.eq_ignore_ascii_case(&v))
    {
        ctx.push(
            Diagnostic::error("bad-arg", format!("`dlg_bye` side `{v}` is not valid"))
                .with_label(a.span(), "Kamailio refuses to start: invalid param")
                .with_help("use \"all\", \"caller\" or \"callee\""),
        );
    }
    if module == "sqlops"
        && matches!(
            name,
            "sql_query" | "sql_query_async" | "sql_xquery" | "sql_pvquery"
        )
        && let Some(a) = c.args.first()
        && let Some(con) = body::const_string(a)
        && !con.contains('$')
        && !ctx.sql_connections.contains(&con)
    {
        ctx.push(
            Diagnostic::error(
                "unknown-sql-connection",
                format!("no sqlops connection named `{con}`"),
            )
            .with_label(a.span(), "not declared")
            .with_help(format!(
                "declare it: `modparam(\"sqlops\", \"sqlcon\", \"{con}=>mysql://...\")`"
            )),
        );
    }
}

/// `cnt_inc/cnt_add/cnt_reset("[group.]name")` with a constant name:
/// counters' fixup looks the counter up at start-up and Kamailio refuses
/// to start ("counter ... does not exist"). The script group's counters
/// are those `script_counter` declares; another group's (a module's own
/// statistics) cannot be moved from the script by this runtime.
fn counter_arg(ctx: &mut Ctx<'_>, c: &Call) {
    let Some(a) = c.args.first() else { return };
    let Some(spec) = body::const_string(a) else {
        return;
    };
    if spec.contains('$') {
        return;
    }
    let (script_group, declared) = &ctx.script_counters;
    let (g, n) = spec
        .split_once('.')
        .unwrap_or((script_group.as_str(), spec.as_str()));
    if declared.iter().any(|(dg, dn)| dg == g && dn == n) {
        return;
    }
    let d = if g == script_group {
        Diagnostic::error(
            "undeclared-counter",
            format!("counter `{g}.{n}` is not declared"),
        )
        .with_label(a.span(), "not declared with script_counter")
        .with_help(format!(
            "declare it: `modparam(\"counters\", \"script_counter\", \"{n}\")`"
        ))
        .with_note(
            "Kamailio refuses to start: \"counter ... does not exist (forgot to define it?)\"",
        )
    } else {
        Diagnostic::unsupported(
            "unsupported-counter",
            format!("moving counter `{g}.{n}` from the script is not supported yet"),
        )
        .with_label(
            a.span(),
            "only the script's own counters (`script_counter`) can be moved",
        )
    };
    ctx.push(d);
}

fn parse_int(v: &str) -> Option<i64> {
    let t = v.trim();
    if let Some(h) = t.strip_prefix("0x") {
        return i64::from_str_radix(h, 16).ok();
    }
    t.parse().ok()
}

fn is_flag_function(module: &str, name: &str) -> bool {
    module == "kex"
        && matches!(
            name,
            "setbflag" | "resetbflag" | "isbflagset" | "setsflag" | "resetsflag" | "issflagset"
        )
}

/// xlog levels are read from their third character: `L_ALERT`, `L_BUG`,
/// `L_CRIT`, `L_ERR`, `L_WARN`, `L_NOTICE`, `L_INFO`, `L_DBG`.
fn xlog_args(ctx: &mut Ctx<'_>, name: &str, c: &Call) {
    let n = c.args.len();
    let (facility, level) = match (name, n) {
        ("xlog" | "xlogl", 2) | ("xlogm", 2) => (None, Some(0)),
        ("xlog" | "xlogl", 3) => (Some(0), Some(1)),
        _ => (None, None),
    };
    if let Some(i) = level
        && let Some(a) = c.args.get(i)
        && let Some(v) = body::const_string(a)
        && !v.starts_with('$')
        && catalog::modules::xlog_level(&v).is_none()
    {
        ctx.push(
            Diagnostic::error("bad-arg", format!("`{v}` is not a log level"))
                .with_label(a.span(), "unknown level")
                .with_help("use L_ALERT, L_BUG, L_CRIT, L_ERR, L_WARN, L_NOTICE, L_INFO or L_DBG"),
        );
    }
    if let Some(i) = facility
        && let Some(a) = c.args.get(i)
        && let Some(v) = body::const_string(a)
        && !catalog::core::SYSLOG_FACILITIES.contains(&v.to_ascii_uppercase().as_str())
    {
        ctx.push(
            Diagnostic::error("bad-arg", format!("`{v}` is not a syslog facility"))
                .with_label(a.span(), "unknown facility")
                .with_help("use LOG_LOCAL0 ... LOG_LOCAL7, LOG_USER, LOG_DAEMON, ..."),
        );
    }
}

fn preferred_provider<'a>(providers: &[&'a str]) -> &'a str {
    providers
        .iter()
        .find(|p| catalog::COMMON_MODULES.contains(p))
        .or_else(|| providers.iter().min_by_key(|p| p.len()))
        .copied()
        .unwrap_or("?")
}

/// Kamailio's `rve_is_constant`: literals and operators over them.
pub(super) fn is_constant_arg(a: &Arg) -> bool {
    match a {
        Arg::Expr(e) => is_constant(e),
        _ => true,
    }
}

pub(super) fn is_constant(e: &Expr) -> bool {
    match e {
        Expr::Int(..) | Expr::Str(..) => true,
        Expr::Paren(x, _) | Expr::Cast(_, x, _) | Expr::Strlen(x, _) | Expr::Strempty(x, _) => {
            is_constant(x)
        }
        Expr::Unary { expr, .. } => is_constant(expr),
        Expr::Binary { lhs, rhs, .. } => is_constant(lhs) && is_constant(rhs),
        Expr::Selval {
            cond, then, else_, ..
        } => is_constant(cond) && is_constant(then) && is_constant(else_),
        _ => false,
    }
}

trait NoteIf {
    fn with_note_if(self, cond: bool, note: &str) -> Self;
}

impl NoteIf for Diagnostic {
    fn with_note_if(self, cond: bool, note: &str) -> Self {
        if cond { self.with_note(note) } else { self }
    }
}
