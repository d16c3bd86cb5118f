//! `kamailio_cfg!`: a proc-macro shim over the cfgc library. It parses its
//! arguments and returns what [`cfgc::Builder::expand`] writes; the logic
//! (and its tests) live there. Use it as `runtime::kamailio_cfg!`.

use syn::parse::{Parse, ParseStream};
use syn::{LitStr, Token};

/// `"path.cfg"`, then optionally `, defines = ["NAME", "NAME=VALUE"]`.
struct Args(LitStr, Vec<LitStr>);

impl Parse for Args {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
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
        Ok(Self(path, defines))
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
/// (compiled for real in `examples/macro`)
///
/// ```text
/// runtime::kamailio_cfg!("kamailio.cfg");
///
/// fn main() -> std::process::ExitCode {
///     runtime::proxy::main(Script::new(), &settings())
/// }
/// ```
#[proc_macro]
pub fn kamailio_cfg(input: proc_macro::TokenStream) -> proc_macro::TokenStream {
    let Args(path, defines) = syn::parse_macro_input!(input as Args);
    let mut builder = cfgc::Builder::new();
    for d in &defines {
        builder.define_arg(&d.value());
    }
    match builder.expand(path.value()).parse() {
        Ok(tokens) => tokens,
        Err(e) => syn::Error::new(path.span(), format!("cfgc generated invalid Rust: {e}"))
            .to_compile_error()
            .into(),
    }
}
