//! Generates the interpreter's table of module functions from the
//! vocabulary's binding table (`cfgc_vocab::BINDINGS`), the one list of
//! what the runtime supports: every binding code generation can call, the
//! interpreter can call too, through a wrapper that unpacks evaluated
//! arguments as the binding says. The table is indexed by `BindingId`.

use std::fmt::Write as _;
use std::path::PathBuf;

use cfgc_vocab::{ArgConv, BINDINGS};

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let mut rows = String::new();
    for b in BINDINGS {
        let mut args: Vec<String> = vec!["ctx".into()];
        if let Some(l) = b.fixed_level {
            args.push(format!("::runtime::engine::log::Level::{l:?}"));
        }
        for (i, conv) in b.args.iter().enumerate() {
            args.push(match conv {
                ArgConv::Int
                | ArgConv::FailureRoute
                | ArgConv::BranchRoute
                | ArgConv::OnreplyRoute => format!("a[{i}].int()"),
                ArgConv::Fmt | ArgConv::Str | ArgConv::VarOrStr | ArgConv::VarOrFmt => {
                    format!("a[{i}].bytes()")
                }
                ArgConv::Level => format!("a[{i}].level()"),
                ArgConv::PvList
                | ArgConv::PvOut
                | ArgConv::AvpOut
                | ArgConv::PvWrite
                | ArgConv::PvAny => {
                    format!("a[{i}].pvs()")
                }
                ArgConv::Regex | ArgConv::RegexNl => {
                    format!("match a[{i}].re() {{ Some(r) => r, None => return -1 }}")
                }
                // Three parameters: the compiled regex, the text, the PVs
                // of the replacement.
                ArgConv::Subst => {
                    format!(
                        "match a[{i}].re() {{ Some(r) => r, None => return -1 }}, a[{i}].bytes(), a[{i}].subst_pvs()"
                    )
                }
            });
        }
        let _ = writeln!(
            rows,
            "    // {}.{}/{}\n    |ctx: &mut Ctx<'_>, a: &[ArgV<'_>]| ::runtime::{}({}),",
            b.module,
            b.name,
            b.args.len(),
            b.path,
            args.join(", ")
        );
    }
    let code = format!(
        "/// The runtime function of each binding, by `BindingId`.\n\
         #[allow(unused_variables, reason = \"functions without arguments ignore `a`\")]\n\
         static MODULE_FNS: [ModFn; {}] = [\n{rows}];\n",
        BINDINGS.len()
    );
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    std::fs::write(out.join("module_fns.rs"), code).expect("OUT_DIR writable");
}
