//! An interpreter of cfgc's lowered program ([`cfgc::ir::Program`]) that
//! drives the same runtime and module code as compiled scripts: the
//! baseline that shows what compilation buys (`cfgc-interp`, and the
//! benchmarks).
//!
//! It walks the IR itself (no tree of its own): at load time it checks
//! that every construct can run and compiles the constant regexes; per
//! message it evaluates the tree, calling the same runtime leaves as
//! generated code (`pv::read`, `value::binop`/`compare`, `cond::*`,
//! `actions::run`) and module functions through a table indexed by
//! binding id, generated from the same binding table (see `build.rs`). A
//! node's meaning is the runtime's; what lives here is only the walk:
//! control flow, evaluation order, borrowing.

use std::borrow::Cow;

use cfgc::ir::{
    self, ArgConv, ArgVal, BinOp, Call, CaseLabel, Expr, KwCond, Lvalue, PvRef, Regex, Stmt, Target,
};
use runtime::engine::log::Level;
use runtime::engine::value::{self, OwnedValue};
use runtime::engine::{self, Ctx, Flow, Stop, Value, actions, cond, pv};

pub mod cli;

include!(concat!(env!("OUT_DIR"), "/module_fns.rs"));

/// The most arguments a module function call passes (more are refused by
/// [`Interp::load`]).
pub const MAX_ARGS: usize = 6;

/// A runtime module function behind its argument unpacking.
pub type ModFn = fn(&mut Ctx<'_>, &[ArgV<'_>]) -> i32;

/// An evaluated argument of a module function.
#[derive(Debug, Clone)]
pub enum ArgV<'a> {
    Int(i32),
    Bytes(Cow<'a, [u8]>),
    Level(Level),
    Pvs(&'a [PvRef]),
    /// A compiled constant regex ([`ArgConv::Regex`]).
    Re(&'a runtime::regex::bytes::Regex),
    /// A substitution ([`ArgConv::Subst`]): its compiled regex, its
    /// text and the PVs of its replacement.
    Subst(
        &'a runtime::regex::bytes::Regex,
        &'a [u8],
        &'a [runtime::script::SubstPv],
    ),
}

impl ArgV<'_> {
    pub fn int(&self) -> i32 {
        match self {
            ArgV::Int(n) => *n,
            ArgV::Bytes(b) => Value::str(b).to_int(),
            ArgV::Level(l) => *l as i32,
            ArgV::Pvs(_) | ArgV::Re(_) | ArgV::Subst(..) => 0,
        }
    }

    pub fn bytes(&self) -> &[u8] {
        match self {
            ArgV::Bytes(b) => b,
            ArgV::Subst(_, t, _) => t,
            ArgV::Int(_) | ArgV::Level(_) | ArgV::Pvs(_) | ArgV::Re(_) => b"",
        }
    }

    pub fn level(&self) -> Level {
        match self {
            ArgV::Level(l) => *l,
            ArgV::Int(n) => Level::from_int(*n),
            ArgV::Bytes(b) => Level::from_int(Value::str(b).to_int()),
            ArgV::Pvs(_) | ArgV::Re(_) | ArgV::Subst(..) => Level::from_int(0),
        }
    }

    /// The regex, if this is one (the generated wrapper returns -1 when
    /// not, which `load` makes impossible).
    pub fn re(&self) -> Option<&runtime::regex::bytes::Regex> {
        match self {
            ArgV::Re(r) | ArgV::Subst(r, ..) => Some(r),
            _ => None,
        }
    }

    /// The PVs of a substitution's replacement.
    pub fn subst_pvs(&self) -> &[runtime::script::SubstPv] {
        match self {
            ArgV::Subst(_, _, p) => p,
            _ => &[],
        }
    }

    pub fn pvs(&self) -> &[PvRef] {
        match self {
            ArgV::Pvs(l) => l,
            _ => &[],
        }
    }
}

/// Why a program cannot be interpreted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadError(pub String);

impl std::fmt::Display for LoadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for LoadError {}

/// A loaded program: implements the runtime's [`engine::Script`].
pub struct Interp {
    program: ir::Program,
    regexes: Vec<runtime::regex::bytes::Regex>,
}

/// What a block's execution ended with, short of stopping the script.
enum Ctl {
    Next,
    Break,
    Return(i32),
}

impl Interp {
    /// Checks and keeps a lowered program.
    ///
    /// # Errors
    /// A construct the lowering left unsupported (reported by cfgc first),
    /// or a regex that does not compile.
    pub fn load(program: &ir::Program) -> Result<Self, LoadError> {
        let regexes = program
            .regexes
            .iter()
            .map(|s| {
                runtime::regex::bytes::Regex::new(s)
                    .map_err(|e| LoadError(format!("regex `{s}`: {e}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        for r in &program.routes {
            check_block(&r.body)?;
        }
        Ok(Self {
            program: program.clone(),
            regexes,
        })
    }

    /// The settings of the loaded program (the proxy shell's input).
    pub fn settings(&self) -> &ir::Settings {
        &self.program.settings
    }

    /// Runs one route as a compiled route function does: `last` starts at
    /// 1 and is the route's value unless it returns.
    fn route(&self, id: usize, ctx: &mut Ctx<'_>) -> Flow {
        let mut last = 1;
        let Some(r) = self.program.routes.get(id) else {
            return Ok(1);
        };
        match self.block(&r.body, ctx, &mut last)? {
            Ctl::Next => Ok(last),
            // `break` outside a loop or switch ends the route with 0.
            Ctl::Break => Ok(0),
            Ctl::Return(v) => Ok(v),
        }
    }

    fn block(&self, stmts: &[Stmt], ctx: &mut Ctx<'_>, last: &mut i32) -> Result<Ctl, Stop> {
        for s in stmts {
            match self.stmt(s, ctx, last)? {
                Ctl::Next => {}
                other => return Ok(other),
            }
        }
        Ok(Ctl::Next)
    }

    fn stmt(&self, s: &Stmt, ctx: &mut Ctx<'_>, last: &mut i32) -> Result<Ctl, Stop> {
        match s {
            Stmt::Call(c) => *last = self.call(c, ctx)?,
            Stmt::If { cond, then, else_ } => {
                let t = self.with_value(cond, ctx, |v| v.is_true())?;
                return self.block(if t { then } else { else_ }, ctx, last);
            }
            Stmt::While { cond, body } => {
                // Kamailio aborts a loop after `max_while_loops` (100) rounds.
                let mut n = 0u32;
                while self.with_value(cond, ctx, |v| v.is_nonzero())? {
                    if n >= 100 {
                        *last = -1;
                        break;
                    }
                    n += 1;
                    match self.block(body, ctx, last)? {
                        Ctl::Next => {}
                        Ctl::Break => break,
                        r @ Ctl::Return(_) => return Ok(r),
                    }
                }
            }
            Stmt::Switch { expr, cases, body } => {
                let v = self.owned(expr, ctx)?;
                let start = cases
                    .iter()
                    .find(|(l, _)| match l {
                        Some(CaseLabel::Int(n)) => v.to_int() == *n,
                        Some(CaseLabel::Str(s)) => v.to_bytes().as_ref() == &s[..],
                        Some(CaseLabel::Regex(slot)) => self.regexes[*slot].is_match(&v.to_bytes()),
                        None => false,
                    })
                    .or_else(|| cases.iter().find(|(l, _)| l.is_none()))
                    .map_or(body.len(), |(_, s)| *s);
                match self.block(&body[start..], ctx, last)? {
                    Ctl::Next | Ctl::Break => {}
                    r @ Ctl::Return(_) => return Ok(r),
                }
            }
            Stmt::Assign { lhs, rhs } => {
                // An expression error (division by zero) fails the
                // assignment, as Kamailio's `lval_assign`.
                let failing_pv = matches!(rhs, Expr::Pv(p) if p.can_fail());
                let fallible = failing_pv || rhs.can_fail();
                if fallible {
                    value::take_expr_error();
                }
                let mut v = self.owned(rhs, ctx)?;
                let failed = fallible && value::take_expr_error();
                if failed {
                    if !failing_pv {
                        *last = -1;
                        return Ok(Ctl::Next);
                    }
                    // A PV whose getter failed: Kamailio's
                    // `lval_pvar_assign` assigns `$null`, and is -1.
                    v = Value::Null;
                }
                let rc = match lhs {
                    Lvalue::AvpAll(slot) => pv::assign_avp_all(ctx, *slot, v),
                    Lvalue::Pv(p) => pv::assign(ctx, p, v),
                };
                *last = if failed { -1 } else { rc };
            }
            Stmt::Return(None) => return Ok(Ctl::Return(1)),
            Stmt::Return(Some(e)) => {
                let v = self.with_value(e, ctx, |v| v.to_int())?;
                return engine::rc(v).map(Ctl::Return);
            }
            Stmt::Exit(_) => return Err(Stop::Exit),
            Stmt::Drop => return Err(Stop::Drop),
            Stmt::Break => return Ok(Ctl::Break),
            // Refused by `load`.
            Stmt::Unsupported(_) => return Err(Stop::Exit),
        }
        Ok(Ctl::Next)
    }

    /// Evaluates `e` and hands the value to `f`: borrowing the context
    /// when `e` has no calls, as compiled code does (a walk that meets a
    /// call gives up and `e` is evaluated again with the context mutable;
    /// reads have no side effects, so nothing runs twice).
    fn with_value<T>(
        &self,
        e: &Expr,
        ctx: &mut Ctx<'_>,
        f: impl FnOnce(&Value<'_>) -> T,
    ) -> Result<T, Stop> {
        if let Some(v) = self.eval(e, ctx) {
            return Ok(f(&v));
        }
        let v = self.eval_mut(e, ctx)?;
        Ok(f(&v))
    }

    fn owned(&self, e: &Expr, ctx: &mut Ctx<'_>) -> Result<OwnedValue, Stop> {
        if let Some(v) = self.eval(e, ctx) {
            return Ok(v.into_owned());
        }
        self.eval_mut(e, ctx)
    }

    /// Evaluates an expression with calls: operands into owned values.
    fn eval_mut(&self, e: &Expr, ctx: &mut Ctx<'_>) -> Result<OwnedValue, Stop> {
        Ok(match e {
            Expr::Call(c, raw) => {
                let code = self.call(c, ctx)?;
                Value::Int(if *raw { code } else { i32::from(code > 0) })
            }
            Expr::Not(a) => Value::bool(!self.owned(a, ctx)?.is_nonzero()),
            Expr::BitNot(a) => Value::Int(!self.owned(a, ctx)?.to_int()),
            Expr::Neg(a) => Value::Int(self.owned(a, ctx)?.to_int().wrapping_neg()),
            Expr::Binary(op @ (BinOp::And | BinOp::Or), a, b) => {
                let x = self.owned(a, ctx)?.is_nonzero();
                Value::bool(if *op == BinOp::And {
                    x && self.owned(b, ctx)?.is_nonzero()
                } else {
                    x || self.owned(b, ctx)?.is_nonzero()
                })
            }
            Expr::Binary(op, a, b) => {
                let l = self.owned(a, ctx)?;
                let r = self.owned(b, ctx)?;
                value::binop(*op, &l, &r)
            }
            Expr::Match(a, re) => {
                let l = self.owned(a, ctx)?;
                Value::bool(match re {
                    Regex::Const(slot) => self.regexes[*slot].is_match(&l.to_bytes()),
                    Regex::Dynamic(d) => cond::regex_match(&l, &self.owned(d, ctx)?),
                })
            }
            Expr::Defined(a) => Value::bool(!self.owned(a, ctx)?.is_null()),
            Expr::Strlen(a) => Value::Int(self.owned(a, ctx)?.strlen()),
            Expr::Strempty(a) => Value::bool(self.owned(a, ctx)?.is_empty_str()),
            Expr::Selval(c, a, b) => {
                if self.owned(c, ctx)?.is_true() {
                    self.owned(a, ctx)?
                } else {
                    self.owned(b, ctx)?
                }
            }
            Expr::CastInt(a) => Value::Int(self.owned(a, ctx)?.to_int()),
            Expr::CastStr(a) => Value::string(self.owned(a, ctx)?.to_bytes().into_owned()),
            Expr::Cond(k) => Value::bool(self.cond_mut(k, ctx)?),
            Expr::Int(_) | Expr::Str(_) | Expr::Pv(_) | Expr::Unsupported => {
                self.eval(e, ctx).map_or(Value::Null, Value::into_owned)
            }
        })
    }

    /// Evaluates an expression without calls, borrowing the context;
    /// `None` as soon as it meets a call (see [`Interp::with_value`]).
    fn eval<'c>(&'c self, e: &'c Expr, ctx: &'c Ctx<'_>) -> Option<Value<'c>> {
        Some(match e {
            Expr::Int(n) => Value::Int(*n),
            Expr::Str(s) => Value::str(s),
            Expr::Pv(p) => pv::read(ctx, p),
            Expr::Not(a) => Value::bool(!self.eval(a, ctx)?.is_nonzero()),
            Expr::BitNot(a) => Value::Int(!self.eval(a, ctx)?.to_int()),
            Expr::Neg(a) => Value::Int(self.eval(a, ctx)?.to_int().wrapping_neg()),
            Expr::Binary(BinOp::And, a, b) => {
                Value::bool(self.eval(a, ctx)?.is_nonzero() && self.eval(b, ctx)?.is_nonzero())
            }
            Expr::Binary(BinOp::Or, a, b) => {
                Value::bool(self.eval(a, ctx)?.is_nonzero() || self.eval(b, ctx)?.is_nonzero())
            }
            Expr::Binary(op, a, b) => value::binop(*op, &self.eval(a, ctx)?, &self.eval(b, ctx)?),
            Expr::Match(a, re) => {
                let l = self.eval(a, ctx)?;
                Value::bool(match re {
                    Regex::Const(slot) => self.regexes[*slot].is_match(&l.to_bytes()),
                    Regex::Dynamic(d) => cond::regex_match(&l, &self.eval(d, ctx)?),
                })
            }
            Expr::Defined(a) => match a.as_ref() {
                // `$var` is always defined.
                Expr::Pv(PvRef::Var(_)) => Value::Int(1),
                _ => Value::bool(!self.eval(a, ctx)?.is_null()),
            },
            Expr::Strlen(a) => Value::Int(self.eval(a, ctx)?.strlen()),
            Expr::Strempty(a) => Value::bool(self.eval(a, ctx)?.is_empty_str()),
            Expr::Selval(c, a, b) => {
                if self.eval(c, ctx)?.is_true() {
                    self.eval(a, ctx)?
                } else {
                    self.eval(b, ctx)?
                }
            }
            Expr::CastInt(a) => Value::Int(self.eval(a, ctx)?.to_int()),
            Expr::CastStr(a) => Value::string(self.eval(a, ctx)?.to_bytes().into_owned()),
            Expr::Cond(k) => Value::bool(self.cond(k, ctx)?),
            // A call needs the context mutably: `eval_mut`. Unsupported
            // nodes are refused by `load`.
            Expr::Call(..) | Expr::Unsupported => return None,
        })
    }

    fn regex(&self, re: &Regex, subject: &[u8], ctx: &Ctx<'_>) -> Option<bool> {
        Some(match re {
            Regex::Const(slot) => self.regexes[*slot].is_match(subject),
            Regex::Dynamic(d) => cond::regex_match(&Value::str(subject), &self.eval(d, ctx)?),
        })
    }

    /// A keyword condition; `None` if an operand has a call.
    fn cond(&self, k: &KwCond, ctx: &Ctx<'_>) -> Option<bool> {
        Some(match k {
            KwCond::MethodEq(e, neg) => {
                cond::method_eq(ctx, &self.eval(e, ctx)?.to_bytes()) != *neg
            }
            KwCond::MethodMatch(re) => self.regex(re, cond::method(ctx), ctx)?,
            KwCond::Myself(u, neg) => cond::uri_is_myself(ctx, *u) != *neg,
            KwCond::UriEq(u, e, neg) => {
                cond::uri_eq(ctx, *u, &self.eval(e, ctx)?.to_bytes()) != *neg
            }
            KwCond::UriMatch(u, re) => self.regex(re, cond::uri_text(ctx, *u), ctx)?,
            KwCond::IpNet(of, addr, bits, neg) => cond::ip_in_net(ctx, *of, addr, *bits) != *neg,
            KwCond::IpMyself(of, neg) => cond::ip_is_myself(ctx, *of) != *neg,
            KwCond::IntCmp(of, op, e) => cond::int_cmp(ctx, *of, *op, self.eval(e, ctx)?.to_int()),
            KwCond::ProtoEq(p, neg) => cond::proto_is(ctx, p) != *neg,
        })
    }

    /// A keyword condition whose operand has calls.
    fn cond_mut(&self, k: &KwCond, ctx: &mut Ctx<'_>) -> Result<bool, Stop> {
        Ok(match k {
            KwCond::MethodEq(e, neg) => {
                let r = self.owned(e, ctx)?;
                cond::method_eq(ctx, &r.to_bytes()) != *neg
            }
            KwCond::UriEq(u, e, neg) => {
                let r = self.owned(e, ctx)?;
                cond::uri_eq(ctx, *u, &r.to_bytes()) != *neg
            }
            KwCond::IntCmp(of, op, e) => {
                let r = self.owned(e, ctx)?.to_int();
                cond::int_cmp(ctx, *of, *op, r)
            }
            KwCond::MethodMatch(Regex::Dynamic(d)) => {
                let r = self.owned(d, ctx)?;
                cond::regex_match(&Value::str(cond::method(ctx)), &r)
            }
            KwCond::UriMatch(u, Regex::Dynamic(d)) => {
                let r = self.owned(d, ctx)?;
                cond::regex_match(&Value::str(cond::uri_text(ctx, *u)), &r)
            }
            // The other conditions have no operand that can call.
            other => self.cond(other, ctx).unwrap_or(false),
        })
    }

    /// A call: its code, `$rc` set, a 0 code ending the script.
    fn call(&self, c: &Call, ctx: &mut Ctx<'_>) -> Result<i32, Stop> {
        match &c.target {
            Target::Route(id) => {
                let r = self.route(*id, ctx)?;
                ctx.rc = r;
                engine::rc(r)
            }
            Target::Module(id) => {
                let b = id.binding();
                if b.gate != ir::LogGate::None
                    && let Some(level) = c.log_gate()
                    && !engine::log::enabled(ctx, level)
                {
                    ctx.rc = 1;
                    return Ok(1);
                }
                // Arguments on the stack: no allocation per call (`load`
                // checked every call passes at most `MAX_ARGS`).
                let mut args: [ArgV<'_>; MAX_ARGS] = [const { ArgV::Int(0) }; MAX_ARGS];
                let n = c.args.len().min(MAX_ARGS);
                for (slot, (a, conv)) in args.iter_mut().zip(c.args.iter().zip(b.args)) {
                    *slot = self.arg(a, *conv, ctx)?;
                }
                // `load` checked the id against the table.
                let r = MODULE_FNS
                    .get(usize::from(id.0))
                    .map_or(-1, |f| f(ctx, &args[..n]));
                ctx.rc = r;
                engine::rc(r)
            }
            Target::Core(f) => Ok(actions::run(ctx, f)),
            // Refused by `load`.
            Target::DynRoute => Err(Stop::Exit),
        }
    }

    fn arg<'a>(
        &'a self,
        a: &'a ArgVal,
        conv: ArgConv,
        ctx: &mut Ctx<'_>,
    ) -> Result<ArgV<'a>, Stop> {
        Ok(match a {
            // `load` compiled every slot.
            ArgVal::Regex(slot) => match self.regexes.get(*slot) {
                Some(r) => ArgV::Re(r),
                None => return Err(Stop::Exit),
            },
            ArgVal::Subst(slot, text, pvs) => match self.regexes.get(*slot) {
                Some(r) => ArgV::Subst(r, text, pvs),
                None => return Err(Stop::Exit),
            },
            ArgVal::Int(n) => ArgV::Int(*n),
            ArgVal::Bytes(b) => ArgV::Bytes(Cow::Borrowed(b)),
            ArgVal::Level(l) => ArgV::Level(Level::from_int(*l)),
            ArgVal::PvList(l) => ArgV::Pvs(l),
            ArgVal::Fmt(segs) => match segs.as_slice() {
                [] => ArgV::Bytes(Cow::Borrowed(b"")),
                [ir::FmtSeg::Lit(l)] => ArgV::Bytes(Cow::Borrowed(l)),
                segs => ArgV::Bytes(Cow::Owned(pv::format(ctx, segs))),
            },
            ArgVal::Expr(e) => {
                let v = self.owned(e, ctx)?;
                match conv {
                    ArgConv::Level => ArgV::Level(Level::from_int(v.to_int())),
                    ArgConv::Fmt | ArgConv::Str | ArgConv::VarOrStr | ArgConv::VarOrFmt => {
                        ArgV::Bytes(Cow::Owned(v.to_bytes().into_owned()))
                    }
                    ArgConv::Int
                    | ArgConv::FailureRoute
                    | ArgConv::BranchRoute
                    | ArgConv::OnreplyRoute => ArgV::Int(v.to_int()),
                    // Refused by the lowering (not a constant).
                    ArgConv::PvList
                    | ArgConv::PvOut
                    | ArgConv::AvpOut
                    | ArgConv::PvWrite
                    | ArgConv::PvAny
                    | ArgConv::Regex
                    | ArgConv::RegexNl
                    | ArgConv::Subst => ArgV::Pvs(&[]),
                }
            }
        })
    }
}

impl engine::Script for Interp {
    fn var_count(&self) -> usize {
        self.program.vars.len()
    }

    fn request_route(&self, ctx: &mut Ctx<'_>) -> Flow {
        match self.program.main {
            Some(id) => self.route(id, ctx),
            None => Ok(1),
        }
    }

    fn reply_route(&self, ctx: &mut Ctx<'_>) -> Option<Flow> {
        self.program.core_reply.map(|id| self.route(id, ctx))
    }

    fn failure_route(&self, idx: u32, ctx: &mut Ctx<'_>) -> Flow {
        match self.program.failure_routes.get(idx as usize) {
            Some(&id) => self.route(id, ctx),
            None => Ok(1),
        }
    }

    fn branch_route(&self, idx: u32, ctx: &mut Ctx<'_>) -> Flow {
        match self.program.branch_routes.get(idx as usize) {
            Some(&id) => self.route(id, ctx),
            None => Ok(1),
        }
    }

    fn onreply_route(&self, idx: u32, ctx: &mut Ctx<'_>) -> Flow {
        match self.program.onreply_routes.get(idx as usize) {
            Some(&id) => self.route(id, ctx),
            None => Ok(1),
        }
    }

    fn has_event_route(&self, name: &str) -> bool {
        self.program.event_routes.iter().any(|(n, _)| n == name)
    }

    fn route_named(&self, name: &str, ctx: &mut Ctx<'_>) -> Option<Flow> {
        let id = self
            .program
            .routes
            .iter()
            .position(|r| r.kind == cfgc::syntax::ast::BlockKind::Route && r.name == name)?;
        Some(self.route(id, ctx))
    }

    fn has_route(&self, name: &str) -> bool {
        self.program
            .routes
            .iter()
            .any(|r| r.kind == cfgc::syntax::ast::BlockKind::Route && r.name == name)
    }

    fn event_route(&self, name: &str, ctx: &mut Ctx<'_>) -> Option<Flow> {
        let &(_, id) = self.program.event_routes.iter().find(|(n, _)| n == name)?;
        Some(self.route(id, ctx))
    }
}

// ---- load: what cannot run is refused once ----------------------------

fn unsupported() -> LoadError {
    LoadError("the program has constructs cfgc's runtime does not support yet".into())
}

fn check_block(stmts: &[Stmt]) -> Result<(), LoadError> {
    for s in stmts {
        match s {
            Stmt::Call(c) => check_call(c)?,
            Stmt::If { cond, then, else_ } => {
                check_expr(cond)?;
                check_block(then)?;
                check_block(else_)?;
            }
            Stmt::While { cond, body } => {
                check_expr(cond)?;
                check_block(body)?;
            }
            Stmt::Switch { expr, body, .. } => {
                check_expr(expr)?;
                check_block(body)?;
            }
            Stmt::Assign { rhs, .. } => check_expr(rhs)?,
            Stmt::Return(Some(e)) => check_expr(e)?,
            Stmt::Unsupported(_) => return Err(unsupported()),
            Stmt::Return(None) | Stmt::Exit(_) | Stmt::Drop | Stmt::Break => {}
        }
    }
    Ok(())
}

fn check_call(c: &Call) -> Result<(), LoadError> {
    match &c.target {
        Target::DynRoute => return Err(unsupported()),
        Target::Module(id) if c.args.len() > MAX_ARGS => {
            return Err(LoadError(format!(
                "`{}` takes more than {MAX_ARGS} arguments",
                id.binding().name
            )));
        }
        Target::Module(id) if usize::from(id.0) >= MODULE_FNS.len() => {
            let b = id.binding();
            return Err(LoadError(format!(
                "`{}` ({}) has no interpreter wrapper",
                b.name, b.module
            )));
        }
        _ => {}
    }
    for a in &c.args {
        if let ArgVal::Expr(e) = a {
            check_expr(e)?;
        }
    }
    Ok(())
}

fn check_expr(e: &Expr) -> Result<(), LoadError> {
    match e {
        Expr::Unsupported => Err(unsupported()),
        Expr::Call(c, _) => check_call(c),
        Expr::Int(_) | Expr::Str(_) | Expr::Pv(_) => Ok(()),
        Expr::Not(a)
        | Expr::BitNot(a)
        | Expr::Neg(a)
        | Expr::Defined(a)
        | Expr::Strlen(a)
        | Expr::Strempty(a)
        | Expr::CastInt(a)
        | Expr::CastStr(a) => check_expr(a),
        Expr::Binary(_, a, b) => {
            check_expr(a)?;
            check_expr(b)
        }
        Expr::Match(a, re) => {
            check_expr(a)?;
            match re {
                Regex::Dynamic(d) => check_expr(d),
                Regex::Const(_) => Ok(()),
            }
        }
        Expr::Selval(a, b, c) => {
            check_expr(a)?;
            check_expr(b)?;
            check_expr(c)
        }
        Expr::Cond(k) => match k.as_ref() {
            KwCond::MethodEq(e, _) | KwCond::UriEq(_, e, _) | KwCond::IntCmp(_, _, e) => {
                check_expr(e)
            }
            KwCond::MethodMatch(Regex::Dynamic(e)) | KwCond::UriMatch(_, Regex::Dynamic(e)) => {
                check_expr(e)
            }
            _ => Ok(()),
        },
    }
}

#[cfg(test)]
mod tests;
