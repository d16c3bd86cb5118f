//! Tokens produced by the preprocessing lexer and consumed by the grammar.
//!
//! Newlines are not tokens (Kamailio's scanner swallows them). Defines are
//! already expanded, `#!ifdef` regions already skipped and include files
//! already spliced in when the parser sees this stream.

use crate::source::Span;

/// A PV token as written, e.g. `$rU`, `$var(x)`, `$(ru{uri.host})`, `$rc`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PvTok {
    /// The whole text, `$` included.
    pub text: String,
    /// The compatibility mode in force where it was lexed: in max-compat (the
    /// default) and SER modes a bare `$foo` that is no known PV is an AVP; after
    /// `#!KAMAILIO` it is an error.
    pub compat: Compat,
}

/// Kamailio's compatibility modes (`#!KAMAILIO`, `#!SER`, `#!MAXCOMPAT`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Compat {
    #[default]
    MaxCompat,
    Kamailio,
    Ser,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Tok {
    // ---- literals -------------------------------------------------------
    /// Decimal, `0x` hex, octal (`010`), binary (`101b`), and the words
    /// `yes true on enable` (1), `no false off disable` (0), `inet ipv4` (2),
    /// `inet6 ipv6` (10), which Kamailio lexes as numbers everywhere.
    Int(i64),
    /// `[0-9][A-Za-z0-9_]*` that is not a number (`08`, `1and1`): valid only
    /// inside host names.
    NumId(String),
    /// A `"..."` literal after escape processing, adjacent-literal
    /// concatenation and `#!subst` rules.
    Str(String),
    /// A `'...'` literal: no escapes, not concatenated.
    SqStr(String),
    /// `[A-Za-z_][A-Za-z0-9_]*` that is neither reserved nor a define.
    Ident(String),
    /// A bare IPv6 address (`::1`, `fe80::1`), without brackets.
    Ipv6(String),
    /// A pseudo-variable.
    Pvar(PvTok),
    /// A SER-style attribute (`%foo`, `$f.x`, `$t.x`, ...).
    Attr(String),
    /// A select, the whole text: `@ruri.user`, `@via[1].branch`.
    Select(String),
    /// The name inside `event_route[...]` (`core:worker-one-init`).
    EventName(String),

    // ---- reserved words by role -----------------------------------------
    /// A core parameter, by canonical name (`"debug"`, `"children"`,
    /// `"force_rport"`). Aliases map to the canonical name.
    Param(&'static str),
    /// A core action, by canonical name (`"rewritehost"` for `seth`).
    Action(&'static str),
    /// A transport word: `udp tcp tls sctp ws wss` (lower-cased).
    Proto(&'static str),
    /// A reserved word with no grammar rule of its own (`statistics`, `user`,
    /// ...): never an identifier, always a syntax error where it appears.
    Reserved(&'static str),

    // ---- keywords with grammar rules ------------------------------------
    Route,        // route
    RequestRoute, // request_route
    FailureRoute, // failure_route
    BranchRoute,  // branch_route
    OnreplyRoute, // onreply_route
    ReplyRoute,   // reply_route
    OnsendRoute,  // onsend_route
    EventRoute,   // event_route
    If,
    Else,
    Switch,
    Case,
    Default,
    While,
    Break,
    Return,
    Exit,
    Drop,
    Loadmodule,  // loadmodule
    Loadmodulex, // loadmodulex
    Loadpath,    // loadpath, mpath
    Modparam,    // modparam
    Modparamx,   // modparamx
    Cfgengine,   // cfgengine
    Flags,       // flags, bool
    Avpflags,    // avpflags
    Advertise,   // advertise, ADVERTISE
    Name,        // name, NAME
    Virtual,     // virtual
    Desc,        // desc, descr, description

    // condition keywords (old exp_elem syntax)
    Method,   // method
    Uri,      // uri, status
    FromUri,  // from_uri
    ToUri,    // to_uri
    SrcIp,    // src_ip
    DstIp,    // dst_ip
    SndIp,    // snd_ip
    ToIp,     // to_ip
    SrcPort,  // src_port
    DstPort,  // dst_port
    SndPort,  // snd_port
    ToPort,   // to_port
    ProtoKw,  // proto
    SndProto, // snd_proto, to_proto
    Af,       // af
    SndAf,    // snd_af, to_af
    MsgLen,   // msg:len
    Myself,   // myself
    UriHost,  // uri:host
    UriPort,  // uri:port
    Defined,  // defined
    Strlen,   // strlen
    Strempty, // strempty
    Selval,   // selval
    CastInt,  // (int)
    CastStr,  // (str)

    // ---- operators and punctuation --------------------------------------
    Assign,   // =
    PlusEq,   // += (lexed, but no rule uses it: always a syntax error)
    EqEq,     // ==
    NotEq,    // !=
    Match,    // =~
    Gt,       // >
    Lt,       // <
    Ge,       // >=
    Le,       // <=
    Not,      // ! not
    AndAnd,   // && and
    OrOr,     // || or
    BitAnd,   // &
    BitOr,    // |
    BitXor,   // ^
    BitNot,   // ~
    Shl,      // <<
    Shr,      // >>
    Plus,     // +
    Minus,    // -
    Star,     // *
    Slash,    // /
    Mod,      // mod
    StrEq,    // eq
    StrNe,    // ne
    IntEq,    // ieq
    IntNe,    // ine
    Semi,     // ;
    Comma,    // ,
    Colon,    // :
    Dot,      // .
    LParen,   // (
    RParen,   // )
    LBrace,   // {
    RBrace,   // }
    LBracket, // [
    RBracket, // ]

    // ---- produced only by `parse` when it feeds the grammar --------------
    /// `listen` (the lexer gives `Param("listen")`).
    Listen,
    /// `alias` (the lexer gives `Param("alias")`).
    Alias,
    /// A word that is both a core parameter and a core action
    /// (`force_rport`, `udp_mtu_try_proto`; the lexer gives `Param(..)`).
    ParamAction(&'static str),

    /// A lexical error, already reported as a diagnostic; the parser treats it
    /// as an unexpected token so it can recover.
    Error,
}

/// A token with the span of the text it came from (for a token produced by a
/// `#!define` expansion: the span of the define's name at the use site).
#[derive(Clone, Debug, PartialEq)]
pub struct Spanned {
    pub tok: Tok,
    pub span: Span,
}

impl Tok {
    /// A short human description for "expected ..., found ..." messages.
    pub fn describe(&self) -> String {
        match self {
            Tok::Int(n) => format!("number `{n}`"),
            Tok::NumId(s) => format!("`{s}`"),
            Tok::Str(s) => format!("string \"{s}\""),
            Tok::SqStr(s) => format!("string '{s}'"),
            Tok::Ident(s) => format!("identifier `{s}`"),
            Tok::Ipv6(s) => format!("IPv6 address `{s}`"),
            Tok::Pvar(p) => format!("`{}`", p.text),
            Tok::Attr(s) | Tok::Select(s) | Tok::EventName(s) => format!("`{s}`"),
            Tok::Param(s)
            | Tok::Action(s)
            | Tok::Proto(s)
            | Tok::Reserved(s)
            | Tok::ParamAction(s) => {
                format!("keyword `{s}`")
            }
            Tok::Error => "invalid token".to_string(),
            other => format!("`{}`", other.spelling()),
        }
    }

    /// The canonical spelling of a keyword or punctuation token.
    pub fn spelling(&self) -> &'static str {
        match self {
            Tok::Route => "route",
            Tok::RequestRoute => "request_route",
            Tok::FailureRoute => "failure_route",
            Tok::BranchRoute => "branch_route",
            Tok::OnreplyRoute => "onreply_route",
            Tok::ReplyRoute => "reply_route",
            Tok::OnsendRoute => "onsend_route",
            Tok::EventRoute => "event_route",
            Tok::If => "if",
            Tok::Else => "else",
            Tok::Switch => "switch",
            Tok::Case => "case",
            Tok::Default => "default",
            Tok::While => "while",
            Tok::Break => "break",
            Tok::Return => "return",
            Tok::Exit => "exit",
            Tok::Drop => "drop",
            Tok::Loadmodule => "loadmodule",
            Tok::Loadmodulex => "loadmodulex",
            Tok::Loadpath => "loadpath",
            Tok::Modparam => "modparam",
            Tok::Modparamx => "modparamx",
            Tok::Cfgengine => "cfgengine",
            Tok::Flags => "flags",
            Tok::Avpflags => "avpflags",
            Tok::Advertise => "advertise",
            Tok::Name => "name",
            Tok::Virtual => "virtual",
            Tok::Desc => "desc",
            Tok::Method => "method",
            Tok::Uri => "uri",
            Tok::FromUri => "from_uri",
            Tok::ToUri => "to_uri",
            Tok::SrcIp => "src_ip",
            Tok::DstIp => "dst_ip",
            Tok::SndIp => "snd_ip",
            Tok::ToIp => "to_ip",
            Tok::SrcPort => "src_port",
            Tok::DstPort => "dst_port",
            Tok::SndPort => "snd_port",
            Tok::ToPort => "to_port",
            Tok::ProtoKw => "proto",
            Tok::SndProto => "snd_proto",
            Tok::Af => "af",
            Tok::SndAf => "snd_af",
            Tok::MsgLen => "msg:len",
            Tok::Myself => "myself",
            Tok::UriHost => "uri:host",
            Tok::UriPort => "uri:port",
            Tok::Defined => "defined",
            Tok::Strlen => "strlen",
            Tok::Strempty => "strempty",
            Tok::Selval => "selval",
            Tok::CastInt => "(int)",
            Tok::CastStr => "(str)",
            Tok::Assign => "=",
            Tok::PlusEq => "+=",
            Tok::EqEq => "==",
            Tok::NotEq => "!=",
            Tok::Match => "=~",
            Tok::Gt => ">",
            Tok::Lt => "<",
            Tok::Ge => ">=",
            Tok::Le => "<=",
            Tok::Not => "!",
            Tok::AndAnd => "&&",
            Tok::OrOr => "||",
            Tok::BitAnd => "&",
            Tok::BitOr => "|",
            Tok::BitXor => "^",
            Tok::BitNot => "~",
            Tok::Shl => "<<",
            Tok::Shr => ">>",
            Tok::Plus => "+",
            Tok::Minus => "-",
            Tok::Star => "*",
            Tok::Slash => "/",
            Tok::Mod => "mod",
            Tok::StrEq => "eq",
            Tok::StrNe => "ne",
            Tok::IntEq => "ieq",
            Tok::IntNe => "ine",
            Tok::Semi => ";",
            Tok::Comma => ",",
            Tok::Colon => ":",
            Tok::Dot => ".",
            Tok::LParen => "(",
            Tok::RParen => ")",
            Tok::LBrace => "{",
            Tok::RBrace => "}",
            Tok::LBracket => "[",
            Tok::RBracket => "]",
            Tok::Listen => "listen",
            Tok::Alias => "alias",
            Tok::Param(s)
            | Tok::Action(s)
            | Tok::Proto(s)
            | Tok::Reserved(s)
            | Tok::ParamAction(s) => s,
            _ => "?",
        }
    }
}
