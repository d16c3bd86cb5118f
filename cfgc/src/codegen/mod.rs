//! IR → Rust. One method per route; `route(X)` is a direct call; module
//! functions are direct calls to their runtime bindings; PVs are direct
//! accessor calls; regexes are compiled once when the script is created.
//! Generated code names the runtime only by full paths under a configurable
//! root (default `::runtime`).

mod expr;
mod stmt;

use proc_macro2::{Ident, Span, TokenStream};
use quote::{format_ident, quote};

use crate::ir::{ModParamValue, Program, Route};

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
    pub(crate) rt: TokenStream,
    pub(crate) program: &'p Program,
    /// Counter for unique labels of switch blocks.
    pub(crate) labels: std::cell::Cell<usize>,
}

impl Gen<'_> {
    pub(crate) fn route_fn(&self, id: usize) -> Ident {
        let r = &self.program.routes[id];
        let clean: String = r
            .name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_lowercase()
                } else {
                    '_'
                }
            })
            .collect();
        format_ident!("route_{}_{}", id, clean)
    }

    pub(crate) fn fresh_label(&self) -> syn::Lifetime {
        let n = self.labels.get();
        self.labels.set(n + 1);
        syn::Lifetime::new(&format!("'__kam_sw{n}"), Span::call_site())
    }
}

/// Generates the Rust items of a program: a `Script` type implementing the
/// runtime's script trait, and a `SETTINGS` constant with the core
/// parameters.
pub fn generate(program: &Program, opts: &Options) -> TokenStream {
    let rt: TokenStream = opts
        .runtime_path
        .parse()
        .unwrap_or_else(|_| quote!(::runtime));
    let g = Gen {
        rt: rt.clone(),
        program,
        labels: std::cell::Cell::new(0),
    };
    let routes = program
        .routes
        .iter()
        .enumerate()
        .map(|(i, r)| route(&g, i, r));
    let regexes = program.regexes.iter();
    let n_regex = program.regexes.len();
    let var_count = program.vars.len();
    let request = match program.main {
        Some(id) => {
            let f = g.route_fn(id);
            quote!(self.#f(ctx))
        }
        None => quote!(::core::result::Result::Ok(1)),
    };
    let reply = match program.core_reply {
        Some(id) => {
            let f = g.route_fn(id);
            quote!(::core::option::Option::Some(self.#f(ctx)))
        }
        None => quote!(::core::option::Option::None),
    };
    let dispatch = |name: &str, list: &[usize], doc: &str| {
        if list.is_empty() {
            // The trait's default: no such block.
            return TokenStream::new();
        }
        let f = format_ident!("{}", name);
        let arms = list.iter().enumerate().map(|(i, id)| {
            let i = i as u32;
            let route = g.route_fn(*id);
            quote!(#i => self.#route(ctx),)
        });
        quote! {
            #[doc = #doc]
            fn #f(&self, idx: u32, ctx: &mut #rt::engine::Ctx<'_>) -> #rt::engine::Flow {
                match idx {
                    #(#arms)*
                    _ => ::core::result::Result::Ok(1),
                }
            }
        }
    };
    let failure = dispatch(
        "failure_route",
        &program.failure_routes,
        "`failure_route` blocks, by the index `t_on_failure` arms.",
    );
    let branch = dispatch(
        "branch_route",
        &program.branch_routes,
        "`branch_route` blocks, by the index `t_on_branch` arms.",
    );
    let onreply = dispatch(
        "onreply_route",
        &program.onreply_routes,
        "Named `onreply_route` blocks, by the index `t_on_reply` arms.",
    );
    let acc_extra = acc_extra(&g);
    let settings = settings(&g);
    quote! {
        /// The compiled routing script.
        #[allow(dead_code, reason = "a cfg without `=~` has no regexes")]
        pub struct Script {
            regexes: ::std::vec::Vec<#rt::regex::bytes::Regex>,
        }

        impl Script {
            /// Compiles the script's regexes (checked by cfgc at build time).
            pub fn new() -> Self {
                let sources: [&str; #n_regex] = [#(#regexes),*];
                Self {
                    regexes: sources
                        .iter()
                        .map(|s| #rt::regex::bytes::Regex::new(s).expect("regex validated by cfgc"))
                        .collect(),
                }
            }

            #(#routes)*
        }

        impl ::core::default::Default for Script {
            fn default() -> Self {
                Self::new()
            }
        }

        impl #rt::engine::Script for Script {
            fn var_count(&self) -> usize {
                #var_count
            }

            fn request_route(&self, ctx: &mut #rt::engine::Ctx<'_>) -> #rt::engine::Flow {
                #request
            }

            #[allow(unused_variables, reason = "a cfg without a reply route ignores the context")]
            fn reply_route(&self, ctx: &mut #rt::engine::Ctx<'_>) -> ::core::option::Option<#rt::engine::Flow> {
                #reply
            }

            #failure
            #branch
            #onreply
            #acc_extra
        }

        #settings
    }
}

/// acc's `log_extra`: one `;name=value` per extra, PVs read directly.
fn acc_extra(g: &Gen<'_>) -> TokenStream {
    let extras = &g.program.acc_extra;
    if extras.is_empty() {
        // The trait's default: no extras.
        return TokenStream::new();
    }
    let rt = &g.rt;
    let pushes = extras.iter().map(|(name, pv)| {
        let v = expr::pv_read(g, pv);
        quote!(#rt::modules::acc::push_extra(out, #name, &#v);)
    });
    quote! {
        /// acc's `log_extra`.
        fn acc_extra(&self, ctx: &#rt::engine::Ctx<'_>, out: &mut ::std::vec::Vec<u8>) {
            #(#pushes)*
        }
    }
}

fn route(g: &Gen<'_>, id: usize, r: &Route) -> TokenStream {
    let rt = &g.rt;
    let f = g.route_fn(id);
    let body = stmt::block(g, &r.body, stmt::Breakable::Route);
    let doc = format!("`{}[{}]`", r.kind.keyword(), r.name);
    quote! {
        #[doc = #doc]
        #[allow(
            unused_mut,
            unused_variables,
            unused_assignments,
            unreachable_code,
            reason = "a route's value is the last action's; not every route reads it"
        )]
        #[allow(
            clippy::collapsible_if,
            clippy::collapsible_else_if,
            reason = "blocks mirror the cfg's, one Rust `if` per cfg `if`"
        )]
        fn #f(&self, ctx: &mut #rt::engine::Ctx<'_>) -> #rt::engine::Flow {
            let mut last: i32 = 1;
            #body
            ::core::result::Result::Ok(last)
        }
    }
}

fn settings(g: &Gen<'_>) -> TokenStream {
    let rt = &g.rt;
    let c = &g.program.core;
    let opt_str = |s: &Option<String>| match s {
        Some(s) => quote!(::core::option::Option::Some(#s)),
        None => quote!(::core::option::Option::None),
    };
    let opt_num = |n: Option<i64>| match n {
        Some(n) => {
            let n = n as i32;
            quote!(::core::option::Option::Some(#n))
        }
        None => quote!(::core::option::Option::None),
    };
    let listen = c.listen.iter().map(|(proto, host, port)| {
        let port = opt_num(port.map(i64::from));
        quote!((#proto, #host, #port))
    });
    let aliases = c.aliases.iter().map(|(host, port)| {
        let port = opt_num(port.map(i64::from));
        quote!((#host, #port))
    });
    let port = opt_num(c.port.map(i64::from));
    let children = opt_num(c.children.map(i64::from));
    let debug = opt_num(c.debug.map(i64::from));
    let log_stderror = match c.log_stderror {
        Some(b) => quote!(::core::option::Option::Some(#b)),
        None => quote!(::core::option::Option::None),
    };
    let log_prefix = opt_str(&c.log_prefix);
    let log_facility = opt_str(&c.log_facility);
    let log_name = opt_str(&c.log_name);
    let adv_addr = opt_str(&c.advertised_address);
    let adv_port = opt_num(c.advertised_port.map(i64::from));
    let server_header = opt_str(&c.server_header);
    let modparams = g.program.modparams.iter().map(|m| {
        let (module, name) = (&m.module, &m.name);
        let value = match &m.value {
            ModParamValue::Int(n) => quote!(#rt::proxy::ModParamValue::Int(#n)),
            ModParamValue::Str(s) => quote!(#rt::proxy::ModParamValue::Str(#s)),
        };
        quote!((#module, #name, #value))
    });
    quote! {
        /// Core parameters of the configuration.
        pub const SETTINGS: #rt::proxy::Settings = #rt::proxy::Settings {
            listen: &[#(#listen),*],
            aliases: &[#(#aliases),*],
            port: #port,
            children: #children,
            debug: #debug,
            log_stderror: #log_stderror,
            log_prefix: #log_prefix,
            log_facility: #log_facility,
            log_name: #log_name,
            advertised_address: #adv_addr,
            advertised_port: #adv_port,
            server_header: #server_header,
            modparams: &[#(#modparams),*],
        };
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
