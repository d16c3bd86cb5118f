//! The lowered program: what code generation and the interpreter consume.
//! Produced by [`lower`] from a checked syntax tree.
//!
//! After lowering: every route call names a route by index, every function
//! call names its runtime binding, every PV is one of the runtime's
//! accessors with its arguments fixed (var/avp slots numbered, header names
//! resolved), every constant regex is translated, PV-format strings are split
//! into literal and PV segments, `== ""` is `strempty`, `x == $null` is
//! `!defined x`, and constant subexpressions are folded. Constructs the
//! runtime cannot run yet are reported (`not supported yet`) and leave an
//! `Unsupported` node, so one run lists them all.
//!
//! The leaves (PVs, operators, selectors, core actions, settings) are the
//! vocabulary crate's words, which the runtime gives their meaning; this
//! module adds only the tree around them.

mod lower;
#[cfg(test)]
mod tests;

pub use cfgc_vocab::{
    ArgConv, BinOp, Binding, BindingId, CoreFn, CoreValue, FmtSeg, IntOf, IpOf, Listen, LogGate,
    ModParam, ModParamValue, PvId, PvRef, Rewrite, Settings, TrArg, TrKind, TrOp, UriOf,
};

use crate::source::Span;
use crate::syntax::ast::BlockKind;

pub use lower::lower;

/// Index into [`Program::routes`].
pub type RouteId = usize;

#[derive(Clone, Debug, Default)]
pub struct Program {
    /// Listen sockets, aliases, the core parameters the runtime reads, and
    /// every `modparam`.
    pub settings: Settings,
    /// Every lowered route: `route[NAME]` blocks and the entry blocks.
    pub routes: Vec<Route>,
    /// The main request route.
    pub main: Option<RouteId>,
    /// The core reply route.
    pub core_reply: Option<RouteId>,
    /// `failure_route[NAME]` blocks: `t_on_failure("NAME")` passes the
    /// position in this list to the runtime.
    pub failure_routes: Vec<RouteId>,
    /// `branch_route[NAME]` blocks, numbered the same way.
    pub branch_routes: Vec<RouteId>,
    /// Named `onreply_route[NAME]` blocks (tm reply routes).
    pub onreply_routes: Vec<RouteId>,
    /// `event_route[NAME]` blocks the runtime runs
    /// (`cfgc_vocab::EVENT_ROUTES`), by name; the module that raises the
    /// event runs the block.
    pub event_routes: Vec<(String, RouteId)>,
    /// `$var` names, by slot.
    pub vars: Vec<String>,
    /// `$avp` names, by slot.
    pub avps: Vec<String>,
    /// Translated (`regex` crate syntax) constant regexes, by slot.
    pub regexes: Vec<String>,
}

#[derive(Clone, Debug)]
pub struct Route {
    pub name: String,
    pub kind: BlockKind,
    pub body: Vec<Stmt>,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub enum Stmt {
    /// A call as an action: sets `$rc` (module functions, routes) and the
    /// block's last value; a 0 return ends the script.
    Call(Call),
    If {
        cond: Expr,
        then: Vec<Stmt>,
        else_: Vec<Stmt>,
    },
    While {
        cond: Expr,
        body: Vec<Stmt>,
    },
    Switch {
        expr: Expr,
        /// Case labels in order (`None` = default), each with the index of
        /// the first statement of its body in `body`; bodies fall through.
        cases: Vec<(Option<CaseLabel>, usize)>,
        body: Vec<Stmt>,
    },
    Assign {
        lhs: Lvalue,
        rhs: Expr,
    },
    Return(Option<Expr>),
    Exit(Option<Expr>),
    Drop,
    Break,
    /// A construct that cannot be run yet (already reported).
    Unsupported(Span),
}

#[derive(Clone, Debug)]
pub enum CaseLabel {
    Int(i32),
    Str(Vec<u8>),
    /// A regex case (case-sensitive), by regex slot.
    Regex(usize),
}

#[derive(Clone, Debug)]
pub enum Lvalue {
    Pv(PvRef),
    /// `$(avp(x)[*])`: assigning `$null` clears every value.
    AvpAll(usize),
}

#[derive(Clone, Debug)]
pub struct Call {
    pub target: Target,
    pub args: Vec<ArgVal>,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub enum Target {
    Route(RouteId),
    /// `route($expr)`: looked up by name at run time.
    DynRoute,
    Module(BindingId),
    Core(CoreFn),
}

impl Call {
    /// The level a logging call logs at, when known before its message is
    /// formatted (xlog): both back ends test it first.
    pub fn log_gate(&self) -> Option<cfgc_vocab::Level> {
        let Target::Module(id) = &self.target else {
            return None;
        };
        match id.binding().gate {
            LogGate::None => None,
            LogGate::Fixed(l) => Some(l),
            LogGate::FirstArg => match self.args.first() {
                Some(ArgVal::Level(n)) => Some(cfgc_vocab::Level::from_int(*n)),
                _ => None,
            },
        }
    }
}

/// An argument of a call, converted as its binding asks.
#[derive(Clone, Debug)]
pub enum ArgVal {
    Int(i32),
    Bytes(Vec<u8>),
    Fmt(Vec<FmtSeg>),
    /// A log level (`Level` value as an int).
    Level(i32),
    /// Any expression (route names of `route($x)`, dynamic ints).
    Expr(Expr),
    /// Writable PVs ([`ArgConv::PvList`], [`ArgConv::PvOut`], [`ArgConv::AvpOut`], [`ArgConv::PvWrite`]).
    PvList(Vec<PvRef>),
    /// A constant regex ([`ArgConv::Regex`]): its slot in
    /// [`Program::regexes`].
    Regex(usize),
    /// A constant substitution ([`ArgConv::Subst`]): its regex's slot in
    /// [`Program::regexes`], its text as written, and the PVs of its
    /// replacement in order, each with the length of its text.
    Subst(usize, Vec<u8>, Vec<cfgc_vocab::subst::SubstPv>),
}

#[derive(Clone, Debug)]
pub enum Expr {
    Int(i32),
    Str(Vec<u8>),
    Pv(PvRef),
    Not(Box<Expr>),
    BitNot(Box<Expr>),
    Neg(Box<Expr>),
    Binary(BinOp, Box<Expr>, Box<Expr>),
    /// `e =~ re` with a constant regex (slot) or a dynamic one.
    Match(Box<Expr>, Regex),
    /// A call used as a value: 1 if its code is > 0, else 0 (a 0 code ends
    /// the script). With `raw`, the code itself (the whole right side of an
    /// assignment).
    Call(Box<Call>, bool),
    Defined(Box<Expr>),
    Strlen(Box<Expr>),
    Strempty(Box<Expr>),
    Selval(Box<Expr>, Box<Expr>, Box<Expr>),
    CastInt(Box<Expr>),
    CastStr(Box<Expr>),
    /// A keyword condition (`method == "INVITE"`, `uri == myself`).
    Cond(Box<KwCond>),
    /// A construct that cannot be evaluated yet (already reported).
    Unsupported,
}

impl Expr {
    /// Whether evaluating it runs a call (and so needs the message context
    /// mutably: operands are then evaluated into owned values first).
    pub fn has_call(&self) -> bool {
        match self {
            Expr::Call(..) => true,
            Expr::Int(_) | Expr::Str(_) | Expr::Pv(_) | Expr::Unsupported => false,
            Expr::Not(e)
            | Expr::BitNot(e)
            | Expr::Neg(e)
            | Expr::Defined(e)
            | Expr::Strlen(e)
            | Expr::Strempty(e)
            | Expr::CastInt(e)
            | Expr::CastStr(e) => e.has_call(),
            Expr::Binary(_, a, b) => a.has_call() || b.has_call(),
            Expr::Match(a, r) => a.has_call() || matches!(r, Regex::Dynamic(d) if d.has_call()),
            Expr::Selval(a, b, c) => a.has_call() || b.has_call() || c.has_call(),
            Expr::Cond(k) => match k.as_ref() {
                KwCond::MethodEq(e, _) | KwCond::UriEq(_, e, _) | KwCond::IntCmp(_, _, e) => {
                    e.has_call()
                }
                KwCond::MethodMatch(Regex::Dynamic(e)) | KwCond::UriMatch(_, Regex::Dynamic(e)) => {
                    e.has_call()
                }
                _ => false,
            },
        }
    }

    /// Whether evaluating it can fail as Kamailio's expressions fail: a
    /// division or modulo whose divisor is not a non-zero constant. (A PV
    /// whose getter fails reads as `$null` inside an expression; alone on
    /// the right of an assignment it is [`PvRef::can_fail`]'s case.)
    pub fn can_fail(&self) -> bool {
        match self {
            Expr::Binary(BinOp::Div | BinOp::Mod, a, b) => {
                !matches!(b.as_ref(), Expr::Int(n) if *n != 0) || a.can_fail()
            }
            Expr::Int(_) | Expr::Str(_) | Expr::Pv(_) | Expr::Unsupported | Expr::Call(..) => false,
            Expr::Not(e)
            | Expr::BitNot(e)
            | Expr::Neg(e)
            | Expr::Defined(e)
            | Expr::Strlen(e)
            | Expr::Strempty(e)
            | Expr::CastInt(e)
            | Expr::CastStr(e) => e.can_fail(),
            Expr::Binary(_, a, b) => a.can_fail() || b.can_fail(),
            Expr::Match(a, r) => a.can_fail() || matches!(r, Regex::Dynamic(d) if d.can_fail()),
            Expr::Selval(a, b, c) => a.can_fail() || b.can_fail() || c.can_fail(),
            Expr::Cond(k) => match k.as_ref() {
                KwCond::MethodEq(e, _) | KwCond::UriEq(_, e, _) | KwCond::IntCmp(_, _, e) => {
                    e.can_fail()
                }
                KwCond::MethodMatch(Regex::Dynamic(e)) | KwCond::UriMatch(_, Regex::Dynamic(e)) => {
                    e.can_fail()
                }
                _ => false,
            },
        }
    }

    /// Whether its value is a truth value (0 or 1), so a condition can test
    /// it as a `bool`.
    pub fn is_boolean(&self) -> bool {
        match self {
            Expr::Call(_, raw) => !raw,
            Expr::Not(_)
            | Expr::Match(..)
            | Expr::Defined(_)
            | Expr::Strempty(_)
            | Expr::Cond(_) => true,
            Expr::Binary(op, ..) => op.is_boolean(),
            _ => false,
        }
    }
}

#[derive(Clone, Debug)]
pub enum Regex {
    Const(usize),
    Dynamic(Box<Expr>),
}

#[derive(Clone, Debug)]
pub enum KwCond {
    /// `method == x`: case-insensitive.
    MethodEq(Expr, bool),
    MethodMatch(Regex),
    /// `uri`/`from_uri`/`to_uri` `==`/`!=` `myself`.
    Myself(UriOf, bool),
    /// `uri == x`: case-insensitive string compare.
    UriEq(UriOf, Expr, bool),
    UriMatch(UriOf, Regex),
    /// `src_ip`/`dst_ip` against an address or network.
    IpNet(IpOf, String, u8, bool),
    /// `src_ip == myself`.
    IpMyself(IpOf, bool),
    /// `src_port`/`dst_port`/`msg:len`/`af` compared with an int.
    IntCmp(IntOf, BinOp, Expr),
    /// `proto == udp`.
    ProtoEq(String, bool),
}
