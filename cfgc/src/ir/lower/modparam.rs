//! Module parameters whose text the compiler resolves, one lowering per
//! (module, parameter): the module-specific part of lowering lives here,
//! not in the generic pass. Each turns the cfg's string into the value the
//! runtime module reads (a [`ModParamValue`]), or reports why it cannot.

use crate::catalog;
use crate::check::pvar;
use crate::diag::Diagnostic;
use crate::source::Span;

use super::super::ModParamValue;
use super::Lowerer;
use cfgc_vocab::PvRef;

/// Lowers one string value; `None` when it was reported.
pub(super) type Lowering = fn(&mut Lowerer<'_>, &str, Span) -> Option<ModParamValue>;

/// Parameters with a lowering of their own: (module, parameter, lowering).
static LOWERINGS: &[(&str, &str, Lowering)] = &[
    ("acc", "log_extra", acc_log_extra),
    ("acc", "db_extra", acc_db_extra),
    ("acc", "db_table_acc", acc_table),
    ("acc", "db_table_missed_calls", acc_table),
    ("auth_db", "load_credentials", auth_db_load_credentials),
    ("dialog", "timeout_avp", dialog_timeout_avp),
    ("htable", "htable", htable_spec),
    ("permissions", "peer_tag_avp", permissions_peer_tag_avp),
    ("nathelper", "received_avp", nathelper_received_avp),
    ("registrar", "received_avp", registrar_received_avp),
    ("rtpproxy", "rtpproxy_sock", rtpproxy_sock),
    ("uac", "auth_realm_avp", uac_auth_realm_avp),
    ("uac", "auth_username_avp", uac_auth_username_avp),
    ("uac", "auth_password_avp", uac_auth_password_avp),
];

/// The lowering of `modparam(module, name, ...)`, if it has one
/// (parameter names are case-insensitive, as Kamailio's).
pub(super) fn lowering(module: &str, name: &str) -> Option<Lowering> {
    LOWERINGS
        .iter()
        .find(|(m, n, _)| *m == module && n.eq_ignore_ascii_case(name))
        .map(|(_, _, f)| *f)
}

/// rtpproxy's `rtpproxy_sock` (`[N ==] url[=weight] ...`): passed on
/// as written; an instance on a unix socket (`unix:`, or any URL without
/// `udp:`/`udp6:`, which Kamailio takes as a socket path) is not
/// supported yet.
fn rtpproxy_sock(l: &mut Lowerer<'_>, text: &str, span: Span) -> Option<ModParamValue> {
    let list = text.find("==").map_or(text, |i| &text[i + 2..]);
    for word in list.split_ascii_whitespace() {
        let url = word.split('=').next().unwrap_or(word);
        let lower = url.to_ascii_lowercase();
        if !lower.starts_with("udp:") && !lower.starts_with("udp6:") {
            l.diags.push(
                Diagnostic::new(
                    crate::diag::Severity::Unsupported,
                    "unsupported-modparam",
                    format!(
                        "the rtpproxy instance `{url}` (a unix socket) is not supported by \
                         cfgc's runtime yet"
                    ),
                )
                .with_label(span, "not supported yet")
                .with_help("give it a UDP control socket: `udp:127.0.0.1:7722`"),
            );
            return None;
        }
    }
    Some(ModParamValue::Str(text.to_string()))
}

/// htable's table definition (`name=>key=value;...`): passed on as
/// written (the runtime parses it as Kamailio does and refuses what
/// Kamailio refuses); custom database columns (`cols`) and DMQ
/// replication (`dmqreplicate` other than 0) are not supported yet.
fn htable_spec(l: &mut Lowerer<'_>, text: &str, span: Span) -> Option<ModParamValue> {
    let params = text.split_once("=>").map_or("", |(_, p)| p);
    for p in params.split(';') {
        let (k, v) = p.split_once('=').unwrap_or((p, ""));
        let (k, v) = (k.trim(), v.trim());
        if k == "cols" || (k == "dmqreplicate" && v != "0") {
            l.diags.push(
                Diagnostic::new(
                    crate::diag::Severity::Unsupported,
                    "unsupported-modparam",
                    format!("htable's `{k}` is not supported by cfgc's runtime yet"),
                )
                .with_label(span, "not supported yet"),
            );
            return None;
        }
    }
    Some(ModParamValue::Str(text.to_string()))
}

/// acc's `log_extra`.
fn acc_log_extra(l: &mut Lowerer<'_>, text: &str, span: Span) -> Option<ModParamValue> {
    acc_extra(l, "log_extra", text, span)
}

/// acc's `db_extra` (column names for the database).
fn acc_db_extra(l: &mut Lowerer<'_>, text: &str, span: Span) -> Option<ModParamValue> {
    acc_extra(l, "db_extra", text, span)
}

/// acc's `db_table_acc` / `db_table_missed_calls`: a plain name is
/// passed on; a name with PVs (Kamailio evaluates it per record) is not
/// supported yet.
fn acc_table(l: &mut Lowerer<'_>, text: &str, span: Span) -> Option<ModParamValue> {
    if text.contains('$') {
        l.diags.push(
            Diagnostic::new(
                crate::diag::Severity::Unsupported,
                "unsupported-modparam",
                format!(
                    "an acc table name computed per record (\"{text}\") is not supported by \
                     cfgc's runtime yet"
                ),
            )
            .with_label(span, "not supported yet")
            .with_help("name the table: `modparam(\"acc\", \"db_table_acc\", \"acc\")`"),
        );
        return None;
    }
    Some(ModParamValue::Str(text.to_string()))
}

/// acc's `log_extra` / `db_extra` (`param`): `name=$pv;...` as Kamailio's
/// parse_acc_extra reads it, each PV resolved now (the runtime has no PV
/// parser). `None` (with a diagnostic) when malformed.
fn acc_extra(l: &mut Lowerer<'_>, param: &str, text: &str, span: Span) -> Option<ModParamValue> {
    let malformed = |why: String| {
        Diagnostic::error(
            "acc-log-extra",
            format!("malformed acc `{param}` \"{text}\": {why}"),
        )
        .with_label(span, "")
        .with_help("the format is `name=$pv;name=$pv;...`")
    };
    let mut extras = Vec::new();
    let mut ok = true;
    let mut rest = text;
    while !rest.is_empty() {
        rest = rest.trim_start();
        if rest.is_empty() {
            l.diags.push(malformed("nothing after the last `;`".into()));
            return None;
        }
        let name_end = rest
            .find(|c: char| c.is_ascii_whitespace() || c == '=')
            .unwrap_or(rest.len());
        let name = &rest[..name_end];
        let Some(after) = rest[name_end..].trim_start().strip_prefix('=') else {
            l.diags
                .push(malformed(format!("expected `=` after `{name}`")));
            return None;
        };
        let value = after.trim_start();
        let (spec, len) = match pvar::parse_spec(value) {
            Ok(v) => v,
            Err(e) => {
                l.diags
                    .push(malformed(format!("the value of `{name}`: {}", e.0)));
                return None;
            }
        };
        let pv_text = &value[..len];
        let known = |n: &str| {
            catalog::core_pv(n).is_some()
                || catalog::modules()
                    .iter()
                    .any(|m| m.pvs.iter().any(|p| p.name == n))
        };
        if let Some(bad) = std::iter::once(spec.clone())
            .chain(pvar::nested(&spec))
            .find(|s| !known(&s.name))
        {
            l.diags.push(
                Diagnostic::error(
                    "unknown-pv",
                    format!("unknown PV `${}` in acc `{param}`", bad.name),
                )
                .with_label(span, ""),
            );
            ok = false;
        } else {
            match l.pv_ref(&spec, span) {
                Some(r) => extras.push((name.to_string(), r)),
                None => ok = false,
            }
        }
        rest = value[len..].trim_start();
        if let Some(r) = rest.strip_prefix(';') {
            if r.is_empty() {
                l.diags.push(malformed("nothing after the last `;`".into()));
                return None;
            }
            rest = r;
        } else if !rest.is_empty() {
            l.diags.push(malformed(format!(
                "expected `;` after `{pv_text}`, found `{rest}`"
            )));
            return None;
        }
    }
    ok.then_some(ModParamValue::PvList(extras))
}

/// auth_db's `load_credentials`: `;`-separated items, each `pv=column`
/// (the last `=` separates them, as Kamailio's parse_aaa_pvs searches
/// backwards) or a bare `column` meaning `$avp(column)`; resolved to
/// `(column, PV)` pairs in cfg order. The PV must be writable (Kamailio
/// refuses to start otherwise); the runtime writes `$avp`/`$var` ones.
fn auth_db_load_credentials(l: &mut Lowerer<'_>, text: &str, span: Span) -> Option<ModParamValue> {
    let mut out = Vec::new();
    let mut ok = true;
    for item in text.split(';') {
        if item.trim().is_empty() {
            // Kamailio stops at an empty item (the end, or `;;`).
            continue;
        }
        let (pv_text, column) = match item.rfind('=') {
            Some(i) if i > 0 => (item[..i].trim().to_string(), item[i + 1..].trim()),
            _ => (format!("$avp({})", item.trim()), item.trim()),
        };
        if column.is_empty() || pv_text.is_empty() {
            l.diags.push(
                Diagnostic::error(
                    "auth-db-credentials",
                    format!("malformed auth_db `load_credentials` \"{text}\": `{item}`"),
                )
                .with_label(span, "")
                .with_help("the format is `column;$pv=column;...`"),
            );
            return None;
        }
        let spec = match pvar::parse_spec(&pv_text) {
            Ok((spec, len)) if len == pv_text.len() => spec,
            _ => {
                l.diags.push(
                    Diagnostic::error(
                        "auth-db-credentials",
                        format!("auth_db `load_credentials`: `{pv_text}` is not a PV"),
                    )
                    .with_label(span, ""),
                );
                return None;
            }
        };
        let writable = catalog::any_pv(&spec.name).map(|p| p.writable);
        if writable == Some(false) {
            l.diags.push(
                Diagnostic::error(
                    "auth-db-credentials",
                    format!("auth_db `load_credentials`: `{pv_text}` is not writable"),
                )
                .with_label(span, "Kamailio refuses to start: PV is not writeable"),
            );
            ok = false;
            continue;
        }
        match l.pv_ref(&spec, span) {
            Some(r @ (PvRef::Avp(..) | PvRef::Var(_))) => out.push((column.to_string(), r)),
            Some(_) => {
                l.unsupported(span, format!("`{pv_text}` in auth_db `load_credentials`"));
                ok = false;
            }
            None => ok = false,
        }
    }
    ok.then_some(ModParamValue::PvList(out))
}

/// permissions' `peer_tag_avp`: see [`avp_only`].
fn permissions_peer_tag_avp(l: &mut Lowerer<'_>, text: &str, span: Span) -> Option<ModParamValue> {
    avp_only(l, "permissions", "peer_tag_avp", "peer-tag-avp", text, span)
}

/// dialog's `timeout_avp`: see [`avp_only`].
fn dialog_timeout_avp(l: &mut Lowerer<'_>, text: &str, span: Span) -> Option<ModParamValue> {
    avp_only(l, "dialog", "timeout_avp", "timeout-avp", text, span)
}

/// nathelper's `received_avp`: see [`avp_only`].
fn nathelper_received_avp(l: &mut Lowerer<'_>, text: &str, span: Span) -> Option<ModParamValue> {
    avp_only(l, "nathelper", "received_avp", "received-avp", text, span)
}

/// registrar's `received_avp`: see [`avp_only`].
fn registrar_received_avp(l: &mut Lowerer<'_>, text: &str, span: Span) -> Option<ModParamValue> {
    avp_only(l, "registrar", "received_avp", "received-avp", text, span)
}

/// A parameter naming an AVP (permissions' `peer_tag_avp`, nathelper's
/// and registrar's `received_avp`, dialog's `timeout_avp`): empty (none) or an `$avp(...)`,
/// which Kamailio requires (it refuses to start on another PV); passed
/// on as a one-item list. As Kamailio's `pv_parse_spec`, text after the
/// PV is ignored.
fn avp_only(
    l: &mut Lowerer<'_>,
    module: &str,
    param: &str,
    code: &'static str,
    text: &str,
    span: Span,
) -> Option<ModParamValue> {
    if text.is_empty() {
        return Some(ModParamValue::Str(String::new()));
    }
    let refused = |why: &str| {
        Diagnostic::error(code, format!("{module} `{param}` \"{text}\": {why}"))
            .with_label(
                span,
                format!("Kamailio refuses to start: malformed or non AVP {param} definition"),
            )
            .with_help(format!(
                "name an AVP: `modparam(\"{module}\", \"{param}\", \"$avp(name)\")`"
            ))
    };
    let spec = match pvar::parse_spec(text) {
        Ok((spec, _)) => spec,
        Err(e) => {
            l.diags.push(refused(&e.0));
            return None;
        }
    };
    match l.pv_ref(&spec, span) {
        Some(r @ PvRef::Avp(..)) => Some(ModParamValue::PvList(vec![(param.to_string(), r)])),
        Some(_) if spec.name == "avp" => {
            l.unsupported(span, format!("`{text}` as {module} `{param}`"));
            None
        }
        Some(_) => {
            l.diags.push(refused("not an AVP"));
            None
        }
        None => None,
    }
}

/// uac's `auth_realm_avp`: see [`uac_auth_pv`].
fn uac_auth_realm_avp(l: &mut Lowerer<'_>, text: &str, span: Span) -> Option<ModParamValue> {
    uac_auth_pv(l, "auth_realm_avp", text, span)
}

/// uac's `auth_username_avp`: see [`uac_auth_pv`].
fn uac_auth_username_avp(l: &mut Lowerer<'_>, text: &str, span: Span) -> Option<ModParamValue> {
    uac_auth_pv(l, "auth_username_avp", text, span)
}

/// uac's `auth_password_avp`: see [`uac_auth_pv`].
fn uac_auth_password_avp(l: &mut Lowerer<'_>, text: &str, span: Span) -> Option<ModParamValue> {
    uac_auth_pv(l, "auth_password_avp", text, span)
}

/// uac's credential PVs: any PV (Kamailio parses them with
/// `pv_parse_spec` and reads them with `pv_get_spec_value`, though its
/// messages call them AVPs), passed on as a one-item list; text Kamailio
/// cannot parse as a PV (an empty one included) refuses the start.
fn uac_auth_pv(l: &mut Lowerer<'_>, param: &str, text: &str, span: Span) -> Option<ModParamValue> {
    let spec = match pvar::parse_spec(text) {
        Ok((spec, _)) => spec,
        Err(e) => {
            l.diags.push(
                Diagnostic::error("uac-auth-avp", format!("uac `{param}` \"{text}\": {}", e.0))
                    .with_label(span, "Kamailio refuses to start: malformed AVP definition")
                    .with_help(format!(
                        "name a PV: `modparam(\"uac\", \"{param}\", \"$avp(name)\")`"
                    )),
            );
            return None;
        }
    };
    let r = l.pv_ref(&spec, span)?;
    Some(ModParamValue::PvList(vec![(param.to_string(), r)]))
}
