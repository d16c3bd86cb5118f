//! textops — the message tests the stateless configs use (kamailio-modules.md §8).

use crate::engine::Ctx;
use crate::engine::ctx::HeaderOp;
use regex::bytes::Regex;

/// `is_method("INVITE|REGISTER")`: the request method (CSeq method for a
/// reply) is one of the `|`-separated names, case-insensitive. 1 or -1.
pub fn is_method(ctx: &Ctx<'_>, methods: &[u8]) -> i32 {
    let m = match ctx.msg.method() {
        Some(m) => m.as_bytes(),
        None => match ctx.msg.cseq() {
            Ok(c) => c.method.as_bytes(),
            Err(_) => return -1,
        },
    };
    if methods
        .split(|&b| b == b'|')
        .any(|x| x.trim_ascii().eq_ignore_ascii_case(m))
    {
        1
    } else {
        -1
    }
}

/// `has_body()`: the message has a non-empty body.
pub fn has_body(ctx: &Ctx<'_>) -> i32 {
    if ctx.msg.body().is_empty() { -1 } else { 1 }
}

/// `is_present_hf("Name")`
pub fn is_present_hf(ctx: &Ctx<'_>, name: &[u8]) -> i32 {
    if ctx.msg.header_by_name(name).is_some() {
        1
    } else {
        -1
    }
}

/// Whether header `h` of the message is named `name`, as Kamailio's
/// `hname_fixup` compares: a known name by its type (compact forms
/// included), any other case-insensitively.
fn name_is(buf: &[u8], h: &crate::sip::HeaderEntry, name: &[u8]) -> bool {
    use crate::sip::HeaderName;
    let n = &buf[h.name_span().range()];
    let want = HeaderName::from_bytes(name);
    HeaderName::from_bytes(n) == want && (want != HeaderName::Other || n.eq_ignore_ascii_case(name))
}

/// Inserts `text` as written at offset `at` of the received buffer (a
/// lump anchored there: several at one offset keep their order).
fn insert_raw(ctx: &mut Ctx<'_>, at: usize, text: &[u8]) -> i32 {
    // Kamailio: "nothing to add".
    if text.is_empty() {
        return -1;
    }
    ctx.headers.push(HeaderOp::Replace {
        start: at,
        end: at,
        data: text.to_vec(),
    });
    1
}

/// `append_hf("Name: value\r\n")`: the text, as written, after the last
/// header (Kamailio adds no CRLF of its own). -1 for an empty text.
pub fn append_hf(ctx: &mut Ctx<'_>, text: &[u8]) -> i32 {
    let at = ctx.msg.headers_end();
    insert_raw(ctx, at, text)
}

/// `append_hf(text, "Name")`: after the last header of that name, or
/// after the last header when there is none.
pub fn append_hf_after(ctx: &mut Ctx<'_>, text: &[u8], name: &[u8]) -> i32 {
    let buf = ctx.msg.buffer();
    let at = ctx
        .msg
        .headers()
        .iter()
        .rev()
        .find(|h| name_is(buf, h, name))
        .map_or(ctx.msg.headers_end(), |h| h.line().end as usize);
    insert_raw(ctx, at, text)
}

/// `insert_hf(text)`: the text, as written, before the first header.
pub fn insert_hf(ctx: &mut Ctx<'_>, text: &[u8]) -> i32 {
    let at = ctx
        .msg
        .headers()
        .first()
        .map_or(ctx.msg.headers_start(), |h| h.line().start as usize);
    insert_raw(ctx, at, text)
}

/// `insert_hf(text, "Name")`: before the first header of that name, or
/// before the first header when there is none.
pub fn insert_hf_before(ctx: &mut Ctx<'_>, text: &[u8], name: &[u8]) -> i32 {
    let buf = ctx.msg.buffer();
    let at = ctx
        .msg
        .headers()
        .iter()
        .find(|h| name_is(buf, h, name))
        .or_else(|| ctx.msg.headers().first())
        .map_or(ctx.msg.headers_start(), |h| h.line().start as usize);
    insert_raw(ctx, at, text)
}

/// `remove_hf("Name")`: removes every header of that name; 1 if any was
/// removed, -1 otherwise.
pub fn remove_hf(ctx: &mut Ctx<'_>, name: &[u8]) -> i32 {
    let buf = ctx.msg.buffer();
    remove_where(ctx, |h| name_is(buf, h, name))
}

/// Removes every header `pick` selects: 1 if any, else -1.
fn remove_where(ctx: &mut Ctx<'_>, pick: impl Fn(&crate::sip::HeaderEntry) -> bool) -> i32 {
    let idx: Vec<usize> = ctx
        .msg
        .headers()
        .iter()
        .enumerate()
        .filter(|(_, h)| pick(h))
        .map(|(i, _)| i)
        .collect();
    if idx.is_empty() {
        return -1;
    }
    ctx.headers.extend(idx.into_iter().map(HeaderOp::Remove));
    1
}

/// The name of header `h`, which Kamailio's regexes see alone (it puts a
/// NUL after it).
fn hname<'m>(buf: &'m [u8], h: &crate::sip::HeaderEntry) -> &'m [u8] {
    &buf[h.name_span().range()]
}

/// `remove_hf_re(re)`: removes every header whose name matches.
pub fn remove_hf_re(ctx: &mut Ctx<'_>, re: &Regex) -> i32 {
    let buf = ctx.msg.buffer();
    remove_where(ctx, |h| re.is_match(hname(buf, h)))
}

/// `remove_hf_exp(match, skip)`: removes every header whose name matches
/// `re` and not `skip`.
pub fn remove_hf_exp(ctx: &mut Ctx<'_>, re: &Regex, skip: &Regex) -> i32 {
    let buf = ctx.msg.buffer();
    remove_where(ctx, |h| {
        let n = hname(buf, h);
        !skip.is_match(n) && re.is_match(n)
    })
}

/// `is_present_hf_re(re)`: some header name matches.
pub fn is_present_hf_re(ctx: &Ctx<'_>, re: &Regex) -> i32 {
    let buf = ctx.msg.buffer();
    if ctx.msg.headers().iter().any(|h| re.is_match(hname(buf, h))) {
        1
    } else {
        -1
    }
}

/// `search(re)`: the received message (start line to body, as received:
/// earlier edits are not seen) matches.
pub fn search(ctx: &Ctx<'_>, re: &Regex) -> i32 {
    if re.is_match(c_str(ctx.msg.as_bytes())) {
        1
    } else {
        -1
    }
}

/// `search_body(re)`: the received body is not empty and matches.
pub fn search_body(ctx: &Ctx<'_>, re: &Regex) -> i32 {
    let body = ctx.msg.body();
    if !body.is_empty() && re.is_match(c_str(body)) {
        1
    } else {
        -1
    }
}

/// What C's `regexec` sees of a buffer: up to its first NUL.
fn c_str(b: &[u8]) -> &[u8] {
    b.iter().position(|&c| c == 0).map_or(b, |i| &b[..i])
}

/// C's `strncmp`/`strncasecmp` over at most `n` bytes (stopping at a NUL).
fn c_cmp(a: &[u8], b: &[u8], n: usize, icase: bool) -> std::cmp::Ordering {
    for i in 0..n {
        let (mut x, mut y) = (
            a.get(i).copied().unwrap_or(0),
            b.get(i).copied().unwrap_or(0),
        );
        if icase {
            x = x.to_ascii_lowercase();
            y = y.to_ascii_lowercase();
        }
        if x != y || x == 0 {
            return x.cmp(&y);
        }
    }
    std::cmp::Ordering::Equal
}

/// Kamailio's `cmp_str`/`cmpi_str` mapped to textops' codes: 1 equal, -1
/// greater, -2 less.
fn cmp_code(a: &[u8], b: &[u8], icase: bool) -> i32 {
    use std::cmp::Ordering::{Equal, Greater, Less};
    let o = match (a.is_empty(), b.is_empty()) {
        (true, true) => Equal,
        (true, false) => Less,
        (false, true) => Greater,
        _ => match c_cmp(a, b, a.len().min(b.len()), icase) {
            Equal => a.len().cmp(&b.len()),
            o => o,
        },
    };
    match o {
        Equal => 1,
        Greater => -1,
        Less => -2,
    }
}

/// `cmp_str(a, b)`: 1 equal, -1 `a` greater, -2 `a` less (bytewise).
pub fn cmp_str(_ctx: &Ctx<'_>, a: &[u8], b: &[u8]) -> i32 {
    cmp_code(a, b, false)
}

/// `cmp_istr(a, b)`: as `cmp_str`, ASCII case ignored.
pub fn cmp_istr(_ctx: &Ctx<'_>, a: &[u8], b: &[u8]) -> i32 {
    cmp_code(a, b, true)
}

/// `starts_with(s, prefix)`: 1 if it does; -1 if `s` is shorter or its
/// start is greater, -2 if less (as `strncmp`).
pub fn starts_with(_ctx: &Ctx<'_>, s: &[u8], prefix: &[u8]) -> i32 {
    if s.len() < prefix.len() {
        return -1;
    }
    match c_cmp(s, prefix, prefix.len(), false) {
        std::cmp::Ordering::Equal => 1,
        std::cmp::Ordering::Greater => -1,
        std::cmp::Ordering::Less => -2,
    }
}

/// `append_to_reply(text)`: the text, as written, added to the headers
/// of every reply generated locally for this request.
pub fn append_to_reply(ctx: &mut Ctx<'_>, text: &[u8]) -> i32 {
    ctx.reply_lumps.extend_from_slice(text);
    1
}

/// Replaces the first match of `re` in `hay` (a part of the received
/// buffer starting at offset `base`), searching from `from`; with `all`,
/// every match after it too, each search starting where the last match
/// ended. An empty match is Kamailio's "invalid regexp" error (-1, the
/// replacements before it kept), but for `replace`'s one match, which
/// inserts the text there.
fn replace_in(
    ctx: &mut Ctx<'_>,
    hay: &[u8],
    base: usize,
    re: &Regex,
    text: &[u8],
    all: bool,
) -> i32 {
    let hay = c_str(hay);
    let mut pos = 0;
    let mut rc = -1;
    while pos < hay.len() {
        let Some(m) = re.find_at(hay, pos) else {
            break;
        };
        if all && m.is_empty() {
            return -1;
        }
        ctx.headers.push(HeaderOp::Replace {
            start: base + m.start(),
            end: base + m.end(),
            data: text.to_vec(),
        });
        rc = 1;
        if !all {
            break;
        }
        pos = m.end();
    }
    rc
}

/// The received message from the first header to the end of the body,
/// and its offset (what `replace` and `replace_all` search: never the
/// start line).
fn after_first_line<'m>(ctx: &Ctx<'m>) -> (&'m [u8], usize) {
    let buf = ctx.msg.buffer();
    let start = ctx.msg.headers_start();
    let end = (ctx.msg.body_span().end as usize).min(buf.len());
    (buf.get(start..end).unwrap_or_default(), start)
}

/// `replace(re, txt)`: the first match after the start line replaced by
/// `txt` (as written).
pub fn replace(ctx: &mut Ctx<'_>, re: &Regex, text: &[u8]) -> i32 {
    let (hay, base) = after_first_line(ctx);
    replace_in(ctx, hay, base, re, text, false)
}

/// `replace_all(re, txt)`: every match after the start line.
pub fn replace_all(ctx: &mut Ctx<'_>, re: &Regex, text: &[u8]) -> i32 {
    let (hay, base) = after_first_line(ctx);
    replace_in(ctx, hay, base, re, text, true)
}

/// `replace_body(re, txt)`: the first match in the body (-1 without one).
pub fn replace_body(ctx: &mut Ctx<'_>, re: &Regex, text: &[u8]) -> i32 {
    let body = ctx.msg.body();
    if body.is_empty() {
        return -1;
    }
    let base = ctx.msg.body_span().start as usize;
    replace_in(ctx, body, base, re, text, false)
}

/// `replace_body_all(re, txt)`: every match in the body.
pub fn replace_body_all(ctx: &mut Ctx<'_>, re: &Regex, text: &[u8]) -> i32 {
    let body = ctx.msg.body();
    if body.is_empty() {
        return -1;
    }
    let base = ctx.msg.body_span().start as usize;
    replace_in(ctx, body, base, re, text, true)
}

/// `replace_body_atonce(re, txt)`: every match in the body, the regex
/// seeing the body as one text (compiled without `REG_NEWLINE`).
pub fn replace_body_atonce(ctx: &mut Ctx<'_>, re: &Regex, text: &[u8]) -> i32 {
    replace_body_all(ctx, re, text)
}
