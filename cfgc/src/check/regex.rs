//! A rough translation of POSIX extended regular expressions (glibc flavour,
//! as Kamailio compiles them) into the `regex` crate's syntax, used to find
//! regexes that would not compile and to match module-name patterns.

/// Translates a POSIX ERE into `regex` syntax. An `Err` carries a message
/// saying why the ERE is malformed.
pub(crate) fn translate_ere(re: &str) -> Result<String, String> {
    let chars: Vec<char> = re.chars().collect();
    let mut out = String::with_capacity(re.len() + 8);
    let mut i = 0;
    let mut depth = 0usize;
    // Whether the previous item can take a repetition operator.
    let mut atom = false;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '\\' => {
                let Some(&n) = chars.get(i + 1) else {
                    return Err("trailing backslash".into());
                };
                i += 2;
                match n {
                    'w' | 'W' | 's' | 'S' | 'b' | 'B' => {
                        out.push('\\');
                        out.push(n);
                    }
                    '<' | '>' => out.push_str("\\b"),
                    '`' => out.push_str("\\A"),
                    '\'' => out.push_str("\\z"),
                    // Back-references (a GNU extension) cannot be expressed.
                    '1'..='9' => out.push_str("(?:)"),
                    c if c.is_ascii_alphanumeric() => out.push(c),
                    c => push_literal(&mut out, c),
                }
                atom = true;
                continue;
            }
            '[' => {
                let (class, next) = bracket(&chars, i)?;
                out.push_str(&class);
                i = next;
                atom = true;
                continue;
            }
            '(' => {
                depth += 1;
                out.push('(');
                atom = false;
            }
            ')' => {
                if depth == 0 {
                    // glibc takes an unmatched `)` literally.
                    push_literal(&mut out, ')');
                } else {
                    depth -= 1;
                    out.push(')');
                }
                atom = true;
            }
            '*' | '+' | '?' => {
                if !atom {
                    return Err(format!("`{c}` does not follow anything it could repeat"));
                }
                out.push(c);
                // `a**` is fine in POSIX; the regex crate rejects it.
                while matches!(chars.get(i + 1), Some('*' | '+' | '?')) {
                    i += 1;
                }
            }
            '{' => {
                if !atom {
                    return Err("`{` does not follow anything it could repeat".into());
                }
                let rest: String = chars[i + 1..].iter().collect();
                let Some(end) = rest.find('}') else {
                    return Err("unmatched `{`".into());
                };
                let body = &rest[..end];
                let valid = !body.is_empty()
                    && body.chars().all(|c| c.is_ascii_digit() || c == ',')
                    && body.chars().filter(|&c| c == ',').count() <= 1
                    && !body.starts_with(',');
                if !valid {
                    return Err(format!("invalid interval `{{{body}}}`"));
                }
                let mut parts = body.split(',');
                let lo: u32 = parts.next().unwrap_or("0").parse().unwrap_or(u32::MAX);
                let hi = parts
                    .next()
                    .filter(|h| !h.is_empty())
                    .map(|h| h.parse::<u32>().unwrap_or(u32::MAX));
                if hi.is_some_and(|hi| hi < lo) {
                    return Err(format!("invalid interval `{{{body}}}`"));
                }
                if lo > 0x7fff || hi.is_some_and(|hi| hi > 0x7fff) {
                    return Err(format!("repetition count too large in `{{{body}}}`"));
                }
                out.push('{');
                out.push_str(body);
                out.push('}');
                i += body.chars().count() + 2;
                continue;
            }
            '|' => {
                out.push('|');
                atom = false;
            }
            '^' | '$' => {
                out.push(c);
                atom = false;
            }
            '.' => {
                out.push('.');
                atom = true;
            }
            c => {
                push_literal(&mut out, c);
                atom = true;
            }
        }
        i += 1;
    }
    if depth != 0 {
        return Err("unmatched `(`".into());
    }
    Ok(out)
}

fn push_literal(out: &mut String, c: char) {
    if regex_syntax_meta(c) {
        out.push('\\');
    }
    out.push(c);
}

fn regex_syntax_meta(c: char) -> bool {
    matches!(
        c,
        '\\' | '.'
            | '+'
            | '*'
            | '?'
            | '('
            | ')'
            | '|'
            | '['
            | ']'
            | '{'
            | '}'
            | '^'
            | '$'
            | '#'
            | '&'
            | '-'
            | '~'
    )
}

/// Translates the bracket expression starting at `chars[start] == '['`.
/// Returns the translated class and the index after the closing `]`.
fn bracket(chars: &[char], start: usize) -> Result<(String, usize), String> {
    let mut out = String::from("[");
    let mut i = start + 1;
    if chars.get(i) == Some(&'^') {
        out.push('^');
        i += 1;
    }
    // A `]` first is a literal.
    if chars.get(i) == Some(&']') {
        out.push_str("\\]");
        i += 1;
    }
    loop {
        let Some(&c) = chars.get(i) else {
            return Err("unmatched `[`".into());
        };
        match c {
            ']' => {
                out.push(']');
                return Ok((out, i + 1));
            }
            '[' if matches!(chars.get(i + 1), Some(':' | '.' | '=')) => {
                let kind = chars[i + 1];
                let mut j = i + 2;
                while j + 1 < chars.len() && !(chars[j] == kind && chars[j + 1] == ']') {
                    j += 1;
                }
                if j + 1 >= chars.len() {
                    return Err("unterminated character class name".into());
                }
                let name: String = chars[i + 2..j].iter().collect();
                if kind == ':' {
                    const CLASSES: [&str; 12] = [
                        "alnum", "alpha", "blank", "cntrl", "digit", "graph", "lower", "print",
                        "punct", "space", "upper", "xdigit",
                    ];
                    if !CLASSES.contains(&name.as_str()) {
                        return Err(format!("unknown character class `[:{name}:]`"));
                    }
                    out.push_str(&format!("[:{name}:]"));
                } else {
                    for ch in name.chars() {
                        push_literal(&mut out, ch);
                    }
                }
                i = j + 2;
            }
            '-' => {
                // A range dash between two members, or a literal at an edge.
                let at_edge =
                    matches!(out.chars().last(), Some('[' | '^')) || chars.get(i + 1) == Some(&']');
                if at_edge {
                    out.push_str("\\-");
                } else {
                    out.push('-');
                }
                i += 1;
            }
            c => {
                // Backslash is a literal inside brackets in POSIX.
                push_literal(&mut out, c);
                i += 1;
            }
        }
    }
}

/// Compiles a POSIX ERE the way `=~` does (case-insensitive), returning
/// the error message if it does not compile.
pub(crate) fn check_ere(re: &str) -> Result<(), String> {
    let t = translate_ere(re)?;
    match ::regex::RegexBuilder::new(&t)
        .case_insensitive(true)
        .build()
    {
        Ok(_) | Err(::regex::Error::CompiledTooBig(_)) => Ok(()),
        Err(e) => Err({
            let msg = e.to_string();
            msg.lines()
                .rev()
                .find(|l| l.starts_with("error:"))
                .map_or(msg.clone(), |l| l.trim_start_matches("error: ").to_string())
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn translations() {
        assert!(check_ere("friendly|scanner|sipcli").is_ok());
        assert!(check_ere("^(\\+|00)[1-9][0-9]{3,20}$").is_ok());
        assert!(check_ere("[12][0-9][0-9]").is_ok());
        assert!(check_ere("^[0-9][0-9]$").is_ok());
        assert!(check_ere("^/RPC").is_ok());
        assert!(check_ere("a{").is_err());
        assert!(check_ere("abc)").is_ok());
        assert!(check_ere("a**").is_ok());
        assert!(check_ere("[[:digit:]]+").is_ok());
        assert!(check_ere("[a-z-]").is_ok());
        assert!(check_ere("[\\d]").is_ok());
        assert!(check_ere("(abc").is_err());
        assert!(check_ere("[abc").is_err());
        assert!(check_ere("+abc").is_err());
        assert!(check_ere("*abc").is_err());
        assert!(check_ere("a{3,1}").is_err());
        assert!(check_ere("[[:foo:]]").is_err());
    }
}
