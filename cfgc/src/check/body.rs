//! Pass 3: statements and expressions of every routing block.

use crate::catalog::{self, PvInner, route_type};
use crate::diag::Diagnostic;
use crate::source::{SourceMap, Span};
use crate::syntax::ast::{self, Arg, BinOp, BlockKind, Compat, Expr, Item, KwRhs, Lvalue, Stmt};

use super::pvar::{self, PvSpec};
use super::resolve::Routes;
use super::{CheckOutput, LoadedModule, calls, lints};

/// The block being checked.
#[derive(Clone, Copy, Debug)]
pub(super) struct Block<'a> {
    /// Route-type mask used to check function calls (§3.7 column 3).
    pub(super) mask: u32,
    pub(super) kind: BlockKind,
    /// The block's name, for messages.
    pub(super) name: Option<&'a str>,
}

/// Everything the body checks read.
pub(super) struct Ctx<'a> {
    pub(super) sources: &'a SourceMap,
    pub(super) modules: &'a [LoadedModule],
    pub(super) routes: &'a Routes,
    pub(super) diags: Vec<Diagnostic>,
    /// Some loaded module is not catalogued: unknown names may be its own.
    pub(super) open_world: bool,
    /// Flag names (`flags a, b:3`) declared above the current item.
    pub(super) flag_names: Vec<String>,
    /// Modules already reported as missing for a PV (one report each).
    pub(super) missing_pv_modules: Vec<&'static str>,
    /// `(module, function)` already reported as not supported by the runtime.
    pub(super) unsupported_reported: Vec<(&'static str, &'static str)>,
    /// Resolved module calls.
    pub(super) calls: Vec<super::ResolvedCall>,
    /// sqlops connection names (`modparam("sqlops", "sqlcon", "name=>url")`).
    pub(super) sql_connections: Vec<String>,
    /// counters' script group (`script_cnt_grp_name`, default `script`)
    /// and the `(group, name)` pairs `script_counter` declares.
    pub(super) script_counters: (String, Vec<(String, String)>),
    /// Script-declared cfg variables (`group.var = value`): group → vars.
    pub(super) cfg_vars: std::collections::BTreeMap<String, Vec<String>>,
}

impl Ctx<'_> {
    pub(super) fn loaded(&self, module: &str) -> bool {
        self.modules.iter().any(|m| m.name == module)
    }

    pub(super) fn push(&mut self, d: Diagnostic) {
        self.diags.push(d);
    }
}

pub(super) fn block_mask(b: &ast::RouteBlock) -> u32 {
    match b.kind {
        BlockKind::Route | BlockKind::RequestRoute => route_type::REQUEST,
        BlockKind::FailureRoute => route_type::FAILURE,
        BlockKind::BranchRoute => route_type::BRANCH,
        BlockKind::OnreplyRoute => match &b.name {
            Some(n) if n.text != "0" => route_type::TM_ONREPLY,
            _ => route_type::CORE_ONREPLY,
        },
        BlockKind::ReplyRoute => route_type::CORE_ONREPLY,
        BlockKind::OnsendRoute => route_type::ONSEND,
        BlockKind::EventRoute => route_type::EVENT,
    }
}

pub(super) fn check_bodies(sources: &SourceMap, file: &ast::File, out: &mut CheckOutput) {
    let mut ctx = Ctx {
        sources,
        modules: &out.modules,
        routes: &out.routes,
        diags: Vec::new(),
        open_world: out.modules.iter().any(|m| !m.catalogued),
        // Filled in file order below: Kamailio's parser resolves a flag
        // name when it reads the call, so it must be declared above it.
        flag_names: Vec::new(),
        missing_pv_modules: Vec::new(),
        unsupported_reported: Vec::new(),
        cfg_vars: cfg_vars(file),
        sql_connections: sql_connections(file),
        script_counters: script_counters(file),
        calls: Vec::new(),
    };
    for item in &file.items {
        match item {
            Item::Route(b) => {
                let block = Block {
                    mask: block_mask(b),
                    kind: b.kind,
                    name: b.name.as_ref().map(|n| n.text.as_str()),
                };
                for s in &b.body {
                    stmt(&mut ctx, block, s);
                }
            }
            Item::ModParam(mp) => {
                if let ast::ModParamValue::Pv(p) = &mp.value {
                    pv_use(&mut ctx, p, false);
                }
            }
            Item::Flags { flags, .. } => ctx
                .flag_names
                .extend(flags.iter().map(|f| f.name.text.clone())),
            _ => {}
        }
    }
    let diags = std::mem::take(&mut ctx.diags);
    let calls = std::mem::take(&mut ctx.calls);
    out.diagnostics.extend(diags);
    out.calls = calls;
}

fn sql_connections(file: &ast::File) -> Vec<String> {
    file.items
        .iter()
        .filter_map(|i| match i {
            Item::ModParam(mp) if mp.param.text == "sqlcon" => Some(mp),
            _ => None,
        })
        .filter(|mp| {
            super::modules::module_matcher(&mp.module.text).is_some_and(|re| re.is_match("sqlops"))
        })
        .filter_map(|mp| match &mp.value {
            ast::ModParamValue::Str(v, _) => v.split_once("=>").map(|(n, _)| n.trim().to_string()),
            _ => None,
        })
        .collect()
}

/// The string values of `modparam("counters", NAME, ...)`, in order.
fn counters_params<'f>(file: &'f ast::File, name: &'f str) -> impl Iterator<Item = &'f str> {
    file.items
        .iter()
        .filter_map(move |i| match i {
            Item::ModParam(mp) if mp.param.text == name => Some(mp),
            _ => None,
        })
        .filter(|mp| {
            super::modules::module_matcher(&mp.module.text)
                .is_some_and(|re| re.is_match("counters"))
        })
        .filter_map(|mp| match &mp.value {
            ast::ModParamValue::Str(v, _) => Some(v.as_str()),
            _ => None,
        })
}

/// counters' script group and declared counters, as the module reads
/// `script_cnt_grp_name` and `script_counter` (`[group.]name[( |:)desc]`).
fn script_counters(file: &ast::File) -> (String, Vec<(String, String)>) {
    let group = counters_params(file, "script_cnt_grp_name")
        .last()
        .unwrap_or("script")
        .to_string();
    let declared = counters_params(file, "script_counter")
        .map(|text| {
            let spec = text.split([' ', ':']).next().unwrap_or_default().trim();
            match spec.split_once('.') {
                Some((g, n)) => (g.to_string(), n.to_string()),
                None => (group.clone(), spec.to_string()),
            }
        })
        .collect();
    (group, declared)
}

fn cfg_vars(file: &ast::File) -> std::collections::BTreeMap<String, Vec<String>> {
    let mut m: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    for item in &file.items {
        if let Item::CfgVar(v) = item {
            m.entry(v.group.text.clone())
                .or_default()
                .push(v.var.text.clone());
        }
    }
    m
}

/// Configuration groups the core and the modules declare (`cfg_declare`):
/// their variables are not catalogued, so only the group name is checked.
const BUILTIN_CFG_GROUPS: &[&str] = &[
    "core",
    "tcp",
    "sctp",
    "tls",
    "tm",
    "registrar",
    "siputils",
    "maxfwd",
    "xlog",
    "dispatcher",
    "rtpengine",
    "websocket",
    "outbound",
    "carrierroute",
    "dbg",
    "p_usrloc",
    "stun",
    "misctest",
];

/// Checks `cfg_get.GROUP.VAR` (a select `@cfg_get...` or `$sel(cfg_get...)`).
pub(super) fn cfg_get(ctx: &mut Ctx<'_>, path: &str, span: Span) {
    let Some(rest) = path.strip_prefix("cfg_get.") else {
        return;
    };
    let (group, var) = rest.split_once('.').unwrap_or((rest, ""));
    // `group[N]` selects an instance.
    let group = group.split('[').next().unwrap_or(group);
    if let Some(vars) = ctx.cfg_vars.get(group) {
        if !var.is_empty() && !vars.iter().any(|v| v == var) {
            let d = Diagnostic::error(
                "unknown-cfg-var",
                format!("cfg group `{group}` has no variable `{var}`"),
            )
            .with_label(span, "Kamailio fails to start on an unknown variable");
            ctx.push(d);
        }
    } else if !BUILTIN_CFG_GROUPS.contains(&group) {
        ctx.push(
            Diagnostic::error("unknown-cfg-var", format!("unknown cfg group `{group}`"))
                .with_label(span, "no `group.var = value` declares it")
                .with_help(format!(
                    "declare it at the top level: `{group}.{} = \"\" desc \"...\"`",
                    if var.is_empty() { "var" } else { var }
                )),
        );
    }
}

pub(super) fn stmt(ctx: &mut Ctx<'_>, block: Block<'_>, s: &Stmt) {
    match s {
        Stmt::Call(c) => calls::call(ctx, block, c),
        Stmt::If {
            cond, then, else_, ..
        } => {
            expr(ctx, block, cond);
            stmt(ctx, block, then);
            if let Some(e) = else_ {
                stmt(ctx, block, e);
            }
        }
        Stmt::Switch {
            expr: e,
            cases,
            span,
        } => {
            expr(ctx, block, e);
            lints::switch(ctx, cases, *span);
            for c in cases {
                if let Some(l) = &c.label {
                    expr(ctx, block, l);
                }
                for s in &c.body {
                    stmt(ctx, block, s);
                }
            }
        }
        Stmt::While { cond, body, .. } => {
            expr(ctx, block, cond);
            lints::while_truth(ctx, cond);
            stmt(ctx, block, body);
        }
        Stmt::Block(stmts, _) => {
            for s in stmts {
                stmt(ctx, block, s);
            }
        }
        Stmt::Return { kind, value, span } => {
            if let Some(v) = value {
                expr(ctx, block, v);
            }
            lints::return_value(ctx, block.kind, *kind, value.as_ref(), *span);
        }
        Stmt::Assign(a) => assign(ctx, block, a),
        Stmt::Break(_) | Stmt::Empty(_) | Stmt::Error(_) => {}
    }
}

fn assign(ctx: &mut Ctx<'_>, block: Block<'_>, a: &ast::Assign) {
    if let Lvalue::Pv(p) = &a.lhs {
        pv_use(ctx, p, true);
    }
    // The whole right-hand side being a call stores its raw code: fine.
    expr(ctx, block, &a.rhs);
}

pub(super) fn expr(ctx: &mut Ctx<'_>, block: Block<'_>, e: &Expr) {
    lints::expr(ctx, e);
    match e {
        Expr::Select(text, span) => cfg_get(ctx, text.trim_start_matches('@'), *span),
        Expr::Int(..) | Expr::Str(..) | Expr::Attr(..) | Expr::Error(_) => {}
        Expr::Pv(p) => pv_use(ctx, p, false),
        Expr::Unary { expr: x, .. } => expr(ctx, block, x),
        Expr::Binary { op, lhs, rhs, .. } => {
            expr(ctx, block, lhs);
            expr(ctx, block, rhs);
            if *op == BinOp::Match {
                lints::regex_operand(ctx, rhs);
            }
        }
        Expr::Paren(x, _)
        | Expr::Defined(x, _)
        | Expr::Strlen(x, _)
        | Expr::Strempty(x, _)
        | Expr::Cast(_, x, _) => expr(ctx, block, x),
        Expr::Call(c) => calls::call(ctx, block, c),
        Expr::Selval {
            cond, then, else_, ..
        } => {
            expr(ctx, block, cond);
            expr(ctx, block, then);
            expr(ctx, block, else_);
        }
        Expr::KwCond {
            lhs,
            lhs_span,
            op,
            rhs,
            ..
        } => {
            kw_elem_allowed(ctx, block, *lhs, *lhs_span);
            match rhs.as_ref() {
                KwRhs::Expr(x) => {
                    expr(ctx, block, x);
                    if *op == BinOp::Match {
                        lints::regex_operand(ctx, x);
                    }
                }
                KwRhs::Myself(_) | KwRhs::Ident(_) | KwRhs::Net { .. } | KwRhs::Proto(..) => {}
            }
        }
        Expr::MyselfCond { rhs, span, .. } => kw_elem_allowed(ctx, block, *rhs, *span),
        Expr::Block(stmts, _) => {
            for s in stmts {
                stmt(ctx, block, s);
            }
        }
        Expr::Assign(a) => assign(ctx, block, a),
    }
}

/// `snd_ip`, `to_ip` and friends exist only in onsend_route.
fn kw_elem_allowed(ctx: &mut Ctx<'_>, block: Block<'_>, elem: ast::KwElem, span: Span) {
    use ast::KwElem as K;
    let name = match elem {
        K::SndIp => "snd_ip",
        K::ToIp => "to_ip",
        _ => return,
    };
    if block.kind != BlockKind::OnsendRoute {
        ctx.push(
            Diagnostic::error(
                "route-type",
                format!("`{name}` can only be used in `onsend_route`"),
            )
            .with_label(span, format!("used in `{}`", block.kind.keyword())),
        );
    }
}

/// What a PV name resolves to.
pub(super) enum PvLookup {
    Found(catalog::PvDef),
    /// Provided by a catalogued module that is not loaded.
    NotLoaded(&'static str),
    Unknown,
}

pub(super) fn lookup_pv(ctx: &Ctx<'_>, name: &str) -> PvLookup {
    if let Some(p) = catalog::core_pv(name) {
        return PvLookup::Found(*p);
    }
    let mut not_loaded = None;
    for m in catalog::modules() {
        if let Some(p) = m.pvs.iter().find(|p| p.name == name) {
            if ctx.loaded(m.name) {
                return PvLookup::Found(*p);
            }
            not_loaded.get_or_insert(m.name);
        }
    }
    match not_loaded {
        Some(m) => PvLookup::NotLoaded(m),
        None => PvLookup::Unknown,
    }
}

/// Checks a PV token of the code (`write`: it is assigned to).
pub(super) fn pv_use(ctx: &mut Ctx<'_>, p: &ast::Pv, write: bool) {
    if p.compat == Compat::Ser {
        return;
    }
    let spec = match pvar::parse_spec(&p.text) {
        Ok((spec, _)) => spec,
        Err(e) => {
            ctx.push(
                Diagnostic::error("unknown-pv", format!("malformed PV `{}`: {}", p.text, e.0))
                    .with_label(p.span, ""),
            );
            return;
        }
    };
    // In max-compat mode a bare unknown `$foo` is the AVP `foo`.
    let avp_fallback = p.compat == Compat::MaxCompat && !spec.parenthesised && spec.inner.is_none();
    let def = check_spec(ctx, &spec, p.span, avp_fallback);
    if write {
        let writable = match def {
            Some(d) => d.writable,
            // An AVP (max-compat fallback) is writable; unknown already reported.
            None => true,
        };
        if !spec.transforms.is_empty() {
            ctx.push(
                Diagnostic::error(
                    "pv-not-writable",
                    format!("cannot assign to `{}`: it has transformations", p.text),
                )
                .with_label(p.span, "transformations are read-only"),
            );
        } else if !writable {
            ctx.push(
                Diagnostic::error("pv-not-writable", format!("`${}` is read-only", spec.name))
                    .with_label(p.span, "cannot be assigned to"),
            );
        }
    }
}

/// Checks a parsed spec (name, transformations, nested PVs). Returns the
/// definition if it was found.
pub(super) fn check_spec(
    ctx: &mut Ctx<'_>,
    spec: &PvSpec,
    span: Span,
    avp_fallback: bool,
) -> Option<catalog::PvDef> {
    let def = match lookup_pv(ctx, &spec.name) {
        PvLookup::Found(d) => Some(d),
        PvLookup::NotLoaded(m) => {
            if !avp_fallback && !ctx.missing_pv_modules.contains(&m) {
                ctx.missing_pv_modules.push(m);
                ctx.push(
                    Diagnostic::error("unknown-pv", format!("`${}` needs module `{m}`", spec.name))
                        .with_label(span, format!("provided by `{m}`, which is not loaded"))
                        .with_note(format!("reported once; every PV of `{m}` needs it"))
                        .with_help(format!("add `loadmodule \"{m}.so\"`")),
                );
            }
            None
        }
        PvLookup::Unknown => {
            if !avp_fallback && !ctx.open_world {
                let mut d = Diagnostic::error("unknown-pv", format!("unknown PV `${}`", spec.name))
                    .with_label(span, "no such pseudo-variable");
                if spec.name.contains('.') && !spec.parenthesised {
                    d = d.with_note("in code, dotted PV names need the `$(...)` form");
                }
                ctx.push(d);
            }
            None
        }
    };
    // Kamailio's rule: a PV with a name parser needs a non-empty inner
    // name, one without takes none.
    if let Some(d) = def {
        let has_inner = spec.inner.as_ref().is_some_and(|i| !i.is_empty());
        match (d.inner, has_inner, &spec.inner) {
            (PvInner::Name, false, _) => ctx.push(
                Diagnostic::error(
                    "unknown-pv",
                    format!("`${}` needs an inner name", spec.name),
                )
                .with_label(span, format!("write `${}(name)`", spec.name)),
            ),
            (PvInner::None, _, Some(_)) => ctx.push(
                Diagnostic::error(
                    "unknown-pv",
                    format!("`${}` takes no inner name", spec.name),
                )
                .with_label(span, format!("write `${}`", spec.name)),
            ),
            _ => {}
        }
    }
    for t in &spec.transforms {
        match catalog::transform_class(&t.class) {
            None => ctx.push(
                Diagnostic::error(
                    "unknown-transformation",
                    format!("unknown transformation class `{}`", t.class),
                )
                .with_label(span, format!("in `{{{}.{}}}`", t.class, t.name)),
            ),
            Some(tc) => {
                if !tc.names.is_empty() && !tc.names.contains(&t.name.as_str()) {
                    ctx.push(
                        Diagnostic::error(
                            "unknown-transformation",
                            format!("unknown transformation `{}.{}`", t.class, t.name),
                        )
                        .with_label(span, ""),
                    );
                } else if tc.module != "pv" && !ctx.loaded(tc.module) && !ctx.open_world {
                    ctx.push(
                        Diagnostic::error(
                            "unknown-transformation",
                            format!(
                                "transformation class `{}` needs module `{}`",
                                t.class, tc.module
                            ),
                        )
                        .with_label(span, "")
                        .with_help(format!("add `loadmodule \"{}.so\"`", tc.module)),
                    );
                }
            }
        }
    }
    if spec.name == "sel"
        && let Some(inner) = &spec.inner
    {
        cfg_get(ctx, inner.trim(), span);
    }
    if spec.name == "xavp"
        && let Some(inner) = &spec.inner
        && let Err(e) = pvar::xavp_name(inner)
    {
        ctx.push(
            Diagnostic::error("unknown-pv", format!("malformed `$xavp` name: {}", e.0))
                .with_label(span, "Kamailio refuses to start with this name")
                .with_help("write `$xavp(name)`, `$xavp(name[i])` or `$xavp(name[i]=>key[j])`"),
        );
    }
    if matches!(
        spec.name.as_str(),
        "sht" | "shtex" | "shtinc" | "shtdec" | "shtcn" | "shtcv"
    ) && cfgc_vocab::ShtName::split(spec.inner.as_deref().unwrap_or("")).is_none()
    {
        ctx.push(
            Diagnostic::error(
                "pv-name",
                format!("`${}` is not named `table=>key`", spec.name),
            )
            .with_label(span, "Kamailio refuses to start: wrong format"),
        );
    }
    for n in pvar::nested(spec) {
        check_spec(ctx, &n, span, false);
    }
    def
}

/// Checks the PVs of a PV-format string literal (`"$rU@$rd"`), pointing
/// into the literal where the source text allows.
pub(super) fn format_string(ctx: &mut Ctx<'_>, text: &str, span: Span) {
    let snippet = ctx.sources.snippet(span).to_string();
    if !pvar::lone_dollars(text).is_empty() {
        ctx.push(
            Diagnostic::error("unknown-pv", "a `$` in a format string that starts no PV")
                .with_label(span, "Kamailio refuses to start: wrong format")
                .with_help("write `$$` for a literal `$`"),
        );
    }
    for (range, spec) in pvar::format_pvs(text) {
        // Locate the PV in the source literal (escapes may shift offsets).
        let sub = &text[range.clone()];
        let pv_span = snippet.find(sub).map_or(span, |off| {
            Span::new(
                span.file,
                span.start as usize + off,
                span.start as usize + off + sub.len(),
            )
        });
        match spec {
            Ok(spec) => {
                check_spec(ctx, &spec, pv_span, false);
            }
            Err(e) => ctx.push(
                Diagnostic::error(
                    "unknown-pv",
                    format!("malformed PV in format string: {}", e.0),
                )
                .with_label(pv_span, ""),
            ),
        }
    }
}

/// Checks the PVs of a textops substitution's replacement
/// (`'/re/$var(x)-\1/'`), which Kamailio parses when it loads the cfg
/// (an unknown one refuses the start). A malformed substitution is the
/// lowering's to report.
pub(super) fn subst_pvs(ctx: &mut Ctx<'_>, text: &str, span: Span) {
    let mut specs = Vec::new();
    let _ = cfgc_vocab::subst::parse(text.as_bytes(), &mut |rest| {
        let (spec, len) = pvar::parse_spec(std::str::from_utf8(rest).ok()?).ok()?;
        specs.push(spec);
        Some(len)
    });
    for spec in specs {
        check_spec(ctx, &spec, span, false);
    }
}

/// The constant string value of an argument, if it has one (literals,
/// bare words and constant-folded `+` of strings).
pub(super) fn const_string(a: &Arg) -> Option<String> {
    match a {
        Arg::Expr(e) => const_expr_string(e),
        Arg::Ident(n) => Some(n.text.clone()),
        _ => None,
    }
}

pub(super) fn const_expr_string(e: &Expr) -> Option<String> {
    match e {
        Expr::Str(s, _) => Some(s.clone()),
        Expr::Int(n, _) => Some(n.to_string()),
        Expr::Paren(x, _) => const_expr_string(x),
        Expr::Binary {
            op: BinOp::Add,
            lhs,
            rhs,
            ..
        } => {
            let l = const_expr_string(lhs)?;
            let r = const_expr_string(rhs)?;
            match (lhs.as_ref(), l.parse::<i64>(), r.parse::<i64>()) {
                (Expr::Int(..), Ok(a), Ok(b)) => Some(a.wrapping_add(b).to_string()),
                _ => Some(l + &r),
            }
        }
        _ => None,
    }
}
