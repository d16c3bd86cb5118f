//! An interpreter of cfgc's lowered program ([`cfgc::ir::Program`]) that
//! drives the same runtime and module code as compiled scripts: the
//! baseline that shows what compilation buys (`cfgc-interp`, and the
//! benchmarks).
//!
//! It is built to be a good interpreter, as Kamailio's is: at load time
//! every route call is resolved to an index, every module function to a
//! function pointer (from the same binding table code generation uses, see
//! `build.rs`), every PV to its accessor, every constant regex compiled and
//! every constant argument fixed; per message it walks the resolved tree.
//! Semantics are those of the generated code (`cfgc/src/codegen/`), which
//! this module mirrors node for node; the test suite runs the same
//! scenarios both ways.

use std::borrow::Cow;

use cfgc::catalog::runtime::ArgConv;
use cfgc::ir::{
    self, ArgVal, BinOp, CaseLabel, CoreFn, FmtSeg, IntOf, IpOf, KwCond, Lvalue, PvRef, Regex,
    RewriteKind, Target, UriOf,
};
use runtime::engine::log::Level;
use runtime::engine::value::{OwnedValue, int};
use runtime::engine::{self, Ctx, Flow, Stop, Value, actions, cond, pv, trans};
use runtime::modules::xlog;
use runtime::transport::Proto;

pub mod cli;
mod settings;

pub use settings::leak_settings;

include!(concat!(env!("OUT_DIR"), "/module_fns.rs"));

/// A runtime module function behind its argument unpacking.
pub type ModFn = fn(&mut Ctx<'_>, &[ArgV<'_>]) -> i32;

/// An evaluated argument of a module function.
#[derive(Debug, Clone)]
pub enum ArgV<'a> {
    Int(i32),
    Bytes(Cow<'a, [u8]>),
    Level(Level),
}

impl ArgV<'_> {
    pub fn int(&self) -> i32 {
        match self {
            ArgV::Int(n) => *n,
            ArgV::Bytes(b) => Value::str(b).to_int(),
            ArgV::Level(l) => *l as i32,
        }
    }

    pub fn bytes(&self) -> &[u8] {
        match self {
            ArgV::Bytes(b) => b,
            ArgV::Int(_) | ArgV::Level(_) => b"",
        }
    }

    pub fn level(&self) -> Level {
        match self {
            ArgV::Level(l) => *l,
            ArgV::Int(n) => Level::from_int(*n),
            ArgV::Bytes(b) => Level::from_int(Value::str(b).to_int()),
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
    routes: Vec<Vec<Node>>,
    main: Option<usize>,
    core_reply: Option<usize>,
    failure: Vec<usize>,
    branch: Vec<usize>,
    onreply: Vec<usize>,
    regexes: Vec<runtime::regex::bytes::Regex>,
    var_count: usize,
    /// acc's `log_extra`.
    acc_extra: Vec<(String, PvRef)>,
}

enum Node {
    Call(CallN),
    If(E, Vec<Node>, Vec<Node>),
    While(E, Vec<Node>),
    Switch {
        expr: E,
        cases: Vec<(Option<CaseLabel>, usize)>,
        body: Vec<Node>,
    },
    Assign(Lvalue, E),
    Return(Option<E>),
    Exit,
    Drop,
    Break,
}

struct CallN {
    target: TargetN,
    args: Vec<ArgN>,
}

enum TargetN {
    Route(usize),
    /// A module function; `gate` is xlog's level known at load time
    /// (tested before the message is formatted, as compiled code does).
    Module {
        f: ModFn,
        gate: Option<Level>,
    },
    Core(CoreFn),
}

enum ArgN {
    Int(i32),
    Bytes(Vec<u8>),
    Fmt(Vec<FmtSeg>),
    Level(Level),
    Expr(E, ArgConv),
}

/// An expression with its calls resolved; `mut_` says whether it contains
/// a call (and so needs the context mutably).
struct E {
    kind: EK,
    mut_: bool,
}

enum EK {
    Int(i32),
    Str(Vec<u8>),
    Pv(PvRef),
    Not(Box<E>),
    BitNot(Box<E>),
    Neg(Box<E>),
    Binary(BinOp, Box<E>, Box<E>),
    Match(Box<E>, ReN),
    Call(Box<CallN>, bool),
    Defined(Box<E>),
    Strlen(Box<E>),
    Strempty(Box<E>),
    Selval(Box<E>, Box<E>, Box<E>),
    CastInt(Box<E>),
    CastStr(Box<E>),
    Cond(Box<CondN>),
}

enum ReN {
    Const(usize),
    Dynamic(Box<E>),
}

enum CondN {
    MethodEq(E, bool),
    MethodMatch(ReN),
    Myself(UriOf, bool),
    UriEq(UriOf, E, bool),
    UriMatch(UriOf, ReN),
    IpNet(IpOf, String, u8, bool),
    IpMyself(IpOf, bool),
    IntCmp(IntOf, BinOp, E),
    ProtoEq(String, bool),
}

/// What a block's execution ended with, short of stopping the script.
enum Ctl {
    Next,
    Break,
    Return(i32),
}

impl Interp {
    /// Resolves a lowered program.
    ///
    /// # Errors
    /// A construct the lowering left unsupported, or a module function
    /// without a runtime wrapper (both reported by cfgc first).
    pub fn load(program: &ir::Program) -> Result<Self, LoadError> {
        let regexes = program
            .regexes
            .iter()
            .map(|s| {
                runtime::regex::bytes::Regex::new(s)
                    .map_err(|e| LoadError(format!("regex `{s}`: {e}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let routes = program
            .routes
            .iter()
            .map(|r| block(&r.body))
            .collect::<Result<Vec<_>, _>>()?;
        if !program.acc_extra.iter().all(|(_, p)| trans_known(p)) {
            return Err(unsupported());
        }
        Ok(Self {
            routes,
            main: program.main,
            core_reply: program.core_reply,
            failure: program.failure_routes.clone(),
            branch: program.branch_routes.clone(),
            onreply: program.onreply_routes.clone(),
            regexes,
            var_count: program.vars.len(),
            acc_extra: program.acc_extra.clone(),
        })
    }

    /// Runs one route as a compiled route function does: `last` starts at
    /// 1 and is the route's value unless it returns.
    fn route(&self, id: usize, ctx: &mut Ctx<'_>) -> Flow {
        let mut last = 1;
        match self.block(&self.routes[id], ctx, &mut last)? {
            Ctl::Next => Ok(last),
            // `break` outside a loop or switch ends the route with 0.
            Ctl::Break => Ok(0),
            Ctl::Return(v) => Ok(v),
        }
    }

    fn block(&self, nodes: &[Node], ctx: &mut Ctx<'_>, last: &mut i32) -> Result<Ctl, Stop> {
        for n in nodes {
            match self.node(n, ctx, last)? {
                Ctl::Next => {}
                other => return Ok(other),
            }
        }
        Ok(Ctl::Next)
    }

    fn node(&self, n: &Node, ctx: &mut Ctx<'_>, last: &mut i32) -> Result<Ctl, Stop> {
        match n {
            Node::Call(c) => *last = self.call(c, ctx)?,
            Node::If(c, then, else_) => {
                let t = self.with_value(c, ctx, |v| v.is_true())?;
                return self.block(if t { then } else { else_ }, ctx, last);
            }
            Node::While(c, body) => {
                // Kamailio aborts a loop after `max_while_loops` (100) rounds.
                let mut n = 0u32;
                while self.with_value(c, ctx, |v| v.is_nonzero())? {
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
            Node::Switch { expr, cases, body } => {
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
            Node::Assign(lhs, rhs) => {
                let v = self.owned(rhs, ctx)?;
                *last = assign(ctx, lhs, v);
            }
            Node::Return(None) => return Ok(Ctl::Return(1)),
            Node::Return(Some(e)) => {
                let v = self.with_value(e, ctx, |v| v.to_int())?;
                return engine::rc(v).map(Ctl::Return);
            }
            Node::Exit => return Err(Stop::Exit),
            Node::Drop => return Err(Stop::Drop),
            Node::Break => return Ok(Ctl::Break),
        }
        Ok(Ctl::Next)
    }

    /// Evaluates `e` and hands the value to `f` (borrowing the context when
    /// `e` has no calls, as compiled code does).
    fn with_value<T>(
        &self,
        e: &E,
        ctx: &mut Ctx<'_>,
        f: impl FnOnce(&Value<'_>) -> T,
    ) -> Result<T, Stop> {
        if e.mut_ {
            let v = self.eval_mut(e, ctx)?;
            Ok(f(&v))
        } else {
            Ok(f(&self.eval(e, ctx)))
        }
    }

    fn owned(&self, e: &E, ctx: &mut Ctx<'_>) -> Result<OwnedValue, Stop> {
        if e.mut_ {
            self.eval_mut(e, ctx)
        } else {
            Ok(self.eval(e, ctx).into_owned())
        }
    }

    /// Evaluates an expression with calls: operands into owned values.
    fn eval_mut(&self, e: &E, ctx: &mut Ctx<'_>) -> Result<OwnedValue, Stop> {
        Ok(match &e.kind {
            EK::Call(c, raw) => {
                let code = self.call(c, ctx)?;
                Value::Int(if *raw { code } else { i32::from(code > 0) })
            }
            EK::Not(a) => Value::Int(i32::from(!self.owned(a, ctx)?.is_nonzero())),
            EK::BitNot(a) => Value::Int(!self.owned(a, ctx)?.to_int()),
            EK::Neg(a) => Value::Int(self.owned(a, ctx)?.to_int().wrapping_neg()),
            EK::Binary(op @ (BinOp::And | BinOp::Or), a, b) => {
                let x = self.owned(a, ctx)?.is_nonzero();
                let r = if *op == BinOp::And {
                    x && self.owned(b, ctx)?.is_nonzero()
                } else {
                    x || self.owned(b, ctx)?.is_nonzero()
                };
                Value::Int(i32::from(r))
            }
            EK::Binary(op, a, b) => {
                let l = self.owned(a, ctx)?;
                let r = self.owned(b, ctx)?;
                binop(*op, &l, &r)
            }
            EK::Match(a, re) => {
                let l = self.owned(a, ctx)?;
                let m = match re {
                    ReN::Const(slot) => self.regexes[*slot].is_match(&l.to_bytes()),
                    ReN::Dynamic(d) => cond::regex_match(&l, &self.owned(d, ctx)?),
                };
                Value::Int(i32::from(m))
            }
            EK::Defined(a) => Value::Int(i32::from(!self.owned(a, ctx)?.is_null())),
            EK::Strlen(a) => Value::Int(self.owned(a, ctx)?.strlen()),
            EK::Strempty(a) => Value::Int(i32::from(self.owned(a, ctx)?.is_empty_str())),
            EK::Selval(c, a, b) => {
                if self.owned(c, ctx)?.is_true() {
                    self.owned(a, ctx)?
                } else {
                    self.owned(b, ctx)?
                }
            }
            EK::CastInt(a) => Value::Int(self.owned(a, ctx)?.to_int()),
            EK::CastStr(a) => Value::Str(Cow::Owned(self.owned(a, ctx)?.to_bytes().into_owned())),
            EK::Cond(k) => Value::Int(i32::from(self.cond_mut(k, ctx)?)),
            EK::Int(_) | EK::Str(_) | EK::Pv(_) => self.eval(e, ctx).into_owned(),
        })
    }

    /// Evaluates an expression without calls, borrowing the context.
    fn eval<'c>(&'c self, e: &'c E, ctx: &'c Ctx<'_>) -> Value<'c> {
        match &e.kind {
            EK::Int(n) => Value::Int(*n),
            EK::Str(s) => Value::str(s),
            EK::Pv(p) => pv_read(p, ctx),
            EK::Not(a) => Value::Int(i32::from(!self.eval(a, ctx).is_nonzero())),
            EK::BitNot(a) => Value::Int(!self.eval(a, ctx).to_int()),
            EK::Neg(a) => Value::Int(self.eval(a, ctx).to_int().wrapping_neg()),
            EK::Binary(BinOp::And, a, b) => Value::Int(i32::from(
                self.eval(a, ctx).is_nonzero() && self.eval(b, ctx).is_nonzero(),
            )),
            EK::Binary(BinOp::Or, a, b) => Value::Int(i32::from(
                self.eval(a, ctx).is_nonzero() || self.eval(b, ctx).is_nonzero(),
            )),
            EK::Binary(op, a, b) => binop(*op, &self.eval(a, ctx), &self.eval(b, ctx)),
            EK::Match(a, re) => {
                let l = self.eval(a, ctx);
                let m = match re {
                    ReN::Const(slot) => self.regexes[*slot].is_match(&l.to_bytes()),
                    ReN::Dynamic(d) => cond::regex_match(&l, &self.eval(d, ctx)),
                };
                Value::Int(i32::from(m))
            }
            EK::Defined(a) => match &a.kind {
                // `$var` is always defined.
                EK::Pv(PvRef::Var(_)) => Value::Int(1),
                _ => Value::Int(i32::from(!self.eval(a, ctx).is_null())),
            },
            EK::Strlen(a) => Value::Int(self.eval(a, ctx).strlen()),
            EK::Strempty(a) => Value::Int(i32::from(self.eval(a, ctx).is_empty_str())),
            EK::Selval(c, a, b) => {
                if self.eval(c, ctx).is_true() {
                    self.eval(a, ctx)
                } else {
                    self.eval(b, ctx)
                }
            }
            EK::CastInt(a) => Value::Int(self.eval(a, ctx).to_int()),
            EK::CastStr(a) => Value::Str(Cow::Owned(self.eval(a, ctx).to_bytes().into_owned())),
            EK::Cond(k) => Value::Int(i32::from(self.cond(k, ctx))),
            EK::Call(..) => Value::Null, // never: calls set `mut_`
        }
    }

    fn regex(&self, re: &ReN, subject: &[u8], ctx: &Ctx<'_>) -> bool {
        match re {
            ReN::Const(slot) => self.regexes[*slot].is_match(subject),
            ReN::Dynamic(d) => cond::regex_match(&Value::str(subject), &self.eval(d, ctx)),
        }
    }

    fn cond(&self, k: &CondN, ctx: &Ctx<'_>) -> bool {
        match k {
            CondN::MethodEq(e, neg) => cond::method_eq(ctx, &self.eval(e, ctx).to_bytes()) != *neg,
            CondN::MethodMatch(re) => self.regex(re, cond::method(ctx), ctx),
            CondN::Myself(u, neg) => cond::uri_is_myself(ctx, uri_of(*u)) != *neg,
            CondN::UriEq(u, e, neg) => {
                cond::uri_eq(ctx, uri_of(*u), &self.eval(e, ctx).to_bytes()) != *neg
            }
            CondN::UriMatch(u, re) => self.regex(re, cond::uri_text(ctx, uri_of(*u)), ctx),
            CondN::IpNet(of, addr, bits, neg) => {
                cond::ip_in_net(ctx, *of == IpOf::Src, addr, *bits) != *neg
            }
            CondN::IpMyself(of, neg) => cond::ip_is_myself(ctx, *of == IpOf::Src) != *neg,
            CondN::IntCmp(of, op, e) => int_cmp(
                cond::int_of(ctx, int_of(*of)),
                *op,
                self.eval(e, ctx).to_int(),
            ),
            CondN::ProtoEq(p, neg) => cond::proto_is(ctx, p) != *neg,
        }
    }

    /// A keyword condition whose operand has calls.
    fn cond_mut(&self, k: &CondN, ctx: &mut Ctx<'_>) -> Result<bool, Stop> {
        Ok(match k {
            CondN::MethodEq(e, neg) => {
                let r = self.owned(e, ctx)?;
                cond::method_eq(ctx, &r.to_bytes()) != *neg
            }
            CondN::UriEq(u, e, neg) => {
                let r = self.owned(e, ctx)?;
                cond::uri_eq(ctx, uri_of(*u), &r.to_bytes()) != *neg
            }
            CondN::IntCmp(of, op, e) => {
                let r = self.owned(e, ctx)?.to_int();
                int_cmp(cond::int_of(ctx, int_of(*of)), *op, r)
            }
            CondN::MethodMatch(ReN::Dynamic(d)) => {
                let r = self.owned(d, ctx)?;
                cond::regex_match(&Value::str(cond::method(ctx)), &r)
            }
            CondN::UriMatch(u, ReN::Dynamic(d)) => {
                let r = self.owned(d, ctx)?;
                cond::regex_match(&Value::str(cond::uri_text(ctx, uri_of(*u))), &r)
            }
            other => self.cond(other, ctx),
        })
    }

    /// A call: its code, `$rc` set, a 0 code ending the script.
    fn call(&self, c: &CallN, ctx: &mut Ctx<'_>) -> Result<i32, Stop> {
        match &c.target {
            TargetN::Route(id) => {
                let r = self.route(*id, ctx)?;
                ctx.rc = r;
                engine::rc(r)
            }
            TargetN::Module { f, gate } => {
                if let Some(level) = gate
                    && !xlog::enabled(ctx, *level)
                {
                    ctx.rc = 1;
                    return Ok(1);
                }
                let mut args = Vec::with_capacity(c.args.len());
                for a in &c.args {
                    args.push(self.arg(a, ctx)?);
                }
                let r = f(ctx, &args);
                ctx.rc = r;
                engine::rc(r)
            }
            TargetN::Core(f) => Ok(core(f, ctx)),
        }
    }

    fn arg<'a>(&'a self, a: &'a ArgN, ctx: &mut Ctx<'_>) -> Result<ArgV<'a>, Stop> {
        Ok(match a {
            ArgN::Int(n) => ArgV::Int(*n),
            ArgN::Bytes(b) => ArgV::Bytes(Cow::Borrowed(b)),
            ArgN::Level(l) => ArgV::Level(*l),
            ArgN::Fmt(segs) => ArgV::Bytes(Cow::Owned(format(segs, ctx))),
            ArgN::Expr(e, conv) => {
                let v = self.owned(e, ctx)?;
                match conv {
                    ArgConv::Level => ArgV::Level(Level::from_int(v.to_int())),
                    ArgConv::Fmt | ArgConv::Str => {
                        ArgV::Bytes(Cow::Owned(v.to_bytes().into_owned()))
                    }
                    ArgConv::Int
                    | ArgConv::FailureRoute
                    | ArgConv::BranchRoute
                    | ArgConv::OnreplyRoute => ArgV::Int(v.to_int()),
                }
            }
        })
    }
}

impl engine::Script for Interp {
    fn var_count(&self) -> usize {
        self.var_count
    }

    fn request_route(&self, ctx: &mut Ctx<'_>) -> Flow {
        match self.main {
            Some(id) => self.route(id, ctx),
            None => Ok(1),
        }
    }

    fn reply_route(&self, ctx: &mut Ctx<'_>) -> Option<Flow> {
        self.core_reply.map(|id| self.route(id, ctx))
    }

    fn failure_route(&self, idx: u32, ctx: &mut Ctx<'_>) -> Flow {
        match self.failure.get(idx as usize) {
            Some(&id) => self.route(id, ctx),
            None => Ok(1),
        }
    }

    fn branch_route(&self, idx: u32, ctx: &mut Ctx<'_>) -> Flow {
        match self.branch.get(idx as usize) {
            Some(&id) => self.route(id, ctx),
            None => Ok(1),
        }
    }

    fn onreply_route(&self, idx: u32, ctx: &mut Ctx<'_>) -> Flow {
        match self.onreply.get(idx as usize) {
            Some(&id) => self.route(id, ctx),
            None => Ok(1),
        }
    }

    fn acc_extra(&self, ctx: &Ctx<'_>, out: &mut Vec<u8>) {
        for (name, pv) in &self.acc_extra {
            runtime::modules::acc::push_extra(out, name, &pv_read(pv, ctx));
        }
    }
}

// ---- helpers shared by both evaluation modes -------------------------------

fn binop(op: BinOp, l: &Value<'_>, r: &Value<'_>) -> OwnedValue {
    let ints = || (l.to_int(), r.to_int());
    match op {
        BinOp::Add => l.add(r),
        BinOp::Sub => Value::Int(int::sub(ints().0, ints().1)),
        BinOp::Mul => Value::Int(int::mul(ints().0, ints().1)),
        BinOp::Div => int::div(ints().0, ints().1).map_or(Value::Null, Value::Int),
        BinOp::Mod => int::rem(ints().0, ints().1).map_or(Value::Null, Value::Int),
        BinOp::BitAnd => Value::Int(l.to_int() & r.to_int()),
        BinOp::BitOr => Value::Int(l.to_int() | r.to_int()),
        BinOp::BitXor => Value::Int(l.to_int() ^ r.to_int()),
        BinOp::Shl => Value::Int(int::shl(l.to_int(), r.to_int())),
        BinOp::Shr => Value::Int(int::shr(l.to_int(), r.to_int())),
        BinOp::Eq => Value::Int(i32::from(l.equals(r))),
        BinOp::Ne => Value::Int(i32::from(!l.equals(r))),
        BinOp::StrEq => Value::Int(i32::from(l.to_bytes() == r.to_bytes())),
        BinOp::StrNe => Value::Int(i32::from(l.to_bytes() != r.to_bytes())),
        BinOp::IntEq => Value::Int(i32::from(l.to_int() == r.to_int())),
        BinOp::IntNe => Value::Int(i32::from(l.to_int() != r.to_int())),
        BinOp::Lt => Value::Int(i32::from(l.to_int() < r.to_int())),
        BinOp::Gt => Value::Int(i32::from(l.to_int() > r.to_int())),
        BinOp::Le => Value::Int(i32::from(l.to_int() <= r.to_int())),
        BinOp::Ge => Value::Int(i32::from(l.to_int() >= r.to_int())),
        BinOp::And => Value::Int(i32::from(l.is_nonzero() && r.is_nonzero())),
        BinOp::Or => Value::Int(i32::from(l.is_nonzero() || r.is_nonzero())),
    }
}

fn int_cmp(l: i32, op: BinOp, r: i32) -> bool {
    match op {
        BinOp::IntNe => l != r,
        BinOp::Lt => l < r,
        BinOp::Gt => l > r,
        BinOp::Le => l <= r,
        BinOp::Ge => l >= r,
        _ => l == r,
    }
}

fn uri_of(u: UriOf) -> cond::UriOf {
    match u {
        UriOf::Request => cond::UriOf::Request,
        UriOf::From => cond::UriOf::From,
        UriOf::To => cond::UriOf::To,
    }
}

fn int_of(i: IntOf) -> cond::IntOf {
    match i {
        IntOf::SrcPort => cond::IntOf::SrcPort,
        IntOf::DstPort => cond::IntOf::DstPort,
        IntOf::MsgLen => cond::IntOf::MsgLen,
        IntOf::Af => cond::IntOf::Af,
    }
}

fn assign(ctx: &mut Ctx<'_>, lhs: &Lvalue, v: OwnedValue) -> i32 {
    match lhs {
        Lvalue::AvpAll(slot) => {
            pv::clear_avp(ctx, *slot);
            if !v.is_null() {
                pv::set_avp(ctx, *slot, v);
            }
            1
        }
        Lvalue::Pv(p) => match p {
            PvRef::Var(slot) => {
                pv::set_var(ctx, *slot, v);
                1
            }
            PvRef::Avp(slot, _) => {
                pv::set_avp(ctx, *slot, v);
                1
            }
            PvRef::Ru => pv::set_ru(ctx, &v),
            PvRef::RUser => pv::set_r_user(ctx, &v),
            PvRef::RDomain => pv::set_r_domain(ctx, &v),
            PvRef::RPort => pv::set_r_port(ctx, &v),
            PvRef::Du => pv::set_du(ctx, &v),
            // Read-only PVs are rejected by cfgc.
            _ => -1,
        },
    }
}

/// A PV read: the same accessors compiled code calls.
fn pv_read<'c>(p: &'c PvRef, ctx: &'c Ctx<'_>) -> Value<'c> {
    match p {
        PvRef::Null => Value::Null,
        PvRef::Ru => pv::ru(ctx),
        PvRef::RUser => pv::r_user(ctx),
        PvRef::RDomain => pv::r_domain(ctx),
        PvRef::RPort => pv::r_port(ctx),
        PvRef::OrigRu => pv::orig_ru(ctx),
        PvRef::Du => pv::du(ctx),
        PvRef::FromUri => pv::from_uri(ctx),
        PvRef::FromUser => pv::from_user(ctx),
        PvRef::FromDomain => pv::from_domain(ctx),
        PvRef::FromName => pv::from_name(ctx),
        PvRef::FromTag => pv::from_tag(ctx),
        PvRef::ToUri => pv::to_uri(ctx),
        PvRef::ToUser => pv::to_user(ctx),
        PvRef::ToDomain => pv::to_domain(ctx),
        PvRef::ToName => pv::to_name(ctx),
        PvRef::ToTag => pv::to_tag(ctx),
        PvRef::CallId => pv::call_id(ctx),
        PvRef::CSeq => pv::cseq_num(ctx),
        PvRef::Method => pv::method(ctx),
        PvRef::Status => pv::status(ctx),
        PvRef::Reason => pv::reason(ctx),
        PvRef::UserAgent => pv::user_agent(ctx),
        PvRef::SrcIp => pv::src_ip(ctx),
        PvRef::SrcPort => pv::src_port(ctx),
        PvRef::RcvIp => pv::rcv_ip(ctx),
        PvRef::RcvPort => pv::rcv_port(ctx),
        PvRef::Proto => pv::proto(ctx),
        PvRef::Body => pv::body(ctx),
        PvRef::MsgLen => pv::msg_len(ctx),
        PvRef::Rc => pv::rc(ctx),
        PvRef::MsgFlags => pv::msg_flags(ctx),
        PvRef::Hdr(name) => pv::hdr(ctx, name),
        PvRef::Var(slot) => pv::var(ctx, *slot),
        PvRef::Avp(slot, nth) => pv::avp(ctx, *slot, *nth),
        PvRef::MsgType => pv::msg_type(ctx),
        PvRef::Version => pv::version(ctx),
        PvRef::RScheme => pv::r_scheme(ctx),
        PvRef::Contact => pv::contact(ctx),
        PvRef::HdrCount(name) => pv::hdr_count(ctx, name),
        PvRef::DstDomain => pv::dst_domain(ctx),
        PvRef::DstPort => pv::dst_port(ctx),
        PvRef::DstProto => pv::dst_proto(ctx),
        PvRef::Env(name) => pv::env(name),
        PvRef::Time => pv::time_s(ctx),
        PvRef::Pid => pv::pid(ctx),
        PvRef::BFlags => pv::bflags(ctx),
        PvRef::BFlagsHex => pv::bflags_hex(ctx),
        PvRef::BranchUri => pv::branch_uri(ctx),
        PvRef::Branches => pv::branches(ctx),
        PvRef::TBranchIdx => pv::t_branch_idx(ctx),
        PvRef::TReplyCode => pv::t_reply_code(ctx),
        PvRef::TReplyReason => pv::t_reply_reason(ctx),
        PvRef::CfgInt(n) => Value::Int(*n),
        PvRef::CfgStr(v) => Value::str(v),
        PvRef::Trans(inner, ops) => match trans_ops(ops, ctx) {
            Some(ops) => trans::eval(pv_read(inner, ctx), &ops),
            None => Value::Null,
        },
    }
}

/// A transformation chain with its arguments evaluated (PV arguments
/// read now). `None` only if cfgc emitted an operation the runtime does
/// not know, which `Interp::load` rules out.
fn trans_ops<'c>(ops: &'c [ir::TrOp], ctx: &'c Ctx<'_>) -> Option<Vec<trans::Op<'c>>> {
    ops.iter()
        .map(|o| {
            let args = o
                .args
                .iter()
                .map(|a| match a {
                    ir::TrArg::Int(n) => trans::Arg::Int(*n),
                    ir::TrArg::Str(s) => trans::Arg::Str(s),
                    ir::TrArg::Pv(p) => trans::Arg::Pv(pv_read(p, ctx)),
                })
                .collect();
            trans::builder(o.op)?(args)
        })
        .collect()
}

/// Whether every transformation of `p` is one the runtime knows.
fn trans_known(p: &PvRef) -> bool {
    match p {
        PvRef::Trans(inner, ops) => {
            trans_known(inner)
                && ops.iter().all(|o| {
                    trans::builder(o.op).is_some()
                        && o.args.iter().all(|a| match a {
                            ir::TrArg::Pv(p) => trans_known(p),
                            _ => true,
                        })
                })
        }
        _ => true,
    }
}

/// A PV-format string, built as compiled code builds it.
fn format(segs: &[FmtSeg], ctx: &Ctx<'_>) -> Vec<u8> {
    let mut buf = Vec::new();
    for s in segs {
        match s {
            FmtSeg::Lit(l) => buf.extend_from_slice(l),
            // A failing transformation prints nothing (`$null` prints
            // `<null>`), as compiled code does.
            FmtSeg::Pv(PvRef::Trans(inner, ops)) => {
                if let Some(ops) = trans_ops(ops, ctx) {
                    trans::push(&mut buf, pv_read(inner, ctx), &ops);
                }
            }
            FmtSeg::Pv(p) => xlog::push_value(&mut buf, &pv_read(p, ctx)),
        }
    }
    buf
}

fn core(f: &CoreFn, ctx: &mut Ctx<'_>) -> i32 {
    match f {
        CoreFn::Forward { host, port, proto } => {
            let proto = proto.map(|p| if p == "tcp" { Proto::Tcp } else { Proto::Udp });
            let target = host.as_deref().map(|h| (h, *port, proto));
            engine::forward::forward(ctx, target)
        }
        CoreFn::SetFlag(n) => ctx.setflag(*n),
        CoreFn::ResetFlag(n) => ctx.resetflag(*n),
        CoreFn::IsFlagSet(n) => ctx.isflagset(*n),
        CoreFn::Rewrite(kind, arg) => {
            let k = match kind {
                RewriteKind::Uri => actions::Rewrite::Uri,
                RewriteKind::Host => actions::Rewrite::Host,
                RewriteKind::HostPort => actions::Rewrite::HostPort,
                RewriteKind::User => actions::Rewrite::User,
                RewriteKind::UserPass => actions::Rewrite::UserPass,
                RewriteKind::Port => actions::Rewrite::Port,
                RewriteKind::Prefix => actions::Rewrite::Prefix,
            };
            actions::rewrite(ctx, k, arg)
        }
        CoreFn::Strip(n) => actions::strip(ctx, *n),
        CoreFn::StripTail(n) => actions::strip_tail(ctx, *n),
        CoreFn::RevertUri => actions::revert_uri(ctx),
        CoreFn::ForceRport => actions::force_rport(ctx),
        CoreFn::SetReplyNoConnect => actions::set_reply_no_connect(ctx),
        CoreFn::SetForwardNoConnect => actions::set_forward_no_connect(ctx),
        CoreFn::Log(level, msg) => xlog::core_log(ctx, *level, msg),
    }
}

// ---- load: IR → resolved tree ---------------------------------------------

fn block(stmts: &[ir::Stmt]) -> Result<Vec<Node>, LoadError> {
    stmts.iter().map(stmt).collect()
}

fn stmt(s: &ir::Stmt) -> Result<Node, LoadError> {
    Ok(match s {
        ir::Stmt::Call(c) => Node::Call(call(c)?),
        ir::Stmt::If { cond, then, else_ } => Node::If(expr(cond)?, block(then)?, block(else_)?),
        ir::Stmt::While { cond, body } => Node::While(expr(cond)?, block(body)?),
        ir::Stmt::Switch {
            expr: e,
            cases,
            body,
        } => Node::Switch {
            expr: expr(e)?,
            cases: cases.clone(),
            body: block(body)?,
        },
        ir::Stmt::Assign { lhs, rhs } => Node::Assign(lhs.clone(), expr(rhs)?),
        ir::Stmt::Return(e) => Node::Return(e.as_ref().map(expr).transpose()?),
        ir::Stmt::Exit(_) => Node::Exit,
        ir::Stmt::Drop => Node::Drop,
        ir::Stmt::Break => Node::Break,
        ir::Stmt::Unsupported(_) => return Err(unsupported()),
    })
}

fn unsupported() -> LoadError {
    LoadError("the program has constructs cfgc's runtime does not support yet".into())
}

fn call(c: &ir::Call) -> Result<CallN, LoadError> {
    let target = match &c.target {
        Target::Route(id) => TargetN::Route(*id),
        Target::DynRoute => return Err(unsupported()),
        Target::Core(f) => TargetN::Core(f.clone()),
        Target::Module(b) => {
            let f = module_fn(b.module, b.name, b.args.len()).ok_or_else(|| {
                LoadError(format!(
                    "`{}` ({}) has no interpreter wrapper",
                    b.name, b.module
                ))
            })?;
            TargetN::Module {
                f,
                gate: xlog_gate(b, &c.args),
            }
        }
    };
    let args = match &c.target {
        Target::Module(b) => c
            .args
            .iter()
            .zip(b.args)
            .map(|(a, conv)| arg(a, *conv))
            .collect::<Result<Vec<_>, _>>()?,
        _ => Vec::new(),
    };
    Ok(CallN { target, args })
}

/// xlog's level when known at load time (compiled code tests it before
/// formatting; so does the interpreter).
fn xlog_gate(b: &cfgc::catalog::runtime::Binding, args: &[ArgVal]) -> Option<Level> {
    if b.module != "xlog" {
        return None;
    }
    if !b.fixed.is_empty() {
        // `::runtime::engine::log::Level::Info`: the variant names are
        // level names `Level::from_name` reads.
        return Level::from_name(b.fixed.rsplit("::").next()?);
    }
    match (b.path, args.first()) {
        ("modules::xlog::xlog_err", _) => Some(Level::Err),
        ("modules::xlog::xlog", Some(ArgVal::Level(n))) => Some(Level::from_int(*n)),
        _ => None,
    }
}

fn arg(a: &ArgVal, conv: ArgConv) -> Result<ArgN, LoadError> {
    Ok(match a {
        ArgVal::Int(n) => ArgN::Int(*n),
        ArgVal::Bytes(b) => ArgN::Bytes(b.clone()),
        ArgVal::Fmt(segs) => match segs.as_slice() {
            [] => ArgN::Bytes(Vec::new()),
            [FmtSeg::Lit(l)] => ArgN::Bytes(l.clone()),
            _ => ArgN::Fmt(fmt(segs)?),
        },
        ArgVal::Level(n) => ArgN::Level(Level::from_int(*n)),
        ArgVal::Expr(e) => ArgN::Expr(expr(e)?, conv),
    })
}

/// A PV whose transformations the runtime knows.
fn checked_pv(p: &PvRef) -> Result<PvRef, LoadError> {
    if trans_known(p) {
        Ok(p.clone())
    } else {
        Err(LoadError(format!(
            "a transformation of {p:?} is unknown to the runtime"
        )))
    }
}

fn fmt(segs: &[FmtSeg]) -> Result<Vec<FmtSeg>, LoadError> {
    for s in segs {
        if let FmtSeg::Pv(p) = s {
            checked_pv(p)?;
        }
    }
    Ok(segs.to_vec())
}

fn re(r: &Regex) -> Result<ReN, LoadError> {
    Ok(match r {
        Regex::Const(slot) => ReN::Const(*slot),
        Regex::Dynamic(e) => ReN::Dynamic(Box::new(expr(e)?)),
    })
}

fn expr(e: &ir::Expr) -> Result<E, LoadError> {
    use ir::Expr as X;
    let b = |e: &X| expr(e).map(Box::new);
    let kind = match e {
        X::Int(n) => EK::Int(*n),
        X::Str(s) => EK::Str(s.clone()),
        X::Pv(p) => EK::Pv(checked_pv(p)?),
        X::Not(a) => EK::Not(b(a)?),
        X::BitNot(a) => EK::BitNot(b(a)?),
        X::Neg(a) => EK::Neg(b(a)?),
        X::Binary(op, l, r) => EK::Binary(*op, b(l)?, b(r)?),
        X::Match(a, r) => EK::Match(b(a)?, re(r)?),
        X::Call(c, raw) => EK::Call(Box::new(call(c)?), *raw),
        X::Defined(a) => EK::Defined(b(a)?),
        X::Strlen(a) => EK::Strlen(b(a)?),
        X::Strempty(a) => EK::Strempty(b(a)?),
        X::Selval(c, x, y) => EK::Selval(b(c)?, b(x)?, b(y)?),
        X::CastInt(a) => EK::CastInt(b(a)?),
        X::CastStr(a) => EK::CastStr(b(a)?),
        X::Cond(k) => EK::Cond(Box::new(match k.as_ref() {
            KwCond::MethodEq(e, n) => CondN::MethodEq(expr(e)?, *n),
            KwCond::MethodMatch(r) => CondN::MethodMatch(re(r)?),
            KwCond::Myself(u, n) => CondN::Myself(*u, *n),
            KwCond::UriEq(u, e, n) => CondN::UriEq(*u, expr(e)?, *n),
            KwCond::UriMatch(u, r) => CondN::UriMatch(*u, re(r)?),
            KwCond::IpNet(of, a, bits, n) => CondN::IpNet(*of, a.clone(), *bits, *n),
            KwCond::IpMyself(of, n) => CondN::IpMyself(*of, *n),
            KwCond::IntCmp(of, op, e) => CondN::IntCmp(*of, *op, expr(e)?),
            KwCond::ProtoEq(p, n) => CondN::ProtoEq(p.clone(), *n),
        })),
        X::Unsupported => return Err(unsupported()),
    };
    let mut_ = has_call(&kind);
    Ok(E { kind, mut_ })
}

fn has_call(k: &EK) -> bool {
    match k {
        EK::Call(..) => true,
        EK::Int(_) | EK::Str(_) | EK::Pv(_) => false,
        EK::Not(a)
        | EK::BitNot(a)
        | EK::Neg(a)
        | EK::Defined(a)
        | EK::Strlen(a)
        | EK::Strempty(a)
        | EK::CastInt(a)
        | EK::CastStr(a) => a.mut_,
        EK::Binary(_, a, b) => a.mut_ || b.mut_,
        EK::Match(a, r) => a.mut_ || matches!(r, ReN::Dynamic(d) if d.mut_),
        EK::Selval(a, b, c) => a.mut_ || b.mut_ || c.mut_,
        EK::Cond(k) => match k.as_ref() {
            CondN::MethodEq(e, _) | CondN::UriEq(_, e, _) | CondN::IntCmp(_, _, e) => e.mut_,
            CondN::MethodMatch(ReN::Dynamic(e)) | CondN::UriMatch(_, ReN::Dynamic(e)) => e.mut_,
            _ => false,
        },
    }
}

#[cfg(test)]
mod tests;
