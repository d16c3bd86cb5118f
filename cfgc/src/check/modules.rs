//! Pass 1: `loadmodule`, `modparam` and core parameters, in file order.

use crate::catalog::{self, ParamKind, ParamType};
use crate::diag::{Diagnostic, Severity};
use crate::syntax::ast::{self, Item, ModParamValue, ParamValue};

use super::{CheckOutput, LoadedModule};

pub(super) fn check_top_level(file: &ast::File, out: &mut CheckOutput) {
    for item in &file.items {
        match item {
            Item::LoadModule { path, x, span } => {
                if *x && path.text.contains('$') {
                    // The name is computed at start-up: which module it
                    // loads cannot be accounted for.
                    out.diagnostics.push(
                        Diagnostic::new(
                            Severity::Unsupported,
                            "unsupported-module",
                            "a module name computed at start-up is not supported by cfgc's \
                             runtime yet",
                        )
                        .with_label(*span, "`loadmodulex` with variables")
                        .with_note("cfgc must know every module a configuration loads"),
                    );
                    continue;
                }
                let name = catalog::module_name_from_path(&path.text).to_string();
                if let Some(first) = out.modules.iter().find(|m| m.name == name) {
                    out.diagnostics.push(
                        Diagnostic::error(
                            "duplicate-loadmodule",
                            format!("module `{name}` is loaded twice"),
                        )
                        .with_label(path.span, "loaded again here")
                        .with_label(first.span, "first loaded here")
                        .with_note("Kamailio refuses to load the same module twice"),
                    );
                    continue;
                }
                let catalogued = catalog::module(&name).is_some();
                if !catalogued {
                    out.diagnostics.push(
                        Diagnostic::new(
                            Severity::Unsupported,
                            "uncatalogued-module",
                            format!("module `{name}` is not in cfgc's catalog"),
                        )
                        .with_label(path.span, "unknown module")
                        .with_note(
                            "its functions, parameters and PVs cannot be checked and are not \
                             reported individually",
                        )
                        .with_note(
                            "the catalog has every module of Kamailio 5.6.3: this is a \
                             third-party module, or one that 5.6.3 no longer ships (then \
                             Kamailio fails to load it)",
                        ),
                    );
                }
                if catalogued && cfgc_vocab::module_support(&name).is_none() {
                    out.diagnostics.push(unsupported_module(&name, *span));
                }
                out.modules.push(LoadedModule {
                    name,
                    span: *span,
                    catalogued,
                });
            }
            Item::ModParam(mp) => check_modparam(mp, out),
            Item::Param(p) => check_core_param(p, &mut out.diagnostics),
            _ => {}
        }
    }
}

/// Kamailio's module-name match: `^(re)$`, extended, case-insensitive.
pub(crate) fn module_matcher(re: &str) -> Option<::regex::Regex> {
    let translated = super::regex::translate_ere(re).ok()?;
    ::regex::RegexBuilder::new(&format!("^(?:{translated})$"))
        .case_insensitive(true)
        .build()
        .ok()
}

fn check_modparam(mp: &ast::ModParam, out: &mut CheckOutput) {
    let Some(re) = module_matcher(&mp.module.text) else {
        out.diagnostics.push(
            Diagnostic::error(
                "modparam-no-module",
                format!("invalid module name pattern `{}`", mp.module.text),
            )
            .with_label(mp.module.span, "not a valid POSIX extended regex"),
        );
        return;
    };
    let matched: Vec<&LoadedModule> = out
        .modules
        .iter()
        .filter(|m| re.is_match(&m.name))
        .collect();
    if matched.is_empty() {
        let mut d = Diagnostic::error(
            "modparam-no-module",
            format!("no loaded module matches `{}`", mp.module.text),
        )
        .with_label(
            mp.module.span,
            "no module of this name is loaded before this line",
        );
        let plain = mp.module.text.to_ascii_lowercase();
        if catalog::module(&plain).is_some() {
            d = d.with_help(format!(
                "add `loadmodule \"{plain}.so\"` before this `modparam`"
            ));
        }
        out.diagnostics.push(d);
        return;
    }
    let mut diags = Vec::new();
    for m in matched {
        let Some(module) = catalog::module(&m.name) else {
            continue;
        };
        let Some(param) = module.param(&mp.param.text) else {
            let mut d = Diagnostic::error(
                "unknown-modparam",
                format!("module `{}` has no parameter `{}`", m.name, mp.param.text),
            )
            .with_label(mp.param.span, "unknown parameter");
            if let Some(s) = closest(&mp.param.text, module.params.iter().map(|p| p.name)) {
                d = d.with_help(format!("a parameter with a similar name exists: `{s}`"));
            }
            diags.push(d);
            continue;
        };
        let given = match &mp.value {
            ModParamValue::Str(..) => Some(ParamKind::Str),
            ModParamValue::Int(..) => Some(ParamKind::Int),
            // modparamx with a PV: evaluated at startup, a string.
            ModParamValue::Pv(_) => None,
        };
        if let Some(given) = given
            && param.kind != ParamKind::Any
            && param.kind != given
        {
            let (want, got) = match param.kind {
                ParamKind::Int => ("an integer", "a string"),
                _ => ("a string", "an integer"),
            };
            let mut d = Diagnostic::error(
                "modparam-type",
                format!(
                    "parameter `{}` of module `{}` takes {want}",
                    mp.param.text, m.name
                ),
            )
            .with_label(mp.value.span(), format!("this is {got}"));
            if param.kind == ParamKind::Str {
                d = d.with_help("quote the value");
            } else if let ModParamValue::Str(s, _) = &mp.value
                && s.trim().parse::<i64>().is_ok()
            {
                d = d.with_help(format!("write the number without quotes: {}", s.trim()));
            }
            diags.push(d);
            continue;
        }
        if let Some(d) = unsupported_modparam(mp, &m.name, param.name) {
            diags.push(d);
        }
    }
    out.diagnostics.extend(diags);
}

/// `loadmodule` of a catalogued module the runtime does not implement:
/// refused even if none of its functions is called, since a module has
/// effects of its own (listeners, RPC, timers).
fn unsupported_module(name: &str, span: crate::source::Span) -> Diagnostic {
    Diagnostic::new(
        Severity::Unsupported,
        "unsupported-module",
        format!("module `{name}` is not supported by cfgc's runtime yet"),
    )
    .with_label(span, "loaded here")
    .with_note(
        "a loaded module has effects of its own (listeners, RPC commands, timers) even if \
         none of its functions is called; docs/modules.md lists the supported modules",
    )
}

/// A parameter of a supported module that the runtime neither reads nor
/// ignores harmlessly for this value (`cfgc_vocab::MODULES`).
fn unsupported_modparam(mp: &ast::ModParam, module: &str, param: &str) -> Option<Diagnostic> {
    use cfgc_vocab::{ModParamValue as V, ParamSupport};
    let support = cfgc_vocab::modparam_support(module, param)?;
    let value = match &mp.value {
        ModParamValue::Int(n, _) => V::Int(i32::try_from(*n).unwrap_or(i32::MAX)),
        ModParamValue::Str(s, _) => V::Str(s.clone()),
        // `modparamx` with variables: the lowering refuses it.
        ModParamValue::Pv(_) => return None,
    };
    if support.accepts(&value) {
        return None;
    }
    let (message, (span, label)) = match support {
        ParamSupport::NoOpIf(values, _) => {
            let values: Vec<String> = values
                .iter()
                .map(|v| format!("`{}`", v.written()))
                .collect();
            (
                format!(
                    "parameter `{param}` of module `{module}` set to another value than {} is \
                     not supported by cfgc's runtime yet",
                    values.join(" or ")
                ),
                (mp.value.span(), "this value is not supported yet"),
            )
        }
        _ => (
            format!(
                "parameter `{param}` of module `{module}` is not supported by cfgc's runtime yet"
            ),
            (mp.span, "not supported yet"),
        ),
    };
    Some(
        Diagnostic::new(Severity::Unsupported, "unsupported-modparam", message)
            .with_label(span, label)
            .with_note("docs/modules.md lists what the runtime does with each parameter"),
    )
}

fn check_core_param(p: &ast::ParamAssign, diags: &mut Vec<Diagnostic>) {
    let Some(cp) = catalog::core_param(p.name) else {
        return;
    };
    let ok = match (&p.value, cp.kind) {
        (ParamValue::Int(n, _), ParamType::Int) => *n >= 0,
        (ParamValue::Int(..), ParamType::Sint | ParamType::IntOrId) => true,
        (ParamValue::Str(..), ParamType::Str | ParamType::StrOrId | ParamType::Host) => true,
        (ParamValue::Ident(..), ParamType::StrOrId | ParamType::Id | ParamType::IntOrId) => true,
        (ParamValue::Ident(..) | ParamValue::Host(_), ParamType::Host) => true,
        (ParamValue::Host(h), ParamType::Ip) => {
            matches!(h.kind, ast::HostKind::Ipv4 | ast::HostKind::Ipv6)
        }
        (ParamValue::Proto(..), ParamType::Proto) => true,
        (ParamValue::Ident(..) | ParamValue::Proto(..), ParamType::TlsMethod) => true,
        _ => false,
    };
    if ok {
        if cp.name == "log_facility"
            && let ParamValue::Ident(v, span) = &p.value
            && !catalog::core::SYSLOG_FACILITIES.contains(&v.to_ascii_uppercase().as_str())
        {
            diags.push(
                Diagnostic::error("bad-param-value", format!("`{v}` is not a syslog facility"))
                    .with_label(*span, "unknown facility")
                    .with_help("use LOG_LOCAL0 ... LOG_LOCAL7, LOG_USER, LOG_DAEMON, ..."),
            );
        }
        return;
    }
    let got = match &p.value {
        ParamValue::Int(n, _) if *n < 0 => "a negative number",
        ParamValue::Int(..) => "a number",
        ParamValue::Str(..) => "a string",
        ParamValue::Ident(..) => "an identifier",
        ParamValue::Host(_) => "an address",
        ParamValue::Proto(..) => "a transport",
    };
    let mut d = Diagnostic::error(
        "bad-param-value",
        format!("core parameter `{}` takes {}", cp.name, cp.kind.describe()),
    )
    .with_label(p.value.span(), format!("this is {got}"));
    if let (ParamValue::Str(s, _), ParamType::Int | ParamType::Sint) = (&p.value, cp.kind)
        && s.trim().parse::<i64>().is_ok()
    {
        d = d.with_help(format!("write the number without quotes: {}", s.trim()));
    }
    diags.push(d);
}

/// The candidate closest to `name` by edit distance, if close enough.
pub(super) fn closest<'a>(
    name: &str,
    candidates: impl Iterator<Item = &'a str>,
) -> Option<&'a str> {
    let limit = (name.len() / 3).max(1);
    candidates
        .map(|c| (levenshtein(name, c), c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// Optimal-string-alignment distance (edits, with adjacent transpositions).
fn levenshtein(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = v;
        }
    }
    d[a.len()][b.len()]
}
