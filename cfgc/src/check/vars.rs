//! `var-not-reset`: a `$var(x)` read before anything sets it while handling
//! a message. `$var`s live per worker process and keep their value from the
//! previous message, so such a read sees stale data (or 0 at first).
//!
//! The walk follows execution order from each entry block (every block that
//! is not a `route[NAME]`), inlining `route(NAME)` calls with a constant name
//! (each route once per entry). It is deliberately lenient: an assignment in
//! one branch of an `if` counts as done for what follows, and any `$var(x)`
//! handed to a function (as a PV or inside a string) counts as set, since
//! functions like `pv_printf` or `sql_xquery` write their arguments.

use std::collections::{BTreeMap, BTreeSet};

use crate::diag::Diagnostic;
use crate::source::Span;
use crate::syntax::ast::{self, Arg, BlockKind, CallKind, Expr, Item, KwRhs, Lvalue, Stmt};

use super::pvar;

pub(super) fn check(file: &ast::File, diags: &mut Vec<Diagnostic>) {
    let mut routes: BTreeMap<&str, &[Stmt]> = BTreeMap::new();
    for item in &file.items {
        if let Item::Route(b) = item
            && b.kind == BlockKind::Route
            && let Some(n) = &b.name
        {
            routes.entry(n.text.as_str()).or_insert(&b.body);
        }
    }
    let mut reported: BTreeSet<String> = BTreeSet::new();
    for item in &file.items {
        let Item::Route(b) = item else { continue };
        let named_route =
            b.kind == BlockKind::Route && b.name.as_ref().is_some_and(|n| n.text != "0");
        if named_route {
            continue;
        }
        let mut w = Walker {
            routes: &routes,
            set: BTreeSet::new(),
            visited: BTreeSet::new(),
            found: Vec::new(),
        };
        w.stmts(&b.body);
        for (name, span) in w.found {
            if reported.insert(name.clone()) {
                diags.push(
                    Diagnostic::warning(
                        "var-not-reset",
                        format!("`$var({name})` may be read before it is set"),
                    )
                    .with_label(span, "read here, before any assignment on the way to it")
                    .with_note(format!(
                        "`$var` values belong to the worker process and are not reset between \
                         messages: this reads what the previous message left (0 at first), \
                         starting from `{}`",
                        b.kind.keyword()
                    ))
                    .with_help(format!("set it first (`$var({name}) = 0;`), or use `$avp({name})`, which is per message")),
                );
            }
        }
    }
}

struct Walker<'a> {
    routes: &'a BTreeMap<&'a str, &'a [Stmt]>,
    set: BTreeSet<String>,
    visited: BTreeSet<String>,
    found: Vec<(String, Span)>,
}

/// The name of a `$var(x)` / `$vz(x)` / `$vn(x)` written plainly.
fn var_name(p: &ast::Pv) -> Option<String> {
    let (spec, _) = pvar::parse_spec(&p.text).ok()?;
    if !matches!(spec.name.as_str(), "var" | "vz" | "vn") {
        return None;
    }
    let inner = spec.inner?;
    // A dynamic name (`$var($avp(n))`) cannot be followed.
    if inner.contains('$') {
        return None;
    }
    Some(inner.trim().to_string())
}

impl Walker<'_> {
    fn stmts(&mut self, stmts: &[Stmt]) {
        for s in stmts {
            self.stmt(s);
        }
    }

    fn stmt(&mut self, s: &Stmt) {
        match s {
            Stmt::Call(c) => self.call(c),
            Stmt::If {
                cond, then, else_, ..
            } => {
                self.expr(cond);
                self.stmt(then);
                if let Some(e) = else_ {
                    self.stmt(e);
                }
            }
            Stmt::Switch { expr, cases, .. } => {
                self.expr(expr);
                for c in cases {
                    self.stmts(&c.body);
                }
            }
            Stmt::While { cond, body, .. } => {
                self.expr(cond);
                self.stmt(body);
            }
            Stmt::Block(b, _) => self.stmts(b),
            Stmt::Return { value, .. } => {
                if let Some(v) = value {
                    self.expr(v);
                }
            }
            Stmt::Assign(a) => self.assign(a),
            Stmt::Break(_) | Stmt::Empty(_) | Stmt::Error(_) => {}
        }
    }

    fn assign(&mut self, a: &ast::Assign) {
        let target = match &a.lhs {
            Lvalue::Pv(p) => var_name(p),
            Lvalue::Attr(..) => None,
        };
        // `$var(n) = $var(n) + 1` is the per-process counter idiom: the
        // author means the value to persist.
        if let Some(n) = &target {
            self.set.insert(n.clone());
        }
        self.expr(&a.rhs);
    }

    fn call(&mut self, c: &ast::Call) {
        if c.kind == CallKind::Route {
            let name = match c.args.first() {
                Some(Arg::Ident(n)) => Some(n.text.clone()),
                Some(Arg::Expr(Expr::Str(s, _))) => Some(s.clone()),
                Some(Arg::Expr(Expr::Int(n, _))) => Some(n.to_string()),
                _ => None,
            };
            if let Some(name) = name
                && let Some(body) = self.routes.get(name.as_str()).copied()
                && self.visited.insert(name)
            {
                self.stmts(body);
            }
            return;
        }
        for a in &c.args {
            match a {
                // Handed to a function: it may well be an output.
                Arg::Expr(Expr::Pv(p)) => {
                    if let Some(n) = var_name(p) {
                        self.set.insert(n);
                    }
                }
                Arg::Expr(Expr::Str(s, _)) => {
                    for (_, spec) in pvar::format_pvs(s) {
                        if let Ok(spec) = spec
                            && matches!(spec.name.as_str(), "var" | "vz" | "vn")
                            && let Some(inner) = spec.inner
                        {
                            self.set.insert(inner.trim().to_string());
                        }
                    }
                }
                Arg::Expr(e) => self.expr(e),
                _ => {}
            }
        }
    }

    fn expr(&mut self, e: &Expr) {
        match e {
            Expr::Pv(p) => {
                if let Some(n) = var_name(p)
                    && !self.set.contains(&n)
                {
                    self.found.push((n.clone(), p.span));
                    // Report each variable once per entry.
                    self.set.insert(n);
                }
            }
            Expr::Unary { expr, .. }
            | Expr::Paren(expr, _)
            | Expr::Defined(expr, _)
            | Expr::Strlen(expr, _)
            | Expr::Strempty(expr, _)
            | Expr::Cast(_, expr, _) => self.expr(expr),
            Expr::Binary { lhs, rhs, .. } => {
                self.expr(lhs);
                self.expr(rhs);
            }
            Expr::Selval {
                cond, then, else_, ..
            } => {
                self.expr(cond);
                self.expr(then);
                self.expr(else_);
            }
            Expr::Call(c) => self.call(c),
            Expr::KwCond { rhs, .. } => {
                if let KwRhs::Expr(x) = rhs.as_ref() {
                    self.expr(x);
                }
            }
            Expr::Block(b, _) => self.stmts(b),
            Expr::Assign(a) => self.assign(a),
            Expr::Int(..)
            | Expr::Str(..)
            | Expr::Attr(..)
            | Expr::Select(..)
            | Expr::MyselfCond { .. }
            | Expr::Error(_) => {}
        }
    }
}
