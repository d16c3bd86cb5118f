//! AST → IR. See the module docs of `ir` for what holds afterwards.

mod modparam;
mod trans;

use std::collections::HashMap;

use crate::catalog::{self, runtime};
use crate::check::CheckOutput;
use crate::check::pvar::{self, PvSpec};
use crate::diag::Diagnostic;
use crate::source::Span;
use crate::syntax::ast::{self, BlockKind, CallKind, KwElem, KwRhs};

use super::*;

/// Lowers a checked file. Diagnostics are `not supported yet` (and a few
/// errors the checker cannot see, such as a dynamic regex that can never
/// compile); the caller stops before code generation if any.
pub fn lower(
    file: &ast::File,
    checked: &CheckOutput,
    sources: &crate::source::SourceMap,
) -> (Program, Vec<Diagnostic>) {
    let mut l = Lowerer {
        checked,
        sources,
        program: Program::default(),
        diags: Vec::new(),
        route_ids: HashMap::new(),
        named: HashMap::new(),
        vars: HashMap::new(),
        avps: HashMap::new(),
        cfg_vars: HashMap::new(),
        flags: HashMap::new(),
    };
    l.flag_decls(file);
    l.core_settings(file);
    l.format_params(file);
    l.modparams(file);
    l.routes(file);
    l.timer_routes(file);
    l.program.settings.avp_names = l.program.avps.clone();
    (l.program, l.diags)
}

struct Lowerer<'c> {
    checked: &'c CheckOutput,
    /// The cfg's text, for the line numbers xlog's `xlogl` prints.
    sources: &'c crate::source::SourceMap,
    program: Program,
    diags: Vec<Diagnostic>,
    route_ids: HashMap<String, RouteId>,
    /// Named tm routes (`failure_route`, `branch_route`, `onreply_route`):
    /// (kind, name) → index in the program's list of that kind.
    named: HashMap<(BlockKind, String), i32>,
    vars: HashMap<String, usize>,
    avps: HashMap<String, usize>,
    /// Custom cfg variables (`group.var = value desc "..."`) by
    /// `group.var`, for `$sel(cfg_get.group.var)`.
    cfg_vars: HashMap<String, ast::CfgVarValue>,
    /// Named flags (`flags NAME:N, NAME2`) by name, with their numbers.
    flags: HashMap<String, u32>,
}

fn is_main(r: &ast::RouteBlock) -> bool {
    match r.kind {
        BlockKind::RequestRoute => true,
        BlockKind::Route => r.name.as_ref().is_none_or(|n| n.text == "0"),
        _ => false,
    }
}

fn is_core_reply(r: &ast::RouteBlock) -> bool {
    match r.kind {
        BlockKind::ReplyRoute => true,
        BlockKind::OnreplyRoute => r.name.as_ref().is_none_or(|n| n.text == "0"),
        _ => false,
    }
}

impl Lowerer<'_> {
    fn unsupported(&mut self, span: Span, what: impl Into<String>) {
        self.diags.push(
            Diagnostic::unsupported(
                "unsupported",
                format!("{} is not supported by cfgc's runtime yet", what.into()),
            )
            .with_label(span, "not supported yet"),
        );
    }

    // ---- named flags ---------------------------------------------------

    /// Numbers the `flags` declarations as Kamailio's `register_flag` does,
    /// in declaration order: `NAME:N` takes flag N (a number already taken
    /// by another name is shared, as Kamailio only warns); a `NAME` without
    /// a number takes the lowest flag no earlier declaration has taken.
    /// A name declared twice, or a number outside 0..31, fails Kamailio's
    /// startup: both are errors here too.
    fn flag_decls(&mut self, file: &ast::File) {
        let mut taken = [false; 32];
        for item in &file.items {
            let ast::Item::Flags { flags, .. } = item else {
                continue;
            };
            for f in flags {
                if self.flags.contains_key(&f.name.text) {
                    self.diags.push(
                        Diagnostic::error(
                            "flag-redeclared",
                            format!("flag `{}` is declared twice", f.name.text),
                        )
                        .with_label(f.name.span, "declared again here")
                        .with_note("Kamailio refuses the configuration: register flag failed"),
                    );
                    continue;
                }
                let n = match f.number {
                    Some(n) => match u32::try_from(n).ok().filter(|n| *n < 32) {
                        Some(n) => n,
                        None => {
                            self.diags.push(
                                Diagnostic::error(
                                    "bad-flag",
                                    format!("flag `{}` has number {n}", f.name.text),
                                )
                                .with_label(f.name.span, "flags are numbered 0..31"),
                            );
                            continue;
                        }
                    },
                    None => match taken.iter().position(|t| !t) {
                        Some(n) => n as u32,
                        None => {
                            self.diags.push(
                                Diagnostic::error(
                                    "bad-flag",
                                    format!("no free flag left for `{}`", f.name.text),
                                )
                                .with_label(f.name.span, "all 32 flags are taken"),
                            );
                            continue;
                        }
                    },
                };
                taken[n as usize] = true;
                self.flags.insert(f.name.text.clone(), n);
            }
        }
    }

    /// The flag a `setflag`/`resetflag`/`isflagset` argument names: a
    /// number 0..31 or a declared name (as an identifier or a string).
    fn flag_arg(&mut self, c: &ast::Call) -> Option<u32> {
        let n = match c.args.first() {
            Some(ast::Arg::Ident(name)) => self.flags.get(&name.text).copied(),
            Some(ast::Arg::Expr(ast::Expr::Str(s, _))) => self.flags.get(s).copied(),
            Some(ast::Arg::Expr(e)) => match self.expr(e) {
                Expr::Int(n) => u32::try_from(n).ok().filter(|n| *n < 32),
                _ => None,
            },
            _ => None,
        };
        if n.is_none() {
            // The checker reports undeclared names and bad numbers; this is
            // only a backstop so nothing is dropped silently.
            self.unsupported(c.span, format!("this `{}` argument", c.name.text));
        }
        n
    }

    // ---- core parameters ---------------------------------------------

    /// Core parameters Kamailio reads as PV formats (`log_prefix`): resolved
    /// now, like any PV-format argument (the runtime has no PV parser).
    fn format_params(&mut self, file: &ast::File) {
        let spans: HashMap<&str, Span> = file
            .items
            .iter()
            .filter_map(|i| match i {
                ast::Item::Param(p) => Some((p.name, p.span)),
                _ => None,
            })
            .collect();
        let mut params = std::mem::take(&mut self.program.settings.params);
        for (name, value) in &mut params {
            let CoreValue::Str(text) = value else {
                continue;
            };
            if !cfgc_vocab::FORMAT_PARAMS.contains(&name.as_str()) {
                continue;
            }
            let span = spans.get(name.as_str()).copied().unwrap_or(Span::new(
                crate::source::FileId(0),
                0,
                0,
            ));
            if let Some(segs) = self.format(text.as_bytes(), span) {
                *value = CoreValue::Fmt(segs);
            }
        }
        self.program.settings.params = params;
    }

    fn core_settings(&mut self, file: &ast::File) {
        use ast::ParamValue as V;
        use catalog::core_support::{self, Support};
        let mut unsupported = Vec::new();
        let c = &mut self.program.settings;
        for item in &file.items {
            match item {
                // The core parameters the runtime reads pass through as
                // written; the runtime gives them their meaning. The others
                // are documented no-ops or not supported yet (one table:
                // `catalog::core_support`).
                ast::Item::Param(p) => match core_support::support(p.name) {
                    Support::Implemented => {
                        let value = match &p.value {
                            V::Int(n, _) => CoreValue::Int(*n),
                            V::Str(s, _) | V::Ident(s, _) => CoreValue::Str(s.clone()),
                            V::Host(h) => CoreValue::Str(h.text.clone()),
                            V::Proto(..) => {
                                unsupported.push((
                                    p.span,
                                    format!("the core parameter `{}` with this value", p.name),
                                ));
                                continue;
                            }
                        };
                        c.params.push((p.name.to_string(), value));
                    }
                    Support::NoOp(_) => {}
                    Support::NoOpIf(v, _) if matches!(p.value, V::Int(n, _) if n == v) => {}
                    Support::NoOpIf(v, _) => {
                        let v = core_support::value_word(v);
                        unsupported.push((
                            p.span,
                            format!(
                                "the core parameter `{}` other than `{} = {v}`",
                                p.name, p.name
                            ),
                        ));
                    }
                    Support::Unsupported => {
                        unsupported.push((p.span, format!("the core parameter `{}`", p.name)));
                    }
                },
                ast::Item::CfgVar(v) if v.instance.is_none() => {
                    let key = format!("{}.{}", v.group.text, v.var.text);
                    self.cfg_vars.entry(key).or_insert_with(|| v.value.clone());
                }
                ast::Item::Listen(l) => {
                    if l.kind == ast::ListenKind::Listen {
                        if l.advertise.is_some() {
                            unsupported.push((l.span, "`advertise` on a listen socket".into()));
                        }
                        if l.name.is_some() {
                            unsupported.push((l.span, "a named listen socket".into()));
                        }
                        if l.virtual_ {
                            unsupported.push((l.span, "a `virtual` listen socket".into()));
                        }
                    }
                    for s in &l.sockets {
                        let port = match s.port {
                            Some(ast::PortSpec::Number(n)) => u16::try_from(n).ok(),
                            _ => None,
                        };
                        // Without a protocol Kamailio listens with every
                        // enabled one: UDP and TCP here (TLS and SCTP are
                        // refused when enabled).
                        let protos: Vec<String> = match s.proto.as_deref() {
                            None | Some("*") => vec!["udp".into(), "tcp".into()],
                            Some(p) => vec![p.to_ascii_lowercase()],
                        };
                        for a in &s.addrs {
                            match l.kind {
                                ast::ListenKind::Listen => {
                                    for proto in &protos {
                                        if proto != "udp" && proto != "tcp" {
                                            unsupported.push((
                                                s.span,
                                                format!("a `{proto}` listen socket"),
                                            ));
                                            continue;
                                        }
                                        c.listen.push(Listen {
                                            proto: proto.clone(),
                                            host: a.text.clone(),
                                            port,
                                        });
                                    }
                                }
                                ast::ListenKind::Alias => {
                                    c.aliases.push((a.text.to_ascii_lowercase(), port));
                                }
                            }
                        }
                    }
                }
                ast::Item::CfgEngine { name, span }
                    if !name.text.eq_ignore_ascii_case("native")
                        && !name.text.eq_ignore_ascii_case("default") =>
                {
                    unsupported.push((*span, format!("the `{}` script engine (KEMI)", name.text)));
                }
                _ => {}
            }
        }
        for (span, what) in unsupported {
            self.unsupported(span, what);
        }
    }

    /// Every `modparam`, once per module its pattern names: Kamailio
    /// matches the module name as a regex against the modules loaded so
    /// far (`"nathelper|registrar"`), so the runtime receives each matched
    /// module's own name.
    fn modparams(&mut self, file: &ast::File) {
        let mut loaded: Vec<String> = Vec::new();
        for item in &file.items {
            if let ast::Item::CfgVar(v) = item
                && v.instance.is_none()
            {
                let key = format!("{}.{}", v.group.text, v.var.text);
                if !self
                    .program
                    .settings
                    .cfg_vars
                    .iter()
                    .any(|(k, _)| *k == key)
                {
                    let value = match &v.value {
                        ast::CfgVarValue::Int(n) => CoreValue::Int(*n),
                        ast::CfgVarValue::Str(s) => CoreValue::Str(s.clone()),
                    };
                    self.program.settings.cfg_vars.push((key, value));
                }
            }
            if let ast::Item::LoadModule { path, .. } = item {
                let name = catalog::module_name_from_path(&path.text).to_string();
                if !self.program.settings.modules.contains(&name) {
                    self.program.settings.modules.push(name.clone());
                }
                if self.checked.is_loaded(&name) && !loaded.contains(&name) {
                    loaded.push(name);
                }
                continue;
            }
            let ast::Item::ModParam(m) = item else {
                continue;
            };
            // The checker reported a pattern matching nothing.
            let Some(re) = crate::check::module_matcher(&m.module.text) else {
                continue;
            };
            let modules: Vec<String> = loaded.iter().filter(|n| re.is_match(n)).cloned().collect();
            for module in modules {
                self.modparam(m, &module);
            }
        }
    }

    fn modparam(&mut self, m: &ast::ModParam, module: &str) {
        {
            let value = match &m.value {
                ast::ModParamValue::Int(n, span) => match i32::try_from(*n) {
                    Ok(n) => ModParamValue::Int(n),
                    Err(_) => {
                        self.unsupported(*span, "an integer parameter beyond 32 bits");
                        return;
                    }
                },
                ast::ModParamValue::Str(s, span) => {
                    match modparam::lowering(module, &m.param.text) {
                        Some(lower) => match lower(self, s, *span) {
                            Some(v) => v,
                            None => return,
                        },
                        None => ModParamValue::Str(s.clone()),
                    }
                }
                ast::ModParamValue::Pv(p) => {
                    self.unsupported(p.span, "a `modparamx` value with variables");
                    return;
                }
            };
            self.program.settings.modparams.push(ModParam {
                module: module.to_string(),
                name: m.param.text.clone(),
                value,
            });
        }
    }

    // ---- routes --------------------------------------------------------

    fn routes(&mut self, file: &ast::File) {
        let blocks: Vec<&ast::RouteBlock> = file
            .items
            .iter()
            .filter_map(|i| match i {
                ast::Item::Route(r) => Some(r),
                _ => None,
            })
            .collect();
        // Number the request-table routes first so calls resolve in any order.
        let mut main_id = None;
        let mut reply_id = None;
        for r in &blocks {
            if is_main(r) {
                if main_id.is_none() {
                    main_id = Some(self.new_route("0", BlockKind::RequestRoute, r.span));
                }
            } else if r.kind == BlockKind::Route {
                let name = r.name.as_ref().map_or("0", |n| n.text.as_str()).to_string();
                let id = self.new_route(&name, BlockKind::Route, r.span);
                self.route_ids.insert(name, id);
            } else if is_core_reply(r) {
                if reply_id.is_none() {
                    reply_id = Some(self.new_route("reply", BlockKind::ReplyRoute, r.span));
                }
            } else if let (
                BlockKind::FailureRoute | BlockKind::BranchRoute | BlockKind::OnreplyRoute,
                Some(name),
            ) = (r.kind, &r.name)
            {
                let key = (r.kind, name.text.clone());
                if !self.named.contains_key(&key) {
                    let id = self.new_route(&name.text, r.kind, r.span);
                    let list = match r.kind {
                        BlockKind::FailureRoute => &mut self.program.failure_routes,
                        BlockKind::BranchRoute => &mut self.program.branch_routes,
                        _ => &mut self.program.onreply_routes,
                    };
                    list.push(id);
                    let idx = i32::try_from(list.len() - 1).unwrap_or(i32::MAX);
                    self.named.insert(key, idx);
                }
            } else if let (BlockKind::EventRoute, Some(name)) = (r.kind, &r.name) {
                if cfgc_vocab::event_route_support(&name.text).is_none() {
                    self.unsupported(r.span, format!("`event_route[{}]`", name.text));
                } else if !self
                    .program
                    .event_routes
                    .iter()
                    .any(|(n, _)| *n == name.text)
                {
                    let id = self.new_route(&name.text, r.kind, r.span);
                    self.program.event_routes.push((name.text.clone(), id));
                }
            } else {
                self.unsupported(r.span, format!("a `{}` block", r.kind.keyword()));
            }
        }
        if let Some(id) = main_id {
            self.route_ids.insert("0".into(), id);
        }
        self.program.main = main_id;
        self.program.core_reply = reply_id;
        for r in &blocks {
            let id = if is_main(r) {
                main_id
            } else if r.kind == BlockKind::Route {
                self.route_ids
                    .get(r.name.as_ref().map_or("0", |n| n.text.as_str()))
                    .copied()
            } else if is_core_reply(r) {
                reply_id
            } else if let (BlockKind::EventRoute, Some(name)) = (r.kind, &r.name) {
                self.program
                    .event_routes
                    .iter()
                    .find(|(n, _)| *n == name.text)
                    .map(|(_, id)| *id)
            } else if let Some(name) = &r.name {
                self.named
                    .get(&(r.kind, name.text.clone()))
                    .and_then(|&idx| {
                        let list = match r.kind {
                            BlockKind::FailureRoute => &self.program.failure_routes,
                            BlockKind::BranchRoute => &self.program.branch_routes,
                            BlockKind::OnreplyRoute => &self.program.onreply_routes,
                            _ => return None,
                        };
                        list.get(usize::try_from(idx).ok()?).copied()
                    })
            } else {
                None
            };
            let Some(id) = id else { continue };
            let body = self.stmts(&r.body);
            // Several unnamed request (or reply) routes concatenate.
            self.program.routes[id].body.extend(body);
        }
    }

    /// rtimer's `exec` lines name `route[NAME]` blocks the timers run:
    /// one the cfg does not define is an error here (Kamailio starts and
    /// runs an empty route).
    fn timer_routes(&mut self, file: &ast::File) {
        for item in &file.items {
            let ast::Item::ModParam(m) = item else {
                continue;
            };
            if !m.module.text.eq_ignore_ascii_case("rtimer")
                || !m.param.text.eq_ignore_ascii_case("exec")
            {
                continue;
            }
            let ast::ModParamValue::Str(v, span) = &m.value else {
                continue;
            };
            let route = v
                .trim()
                .trim_end_matches(';')
                .split(';')
                .filter_map(|a| a.split_once('='))
                .find(|(n, _)| n.trim().eq_ignore_ascii_case("route"))
                .map(|(_, r)| r.trim());
            if let Some(r) = route
                && !self.route_ids.contains_key(r)
            {
                self.diags.push(
                    Diagnostic::error("undefined-route", format!("`route[{r}]` is not defined"))
                        .with_label(*span, "rtimer runs a missing route")
                        .with_note("Kamailio starts and then runs an empty route"),
                );
            }
        }
    }

    fn new_route(&mut self, name: &str, kind: BlockKind, span: Span) -> RouteId {
        self.program.routes.push(Route {
            name: name.to_string(),
            kind,
            body: Vec::new(),
            span,
        });
        self.program.routes.len() - 1
    }

    // ---- statements ----------------------------------------------------

    fn stmts(&mut self, v: &[ast::Stmt]) -> Vec<Stmt> {
        let mut out = Vec::with_capacity(v.len());
        for s in v {
            match s {
                // A nested `{ ... }` runs its statements in place.
                ast::Stmt::Block(inner, _) => out.extend(self.stmts(inner)),
                s => out.extend(self.stmt(s)),
            }
        }
        out
    }

    fn stmt_block(&mut self, s: &ast::Stmt) -> Vec<Stmt> {
        match s {
            ast::Stmt::Block(v, _) => self.stmts(v),
            other => self.stmt(other).into_iter().collect(),
        }
    }

    fn stmt(&mut self, s: &ast::Stmt) -> Option<Stmt> {
        Some(match s {
            ast::Stmt::Call(c) => match self.call(c) {
                Some(CallOrStmt::Call(c)) => Stmt::Call(c),
                Some(CallOrStmt::Stmt(s)) => s,
                None => Stmt::Unsupported(c.span),
            },
            ast::Stmt::If {
                cond, then, else_, ..
            } => Stmt::If {
                cond: self.expr(cond),
                then: self.stmt_block(then),
                else_: else_
                    .as_deref()
                    .map(|e| self.stmt_block(e))
                    .unwrap_or_default(),
            },
            ast::Stmt::While { cond, body, .. } => Stmt::While {
                cond: self.expr(cond),
                body: self.stmt_block(body),
            },
            ast::Stmt::Switch { expr, cases, .. } => {
                let expr = self.expr(expr);
                let mut labels = Vec::new();
                let mut body = Vec::new();
                for c in cases {
                    let label = match &c.label {
                        None => None,
                        Some(e) => match (self.expr(e), c.regex) {
                            (Expr::Int(i), false) => Some(CaseLabel::Int(i)),
                            (Expr::Str(s), false) => Some(CaseLabel::Str(s)),
                            (Expr::Str(s), true) => {
                                let re = String::from_utf8_lossy(&s).into_owned();
                                match self.regex_slot(&re, false, c.span) {
                                    Some(slot) => Some(CaseLabel::Regex(slot)),
                                    None => return Some(Stmt::Unsupported(c.span)),
                                }
                            }
                            _ => {
                                self.unsupported(c.span, "a non-constant case label");
                                return Some(Stmt::Unsupported(c.span));
                            }
                        },
                    };
                    labels.push((label, body.len()));
                    body.extend(self.stmts(&c.body));
                }
                Stmt::Switch {
                    expr,
                    cases: labels,
                    body,
                }
            }
            // `stmts` and `stmt_block` flatten blocks; a block anywhere
            // else runs as one statement.
            ast::Stmt::Block(v, _) => Stmt::If {
                cond: Expr::Int(1),
                then: self.stmts(v),
                else_: Vec::new(),
            },
            ast::Stmt::Return { kind, value, .. } => {
                let v = value.as_ref().map(|e| self.expr(e));
                match kind {
                    ast::ReturnKind::Return => Stmt::Return(v),
                    ast::ReturnKind::Exit => Stmt::Exit(v),
                    ast::ReturnKind::Drop => Stmt::Drop,
                }
            }
            ast::Stmt::Break(_) => Stmt::Break,
            ast::Stmt::Assign(a) => return Some(self.assign(a)),
            ast::Stmt::Empty(_) => return None,
            ast::Stmt::Error(span) => Stmt::Unsupported(*span),
        })
    }

    fn assign(&mut self, a: &ast::Assign) -> Stmt {
        let lhs = match &a.lhs {
            ast::Lvalue::Pv(p) => match self.pv_lvalue(p) {
                Some(l) => l,
                None => return Stmt::Unsupported(a.span),
            },
            ast::Lvalue::Attr(_, span) => {
                self.unsupported(*span, "a SER-style attribute");
                return Stmt::Unsupported(a.span);
            }
        };
        // The whole right side being a call stores its raw return code.
        let rhs = match &a.rhs {
            ast::Expr::Call(c) => match self.call(c) {
                Some(CallOrStmt::Call(call)) => Expr::Call(Box::new(call), true),
                _ => Expr::Unsupported,
            },
            e => self.expr(e),
        };
        Stmt::Assign { lhs, rhs }
    }

    // ---- calls ---------------------------------------------------------

    /// Lowers a call; `None` (always reported) when it cannot run.
    fn call(&mut self, c: &ast::Call) -> Option<CallOrStmt> {
        let before = self.diags.len();
        let r = match c.kind {
            CallKind::Route => self.route_call(c).map(CallOrStmt::Call),
            CallKind::Core => self.core_call(c),
            CallKind::Module => self.module_call(c).map(CallOrStmt::Call),
        };
        // Nothing is dropped silently: a failure no step above reported
        // gets a diagnostic here, unless it is a module function the
        // runtime lacks (the checker reports those, once per function).
        if r.is_none() && self.diags.len() == before && !self.checker_reports_unsupported(c) {
            self.unsupported(c.span, format!("this form of `{}`", c.name.text));
        }
        r
    }

    /// Whether the checker reports `c` as a function the runtime lacks.
    fn checker_reports_unsupported(&self, c: &ast::Call) -> bool {
        c.kind == CallKind::Module
            && !self.checked.modules.iter().any(|m| {
                catalog::module(&m.name).is_some_and(|md| {
                    md.functions_named(&c.name.text)
                        .any(|f| f.arity.accepts(c.args.len()))
                }) && runtime::is_supported(&m.name, &c.name.text)
            })
    }

    fn route_call(&mut self, c: &ast::Call) -> Option<Call> {
        let name = match c.args.first() {
            Some(ast::Arg::Ident(n)) => n.text.clone(),
            Some(ast::Arg::Expr(e)) => match self.expr(e) {
                Expr::Str(s) => String::from_utf8_lossy(&s).into_owned(),
                Expr::Int(i) => i.to_string(),
                _ => {
                    self.unsupported(c.span, "`route()` with a dynamic name");
                    return None;
                }
            },
            _ => return None,
        };
        // Missing routes are reported by the checker.
        let id = *self.route_ids.get(&name)?;
        Some(Call {
            target: Target::Route(id),
            args: Vec::new(),
            span: c.span,
        })
    }

    fn module_call(&mut self, c: &ast::Call) -> Option<Call> {
        let name = c.name.text.as_str();
        let arity = c.args.len();
        let module = self
            .checked
            .modules
            .iter()
            .map(|m| m.name.as_str())
            .find(|m| {
                catalog::module(m)
                    .is_some_and(|md| md.functions_named(name).any(|f| f.arity.accepts(arity)))
            });
        let Some(binding) = module.and_then(|m| runtime::binding(m, name, arity)) else {
            // The checker reports functions the runtime lacks; report here
            // only an arity the runtime lacks of a supported function.
            if module.is_some_and(|m| runtime::is_supported(m, name)) {
                self.unsupported(c.name.span, format!("`{name}` with {arity} argument(s)"));
            }
            return None;
        };
        let mut args = Vec::with_capacity(arity);
        for (a, conv) in c.args.iter().zip(binding.binding().args) {
            args.push(self.arg(a, *conv)?);
        }
        let row = binding.binding();
        for &(_, _, i, letters) in cfgc_vocab::FLAG_LETTER_ARGS
            .iter()
            .filter(|(m, f, _, _)| *m == row.module && *f == row.name)
        {
            if let (Some(ArgVal::Bytes(t)), Some(a)) = (args.get(i), c.args.get(i))
                && let Some(bad) = t.iter().find(|b| !letters.as_bytes().contains(b))
            {
                self.diags.push(
                    Diagnostic::error(
                        "bad-flag",
                        format!(
                            "`{name}` has no flag `{}`: Kamailio refuses to start (unsupported flag)",
                            char::from(*bad)
                        ),
                    )
                    .with_label(a.span(), "")
                    .with_help(format!("the flags are the letters `{letters}`")),
                );
                return None;
            }
        }
        for &(_, _, _, i) in cfgc_vocab::LINE_PREFIX_ARGS
            .iter()
            .filter(|(m, f, n, _)| *m == row.module && *f == row.name && *n == arity)
        {
            // Kamailio's action line: where the call ends.
            let (_, line, _) = self.sources.location(Span::new(
                c.span.file,
                c.span.end as usize,
                c.span.end as usize,
            ));
            let prefix = format!("{line}:").into_bytes();
            match args.get_mut(i) {
                Some(ArgVal::Fmt(segs)) => segs.insert(0, FmtSeg::Lit(prefix)),
                Some(ArgVal::Bytes(b)) => {
                    let mut v = prefix;
                    v.extend_from_slice(b);
                    *b = v;
                }
                _ => {}
            }
        }
        for &(_, _, i) in cfgc_vocab::ONE_BYTE_ARGS
            .iter()
            .filter(|(m, f, _)| *m == row.module && *f == row.name)
        {
            if let (Some(ArgVal::Bytes(t)), Some(a)) = (args.get(i), c.args.get(i))
                && (t.len() != 1 || t[0] == 0)
            {
                self.diags.push(
                    Diagnostic::error(
                        "bad-separator",
                        format!(
                            "`{name}` wants one character, not \"{}\": Kamailio refuses to start",
                            String::from_utf8_lossy(t)
                        ),
                    )
                    .with_label(a.span(), "invalid separator parameter"),
                );
                return None;
            }
        }
        for &(_, _, i, values, why) in cfgc_vocab::UNSUPPORTED_INT_ARGS
            .iter()
            .filter(|(m, f, _, _, _)| *m == row.module && *f == row.name)
        {
            if let (Some(ArgVal::Int(n)), Some(a)) = (args.get(i), c.args.get(i))
                && !values.contains(n)
            {
                self.diags.push(
                    Diagnostic::unsupported(
                        "unsupported",
                        format!("`{name}` with {n} is not supported by cfgc's runtime yet"),
                    )
                    .with_label(a.span(), "not supported yet")
                    .with_help(why),
                );
                return None;
            }
        }
        for &(_, _, i, words) in cfgc_vocab::WORD_ARGS
            .iter()
            .filter(|(m, f, _, _)| *m == row.module && *f == row.name)
        {
            if let (Some(ArgVal::Bytes(t)), Some(a)) = (args.get(i), c.args.get(i))
                && !words.iter().any(|w| w.as_bytes().eq_ignore_ascii_case(t))
            {
                self.diags.push(
                    Diagnostic::error(
                        "bad-word",
                        format!(
                            "`{name}` does not take `{}`: Kamailio refuses to start",
                            String::from_utf8_lossy(t)
                        ),
                    )
                    .with_label(a.span(), "")
                    .with_help(format!("one of: {}", words.join(", "))),
                );
                return None;
            }
        }
        // textopsx's `hname[index].param` (append_hf_value...): what its
        // fixups refuse, Kamailio refuses to start with.
        if let Some(oper) = cfgc_vocab::hf_value::oper_of(row.module, row.name)
            && let (Some(ArgVal::Bytes(t)), Some(a)) = (args.first(), c.args.first())
            && let Err(why) = cfgc_vocab::hf_value::parse(t, oper)
        {
            self.diags.push(
                Diagnostic::error(
                    "bad-hf-name",
                    format!(
                        "`{name}` cannot take \"{}\": Kamailio refuses to start",
                        String::from_utf8_lossy(t)
                    ),
                )
                .with_label(a.span(), why)
                .with_help(
                    "the form is `name`, `name[index]` or `name[*]`, then `.param` if wanted",
                ),
            );
            return None;
        }
        for &(_, _, i) in cfgc_vocab::STATIC_TABLE_ARGS
            .iter()
            .filter(|(m, f, _)| *m == row.module && *f == row.name)
        {
            let text = match args.get(i) {
                Some(ArgVal::Bytes(t)) => Some(String::from_utf8_lossy(t).into_owned()),
                Some(ArgVal::Int(n)) => Some(n.to_string()),
                _ => None,
            };
            if let Some(text) = text {
                let entry = (row.module.to_string(), text);
                let tables = &mut self.program.settings.static_tables;
                if !tables.contains(&entry) {
                    tables.push(entry);
                }
            }
        }
        Some(Call {
            target: Target::Module(binding),
            args,
            span: c.span,
        })
    }

    fn arg(&mut self, a: &ast::Arg, conv: ArgConv) -> Option<ArgVal> {
        let ast::Arg::Expr(e) = a else {
            self.unsupported(a.span(), "this argument form");
            return None;
        };
        let route_kind = match conv {
            ArgConv::FailureRoute => Some(BlockKind::FailureRoute),
            ArgConv::BranchRoute => Some(BlockKind::BranchRoute),
            ArgConv::OnreplyRoute => Some(BlockKind::OnreplyRoute),
            _ => None,
        };
        if let Some(kind) = route_kind {
            // The checker reports unknown names; a non-constant name is
            // something only Kamailio's KEMI allows.
            let name = match self.expr(e) {
                Expr::Str(s) => String::from_utf8_lossy(&s).into_owned(),
                Expr::Int(i) => i.to_string(),
                _ => {
                    self.unsupported(a.span(), "a route name that is not a constant");
                    return None;
                }
            };
            // `""` and `"0"` disarm the route, as tm's fixups read them:
            // the runtime's tm takes a negative index as "none".
            if name.is_empty() || name == "0" {
                return Some(ArgVal::Int(-1));
            }
            // The checker reports names without a block (an error), but
            // not names holding a `$`, which tm takes literally.
            let Some(idx) = self.named.get(&(kind, name.clone())).copied() else {
                self.unsupported(
                    a.span(),
                    format!("arming `{name}`, which names no `{}` block", kind.keyword()),
                );
                return None;
            };
            return Some(ArgVal::Int(idx));
        }
        let v = self.expr(e);
        if conv == ArgConv::PvList {
            let Expr::Str(s) = v else {
                self.unsupported(a.span(), "a PV list that is not a constant string");
                return None;
            };
            return self.pv_list(&String::from_utf8_lossy(&s), a.span());
        }
        if matches!(conv, ArgConv::PvWrite | ArgConv::PvAny) {
            let text = match &v {
                Expr::Str(s) => String::from_utf8_lossy(s).into_owned(),
                _ => String::new(),
            };
            let r = pvar::parse_spec(&text)
                .ok()
                .filter(|(s, len)| *len == text.len() && s.transforms.is_empty())
                .and_then(|(s, _)| self.pv_ref(&s, a.span()))
                .filter(|r| conv == ArgConv::PvAny || r.writable());
            return match r {
                Some(r) => Some(ArgVal::PvList(vec![r])),
                None => {
                    let (what, why) = if conv == ArgConv::PvAny {
                        ("a PV", "Kamailio refuses to start: not a PV")
                    } else {
                        (
                            "a PV to write to",
                            "Kamailio refuses to start: PV type cannot be written",
                        )
                    };
                    self.diags.push(
                        Diagnostic::error("pv-out", format!("`{text}` is not {what}"))
                            .with_label(a.span(), why),
                    );
                    None
                }
            };
        }
        if matches!(conv, ArgConv::PvOut | ArgConv::AvpOut) {
            let text = match &v {
                Expr::Str(s) => String::from_utf8_lossy(s).into_owned(),
                _ => String::new(),
            };
            let spec = pvar::parse_spec(&text)
                .ok()
                .filter(|(_, len)| *len == text.len())
                .map(|(s, _)| s);
            let avp_only = conv == ArgConv::AvpOut;
            let r = spec.as_ref().and_then(|s| {
                let kind_ok = s.name == "avp" || (s.name == "var" && !avp_only);
                (s.transforms.is_empty() && kind_ok)
                    .then(|| self.pv_ref(s, a.span()))
                    .flatten()
            });
            return match r {
                Some(r @ (PvRef::Avp(..) | PvRef::Var(_))) => Some(ArgVal::PvList(vec![r])),
                _ => {
                    let (what, why) = if avp_only {
                        (
                            "an `$avp`",
                            "Kamailio fails this call every time: it adds its result to an AVP only",
                        )
                    } else {
                        (
                            "an `$avp` or `$var`",
                            "Kamailio refuses to start: PV type cannot be written",
                        )
                    };
                    self.diags.push(
                        Diagnostic::error("pv-out", format!("`{text}` is not {what} to write to"))
                            .with_label(a.span(), why),
                    );
                    None
                }
            };
        }
        if conv == ArgConv::Subst {
            return self.subst_arg(v, a.span());
        }
        if matches!(conv, ArgConv::Regex | ArgConv::RegexNl) {
            // textops' fixups compile the text as written (no PV expanded),
            // case-insensitive, `^`/`$` at line ends, `.` not matching LF.
            let Expr::Str(s) = v else {
                self.unsupported(a.span(), "a regex that is not a constant string");
                return None;
            };
            let re = String::from_utf8_lossy(&s).into_owned();
            let flags = if conv == ArgConv::Regex {
                "(?im)"
            } else {
                "(?is)"
            };
            return self
                .regex_slot_flags(&re, flags, a.span())
                .map(ArgVal::Regex);
        }
        Some(match (conv, v) {
            (ArgConv::Int, Expr::Int(i)) => ArgVal::Int(i),
            (ArgConv::Int, Expr::Str(s)) => match parse_int(&s) {
                Some(i) => ArgVal::Int(i),
                None => ArgVal::Fmt(self.format(&s, a.span())?),
            },
            (ArgConv::Level, Expr::Str(s)) => {
                let name = String::from_utf8_lossy(&s).into_owned();
                match catalog::modules::xlog_level(&name) {
                    Some(l) => ArgVal::Level(l),
                    None => ArgVal::Fmt(self.format(&s, a.span())?),
                }
            }
            (ArgConv::Level, Expr::Int(i)) => ArgVal::Level(i),
            (ArgConv::Fmt, Expr::Str(s)) => ArgVal::Fmt(self.format(&s, a.span())?),
            (ArgConv::Fmt, Expr::Int(i)) => ArgVal::Bytes(i.to_string().into_bytes()),
            (ArgConv::Str, Expr::Str(s)) => ArgVal::Bytes(s),
            // Kamailio's `fixup_var_*` try a PV first: a text that starts
            // with one (after blanks) is that PV, the rest ignored
            // (`pv_parse_spec2` does not look past it).
            (ArgConv::VarOrStr | ArgConv::VarOrFmt, Expr::Str(s)) => {
                let text = String::from_utf8_lossy(&s).into_owned();
                let trimmed = text.trim_start_matches([' ', '\t', '\r', '\n']);
                match trimmed.starts_with('$').then(|| pvar::parse_spec(trimmed)) {
                    Some(Ok((spec, _))) => {
                        ArgVal::Fmt(vec![FmtSeg::Pv(self.pv_ref(&spec, a.span())?)])
                    }
                    _ if conv == ArgConv::VarOrFmt => ArgVal::Fmt(self.format(&s, a.span())?),
                    _ => ArgVal::Bytes(s),
                }
            }
            (ArgConv::VarOrFmt, Expr::Int(i)) => ArgVal::Bytes(i.to_string().into_bytes()),
            (ArgConv::VarOrStr, Expr::Int(i)) => ArgVal::Bytes(i.to_string().into_bytes()),
            (ArgConv::Str, Expr::Int(i)) => ArgVal::Bytes(i.to_string().into_bytes()),
            (_, Expr::Unsupported) => return None,
            (_, other) => ArgVal::Expr(other),
        })
    }

    /// A list of writable PVs, as Kamailio's `parse_pvname_list` reads it:
    /// PV names separated by blanks, `,` or `;`. A PV the script cannot
    /// assign is an error (Kamailio refuses to start: "result variable
    /// is read-only"); one the runtime cannot assign yet is not supported.
    fn pv_list(&mut self, text: &str, span: Span) -> Option<ArgVal> {
        let sep = |c: char| matches!(c, ' ' | '\t' | ',' | ';' | '\n' | '\r');
        let mut rest = text.trim_start_matches(sep);
        let mut out = Vec::new();
        let mut ok = true;
        if rest.is_empty() {
            self.diags.push(
                Diagnostic::error("pv-list", format!("no PV in the list \"{text}\""))
                    .with_label(span, "Kamailio refuses to start: wrong item name list"),
            );
            return None;
        }
        while !rest.is_empty() {
            let Ok((spec, len)) = pvar::parse_spec(rest) else {
                self.diags.push(
                    Diagnostic::error(
                        "pv-list",
                        format!("`{rest}` in the PV list \"{text}\" is not a PV"),
                    )
                    .with_label(span, "Kamailio refuses to start: invalid result parameter"),
                );
                return None;
            };
            let item = &rest[..len];
            rest = rest[len..].trim_start_matches(sep);
            if catalog::any_pv(&spec.name).is_some_and(|p| !p.writable) {
                self.diags.push(
                    Diagnostic::error("pv-list", format!("`{item}` is not writable")).with_label(
                        span,
                        "Kamailio refuses to start: result variable is read-only",
                    ),
                );
                ok = false;
                continue;
            }
            match self.pv_ref(&spec, span) {
                Some(r) if r.writable() => out.push(r),
                Some(_) => {
                    self.unsupported(span, format!("assigning to `{item}`"));
                    ok = false;
                }
                None => ok = false,
            }
        }
        ok.then_some(ArgVal::PvList(out))
    }

    fn core_call(&mut self, c: &ast::Call) -> Option<CallOrStmt> {
        let name = c.name.text.as_str();
        let str_arg = |l: &mut Self, i: usize| -> Option<Vec<u8>> {
            match c.args.get(i) {
                Some(ast::Arg::Expr(e)) => match l.expr(e) {
                    Expr::Str(s) => Some(s),
                    Expr::Int(n) => Some(n.to_string().into_bytes()),
                    _ => None,
                },
                _ => None,
            }
        };
        let int_arg = |l: &mut Self, i: usize| -> Option<i32> {
            match c.args.get(i) {
                Some(ast::Arg::Expr(e)) => match l.expr(e) {
                    Expr::Int(n) => Some(n),
                    _ => None,
                },
                _ => None,
            }
        };
        let core = match name {
            "forward" | "forward_udp" | "forward_tcp" => {
                let proto = match name {
                    "forward_udp" => Some(cfgc_vocab::Proto::Udp),
                    "forward_tcp" => Some(cfgc_vocab::Proto::Tcp),
                    _ => None,
                };
                let (host, port) = match c.args.as_slice() {
                    [] => (None, None),
                    [first, rest @ ..] => {
                        let host = match first {
                            ast::Arg::Sock(s) if s.addrs.len() == 1 => {
                                Some(s.addrs[0].text.clone())
                            }
                            ast::Arg::Ident(n) => Some(n.text.clone()),
                            ast::Arg::Expr(ast::Expr::Str(s, _)) => Some(s.clone()),
                            _ => None,
                        };
                        let port = match rest {
                            [] => match first {
                                ast::Arg::Sock(ast::SockSpec {
                                    port: Some(ast::PortSpec::Number(p)),
                                    ..
                                }) => u16::try_from(*p).ok(),
                                _ => None,
                            },
                            [ast::Arg::Expr(ast::Expr::Int(p, _))] => u16::try_from(*p).ok(),
                            _ => {
                                self.unsupported(c.span, "this `forward` form");
                                return None;
                            }
                        };
                        if host.is_none() {
                            self.unsupported(c.span, "this `forward` form");
                            return None;
                        }
                        (host, port)
                    }
                };
                CoreFn::Forward { host, port, proto }
            }
            "setflag" => CoreFn::SetFlag(self.flag_arg(c)?),
            "resetflag" => CoreFn::ResetFlag(self.flag_arg(c)?),
            "isflagset" => CoreFn::IsFlagSet(self.flag_arg(c)?),
            "rewriteuri" => CoreFn::Rewrite(Rewrite::Uri, str_arg(self, 0)?),
            "rewritehost" => CoreFn::Rewrite(Rewrite::Host, str_arg(self, 0)?),
            "rewritehostport" => CoreFn::Rewrite(Rewrite::HostPort, str_arg(self, 0)?),
            "rewriteuser" => CoreFn::Rewrite(Rewrite::User, str_arg(self, 0)?),
            "rewriteuserpass" => CoreFn::Rewrite(Rewrite::UserPass, str_arg(self, 0)?),
            "rewriteport" => CoreFn::Rewrite(Rewrite::Port, str_arg(self, 0)?),
            "prefix" => CoreFn::Rewrite(Rewrite::Prefix, str_arg(self, 0)?),
            "strip" => CoreFn::Strip(usize::try_from(int_arg(self, 0)?).ok()?),
            "strip_tail" => CoreFn::StripTail(usize::try_from(int_arg(self, 0)?).ok()?),
            "revert_uri" => CoreFn::RevertUri,
            "force_rport" => CoreFn::ForceRport,
            "set_reply_no_connect" => CoreFn::SetReplyNoConnect,
            "set_forward_no_connect" => CoreFn::SetForwardNoConnect,
            "log" => match c.args.len() {
                1 => CoreFn::Log(4, str_arg(self, 0)?),
                _ => CoreFn::Log(int_arg(self, 0)?, str_arg(self, 1)?),
            },
            other => {
                self.unsupported(c.name.span, format!("the core action `{other}`"));
                return None;
            }
        };
        Some(CallOrStmt::Call(Call {
            target: Target::Core(core),
            args: Vec::new(),
            span: c.span,
        }))
    }

    // ---- expressions ---------------------------------------------------

    fn expr(&mut self, e: &ast::Expr) -> Expr {
        use ast::BinOp as A;
        match e {
            ast::Expr::Int(n, _) => Expr::Int(*n as i32),
            ast::Expr::Str(s, _) => Expr::Str(s.clone().into_bytes()),
            ast::Expr::Pv(p) => match self.pv_read(p) {
                Some(pv) => Expr::Pv(pv),
                None => Expr::Unsupported,
            },
            ast::Expr::Attr(_, span) => {
                self.unsupported(*span, "a SER-style attribute");
                Expr::Unsupported
            }
            ast::Expr::Select(_, span) => {
                self.unsupported(*span, "a select (`@...`)");
                Expr::Unsupported
            }
            ast::Expr::Paren(e, _) => self.expr(e),
            ast::Expr::Unary { op, expr, .. } => {
                let v = self.expr(expr);
                match (op, v) {
                    (ast::UnOp::Neg, Expr::Int(i)) => Expr::Int(i.wrapping_neg()),
                    (ast::UnOp::Neg, v) => Expr::Neg(Box::new(v)),
                    (ast::UnOp::BitNot, Expr::Int(i)) => Expr::Int(!i),
                    (ast::UnOp::BitNot, v) => Expr::BitNot(Box::new(v)),
                    (ast::UnOp::Not, Expr::Int(i)) => Expr::Int(i32::from(i == 0)),
                    (ast::UnOp::Not, v) => Expr::Not(Box::new(v)),
                }
            }
            ast::Expr::Binary { op, lhs, rhs, span } => {
                // `x == $null` / `x != $null`: (not) defined x.
                if matches!(op, A::Eq | A::Ne) && is_null_pv(rhs) {
                    let d = Expr::Defined(Box::new(self.expr(lhs)));
                    return if *op == A::Eq {
                        Expr::Not(Box::new(d))
                    } else {
                        d
                    };
                }
                // `e == ""` and `"" == e` become strempty(e) (not `!=`).
                if matches!(op, A::Eq | A::StrEq) {
                    if is_empty_str(rhs) {
                        return Expr::Strempty(Box::new(self.expr(lhs)));
                    }
                    if is_empty_str(lhs) {
                        return Expr::Strempty(Box::new(self.expr(rhs)));
                    }
                }
                if *op == A::Match {
                    let l = self.expr(lhs);
                    return match self.expr(rhs) {
                        Expr::Str(re) => {
                            let re = String::from_utf8_lossy(&re).into_owned();
                            match self.regex_slot(&re, true, *span) {
                                Some(slot) => Expr::Match(Box::new(l), Regex::Const(slot)),
                                None => Expr::Unsupported,
                            }
                        }
                        Expr::Unsupported => Expr::Unsupported,
                        dynamic => Expr::Match(Box::new(l), Regex::Dynamic(Box::new(dynamic))),
                    };
                }
                let l = self.expr(lhs);
                let r = self.expr(rhs);
                let bop = match op {
                    A::Or => BinOp::Or,
                    A::And => BinOp::And,
                    A::BitOr => BinOp::BitOr,
                    A::BitAnd => BinOp::BitAnd,
                    A::BitXor => BinOp::BitXor,
                    A::Shl => BinOp::Shl,
                    A::Shr => BinOp::Shr,
                    A::Eq => BinOp::Eq,
                    A::Ne => BinOp::Ne,
                    A::StrEq => BinOp::StrEq,
                    A::StrNe => BinOp::StrNe,
                    A::IntEq => BinOp::IntEq,
                    A::IntNe => BinOp::IntNe,
                    A::Lt => BinOp::Lt,
                    A::Gt => BinOp::Gt,
                    A::Le => BinOp::Le,
                    A::Ge => BinOp::Ge,
                    A::Add => BinOp::Add,
                    A::Sub => BinOp::Sub,
                    A::Mul => BinOp::Mul,
                    A::Div => BinOp::Div,
                    A::Mod => BinOp::Mod,
                    A::Match => unreachable!("handled above"),
                };
                fold(bop, l, r)
            }
            ast::Expr::Call(c) => match self.call(c) {
                Some(CallOrStmt::Call(call)) => Expr::Call(Box::new(call), false),
                _ => Expr::Unsupported,
            },
            ast::Expr::Defined(e, _) => Expr::Defined(Box::new(self.expr(e))),
            ast::Expr::Strlen(e, _) => match self.expr(e) {
                Expr::Str(s) => Expr::Int(s.len() as i32),
                v => Expr::Strlen(Box::new(v)),
            },
            ast::Expr::Strempty(e, _) => match self.expr(e) {
                Expr::Str(s) => Expr::Int(i32::from(s.is_empty())),
                v => Expr::Strempty(Box::new(v)),
            },
            ast::Expr::Selval {
                cond, then, else_, ..
            } => Expr::Selval(
                Box::new(self.expr(cond)),
                Box::new(self.expr(then)),
                Box::new(self.expr(else_)),
            ),
            ast::Expr::Cast(ast::Cast::Int, e, _) => Expr::CastInt(Box::new(self.expr(e))),
            ast::Expr::Cast(ast::Cast::Str, e, _) => Expr::CastStr(Box::new(self.expr(e))),
            ast::Expr::KwCond {
                lhs, op, rhs, span, ..
            } => self.kw_cond(*lhs, *op, rhs, *span),
            ast::Expr::MyselfCond { op, rhs, span } => {
                let negate = *op == A::Ne;
                match uri_of(*rhs) {
                    Some(u) => Expr::Cond(Box::new(KwCond::Myself(u, negate))),
                    None => match rhs {
                        KwElem::SrcIp => Expr::Cond(Box::new(KwCond::IpMyself(IpOf::Src, negate))),
                        KwElem::DstIp => Expr::Cond(Box::new(KwCond::IpMyself(IpOf::Dst, negate))),
                        _ => {
                            self.unsupported(*span, "this `myself` condition");
                            Expr::Unsupported
                        }
                    },
                }
            }
            ast::Expr::Block(_, span) => {
                self.unsupported(*span, "a block used as a value");
                Expr::Unsupported
            }
            ast::Expr::Assign(a) => {
                self.unsupported(a.span, "an assignment used as a value");
                Expr::Unsupported
            }
            ast::Expr::Error(_) => Expr::Unsupported,
        }
    }

    fn kw_cond(&mut self, lhs: KwElem, op: ast::BinOp, rhs: &KwRhs, span: Span) -> Expr {
        use ast::BinOp as A;
        let negate = matches!(op, A::Ne | A::StrNe | A::IntNe);
        let is_eq = matches!(
            op,
            A::Eq | A::Ne | A::StrEq | A::StrNe | A::IntEq | A::IntNe
        );
        let cond = match (lhs, rhs) {
            (KwElem::Method, KwRhs::Ident(n)) if is_eq => {
                KwCond::MethodEq(Expr::Str(n.text.clone().into_bytes()), negate)
            }
            (KwElem::Method, KwRhs::Expr(e)) if is_eq => KwCond::MethodEq(self.expr(e), negate),
            (KwElem::Method, KwRhs::Expr(e)) if op == A::Match => match self.kw_regex(e, span) {
                Some(r) => KwCond::MethodMatch(r),
                None => return Expr::Unsupported,
            },
            (elem, KwRhs::Myself(_)) if is_eq && uri_of(elem).is_some() => {
                KwCond::Myself(uri_of(elem).unwrap_or(UriOf::Request), negate)
            }
            (KwElem::SrcIp, KwRhs::Myself(_)) if is_eq => KwCond::IpMyself(IpOf::Src, negate),
            (KwElem::DstIp, KwRhs::Myself(_)) if is_eq => KwCond::IpMyself(IpOf::Dst, negate),
            (elem, KwRhs::Expr(e)) if is_eq && uri_of(elem).is_some() => {
                KwCond::UriEq(uri_of(elem).unwrap_or(UriOf::Request), self.expr(e), negate)
            }
            (elem, KwRhs::Expr(e)) if op == A::Match && uri_of(elem).is_some() => {
                match self.kw_regex(e, span) {
                    Some(r) => KwCond::UriMatch(uri_of(elem).unwrap_or(UriOf::Request), r),
                    None => return Expr::Unsupported,
                }
            }
            (KwElem::SrcIp | KwElem::DstIp, KwRhs::Net { addr, mask, .. }) if is_eq => {
                let of = if lhs == KwElem::SrcIp {
                    IpOf::Src
                } else {
                    IpOf::Dst
                };
                let full = if addr.text.contains(':') { 128 } else { 32 };
                let bits = match mask {
                    None => full,
                    Some(ast::NetMask::Bits(b)) => u8::try_from(*b).unwrap_or(full),
                    Some(ast::NetMask::Addr(m)) => mask_bits(&m.text).unwrap_or(full),
                };
                if addr.kind == ast::HostKind::Name {
                    self.unsupported(span, "comparing an address with a host name");
                    return Expr::Unsupported;
                }
                KwCond::IpNet(of, addr.text.clone(), bits, negate)
            }
            // A constant string holding an address or a network is matched
            // as one (Kamailio resolves any other text through DNS).
            (KwElem::SrcIp | KwElem::DstIp, KwRhs::Expr(e)) if is_eq && string_net(e).is_some() => {
                let of = if lhs == KwElem::SrcIp {
                    IpOf::Src
                } else {
                    IpOf::Dst
                };
                let (addr, bits) = string_net(e).unwrap_or_default();
                KwCond::IpNet(of, addr, bits, negate)
            }
            (KwElem::SrcPort | KwElem::DstPort | KwElem::MsgLen | KwElem::Af, KwRhs::Expr(e)) => {
                let of = match lhs {
                    KwElem::SrcPort => IntOf::SrcPort,
                    KwElem::DstPort => IntOf::DstPort,
                    KwElem::MsgLen => IntOf::MsgLen,
                    _ => IntOf::Af,
                };
                let bop = match op {
                    A::Eq | A::IntEq => BinOp::IntEq,
                    A::Ne | A::IntNe => BinOp::IntNe,
                    A::Lt => BinOp::Lt,
                    A::Gt => BinOp::Gt,
                    A::Le => BinOp::Le,
                    A::Ge => BinOp::Ge,
                    _ => {
                        self.unsupported(span, "this operator in a keyword condition");
                        return Expr::Unsupported;
                    }
                };
                KwCond::IntCmp(of, bop, self.expr(e))
            }
            (KwElem::Proto, KwRhs::Proto(p, _)) if is_eq => KwCond::ProtoEq(p.clone(), negate),
            _ => {
                self.unsupported(span, "this keyword condition");
                return Expr::Unsupported;
            }
        };
        Expr::Cond(Box::new(cond))
    }

    fn kw_regex(&mut self, e: &ast::Expr, span: Span) -> Option<Regex> {
        match self.expr(e) {
            Expr::Str(s) => {
                let re = String::from_utf8_lossy(&s).into_owned();
                self.regex_slot(&re, true, span).map(Regex::Const)
            }
            Expr::Unsupported => None,
            dynamic => Some(Regex::Dynamic(Box::new(dynamic))),
        }
    }

    /// Translates a POSIX ERE once and stores it; `None` (reported) if it
    /// cannot be translated faithfully.
    fn regex_slot(&mut self, re: &str, icase: bool, span: Span) -> Option<usize> {
        self.regex_slot_flags(re, if icase { "(?i)" } else { "" }, span)
    }

    /// A regex slot for a POSIX ERE compiled with the `regex` crate's
    /// inline `flags` (`"(?im)"`) before it.
    /// A textops substitution (`/re/repl/flags`): split and checked as
    /// Kamailio's `subst_parser` does when it loads the cfg (a bad one is
    /// an error: Kamailio refuses to start), its regex compiled once with
    /// the expression's flags (`REG_EXTENDED`, `REG_NEWLINE` unless `s`,
    /// `REG_ICASE` with `i`).
    fn subst_arg(&mut self, v: Expr, span: Span) -> Option<ArgVal> {
        let Expr::Str(text) = v else {
            self.unsupported(span, "a substitution that is not a constant string");
            return None;
        };
        // Each PV of the replacement parsed as Kamailio's `pv_parse_spec`
        // reads it, from its `$` to the end of the text.
        let mut specs = Vec::new();
        let parsed = cfgc_vocab::subst::parse(&text, &mut |rest| {
            let rest = match std::str::from_utf8(rest) {
                Ok(r) => r,
                Err(e) => std::str::from_utf8(&rest[..e.valid_up_to()]).ok()?,
            };
            let (spec, len) = pvar::parse_spec(rest).ok()?;
            specs.push((spec, len));
            Some(len)
        });
        let parsed = match parsed {
            Ok(p) => p,
            Err(e) => {
                self.diags.push(
                    Diagnostic::error(
                        "bad-subst",
                        format!(
                            "bad substitution \"{}\": {e}",
                            String::from_utf8_lossy(&text)
                        ),
                    )
                    .with_label(span, "Kamailio refuses to start: bad subst re"),
                );
                return None;
            }
        };
        let re = String::from_utf8_lossy(parsed.re).into_owned();
        if crate::check::translate_ere(&re).is_err() {
            self.diags.push(
                Diagnostic::error("bad-subst", format!("bad regex `{re}` in a substitution"))
                    .with_label(span, "Kamailio refuses to start: bad subst re"),
            );
            return None;
        }
        let mut flags = String::from("(?");
        if parsed.icase {
            flags.push('i');
        }
        flags.push(if parsed.newline { 'm' } else { 's' });
        flags.push(')');
        let slot = self.regex_slot_flags(&re, &flags, span)?;
        let mut pvs = Vec::with_capacity(specs.len());
        for (spec, len) in &specs {
            pvs.push(cfgc_vocab::subst::SubstPv {
                len: *len,
                pv: self.pv_ref(spec, span)?,
            });
        }
        Some(ArgVal::Subst(slot, text, pvs))
    }

    fn regex_slot_flags(&mut self, re: &str, flags: &str, span: Span) -> Option<usize> {
        if re.contains("\\1") || re.contains("\\2") {
            self.unsupported(span, "a regex with back-references");
            return None;
        }
        let Ok(t) = crate::check::translate_ere(re) else {
            // The checker reports regexes that do not compile (an error,
            // so lowering does not run); a backstop.
            self.unsupported(span, "a regex cfgc cannot translate");
            return None;
        };
        let src = format!("{flags}{t}");
        if let Some(i) = self.program.regexes.iter().position(|r| *r == src) {
            return Some(i);
        }
        self.program.regexes.push(src);
        Some(self.program.regexes.len() - 1)
    }

    // ---- PVs -----------------------------------------------------------

    fn pv_spec(&mut self, p: &ast::Pv) -> Option<PvSpec> {
        match pvar::parse_spec(&p.text) {
            Ok((s, _)) => Some(s),
            Err(_) => None, // reported by the checker
        }
    }

    fn pv_read(&mut self, p: &ast::Pv) -> Option<PvRef> {
        let before = self.diags.len();
        let r = self.pv_spec(p).and_then(|spec| self.pv_ref(&spec, p.span));
        if r.is_none() && self.diags.len() == before {
            self.unsupported(p.span, format!("the PV `{}`", p.text));
        }
        r
    }

    fn pv_lvalue(&mut self, p: &ast::Pv) -> Option<Lvalue> {
        let before = self.diags.len();
        let r = self.pv_lvalue_inner(p);
        if r.is_none() && self.diags.len() == before {
            self.unsupported(p.span, format!("assigning to `{}`", p.text));
        }
        r
    }

    fn pv_lvalue_inner(&mut self, p: &ast::Pv) -> Option<Lvalue> {
        let spec = self.pv_spec(p)?;
        if spec.name == "avp" && spec.index.as_deref() == Some("*") && spec.transforms.is_empty() {
            let slot = self.slot_avp(spec.inner.as_deref().unwrap_or(""));
            return Some(Lvalue::AvpAll(slot));
        }
        let r = self.pv_ref(&spec, p.span)?;
        if !r.writable() {
            self.unsupported(p.span, format!("assigning to `{}`", p.text));
            return None;
        }
        Some(Lvalue::Pv(r))
    }

    /// Whether the cfg loads module `name`.
    fn loaded(&self, name: &str) -> bool {
        self.checked.modules.iter().any(|m| m.name == name)
    }

    fn slot_var(&mut self, name: &str) -> usize {
        let n = self.vars.len();
        let slot = *self.vars.entry(name.to_string()).or_insert(n);
        if slot == n {
            self.program.vars.push(name.to_string());
        }
        slot
    }

    fn slot_avp(&mut self, name: &str) -> usize {
        let n = self.avps.len();
        let slot = *self.avps.entry(name.to_string()).or_insert(n);
        if slot == n {
            self.program.avps.push(name.to_string());
        }
        slot
    }

    fn pv_ref(&mut self, s: &PvSpec, span: Span) -> Option<PvRef> {
        if !s.transforms.is_empty() {
            let base = PvSpec {
                transforms: Vec::new(),
                ..s.clone()
            };
            let inner = self.pv_ref(&base, span);
            // Every transformation is looked at, so one run reports them all.
            let ops: Vec<Option<TrOp>> = s.transforms.iter().map(|t| self.tr_op(t, span)).collect();
            let ops: Option<Vec<TrOp>> = ops.into_iter().collect();
            return Some(PvRef::Trans(Box::new(inner?), ops?));
        }
        let plain = s.inner.is_none() && s.index.is_none();
        if plain && let Some(id) = PvId::from_name(&s.name) {
            return Some(PvRef::Plain(id));
        }
        // A PV of a loaded module, with its constant argument if any
        // (`$sdp(body)`).
        let module_name = match &s.inner {
            None if plain => Some(s.name.clone()),
            Some(inner) if s.index.is_none() => Some(format!("{}({})", s.name, inner)),
            _ => None,
        };
        if let Some(name) = module_name
            && let Some(idx) = self
                .checked
                .modules
                .iter()
                .find_map(|m| cfgc_vocab::ModulePv::find(&m.name, &name))
        {
            return Some(PvRef::Module(idx));
        }
        let r = match s.name.as_str() {
            "dbr" if s.index.is_none() && self.loaded("sqlops") => {
                let inner = s.inner.as_deref().unwrap_or("");
                let parsed = inner.split_once("=>").and_then(|(res, key)| {
                    let res = res.trim();
                    (!res.is_empty() && !res.contains('$'))
                        .then_some(res)
                        .zip(cfgc_vocab::DbrKey::parse(key))
                });
                match parsed {
                    Some((res, key)) => PvRef::Dbr(res.to_string(), key),
                    None => {
                        self.unsupported(
                            span,
                            "`$dbr()` other than `res=>rows|cols|[r,c]|colname[c]` with constant names and indices",
                        );
                        return None;
                    }
                }
            }
            "sqlrows" if s.index.is_none() && self.loaded("sqlops") => match &s.inner {
                Some(c) if !c.contains('$') && !c.trim().is_empty() => {
                    PvRef::SqlRows(c.trim().to_string())
                }
                _ => {
                    self.unsupported(span, "`$sqlrows()` with a dynamic name");
                    return None;
                }
            },
            name @ ("hfitname" | "hfitbody" | "blitval")
                if s.index.is_none() && self.loaded("textopsx") =>
            {
                let kind = match name {
                    "hfitname" => cfgc_vocab::IterKind::HfName,
                    "hfitbody" => cfgc_vocab::IterKind::HfBody,
                    _ => cfgc_vocab::IterKind::BlVal,
                };
                // Kamailio takes the name as written, a PV in it too
                // (`$hfitname($var(x))` reads the iterator named
                // "$var(x)"); an empty one makes it refuse to start.
                match &s.inner {
                    Some(it) if !it.is_empty() => PvRef::TextIter(kind, it.clone()),
                    _ => {
                        self.diags.push(
                            Diagnostic::error(
                                "unknown-pv",
                                format!("`${name}()` needs an iterator name"),
                            )
                            .with_label(span, "Kamailio refuses to start: the name is empty"),
                        );
                        return None;
                    }
                }
            }
            name @ ("sht" | "shtex" | "shtinc" | "shtdec" | "shtcn" | "shtcv")
                if s.index.is_none() && self.loaded("htable") =>
            {
                let kind = match name {
                    "sht" => cfgc_vocab::ShtPv::Val,
                    "shtex" => cfgc_vocab::ShtPv::Ex,
                    "shtinc" => cfgc_vocab::ShtPv::Inc,
                    "shtdec" => cfgc_vocab::ShtPv::Dec,
                    "shtcn" => cfgc_vocab::ShtPv::Cn,
                    _ => cfgc_vocab::ShtPv::Cv,
                };
                let inner = s.inner.as_deref().unwrap_or("");
                let Some((table, key)) = cfgc_vocab::ShtName::split(inner) else {
                    self.diags.push(
                        Diagnostic::error(
                            "pv-name",
                            format!("`${name}({inner})` is not named `table=>key`"),
                        )
                        .with_label(span, "htable's PVs are named `table=>key`")
                        .with_note("Kamailio refuses the configuration: wrong format"),
                    );
                    return None;
                };
                let key = self.format(key.as_bytes(), span)?;
                PvRef::Sht(
                    kind,
                    Box::new(cfgc_vocab::ShtName {
                        table: table.to_string(),
                        key,
                    }),
                )
            }
            name @ ("shtitkey" | "shtitval") if s.index.is_none() && self.loaded("htable") => {
                PvRef::ShtIter(name == "shtitval", s.inner.clone().unwrap_or_default())
            }
            name @ ("mqk" | "mqv" | "mq_size") if s.index.is_none() && self.loaded("mqueue") => {
                let kind = match name {
                    "mqk" => cfgc_vocab::MqPv::Key,
                    "mqv" => cfgc_vocab::MqPv::Val,
                    _ => cfgc_vocab::MqPv::Size,
                };
                let inner = s.inner.as_deref().unwrap_or("");
                PvRef::Mq(kind, self.format(inner.as_bytes(), span)?)
            }
            "shtrecord" if s.index.is_none() && self.loaded("htable") => match s.inner.as_deref() {
                Some("key") => PvRef::ShtRecord(false),
                Some("value") => PvRef::ShtRecord(true),
                other => {
                    self.diags.push(
                        Diagnostic::error(
                            "pv-name",
                            format!("`$shtrecord({})`: unknown name", other.unwrap_or("")),
                        )
                        .with_label(span, "Kamailio refuses to start: unknown pv name")
                        .with_help("write `$shtrecord(key)` or `$shtrecord(value)`"),
                    );
                    return None;
                }
            },
            name @ ("T_req" | "T_rpl" | "T_inv") if s.index.is_none() && self.loaded("tmx") => {
                let which = match name {
                    "T_req" => cfgc_vocab::TMsg::Req,
                    "T_rpl" => cfgc_vocab::TMsg::Rpl,
                    _ => cfgc_vocab::TMsg::Inv,
                };
                let text = s.inner.as_deref().unwrap_or("");
                let specs = pvar::format_pvs(text);
                match specs.as_slice() {
                    [(range, Ok(inner))]
                        if range.start == 0
                            && range.end == text.len()
                            && !inner.name.starts_with("T_") =>
                    {
                        let inner = self.pv_ref(inner, span)?;
                        PvRef::TMsg(which, Box::new(inner))
                    }
                    _ => {
                        self.unsupported(
                            span,
                            format!("`${name}(...)` with anything but one PV of another kind"),
                        );
                        return None;
                    }
                }
            }
            "dlg_var" if s.index.is_none() && self.loaded("dialog") => match &s.inner {
                // Kamailio takes the name as written.
                Some(n) if !n.is_empty() => PvRef::DlgVar(n.clone()),
                _ => {
                    self.unsupported(span, "`$dlg_var()` without a name");
                    return None;
                }
            },
            "hdrc" if s.index.is_none() => match &s.inner {
                Some(h) if !h.contains('$') => PvRef::HdrCount(h.trim().as_bytes().to_vec()),
                _ => {
                    self.unsupported(span, "`$hdrc()` with a dynamic name");
                    return None;
                }
            },
            "env" if s.index.is_none() => match &s.inner {
                Some(n) if !n.contains('$') => PvRef::Env(n.trim().to_string()),
                _ => {
                    self.unsupported(span, "`$env()` with a dynamic name");
                    return None;
                }
            },
            "sel" if s.index.is_none() => {
                let inner = s.inner.as_deref().unwrap_or("").trim();
                let name = inner
                    .strip_prefix("cfg_get.")
                    .filter(|gv| self.cfg_vars.contains_key(*gv));
                match name {
                    Some(gv) => PvRef::Cfg(gv.to_string()),
                    None => {
                        self.unsupported(
                            span,
                            "`$sel()` other than `cfg_get.<group>.<var>` of a cfg variable declared in the cfg",
                        );
                        return None;
                    }
                }
            }
            "hdr" if s.index.is_none() => match &s.inner {
                Some(h) if !h.contains('$') => PvRef::Hdr(h.trim().as_bytes().to_vec()),
                _ => {
                    self.unsupported(span, "`$hdr()` with a dynamic name");
                    return None;
                }
            },
            "var" | "vz" if s.index.is_none() => match &s.inner {
                Some(v) if !v.contains('$') => PvRef::Var(self.slot_var(v.trim())),
                _ => {
                    self.unsupported(span, "`$var()` with a dynamic name");
                    return None;
                }
            },
            "xavp" => {
                if s.index.is_some() {
                    self.unsupported(
                        span,
                        "an index outside `$xavp(...)` (write `$xavp(name[i]=>key[j])`)",
                    );
                    return None;
                }
                let x = pvar::xavp_name(s.inner.as_deref().unwrap_or("")).ok()?;
                let index = self.xavp_index(x.index.as_deref(), span)?;
                let key = match x.key {
                    Some((k, i)) => Some((k, self.xavp_index(i.as_deref(), span)?)),
                    None => None,
                };
                PvRef::Xavp(Box::new(cfgc_vocab::XavpName {
                    name: x.name,
                    index,
                    key,
                }))
            }
            "avp" => {
                let Some(name) = s.inner.as_deref().filter(|n| !n.contains('$')) else {
                    self.unsupported(span, "`$avp()` with a dynamic name");
                    return None;
                };
                let nth = match s.index.as_deref() {
                    None => 0,
                    Some(i) => match i.trim().parse::<usize>() {
                        Ok(n) => n,
                        Err(_) => {
                            self.unsupported(span, "this `$avp` index");
                            return None;
                        }
                    },
                };
                PvRef::Avp(self.slot_avp(name.trim()), nth)
            }
            _ => {
                self.unsupported(span, format!("the PV `${}`", s.name));
                return None;
            }
        };
        Some(r)
    }

    /// An `$xavp` index as written (checked by `pvar::xavp_name`); `+`
    /// (Kamailio's iterator index) reads and writes as 0 there.
    fn xavp_index(&mut self, i: Option<&str>, span: Span) -> Option<cfgc_vocab::XavpIndex> {
        use cfgc_vocab::XavpIndex;
        Some(match i {
            None => XavpIndex::Absent,
            Some("*") => XavpIndex::All,
            Some("+") => XavpIndex::At(0),
            Some(pv) if pv.starts_with('$') => {
                let (spec, _) = pvar::parse_spec(pv).ok()?;
                XavpIndex::Pv(self.pv_ref(&spec, span)?)
            }
            Some(n) => match n.parse::<i32>() {
                Ok(n) => XavpIndex::At(n),
                Err(_) => {
                    self.unsupported(span, format!("the `$xavp` index `{n}`"));
                    return None;
                }
            },
        })
    }

    /// Splits a PV-format string into literal and PV segments.
    fn format(&mut self, s: &[u8], span: Span) -> Option<Vec<FmtSeg>> {
        let text = String::from_utf8_lossy(s).into_owned();
        let mut segs = Vec::new();
        let mut last = 0;
        let mut ok = true;
        for (range, spec) in pvar::format_pvs(&text) {
            if range.start > last {
                segs.push(FmtSeg::Lit(unescape_dollars(&text[last..range.start])));
            }
            last = range.end;
            match spec.ok().and_then(|spec| self.pv_ref(&spec, span)) {
                Some(r) => segs.push(FmtSeg::Pv(r)),
                None => ok = false,
            }
        }
        if last < text.len() {
            segs.push(FmtSeg::Lit(unescape_dollars(&text[last..])));
        }
        ok.then_some(segs)
    }
}

enum CallOrStmt {
    Call(Call),
    #[allow(
        dead_code,
        reason = "core actions that are statements (drop/exit) come as Stmt"
    )]
    Stmt(Stmt),
}

/// A whole-string int, as Kamailio's fixups read `"200"`.
fn parse_int(s: &[u8]) -> Option<i32> {
    let t = std::str::from_utf8(s).ok()?.trim();
    t.parse::<i32>().ok()
}

fn unescape_dollars(s: &str) -> Vec<u8> {
    s.replace("$$", "$").into_bytes()
}

fn is_null_pv(e: &ast::Expr) -> bool {
    matches!(e, ast::Expr::Pv(p) if p.text == "$null")
}

fn is_empty_str(e: &ast::Expr) -> bool {
    matches!(e, ast::Expr::Str(s, _) if s.is_empty())
}

fn uri_of(e: KwElem) -> Option<UriOf> {
    match e {
        KwElem::Uri => Some(UriOf::Request),
        KwElem::FromUri => Some(UriOf::From),
        KwElem::ToUri => Some(UriOf::To),
        _ => None,
    }
}

fn mask_bits(mask: &str) -> Option<u8> {
    let ip: std::net::Ipv4Addr = mask.parse().ok()?;
    Some(u32::from(ip).count_ones() as u8)
}

/// A string literal holding an IP address or a network (`"10.0.0.0/8"`,
/// `"::1"`): the address and its prefix length.
fn string_net(e: &ast::Expr) -> Option<(String, u8)> {
    let ast::Expr::Str(s, _) = e else {
        return None;
    };
    let (addr, mask) = match s.split_once('/') {
        Some((a, m)) => (a, Some(m)),
        None => (s.as_str(), None),
    };
    let ip: std::net::IpAddr = addr.parse().ok()?;
    let full = if ip.is_ipv4() { 32 } else { 128 };
    let bits = match mask {
        None => full,
        Some(m) => match m.parse::<u8>() {
            Ok(b) if b <= full => b,
            _ if ip.is_ipv4() => mask_bits(m)?,
            _ => return None,
        },
    };
    Some((ip.to_string(), bits))
}

/// Constant folding with Kamailio's run-time rules (left operand decides).
fn fold(op: BinOp, l: Expr, r: Expr) -> Expr {
    match (op, &l, &r) {
        (BinOp::Add, Expr::Int(a), Expr::Int(b)) => Expr::Int(a.wrapping_add(*b)),
        (BinOp::Add, Expr::Str(a), Expr::Str(b)) => Expr::Str([a.as_slice(), b].concat()),
        (BinOp::Add, Expr::Str(a), Expr::Int(b)) => {
            Expr::Str([a.as_slice(), b.to_string().as_bytes()].concat())
        }
        (BinOp::Sub, Expr::Int(a), Expr::Int(b)) => Expr::Int(a.wrapping_sub(*b)),
        (BinOp::Mul, Expr::Int(a), Expr::Int(b)) => Expr::Int(a.wrapping_mul(*b)),
        (BinOp::Div, Expr::Int(a), Expr::Int(b)) if *b != 0 => Expr::Int(a.wrapping_div(*b)),
        (BinOp::Mod, Expr::Int(a), Expr::Int(b)) if *b != 0 => Expr::Int(a.wrapping_rem(*b)),
        (BinOp::BitAnd, Expr::Int(a), Expr::Int(b)) => Expr::Int(a & b),
        (BinOp::BitOr, Expr::Int(a), Expr::Int(b)) => Expr::Int(a | b),
        (BinOp::BitXor, Expr::Int(a), Expr::Int(b)) => Expr::Int(a ^ b),
        (BinOp::Shl, Expr::Int(a), Expr::Int(b)) => Expr::Int(a.wrapping_shl(*b as u32)),
        (BinOp::Shr, Expr::Int(a), Expr::Int(b)) => Expr::Int(a.wrapping_shr(*b as u32)),
        _ => Expr::Binary(op, Box::new(l), Box::new(r)),
    }
}
