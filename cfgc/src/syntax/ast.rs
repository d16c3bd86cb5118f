//! The syntax tree of a kamailio.cfg, as written (after preprocessing).
//!
//! The tree keeps the shape of the source: parentheses, keyword condition
//! elements and core-action spellings are preserved so that the check pass can
//! report Kamailio's traps precisely. Resolution (which route a name means,
//! which module a function belongs to) happens later, in `check`.

use crate::source::Span;

pub use super::token::Compat;

#[derive(Clone, Debug, PartialEq, Default)]
pub struct File {
    pub items: Vec<Item>,
}

/// A name with the span it was written at.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Name {
    pub text: String,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Item {
    /// `name = value` for a core parameter.
    Param(ParamAssign),
    /// `listen = ...` or `alias = ...`.
    Listen(Listen),
    /// `loadmodule "path"` / `loadmodulex "path"`.
    LoadModule {
        path: Name,
        /// `loadmodulex`: PVs in the path are evaluated.
        x: bool,
        span: Span,
    },
    /// `loadpath "dir"` / `mpath = "dir"`.
    LoadPath { path: Name, span: Span },
    /// `modparam("module|regex", "param", value)` / `modparamx(...)`.
    ModParam(ModParam),
    /// `cfgengine "lua"`.
    CfgEngine { name: Name, span: Span },
    /// `flags a, b:3, "c"` (also `bool`).
    Flags { flags: Vec<FlagDecl>, span: Span },
    /// `avpflags a, b`.
    AvpFlags { flags: Vec<Name>, span: Span },
    /// `group.var = value [desc "text"]`, `group[N].var = value`.
    CfgVar(CfgVar),
    /// A routing block.
    Route(RouteBlock),
    /// Something the parser could not make sense of (already reported).
    Error(Span),
}

#[derive(Clone, Debug, PartialEq)]
pub struct ParamAssign {
    /// The canonical name of the core parameter.
    pub name: &'static str,
    pub name_span: Span,
    pub value: ParamValue,
    pub span: Span,
}

/// The value of a core parameter. Which kinds a parameter accepts is checked
/// against the catalog after parsing.
#[derive(Clone, Debug, PartialEq)]
pub enum ParamValue {
    /// A number, possibly negative (`-1`), or a yes/no-style word.
    Int(i64, Span),
    /// A quoted string.
    Str(String, Span),
    /// A bare identifier (`LOG_LOCAL0`).
    Ident(String, Span),
    /// An IPv4 or IPv6 address, or a dotted/dashed host name (`1.2.3.4`,
    /// `my-host.example.com`).
    Host(Host),
    /// A transport word or `*` (`udp_mtu_try_proto = tcp`).
    Proto(String, Span),
}

impl ParamValue {
    pub fn span(&self) -> Span {
        match self {
            ParamValue::Int(_, s)
            | ParamValue::Str(_, s)
            | ParamValue::Ident(_, s)
            | ParamValue::Proto(_, s) => *s,
            ParamValue::Host(h) => h.span,
        }
    }
}

/// A host: an IP address or a host name or interface name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Host {
    pub kind: HostKind,
    /// The text as the address reads (`10.0.0.1`, `::1`, `eth0`, `a-b.example.com`).
    pub text: String,
    pub span: Span,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HostKind {
    Ipv4,
    Ipv6,
    /// A name made of identifiers, numbers, `.` and `-`.
    Name,
    /// A quoted string.
    Str,
}

/// `[proto:]addr[:port]`, as in listen, alias and force_send_socket.
#[derive(Clone, Debug, PartialEq)]
pub struct SockSpec {
    /// `udp`, `tcp`, `tls`, `sctp`, or `*`.
    pub proto: Option<String>,
    /// One address, or several for SCTP multihoming (`(a, b)`).
    pub addrs: Vec<Host>,
    /// A port number or `*` (None).
    pub port: Option<PortSpec>,
    pub span: Span,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PortSpec {
    Number(i64),
    Any,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ListenKind {
    Listen,
    Alias,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Listen {
    pub kind: ListenKind,
    pub sockets: Vec<SockSpec>,
    /// `advertise host[:port]`.
    pub advertise: Option<(Host, Option<i64>)>,
    /// `name "sockname"`.
    pub name: Option<Name>,
    pub virtual_: bool,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ModParam {
    pub module: Name,
    pub param: Name,
    pub value: ModParamValue,
    /// `modparamx`.
    pub x: bool,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum ModParamValue {
    Str(String, Span),
    Int(i64, Span),
    /// Only with `modparamx`.
    Pv(Pv),
}

impl ModParamValue {
    pub fn span(&self) -> Span {
        match self {
            ModParamValue::Str(_, s) | ModParamValue::Int(_, s) => *s,
            ModParamValue::Pv(p) => p.span,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct FlagDecl {
    pub name: Name,
    pub number: Option<i64>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct CfgVar {
    pub group: Name,
    pub instance: Option<i64>,
    pub var: Name,
    pub value: CfgVarValue,
    pub desc: Option<String>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum CfgVarValue {
    Int(i64),
    Str(String),
}

/// The keyword that opened a routing block, as written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BlockKind {
    /// `route` (unnamed or `route[0]` is the main request route).
    Route,
    RequestRoute,
    FailureRoute,
    BranchRoute,
    /// `onreply_route` (unnamed or `[0]`: core reply route; named: tm).
    OnreplyRoute,
    ReplyRoute,
    OnsendRoute,
    EventRoute,
}

impl BlockKind {
    pub fn keyword(self) -> &'static str {
        match self {
            BlockKind::Route => "route",
            BlockKind::RequestRoute => "request_route",
            BlockKind::FailureRoute => "failure_route",
            BlockKind::BranchRoute => "branch_route",
            BlockKind::OnreplyRoute => "onreply_route",
            BlockKind::ReplyRoute => "reply_route",
            BlockKind::OnsendRoute => "onsend_route",
            BlockKind::EventRoute => "event_route",
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct RouteBlock {
    pub kind: BlockKind,
    /// The name in brackets; a number or a string is kept as its text
    /// (`route[1]` has name "1", `route["x"]` has "x").
    pub name: Option<Name>,
    pub body: Vec<Stmt>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Stmt {
    /// A module function or core action call, `route(...)` included.
    Call(Call),
    If {
        cond: Expr,
        then: Box<Stmt>,
        else_: Option<Box<Stmt>>,
        span: Span,
    },
    Switch {
        expr: Expr,
        cases: Vec<Case>,
        span: Span,
    },
    While {
        cond: Expr,
        body: Box<Stmt>,
        span: Span,
    },
    /// `{ ... }` as the body of if/else/while (never empty: Kamailio rejects `{}`).
    Block(Vec<Stmt>, Span),
    /// `return`/`exit`/`drop` with an optional value.
    Return {
        kind: ReturnKind,
        value: Option<Expr>,
        span: Span,
    },
    Break(Span),
    Assign(Assign),
    /// A lone `;`.
    Empty(Span),
    /// A statement the parser skipped after an error (already reported).
    Error(Span),
}

impl Stmt {
    pub fn span(&self) -> Span {
        match self {
            Stmt::Call(c) => c.span,
            Stmt::If { span, .. }
            | Stmt::Switch { span, .. }
            | Stmt::While { span, .. }
            | Stmt::Block(_, span)
            | Stmt::Return { span, .. }
            | Stmt::Break(span)
            | Stmt::Empty(span)
            | Stmt::Error(span) => *span,
            Stmt::Assign(a) => a.span,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReturnKind {
    Return,
    Exit,
    Drop,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Case {
    /// `None` for `default:`.
    pub label: Option<Expr>,
    /// `case /"re":` — a regex case.
    pub regex: bool,
    pub body: Vec<Stmt>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Assign {
    pub lhs: Lvalue,
    pub rhs: Expr,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Lvalue {
    Pv(Pv),
    Attr(String, Span),
}

impl Lvalue {
    pub fn span(&self) -> Span {
        match self {
            Lvalue::Pv(p) => p.span,
            Lvalue::Attr(_, s) => *s,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CallKind {
    /// `name(args)` where `name` is an identifier: a module function.
    Module,
    /// A core action (`rewritehost`, `setflag`, `forward`, ...).
    Core,
    /// `route(X)`.
    Route,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Call {
    pub kind: CallKind,
    /// The name as written (for core actions: the canonical name; the span
    /// points at the spelling used).
    pub name: Name,
    pub args: Vec<Arg>,
    /// Whether `(...)` was written (`force_rport;` vs `force_rport();`).
    pub parens: bool,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Arg {
    Expr(Expr),
    /// A bare identifier argument: a route name (`route(X)`), a flag name
    /// (`setflag(F)`), a module function's bare-word argument.
    Ident(Name),
    /// A host or socket argument of `forward`/`force_send_socket`/
    /// `set_advertised_address`.
    Sock(SockSpec),
    /// `uri:host` / `uri:port` in `forward(uri:host, uri:port)`.
    UriHost(Span),
    UriPort(Span),
    /// A transport word (`udp_mtu_try_proto(tcp)`).
    Proto(String, Span),
}

impl Arg {
    pub fn span(&self) -> Span {
        match self {
            Arg::Expr(e) => e.span(),
            Arg::Ident(n) => n.span,
            Arg::Sock(s) => s.span,
            Arg::UriHost(s) | Arg::UriPort(s) | Arg::Proto(_, s) => *s,
        }
    }
}

/// A pseudo-variable reference, as written. Its inner structure (name,
/// inner text, index, transformations) is parsed by `check::pvar`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pv {
    pub text: String,
    pub compat: Compat,
    pub span: Span,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnOp {
    /// `!` / `not`
    Not,
    /// `~`
    BitNot,
    /// unary `-`
    Neg,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinOp {
    Or,
    And,
    BitOr,
    BitAnd,
    BitXor,
    Shl,
    Shr,
    Eq,
    Ne,
    Match,
    StrEq,
    StrNe,
    IntEq,
    IntNe,
    Lt,
    Gt,
    Le,
    Ge,
    Add,
    Sub,
    Mul,
    Div,
    Mod,
}

impl BinOp {
    pub fn spelling(self) -> &'static str {
        match self {
            BinOp::Or => "||",
            BinOp::And => "&&",
            BinOp::BitOr => "|",
            BinOp::BitAnd => "&",
            BinOp::BitXor => "^",
            BinOp::Shl => "<<",
            BinOp::Shr => ">>",
            BinOp::Eq => "==",
            BinOp::Ne => "!=",
            BinOp::Match => "=~",
            BinOp::StrEq => "eq",
            BinOp::StrNe => "ne",
            BinOp::IntEq => "ieq",
            BinOp::IntNe => "ine",
            BinOp::Lt => "<",
            BinOp::Gt => ">",
            BinOp::Le => "<=",
            BinOp::Ge => ">=",
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Mul => "*",
            BinOp::Div => "/",
            BinOp::Mod => "mod",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cast {
    Int,
    Str,
}

/// The left side of a keyword condition (`method == "INVITE"`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KwElem {
    Method,
    Uri,
    FromUri,
    ToUri,
    SrcIp,
    DstIp,
    SndIp,
    ToIp,
    SrcPort,
    DstPort,
    SndPort,
    ToPort,
    Proto,
    SndProto,
    Af,
    SndAf,
    MsgLen,
}

/// The right side of a keyword condition.
#[derive(Clone, Debug, PartialEq)]
pub enum KwRhs {
    Expr(Expr),
    /// `myself`
    Myself(Span),
    /// A bare identifier (`method == INVITE`).
    Ident(Name),
    /// An address or a network: `10.0.0.1`, `10.0.0.0/8`,
    /// `1.2.3.0/255.255.255.0`, `[::1]`, `host.example.com`.
    Net {
        addr: Host,
        mask: Option<NetMask>,
        span: Span,
    },
    /// A transport word or `*`.
    Proto(String, Span),
}

#[derive(Clone, Debug, PartialEq)]
pub enum NetMask {
    Bits(i64),
    Addr(Host),
}

#[derive(Clone, Debug, PartialEq)]
pub enum Expr {
    Int(i64, Span),
    Str(String, Span),
    Pv(Pv),
    Attr(String, Span),
    Select(String, Span),
    Unary {
        op: UnOp,
        expr: Box<Expr>,
        span: Span,
    },
    Binary {
        op: BinOp,
        lhs: Box<Expr>,
        rhs: Box<Expr>,
        span: Span,
    },
    /// `( e )`, kept so that checks can tell what the author grouped.
    Paren(Box<Expr>, Span),
    /// A function call (module, core or `route()`) used as a value.
    Call(Box<Call>),
    Defined(Box<Expr>, Span),
    Strlen(Box<Expr>, Span),
    Strempty(Box<Expr>, Span),
    Selval {
        cond: Box<Expr>,
        then: Box<Expr>,
        else_: Box<Expr>,
        span: Span,
    },
    Cast(Cast, Box<Expr>, Span),
    /// `method == ...`, `src_ip == 10.0.0.0/8`, `uri == myself`.
    KwCond {
        lhs: KwElem,
        lhs_span: Span,
        op: BinOp,
        rhs: Box<KwRhs>,
        span: Span,
    },
    /// `myself == uri` (the reversed form).
    MyselfCond {
        op: BinOp,
        rhs: KwElem,
        span: Span,
    },
    /// `{ actions }` used as a value.
    Block(Vec<Stmt>, Span),
    /// `( $x = e )` used as a value.
    Assign(Box<Assign>),
    /// An expression the parser skipped after an error (already reported).
    Error(Span),
}

impl Expr {
    pub fn span(&self) -> Span {
        match self {
            Expr::Int(_, s)
            | Expr::Str(_, s)
            | Expr::Attr(_, s)
            | Expr::Select(_, s)
            | Expr::Unary { span: s, .. }
            | Expr::Binary { span: s, .. }
            | Expr::Paren(_, s)
            | Expr::Defined(_, s)
            | Expr::Strlen(_, s)
            | Expr::Strempty(_, s)
            | Expr::Selval { span: s, .. }
            | Expr::Cast(_, _, s)
            | Expr::KwCond { span: s, .. }
            | Expr::MyselfCond { span: s, .. }
            | Expr::Block(_, s)
            | Expr::Error(s) => *s,
            Expr::Pv(p) => p.span,
            Expr::Call(c) => c.span,
            Expr::Assign(a) => a.span,
        }
    }
}
