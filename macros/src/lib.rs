//! `kamailio_cfg!`: a proc-macro shim over the cfgc library. It parses its
//! arguments and returns what [`cfgc::Builder::expand`] writes; the logic
//! (and its tests) live there. Use it as `cfgc_runtime::kamailio_cfg!`: that
//! wrapper passes `$crate` in, so generated code names the runtime however
//! the user's Cargo.toml names it.

use proc_macro2::{Group, TokenStream, TokenTree};
use syn::parse::{Parse, ParseStream};
use syn::{LitStr, Token};

/// The runtime root generated code is written with, replaced by the root
/// the `cfgc_runtime::kamailio_cfg!` wrapper passes in (`$crate`).
const ROOT: &str = "__cfgc_runtime_root";

/// Optionally `[ROOT-PATH]` (from the wrapper), then `"path.cfg"`, then
/// optionally `, defines = ["NAME", "NAME=VALUE"]`.
struct Args(Option<TokenStream>, LitStr, Vec<LitStr>);

impl Parse for Args {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let root = if input.peek(syn::token::Bracket) {
            let inner;
            syn::bracketed!(inner in input);
            Some(inner.parse::<TokenStream>()?)
        } else {
            None
        };
        let path = input.parse()?;
        let mut defines = Vec::new();
        if input.parse::<Option<Token![,]>>()?.is_some() && !input.is_empty() {
            let key: syn::Ident = input.parse()?;
            if key != "defines" {
                return Err(syn::Error::new(key.span(), "expected `defines = [...]`"));
            }
            input.parse::<Token![=]>()?;
            let list;
            syn::bracketed!(list in input);
            defines = list
                .parse_terminated(|s| s.parse::<LitStr>(), Token![,])?
                .into_iter()
                .collect();
            input.parse::<Option<Token![,]>>()?;
        }
        Ok(Self(root, path, defines))
    }
}

/// Compiles a `kamailio.cfg` into a `Script` type and a `settings()` function
/// at the call site: `kamailio_cfg!("kamailio.cfg")` or
/// `kamailio_cfg!("kamailio.cfg", defines = ["WITH_NAT", "PORT=5070"])`
/// (Kamailio's `-A`). The path is relative to `CARGO_MANIFEST_DIR`; cargo
/// recompiles when the cfg or a file it includes changes.
///
/// Each error in the cfg is a `compile_error!` with its `file:line:col` and
/// source line; a stub `Script` and `settings()` then stand in, so that these
/// are the only errors.
///
/// Called directly (not through the runtime's wrapper), generated code
/// names the runtime `::cfgc_runtime`. (Compiled for real in
/// `examples/macro`.)
///
/// ```text
/// cfgc_runtime::kamailio_cfg!("kamailio.cfg");
///
/// fn main() -> std::process::ExitCode {
///     cfgc_runtime::proxy::main(Script::new(), &settings())
/// }
/// ```
#[proc_macro]
pub fn kamailio_cfg(input: proc_macro::TokenStream) -> proc_macro::TokenStream {
    let Args(root, path, defines) = syn::parse_macro_input!(input as Args);
    let mut builder = cfgc::Builder::new();
    for d in &defines {
        builder.define_arg(&d.value());
    }
    if root.is_some() {
        builder.runtime_path(ROOT);
    }
    match builder.expand(path.value()).parse::<TokenStream>() {
        Ok(tokens) => match root {
            Some(root) => replace_root(tokens, &root).into(),
            None => tokens.into(),
        },
        Err(e) => syn::Error::new(path.span(), format!("cfgc generated invalid Rust: {e}"))
            .to_compile_error()
            .into(),
    }
}

/// `tokens` with every [`ROOT`] identifier replaced by `root`.
fn replace_root(tokens: TokenStream, root: &TokenStream) -> TokenStream {
    tokens
        .into_iter()
        .flat_map(|t| -> TokenStream {
            match t {
                TokenTree::Ident(i) if i == ROOT => root.clone(),
                TokenTree::Group(g) => {
                    let mut new = Group::new(g.delimiter(), replace_root(g.stream(), root));
                    new.set_span(g.span());
                    TokenTree::Group(new).into()
                }
                t => t.into(),
            }
        })
        .collect()
}
