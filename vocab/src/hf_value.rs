//! The first argument of textopsx's header-value functions
//! (`append_hf_value("Name[index].param", ...)` and family): its syntax,
//! `name [ "[" ( | "*" | number ) "]" ] [ "." param ]` with blanks
//! between the parts, as Kamailio 5.6.3's `fixup_hname_param` reads it,
//! and what each function's fixup refuses (Kamailio then refuses to
//! start). The compiler checks the text at build; the runtime reads it
//! again on each call.

/// Which function the expression is for (Kamailio's `hno*` operation).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HfOper {
    Append,
    Insert,
    Remove,
    Assign,
    Remove2,
    Assign2,
    Include,
    Exclude,
    Exists,
}

/// The deepest negative index (Kamailio's `MAX_HF_VALUE_STACK`).
pub const MAX_HF_VALUE_STACK: i32 = 10;

/// textopsx's function of this name, if it takes a header-value
/// expression as its first argument.
pub fn oper_of(module: &str, function: &str) -> Option<HfOper> {
    if module != "textopsx" {
        return None;
    }
    Some(match function {
        "append_hf_value" => HfOper::Append,
        "insert_hf_value" => HfOper::Insert,
        "remove_hf_value" => HfOper::Remove,
        "assign_hf_value" => HfOper::Assign,
        "remove_hf_value2" => HfOper::Remove2,
        "assign_hf_value2" => HfOper::Assign2,
        "include_hf_value" => HfOper::Include,
        "exclude_hf_value" => HfOper::Exclude,
        "hf_value_exists" => HfOper::Exists,
        _ => return None,
    })
}

/// A parsed expression, after its function's fixup (defaults applied).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HfName<'a> {
    /// The header name as written.
    pub name: &'a [u8],
    /// An index was written (`[...]`), or the fixup implies one.
    pub indexed: bool,
    /// `[*]`.
    pub all: bool,
    /// The index (1 the first value, -1 the last); 0 none.
    pub idx: i32,
    /// The parameter after `.`, empty for none.
    pub param: &'a [u8],
}

fn is_space(c: u8) -> bool {
    matches!(c, b'\t' | b'\n' | b'\r' | b' ')
}

fn is_alnum(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c == b'-'
}

/// C's `strtol(s, &end, 10)` cast to `int`: the value and the bytes
/// read, `None` when no digit is read.
fn strtol(s: &[u8]) -> Option<(i32, usize)> {
    let mut i = 0;
    while i < s.len() && (is_space(s[i]) || s[i] == 0x0b || s[i] == 0x0c) {
        i += 1;
    }
    let neg = match s.get(i) {
        Some(b'-') => {
            i += 1;
            true
        }
        Some(b'+') => {
            i += 1;
            false
        }
        _ => false,
    };
    let digits = i;
    let mut v: i64 = 0;
    while i < s.len() && s[i].is_ascii_digit() {
        // strtol saturates at LONG_MIN/LONG_MAX.
        v = v.saturating_mul(10).saturating_add(i64::from(s[i] - b'0'));
        i += 1;
    }
    if i == digits {
        return None;
    }
    let v = if neg { v.saturating_neg() } else { v };
    // The C cast to int keeps the low 32 bits.
    Some((v as i32, i))
}

/// Parses `text` (up to a NUL, as C sees it) for `oper`; the error is
/// Kamailio's reason for refusing to start.
///
/// # Errors
/// A text `fixup_hname_param` cannot parse, or a form the function's
/// fixup refuses.
pub fn parse(text: &[u8], oper: HfOper) -> Result<HfName<'_>, String> {
    let end = text.iter().position(|&c| c == 0).unwrap_or(text.len());
    let s = &text[..end];
    let at = |i: usize| s.get(i).copied().unwrap_or(0);
    let near = |i: usize| {
        format!(
            "cannot parse header near '{}'",
            String::from_utf8_lossy(&s[i.min(s.len())..])
        )
    };
    let mut i = 0;
    while is_space(at(i)) {
        i += 1;
    }
    let name_start = i;
    while is_alnum(at(i)) {
        i += 1;
    }
    let name = &s[name_start..i];
    if name.is_empty() {
        return Err(near(name_start));
    }
    let (mut indexed, mut all, mut idx) = (false, false, 0);
    while is_space(at(i)) {
        i += 1;
    }
    if at(i) == b'[' {
        i += 1;
        while is_space(at(i)) {
            i += 1;
        }
        indexed = true;
        if at(i) == b'*' {
            all = true;
            i += 1;
        } else if at(i) != b']' {
            let Some((v, n)) = strtol(&s[i..]) else {
                return Err(near(i));
            };
            idx = v;
            i += n;
        }
        while is_space(at(i)) {
            i += 1;
        }
        if at(i) != b']' {
            return Err(near(i));
        }
        i += 1;
    }
    while is_space(at(i)) {
        i += 1;
    }
    let mut param: &[u8] = &[];
    if at(i) == b'.' {
        i += 1;
        while is_space(at(i)) {
            i += 1;
        }
        let p = i;
        while is_alnum(at(i)) {
            i += 1;
        }
        param = &s[p..i];
        if param.is_empty() {
            return Err(near(i));
        }
    }
    if i < s.len() {
        return Err(near(i));
    }
    let refuse = |why: &str| Err(why.to_string());
    let low = |idx: i32| {
        if idx < -MAX_HF_VALUE_STACK {
            Err(format!(
                "index cannot be lower than {}",
                -MAX_HF_VALUE_STACK
            ))
        } else {
            Ok(())
        }
    };
    match oper {
        HfOper::Append | HfOper::Insert => {
            if all {
                return refuse("asterisk not supported");
            }
            if !indexed || idx == 0 {
                idx = if oper == HfOper::Append { -1 } else { 1 };
            }
            low(idx)?;
            if !param.is_empty() {
                return refuse("param not supported");
            }
        }
        HfOper::Remove | HfOper::Remove2 | HfOper::Assign | HfOper::Assign2 => {
            if matches!(oper, HfOper::Assign | HfOper::Assign2) && all && param.is_empty() {
                return refuse("asterisk not supported without param");
            }
            if !indexed || idx == 0 {
                idx = 1;
                indexed = true;
            }
            low(idx)?;
        }
        HfOper::Include | HfOper::Exclude | HfOper::Exists => {
            if indexed || !param.is_empty() {
                return Err(format!(
                    "neither index nor param may be specified in '{}'",
                    String::from_utf8_lossy(s)
                ));
            }
        }
    }
    Ok(HfName {
        name,
        indexed,
        all,
        idx,
        param,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(t: &str, o: HfOper) -> (String, bool, bool, i32, String) {
        let h = parse(t.as_bytes(), o).unwrap_or_else(|e| panic!("{t}: {e}"));
        (
            String::from_utf8_lossy(h.name).into_owned(),
            h.indexed,
            h.all,
            h.idx,
            String::from_utf8_lossy(h.param).into_owned(),
        )
    }

    #[test]
    fn forms() {
        use HfOper::*;
        assert_eq!(
            ok("X-L", Append),
            ("X-L".into(), false, false, -1, "".into())
        );
        assert_eq!(
            ok("X-L[2]", Append),
            ("X-L".into(), true, false, 2, "".into())
        );
        assert_eq!(
            ok("X-L[]", Append),
            ("X-L".into(), true, false, -1, "".into())
        );
        assert_eq!(
            ok("x-l[+1]", Insert),
            ("x-l".into(), true, false, 1, "".into())
        );
        assert_eq!(
            ok("X-L", Insert),
            ("X-L".into(), false, false, 1, "".into())
        );
        assert_eq!(ok("X-L", Remove), ("X-L".into(), true, false, 1, "".into()));
        assert_eq!(
            ok("X-L[*]", Remove),
            ("X-L".into(), true, true, 1, "".into())
        );
        assert_eq!(
            ok(" X-P [ -1 ] . p", Assign),
            ("X-P".into(), true, false, -1, "p".into())
        );
        assert_eq!(
            ok("X-P[*].p", Assign2),
            ("X-P".into(), true, true, 1, "p".into())
        );
        assert_eq!(
            ok("X-L ", Exists),
            ("X-L".into(), false, false, 0, "".into())
        );
        assert_eq!(ok("X-L[-10]", Remove).3, -10);
    }

    #[test]
    fn refusals() {
        use HfOper::*;
        for (t, o) in [
            ("", Remove),
            ("[1]", Remove),
            ("$var(h)", Remove),
            ("X-L[", Remove),
            ("X-L[a]", Remove),
            ("X-L[1", Remove),
            ("X-L.", Remove),
            ("X-L.p ", Remove),
            ("X-L x", Remove),
            ("X-L]", Remove),
            ("X-L[-11]", Remove),
            ("X-L[-11]", Append),
            ("X-L[*]", Append),
            ("X-L[*]", Insert),
            ("X-L.p", Append),
            ("X-L.p", Insert),
            ("X-L[*]", Assign),
            ("X-L[*]", Assign2),
            ("X-L[1]", Include),
            ("X-L[]", Exclude),
            ("X-L.p", Exists),
        ] {
            assert!(parse(t.as_bytes(), o).is_err(), "{t} {o:?}");
        }
    }
}
