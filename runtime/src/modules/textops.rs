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
pub(crate) fn name_is(buf: &[u8], h: &crate::sip::HeaderEntry, name: &[u8]) -> bool {
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

/// The privacy value at the start of `s` (Kamailio's `parse_priv_value`):
/// its bit and length, if it is one followed by the end, `;` or a blank.
fn priv_value(s: &[u8]) -> Option<(u32, usize)> {
    const WORDS: [(&[u8], u32); 7] = [
        (b"critical", 16),
        (b"header", 1),
        (b"history", 64),
        (b"id", 32),
        (b"none", 8),
        (b"session", 2),
        (b"user", 4),
    ];
    let (bit, len) = WORDS
        .iter()
        .find(|(w, _)| s.len() >= w.len() && s[..w.len()].eq_ignore_ascii_case(w))
        .map(|(w, b)| (*b, w.len()))?;
    match s.get(len) {
        None | Some(b';' | b' ' | b'\t' | b'\r' | b'\n' | 0) => Some((bit, len)),
        Some(_) => None,
    }
}

/// The values of the first Privacy header (Kamailio's `parse_privacy`):
/// `None` without one, or when it does not parse (`none` with another
/// value included).
fn privacy_values(ctx: &Ctx<'_>) -> Option<u32> {
    let h = ctx
        .msg
        .headers()
        .iter()
        .find(|h| h.name == crate::sip::HeaderName::Privacy)?;
    let v = ctx.msg.buffer()[h.value().range()].trim_ascii_start();
    if v.is_empty() {
        return None;
    }
    let ws = |c: &u8| matches!(c, b' ' | b'\t' | b'\r' | b'\n');
    let (mut values, mut p) = (0, 0);
    while p < v.len() {
        let (bit, len) = priv_value(&v[p..])?;
        values |= bit;
        p += len;
        while p < v.len() && ws(&v[p]) {
            p += 1;
        }
        if p >= v.len() {
            break;
        }
        if v[p] != b';' {
            return None;
        }
        p += 1;
        while p < v.len() && ws(&v[p]) {
            p += 1;
        }
        if p >= v.len() {
            return None;
        }
    }
    if values & 8 != 0 && values != 8 {
        return None;
    }
    Some(values)
}

/// `is_privacy(value)`: the Privacy header holds that value (checked at
/// build: one of header, session, user, none, critical, id, history).
pub fn is_privacy(ctx: &Ctx<'_>, value: &[u8]) -> i32 {
    let Some((want, _)) = priv_value(value) else {
        return -1;
    };
    match privacy_values(ctx) {
        Some(v) if v & want != 0 => 1,
        _ => -1,
    }
}

/// The lines of an SDP body, their `\r` dropped.
fn sdp_lines(body: &[u8]) -> Vec<&[u8]> {
    body.split(|&b| b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
        .collect()
}

/// The address type and address of a `c=` line, as Kamailio's
/// `extract_mediaip` reads them (the last ` IP4`/` IP6`, then a token);
/// `None` where it fails.
fn media_ip(line: &[u8]) -> Option<(u8, &[u8])> {
    let v = line.get(2..)?.trim_ascii();
    let at = v.windows(3).rposition(|w| w == b" IP")?;
    let kind = *v.get(at + 3)?;
    if !matches!(kind, b'4' | b'6') {
        return None;
    }
    let rest = v.get(at + 5..).unwrap_or_default().trim_ascii_start();
    let end = rest
        .iter()
        .position(|c| c.is_ascii_whitespace())
        .unwrap_or(rest.len());
    (end > 0).then(|| (kind, &rest[..end]))
}

/// Kamailio's hold state of a sendrecv-mode attribute line: `Some(2)` for
/// `a=inactive`/`a=sendonly`, `Some(0)` for `a=sendrecv`/`a=recvonly`
/// (ASCII case ignored, as prefixes), `None` for another line.
fn sendrecv_hold(line: &[u8]) -> Option<i32> {
    let p = line.get(..10)?;
    if p.eq_ignore_ascii_case(b"a=sendrecv") || p.eq_ignore_ascii_case(b"a=recvonly") {
        Some(0)
    } else if p.eq_ignore_ascii_case(b"a=inactive") || p.eq_ignore_ascii_case(b"a=sendonly") {
        Some(2)
    } else {
        None
    }
}

/// `is_audio_on_hold()`: 2 when an audio stream (or its session) is
/// `sendonly`/`inactive` (RFC 3264), 1 when its connection address is
/// `0.0.0.0` (RFC 2543; not an ICE trickle re-negotiation on port 9),
/// else -1 (and when the body is no SDP Kamailio's parser accepts: one
/// `application/sdp` body; a multipart body is not looked into, as in
/// sdpops).
pub fn is_audio_on_hold(ctx: &Ctx<'_>) -> i32 {
    if crate::sip::sdp::Sdp::of(ctx.msg).is_err() {
        return -1;
    }
    let lines = sdp_lines(ctx.msg.body());
    let is = |l: &[u8], c: u8| l.len() >= 2 && l[0] == c && l[1] == b'=';
    let find = |from: usize, to: usize, c: u8| (from..to).find(|&i| is(lines[i], c));
    let n = lines.len();
    let Some(v) = find(0, n, b'v') else { return -1 };
    let Some(o) = find(v, n, b'o') else { return -1 };
    let Some(m1) = find(o, n, b'm') else {
        return -1;
    };
    let session_c = match find(o, m1, b'c') {
        Some(i) => match media_ip(lines[i]) {
            Some(c) => Some(c),
            None => return -1,
        },
        None => None,
    };
    let session_hold = (o..m1)
        .filter(|&i| is(lines[i], b'a'))
        .find_map(|i| sendrecv_hold(lines[i]))
        .unwrap_or(0);
    let mut m = m1;
    while m < n {
        let next = find(m + 1, n, b'm').unwrap_or(n);
        let stream_c = match find(m, next, b'c') {
            Some(i) => match media_ip(lines[i]) {
                Some(c) => Some(c),
                None => return -1,
            },
            None if session_c.is_none() => return -1,
            None => None,
        };
        let mut f = lines[m][2..]
            .split(|&b| b == b' ')
            .filter(|f| !f.is_empty());
        let (media, port) = (f.next().unwrap_or_default(), f.next().unwrap_or_default());
        let has_payloads = f.nth(1).is_some();
        let (mut hold, mut trickle) = (0, false);
        if has_payloads {
            for i in (m + 1..next).filter(|&i| is(lines[i], b'a')) {
                let l = lines[i];
                if l.len() >= 8 && l[..8].eq_ignore_ascii_case(b"a=ptime:") {
                    continue;
                }
                if let Some(h) = sendrecv_hold(l) {
                    if h != 0 {
                        hold = h;
                    }
                } else if l.len() >= 14 && l[..14].eq_ignore_ascii_case(b"a=ice-options:") {
                    trickle |= l[14..]
                        .split(|&b| b == b' ')
                        .any(|o| o.trim_ascii() == b"trickle");
                }
            }
        }
        if hold == 0
            && let Some((kind, addr)) = stream_c.or(session_c)
            && kind == b'4'
            && addr == b"0.0.0.0"
            && !(trickle && port == b"9")
        {
            hold = 1;
        }
        if media == b"audio" {
            if hold != 0 {
                return hold;
            }
            if session_hold != 0 {
                return session_hold;
            }
        }
        m = next;
    }
    -1
}

/// Kamailio's `find_hdr_line_start` for Content-Type: from `at` in
/// `body`, the first CRLF-ended line whose first 14 bytes start with a
/// Content-Type header name (compact `c` too) and a colon; the offset of
/// its value (after the colon and blanks). `None` at the end, or at a CR
/// without LF.
fn next_ctype_line(body: &[u8], at: usize) -> Option<usize> {
    next_ctype_line_at(body, at).map(|(_, v)| v)
}

/// [`next_ctype_line`] with the offset of the line's start.
fn next_ctype_line_at(body: &[u8], mut at: usize) -> Option<(usize, usize)> {
    while body.len() - at >= 14 {
        let head = &body[at..at + 14];
        if let Some(colon) = head.iter().position(|&c| c == b':') {
            let name = head[..colon].trim_ascii_end();
            if crate::sip::HeaderName::from_bytes(name) == crate::sip::HeaderName::ContentType {
                let mut v = at + colon + 1;
                while v < body.len() && matches!(body[v], b' ' | b'\t') {
                    v += 1;
                }
                return (v < body.len()).then_some((at, v));
            }
        }
        let cr = body[at..body.len() - 1].iter().position(|&c| c == b'\r')? + at;
        if body[cr + 1] != b'\n' {
            return None;
        }
        at = cr + 2;
    }
    None
}

/// `filter_body(content_type)`: of a `multipart/mixed` body, only the
/// content of the first part of that type is kept (everything before it
/// and from the CRLF before the next boundary line removed; the
/// message's Content-Type is left as it is, as Kamailio's). -1 when the
/// body is not multipart/mixed or has no such part.
pub fn filter_body(ctx: &mut Ctx<'_>, ctype: &[u8]) -> i32 {
    let body = ctx.msg.body();
    if body.is_empty() {
        return -1;
    }
    let Ok(Some(ct)) = ctx.msg.content_type() else {
        return -1;
    };
    if !ct.mtype.eq_ignore_ascii_case(b"multipart") || !ct.subtype.eq_ignore_ascii_case(b"mixed") {
        return -1;
    }
    let mut boundary = b"--".to_vec();
    match ct.params.get(b"boundary") {
        Some(Some(b)) => {
            let b = b
                .strip_prefix(b"\"")
                .and_then(|b| b.strip_suffix(b"\""))
                .unwrap_or(b);
            boundary.extend_from_slice(b);
        }
        // Kamailio's `get_boundary` fails without parameters; with others
        // but no boundary it looks for an empty one.
        _ if ct.params.raw().trim_ascii().is_empty() => return -1,
        _ => boundary.clear(),
    }
    let base = ctx.msg.body_span().start as usize;
    let mut at = 0;
    while let Some(v) = next_ctype_line(body, at) {
        let rest = &body[v..];
        if rest.len() <= ctype.len() + 2 {
            return -1;
        }
        if rest[..ctype.len()].eq_ignore_ascii_case(ctype) {
            let mut p = v + ctype.len();
            if body.get(p..p + 2) != Some(b"\r\n") {
                return -1;
            }
            p += 2;
            while p < body.len() && matches!(body[p], b'\r' | b'\n') {
                p += 1;
            }
            // The next line starting with the boundary.
            let mut q = p;
            let found = loop {
                if body.len() - q < boundary.len() {
                    break None;
                }
                if body[q..].starts_with(&boundary) {
                    break Some(q);
                }
                let Some(cr) = body[q..body.len() - 1].iter().position(|&c| c == b'\r') else {
                    break None;
                };
                if body[q + cr + 1] != b'\n' {
                    break None;
                }
                q += cr + 2;
            };
            let Some(q) = found.filter(|&q| q >= 2) else {
                return -1;
            };
            ctx.headers.push(HeaderOp::Replace {
                start: base,
                end: base + p,
                data: Vec::new(),
            });
            ctx.headers.push(HeaderOp::Replace {
                start: base + q - 2,
                end: base + body.len(),
                data: Vec::new(),
            });
            return 1;
        }
        at = v;
    }
    -1
}

/// `append_time()`: a `Date:` header with the current time (GMT, as
/// `strftime`'s `%a, %d %b %Y %H:%M:%S` in the C locale) added to the
/// replies generated locally for this request, as `append_to_reply`.
pub fn append_time(ctx: &mut Ctx<'_>) -> i32 {
    let Some(date) = http_date(std::time::SystemTime::now()) else {
        return -1;
    };
    ctx.reply_lumps.extend_from_slice(b"Date: ");
    ctx.reply_lumps.extend_from_slice(date.as_bytes());
    ctx.reply_lumps.extend_from_slice(b"\r\n");
    1
}

/// `Sun, 06 Nov 1994 08:49:37 GMT`.
fn http_date(t: std::time::SystemTime) -> Option<String> {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let secs = t.duration_since(std::time::UNIX_EPOCH).ok()?.as_secs();
    let days = secs / 86_400;
    let rem = secs % 86_400;
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = i64::try_from(days).ok()? + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    Some(format!(
        "{}, {:02} {} {:04} {:02}:{:02}:{:02} GMT",
        DAYS[usize::try_from(days % 7).ok()?],
        d,
        MONTHS[usize::try_from(m - 1).ok()?],
        y,
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    ))
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

// ---- substitutions (`subst*`) ------------------------------------------

use cfgc_vocab::subst::{self as sx, ReplTok, SubstPv};

/// A substitution as the compiler checked it: its text split again, each
/// PV of the replacement as long as the compiler found it (`None` for a
/// text the compiler would have refused).
fn parse_subst<'a>(text: &'a [u8], pvs: &'a [SubstPv]) -> Option<(sx::Subst<'a>, &'a [SubstPv])> {
    let mut lens = pvs.iter().map(|p| p.len);
    let spec = sx::parse(text, &mut |_| lens.next()).ok()?;
    Some((spec, pvs))
}

/// The replacement of one match: the tokens with the groups of `caps`,
/// `\u` (the request URI; nothing on a reply, as Kamailio logs and goes
/// on) and the PVs' values (their text: empty for `$null`).
fn build_repl(
    ctx: &Ctx<'_>,
    toks: &[ReplTok<'_>],
    pvs: &[SubstPv],
    caps: &regex::bytes::Captures<'_>,
    out: &mut Vec<u8>,
) {
    for t in toks {
        match t {
            ReplTok::Lit(l) => out.extend_from_slice(l),
            ReplTok::Char(c) => out.push(*c),
            ReplTok::Group(n) => {
                if let Some(m) = caps.get(usize::from(*n)) {
                    out.extend_from_slice(m.as_bytes());
                }
            }
            ReplTok::Uri => {
                if ctx.msg.is_request() {
                    out.extend_from_slice(ctx.ruri());
                }
            }
            ReplTok::Pv(i) => {
                if let Some(p) = pvs.get(*i) {
                    let v = crate::engine::pv::read(ctx, &p.pv);
                    if !v.is_null() {
                        out.extend_from_slice(&v.to_bytes());
                    }
                }
            }
        }
    }
}

/// Kamailio's `subst_run` over `hay` (up to its first NUL): the first
/// match, or with `g` every match each search starting where the last
/// ended, as (start, end, replacement). `Err` when a match is empty
/// (Kamailio: "invalid regexp?", nothing replaced); `Ok` empty when none.
fn subst_run(
    ctx: &Ctx<'_>,
    re: &Regex,
    (spec, pvs): &(sx::Subst<'_>, &[SubstPv]),
    hay: &[u8],
) -> Result<Vec<(usize, usize, Vec<u8>)>, ()> {
    let hay = c_str(hay);
    let mut out = Vec::new();
    let mut pos = 0;
    while let Some(caps) = re.captures_at(hay, pos) {
        let Some(m) = caps.get(0) else { break };
        if m.is_empty() {
            return Err(());
        }
        let mut r = Vec::new();
        build_repl(ctx, &spec.repl, pvs, &caps, &mut r);
        out.push((m.start(), m.end(), r));
        pos = m.end();
        if !spec.all {
            break;
        }
    }
    Ok(out)
}

/// The substitution of a text, whole: `None` without a match (or after an
/// empty one).
fn subst_str(
    ctx: &Ctx<'_>,
    re: &Regex,
    spec: &(sx::Subst<'_>, &[SubstPv]),
    input: &[u8],
) -> Option<Vec<u8>> {
    let input = c_str(input);
    let edits = subst_run(ctx, re, spec, input).ok()?;
    if edits.is_empty() {
        return None;
    }
    let mut out = Vec::with_capacity(input.len());
    let mut at = 0;
    for (s, e, r) in edits {
        out.extend_from_slice(&input[at..s]);
        out.extend_from_slice(&r);
        at = e;
    }
    out.extend_from_slice(&input[at..]);
    Some(out)
}

/// The substitutions of `hay` (at `base` of the received buffer) as edits
/// of the message: 1 if any, -1 otherwise.
fn subst_edits(
    ctx: &mut Ctx<'_>,
    re: &Regex,
    spec: &(sx::Subst<'_>, &[SubstPv]),
    hay: &[u8],
    base: usize,
) -> i32 {
    match subst_run(ctx, re, spec, hay) {
        Ok(edits) if !edits.is_empty() => {
            ctx.headers
                .extend(edits.into_iter().map(|(s, e, data)| HeaderOp::Replace {
                    start: base + s,
                    end: base + e,
                    data,
                }));
            1
        }
        _ => -1,
    }
}

/// `subst('/re/repl/flags')`: sed-like replacement over the received
/// message after the start line (headers and body). 1 if anything was
/// replaced, else -1.
pub fn subst(ctx: &mut Ctx<'_>, re: &Regex, text: &[u8], pvs: &[SubstPv]) -> i32 {
    let Some(spec) = parse_subst(text, pvs) else {
        return -1;
    };
    let (hay, base) = after_first_line(ctx);
    subst_edits(ctx, re, &spec, hay, base)
}

/// `subst_body('/re/repl/flags')`: over the body (-1 without one).
pub fn subst_body(ctx: &mut Ctx<'_>, re: &Regex, text: &[u8], pvs: &[SubstPv]) -> i32 {
    let Some(spec) = parse_subst(text, pvs) else {
        return -1;
    };
    let body = ctx.msg.body();
    if body.is_empty() {
        return -1;
    }
    let base = ctx.msg.body_span().start as usize;
    subst_edits(ctx, re, &spec, body, base)
}

/// `subst_uri('/re/repl/flags')`: over the request URI (the rewritten
/// one if any), which becomes the result.
pub fn subst_uri(ctx: &mut Ctx<'_>, re: &Regex, text: &[u8], pvs: &[SubstPv]) -> i32 {
    let Some(spec) = parse_subst(text, pvs) else {
        return -1;
    };
    if !ctx.msg.is_request() {
        return -1;
    }
    match subst_str(ctx, re, &spec, ctx.ruri()) {
        Some(uri) => {
            ctx.new_uri = Some(uri);
            1
        }
        None => -1,
    }
}

/// `subst_user('/re/repl/flags')`: over the user part of the request URI
/// (empty when it has none); the result set as the user, as `setuser`.
pub fn subst_user(ctx: &mut Ctx<'_>, re: &Regex, text: &[u8], pvs: &[SubstPv]) -> i32 {
    let Some(spec) = parse_subst(text, pvs) else {
        return -1;
    };
    if !ctx.msg.is_request() {
        return -1;
    }
    let Ok(uri) = crate::sip::Uri::parse(ctx.ruri()) else {
        return -1;
    };
    let user = uri.user.unwrap_or_default();
    match subst_str(ctx, re, &spec, user) {
        Some(u) => crate::engine::actions::rewrite(ctx, cfgc_vocab::Rewrite::User, &u),
        None => -1,
    }
}

/// The headers named `name` (compact forms included), in order.
fn named<'m>(ctx: &Ctx<'m>, name: &[u8]) -> Vec<&'m crate::sip::HeaderEntry> {
    let buf = ctx.msg.buffer();
    ctx.msg
        .headers()
        .iter()
        .filter(|h| name_is(buf, h, name))
        .collect()
}

/// `subst_hf(name, '/re/repl/flags', which)`: over the value of every
/// header of that name (`a`, the default), the first (`f`) or the last
/// (`l`). 1 if anything was replaced.
pub fn subst_hf(
    ctx: &mut Ctx<'_>,
    name: &[u8],
    re: &Regex,
    text: &[u8],
    pvs: &[SubstPv],
    which: &[u8],
) -> i32 {
    let Some(spec) = parse_subst(text, pvs) else {
        return -1;
    };
    let buf = ctx.msg.buffer();
    let hs = named(ctx, name);
    let pick: Vec<_> = match which.first() {
        Some(b'f') => hs.into_iter().take(1).collect(),
        Some(b'l') => hs.into_iter().last().into_iter().collect(),
        _ => hs,
    };
    let mut rc = -1;
    for h in pick {
        let v = h.value().range();
        let start = v.start;
        if subst_edits(ctx, re, &spec, &buf[v], start) > 0 {
            rc = 1;
        }
    }
    rc
}

/// `search_hf(name, re, which)`: the value of a header of that name
/// matches: any (`a`, the default), the first (`f`) or the last (`l`).
pub fn search_hf(ctx: &Ctx<'_>, name: &[u8], re: &Regex, which: &[u8]) -> i32 {
    let buf = ctx.msg.buffer();
    let hs = named(ctx, name);
    let hit = |h: &&crate::sip::HeaderEntry| re.is_match(c_str(&buf[h.value().range()]));
    let found = match which.first() {
        Some(b'f') => hs.first().is_some_and(hit),
        Some(b'l') => hs.last().is_some_and(hit),
        _ => hs.iter().any(hit),
    };
    if found { 1 } else { -1 }
}

/// `search_append(re, txt)`: `txt` inserted after the first match in the
/// received message after the start line.
pub fn search_append(ctx: &mut Ctx<'_>, re: &Regex, text: &[u8]) -> i32 {
    let (hay, base) = after_first_line(ctx);
    append_after_match(ctx, re, text, hay, base)
}

/// `search_append_body(re, txt)`: the same in the body.
pub fn search_append_body(ctx: &mut Ctx<'_>, re: &Regex, text: &[u8]) -> i32 {
    let body = ctx.msg.body();
    if body.is_empty() {
        return -1;
    }
    let base = ctx.msg.body_span().start as usize;
    append_after_match(ctx, re, text, body, base)
}

fn append_after_match(ctx: &mut Ctx<'_>, re: &Regex, text: &[u8], hay: &[u8], base: usize) -> i32 {
    match re.find(c_str(hay)) {
        Some(m) => {
            ctx.headers.push(HeaderOp::Replace {
                start: base + m.end(),
                end: base + m.end(),
                data: text.to_vec(),
            });
            1
        }
        None => -1,
    }
}

// ---- strings -------------------------------------------------------------

fn is_lws(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\r' | b'\n')
}

/// The items of a `sep`-separated list, blanks around each trimmed, as
/// textops' `in_list` walks it (a list ending in a separator has no empty
/// last item).
fn list_items(list: &[u8], sep: u8) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut at = list.iter().position(|&c| !is_lws(c)).unwrap_or(list.len());
    while at < list.len() {
        let rest = &list[at..];
        match rest.iter().position(|&c| c == sep) {
            None => {
                let end = rest.iter().rposition(|&c| !is_lws(c)).map_or(0, |i| i + 1);
                out.push(&rest[..end]);
                break;
            }
            Some(s) => {
                let end = rest[..s]
                    .iter()
                    .rposition(|&c| !is_lws(c))
                    .map_or(0, |i| i + 1);
                out.push(&rest[..end]);
                at += s + 1;
                while at < list.len() && is_lws(list[at]) {
                    at += 1;
                }
            }
        }
    }
    out
}

/// `in_list(subject, list, sep)`: the subject is an item of the list.
pub fn in_list(_ctx: &Ctx<'_>, subject: &[u8], list: &[u8], sep: &[u8]) -> i32 {
    let (Some(&sep), false, false) = (sep.first(), subject.is_empty(), list.is_empty()) else {
        return -1;
    };
    if list_items(list, sep).contains(&subject) {
        1
    } else {
        -1
    }
}

/// `in_list_prefix(subject, list, sep)`: an item of the list is a prefix
/// of the subject (an empty item is none; the walk stops at an empty last
/// item, as Kamailio's).
pub fn in_list_prefix(_ctx: &Ctx<'_>, subject: &[u8], list: &[u8], sep: &[u8]) -> i32 {
    let (Some(&sep), false, false) = (sep.first(), subject.is_empty(), list.is_empty()) else {
        return -1;
    };
    if list_items(list, sep)
        .iter()
        .any(|i| !i.is_empty() && subject.starts_with(i))
    {
        1
    } else {
        -1
    }
}

/// `str_find(text, needle)`: the 1-based position of the first
/// occurrence, or -1.
pub fn str_find(_ctx: &Ctx<'_>, text: &[u8], needle: &[u8]) -> i32 {
    find_pos(text, needle, false)
}

/// `str_ifind(text, needle)`: as `str_find`, ASCII letters' case ignored.
pub fn str_ifind(_ctx: &Ctx<'_>, text: &[u8], needle: &[u8]) -> i32 {
    find_pos(text, needle, true)
}

fn find_pos(text: &[u8], needle: &[u8], icase: bool) -> i32 {
    if needle.len() > text.len() {
        return -1;
    }
    // Kamailio compares the first byte with the needle's terminating NUL:
    // found only at the text's own terminator, one past its end.
    if needle.is_empty() {
        return i32::try_from(text.len() + 1).unwrap_or(-1);
    }
    let eq = |a: &[u8]| {
        if icase {
            a.eq_ignore_ascii_case(needle)
        } else {
            a == needle
        }
    };
    (0..=text.len() - needle.len())
        .find(|&i| eq(&text[i..i + needle.len()]))
        .and_then(|i| i32::try_from(i + 1).ok())
        .unwrap_or(-1)
}

// ---- body ------------------------------------------------------------------

/// `set_reply_body(body, content_type)`: every reply built locally for
/// this request (sl's and tm's) carries `body`, with a `Content-Type`
/// header; -1 for an empty argument, and -1 for a second body (Kamailio
/// adds the second Content-Type header all the same).
pub fn set_reply_body(ctx: &mut Ctx<'_>, body: &[u8], ctype: &[u8]) -> i32 {
    if body.is_empty() || ctype.is_empty() {
        return -1;
    }
    ctx.reply_lumps.extend_from_slice(b"Content-Type: ");
    ctx.reply_lumps.extend_from_slice(ctype);
    ctx.reply_lumps.extend_from_slice(b"\r\n");
    if ctx.reply_body.is_some() {
        return -1;
    }
    ctx.reply_body = Some(body.to_vec());
    1
}

/// `set_body(text, content_type)`: the body replaced (Content-Length
/// follows); a different Content-Type header removed and the new one
/// added after the last header. -1 for an empty text or type.
pub fn set_body(ctx: &mut Ctx<'_>, body: &[u8], ctype: &[u8]) -> i32 {
    if body.is_empty() || ctype.is_empty() {
        return -1;
    }
    // A body set before is dropped (Kamailio frees the body lumps).
    ctx.headers.retain(|op| !matches!(op, HeaderOp::Body(_)));
    ctx.headers.push(HeaderOp::Body(body.to_vec()));
    let buf = ctx.msg.buffer();
    let ct = ctx
        .msg
        .headers()
        .iter()
        .enumerate()
        .find(|(_, h)| h.name == crate::sip::HeaderName::ContentType);
    let same = ct.is_some_and(|(_, h)| &buf[h.value().range()] == ctype);
    if !same {
        if let Some((i, _)) = ct {
            ctx.headers.push(HeaderOp::Remove(i));
        }
        let mut line = b"Content-Type: ".to_vec();
        line.extend_from_slice(ctype);
        line.extend_from_slice(b"\r\n");
        let at = ctx.msg.headers_end();
        ctx.headers.push(HeaderOp::Replace {
            start: at,
            end: at,
            data: line,
        });
    }
    1
}

// ---- multipart bodies ------------------------------------------------------

/// Marks the request's multipart body as changed: its boundary lines are
/// mended when it is sent (`engine::forward::BODY_MULTIPART`).
fn mark_multipart(ctx: &mut Ctx<'_>) {
    let marked = ctx.headers.iter().any(
        |op| matches!(op, HeaderOp::Note(k, _) if *k == crate::engine::forward::BODY_MULTIPART),
    );
    if !marked {
        ctx.headers.push(HeaderOp::Note(
            crate::engine::forward::BODY_MULTIPART,
            Vec::new(),
        ));
    }
}

/// `append_body_part(txt, content_type[, content_disposition])`: a part
/// added at the end of a multipart body (Kamailio's layout: its headers,
/// an empty line, `txt`, a CRLF unless `txt` ends with an empty line,
/// then a boundary line); the boundary lines are mended when the request
/// is sent, so the closing one moves after the new part. The
/// Content-Type header is left as it is. -1 for an empty `txt` or type,
/// without a body, or when the Content-Type's first parameter is not a
/// boundary (a body that is not multipart); -1 too with a body but no
/// Content-Type header, where Kamailio 5.6.3 crashes (it reads the
/// missing header).
pub fn append_body_part(ctx: &mut Ctx<'_>, txt: &[u8], ctype: &[u8]) -> i32 {
    append_body_part_cd(ctx, txt, ctype, b"")
}

/// `append_body_part` with a Content-Disposition for the part (none when
/// empty).
pub fn append_body_part_cd(ctx: &mut Ctx<'_>, txt: &[u8], ctype: &[u8], cd: &[u8]) -> i32 {
    if txt.is_empty() || ctype.is_empty() {
        return -1;
    }
    let body = ctx.msg.body();
    if body.is_empty() {
        return -1;
    }
    let Some(delim) = ctx
        .msg
        .header(crate::sip::HeaderName::ContentType)
        .and_then(crate::sip::multipart::mixed_part_delimiter)
    else {
        return -1;
    };
    if delim.is_empty() || delim[0] == b'-' {
        return -1;
    }
    let mut part = Vec::new();
    push_part(&mut part, txt, ctype, cd, delim);
    let end = ctx.msg.body_span().end as usize;
    ctx.headers.push(HeaderOp::Replace {
        start: end,
        end,
        data: part,
    });
    mark_multipart(ctx);
    1
}

/// Kamailio's `generate_boundary` for a first part: the opening boundary
/// line, the part's Content-Type (and Content-Disposition when not
/// empty), an empty line, `txt`, a CRLF unless `txt` ends with an empty
/// line, and a boundary line (not the closing one). `None` for an empty
/// text, type or delimiter, or a delimiter starting with `-`.
fn first_part(txt: &[u8], ctype: &[u8], cd: &[u8], delim: &[u8]) -> Option<Vec<u8>> {
    if txt.is_empty() || ctype.is_empty() || delim.is_empty() || delim[0] == b'-' {
        return None;
    }
    let mut part = b"--".to_vec();
    part.extend_from_slice(delim);
    part.extend_from_slice(b"\r\n");
    push_part(&mut part, txt, ctype, cd, delim);
    Some(part)
}

/// One part after its opening boundary line, as Kamailio writes it: the
/// part's Content-Type (and Content-Disposition when not empty), an empty
/// line, `txt`, a CRLF unless `txt` ends with an empty line, and the next
/// boundary line (not the closing one).
fn push_part(out: &mut Vec<u8>, txt: &[u8], ctype: &[u8], cd: &[u8], delim: &[u8]) {
    out.extend_from_slice(b"Content-Type: ");
    out.extend_from_slice(ctype);
    out.extend_from_slice(b"\r\n");
    if !cd.is_empty() {
        out.extend_from_slice(b"Content-Disposition: ");
        out.extend_from_slice(cd);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(txt);
    if !txt.ends_with(b"\r\n\r\n") {
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"--");
    out.extend_from_slice(delim);
    out.extend_from_slice(b"\r\n");
}

/// `set_body_multipart()`: [`set_body_multipart_3`] with no text, type
/// or boundary.
pub fn set_body_multipart(ctx: &mut Ctx<'_>) -> i32 {
    set_body_multipart_3(ctx, b"", b"", b"")
}

/// `set_body_multipart(boundary)`.
pub fn set_body_multipart_1(ctx: &mut Ctx<'_>, boundary: &[u8]) -> i32 {
    set_body_multipart_3(ctx, b"", b"", boundary)
}

/// `set_body_multipart(txt, content_type)`.
pub fn set_body_multipart_2(ctx: &mut Ctx<'_>, txt: &[u8], ctype: &[u8]) -> i32 {
    set_body_multipart_3(ctx, txt, ctype, b"")
}

/// `set_body_multipart(txt, content_type, boundary)`, as Kamailio's
/// `ki_set_multibody`: the body becomes one part (`txt` with its type,
/// `text/plain` by default; without `txt`, the received body with its
/// Content-Type) between two boundary lines of `boundary`
/// (`unique-boundary-1` by default), with no closing boundary, as
/// Kamailio sends it. The body edits made before are dropped. Unless the
/// received Content-Type is `multipart/mixed`, it is removed and
/// `Content-Type: multipart/mixed;boundary="..."` and `Mime-Version: 1.0`
/// are added after the last header (again at each call: the received
/// message is what is looked at). Already multipart/mixed and no `txt`:
/// 1, nothing changed; no body and no `txt`: -1. A boundary starting
/// with `-`: -1, the body removed all the same (Kamailio has deleted it
/// by then). A message without a Content-Type header is sent with the
/// new body; Kamailio 5.6.3 crashes when it sends one (its boundary
/// check reads the missing header).
pub fn set_body_multipart_3(ctx: &mut Ctx<'_>, txt: &[u8], ctype: &[u8], boundary: &[u8]) -> i32 {
    let ct = ctx.msg.content_type().ok().flatten();
    let multipart = ct.as_ref().is_some_and(|c| {
        c.mtype.eq_ignore_ascii_case(b"multipart") && c.subtype.eq_ignore_ascii_case(b"mixed")
    });
    if multipart && txt.is_empty() {
        return 1;
    }
    let ctype: &[u8] = if ctype.is_empty() {
        b"text/plain"
    } else {
        ctype
    };
    let delim: &[u8] = if boundary.is_empty() {
        b"unique-boundary-1"
    } else {
        boundary
    };
    let body_span = ctx.msg.body_span();
    let (start, end) = (body_span.start as usize, body_span.end as usize);
    // Kamailio frees the body's edits, then deletes the body.
    ctx.headers.retain(|op| match op {
        HeaderOp::Body(_) => false,
        HeaderOp::Replace { start: s, .. } => *s < start,
        _ => true,
    });
    let body = ctx.msg.body();
    let old_type = ctx.msg.header(crate::sip::HeaderName::ContentType);
    let (part_txt, part_type): (&[u8], &[u8]) = if !txt.is_empty() {
        (txt, ctype)
    } else if body.is_empty() {
        // Kamailio warns "no body to be set in the message".
        return -1;
    } else {
        (body, old_type.filter(|t| !t.is_empty()).unwrap_or(ctype))
    };
    let Some(part) = first_part(part_txt, part_type, b"", delim) else {
        if start < end {
            ctx.headers.push(HeaderOp::Replace {
                start,
                end,
                data: Vec::new(),
            });
        }
        return -1;
    };
    if !multipart {
        let buf = ctx.msg.buffer();
        if let Some(i) = ctx
            .msg
            .headers()
            .iter()
            .position(|h| name_is(buf, h, b"Content-Type"))
        {
            ctx.headers.push(HeaderOp::Remove(i));
        }
        let mut line = b"Content-Type: multipart/mixed;boundary=\"".to_vec();
        line.extend_from_slice(delim);
        line.extend_from_slice(b"\"\r\n");
        let at = ctx.msg.headers_end();
        insert_raw(ctx, at, &line);
        append_hf(ctx, b"Mime-Version: 1.0\r\n");
    }
    ctx.headers.push(HeaderOp::Replace {
        start,
        end,
        data: part,
    });
    mark_multipart(ctx);
    1
}

/// Kamailio's hex reading for `append_body_part_hex`: pairs of hex
/// digits, blanks skipped where a pair would start; `None` for any other
/// byte, an odd digit at the end, or nothing but blanks.
fn unhex(h: &[u8]) -> Option<Vec<u8>> {
    let digit = |c: u8| char::from(c).to_digit(16).map(|d| d as u8);
    let mut out = Vec::with_capacity(h.len() / 2);
    let mut i = 0;
    while i < h.len() {
        if matches!(h[i], b' ' | b'\t') {
            i += 1;
            continue;
        }
        let hi = digit(h[i])?;
        let lo = digit(*h.get(i + 1)?)?;
        out.push(hi << 4 | lo);
        i += 2;
    }
    (!out.is_empty()).then_some(out)
}

/// `append_body_part_hex(hex, content_type)`: [`append_body_part`] with
/// the part given in hex (-1 for text that is not hex).
pub fn append_body_part_hex(ctx: &mut Ctx<'_>, hex: &[u8], ctype: &[u8]) -> i32 {
    append_body_part_hex_cd(ctx, hex, ctype, b"")
}

/// `append_body_part_hex` with a Content-Disposition.
pub fn append_body_part_hex_cd(ctx: &mut Ctx<'_>, hex: &[u8], ctype: &[u8], cd: &[u8]) -> i32 {
    match unhex(hex) {
        Some(raw) => append_body_part_cd(ctx, &raw, ctype, cd),
        None => -1,
    }
}

/// `remove_body_part(content_type)`: of a multipart body, the first part
/// whose Content-Type header (the header line itself, not the boundary
/// before it) starts with `content_type` (ASCII case ignored) and ends
/// there is removed, from that header line to the end of the next
/// boundary line; the boundary lines are mended when the request is
/// sent. -1 without a body or a boundary parameter, when a Content-Type
/// line has more after the type, or when none matches; -1 too with a body
/// but no Content-Type header, where Kamailio 5.6.3 crashes.
pub fn remove_body_part(ctx: &mut Ctx<'_>, ctype: &[u8]) -> i32 {
    use crate::sip::multipart::{boundary, find_line_start, get_line};
    let body = ctx.msg.body();
    if body.is_empty() {
        return -1;
    }
    let Some(ob) = boundary(ctx.msg) else {
        return -1;
    };
    let base = ctx.msg.body_span().start as usize;
    let mut at = 0;
    while let Some((line, v)) = next_ctype_line_at(body, at) {
        if body.len() - v <= ctype.len() + 2 {
            return -1;
        }
        if body[v..v + ctype.len()].eq_ignore_ascii_case(ctype) {
            let mut p = v + ctype.len();
            if body.get(p..p + 2) != Some(b"\r\n") {
                return -1;
            }
            p += 2;
            let Some(q) = find_line_start(body, &ob, p) else {
                return -1;
            };
            let after = q + ob.len();
            let t = get_line(&body[after..]);
            if t == 0 {
                return -1;
            }
            ctx.headers.push(HeaderOp::Replace {
                start: base + line,
                end: base + after + t,
                data: Vec::new(),
            });
            mark_multipart(ctx);
            return 1;
        }
        at = v;
    }
    -1
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::testutil::{forwarded, msg, run};
    use cfgc_vocab::subst::{SubstError, parse};

    #[test]
    fn the_subst_parser_splits_as_kamailio() {
        let s = parse(br"/a\/b(c)/x\1\\\n\u\/\q/gi", &mut |_| None).expect("parses");
        assert_eq!(s.re, br"a\/b(c)");
        assert_eq!(
            s.repl,
            vec![
                ReplTok::Lit(b"x"),
                ReplTok::Group(1),
                ReplTok::Char(b'\\'),
                ReplTok::Char(b'\n'),
                ReplTok::Uri,
                ReplTok::Char(b'/'),
                ReplTok::Char(b'q'),
            ]
        );
        assert!(s.all && s.icase && s.newline);
        let s = parse(b"#a#b#s", &mut |_| None).expect("any separator");
        assert_eq!(
            (s.re, s.all, s.icase, s.newline),
            (&b"a"[..], false, false, false)
        );
        assert_eq!(s.repl, vec![ReplTok::Lit(b"b")]);
        assert_eq!(
            parse(b"/a//", &mut |_| None)
                .expect("empty replacement")
                .repl,
            vec![]
        );
        assert_eq!(
            parse(b"/a/", &mut |_| None).unwrap_err(),
            SubstError::TooShort
        );
        assert_eq!(
            parse(b"ab", &mut |_| None).unwrap_err(),
            SubstError::TooShort
        );
        assert_eq!(
            parse(br"\a\b\", &mut |_| None).unwrap_err(),
            SubstError::BadSeparator
        );
        assert_eq!(
            parse(b"/abc", &mut |_| None).unwrap_err(),
            SubstError::NoSeparator
        );
        assert_eq!(
            parse(b"/a/bc", &mut |_| None).unwrap_err(),
            SubstError::MissingSeparator
        );
        assert_eq!(
            parse(br"/a/b\/", &mut |_| None).unwrap_err(),
            SubstError::MissingSeparator
        );
        assert_eq!(
            parse(b"/a/b/x", &mut |_| None).unwrap_err(),
            SubstError::UnknownFlag(b'x')
        );
        assert_eq!(
            parse(b"/a/$ru/", &mut |_| None).unwrap_err(),
            SubstError::BadPv
        );
        // A PV as long as the caller says, running past the separator if
        // it does; `$$` is a `$`.
        let mut lens = [3, 9].into_iter();
        let s = parse(b"/a/x$rUy$$$hdr(a/b)/g", &mut |_| lens.next()).expect("pvs");
        assert_eq!(
            s.repl,
            vec![
                ReplTok::Lit(b"x"),
                ReplTok::Pv(0),
                ReplTok::Lit(b"y"),
                ReplTok::Char(b'$'),
                ReplTok::Pv(1),
            ]
        );
        assert!(s.all);
        assert_eq!(
            parse(br"/a/\$/", &mut |_| None).expect("escaped").repl,
            vec![ReplTok::Char(b'$')]
        );
        let many = format!("/a/{}/", r"\n".repeat(100));
        assert_eq!(
            parse(many.as_bytes(), &mut |_| None).unwrap_err(),
            SubstError::TooManyEscapes
        );
    }

    fn options(extra: &[&str], body: &str) -> Vec<u8> {
        let mut lines = vec![
            "OPTIONS sip:bob@127.0.0.1 SIP/2.0",
            "Via: SIP/2.0/UDP 127.0.0.1:5080;branch=z9hG4bK-1",
            "From: <sip:alice@127.0.0.1>;tag=1",
            "To: <sip:bob@127.0.0.1>",
            "Call-ID: c1",
            "CSeq: 1 OPTIONS",
        ];
        lines.extend_from_slice(extra);
        let cl = format!("Content-Length: {}", body.len());
        lines.push(&cl);
        let mut m = msg(&lines);
        m.extend_from_slice(body.as_bytes());
        m
    }

    fn re(s: &str) -> Regex {
        Regex::new(s).expect("regex")
    }

    #[test]
    fn subst_replaces_with_groups_and_the_uri() {
        let raw = options(&["X-A: one two one"], "");
        let (sent, _) = run(&raw, |ctx| {
            assert_eq!(subst(ctx, &re("(?m)(o)ne"), br"/(o)ne/<\1\0\u>/g", &[]), 1);
            assert_eq!(subst(ctx, &re("(?m)zzz"), b"/zzz/y/", &[]), -1);
            // An empty match: nothing at all.
            assert_eq!(subst(ctx, &re("(?m)x*"), b"/x*/y/g", &[]), -1);
            forwarded(ctx)
        });
        let sent = String::from_utf8(sent).expect("utf8");
        assert!(
            sent.contains("X-A: <oonesip:bob@127.0.0.1> two <oonesip:bob@127.0.0.1>\r\n"),
            "{sent}"
        );
    }

    #[test]
    fn subst_uri_and_user_rewrite_the_request_uri() {
        let raw = options(&[], "");
        let ((a, b, uri), _) = run(&raw, |ctx| {
            let a = subst_uri(ctx, &re("(?m)@127"), b"/@127/@10/", &[]);
            let b = subst_user(ctx, &re("(?m)^b"), b"/^b/B/", &[]);
            (a, b, ctx.ruri().to_vec())
        });
        assert_eq!((a, b), (1, 1));
        assert_eq!(uri, b"sip:Bob@10.0.0.1");
    }

    #[test]
    fn hex_parts_are_read_as_kamailio_reads_them() {
        assert_eq!(unhex(b"68 65\t6C6c").as_deref(), Some(&b"hell"[..]));
        assert_eq!(unhex(b"6g"), None);
        assert_eq!(unhex(b"686"), None);
        assert_eq!(unhex(b"6 8"), None);
        assert_eq!(unhex(b" \t"), None);
        assert_eq!(
            first_part(b"hi", b"text/plain", b"", b"b").as_deref(),
            Some(&b"--b\r\nContent-Type: text/plain\r\n\r\nhi\r\n--b\r\n"[..])
        );
        assert_eq!(first_part(b"hi", b"text/plain", b"", b"-b"), None);
    }

    #[test]
    fn subst_reads_the_pvs_of_its_replacement_at_each_match() {
        let raw = options(&["X-A: a1"], "");
        let pvs = [
            SubstPv {
                len: 3,
                pv: cfgc_vocab::PvRef::Plain(cfgc_vocab::PvId::RUser),
            },
            SubstPv {
                len: 12,
                pv: cfgc_vocab::PvRef::Hdr(b"X-None".to_vec()),
            },
        ];
        let (uri, _) = run(&raw, |ctx| {
            let rc = subst_uri(ctx, &re("(?m)@"), b"/@/-$rU$hdr(X-None)@/", &pvs);
            assert_eq!(rc, 1);
            ctx.ruri().to_vec()
        });
        assert_eq!(uri, b"sip:bob-bob@127.0.0.1");
    }

    #[test]
    fn subst_hf_and_search_hf_pick_first_last_or_all() {
        let raw = options(&["X-T: a1", "X-U: a2", "x-t: a3"], "");
        let (sent, _) = run(&raw, |ctx| {
            assert_eq!(search_hf(ctx, b"X-T", &re("(?im)a3"), b"f"), -1);
            assert_eq!(search_hf(ctx, b"X-T", &re("(?im)a3"), b"l"), 1);
            assert_eq!(search_hf(ctx, b"X-T", &re("(?im)a3"), b"a"), 1);
            assert_eq!(subst_hf(ctx, b"X-T", &re("(?m)a"), b"/a/b/", &[], b"l"), 1);
            assert_eq!(subst_hf(ctx, b"X-T", &re("(?m)1"), b"/1/9/", &[], b"f"), 1);
            assert_eq!(
                subst_hf(ctx, b"X-None", &re("(?m)a"), b"/a/b/", &[], b"a"),
                -1
            );
            forwarded(ctx)
        });
        let sent = String::from_utf8(sent).expect("utf8");
        assert!(sent.contains("X-T: a9\r\nX-U: a2\r\nx-t: b3\r\n"), "{sent}");
    }

    #[test]
    fn dates_are_rfc_1123() {
        let t = |s| std::time::UNIX_EPOCH + std::time::Duration::from_secs(s);
        assert_eq!(
            http_date(t(0)).as_deref(),
            Some("Thu, 01 Jan 1970 00:00:00 GMT")
        );
        assert_eq!(
            http_date(t(784_111_777)).as_deref(),
            Some("Sun, 06 Nov 1994 08:49:37 GMT")
        );
        assert_eq!(
            http_date(t(1_709_208_000)).as_deref(),
            Some("Thu, 29 Feb 2024 12:00:00 GMT")
        );
    }

    #[test]
    fn lists_and_finds() {
        let raw = options(&[], "");
        run(&raw, |ctx| {
            assert_eq!(in_list(ctx, b"b", b" a , b ,c", b","), 1);
            assert_eq!(in_list(ctx, b"", b"a", b","), -1);
            assert_eq!(in_list_prefix(ctx, b"abc", b" ,a", b","), 1);
            assert_eq!(in_list_prefix(ctx, b"abc", b"x,", b","), -1);
            assert_eq!(str_find(ctx, b"abcabc", b"ca"), 3);
            assert_eq!(str_ifind(ctx, b"ABCabc", b"cA"), 3);
            assert_eq!(str_find(ctx, b"abc", b""), 4);
            assert_eq!(str_find(ctx, b"ab", b"abc"), -1);
        });
    }
}
