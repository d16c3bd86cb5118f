//! `#!subst` / `#!substdef` / `#!substdefs` rules (and `--subst*`): parsing
//! Kamailio's `<sep>regex<sep>replacement<sep>flags` and applying it.

use regex::{Captures, Regex, RegexBuilder};

/// One piece of a subst replacement.
#[derive(Clone, Debug)]
enum ReplPart {
    Lit(String),
    Group(usize),
}

/// A compiled `#!subst` rule: `<sep>regex<sep>replacement<sep>flags`.
#[derive(Clone, Debug)]
pub(super) struct SubstRule {
    re: Regex,
    repl: Vec<ReplPart>,
    global: bool,
    /// The regex text as written (the define name of `#!substdef`).
    pub(super) raw_re: String,
    /// The replacement as written (the define value of `#!substdef`).
    pub(super) raw_repl: String,
}

impl SubstRule {
    /// Parses a subst expression like Kamailio's `subst_parser`.
    pub(super) fn parse(expr: &str) -> Result<SubstRule, String> {
        let chars: Vec<char> = expr.chars().collect();
        if chars.len() < 3 {
            return Err(format!("expression `{expr}` is too short"));
        }
        let sep = chars[0];
        if sep == '\\' {
            return Err("`\\` cannot be the separator".to_string());
        }
        // The regex runs to the first separator not preceded by a backslash.
        let mut p = 1;
        while p < chars.len() && !(chars[p] == sep && chars[p - 1] != '\\') {
            p += 1;
        }
        if p >= chars.len() {
            return Err(format!("no separator `{sep}` after the regular expression"));
        }
        let raw_re: String = chars[1..p].iter().collect();
        // The replacement.
        p += 1;
        let repl_start = p;
        let mut repl = Vec::new();
        let mut lit = String::new();
        let mut found = false;
        while p < chars.len() {
            let c = chars[p];
            if c == '\\' {
                let Some(&n) = chars.get(p + 1) else {
                    break;
                };
                match n {
                    '\\' => lit.push('\\'),
                    'n' => lit.push('\n'),
                    'r' => lit.push('\r'),
                    't' => lit.push('\t'),
                    '0'..='9' => {
                        if !lit.is_empty() {
                            repl.push(ReplPart::Lit(std::mem::take(&mut lit)));
                        }
                        repl.push(ReplPart::Group(n as usize - '0' as usize));
                    }
                    other => lit.push(other),
                }
                p += 2;
                continue;
            }
            if c == sep {
                found = true;
                break;
            }
            if c == '$' {
                // `$env(NAME)` is evaluated now (Kamailio evaluates every PV
                // once, on a fake message); other PVs are kept as text.
                let rest: String = chars[p..].iter().collect();
                if let Some(inner) = rest.strip_prefix("$env(")
                    && let Some(end) = inner.find(')')
                {
                    let name = &inner[..end];
                    lit.push_str(&std::env::var(name).unwrap_or_default());
                    p += "$env(".chars().count() + name.chars().count() + 1;
                    continue;
                }
            }
            lit.push(c);
            p += 1;
        }
        if !found {
            return Err(format!("no separator `{sep}` after the replacement"));
        }
        if !lit.is_empty() {
            repl.push(ReplPart::Lit(lit));
        }
        let raw_repl: String = chars[repl_start..p].iter().collect();
        let mut icase = false;
        let mut dotall = false;
        let mut global = false;
        for &f in &chars[p + 1..] {
            match f {
                'i' => icase = true,
                's' => dotall = true,
                'g' => global = true,
                other => return Err(format!("unknown flag `{other}`")),
            }
        }
        let pattern = posix_to_rust(&raw_re);
        let re = RegexBuilder::new(&pattern)
            .case_insensitive(icase)
            .multi_line(!dotall)
            .dot_matches_new_line(dotall)
            .size_limit(1 << 20)
            .dfa_size_limit(1 << 20)
            .build()
            .map_err(|e| format!("bad regular expression `{raw_re}`: {e}"))?;
        Ok(SubstRule {
            re,
            repl,
            global,
            raw_re,
            raw_repl,
        })
    }

    /// Applies the rule; `None` when the regex does not match.
    pub(super) fn apply(&self, s: &str) -> Option<String> {
        if !self.re.is_match(s) {
            return None;
        }
        let f = |caps: &Captures<'_>| {
            let mut out = String::new();
            for part in &self.repl {
                match part {
                    ReplPart::Lit(l) => out.push_str(l),
                    ReplPart::Group(n) => {
                        if let Some(m) = caps.get(*n) {
                            out.push_str(m.as_str());
                        }
                    }
                }
            }
            out
        };
        Some(if self.global {
            self.re.replace_all(s, f).into_owned()
        } else {
            self.re.replacen(s, 1, f).into_owned()
        })
    }
}

/// Translates the few POSIX ERE spellings the `regex` crate reads
/// differently: a backslash inside a bracket expression is literal in POSIX.
fn posix_to_rust(re: &str) -> String {
    let mut out = String::with_capacity(re.len() + 8);
    let chars: Vec<char> = re.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\\' {
            out.push(c);
            if let Some(&n) = chars.get(i + 1) {
                out.push(n);
            }
            i += 2;
            continue;
        }
        if c == '[' {
            // A bracket expression: copy it, escaping what Rust treats as special.
            let mut j = i + 1;
            let mut body = String::from("[");
            if chars.get(j) == Some(&'^') {
                body.push('^');
                j += 1;
            }
            if chars.get(j) == Some(&']') {
                body.push_str("\\]");
                j += 1;
            }
            let mut closed = false;
            while j < chars.len() {
                let d = chars[j];
                if d == ']' {
                    closed = true;
                    break;
                }
                if d == '[' && matches!(chars.get(j + 1), Some(':' | '=' | '.')) {
                    // [:class:] and friends: copy through the closing `:]`.
                    let kind = chars[j + 1];
                    let mut k = j + 2;
                    while k + 1 < chars.len() && !(chars[k] == kind && chars[k + 1] == ']') {
                        k += 1;
                    }
                    let end = (k + 2).min(chars.len());
                    body.extend(&chars[j..end]);
                    j = end;
                    continue;
                }
                match d {
                    '\\' | '[' | '&' | '~' => {
                        body.push('\\');
                        body.push(d);
                    }
                    _ => body.push(d),
                }
                j += 1;
            }
            if closed {
                body.push(']');
                out.push_str(&body);
                i = j + 1;
            } else {
                // Unclosed: let the regex crate report it.
                out.push_str(&body);
                i = j;
            }
            continue;
        }
        out.push(c);
        i += 1;
    }
    out
}
