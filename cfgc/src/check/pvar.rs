//! PV specs (`$name`, `$name(inner)`, `$(name(inner)[idx]{tr.x,a}{tr.y})`)
//! and PV-format strings (`"$rU@$rd $(ru{uri.host})"`).

/// A parsed PV spec. Offsets are byte offsets into the text it was parsed
/// from (the `$` at 0 for a spec).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PvSpec {
    pub name: String,
    /// The text inside `name(...)`, if any.
    pub inner: Option<String>,
    /// The index text inside `[...]`, if any.
    pub index: Option<String>,
    /// Transformations, each as `(class, name, params text)`.
    pub transforms: Vec<Transformation>,
    /// Written in the `$(...)` form.
    pub parenthesised: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transformation {
    pub class: String,
    pub name: String,
    pub params: String,
}

/// Why a PV spec could not be parsed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PvError(pub String);

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '.' || c == '?'
}

/// Parses one PV spec at the start of `text` (which begins with `$`).
/// Returns the spec and the number of bytes it spans.
pub fn parse_spec(text: &str) -> Result<(PvSpec, usize), PvError> {
    let bytes = text.as_bytes();
    if bytes.first() != Some(&b'$') {
        return Err(PvError("a PV starts with `$`".into()));
    }
    if bytes.get(1) == Some(&b'(') {
        let close = matching(text, 1).ok_or_else(|| PvError("unclosed `$(`".into()))?;
        let body = &text[2..close];
        let spec = parse_body(body)?;
        return Ok((spec, close + 1));
    }
    let name_len = text[1..]
        .find(|c: char| !is_name_char(c))
        .unwrap_or(text.len() - 1);
    if name_len == 0 {
        return Err(PvError("expected a PV name after `$`".into()));
    }
    let name = text[1..1 + name_len].to_string();
    let mut end = 1 + name_len;
    let mut inner = None;
    if bytes.get(end) == Some(&b'(') {
        let close = matching(text, end).ok_or_else(|| PvError("unclosed `(`".into()))?;
        inner = Some(text[end + 1..close].to_string());
        end = close + 1;
    }
    Ok((
        PvSpec {
            name,
            inner,
            index: None,
            transforms: Vec::new(),
            parenthesised: false,
        },
        end,
    ))
}

/// The body of `$( ... )`: `name[(inner)][[idx]]{tr}...`.
fn parse_body(body: &str) -> Result<PvSpec, PvError> {
    let body_trim = body.trim_start();
    let name_len = body_trim
        .find(|c: char| !is_name_char(c))
        .unwrap_or(body_trim.len());
    if name_len == 0 {
        return Err(PvError("expected a PV name after `$(`".into()));
    }
    let name = body_trim[..name_len].to_string();
    let mut rest = &body_trim[name_len..];
    let mut inner = None;
    if rest.starts_with('(') {
        let close = matching(rest, 0).ok_or_else(|| PvError("unclosed `(`".into()))?;
        inner = Some(rest[1..close].to_string());
        rest = &rest[close + 1..];
    }
    let mut index = None;
    if rest.starts_with('[') {
        let close = rest
            .find(']')
            .ok_or_else(|| PvError("unclosed `[`".into()))?;
        index = Some(rest[1..close].to_string());
        rest = &rest[close + 1..];
    }
    let mut transforms = Vec::new();
    loop {
        rest = rest.trim_start();
        if rest.is_empty() {
            break;
        }
        if !rest.starts_with('{') {
            return Err(PvError(format!(
                "unexpected `{}` in PV",
                rest.chars().next().unwrap_or(' ')
            )));
        }
        let close = matching_brace(rest).ok_or_else(|| PvError("unclosed `{`".into()))?;
        let tr = &rest[1..close];
        let (head, params) = match tr.find(',') {
            Some(i) => (&tr[..i], &tr[i + 1..]),
            None => (tr, ""),
        };
        let (class, name) = head
            .split_once('.')
            .ok_or_else(|| PvError(format!("transformation `{{{tr}}}` has no class")))?;
        transforms.push(Transformation {
            class: class.trim().to_string(),
            name: name.trim().to_string(),
            params: params.to_string(),
        });
        rest = &rest[close + 1..];
    }
    Ok(PvSpec {
        name,
        inner,
        index,
        transforms,
        parenthesised: true,
    })
}

/// Index of the `)` matching the `(` at `open`.
fn matching(text: &str, open: usize) -> Option<usize> {
    let mut depth = 0i32;
    for (i, c) in text[open..].char_indices() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    return Some(open + i);
                }
            }
            _ => {}
        }
    }
    None
}

fn matching_brace(text: &str) -> Option<usize> {
    let mut depth = 0i32;
    for (i, c) in text.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

/// The PVs of a PV-format string, each with its byte range in `text`.
/// `$$` is a literal `$`; a `$` not followed by a name or `(` is literal.
pub fn format_pvs(text: &str) -> Vec<(std::ops::Range<usize>, Result<PvSpec, PvError>)> {
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(off) = text[i..].find('$') {
        let at = i + off;
        let next = text[at + 1..].chars().next();
        match next {
            Some('$') => {
                i = at + 2;
                continue;
            }
            Some(c) if c == '(' || is_name_char(c) => match parse_spec(&text[at..]) {
                Ok((spec, len)) => {
                    out.push((at..at + len, Ok(spec)));
                    i = at + len;
                }
                Err(e) => {
                    out.push((at..text.len(), Err(e)));
                    break;
                }
            },
            _ => i = at + 1,
        }
    }
    out
}

/// The byte offsets of the `$`s of a PV-format string that start no PV
/// (neither `$$` nor a name or `(` after it): Kamailio's
/// `pv_parse_format` refuses them ("wrong format"), so the cfg does not
/// start.
pub fn lone_dollars(text: &str) -> Vec<usize> {
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(off) = text[i..].find('$') {
        let at = i + off;
        match text[at + 1..].chars().next() {
            Some('$') => i = at + 2,
            Some(c) if c == '(' || is_name_char(c) => match parse_spec(&text[at..]) {
                Ok((_, len)) => i = at + len,
                Err(_) => break,
            },
            _ => {
                out.push(at);
                i = at + 1;
            }
        }
    }
    out
}

/// Nested PVs inside an inner name or a transformation parameter
/// (`$sht(t=>$ci)`), for recursive checks.
pub fn nested(spec: &PvSpec) -> Vec<PvSpec> {
    let mut texts: Vec<&str> = Vec::new();
    if let Some(i) = &spec.inner {
        texts.push(i);
    }
    if let Some(i) = &spec.index {
        texts.push(i);
    }
    for t in &spec.transforms {
        texts.push(&t.params);
    }
    texts
        .into_iter()
        .flat_map(format_pvs)
        .filter_map(|(_, r)| r.ok())
        .collect()
}

/// `$xavp(...)`'s inner name as Kamailio's `pv_parse_xavp_name` splits
/// it: `name[index]=>key[index]`, indices as written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct XavpText {
    pub name: String,
    pub index: Option<String>,
    pub key: Option<(String, Option<String>)>,
}

/// Splits an `$xavp` name. Kamailio ignores what follows a complete name
/// (`a[0]x`); so does this. Errors are what makes Kamailio refuse to
/// start, plus an empty name (which no XAVP can have).
pub fn xavp_name(inner: &str) -> Result<XavpText, PvError> {
    let (name, index, rest) = xavp_part(inner)?;
    let key = match rest.strip_prefix('=') {
        None => None,
        Some(r) => {
            let r = r
                .strip_prefix('>')
                .ok_or_else(|| PvError(format!("`=` without `>` in `{inner}`")))?;
            let (key, index, _) = xavp_part(r)?;
            Some((key, index))
        }
    };
    Ok(XavpText { name, index, key })
}

/// One `name[index]` of an `$xavp` name and what follows it
/// (`pv_xavp_fill_ni`).
fn xavp_part(s: &str) -> Result<(String, Option<String>, &str), PvError> {
    let ws = |c: char| matches!(c, ' ' | '\t' | '\n' | '\r');
    let s = s.trim_start_matches(ws);
    let end = s
        .find(|c: char| c == '=' || c == '[' || ws(c))
        .unwrap_or(s.len());
    let name = &s[..end];
    if name.is_empty() {
        return Err(PvError("an `$xavp` name cannot be empty".into()));
    }
    let rest = s[end..].trim_start_matches(ws);
    let Some(body) = rest.strip_prefix('[') else {
        return Ok((name.to_string(), None, rest));
    };
    let mut depth = 0;
    let close = body
        .char_indices()
        .find(|&(_, c)| match c {
            '[' => {
                depth += 1;
                false
            }
            ']' if depth == 0 => true,
            ']' => {
                depth -= 1;
                false
            }
            _ => false,
        })
        .map(|(i, _)| i)
        .ok_or_else(|| PvError(format!("unclosed `[` in `$xavp` name `{s}`")))?;
    let index = &body[..close];
    let valid = match index.as_bytes().first() {
        None => false,
        Some(b'$') => parse_spec(index).is_ok(),
        _ => {
            matches!(index, "*" | "+")
                || index
                    .strip_prefix('-')
                    .unwrap_or(index)
                    .bytes()
                    .all(|b| b.is_ascii_digit())
        }
    };
    if !valid {
        return Err(PvError(format!(
            "invalid index `[{index}]` in `$xavp` name `{s}`"
        )));
    }
    Ok((
        name.to_string(),
        Some(index.to_string()),
        &body[close + 1..],
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xavp_names() {
        let x = xavp_name("ra[$var(i)]=>id").unwrap();
        assert_eq!(x.name, "ra");
        assert_eq!(x.index.as_deref(), Some("$var(i)"));
        assert_eq!(x.key, Some(("id".to_string(), None)));
        let x = xavp_name(" a [ -1]").unwrap_err();
        assert!(x.0.contains("invalid index"), "{x:?}");
        let x = xavp_name("a[-1]=>b[*]").unwrap();
        assert_eq!(x.index.as_deref(), Some("-1"));
        assert_eq!(x.key, Some(("b".to_string(), Some("*".to_string()))));
        assert_eq!(xavp_name("a").unwrap().key, None);
        assert!(xavp_name("a=b").is_err());
        assert!(xavp_name("a[]").is_err());
        assert!(xavp_name("a[0").is_err());
        assert!(xavp_name("=>b").is_err());
    }

    #[test]
    fn specs() {
        let (s, n) = parse_spec("$rU").unwrap();
        assert_eq!((s.name.as_str(), n), ("rU", 3));
        let (s, _) = parse_spec("$var(x)").unwrap();
        assert_eq!(s.inner.as_deref(), Some("x"));
        let (s, _) = parse_spec("$sht(ipban=>$si)").unwrap();
        assert_eq!(s.name, "sht");
        assert_eq!(nested(&s)[0].name, "si");
        let (s, _) = parse_spec("$(avp(x)[1]{s.len} {uri.host})").unwrap();
        assert_eq!(s.index.as_deref(), Some("1"));
        assert_eq!(s.transforms.len(), 2);
        assert_eq!(s.transforms[1].class, "uri");
        let (s, _) = parse_spec("$(var(s){s.substr,1,3})").unwrap();
        assert_eq!(s.transforms[0].params, "1,3");
        let (s, _) = parse_spec("$(from.user)").unwrap();
        assert_eq!(s.name, "from.user");
        assert!(parse_spec("$(ru{uri.host}").is_err());
    }

    #[test]
    fn formats() {
        let v = format_pvs("$rU@$rd $(ru{uri.host}) 100$$ and $ at [$T_branch_idx]\n");
        let names: Vec<_> = v
            .iter()
            .map(|(_, s)| s.as_ref().unwrap().name.clone())
            .collect();
        assert_eq!(names, ["rU", "rd", "ru", "T_branch_idx"]);
        let v = format_pvs("{$mt $hdr(CSeq) $ci} ");
        assert_eq!(v.len(), 3);
    }
}
