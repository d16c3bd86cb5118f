//! textopsx's header-value functions: `append_hf_value`,
//! `insert_hf_value`, `remove_hf_value(2)`, `assign_hf_value(2)`,
//! `include_hf_value`, `exclude_hf_value`, `hf_value_exists`, on the
//! comma-separated values of the headers a `name[index].param`
//! expression ([`cfgc_vocab::hf_value`]) names, as Kamailio 5.6.3 edits
//! them: the same values (quotes keep commas), the same delimiters
//! removed or added, the edits lumps over the received message. Kamailio
//! joins lumps that overlap (a deletion reaching into an earlier one
//! deletes the rest; an insertion inside a deleted zone moves to its
//! end): [`del`] and [`ins`] make the editor's edits do the same.

use crate::engine::Ctx;
use crate::engine::ctx::HeaderOp;
use crate::sip::HeaderEntry;
use cfgc_vocab::hf_value::{HfName, HfOper, MAX_HF_VALUE_STACK, parse};

fn is_space(c: u8) -> bool {
    matches!(c, b'\t' | b'\n' | b'\r' | b' ')
}

fn is_alnum(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c == b'-'
}

/// A byte range of the received buffer.
type R = (usize, usize);

/// One value of a header: the value trimmed, and what Kamailio deletes
/// with it (from after the previous comma through its own comma).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Val {
    val: R,
    lump: R,
}

/// The deleted ranges pending on the message (lumps that remove bytes).
fn deleted(ctx: &Ctx<'_>) -> Vec<R> {
    let hs = ctx.msg.headers();
    ctx.headers
        .iter()
        .filter_map(|op| match op {
            HeaderOp::Replace { start, end, .. } if start < end => Some((*start, *end)),
            HeaderOp::Remove(i) => hs.get(*i).map(|h| {
                let l = h.line();
                (l.start as usize, l.end as usize)
            }),
            _ => None,
        })
        .collect()
}

/// Deletes `start..end` as a Kamailio lump: what earlier deletions
/// already cover is left out, and the range is cut at earlier
/// insertions inside it (which Kamailio moves to the end of the zone).
fn del(ctx: &mut Ctx<'_>, start: usize, end: usize) {
    if start >= end {
        return;
    }
    let gone = deleted(ctx);
    let mut cuts: Vec<usize> = ctx
        .headers
        .iter()
        .filter_map(|op| match op {
            HeaderOp::Replace {
                start: s, end: e, ..
            } if s == e && start < *s && *s < end => Some(*s),
            _ => None,
        })
        .collect();
    cuts.push(end);
    cuts.sort_unstable();
    cuts.dedup();
    let mut pieces = Vec::new();
    let mut from = start;
    for cut in cuts {
        pieces.push((from, cut));
        from = cut;
    }
    for (mut s, e) in pieces {
        // What is left of [s, e) after the deleted zones, in order.
        let mut zones: Vec<R> = gone
            .iter()
            .copied()
            .filter(|&(a, b)| a < e && s < b)
            .collect();
        zones.sort_unstable();
        for (a, b) in zones {
            if a > s {
                push_del(ctx, s, a.min(e));
            }
            s = s.max(b);
            if s >= e {
                break;
            }
        }
        if s < e {
            push_del(ctx, s, e);
        }
    }
}

fn push_del(ctx: &mut Ctx<'_>, start: usize, end: usize) {
    ctx.headers.push(HeaderOp::Replace {
        start,
        end,
        data: Vec::new(),
    });
}

/// Inserts `data` at `at` as a Kamailio lump: inside a deleted zone, at
/// its end.
fn ins(ctx: &mut Ctx<'_>, at: usize, data: Vec<u8>) -> i32 {
    let gone = deleted(ctx);
    let mut at = at;
    while let Some(&(_, b)) = gone.iter().find(|&&(a, b)| a < at && at < b) {
        at = b;
    }
    ctx.headers.push(HeaderOp::Replace {
        start: at,
        end: at,
        data,
    });
    1
}

/// Kamailio's `find_next_value`: the value starting at `*p` (up to an
/// unquoted comma, `end` at most); moves `*p` past its comma. Whether
/// more text follows.
fn next_value(buf: &[u8], p: &mut usize, end: usize) -> (Val, bool) {
    let lump_s = *p;
    while *p < end && is_space(buf[*p]) {
        *p += 1;
    }
    let val_s = *p;
    let mut quoted = false;
    while *p < end && (buf[*p] != b',' || quoted) {
        if buf[*p] == b'"' && (!quoted || buf[*p - 1] != b'\\') {
            quoted = !quoted;
        }
        *p += 1;
    }
    let mut val_e = *p;
    while val_e > val_s && is_space(buf[val_e - 1]) {
        val_e -= 1;
    }
    while *p < end && buf[*p] != b',' {
        *p += 1;
    }
    if *p < end {
        *p += 1;
    }
    (
        Val {
            val: (val_s, val_e),
            lump: (lump_s, *p),
        },
        *p < end,
    )
}

/// Every value of a header (one at least, as Kamailio's do-while).
fn values(buf: &[u8], h: &HeaderEntry) -> Vec<Val> {
    let b = h.value();
    let (mut p, end) = (b.start as usize, b.end as usize);
    let mut out = Vec::new();
    loop {
        let (v, more) = next_value(buf, &mut p, end);
        out.push(v);
        if !more {
            return out;
        }
    }
}

fn body(h: &HeaderEntry) -> R {
    let b = h.value();
    (b.start as usize, b.end as usize)
}

/// The headers the expression names, in order.
fn matching<'m>(ctx: &Ctx<'m>, name: &[u8]) -> Vec<&'m HeaderEntry> {
    let msg = ctx.msg;
    let buf = msg.buffer();
    msg.headers()
        .iter()
        .filter(|h| crate::modules::textops::name_is(buf, h, name))
        .collect()
}

/// Kamailio's `adjust_lump_val_for_delete`: the last value of a header
/// takes the comma before it.
fn adjust_for_delete(h: &HeaderEntry, lump: R) -> R {
    let (bs, be) = body(h);
    if lump.1 == be && lump.0 > bs {
        (lump.0 - 1, lump.1)
    } else {
        lump
    }
}

/// Kamailio's `delete_value_lump`: the whole header when `r` is its whole
/// value.
fn delete_value(ctx: &mut Ctx<'_>, h: Option<&HeaderEntry>, r: R) -> i32 {
    match h {
        Some(h) if r == body(h) => {
            let l = h.line();
            del(ctx, l.start as usize, l.end as usize);
        }
        _ => del(ctx, r.0, r.1),
    }
    1
}

/// Kamailio's `insert_value_lump` (always before its anchor): the value
/// with a comma after it, or before it at the end of the header's value;
/// alone without a header.
fn insert_value(ctx: &mut Ctx<'_>, h: Option<&HeaderEntry>, at: usize, val: &[u8]) -> i32 {
    let mut s = Vec::with_capacity(val.len() + 1);
    match h {
        None => s.extend_from_slice(val),
        Some(h) if at == body(h).1 => {
            s.push(b',');
            s.extend_from_slice(val);
        }
        Some(_) => {
            s.extend_from_slice(val);
            s.push(b',');
        }
    }
    ins(ctx, at, s)
}

/// Kamailio's `insert_header_lump`: `name: value` and CRLF at `at`.
fn insert_header(ctx: &mut Ctx<'_>, at: usize, name: &[u8], val: &[u8]) -> i32 {
    let mut s = Vec::with_capacity(name.len() + val.len() + 4);
    s.extend_from_slice(name);
    s.extend_from_slice(b": ");
    s.extend_from_slice(val);
    s.extend_from_slice(b"\r\n");
    ins(ctx, at, s)
}

/// Kamailio's `find_hf_value_idx`: the header (and value, `with_val`) the
/// index names; `Err` when the expression has no single index.
#[allow(clippy::type_complexity)]
fn find_idx<'m>(
    ctx: &Ctx<'m>,
    h: &HfName<'_>,
    with_val: bool,
) -> Result<Option<(&'m HeaderEntry, Val)>, ()> {
    if h.all || h.idx == 0 {
        return Err(());
    }
    let buf = ctx.msg.buffer();
    let hfs = matching(ctx, h.name);
    let none = Val {
        val: (0, 0),
        lump: (0, 0),
    };
    if h.idx > 0 {
        let mut idx = h.idx;
        for hf in hfs {
            if with_val {
                let mut last = none;
                for v in values(buf, hf) {
                    last = v;
                    idx -= 1;
                    if idx == 0 {
                        break;
                    }
                }
                if idx == 0 {
                    return Ok(Some((hf, last)));
                }
            } else {
                idx -= 1;
                if idx == 0 {
                    return Ok(Some((hf, none)));
                }
            }
        }
        return Ok(None);
    }
    if -h.idx > MAX_HF_VALUE_STACK {
        return Err(());
    }
    let mut all = Vec::new();
    for hf in hfs {
        if with_val {
            all.extend(values(buf, hf).into_iter().map(|v| (hf, v)));
        } else {
            all.push((hf, none));
        }
    }
    let back = usize::try_from(-h.idx).unwrap_or(usize::MAX);
    Ok(all.len().checked_sub(back).map(|i| all[i]))
}

/// Kamailio's `get_uri_and_skip_until_params`: where the parameters of a
/// value (`"name" <uri>;p=1`) start.
fn skip_until_params(buf: &[u8], area: R) -> usize {
    let (s, e) = area;
    let mut i = s;
    while i < e && buf[i] != b';' {
        let mut quoted = false;
        while i < e {
            if !quoted {
                if buf[i] == b'"' {
                    quoted = true;
                } else if buf[i] == b'<' || buf[i] == b';' || is_space(buf[i]) {
                    break;
                }
            } else if buf[i] == b'"' && buf[i - 1] != b'\\' {
                quoted = false;
            }
            i += 1;
        }
        while i < e && is_space(buf[i]) {
            i += 1;
        }
        if i < e && buf[i] == b'<' {
            quoted = false;
            while i < e {
                if !quoted {
                    if buf[i] == b'"' {
                        quoted = true;
                    } else if buf[i] == b'>' {
                        break;
                    }
                } else if buf[i] == b'"' && buf[i - 1] != b'\\' {
                    quoted = false;
                }
                i += 1;
            }
        }
    }
    i
}

/// Where a parameter was found (or is to be added).
struct Found {
    found: bool,
    /// After the name through the value (what a new value replaces).
    upd: R,
    /// From before the `;` (or the comma) through the value.
    del: R,
}

/// Kamailio's `find_hf_value_param`: parameter `param` (`;name=value`)
/// in `area`.
fn find_param(buf: &[u8], param: &[u8], area: R) -> Found {
    let (base, end) = area;
    let mut i = base;
    loop {
        let del_s = i;
        while i < end && is_space(buf[i]) {
            i += 1;
        }
        if !(i < end && buf[i] == b';') {
            return Found {
                found: false,
                upd: (del_s, del_s),
                del: (del_s, del_s),
            };
        }
        i += 1;
        while i < end && is_space(buf[i]) {
            i += 1;
        }
        let j = i;
        while i < end && !is_space(buf[i]) && buf[i] != b'=' && buf[i] != b';' {
            i += 1;
        }
        let found = buf[j..i].eq_ignore_ascii_case(param);
        let upd_s = i;
        while i < end && is_space(buf[i]) {
            i += 1;
        }
        if i < end && buf[i] == b'=' {
            i = skip_value(buf, i + 1, end, b';');
        }
        if found {
            return Found {
                found: true,
                upd: (upd_s, i),
                del: (del_s, i),
            };
        }
    }
}

/// After a parameter's `=` (at `i`): blanks, then the value, a quoted
/// string (to its closing quote) or up to a blank or `stop`; where the
/// value ends.
fn skip_value(buf: &[u8], mut i: usize, end: usize, stop: u8) -> usize {
    while i < end && is_space(buf[i]) {
        i += 1;
    }
    if i >= end {
        return i;
    }
    if buf[i] == b'"' {
        i += 1;
        while i < end {
            if buf[i] == b'"' {
                return i + 1;
            }
            i += 1;
        }
        return i;
    }
    while i < end && !is_space(buf[i]) && buf[i] != stop {
        i += 1;
    }
    i
}

/// Kamailio's `find_hf_value2_param`: parameter `param` (`name=value`,
/// comma-separated after a scheme word, as in `Authorization`) in
/// `area`; the delimiter a new one takes. `None` where Kamailio loops
/// for ever (a byte it never steps over).
fn find_param2(buf: &[u8], param: &[u8], area: R) -> Option<(Found, u8)> {
    let (mut i, end) = area;
    let mut delim = 0u8;
    while i < end {
        let del_s = i;
        let at_top = i;
        while i < end && is_space(buf[i]) {
            i += 1;
        }
        let comma = i < end && buf[i] == b',';
        if comma {
            i += 1;
        }
        while i < end && is_space(buf[i]) {
            i += 1;
        }
        if i < end && is_alnum(buf[i]) {
            let j = i;
            if delim == 0 {
                delim = b' ';
            }
            while i < end && is_alnum(buf[i]) {
                i += 1;
            }
            let k = i;
            while i < end && is_space(buf[i]) {
                i += 1;
            }
            let upd_s = i;
            if i < end && buf[i] == b'=' {
                delim = b',';
                let found = buf[j..k].eq_ignore_ascii_case(param);
                i = skip_value(buf, i + 1, end, b',');
                if found {
                    let upd = (upd_s, i);
                    let mut del = (del_s, i);
                    while i < end && is_space(buf[i]) {
                        i += 1;
                    }
                    if !comma && i < end && buf[i] == b',' {
                        i += 1;
                        del.1 = i;
                    }
                    return Some((
                        Found {
                            found: true,
                            upd,
                            del,
                        },
                        delim,
                    ));
                }
            }
            while i < end && is_space(buf[i]) {
                i += 1;
            }
        } else {
            // Kamailio steps over commas only here (its test reads
            // `!(c != ',')`): any other byte is never passed.
            while i < end && !is_space(buf[i]) && buf[i] == b',' {
                i += 1;
            }
        }
        if i == at_top {
            return None;
        }
    }
    Some((
        Found {
            found: false,
            upd: (i, i),
            del: (i, i),
        },
        delim,
    ))
}

/// Kamailio's `assign_hf_do_lumping`.
fn param_lumps(ctx: &mut Ctx<'_>, param: &[u8], value: Option<&[u8]>, f: &Found, delim: u8) -> i32 {
    if f.found {
        let r = if value.is_some() { f.upd } else { f.del };
        del(ctx, r.0, r.1);
        if let Some(v) = value.filter(|v| !v.is_empty()) {
            let mut s = Vec::with_capacity(v.len() + 1);
            s.push(b'=');
            s.extend_from_slice(v);
            ins(ctx, f.upd.0, s);
        }
        1
    } else {
        let Some(v) = value else {
            return -1;
        };
        let mut s = Vec::with_capacity(param.len() + v.len() + 2);
        if delim != 0 {
            s.push(delim);
        }
        s.extend_from_slice(param);
        if !v.is_empty() {
            s.push(b'=');
            s.extend_from_slice(v);
        }
        ins(ctx, f.del.0, s)
    }
}

/// Kamailio's `assign_hf_process_params`: the parameter of one value
/// (`;p=v`) set, or every one of that name removed (`value` `None`).
fn process_params(ctx: &mut Ctx<'_>, param: &[u8], value: Option<&[u8]>, area: R) -> i32 {
    let buf = ctx.msg.buffer();
    let mut area = (skip_until_params(buf, area), area.1);
    let mut res = 0;
    loop {
        let f = find_param(buf, param, area);
        let r2 = param_lumps(ctx, param, value, &f, b';');
        if res == 0 {
            res = r2;
        }
        if f.found && value.is_none() {
            area.0 = f.del.1;
        } else {
            return res;
        }
    }
}

/// Kamailio's `assign_hf_process2_params`, over a header's whole value.
fn process2_params(ctx: &mut Ctx<'_>, hf: &HeaderEntry, param: &[u8], value: Option<&[u8]>) -> i32 {
    let buf = ctx.msg.buffer();
    let mut area = body(hf);
    let mut res = 0;
    loop {
        let Some((f, delim)) = find_param2(buf, param, area) else {
            crate::engine::log::error(ctx, "header value that textopsx cannot step over");
            return if res == 0 { -1 } else { res };
        };
        let r2 = param_lumps(ctx, param, value, &f, delim);
        if res == 0 {
            res = r2;
        }
        if f.found && value.is_none() {
            area.0 = f.del.1;
        } else {
            return res;
        }
    }
}

fn name_of<'t>(ctx: &Ctx<'_>, text: &'t [u8], oper: HfOper) -> Option<HfName<'t>> {
    match parse(text, oper) {
        Ok(h) => Some(h),
        Err(e) => {
            crate::engine::log::error(ctx, &e);
            None
        }
    }
}

/// Kamailio's `insupddel_hf_value_f`.
fn modify(ctx: &mut Ctx<'_>, text: &[u8], oper: HfOper, val: Option<&[u8]>) -> i32 {
    let Some(h) = name_of(ctx, text, oper) else {
        return -1;
    };
    let v = val.unwrap_or_default();
    let end = ctx.msg.headers_end();
    match oper {
        HfOper::Append => {
            if !h.indexed {
                return insert_header(ctx, end, h.name, v);
            }
            match find_idx(ctx, &h, true) {
                Err(()) => -1,
                Ok(Some((hf, found))) => insert_value(ctx, Some(hf), found.lump.1, v),
                Ok(None) => insert_header(ctx, end, h.name, v),
            }
        }
        HfOper::Insert => match find_idx(ctx, &h, true) {
            Err(()) => -1,
            Ok(Some((hf, _))) if !h.indexed => {
                insert_header(ctx, hf.line().start as usize, h.name, v)
            }
            Ok(None) if h.idx == 1 => insert_header(ctx, end, h.name, v),
            Ok(Some((hf, found))) => insert_value(ctx, Some(hf), found.lump.0, v),
            Ok(None) => -1,
        },
        HfOper::Remove | HfOper::Assign => {
            let buf = ctx.msg.buffer();
            if h.all {
                let mut fl = -1;
                for hf in matching(ctx, h.name) {
                    if h.param.is_empty() {
                        fl = 1;
                        delete_value(ctx, Some(hf), body(hf));
                    } else {
                        for found in values(buf, hf) {
                            if process_params(ctx, h.param, val, found.val) > 0 {
                                fl = 1;
                            }
                        }
                    }
                }
                return fl;
            }
            match find_idx(ctx, &h, true) {
                Ok(Some((hf, found))) => {
                    if !h.param.is_empty() {
                        process_params(ctx, h.param, val, found.val)
                    } else if oper == HfOper::Remove {
                        delete_value(ctx, Some(hf), adjust_for_delete(hf, found.lump))
                    } else {
                        delete_value(ctx, None, found.val);
                        if !v.is_empty() {
                            return insert_value(ctx, None, found.val.0, v);
                        }
                        1
                    }
                }
                _ => -1,
            }
        }
        HfOper::Remove2 | HfOper::Assign2 => {
            if h.all {
                let mut fl = -1;
                for hf in matching(ctx, h.name) {
                    if h.param.is_empty() {
                        fl = 1;
                        delete_value(ctx, Some(hf), body(hf));
                    } else if process2_params(ctx, hf, h.param, val) > 0 {
                        fl = 1;
                    }
                }
                return fl;
            }
            match find_idx(ctx, &h, false) {
                Ok(Some((hf, _))) => {
                    if !h.param.is_empty() {
                        process2_params(ctx, hf, h.param, val)
                    } else if oper == HfOper::Remove2 {
                        delete_value(ctx, Some(hf), body(hf))
                    } else {
                        let b = body(hf);
                        delete_value(ctx, None, b);
                        if !v.is_empty() {
                            return insert_value(ctx, None, b.0, v);
                        }
                        1
                    }
                }
                _ => -1,
            }
        }
        HfOper::Include | HfOper::Exclude | HfOper::Exists => incexc(ctx, &h, oper, v),
    }
}

/// Kamailio's `incexc_hf_value_str_f`: values compared whole and
/// case-insensitively.
fn incexc(ctx: &mut Ctx<'_>, h: &HfName<'_>, oper: HfOper, val: &[u8]) -> i32 {
    if val.is_empty() {
        return -1;
    }
    let buf = ctx.msg.buffer();
    let mut first = None;
    for hf in matching(ctx, h.name) {
        for found in values(buf, hf) {
            let (s, e) = found.val;
            if s < e && buf[s..e].eq_ignore_ascii_case(val) {
                match oper {
                    HfOper::Exists | HfOper::Include => return 1,
                    HfOper::Exclude => {
                        delete_value(ctx, Some(hf), adjust_for_delete(hf, found.lump));
                    }
                    _ => {}
                }
            }
        }
        if first.is_none() {
            first = Some(hf);
        }
    }
    match (oper, first) {
        (HfOper::Exists, _) => -1,
        (HfOper::Include, Some(hf)) => insert_value(ctx, Some(hf), body(hf).1, val),
        (HfOper::Include, None) => {
            let end = ctx.msg.headers_end();
            insert_header(ctx, end, h.name, val)
        }
        _ => 1,
    }
}

/// `append_hf_value(hname, value)`: `value` after the value the index
/// names (the last by default, where an index is written), or as a new
/// header at the end (no index written, or no such value).
pub fn append_hf_value(ctx: &mut Ctx<'_>, hname: &[u8], value: &[u8]) -> i32 {
    modify(ctx, hname, HfOper::Append, Some(value))
}

/// `insert_hf_value(hname, value)`: a new header before the first one of
/// that name (no index written; at the end when there is none), or
/// `value` before the value the index names (-1 when there is none).
pub fn insert_hf_value(ctx: &mut Ctx<'_>, hname: &[u8], value: &[u8]) -> i32 {
    modify(ctx, hname, HfOper::Insert, Some(value))
}

/// `remove_hf_value(hname)`: the value the index names (the first by
/// default) with its comma, the header when it is its only value; every
/// header of that name with `[*]`; the parameter `.param` of the value
/// (all of that name).
pub fn remove_hf_value(ctx: &mut Ctx<'_>, hname: &[u8]) -> i32 {
    modify(ctx, hname, HfOper::Remove, None)
}

/// `assign_hf_value(hname, value)`: the value the index names (the first
/// by default) replaced, or its parameter `.param` set (added when
/// absent); `[*].param` in every value.
pub fn assign_hf_value(ctx: &mut Ctx<'_>, hname: &[u8], value: &[u8]) -> i32 {
    modify(ctx, hname, HfOper::Assign, Some(value))
}

/// `remove_hf_value2(hname)`: as `remove_hf_value` over whole headers
/// (the index counts headers), parameters `name=value` separated by
/// commas (`Authorization`).
pub fn remove_hf_value2(ctx: &mut Ctx<'_>, hname: &[u8]) -> i32 {
    modify(ctx, hname, HfOper::Remove2, None)
}

/// `assign_hf_value2(hname, value)`: as `assign_hf_value` over whole
/// headers and comma-separated parameters.
pub fn assign_hf_value2(ctx: &mut Ctx<'_>, hname: &[u8], value: &[u8]) -> i32 {
    modify(ctx, hname, HfOper::Assign2, Some(value))
}

/// `include_hf_value(hname, value)`: 1 when a header of that name has
/// the value (case-insensitive); otherwise added to the first one, or as
/// a new header.
pub fn include_hf_value(ctx: &mut Ctx<'_>, hname: &[u8], value: &[u8]) -> i32 {
    modify(ctx, hname, HfOper::Include, Some(value))
}

/// `exclude_hf_value(hname, value)`: every such value removed (the header
/// when it is its only one); 1, found or not.
pub fn exclude_hf_value(ctx: &mut Ctx<'_>, hname: &[u8], value: &[u8]) -> i32 {
    modify(ctx, hname, HfOper::Exclude, Some(value))
}

/// `hf_value_exists(hname, value)`: 1 when a header of that name has the
/// value (case-insensitive), else -1.
pub fn hf_value_exists(ctx: &mut Ctx<'_>, hname: &[u8], value: &[u8]) -> i32 {
    modify(ctx, hname, HfOper::Exists, Some(value))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::testutil::{forwarded, msg, run};

    /// The headers after `CSeq` of the request with `extra` headers once
    /// `f` ran, forwarded (return codes of `f` too).
    fn edited(extra: &[&str], f: impl FnOnce(&mut Ctx<'_>) -> Vec<i32>) -> (Vec<i32>, String) {
        let mut lines = vec![
            "OPTIONS sip:bob@127.0.0.1 SIP/2.0",
            "Via: SIP/2.0/UDP 127.0.0.1:5080;branch=z9hG4bK-1",
            "From: <sip:alice@127.0.0.1>;tag=1",
            "To: <sip:bob@127.0.0.1>",
            "Call-ID: c1",
            "CSeq: 1 OPTIONS",
        ];
        lines.extend_from_slice(extra);
        lines.push("Content-Length: 0");
        let raw = msg(&lines);
        let ((rcs, sent), _) = run(&raw, |ctx| {
            let rcs = f(ctx);
            (rcs, forwarded(ctx))
        });
        let sent = String::from_utf8(sent).expect("utf8");
        let after = sent
            .split_once("CSeq: 1 OPTIONS\r\n")
            .map(|(_, a)| a.trim_end_matches("\r\n").to_string())
            .expect("cseq");
        (rcs, after)
    }

    #[test]
    fn values_split_at_unquoted_commas() {
        let buf = b"\"a,b\" <sip:x>;p=1 ,  c ,";
        let (mut p, end) = (0, buf.len());
        let (v, more) = next_value(buf, &mut p, end);
        assert_eq!(&buf[v.val.0..v.val.1], b"\"a,b\" <sip:x>;p=1");
        assert_eq!(&buf[v.lump.0..v.lump.1], b"\"a,b\" <sip:x>;p=1 ,");
        assert!(more);
        let (v, more) = next_value(buf, &mut p, end);
        assert_eq!(&buf[v.val.0..v.val.1], b"c");
        assert_eq!(&buf[v.lump.0..v.lump.1], b"  c ,");
        // The comma ends the text: Kamailio sees no empty value after it.
        assert!(!more);
    }

    #[test]
    fn values_added_removed_and_replaced() {
        let (rc, h) = edited(&["X-L: a, b", "X-L: c"], |ctx| {
            vec![
                append_hf_value(ctx, b"X-L[1]", b"n1"),
                insert_hf_value(ctx, b"X-L[-1]", b"i"),
                remove_hf_value(ctx, b"X-L[2]"),
                hf_value_exists(ctx, b"x-l", b"C"),
                hf_value_exists(ctx, b"X-L", b"n1"),
            ]
        });
        assert_eq!(rc, [1, 1, 1, 1, -1]);
        // The last value takes the comma before it, and the value added
        // after that comma moves past the deletion (Kamailio's lumps).
        assert_eq!(h, "X-L: an1,\r\nX-L: i,c\r\nContent-Length: 0");
        let (rc, h) = edited(&["X-L: a, b, c"], |ctx| {
            vec![
                remove_hf_value(ctx, b"X-L[2]"),
                remove_hf_value(ctx, b"X-L[3]"),
                remove_hf_value(ctx, b"X-L[-4]"),
            ]
        });
        // The two deletions overlap on a comma: both apply.
        assert_eq!(rc, [1, 1, -1]);
        assert_eq!(h, "X-L: a,\r\nContent-Length: 0");
        let (rc, h) = edited(&["X-L: b", "X-M: a, b"], |ctx| {
            vec![
                exclude_hf_value(ctx, b"X-L", b"B"),
                assign_hf_value(ctx, b"X-M[2]", b"z"),
                include_hf_value(ctx, b"X-M", b"a"),
                include_hf_value(ctx, b"X-N", b"n"),
            ]
        });
        assert_eq!(rc, [1, 1, 1, 1]);
        assert_eq!(h, "X-M: a, z\r\nContent-Length: 0\r\nX-N: n");
    }

    #[test]
    fn parameters_set_and_removed() {
        let (rc, h) = edited(&["X-P: \"n\" <sip:a@h;p=0>;p=1;q, b ; P = 2"], |ctx| {
            vec![
                assign_hf_value(ctx, b"X-P.p", b"9"),
                assign_hf_value(ctx, b"X-P[1].new", b""),
                remove_hf_value(ctx, b"X-P[2].p"),
                remove_hf_value(ctx, b"X-P[2].zz"),
            ]
        });
        assert_eq!(rc, [1, 1, 1, -1]);
        // The blank before a removed `;` stays.
        assert_eq!(
            h,
            "X-P: \"n\" <sip:a@h;p=0>;p=9;q;new, b \r\nContent-Length: 0"
        );
        let (rc, h) = edited(&["X-D: Digest username=\"al\", realm=\"r\""], |ctx| {
            vec![
                remove_hf_value2(ctx, b"X-D.username"),
                assign_hf_value2(ctx, b"X-D.nonce", b"n"),
            ]
        });
        assert_eq!(rc, [1, 1]);
        assert_eq!(h, "X-D: Digest  realm=\"r\",nonce=n\r\nContent-Length: 0");
    }

    #[test]
    fn a_byte_kamailio_never_steps_over_fails_the_call() {
        // Kamailio 5.6.3 loops for ever on the `/` here; we give up.
        let (rc, h) = edited(&["X-D: Digest a/b, nonce=1"], |ctx| {
            vec![assign_hf_value2(ctx, b"X-D.nonce", b"2")]
        });
        assert_eq!(rc, [-1]);
        assert_eq!(h, "X-D: Digest a/b, nonce=1\r\nContent-Length: 0");
    }

    #[test]
    fn an_insertion_in_a_removed_header_moves_past_it() {
        let (rc, h) = edited(&["X-L: a, b", "X-M: m"], |ctx| {
            vec![
                crate::modules::textops::remove_hf(ctx, b"X-L"),
                append_hf_value(ctx, b"X-L[1]", b"n"),
            ]
        });
        assert_eq!(rc, [1, 1]);
        assert_eq!(h, "n,X-M: m\r\nContent-Length: 0");
    }

    #[test]
    fn msg_set_buffer_replaces_the_message() {
        use crate::engine::ctx::{Rebuilt, WorkerState};
        use crate::modules::testutil::{core, rcv};
        use crate::modules::textopsx::msg_set_buffer;
        use crate::sip::Message;
        let raw = msg(&[
            "OPTIONS sip:bob@127.0.0.1 SIP/2.0",
            "Via: SIP/2.0/UDP 127.0.0.1:5080;branch=z9hG4bK-1",
            "From: <sip:alice@127.0.0.1>;tag=1",
            "To: <sip:bob@127.0.0.1>",
            "Call-ID: c1",
            "CSeq: 1 OPTIONS",
            "Content-Length: 0",
        ]);
        let new = String::from_utf8(raw.clone())
            .expect("utf8")
            .replace("sip:bob@", "sip:carol@");
        let m = Message::parse(&raw).expect("parses");
        let (core, rcv) = (core(), rcv());
        let mut worker = WorkerState::default();
        let mut out = Vec::new();
        let store = Rebuilt::default();
        let mut ctx = Ctx::new(&m, &rcv, &core, &mut worker, &mut out);
        assert_eq!(msg_set_buffer(&mut ctx, new.as_bytes()), -1, "no store");
        ctx.rebuilt = Some(&store);
        crate::modules::textops::append_hf(&mut ctx, b"X-Gone: 1\r\n");
        ctx.new_uri = Some(b"sip:dave@127.0.0.1".to_vec());
        assert_eq!(msg_set_buffer(&mut ctx, b""), -1);
        assert_eq!(msg_set_buffer(&mut ctx, &vec![b'a'; BIG]), -1);
        assert_eq!(msg_set_buffer(&mut ctx, new.as_bytes()), 1);
        assert!(ctx.new_uri.is_none());
        let sent = String::from_utf8(forwarded(&mut ctx)).expect("utf8");
        assert!(
            sent.starts_with("OPTIONS sip:carol@127.0.0.1 SIP/2.0\r\n"),
            "{sent}"
        );
        assert!(!sent.contains("X-Gone"), "{sent}");
    }

    const BIG: usize = 65535;
}
