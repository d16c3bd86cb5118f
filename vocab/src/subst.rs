//! The syntax of a sed-style substitution (`/re/repl/flags`: textops'
//! `subst*`), as Kamailio 5.6's `subst_parser` reads it. Plain data: the
//! compiler splits and checks it at build time (and compiles the regex),
//! the runtime reads the replacement from the same split. A PV in the
//! replacement (`$var(x)`, `$(hdr(A){s.len})`) is resolved by the
//! compiler, which alone knows PV syntax: [`parse`] asks it how long each
//! one is, and the runtime is given the same lengths with the resolved
//! PVs ([`SubstPv`]).

use crate::PvRef;

/// One piece of the replacement text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReplTok<'a> {
    /// Text copied as written.
    Lit(&'a [u8]),
    /// An escaped character (`\n`, `\r`, `\t`, `\\`, `\$`, or any other
    /// `\c`, which stands for `c`).
    Char(u8),
    /// `\0`..`\9`: a group of the match (`\0` the whole match), empty
    /// when it took no part.
    Group(u8),
    /// `\u`: the request URI (the rewritten one if any).
    Uri,
    /// The n-th PV of the replacement (from 0), read at each match; its
    /// string value, empty for `$null` (Kamailio copies the value's text,
    /// not `<null>`). `$$` is [`ReplTok::Char`] `$`.
    Pv(usize),
}

/// A PV of a substitution's replacement, resolved at build time: the
/// length of its text (from its `$`) and what it reads.
#[derive(Clone, Debug, PartialEq)]
pub struct SubstPv {
    pub len: usize,
    pub pv: PvRef,
}

/// A parsed substitution.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Subst<'a> {
    /// The regex as written (escapes of the separator kept: POSIX reads
    /// `\/` as `/`).
    pub re: &'a [u8],
    /// The replacement.
    pub repl: Vec<ReplTok<'a>>,
    /// `i`: case-insensitive.
    pub icase: bool,
    /// Without `s`: `REG_NEWLINE` (`.` stops at line ends, `^`/`$` match
    /// at them).
    pub newline: bool,
    /// `g`: every match, not only the first.
    pub all: bool,
}

/// Why Kamailio refuses a substitution when it loads the cfg.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SubstError {
    /// Shorter than 3 bytes, or nothing after the regex.
    TooShort,
    /// `\` as the separator.
    BadSeparator,
    /// No separator after the regex.
    NoSeparator,
    /// No separator after the replacement.
    MissingSeparator,
    /// A flag other than `i`, `s`, `g`.
    UnknownFlag(u8),
    /// More than Kamailio's 100 escapes in the replacement.
    TooManyEscapes,
    /// A `$` that does not start a PV Kamailio knows ("bad specifier in
    /// replace part").
    BadPv,
}

impl std::fmt::Display for SubstError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SubstError::TooShort => f.write_str("the expression is too short"),
            SubstError::BadSeparator => f.write_str("`\\` cannot be the separator"),
            SubstError::NoSeparator => f.write_str("no separator after the regex"),
            SubstError::MissingSeparator => f.write_str("no separator after the replacement"),
            SubstError::UnknownFlag(c) => write!(f, "unknown flag `{}`", char::from(*c)),
            SubstError::TooManyEscapes => f.write_str("too many escapes in the replacement"),
            SubstError::BadPv => f.write_str("bad PV in the replacement"),
        }
    }
}

/// Kamailio's limit on escapes and PVs in a replacement (checked at each
/// escape, as Kamailio's `parse_repl` does).
const MAX_ESCAPES: usize = 100;

/// Splits `/re/repl/flags` (any first byte but `\` is the separator).
/// `pv_len` is given the text from each `$` of the replacement (not
/// `$$`) to the end of `s`, as Kamailio's `pv_parse_spec` is, and answers
/// the length of the PV there, or `None` if there is none; a PV may run
/// past the separator, as in Kamailio.
///
/// # Errors
/// What makes Kamailio refuse to start.
pub fn parse<'a>(
    s: &'a [u8],
    pv_len: &mut dyn FnMut(&[u8]) -> Option<usize>,
) -> Result<Subst<'a>, SubstError> {
    if s.len() < 3 {
        return Err(SubstError::TooShort);
    }
    let sep = s[0];
    if sep == b'\\' {
        return Err(SubstError::BadSeparator);
    }
    // The regex ends at the first separator not right after a backslash.
    let re_end = (1..s.len())
        .find(|&i| s[i] == sep && s[i - 1] != b'\\')
        .ok_or(SubstError::NoSeparator)?;
    if s.len() < re_end + 2 {
        return Err(SubstError::TooShort);
    }
    let mut repl = Vec::new();
    let mut escapes = 0;
    let mut pvs = 0;
    let mut lit = re_end + 1;
    let mut p = re_end + 1;
    let mut end = None;
    while p < s.len() {
        match s[p] {
            b'\\' if p + 1 < s.len() => {
                if lit < p {
                    repl.push(ReplTok::Lit(&s[lit..p]));
                }
                let c = s[p + 1];
                repl.push(match c {
                    b'n' => ReplTok::Char(b'\n'),
                    b'r' => ReplTok::Char(b'\r'),
                    b't' => ReplTok::Char(b'\t'),
                    b'u' => ReplTok::Uri,
                    b'0'..=b'9' => ReplTok::Group(c - b'0'),
                    c => ReplTok::Char(c),
                });
                escapes += 1;
                if escapes >= MAX_ESCAPES {
                    return Err(SubstError::TooManyEscapes);
                }
                p += 2;
                lit = p;
            }
            // A trailing lone backslash: Kamailio's loop ends waiting for
            // the escaped byte, with no separator found.
            b'\\' => return Err(SubstError::MissingSeparator),
            b'$' => {
                if lit < p {
                    repl.push(ReplTok::Lit(&s[lit..p]));
                }
                // `$$` is Kamailio's marker PV, whose value is `$`.
                let len = if s.get(p + 1) == Some(&b'$') {
                    repl.push(ReplTok::Char(b'$'));
                    2
                } else {
                    let len = pv_len(&s[p..])
                        .filter(|&l| l > 1 && p + l <= s.len())
                        .ok_or(SubstError::BadPv)?;
                    repl.push(ReplTok::Pv(pvs));
                    pvs += 1;
                    len
                };
                escapes += 1;
                p += len;
                lit = p;
            }
            c if c == sep => {
                end = Some(p);
                break;
            }
            _ => p += 1,
        }
    }
    let end = end.ok_or(SubstError::MissingSeparator)?;
    if lit < end {
        repl.push(ReplTok::Lit(&s[lit..end]));
    }
    let mut out = Subst {
        re: &s[1..re_end],
        repl,
        icase: false,
        newline: true,
        all: false,
    };
    for &f in &s[end + 1..] {
        match f {
            b'i' => out.icase = true,
            b's' => out.newline = false,
            b'g' => out.all = true,
            c => return Err(SubstError::UnknownFlag(c)),
        }
    }
    Ok(out)
}
