//! POSIX basic regular expressions as glibc's `regcomp(re, REG_NOSUB)`
//! reads them in the C locale (Kamailio calls no `setlocale`): the
//! `from_pattern`/`ruri_pattern` of permissions' trusted table. They are
//! translated into the `regex` crate's syntax (the runtime's one regex
//! engine, the one `=~` uses), following glibc's parser (`regcomp.c`,
//! `RE_SYNTAX_POSIX_BASIC` with the GNU operators) token by token:
//!
//! * `\(` `\)` group, `\|` alternates, `*` `\+` `\?` `\{m,n\}` repeat;
//!   `+ ? { } ( ) |` are ordinary characters;
//! * `^` is an anchor first in the pattern or right after `\(` or `\|`,
//!   `$` last or right before `\)` or `\|`; elsewhere they are ordinary;
//! * `*` first in the pattern, after `\(`, `\|` or an anchor is an
//!   ordinary `*`; a `\{` there, or a `*`/`\{` right after a repetition,
//!   is an error (`REG_BADRPT`);
//! * `\<` `\>` `\b` `\B` `` \` `` `\'` anchors, `\w` `\W` `\s` `\S` classes
//!   (ASCII); any other escaped character is itself;
//! * bracket expressions as sets of bytes: a leading `]` is a member,
//!   `\` is ordinary, ranges by byte value (an empty range is an error),
//!   `[:class:]`, and `[.c.]`/`[=c=]` of a single character only;
//! * `.` is any byte (newline included); matching is by bytes, case
//!   sensitive, unanchored.
//!
//! Back-references (`\1`...`\9`) cannot be expressed in the `regex`
//! crate: such a pattern is [`BreError::Unsupported`].

use regex::bytes::{Regex, RegexBuilder};

/// Why a pattern does not compile.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BreError {
    /// glibc's `regcomp` refuses it (its error, in glibc's words).
    Invalid(&'static str),
    /// Valid for glibc, but not expressible here.
    Unsupported(String),
}

const EBRACK: BreError = BreError::Invalid("Unmatched [, [^, [:, [., or [=");
const EPAREN: BreError = BreError::Invalid("Unmatched ( or \\(");
const BADRPT: BreError = BreError::Invalid("Invalid preceding regular expression");
const BADBR: BreError = BreError::Invalid("Invalid content of \\{\\}");
const EBRACE: BreError = BreError::Invalid("Unmatched \\{");
const ERANGE: BreError = BreError::Invalid("Invalid range end");
const ECOLLATE: BreError = BreError::Invalid("Invalid collation character");
const ECTYPE: BreError = BreError::Invalid("Invalid character class name");
const EESCAPE: BreError = BreError::Invalid("Trailing backslash");
const ESIZE: BreError = BreError::Invalid("Regular expression too big");

/// glibc's `RE_DUP_MAX`.
const DUP_MAX: i32 = 0x7fff;

/// Compiles `re` (up to its first NUL, as a C string) as glibc would.
///
/// # Errors
/// glibc refuses it, or it cannot be expressed (back-references).
pub fn compile(re: &[u8]) -> Result<Regex, BreError> {
    let t = translate(cstr(re))?;
    RegexBuilder::new(&format!("(?s-u){t}"))
        .build()
        .map_err(|e| BreError::Unsupported(e.to_string()))
}

/// `s` up to its first NUL: what a C function sees of it.
pub fn cstr(s: &[u8]) -> &[u8] {
    s.iter().position(|&b| b == 0).map_or(s, |i| &s[..i])
}

/// `re` in the `regex` crate's syntax (to be compiled with `(?s-u)`).
///
/// # Errors
/// As [`compile`].
pub fn translate(re: &[u8]) -> Result<String, BreError> {
    let mut p = Parser {
        re,
        pos: 0,
        tok: Tok::End,
        len: 0,
    };
    p.fetch(true);
    let out = p.reg_exp(0)?;
    match p.tok {
        Tok::End => Ok(out),
        _ => Err(EPAREN),
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Tok {
    Char(u8),
    Period,
    Star,
    Plus,
    Question,
    OpenDup,
    CloseDup,
    OpenGroup,
    CloseGroup,
    Alt,
    Bracket,
    BackRef,
    /// A trailing backslash.
    Backslash,
    /// An anchor, in `regex` syntax.
    Anchor(&'static str),
    /// `\w`-style class, in `regex` syntax.
    Class(&'static str),
    End,
}

struct Parser<'a> {
    re: &'a [u8],
    /// Where the current token starts.
    pos: usize,
    tok: Tok,
    /// The current token's length.
    len: usize,
}

impl Parser<'_> {
    /// Glibc's `peek_token` at `pos`; `caret`: right after the start,
    /// `\(` or `\|` (`RE_CARET_ANCHORS_HERE`).
    fn peek(&self, pos: usize, caret: bool) -> (Tok, usize) {
        let re = self.re;
        let Some(&c) = re.get(pos) else {
            return (Tok::End, 0);
        };
        if c == b'\\' {
            let Some(&c2) = re.get(pos + 1) else {
                return (Tok::Backslash, 1);
            };
            let t = match c2 {
                b'|' => Tok::Alt,
                b'1'..=b'9' => Tok::BackRef,
                b'<' => Tok::Anchor(r"\b{start}"),
                b'>' => Tok::Anchor(r"\b{end}"),
                b'b' => Tok::Anchor(r"\b"),
                b'B' => Tok::Anchor(r"\B"),
                b'`' => Tok::Anchor(r"\A"),
                b'\'' => Tok::Anchor(r"\z"),
                b'w' => Tok::Class(r"\w"),
                b'W' => Tok::Class(r"\W"),
                b's' => Tok::Class(r"\s"),
                b'S' => Tok::Class(r"\S"),
                b'(' => Tok::OpenGroup,
                b')' => Tok::CloseGroup,
                b'+' => Tok::Plus,
                b'?' => Tok::Question,
                b'{' => Tok::OpenDup,
                b'}' => Tok::CloseDup,
                c2 => Tok::Char(c2),
            };
            return (t, 2);
        }
        let t = match c {
            b'*' => Tok::Star,
            b'[' => Tok::Bracket,
            b'.' => Tok::Period,
            b'^' if pos == 0 || caret => Tok::Anchor("^"),
            b'$' => {
                let last = pos + 1 == re.len();
                let before = matches!(self.peek(pos + 1, false).0, Tok::Alt | Tok::CloseGroup);
                if last || before {
                    Tok::Anchor("$")
                } else {
                    Tok::Char(b'$')
                }
            }
            c => Tok::Char(c),
        };
        (t, 1)
    }

    /// Moves past the current token.
    fn fetch(&mut self, caret: bool) {
        self.pos += self.len;
        (self.tok, self.len) = self.peek(self.pos, caret);
    }

    /// `parse_reg_exp`: branches separated by `\|`.
    fn reg_exp(&mut self, nest: usize) -> Result<String, BreError> {
        let mut out = self.branch(nest)?;
        while self.tok == Tok::Alt {
            self.fetch(true);
            out.push('|');
            if self.tok != Tok::Alt
                && self.tok != Tok::End
                && (nest == 0 || self.tok != Tok::CloseGroup)
            {
                out.push_str(&self.branch(nest)?);
            }
        }
        Ok(out)
    }

    /// `parse_branch`: a concatenation.
    fn branch(&mut self, nest: usize) -> Result<String, BreError> {
        let mut out = self.expression(nest)?;
        while self.tok != Tok::Alt
            && self.tok != Tok::End
            && (nest == 0 || self.tok != Tok::CloseGroup)
        {
            out.push_str(&self.expression(nest)?);
        }
        Ok(out)
    }

    /// `parse_expression`: one item and its repetitions.
    fn expression(&mut self, nest: usize) -> Result<String, BreError> {
        let mut item = match self.tok {
            Tok::Char(c) => literal(c),
            Tok::Period => ".".into(),
            Tok::Bracket => self.bracket()?,
            Tok::BackRef => {
                return Err(BreError::Unsupported("a back-reference (\\1...\\9)".into()));
            }
            Tok::OpenGroup => self.sub_exp(nest + 1)?,
            Tok::OpenDup => return Err(BADRPT),
            // Nothing before them to repeat: ordinary characters.
            Tok::Star => literal(b'*'),
            Tok::Plus => literal(b'+'),
            Tok::Question => literal(b'?'),
            Tok::CloseDup => literal(b'}'),
            Tok::CloseGroup => return Err(EPAREN),
            Tok::Backslash => return Err(EESCAPE),
            Tok::Alt | Tok::End => return Ok(String::new()),
            Tok::Anchor(a) => {
                // Anchors take no repetition: what follows starts anew.
                self.fetch(false);
                return Ok(a.into());
            }
            Tok::Class(c) => c.into(),
        };
        self.fetch(false);
        while matches!(
            self.tok,
            Tok::Star | Tok::Plus | Tok::Question | Tok::OpenDup
        ) {
            let op = self.dup_op()?;
            item = format!("(?:{item}){op}");
            // In a BRE, `*` or `\{` right after a repetition is an error.
            if matches!(self.tok, Tok::Star | Tok::OpenDup) {
                return Err(BADRPT);
            }
        }
        Ok(item)
    }

    /// `parse_sub_exp`: after `\(`, up to its `\)`.
    fn sub_exp(&mut self, nest: usize) -> Result<String, BreError> {
        self.fetch(true);
        let inner = if self.tok == Tok::CloseGroup {
            String::new()
        } else {
            let s = self.reg_exp(nest)?;
            if self.tok != Tok::CloseGroup {
                return Err(EPAREN);
            }
            s
        };
        Ok(format!("(?:{inner})"))
    }

    /// `parse_dup_op`: the repetition at the current token, in `regex`
    /// syntax; moves past it.
    fn dup_op(&mut self) -> Result<String, BreError> {
        let op = match self.tok {
            Tok::Star => "*".to_string(),
            Tok::Plus => "+".to_string(),
            Tok::Question => "?".to_string(),
            _ => {
                let mut start = self.number();
                if start == -1 {
                    if self.tok == Tok::Char(b',') {
                        start = 0; // `\{,m\}` is `\{0,m\}`.
                    } else {
                        return Err(BADBR);
                    }
                }
                let mut end = 0;
                if start != -2 {
                    end = if self.tok == Tok::CloseDup {
                        start
                    } else if self.tok == Tok::Char(b',') {
                        self.number()
                    } else {
                        -2
                    };
                }
                if start == -2 || end == -2 {
                    return Err(if self.tok == Tok::End { EBRACE } else { BADBR });
                }
                if (end != -1 && start > end) || self.tok != Tok::CloseDup {
                    return Err(BADBR);
                }
                if (if end == -1 { start } else { end }) > DUP_MAX {
                    return Err(ESIZE);
                }
                if end == -1 {
                    format!("{{{start},}}")
                } else {
                    format!("{{{start},{end}}}")
                }
            }
        };
        self.fetch(false);
        Ok(op)
    }

    /// `fetch_number`: digits up to `,` or `\}`; -1 none, -2 invalid.
    fn number(&mut self) -> i32 {
        let mut num: i32 = -1;
        loop {
            self.fetch(false);
            let c = match self.tok {
                Tok::End => return -2,
                Tok::CloseDup | Tok::Char(b',') => break,
                Tok::Char(c) => Some(c),
                _ => None,
            };
            num = match c {
                Some(d @ b'0'..=b'9') if num != -2 => {
                    let d = i32::from(d - b'0');
                    if num == -1 {
                        d
                    } else {
                        (num * 10 + d).min(DUP_MAX + 1)
                    }
                }
                _ => -2,
            };
        }
        num
    }

    /// `parse_bracket_exp`: the bracket expression at `pos` as a class
    /// of bytes; the current token's length becomes the expression's.
    fn bracket(&mut self) -> Result<String, BreError> {
        let re = self.re;
        let mut p = self.pos + 1;
        let mut set = [false; 256];
        let (mut t, mut tl) = peek_bracket(re, p);
        let non_match = t == BTok::NonMatch;
        if non_match {
            p += tl;
            (t, tl) = peek_bracket(re, p);
        }
        // A `]` first is a member.
        if t == BTok::Close {
            t = BTok::Char(b']');
        }
        let mut first = true;
        loop {
            let start = element(re, &mut p, t, tl, first)?;
            first = false;
            (t, tl) = peek_bracket(re, p);
            let mut range_end = None;
            if !matches!(start, Elem::Class(_) | Elem::Equiv(_)) {
                if t == BTok::End {
                    return Err(EBRACK);
                }
                if t == BTok::Range {
                    p += tl;
                    let (t2, tl2) = peek_bracket(re, p);
                    if t2 == BTok::End {
                        return Err(EBRACK);
                    }
                    if t2 == BTok::Close {
                        // A `-` last is a member.
                        p -= tl;
                        t = BTok::Char(b'-');
                    } else {
                        range_end = Some((t2, tl2));
                    }
                }
            }
            if let Some((t2, tl2)) = range_end {
                let end = element(re, &mut p, t2, tl2, true)?;
                (t, tl) = peek_bracket(re, p);
                let (a, b) = (range_point(&start)?, range_point(&end)?);
                if a > b {
                    return Err(ERANGE);
                }
                for x in a..=b {
                    set[usize::from(x)] = true;
                }
            } else {
                add(&mut set, &start)?;
            }
            match t {
                BTok::End => return Err(EBRACK),
                BTok::Close => break,
                _ => {}
            }
        }
        p += tl;
        if non_match {
            for b in &mut set {
                *b = !*b;
            }
        }
        self.len = p - self.pos;
        Ok(class(&set))
    }
}

/// A literal byte in `regex` syntax.
fn literal(c: u8) -> String {
    if c.is_ascii_alphanumeric() {
        char::from(c).to_string()
    } else {
        format!("\\x{c:02X}")
    }
}

/// A set of bytes as a `regex` class.
fn class(set: &[bool; 256]) -> String {
    let mut out = String::from("[");
    let mut i = 0;
    while i < 256 {
        if set[i] {
            let mut j = i;
            while j + 1 < 256 && set[j + 1] {
                j += 1;
            }
            out.push_str(&format!("\\x{i:02X}-\\x{j:02X}"));
            i = j + 1;
        } else {
            i += 1;
        }
    }
    if out.len() == 1 {
        // No member: never matches.
        return r"[^\x00-\xFF]".into();
    }
    out.push(']');
    out
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum BTok {
    Char(u8),
    OpenColl,
    OpenEquiv,
    OpenClass,
    Range,
    Close,
    NonMatch,
    End,
}

/// glibc's `peek_token_bracket`.
fn peek_bracket(re: &[u8], p: usize) -> (BTok, usize) {
    let Some(&c) = re.get(p) else {
        return (BTok::End, 0);
    };
    if c == b'[' {
        return match re.get(p + 1) {
            Some(b'.') => (BTok::OpenColl, 2),
            Some(b'=') => (BTok::OpenEquiv, 2),
            Some(b':') => (BTok::OpenClass, 2),
            _ => (BTok::Char(c), 1),
        };
    }
    let t = match c {
        b'-' => BTok::Range,
        b']' => BTok::Close,
        b'^' => BTok::NonMatch,
        c => BTok::Char(c),
    };
    (t, 1)
}

/// One element of a bracket expression.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Elem {
    Byte(u8),
    Coll(Vec<u8>),
    Equiv(Vec<u8>),
    Class(Vec<u8>),
}

/// glibc's `parse_bracket_element`: the element at token `t`; moves `p`
/// past it.
fn element(
    re: &[u8],
    p: &mut usize,
    t: BTok,
    tl: usize,
    accept_hyphen: bool,
) -> Result<Elem, BreError> {
    *p += tl;
    match t {
        BTok::OpenColl | BTok::OpenEquiv | BTok::OpenClass => {
            let delim = match t {
                BTok::OpenColl => b'.',
                BTok::OpenEquiv => b'=',
                _ => b':',
            };
            let mut name = Vec::new();
            if *p >= re.len() {
                return Err(EBRACK);
            }
            loop {
                if name.len() >= 32 {
                    return Err(EBRACK);
                }
                let ch = re[*p];
                *p += 1;
                if *p >= re.len() {
                    return Err(EBRACK);
                }
                if ch == delim && re[*p] == b']' {
                    break;
                }
                name.push(ch);
            }
            *p += 1;
            Ok(match t {
                BTok::OpenColl => Elem::Coll(name),
                BTok::OpenEquiv => Elem::Equiv(name),
                _ => Elem::Class(name),
            })
        }
        BTok::Range => {
            // A `-` that is not a range's is a member only last.
            if !accept_hyphen && peek_bracket(re, *p).0 != BTok::Close {
                return Err(ERANGE);
            }
            Ok(Elem::Byte(b'-'))
        }
        BTok::Close => Ok(Elem::Byte(b']')),
        BTok::NonMatch => Ok(Elem::Byte(b'^')),
        BTok::Char(c) => Ok(Elem::Byte(c)),
        BTok::End => Err(EBRACK),
    }
}

/// A range's end point (a byte, or a one-character collating symbol).
fn range_point(e: &Elem) -> Result<u8, BreError> {
    match e {
        Elem::Byte(b) => Ok(*b),
        Elem::Coll(n) if n.len() <= 1 => Ok(n.first().copied().unwrap_or(0)),
        Elem::Coll(_) => Err(ECOLLATE),
        Elem::Equiv(_) | Elem::Class(_) => Err(ERANGE),
    }
}

/// Adds one element (not a range) to `set`.
fn add(set: &mut [bool; 256], e: &Elem) -> Result<(), BreError> {
    match e {
        Elem::Byte(b) => set[usize::from(*b)] = true,
        Elem::Coll(n) | Elem::Equiv(n) => match n.as_slice() {
            [b] => set[usize::from(*b)] = true,
            _ => return Err(ECOLLATE),
        },
        Elem::Class(n) => {
            let f: fn(u8) -> bool = match n.as_slice() {
                b"alpha" => |c| c.is_ascii_alphabetic(),
                b"upper" => |c| c.is_ascii_uppercase(),
                b"lower" => |c| c.is_ascii_lowercase(),
                b"digit" => |c| c.is_ascii_digit(),
                b"xdigit" => |c| c.is_ascii_hexdigit(),
                b"space" => |c| matches!(c, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r'),
                b"print" => |c| (0x20..0x7f).contains(&c),
                b"punct" => |c| c.is_ascii_punctuation(),
                b"graph" => |c| c.is_ascii_graphic(),
                b"cntrl" => |c| c.is_ascii_control(),
                b"blank" => |c| c == b' ' || c == b'\t',
                b"alnum" => |c| c.is_ascii_alphanumeric(),
                _ => return Err(ECTYPE),
            };
            for c in 0..=255u8 {
                if f(c) {
                    set[usize::from(c)] = true;
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
