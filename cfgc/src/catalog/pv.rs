//! Core PVs (always present) and transformation classes.
//!
//! Module PVs (the pv module's `$ru`, `$var(..)`, ..., tmx's `$T_*`, htable's
//! `$sht(..)`) are in the generated module tables; see
//! [`super::module_pv`].

use super::{PvDef, PvInner};

/// PVs the core registers itself (`$null`, `$?`, `$rc`, `$retcode`,
/// `$env(..)`, `$envn(..)`, `$def(..)`, `$defn(..)`).
pub static CORE_PVS: &[PvDef] = &[
    PvDef {
        name: "null",
        writable: false,
        inner: PvInner::None,
    },
    PvDef {
        name: "?",
        writable: false,
        inner: PvInner::None,
    },
    PvDef {
        name: "rc",
        writable: false,
        inner: PvInner::None,
    },
    PvDef {
        name: "retcode",
        writable: false,
        inner: PvInner::None,
    },
    PvDef {
        name: "env",
        writable: false,
        inner: PvInner::Name,
    },
    PvDef {
        name: "envn",
        writable: false,
        inner: PvInner::Name,
    },
    PvDef {
        name: "def",
        writable: false,
        inner: PvInner::Name,
    },
    PvDef {
        name: "defn",
        writable: false,
        inner: PvInner::Name,
    },
];

/// A core PV by name.
pub fn core_pv(name: &str) -> Option<&'static PvDef> {
    CORE_PVS.iter().find(|p| p.name == name)
}

/// A PV by name, core or of any catalogued module (loaded or not).
pub fn any_pv(name: &str) -> Option<&'static PvDef> {
    core_pv(name).or_else(|| {
        super::modules()
            .iter()
            .find_map(|m| m.pvs.iter().find(|p| p.name == name))
    })
}

/// A transformation class (`{s.len}` is class `s`, name `len`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Transform {
    pub class: &'static str,
    /// The module that provides it.
    pub module: &'static str,
    /// The names the class knows; empty: not catalogued (any name accepted).
    pub names: &'static [&'static str],
}

/// A transformation class by name.
pub fn transform_class(class: &str) -> Option<&'static Transform> {
    TRANSFORMS.iter().find(|t| t.class == class)
}

pub static TRANSFORMS: &[Transform] = &[
    Transform {
        class: "s",
        module: "pv",
        names: &[
            "after",
            "before",
            "corehash",
            "count",
            "decode.7bit",
            "decode.base58",
            "decode.base64",
            "decode.base64t",
            "decode.base64url",
            "decode.base64urlt",
            "decode.hexa",
            "encode.7bit",
            "encode.base58",
            "encode.base64",
            "encode.base64t",
            "encode.base64url",
            "encode.base64urlt",
            "encode.hexa",
            "escape.common",
            "escape.csv",
            "escape.param",
            "escape.user",
            "fmtlines",
            "fmtlinet",
            "ftime",
            "int",
            "len",
            "ltrim",
            "md5",
            "numeric",
            "prefixes",
            "prefixes.quoted",
            "rafter",
            "rbefore",
            "replace",
            "rm",
            "rmws",
            "rtrim",
            "select",
            "sha256",
            "sha384",
            "sha512",
            "strip",
            "striptail",
            "stripto",
            "substr",
            "tolower",
            "toupper",
            "trim",
            "unbracket",
            "unescape.common",
            "unescape.param",
            "unescape.user",
            "unquote",
            "urldecode.param",
            "urlencode.param",
        ],
    },
    Transform {
        class: "uri",
        module: "pv",
        names: &[
            "domain",
            "duri",
            "headers",
            "host",
            "lr",
            "maddr",
            "method",
            "param",
            "params",
            "passwd",
            "port",
            "r2",
            "saor",
            "scheme",
            "suri",
            "tosocket",
            "transport",
            "ttl",
            "uparam",
            "user",
        ],
    },
    Transform {
        class: "param",
        module: "pv",
        names: &["count", "in", "name", "value", "valueat"],
    },
    Transform {
        class: "nameaddr",
        module: "pv",
        names: &["len", "name", "uri"],
    },
    Transform {
        class: "tobody",
        module: "pv",
        names: &["display", "host", "params", "tag", "uri", "user"],
    },
    Transform {
        class: "line",
        module: "pv",
        names: &["at", "count", "sw"],
    },
    Transform {
        class: "urialias",
        module: "pv",
        names: &["decode", "encode"],
    },
    Transform {
        class: "json",
        module: "json",
        names: &[],
    },
    Transform {
        class: "url",
        module: "xhttp",
        names: &[],
    },
    Transform {
        class: "kz",
        module: "kazoo",
        names: &[],
    },
    Transform {
        class: "msrpuri",
        module: "msrp",
        names: &[],
    },
    Transform {
        class: "sql",
        module: "sqlops",
        names: &[],
    },
    Transform {
        class: "re",
        module: "textops",
        names: &[],
    },
    Transform {
        class: "sock",
        module: "corex",
        names: &[],
    },
];
