//! What cfgc's runtime does with each module and each module parameter,
//! seen from the catalog: the table itself is the vocabulary's
//! (`cfgc_vocab::MODULES`, shared with the runtime, which checks the same
//! parameters at start-up); here it is checked against the catalog (every
//! name it lists exists, with a matching kind) and rendered as
//! `docs/modules.md` ([`markdown`]; a test keeps the two equal).

use cfgc_vocab::{MODULES, ParamSupport, ValueKind};

use super::modules;

/// Whether the runtime implements module `name` (`loadmodule` of any other
/// is "not supported yet").
pub fn is_supported(name: &str) -> bool {
    cfgc_vocab::module_support(name).is_some()
}

/// One parameter's state, as the docs show it: (state, reason).
fn state(s: ParamSupport) -> (String, String) {
    match s {
        ParamSupport::Implemented(k) => {
            let kind = match k {
                ValueKind::Int => "int",
                ValueKind::Str => "string",
                ValueKind::PvList => "`name=$pv;...` list",
                ValueKind::Pv => "a PV",
            };
            (format!("implemented ({kind})"), String::new())
        }
        ParamSupport::NoOp(why) => ("no-op".into(), why.into()),
        ParamSupport::NoOpIf(values, why) => {
            let v: Vec<String> = values
                .iter()
                .map(|v| format!("`{}`", v.written()))
                .collect();
            (format!("no-op only {}", v.join(" or ")), why.into())
        }
        ParamSupport::Unsupported => ("not supported yet".into(), String::new()),
    }
}

/// The generated part of `docs/modules.md`: per supported module, every
/// parameter of the catalog with its state; then the catalogued modules
/// that are not supported yet.
pub fn markdown() -> String {
    let mut out = String::from("## Supported modules\n\n");
    let names: Vec<String> = MODULES.iter().map(|m| format!("`{}`", m.name)).collect();
    out.push_str(&format!("{}.\n", names.join(", ")));
    for m in MODULES {
        out.push_str(&format!(
            "\n### {}\n\nIn the runtime: {}.\n\n",
            m.name, m.runtime
        ));
        let params = super::module(m.name).map_or(&[][..], |c| c.params);
        if params.is_empty() {
            out.push_str("No parameters.\n");
            continue;
        }
        let mut params: Vec<_> = params.iter().map(|p| p.name).collect();
        params.sort_unstable();
        out.push_str("| parameter | state | why it has no effect |\n|---|---|---|\n");
        for p in params {
            let (state, why) = state(m.param(p));
            out.push_str(&format!("| `{p}` | {state} | {why} |\n"));
        }
    }
    out.push_str(
        "\n## Event routes\n\nThe `event_route` blocks the runtime runs, each as Kamailio runs it: \
         as a request route on Kamailio's faked message (`OPTIONS sip:you@kamailio.org`, \
         from 1.0.0.127:5060 over UDP, `$Ri`/`$Rp` `$null`). A block of a module the cfg \
         does not load never runs, as in Kamailio; any other `event_route` is \
         \"not supported yet\".\n\n| event route | raised by | when |\n|---|---|---|\n",
    );
    for e in cfgc_vocab::EVENT_ROUTES {
        let name = if e.prefix {
            format!("`{}NAME`", e.name)
        } else {
            format!("`{}`", e.name)
        };
        out.push_str(&format!(
            "| {name} | {} | {} |\n",
            e.module.unwrap_or("the core"),
            e.when
        ));
    }
    let mut rest: Vec<&str> = modules()
        .iter()
        .map(|m| m.name)
        .filter(|n| cfgc_vocab::module_support(n).is_none())
        .collect();
    rest.sort_unstable();
    out.push_str(&format!(
        "\n## Catalogued modules not supported yet\n\n{} modules; `loadmodule` of any of them is \
         \"not supported yet\":\n\n",
        rest.len()
    ));
    let rest: Vec<String> = rest.iter().map(|n| format!("`{n}`")).collect();
    out.push_str(&rest.join(", "));
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::super::ParamKind;
    use super::*;

    /// Every module and parameter of the table exists in the catalog, and
    /// an implemented parameter is read as the kind Kamailio declares.
    #[test]
    fn the_table_names_catalogued_modules_and_parameters() {
        for m in MODULES {
            let c = super::super::module(m.name)
                .unwrap_or_else(|| panic!("module `{}` is not in the catalog", m.name));
            for (name, s) in m.params {
                let p = c
                    .param(name)
                    .unwrap_or_else(|| panic!("`{}` has no parameter `{name}`", m.name));
                if let ParamSupport::Implemented(k) = s {
                    let ok = matches!(
                        (p.kind, k),
                        (ParamKind::Any, _)
                            | (ParamKind::Int, ValueKind::Int)
                            | (
                                ParamKind::Str,
                                ValueKind::Str | ValueKind::PvList | ValueKind::Pv
                            )
                    );
                    assert!(ok, "{}.{name}: catalog {:?}, table {k:?}", m.name, p.kind);
                }
            }
        }
    }

    /// `docs/modules.md` holds exactly [`markdown`]'s text.
    /// `UPDATE_DOCS=1 cargo test -p cfgc module_support` rewrites it.
    #[test]
    fn docs_are_current() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("..")
            .join("docs")
            .join("modules.md");
        let text = std::fs::read_to_string(&path).expect("docs/modules.md");
        const START: &str = "<!-- generated by cfgc::catalog::module_support::markdown -->\n";
        const END: &str = "<!-- end of generated text -->";
        let (head, rest) = text.split_once(START).expect("start marker");
        let (table, tail) = rest.split_once(END).expect("end marker");
        let want = markdown();
        if table != want {
            if std::env::var_os("UPDATE_DOCS").is_some() {
                std::fs::write(&path, format!("{head}{START}{want}{END}{tail}"))
                    .expect("write docs");
            } else {
                panic!(
                    "docs/modules.md is out of date: run `UPDATE_DOCS=1 cargo test -p cfgc module_support`"
                );
            }
        }
    }
}
