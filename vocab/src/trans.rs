//! Transformations (`{s.substr,1,3}`): which `{class.name}` is which
//! runtime operation, and how its parameters are read.
//!
//! Adding one: a [`TrKind`] variant and a row of [`TRANSFORMATIONS`] here,
//! and the operation in the runtime's `engine::trans` (`Op`, `op`, `eval`).

/// A transformation the runtime implements. The runtime's
/// `engine::trans::Op` has a variant of the same name for each (with its
/// parameters), which generated code names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TrKind {
    SLen,
    SInt,
    SMd5,
    SEncodeHexa,
    SDecodeHexa,
    SEncodeBase64,
    SDecodeBase64,
    SEscapeCommon,
    SUnescapeCommon,
    SNumeric,
    STolower,
    SToupper,
    STrim,
    SRtrim,
    SLtrim,
    SRmws,
    SSubstr,
    SSelect,
    SStrip,
    SStripTail,
    SStripTo,
    SPrefixes,
    SPrefixesQuoted,
    SRm,
    SReplace,
    UriUser,
    UriHost,
    UriPasswd,
    UriPort,
    UriParams,
    UriParam,
    UriHeaders,
    UriTransport,
    UriTtl,
    UriUparam,
    UriMaddr,
    UriMethod,
    UriLr,
    UriR2,
    UriScheme,
    UriTosocket,
    UriDuri,
    UriSaor,
    UriSuri,
    ParamValue,
    ParamIn,
    ParamValueAt,
    ParamName,
    ParamCount,
    NameaddrName,
    NameaddrUri,
    NameaddrLen,
    TobodyUri,
    TobodyDisplay,
    TobodyTag,
    TobodyUser,
    TobodyHost,
    TobodyParams,
}

/// How a transformation parameter is read (as Kamailio's pv_trans.c).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TrParam {
    /// A number or a PV.
    Num,
    /// A string (up to `,` `}` tab or newline) or a PV.
    Str,
    /// The separator of `{s.select}`: one character or `\\` `\n` `\r` `\t`.
    Char,
    /// Optional trailing number (absent: 0).
    OptNum,
    /// Optional trailing one-character delimiter (absent: `;`); may be `,`.
    OptDelim,
}

/// One row: `{class.name}` is `kind`, with these parameters.
#[derive(Clone, Copy, Debug)]
pub struct TrInfo {
    pub class: &'static str,
    pub name: &'static str,
    pub kind: TrKind,
    pub params: &'static [TrParam],
}

const fn t(
    class: &'static str,
    name: &'static str,
    kind: TrKind,
    params: &'static [TrParam],
) -> TrInfo {
    TrInfo {
        class,
        name,
        kind,
        params,
    }
}

use TrKind as K;
use TrParam::{Char, Num, OptDelim, OptNum, Str};

/// Every transformation the runtime implements.
pub static TRANSFORMATIONS: &[TrInfo] = &[
    t("s", "len", K::SLen, &[]),
    t("s", "int", K::SInt, &[]),
    t("s", "md5", K::SMd5, &[]),
    t("s", "encode.hexa", K::SEncodeHexa, &[]),
    t("s", "decode.hexa", K::SDecodeHexa, &[]),
    t("s", "encode.base64", K::SEncodeBase64, &[]),
    t("s", "decode.base64", K::SDecodeBase64, &[]),
    t("s", "escape.common", K::SEscapeCommon, &[]),
    t("s", "unescape.common", K::SUnescapeCommon, &[]),
    t("s", "numeric", K::SNumeric, &[]),
    t("s", "tolower", K::STolower, &[]),
    t("s", "toupper", K::SToupper, &[]),
    t("s", "trim", K::STrim, &[]),
    t("s", "rtrim", K::SRtrim, &[]),
    t("s", "ltrim", K::SLtrim, &[]),
    t("s", "rmws", K::SRmws, &[]),
    t("s", "substr", K::SSubstr, &[Num, Num]),
    t("s", "select", K::SSelect, &[Num, Char]),
    t("s", "strip", K::SStrip, &[Num]),
    t("s", "striptail", K::SStripTail, &[Num]),
    t("s", "stripto", K::SStripTo, &[Str]),
    t("s", "prefixes", K::SPrefixes, &[OptNum]),
    t("s", "prefixes.quoted", K::SPrefixesQuoted, &[OptNum]),
    t("s", "rm", K::SRm, &[Str]),
    t("s", "replace", K::SReplace, &[Str, Str]),
    t("uri", "user", K::UriUser, &[]),
    t("uri", "host", K::UriHost, &[]),
    t("uri", "passwd", K::UriPasswd, &[]),
    t("uri", "port", K::UriPort, &[]),
    t("uri", "params", K::UriParams, &[]),
    t("uri", "param", K::UriParam, &[Str]),
    t("uri", "headers", K::UriHeaders, &[]),
    t("uri", "transport", K::UriTransport, &[]),
    t("uri", "ttl", K::UriTtl, &[]),
    t("uri", "uparam", K::UriUparam, &[]),
    t("uri", "maddr", K::UriMaddr, &[]),
    t("uri", "method", K::UriMethod, &[]),
    t("uri", "lr", K::UriLr, &[]),
    t("uri", "r2", K::UriR2, &[]),
    t("uri", "scheme", K::UriScheme, &[]),
    t("uri", "tosocket", K::UriTosocket, &[]),
    t("uri", "duri", K::UriDuri, &[]),
    t("uri", "saor", K::UriSaor, &[]),
    t("uri", "suri", K::UriSuri, &[]),
    t("param", "value", K::ParamValue, &[Str, OptDelim]),
    t("param", "in", K::ParamIn, &[Str, OptDelim]),
    t("param", "valueat", K::ParamValueAt, &[Num, OptDelim]),
    t("param", "name", K::ParamName, &[Num, OptDelim]),
    t("param", "count", K::ParamCount, &[OptDelim]),
    t("nameaddr", "name", K::NameaddrName, &[]),
    t("nameaddr", "uri", K::NameaddrUri, &[]),
    t("nameaddr", "len", K::NameaddrLen, &[]),
    t("tobody", "uri", K::TobodyUri, &[]),
    t("tobody", "display", K::TobodyDisplay, &[]),
    t("tobody", "tag", K::TobodyTag, &[]),
    t("tobody", "user", K::TobodyUser, &[]),
    t("tobody", "host", K::TobodyHost, &[]),
    t("tobody", "params", K::TobodyParams, &[]),
];

impl TrInfo {
    /// The row of `{class.name}`, matched case-insensitively as Kamailio
    /// does.
    pub fn lookup(class: &str, name: &str) -> Option<&'static TrInfo> {
        TRANSFORMATIONS
            .iter()
            .find(|t| t.class.eq_ignore_ascii_case(class) && t.name.eq_ignore_ascii_case(name))
    }
}

impl TrKind {
    /// Its row of [`TRANSFORMATIONS`].
    pub fn info(self) -> Option<&'static TrInfo> {
        TRANSFORMATIONS.iter().find(|t| t.kind == self)
    }

    /// How many parameters the runtime operation takes (optional ones are
    /// always passed, with their defaults).
    pub fn arity(self) -> usize {
        self.info().map_or(0, |t| t.params.len())
    }
}

/// One transformation of a chain, with its parameters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrOp {
    pub kind: TrKind,
    pub args: Vec<TrArg>,
}

/// A transformation parameter: a constant, or a PV read when the
/// transformation runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TrArg {
    Int(i32),
    Str(Vec<u8>),
    Pv(crate::PvRef),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_unique_and_found() {
        for (i, t) in TRANSFORMATIONS.iter().enumerate() {
            assert!(
                TRANSFORMATIONS[..i].iter().all(|u| u.kind != t.kind),
                "{:?} twice",
                t.kind
            );
            let found = TrInfo::lookup(&t.class.to_uppercase(), t.name).map(|r| r.kind);
            assert_eq!(found, Some(t.kind));
            assert_eq!(t.kind.arity(), t.params.len());
        }
    }
}
