//! textops — the message tests the stateless configs use (kamailio-modules.md §8).

use crate::engine::Ctx;
use crate::engine::ctx::HeaderOp;

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

/// `append_hf("Name: value\r\n")`: appends the text after the last header
/// when the message is sent on.
pub fn append_hf(ctx: &mut Ctx<'_>, text: &[u8]) -> i32 {
    let line = text.strip_suffix(b"\r\n").unwrap_or(text);
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    let Some(colon) = line.iter().position(|&b| b == b':') else {
        return -1;
    };
    let name = line[..colon].trim_ascii().to_vec();
    let value = line[colon + 1..].trim_ascii().to_vec();
    ctx.headers.push(HeaderOp::Append(name, value));
    1
}

/// `remove_hf("Name")`: removes every header of that name; 1 if any was
/// removed, -1 otherwise.
pub fn remove_hf(ctx: &mut Ctx<'_>, name: &[u8]) -> i32 {
    let buf = ctx.msg.buffer();
    let idx: Vec<usize> = ctx
        .msg
        .headers()
        .iter()
        .enumerate()
        .filter(|(_, h)| {
            let n = &buf[h.name_span().range()];
            crate::sip::HeaderName::from_bytes(n) == crate::sip::HeaderName::from_bytes(name)
                && (crate::sip::HeaderName::from_bytes(name) != crate::sip::HeaderName::Other
                    || n.eq_ignore_ascii_case(name))
        })
        .map(|(i, _)| i)
        .collect();
    if idx.is_empty() {
        return -1;
    }
    ctx.headers.extend(idx.into_iter().map(HeaderOp::Remove));
    1
}
