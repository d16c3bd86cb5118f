//! The lowered program: what code generation (and, later, the interpreter)
//! consume. Produced by [`lower`] from a checked syntax tree.
//!
//! After lowering: every route call names a route by index, every function
//! call names its runtime binding, every PV is one of the runtime's
//! accessors with its arguments fixed (var/avp slots numbered, header names
//! resolved), every constant regex is translated, PV-format strings are split
//! into literal and PV segments, `== ""` is `strempty`, `x == $null` is
//! `!defined x`, and constant subexpressions are folded. Constructs the
//! runtime cannot run yet are reported (`not supported yet`) and leave an
//! `Unsupported` node, so one run lists them all.

mod lower;

use crate::catalog::runtime::Binding;
use crate::source::Span;
use crate::syntax::ast::BlockKind;

pub use lower::lower;

/// Index into [`Program::routes`].
pub type RouteId = usize;

#[derive(Clone, Debug, Default)]
pub struct Program {
    pub core: CoreSettings,
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
    /// `modparam()` lines, in cfg order (a parameter may repeat).
    pub modparams: Vec<ModParam>,
    /// `$var` names, by slot.
    pub vars: Vec<String>,
    /// `$avp` names, by slot.
    pub avps: Vec<String>,
    /// Translated (`regex` crate syntax) constant regexes, by slot.
    pub regexes: Vec<String>,
    /// acc's `log_extra` (`name=$pv;...`): each name with its PV, in order.
    pub acc_extra: Vec<(String, PvRef)>,
}

/// One `modparam("module", "name", value)`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModParam {
    pub module: String,
    pub name: String,
    pub value: ModParamValue,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ModParamValue {
    Int(i32),
    Str(String),
}

/// Core parameters the runtime uses.
#[derive(Clone, Debug, Default)]
pub struct CoreSettings {
    /// `listen=` sockets as `(proto, host, port)`.
    pub listen: Vec<(String, String, Option<u16>)>,
    pub port: Option<u16>,
    pub children: Option<i32>,
    pub debug: Option<i32>,
    pub log_stderror: Option<bool>,
    pub log_prefix: Option<String>,
    /// `log_facility` (`LOG_LOCAL0`...), `log_name` (the syslog ident).
    pub log_facility: Option<String>,
    pub log_name: Option<String>,
    pub aliases: Vec<(String, Option<u16>)>,
    pub advertised_address: Option<String>,
    pub advertised_port: Option<u16>,
    pub server_header: Option<String>,
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
    Module(&'static Binding),
    Core(CoreFn),
}

/// Core actions the runtime implements, with their arguments resolved.
#[derive(Clone, Debug)]
pub enum CoreFn {
    /// `forward()` / `forward(host[, port])`, with a transport if the
    /// `forward_<proto>` spelling was used.
    Forward {
        host: Option<String>,
        port: Option<u16>,
        proto: Option<&'static str>,
    },
    SetFlag(u32),
    ResetFlag(u32),
    IsFlagSet(u32),
    /// R-URI rewrites (`rewriteuri` ... `prefix`), with their constant argument.
    Rewrite(RewriteKind, Vec<u8>),
    Strip(usize),
    StripTail(usize),
    RevertUri,
    ForceRport,
    /// `set_reply_no_connect()`: replies never open a TCP connection.
    SetReplyNoConnect,
    /// `set_forward_no_connect()`: forwarded requests never open one.
    SetForwardNoConnect,
    Log(i32, Vec<u8>),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RewriteKind {
    Uri,
    Host,
    HostPort,
    User,
    UserPass,
    Port,
    Prefix,
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
}

#[derive(Clone, Debug)]
pub enum FmtSeg {
    Lit(Vec<u8>),
    Pv(PvRef),
}

/// A pseudo-variable the runtime implements.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PvRef {
    Null,
    Ru,
    RUser,
    RDomain,
    RPort,
    OrigRu,
    Du,
    FromUri,
    FromUser,
    FromDomain,
    FromName,
    FromTag,
    ToUri,
    ToUser,
    ToDomain,
    ToName,
    ToTag,
    CallId,
    CSeq,
    Method,
    Status,
    Reason,
    UserAgent,
    SrcIp,
    SrcPort,
    RcvIp,
    RcvPort,
    Proto,
    Body,
    MsgLen,
    Rc,
    MsgFlags,
    /// `$T_branch_idx` (tmx).
    TBranchIdx,
    /// `$T_reply_code` (tmx).
    TReplyCode,
    /// `$T_reply_reason` (tmx).
    TReplyReason,
    Hdr(Vec<u8>),
    Var(usize),
    /// `$avp(x)`, `$(avp(x)[n])`.
    Avp(usize, usize),
    /// `$mt`
    MsgType,
    /// `$rv`
    Version,
    /// `$rz`
    RScheme,
    /// `$ct`
    Contact,
    /// `$hdrc(Name)`
    HdrCount(Vec<u8>),
    /// `$dd`, `$dp`, `$dP`: parts of `$du`.
    DstDomain,
    DstPort,
    DstProto,
    /// `$env(NAME)`
    Env(String),
    /// `$Ts`, `$TS`
    Time,
    /// `$pp`
    Pid,
    /// `$bf`, `$bF`: flags of branch 0.
    BFlags,
    BFlagsHex,
    /// `$br`: the first branch of the destination set; `$bR`: all of them.
    BranchUri,
    Branches,
    /// `$sel(cfg_get.group.var)` of a custom cfg variable declared in the
    /// cfg (constant: the runtime has no RPC to change it).
    CfgInt(i32),
    CfgStr(Vec<u8>),
    /// `$(pv{tr}...)`: a PV read through transformations (read-only).
    Trans(Box<PvRef>, Vec<TrOp>),
}

/// One transformation (`{s.substr,1,$var(n)}`), named as the runtime's
/// `engine::trans::Op` variant that implements it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrOp {
    pub op: &'static str,
    pub args: Vec<TrArg>,
}

/// A transformation parameter: a constant or a PV read when the
/// transformation runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TrArg {
    Int(i32),
    Str(Vec<u8>),
    Pv(PvRef),
}

impl PvRef {
    /// Whether the script may assign to it.
    pub fn writable(&self) -> bool {
        matches!(
            self,
            PvRef::Ru
                | PvRef::RUser
                | PvRef::RDomain
                | PvRef::RPort
                | PvRef::Du
                | PvRef::Var(_)
                | PvRef::Avp(..)
        )
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinOp {
    /// `+` typed at run time by the left operand.
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    BitAnd,
    BitOr,
    BitXor,
    Shl,
    Shr,
    /// `==`/`!=`: typed by the left operand.
    Eq,
    Ne,
    /// `eq`/`ne`: as strings.
    StrEq,
    StrNe,
    /// `ieq`/`ine`, `<`...: as ints.
    IntEq,
    IntNe,
    Lt,
    Gt,
    Le,
    Ge,
    And,
    Or,
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

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UriOf {
    Request,
    From,
    To,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IpOf {
    Src,
    Dst,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IntOf {
    SrcPort,
    DstPort,
    MsgLen,
    Af,
}
