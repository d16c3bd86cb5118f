//! IR → Rust. One method per route, named after its block
//! (`request_route`, `route_reqinit`, `failure_route_manage_failure`);
//! `route(X)` is a direct call; module functions are direct calls to their
//! runtime bindings; PVs, operators, keyword conditions and core actions are
//! calls of the runtime's leaves with constant arguments, which inline into
//! direct calls; regexes are compiled once when the script is created.
//!
//! Generated code lives in its own module, `kamailio_cfg`, which names the
//! runtime through one alias (`use ::cfgc_runtime::script as rt;`, the root
//! configurable): paths stay short and hygienic, whatever the includer has
//! in scope. Conditions are Rust `bool`s where the IR knows the value is a
//! truth value; a `Value` appears only where Kamailio's value semantics
//! need one.

mod expr;
mod stmt;

use std::collections::HashSet;

use proc_macro2::{Ident, Literal, Span, TokenStream};
use quote::{format_ident, quote};

use crate::ir::{CoreValue, ModParamValue, Program, PvRef, Route};
use crate::syntax::ast::BlockKind;

/// Options of code generation.
#[derive(Clone, Debug)]
pub struct Options {
    /// The path generated code uses for the runtime crate.
    pub runtime_path: String,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            runtime_path: "::cfgc_runtime".into(),
        }
    }
}

pub(crate) struct Gen<'p> {
    pub(crate) program: &'p Program,
    /// The Rust name of each route's function, by route id.
    fns: Vec<Ident>,
    /// Counter for unique labels of switch blocks.
    labels: std::cell::Cell<usize>,
}

impl Gen<'_> {
    pub(crate) fn route_fn(&self, id: usize) -> &Ident {
        &self.fns[id]
    }

    pub(crate) fn fresh_label(&self) -> syn::Lifetime {
        let n = self.labels.get();
        self.labels.set(n + 1);
        syn::Lifetime::new(&format!("'switch_{n}"), Span::call_site())
    }
}

/// A name as a Rust identifier fragment: ASCII letters and digits
/// lowercased, `_` for every other character (route functions, package
/// names).
pub(crate) fn ident_part(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect()
}

/// A cfg block name as a function-name fragment (no `_` at the ends).
fn snake(name: &str) -> String {
    ident_part(name).trim_matches('_').to_string()
}

/// Function names after the blocks: `request_route`, `reply_route`,
/// `route_<name>`, `failure_route_<name>`, `branch_route_<name>`,
/// `onreply_route_<name>`; a name that would repeat gets `_2`, `_3`...
fn route_names(program: &Program) -> Vec<Ident> {
    let mut used = HashSet::new();
    program
        .routes
        .iter()
        .map(|r| {
            let base = match (r.kind, snake(&r.name)) {
                (BlockKind::RequestRoute, _) => "request_route".to_string(),
                (BlockKind::ReplyRoute, _) => "reply_route".to_string(),
                (kind, n) if n.is_empty() => kind.keyword().to_string(),
                (kind, n) => format!("{}_{n}", kind.keyword()),
            };
            let mut name = base.clone();
            let mut i = 2;
            while !used.insert(name.clone()) {
                name = format!("{base}_{i}");
                i += 1;
            }
            format_ident!("{}", name)
        })
        .collect()
}

/// Generates the Rust items of a program: a module `kamailio_cfg` with a
/// `Script` type implementing the runtime's script trait and a
/// `settings()` function, both re-exported where the code is included.
pub fn generate(program: &Program, opts: &Options) -> TokenStream {
    let root: TokenStream = opts
        .runtime_path
        .parse()
        .unwrap_or_else(|_| quote!(::cfgc_runtime));
    let g = Gen {
        program,
        fns: route_names(program),
        labels: std::cell::Cell::new(0),
    };
    let routes = program
        .routes
        .iter()
        .enumerate()
        .map(|(i, r)| route(&g, i, r));
    let regexes = program.regexes.iter();
    let var_count = program.vars.len();
    let request = match program.main {
        Some(id) => {
            let f = g.route_fn(id);
            quote!(Script::#f(self, ctx))
        }
        None => quote!(Ok(1)),
    };
    let reply = match program.core_reply {
        Some(id) => {
            let f = g.route_fn(id);
            quote!(Some(Script::#f(self, ctx)))
        }
        None => quote!(None),
    };
    let dispatch = |name: &str, list: &[usize], doc: &str| {
        if list.is_empty() {
            // The trait's default: no such block.
            return TokenStream::new();
        }
        let f = format_ident!("{}", name);
        let arms = list.iter().enumerate().map(|(i, id)| {
            let i = Literal::usize_unsuffixed(i);
            let route = g.route_fn(*id);
            quote!(#i => self.#route(ctx),)
        });
        quote! {
            #[doc = #doc]
            fn #f(&self, idx: u32, ctx: &mut rt::Ctx<'_>) -> rt::Flow {
                match idx {
                    #(#arms)*
                    _ => Ok(1),
                }
            }
        }
    };
    let failure = dispatch(
        "failure_route",
        &program.failure_routes,
        " `failure_route` blocks, by the index `t_on_failure` arms.",
    );
    let branch = dispatch(
        "branch_route",
        &program.branch_routes,
        " `branch_route` blocks, by the index `t_on_branch` arms.",
    );
    let onreply = dispatch(
        "onreply_route",
        &program.onreply_routes,
        " Named `onreply_route` blocks, by the index `t_on_reply` arms.",
    );
    let events = if program.event_routes.is_empty() {
        TokenStream::new()
    } else {
        let names = program.event_routes.iter().map(|(n, _)| n.as_str());
        let arms = program.event_routes.iter().map(|(n, id)| {
            let route = g.route_fn(*id);
            quote!(#n => Some(self.#route(ctx)),)
        });
        quote! {
            fn has_event_route(&self, name: &str) -> bool {
                matches!(name, #(#names)|*)
            }

            /// `event_route` blocks, by name.
            fn event_route(&self, name: &str, ctx: &mut rt::Ctx<'_>) -> Option<rt::Flow> {
                match name {
                    #(#arms)*
                    _ => None,
                }
            }
        }
    };
    // `route[NAME]` by name, for rtimer's timers and cfgutils'
    // `route_if_exists`: only when one of them is loaded (nothing else
    // runs a route by name).
    let by_name = program
        .settings
        .modules
        .iter()
        .any(|m| m == "rtimer" || m == "cfgutils");
    let named = if by_name {
        let blocks: Vec<(usize, &str)> = program
            .routes
            .iter()
            .enumerate()
            .filter(|(_, r)| r.kind == BlockKind::Route)
            .map(|(id, r)| (id, r.name.as_str()))
            .collect();
        let arms = blocks.iter().map(|&(id, n)| {
            let route = g.route_fn(id);
            quote!(#n => Some(self.#route(ctx)),)
        });
        let names = blocks.iter().map(|&(_, n)| n);
        let has = if blocks.is_empty() {
            quote!(false)
        } else {
            quote!(matches!(name, #(#names)|*))
        };
        quote! {
            /// `route` blocks by name (rtimer's timers, `route_if_exists`).
            fn route_named(&self, name: &str, ctx: &mut rt::Ctx<'_>) -> Option<rt::Flow> {
                match name {
                    #(#arms)*
                    _ => None,
                }
            }

            fn has_route(&self, name: &str) -> bool {
                #has
            }
        }
    } else {
        TokenStream::new()
    };
    let settings = settings(&g);
    let reply_ctx = if program.core_reply.is_some() {
        quote!(ctx)
    } else {
        quote!(_ctx)
    };
    quote! {
        /// The compiled configuration.
        mod kamailio_cfg {
            #![allow(
                dead_code,
                unused_mut,
                unused_assignments,
                unused_variables,
                unused_labels,
                unreachable_code,
                reason = "a route's value is its last action's, which not every route reads; a cfg may define routes it never calls"
            )]
            #![allow(
                clippy::collapsible_if,
                clippy::collapsible_else_if,
                clippy::bool_comparison,
                clippy::nonminimal_bool,
                reason = "blocks and conditions mirror the cfg's, one Rust `if` per cfg `if`"
            )]

            use #root::script as rt;

            /// The compiled routing script.
            pub struct Script {
                /// The cfg's constant regexes (`=~`, `switch` cases), compiled once.
                regexes: Vec<rt::Regex>,
            }

            impl Script {
                /// Compiles the script's regexes (checked by cfgc at build time).
                pub fn new() -> Self {
                    let sources: &[&str] = &[#(#regexes),*];
                    Self {
                        regexes: sources
                            .iter()
                            .map(|s| rt::Regex::new(s).expect("regex validated by cfgc"))
                            .collect(),
                    }
                }

                #(#routes)*
            }

            impl Default for Script {
                fn default() -> Self {
                    Self::new()
                }
            }

            impl rt::Script for Script {
                fn var_count(&self) -> usize {
                    #var_count
                }

                fn request_route(&self, ctx: &mut rt::Ctx<'_>) -> rt::Flow {
                    #request
                }

                fn reply_route(&self, #reply_ctx: &mut rt::Ctx<'_>) -> Option<rt::Flow> {
                    #reply
                }

                #failure
                #branch
                #onreply
                #events
                #named
            }

            #settings
        }

        #[allow(unused_imports, reason = "an includer may use only the script")]
        pub use kamailio_cfg::{Script, settings};
    }
}

fn route(g: &Gen<'_>, id: usize, r: &Route) -> TokenStream {
    let f = g.route_fn(id);
    let body = stmt::block(g, &r.body, stmt::Breakable::Route);
    let doc = match r.kind {
        BlockKind::RequestRoute => " `request_route`".to_string(),
        BlockKind::ReplyRoute => " `reply_route`".to_string(),
        kind => format!(" `{}[{}]`", kind.keyword(), r.name),
    };
    quote! {
        #[doc = #doc]
        fn #f(&self, ctx: &mut rt::Ctx<'_>) -> rt::Flow {
            let mut last: i32 = 1;
            #body
            Ok(last)
        }
    }
}

/// The name of an enum value of the vocabulary (`PvId::RUser` → `RUser`):
/// the runtime's variants carry the same names.
pub(crate) fn variant(v: &impl std::fmt::Debug) -> Ident {
    format_ident!("{}", format!("{v:?}"))
}

/// A byte-string literal (`b"..."`), which coerces to `&[u8]`.
pub(crate) fn bytes(b: &[u8]) -> TokenStream {
    let lit = Literal::byte_string(b);
    quote!(#lit)
}

fn opt<T: quote::ToTokens>(v: Option<T>) -> TokenStream {
    match v {
        Some(v) => quote!(Some(#v)),
        None => quote!(None),
    }
}

/// A `$dbr` key as a Rust value.
pub(crate) fn dbr_key(k: cfgc_vocab::DbrKey) -> TokenStream {
    use cfgc_vocab::DbrKey;
    match k {
        DbrKey::Rows => quote!(rt::DbrKey::Rows),
        DbrKey::Cols => quote!(rt::DbrKey::Cols),
        DbrKey::Cell(r, c) => quote!(rt::DbrKey::Cell(#r, #c)),
        DbrKey::ColName(c) => quote!(rt::DbrKey::ColName(#c)),
    }
}

/// An `$xavp` name as a Rust value.
fn xavp_name(x: &cfgc_vocab::XavpName) -> TokenStream {
    let index = |i: &cfgc_vocab::XavpIndex| match i {
        cfgc_vocab::XavpIndex::Absent => quote!(rt::XavpIndex::Absent),
        cfgc_vocab::XavpIndex::At(n) => quote!(rt::XavpIndex::At(#n)),
        cfgc_vocab::XavpIndex::All => quote!(rt::XavpIndex::All),
        cfgc_vocab::XavpIndex::Pv(p) => {
            let p = pv_value(p);
            quote!(rt::XavpIndex::Pv(#p))
        }
    };
    let (name, idx) = (&x.name, index(&x.index));
    let key = match &x.key {
        Some((k, i)) => {
            let i = index(i);
            quote!(Some((#k.to_string(), #i)))
        }
        None => quote!(None),
    };
    quote!(rt::XavpName { name: #name.to_string(), index: #idx, key: #key })
}

/// An `$xavp` name as a `&'static rt::XavpName` expression (built once).
pub(crate) fn xavp_static(x: &cfgc_vocab::XavpName) -> TokenStream {
    let x = xavp_name(x);
    quote!({
        static X: ::std::sync::LazyLock<rt::XavpName> = ::std::sync::LazyLock::new(|| #x);
        &X
    })
}

/// A vocabulary `PvRef` as a Rust value (in settings: acc's `log_extra`;
/// `sql_pvquery`'s result list).
fn pv_value(p: &PvRef) -> TokenStream {
    match p {
        PvRef::Plain(id) => {
            let id = variant(&id);
            quote!(rt::PvRef::Plain(rt::PvId::#id))
        }
        PvRef::Hdr(n) => {
            let b = bytes(n);
            quote!(rt::PvRef::Hdr(#b.to_vec()))
        }
        PvRef::HdrCount(n) => {
            let b = bytes(n);
            quote!(rt::PvRef::HdrCount(#b.to_vec()))
        }
        PvRef::Var(slot) => {
            let slot = Literal::usize_unsuffixed(*slot);
            quote!(rt::PvRef::Var(#slot))
        }
        PvRef::Avp(slot, nth) => {
            let (slot, nth) = (
                Literal::usize_unsuffixed(*slot),
                Literal::usize_unsuffixed(*nth),
            );
            quote!(rt::PvRef::Avp(#slot, #nth))
        }
        PvRef::Env(n) => quote!(rt::PvRef::Env(#n.to_string())),
        PvRef::Cfg(name) => quote!(rt::PvRef::Cfg(#name.to_string())),
        PvRef::Trans(inner, ops) => {
            let inner = pv_value(inner);
            let ops = ops.iter().map(|o| {
                let kind = variant(&o.kind);
                let args = o.args.iter().map(|a| match a {
                    crate::ir::TrArg::Int(n) => {
                        let n = expr::num(*n);
                        quote!(rt::TrArg::Int(#n))
                    }
                    crate::ir::TrArg::Str(s) => {
                        let b = bytes(s);
                        quote!(rt::TrArg::Str(#b.to_vec()))
                    }
                    crate::ir::TrArg::Pv(p) => {
                        let p = pv_value(p);
                        quote!(rt::TrArg::Pv(#p))
                    }
                });
                quote!(rt::TrOp { kind: rt::TrKind::#kind, args: Vec::from([#(#args),*]) })
            });
            quote!(rt::PvRef::Trans(Box::new(#inner), Vec::from([#(#ops),*])))
        }
        PvRef::Dbr(res, key) => {
            let key = dbr_key(*key);
            quote!(rt::PvRef::Dbr(#res.to_string(), #key))
        }
        PvRef::SqlRows(con) => quote!(rt::PvRef::SqlRows(#con.to_string())),
        PvRef::DlgVar(name) => quote!(rt::PvRef::DlgVar(#name.to_string())),
        PvRef::TMsg(which, inner) => {
            let w = variant(which);
            let inner = pv_value(inner);
            quote!(rt::PvRef::TMsg(rt::TMsg::#w, Box::new(#inner)))
        }
        PvRef::TextIter(kind, name) => {
            let k = variant(kind);
            quote!(rt::PvRef::TextIter(rt::IterKind::#k, #name.to_string()))
        }
        PvRef::Xavp(x) => {
            let x = xavp_name(x);
            quote!(rt::PvRef::Xavp(Box::new(#x)))
        }
        PvRef::Module(idx) => {
            let idx = Literal::u16_unsuffixed(*idx);
            quote!(rt::PvRef::Module(#idx))
        }
        PvRef::ShtRecord(value) => quote!(rt::PvRef::ShtRecord(#value)),
        PvRef::ShtIter(value, name) => quote!(rt::PvRef::ShtIter(#value, #name.to_string())),
        PvRef::Mq(kind, name) => {
            let k = variant(kind);
            let name = fmt_value(name);
            quote!(rt::PvRef::Mq(rt::MqPv::#k, #name))
        }
        PvRef::Sht(kind, name) => {
            let k = variant(kind);
            let table = &name.table;
            let key = fmt_value(&name.key);
            quote!(rt::PvRef::Sht(
                rt::ShtPv::#k,
                Box::new(rt::ShtName { table: #table.to_string(), key: #key })
            ))
        }
    }
}

/// A PV-format string as a Rust value (`Vec<rt::FmtSeg>`).
fn fmt_value(segs: &[crate::ir::FmtSeg]) -> TokenStream {
    let segs = segs.iter().map(|seg| match seg {
        crate::ir::FmtSeg::Lit(l) => {
            let b = bytes(l);
            quote!(rt::FmtSeg::Lit(#b.to_vec()))
        }
        crate::ir::FmtSeg::Pv(p) => {
            let p = pv_value(p);
            quote!(rt::FmtSeg::Pv(#p))
        }
    });
    quote!(Vec::from([#(#segs),*]))
}

/// `settings()`: listen sockets, aliases, core parameters and modparams.
fn settings(g: &Gen<'_>) -> TokenStream {
    let s = &g.program.settings;
    let listen = s.listen.iter().map(|l| {
        let (proto, host, port) = (&l.proto, &l.host, opt(l.port));
        quote!(rt::Listen { proto: #proto.into(), host: #host.into(), port: #port })
    });
    let aliases = s.aliases.iter().map(|(host, port)| {
        let port = opt(*port);
        quote!((#host.into(), #port))
    });
    let params = s.params.iter().map(|(name, v)| {
        let v = match v {
            CoreValue::Int(n) => {
                let n = expr::num(*n);
                quote!(rt::CoreValue::Int(#n))
            }
            CoreValue::Str(t) => quote!(rt::CoreValue::Str(#t.into())),
            CoreValue::Fmt(segs) => {
                let segs = fmt_value(segs);
                quote!(rt::CoreValue::Fmt(#segs))
            }
        };
        quote!((#name.into(), #v))
    });
    let modparams = s.modparams.iter().map(|m| {
        let (module, name) = (&m.module, &m.name);
        let value = match &m.value {
            ModParamValue::Int(n) => {
                let n = expr::num(*n);
                quote!(rt::ModParamValue::Int(#n))
            }
            ModParamValue::Str(t) => quote!(rt::ModParamValue::Str(#t.into())),
            ModParamValue::PvList(l) => {
                let items = l.iter().map(|(n, p)| {
                    let p = pv_value(p);
                    quote!((#n.into(), #p))
                });
                quote!(rt::ModParamValue::PvList(Vec::from([#(#items),*])))
            }
        };
        quote!(rt::ModParam { module: #module.into(), name: #name.into(), value: #value })
    });
    let modules = &s.modules;
    let cfg_vars = s.cfg_vars.iter().map(|(name, v)| {
        let v = match v {
            CoreValue::Int(n) => {
                let n = expr::num(*n);
                quote!(rt::CoreValue::Int(#n))
            }
            CoreValue::Str(t) => quote!(rt::CoreValue::Str(#t.into())),
            CoreValue::Fmt(_) => quote!(rt::CoreValue::Str(String::new())),
        };
        quote!((#name.into(), #v))
    });
    let static_tables = s
        .static_tables
        .iter()
        .map(|(m, t)| quote!((#m.into(), #t.into())));
    let avp_names = &s.avp_names;
    quote! {
        /// The configuration's listen sockets, aliases, core parameters and
        /// module parameters.
        pub fn settings() -> rt::Settings {
            rt::Settings {
                listen: Vec::from([#(#listen),*]),
                aliases: Vec::from([#(#aliases),*]),
                params: Vec::from([#(#params),*]),
                modparams: Vec::from([#(#modparams),*]),
                modules: Vec::from([#(#modules.into()),*]),
                cfg_vars: Vec::from([#(#cfg_vars),*]),
                static_tables: Vec::from([#(#static_tables),*]),
                avp_names: Vec::from([#(#avp_names.into()),*]),
            }
        }
    }
}

/// Formats generated tokens as a Rust file with an `@generated` header.
///
/// # Errors
/// If the tokens are not a valid Rust file (a code generation bug).
pub fn format_file(tokens: TokenStream, source_name: &str) -> Result<String, syn::Error> {
    let file: syn::File = syn::parse2(tokens)?;
    Ok(format!(
        "// @generated by cfgc from {source_name}. Do not edit.\n\n{}",
        prettyplease::unparse(&file)
    ))
}
