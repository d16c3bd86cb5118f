//! Multipart bodies as Kamailio 5.6 reads and mends them: the boundary of
//! a Content-Type (`get_boundary`, `get_mixed_part_delimiter`), the
//! line-start search its body functions share, and `check_boundaries`,
//! which rewrites the boundary lines of a request's body when it is sent
//! after textops changed its parts (`FL_BODY_MULTIPART`). Pure functions
//! over bytes.

use super::{HeaderName, Message};

/// Kamailio's `get_boundary`: `--` and the `boundary` parameter of the
/// message's Content-Type (unquoted), or empty when it has parameters but
/// no boundary; `None` without a Content-Type, without parameters (no
/// `;`) or when they do not parse.
pub fn boundary(msg: &Message<'_>) -> Option<Vec<u8>> {
    let value = msg.header(HeaderName::ContentType)?;
    if !value.contains(&b';') {
        return None;
    }
    let ct = super::ContentType::parse(value)?;
    Some(match ct.params.get(b"boundary") {
        Some(Some(b)) => {
            let b = b
                .strip_prefix(b"\"")
                .and_then(|b| b.strip_suffix(b"\""))
                .unwrap_or(b);
            [&b"--"[..], b].concat()
        }
        _ => Vec::new(),
    })
}

/// Kamailio's `get_mixed_part_delimiter` over a Content-Type value: what
/// follows `boundary=` (ASCII case ignored) right after the first `;` and
/// blanks, to the end of the value (further parameters included, as
/// Kamailio reads it), without quotes around it. `None` when the value
/// has no `;`, the first parameter is not `boundary`, or a quote is not
/// closed.
pub fn mixed_part_delimiter(value: &[u8]) -> Option<&[u8]> {
    let value = value.trim_ascii_end();
    let semi = value.iter().position(|&c| c == b';')?;
    let mut p = semi + 1;
    while p < value.len() && matches!(value[p], b' ' | b'\t') {
        p += 1;
    }
    if !value.get(p..p + 8)?.eq_ignore_ascii_case(b"boundary") {
        return None;
    }
    p += 8;
    while p < value.len() && matches!(value[p], b' ' | b'\t') {
        p += 1;
    }
    if value.get(p) != Some(&b'=') {
        return None;
    }
    p += 1;
    while p + 1 < value.len() && matches!(value[p], b' ' | b'\t') {
        p += 1;
    }
    let d = &value[p..];
    match d.first() {
        Some(&q @ (b'"' | b'\'')) => {
            if d.len() < 2 || d[d.len() - 1] != q {
                return None;
            }
            let inner = &d[1..d.len() - 1];
            (!inner.is_empty()).then_some(inner)
        }
        _ => Some(d),
    }
}

/// Kamailio's `find_line_start`: from `at`, the first CRLF-started line
/// of `buf` that starts with `text`; `None` at the end of the text, or at
/// a CR not followed by LF.
pub fn find_line_start(buf: &[u8], text: &[u8], mut at: usize) -> Option<usize> {
    while at <= buf.len() && buf.len() - at >= text.len() {
        if buf[at..].starts_with(text) {
            return Some(at);
        }
        let rest = &buf[at..];
        let cr = rest[..rest.len().saturating_sub(1)]
            .iter()
            .position(|&c| c == b'\r')?;
        if rest.get(cr + 1) != Some(&b'\n') {
            return None;
        }
        at += cr + 2;
    }
    None
}

/// Kamailio's `get_line`: the length of the first line of `s` with its
/// CRLF, all of `s` without a CR, 0 at a CR not followed by LF.
pub fn get_line(s: &[u8]) -> usize {
    match s.iter().position(|&c| c == b'\r') {
        Some(cr) if s.get(cr + 1) == Some(&b'\n') => cr + 2,
        Some(_) => 0,
        None => s.len(),
    }
}

/// Kamailio's `check_boundaries` over a body about to be sent, `ob` the
/// boundary with its `--`: from the first line starting with `ob`, every
/// such line but the last made `ob` CRLF (what follows a malformed one on
/// its line kept after it), and what starts at the last one replaced by
/// the closing `ob--` CRLF; the text before the first boundary is
/// dropped. `None` (the body sent as it is) with fewer than two boundary
/// lines or an empty boundary (a Content-Type with parameters but no
/// boundary: Kamailio 5.6.3 loops forever there).
pub fn check_boundaries(body: &[u8], ob: &[u8]) -> Option<Vec<u8>> {
    if ob.is_empty() {
        return None;
    }
    let b = [ob, b"\r\n"].concat();
    let fb = [ob, b"--\r\n"].concat();
    let mut found = Vec::new();
    let mut at = 0;
    while let Some(q) = find_line_start(body, ob, at) {
        found.push(q);
        at = q + ob.len();
    }
    if found.len() < 2 {
        return None;
    }
    let mut out = Vec::with_capacity(body.len() + 2);
    for w in found.windows(2) {
        let (this, next) = (w[0], w[1]);
        let line = get_line(&body[this..]);
        if line != b.len() || !body[this..].starts_with(&b) {
            out.extend_from_slice(&b);
            out.extend_from_slice(body.get(this + line..next).unwrap_or_default());
        } else {
            out.extend_from_slice(&body[this..next]);
        }
    }
    // Kamailio compares the first boundary line with the closing form
    // (not the last one): equal, it copies the body from there.
    let first = found[0];
    let line = get_line(&body[first..]);
    if line != fb.len() || !body[first..].starts_with(&fb) {
        out.extend_from_slice(&fb);
    } else {
        out.extend_from_slice(&body[first..]);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_delimiter_is_read_as_kamailio_reads_it() {
        assert_eq!(
            mixed_part_delimiter(b"multipart/mixed;boundary=XyZ"),
            Some(&b"XyZ"[..])
        );
        assert_eq!(
            mixed_part_delimiter(b"multipart/mixed; BOUNDARY = \"a b\""),
            Some(&b"a b"[..])
        );
        assert_eq!(
            mixed_part_delimiter(b"multipart/mixed;boundary=x;y=z"),
            Some(&b"x;y=z"[..])
        );
        assert_eq!(mixed_part_delimiter(b"application/sdp"), None);
        assert_eq!(
            mixed_part_delimiter(b"multipart/mixed;a=b;boundary=x"),
            None
        );
        assert_eq!(mixed_part_delimiter(b"multipart/mixed;boundary=\"x"), None);
    }

    #[test]
    fn boundaries_are_mended_as_kamailio_mends_them() {
        let body = b"pre\r\n--X\r\nA\r\n--X--\r\nB\r\n--X\r\n";
        assert_eq!(
            check_boundaries(body, b"--X").as_deref(),
            Some(&b"--X\r\nA\r\n--X\r\nB\r\n--X--\r\n"[..])
        );
        assert_eq!(check_boundaries(b"--X\r\nA\r\n", b"--X"), None);
        assert_eq!(find_line_start(b"a\r\n--X", b"--X", 0), Some(3));
        assert_eq!(find_line_start(b"a\rb--X", b"--X", 0), None);
        assert_eq!(get_line(b"ab\r\ncd"), 4);
        assert_eq!(get_line(b"ab"), 2);
        assert_eq!(get_line(b"a\rb"), 0);
    }
}
