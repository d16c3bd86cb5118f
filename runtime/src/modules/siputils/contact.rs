//! siputils' URI and Contact rewriting: `tel2sip`, `is_gruu`,
//! `is_supported`, `is_user`, the `contact_param_*` family (the Contact
//! URI carried base64url-encoded in a parameter of the proxy's own URI)
//! and the older `encode_contact`/`decode_contact` (its fields joined by
//! `contact_flds_separator` in the user part). Edits are lumps on the
//! received message, as Kamailio's `patch`/`del_lump`.

use crate::engine::Ctx;
use crate::engine::ctx::HeaderOp;
use crate::engine::pv;
use crate::engine::value::Value;
use crate::sip::addr::NameAddr;
use crate::sip::syntax::CommaSplit;
use crate::sip::{HeaderName, Uri};
use cfgc_vocab::PvRef;

/// Kamailio's `MAX_URI_SIZE`.
const MAX_URI: usize = 1024;

/// `tel2sip(uri, hostpart, result)`: a `tel:` URI as `sip:` with
/// `@hostpart;user=phone`, the visual separators `-.()` dropped before
/// the first `;` and everything lower-cased; 2 (nothing written) when
/// `uri` is no `tel:` URI.
pub fn tel2sip(ctx: &mut Ctx<'_>, uri: &[u8], host: &[u8], out: &[PvRef]) -> i32 {
    if uri.len() < 4 || !uri[..4].eq_ignore_ascii_case(b"tel:") {
        return 2;
    }
    // Kamailio copies it as a C string: a NUL ends it.
    let uri = &uri[..uri.iter().position(|&b| b == 0).unwrap_or(uri.len())];
    let mut tel = Vec::with_capacity(uri.len());
    let mut in_params = false;
    for &b in uri {
        in_params |= b == b';';
        if in_params || !matches!(b, b'-' | b'.' | b'(' | b')') {
            tel.push(b.to_ascii_lowercase());
        }
    }
    let mut sip = b"sip:".to_vec();
    sip.extend_from_slice(&tel[4..]);
    sip.push(b'@');
    sip.extend_from_slice(host);
    sip.extend_from_slice(b";user=phone");
    match out.first() {
        Some(pv) if pv::assign(ctx, pv, Value::Str(sip.into())) >= 0 => 1,
        _ => {
            crate::engine::log::error(ctx, "failed to set result pvar\n");
            -1
        }
    }
}

/// Whether a parsed URI has `gr`: 1 with a value, 2 without, else -1.
fn gruu(uri: &[u8]) -> i32 {
    let Ok(u) = Uri::parse(uri) else {
        return -1;
    };
    match u.params.get(b"gr") {
        Some(Some(v)) if !v.is_empty() => 1,
        Some(_) => 2,
        None => -1,
    }
}

/// `is_gruu()`: whether the R-URI is a GRUU (see [`is_gruu1`]).
pub fn is_gruu(ctx: &Ctx<'_>) -> i32 {
    gruu(ctx.ruri())
}

/// `is_gruu(uri)`: 1 for a `gr=` parameter with a value (a temporary
/// GRUU), 2 for a bare `gr` (public), -1 for none or no URI.
pub fn is_gruu1(_ctx: &Ctx<'_>, uri: &[u8]) -> i32 {
    gruu(uri)
}

/// Kamailio's `IS_DELIM` of option-tag lists.
fn option_delim(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n' | b',')
}

/// `is_supported(option)`: whether a Supported header (any, `k` too)
/// lists `option` — one of the option tags Kamailio's parser knows
/// (the build refuses any other, as Kamailio refuses to start).
pub fn is_supported(ctx: &Ctx<'_>, option: &[u8]) -> i32 {
    let found = ctx
        .msg
        .headers()
        .iter()
        .filter(|h| h.name == HeaderName::Supported)
        .any(|h| {
            ctx.msg
                .slice(h.value())
                .split(|&b| option_delim(b))
                .any(|t| t.eq_ignore_ascii_case(option))
        });
    if found { 1 } else { -1 }
}

/// `is_user(user)`: whether the user part of the username in the
/// credentials an auth check accepted is `user` (compared as bytes);
/// -1 when no check accepted any.
pub fn is_user(ctx: &Ctx<'_>, user: &[u8]) -> i32 {
    let Some(name) = super::super::auth::authorized_username(ctx) else {
        crate::engine::log::error(
            ctx,
            "no authorized credentials found (error in scripts)\n\
Call {www,proxy}_authorize before calling is_user function !\n",
        );
        return -1;
    };
    let u = name.split(|&b| b == b'@').next().unwrap_or(name);
    if !u.is_empty() && u == user { 1 } else { -1 }
}

/// The Contact values of the message: every one of every Contact header,
/// or of the first only, each with the offset of its URI in the buffer.
fn contacts<'m>(ctx: &Ctx<'m>, first_only: bool) -> Vec<(NameAddr<'m>, usize)> {
    let msg: &'m crate::sip::Message<'m> = ctx.msg;
    let mut out = Vec::new();
    for h in msg
        .headers()
        .iter()
        .filter(|h| h.name == HeaderName::Contact)
    {
        for v in CommaSplit::new(msg.slice(h.value())) {
            if let Some(na) = NameAddr::parse(v)
                && let Some(at) = msg.offset_of(na.uri_raw)
            {
                out.push((na, at));
            }
        }
        if first_only {
            break;
        }
    }
    out
}

fn replace(ctx: &mut Ctx<'_>, at: usize, len: usize, data: Vec<u8>) {
    ctx.headers.push(HeaderOp::Replace {
        start: at,
        end: at + len,
        data,
    });
}

const B64URL: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// base64url without its padding.
fn b64url_enc(s: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len().div_ceil(3) * 4);
    for c in s.chunks(3) {
        let n = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        let emit = c.len() + 1;
        for k in 0..emit {
            out.push(B64URL[(n >> (18 - 6 * k)) as usize & 63]);
        }
    }
    out
}

/// Kamailio's `base64url_dec` of a value padded to a multiple of 4:
/// `None` for a character outside the alphabet or nothing decoded.
fn b64url_dec(s: &[u8]) -> Option<Vec<u8>> {
    let mut padded = s.to_vec();
    while !padded.len().is_multiple_of(4) {
        padded.push(b'=');
    }
    let pad = padded.iter().rev().take_while(|&&b| b == b'=').count();
    let olen = (padded.len() * 6 / 8).checked_sub(pad).filter(|&n| n > 0)?;
    if olen >= MAX_URI - 1 {
        return None;
    }
    let mut bits: Vec<u8> = Vec::with_capacity(olen + 3);
    let data = &padded[..padded.len() - pad];
    for q in data.chunks(4) {
        let mut block = 0u32;
        for (j, &c) in q.iter().enumerate() {
            let v = B64URL.iter().position(|&x| x == c)? as u32;
            block += v << (18 - 6 * j);
        }
        bits.extend_from_slice(&[(block >> 16) as u8, (block >> 8) as u8, block as u8]);
    }
    bits.resize(olen, 0);
    Some(bits)
}

/// `contact_param_encode(name, saddr)`: each URI of the first Contact
/// header longer than 4 becomes `saddr;name=<base64url of it>`, within
/// `<>` unless one is right before it; 1 (also with no Contact).
pub fn contact_param_encode(ctx: &mut Ctx<'_>, name: &[u8], saddr: &[u8]) -> i32 {
    let buf = ctx.msg.buffer();
    for (na, at) in contacts(ctx, true) {
        let uri = na.uri_raw;
        if uri.len() <= 4 {
            continue;
        }
        let enc = b64url_enc(uri);
        if enc.len() + 2 >= MAX_URI - 1 {
            crate::engine::log::error(ctx, "failed to encode contact uri\n");
            return -1;
        }
        let angle = at > 0 && buf[at - 1] == b'<';
        let mut new = Vec::with_capacity(saddr.len() + name.len() + enc.len() + 4);
        if !angle {
            new.push(b'<');
        }
        new.extend_from_slice(saddr);
        new.push(b';');
        new.extend_from_slice(name);
        new.push(b'=');
        new.extend_from_slice(&enc);
        if !angle {
            new.push(b'>');
        }
        if new.len() >= MAX_URI - 1 {
            crate::engine::log::error(ctx, "failed to build the new contact\n");
            return -2;
        }
        replace(ctx, at, uri.len(), new);
    }
    1
}

/// The parameters of a URI as Kamailio's `parse_uri` and `parse_params`
/// see them (leniently: blanks around names are skipped): each name's
/// and value's range in `raw`.
fn uri_params(raw: &[u8]) -> Vec<(std::ops::Range<usize>, Option<std::ops::Range<usize>>)> {
    let end = raw.iter().position(|&b| b == b'?').unwrap_or(raw.len());
    let after = raw[..end]
        .iter()
        .position(|&b| b == b'@')
        .or_else(|| raw[..end].iter().position(|&b| b == b':'))
        .map_or(0, |p| p + 1);
    let Some(first) = raw[after..end].iter().position(|&b| b == b';') else {
        return Vec::new();
    };
    let trim = |mut a: usize, mut b: usize| {
        while a < b && matches!(raw[a], b' ' | b'\t' | b'\r' | b'\n') {
            a += 1;
        }
        while b > a && matches!(raw[b - 1], b' ' | b'\t' | b'\r' | b'\n') {
            b -= 1;
        }
        a..b
    };
    let mut out = Vec::new();
    let mut i = after + first + 1;
    while i <= end {
        let stop = i + raw[i..end]
            .iter()
            .position(|&b| b == b';')
            .unwrap_or(end - i);
        match raw[i..stop].iter().position(|&b| b == b'=') {
            Some(eq) => out.push((trim(i, i + eq), Some(trim(i + eq + 1, stop)))),
            None => out.push((trim(i, stop), None)),
        }
        i = stop + 1;
    }
    out
}

/// The value of URI parameter `name` (case-insensitive) when it has one.
fn encoded_param<'u>(raw: &'u [u8], name: &[u8]) -> Option<&'u [u8]> {
    uri_params(raw)
        .into_iter()
        .find(|(n, _)| raw[n.clone()].eq_ignore_ascii_case(name))
        .and_then(|(_, v)| v)
        .map(|v| &raw[v])
        .filter(|v| !v.is_empty())
}

/// `contact_param_decode(name)`: each Contact URI (of every Contact
/// header) with parameter `name` replaced by that parameter decoded; 1,
/// or -1 when a value does not decode.
pub fn contact_param_decode(ctx: &mut Ctx<'_>, name: &[u8]) -> i32 {
    for (na, at) in contacts(ctx, false) {
        if na.uri_raw.len() < 4 {
            continue;
        }
        let Some(v) = encoded_param(na.uri_raw, name) else {
            continue;
        };
        let Some(dec) = b64url_dec(v) else {
            crate::engine::log::error(ctx, "failed to decode contact uri\n");
            return -1;
        };
        replace(ctx, at, na.uri_raw.len(), dec);
    }
    1
}

/// `contact_param_decode_ruri(name)`: the R-URI replaced by its
/// parameter `name` decoded; 1 (also when it has no such parameter), -1
/// when the value does not decode.
pub fn contact_param_decode_ruri(ctx: &mut Ctx<'_>, name: &[u8]) -> i32 {
    let ruri = ctx.ruri().to_vec();
    let Some(v) = encoded_param(&ruri, name) else {
        return 1;
    };
    let Some(dec) = b64url_dec(v) else {
        crate::engine::log::error(ctx, "failed to decode uri\n");
        return -1;
    };
    ctx.new_uri = Some(dec);
    1
}

/// `contact_param_rm(name)`: `;name[=value]` removed from each Contact
/// URI (of every Contact header) that has it; 1.
pub fn contact_param_rm(ctx: &mut Ctx<'_>, name: &[u8]) -> i32 {
    for (na, at) in contacts(ctx, false) {
        let raw = na.uri_raw;
        if raw.len() < 4 {
            continue;
        }
        let Some((n, v)) = uri_params(raw)
            .into_iter()
            .find(|(n, _)| raw[n.clone()].eq_ignore_ascii_case(name))
        else {
            continue;
        };
        let Some(semi) = raw[..n.start].iter().rposition(|&b| b == b';') else {
            continue;
        };
        let end = match v.filter(|v| !v.is_empty()) {
            Some(v) => v.end,
            None => n.end,
        };
        replace(ctx, at + semi, end - semi, Vec::new());
    }
    1
}

/// `encode_contact(prefix, public_ip)`: each URI of the first Contact
/// header becomes `sip:prefix*user*password*host*port*transport@public_ip`
/// (`*` being `contact_flds_separator`; the URI's parameters are dropped,
/// as Kamailio's encoder drops them); 1, -1 with no Contact, Kamailio's
/// negative codes for a URI it cannot encode.
pub fn encode_contact(ctx: &mut Ctx<'_>, prefix: &[u8], public_ip: &[u8]) -> i32 {
    let list = contacts(ctx, true);
    if list.is_empty() {
        crate::engine::log::error(ctx, "no Contact header present\n");
        return -1;
    }
    let sep = super::super::Modules::of(ctx).siputils.separator;
    for (na, at) in list {
        let uri = na.uri_raw;
        match encode_uri(uri, prefix, public_ip, sep) {
            Ok(new) => replace(ctx, at, uri.len(), new),
            Err(rc) => {
                crate::engine::log::error(ctx, "failed encoding contact\n");
                return rc;
            }
        }
    }
    1
}

/// Kamailio's `encode_uri` (with `encode2format`).
fn encode_uri(uri: &[u8], prefix: &[u8], public_ip: &[u8], sep: u8) -> Result<Vec<u8>, i32> {
    if uri.len() <= 1 {
        return Err(-1);
    }
    let colon = uri.iter().position(|&b| b == b':');
    let (start, end) = if let Some(lt) = uri.iter().position(|&b| b == b'<') {
        let c = colon.ok_or(-22)?;
        if c < lt + 4 {
            return Err(-23);
        }
        let start = c - 3;
        let end = start + uri[start..].iter().position(|&b| b == b'>').ok_or(-24)?;
        (start, end)
    } else {
        let c = colon.ok_or(-25)?;
        if c < 3 {
            return Err(-26);
        }
        (c - 3, uri.len())
    };
    let first = start + 4;
    let parsed = Uri::parse(&uri[start..end]).map_err(|_| -509)?;
    let mut out = uri[..first].to_vec();
    out.extend_from_slice(prefix);
    for field in [
        parsed.user.unwrap_or_default(),
        parsed.password.unwrap_or_default(),
        parsed.host,
        parsed.port_raw.unwrap_or_default(),
        parsed
            .params
            .get(b"transport")
            .flatten()
            .unwrap_or_default(),
    ] {
        out.push(sep);
        out.extend_from_slice(field);
    }
    out.push(b'@');
    out.extend_from_slice(public_ip);
    out.extend_from_slice(&uri[end..]);
    Ok(out)
}

/// Kamailio's `decode_uri` (with `decode2format`): the fields between
/// separators before `@` back into `user:password@host:port;transport=`,
/// what follows the public address (from `;` or `>`) kept.
fn decode_uri(uri: &[u8], sep: u8) -> Result<Vec<u8>, i32> {
    if uri.is_empty() {
        return Err(-1);
    }
    let first = uri.iter().position(|&b| b == b':').ok_or(-22)? + 1;
    let at = first + uri[first..].iter().position(|&b| b == b'@').ok_or(-23)?;
    let mut fields: Vec<&[u8]> = Vec::with_capacity(5);
    let mut last = first;
    let mut seen = 0;
    for (i, &b) in uri[first..at].iter().enumerate() {
        if b == sep {
            let pos = first + i;
            if seen == 5 {
                return Err(-24);
            }
            if seen > 0 {
                fields.push(&uri[last..pos]);
            }
            seen += 1;
            last = pos + 1;
        }
    }
    if seen != 5 {
        return Err(-26);
    }
    let (user, pass, ip, port, proto) =
        (fields[0], fields[1], fields[2], fields[3], &uri[last..at]);
    let second = at
        + uri[at..]
            .iter()
            .position(|&b| b == b';' || b == b'>')
            .unwrap_or(uri.len() - at);
    if ip.is_empty() {
        return Err(-2);
    }
    if !pass.is_empty() && user.is_empty() {
        return Err(-3);
    }
    let mut out = uri[..first].to_vec();
    if !user.is_empty() {
        out.extend_from_slice(user);
        out.push(if pass.is_empty() { b'@' } else { b':' });
    }
    if !pass.is_empty() {
        out.extend_from_slice(pass);
        out.push(b'@');
    }
    out.extend_from_slice(ip);
    if !port.is_empty() {
        out.push(b':');
        out.extend_from_slice(port);
    }
    if !proto.is_empty() {
        out.extend_from_slice(b";transport=");
        out.extend_from_slice(proto);
    }
    out.extend_from_slice(&uri[second..]);
    Ok(out)
}

/// `decode_contact()`: the R-URI decoded as `encode_contact` encoded it;
/// 1, or Kamailio's negative codes.
pub fn decode_contact(ctx: &mut Ctx<'_>) -> i32 {
    let sep = super::super::Modules::of(ctx).siputils.separator;
    match decode_uri(ctx.ruri(), sep) {
        Ok(new) => {
            ctx.new_uri = Some(new);
            1
        }
        Err(rc) => {
            crate::engine::log::error(ctx, "failed decoding contact\n");
            rc
        }
    }
}

/// `decode_contact_header()`: each URI of the first Contact header
/// decoded as `encode_contact` encoded it; 1, -1 with no Contact, or
/// Kamailio's negative codes.
pub fn decode_contact_header(ctx: &mut Ctx<'_>) -> i32 {
    let list = contacts(ctx, true);
    if list.is_empty() {
        crate::engine::log::error(ctx, "no Contact header present\n");
        return -1;
    }
    let sep = super::super::Modules::of(ctx).siputils.separator;
    for (na, at) in list {
        match decode_uri(na.uri_raw, sep) {
            Ok(new) => replace(ctx, at, na.uri_raw.len(), new),
            Err(rc) => {
                crate::engine::log::error(ctx, "failed decoding contact\n");
                return rc;
            }
        }
    }
    1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64url_round_trip_without_padding() {
        for s in [&b"sip:a@b"[..], b"sip:alice@192.0.2.1:5060", b"sip:x"] {
            let e = b64url_enc(s);
            assert!(!e.contains(&b'='));
            assert_eq!(b64url_dec(&e).as_deref(), Some(s));
        }
        assert_eq!(b64url_enc(b"\xfb\xff"), b"-_8");
        assert_eq!(b64url_dec(b"a+b/"), None);
    }

    #[test]
    fn encode_and_decode_uri() {
        let e = encode_uri(
            b"sip:alice:pw@192.0.2.1:5070;transport=tcp;ob",
            b"enc",
            b"203.0.113.1",
            b'*',
        )
        .expect("encodes");
        assert_eq!(e, b"sip:enc*alice*pw*192.0.2.1*5070*tcp@203.0.113.1");
        let d = decode_uri(&e, b'*').expect("decodes");
        assert_eq!(d, b"sip:alice:pw@192.0.2.1:5070;transport=tcp");
        assert_eq!(decode_uri(b"sip:enc*a*b@h", b'*'), Err(-26));
        assert_eq!(
            decode_uri(b"sip:enc*a**h*5060*@h;x=1", b'*').as_deref(),
            Ok(&b"sip:a@h:5060;x=1"[..])
        );
        assert_eq!(decode_uri(b"sip:enc*a*pw**5060*@h", b'*'), Err(-2));
    }

    #[test]
    fn lenient_uri_params() {
        let raw = b"sip:z@192.0.2.5;a=1; kcp=q ;flag?h=1";
        let names: Vec<&[u8]> = uri_params(raw).into_iter().map(|(n, _)| &raw[n]).collect();
        assert_eq!(names, [&b"a"[..], b"kcp", b"flag"]);
        assert_eq!(encoded_param(raw, b"KCP"), Some(&b"q"[..]));
        assert_eq!(encoded_param(b"sip:host", b"kcp"), None);
    }
}
