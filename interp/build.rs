//! Generates the interpreter's table of module functions from cfgc's
//! binding table (`cfgc::catalog::runtime::BINDINGS`), the one list of what
//! the runtime supports: every binding code generation can call, the
//! interpreter can call too, through a wrapper that unpacks evaluated
//! arguments as the binding says.

use std::fmt::Write as _;
use std::path::PathBuf;

use cfgc::catalog::runtime::{ArgConv, BINDINGS, CtxUse};

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let mut arms = String::new();
    for b in BINDINGS {
        let mut args: Vec<String> = Vec::new();
        if !b.fixed.is_empty() {
            args.push(b.fixed.to_string());
        }
        for (i, conv) in b.args.iter().enumerate() {
            args.push(match conv {
                ArgConv::Int
                | ArgConv::FailureRoute
                | ArgConv::BranchRoute
                | ArgConv::OnreplyRoute => format!("a[{i}].int()"),
                ArgConv::Fmt | ArgConv::Str => format!("a[{i}].bytes()"),
                ArgConv::Level => format!("a[{i}].level()"),
            });
        }
        let ctx = match b.ctx {
            CtxUse::Mut => "ctx",
            CtxUse::Shared => "&*ctx",
        };
        let _ = writeln!(
            arms,
            "        ({:?}, {:?}, {}) => Some(|ctx: &mut Ctx<'_>, a: &[ArgV<'_>]| ::runtime::{}({ctx}, {})),",
            b.module,
            b.name,
            b.args.len(),
            b.path,
            args.join(", ")
        );
    }
    let code = format!(
        "/// The runtime function of a supported module function.\n\
         #[allow(unused_variables, reason = \"functions without arguments ignore `a`\")]\n\
         pub(crate) fn module_fn(module: &str, name: &str, arity: usize) -> Option<ModFn> {{\n\
         \x20   match (module, name, arity) {{\n{arms}        _ => None,\n    }}\n}}\n"
    );
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    std::fs::write(out.join("module_fns.rs"), code).expect("OUT_DIR writable");
}
