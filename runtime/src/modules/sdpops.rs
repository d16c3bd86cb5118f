//! sdpops — SDP tests and edits (Kamailio 5.6's sdpops), over the SDP
//! parser of `sip::sdp` (one session: a multipart body is not looked
//! into, where Kamailio would find its SDP part).
//!
//! - Tests: `sdp_content([sloppy])`, `sdp_with_media(type)`,
//!   `sdp_with_active_media(type)`, `sdp_with_transport(proto)`,
//!   `sdp_with_transport_like(text)`, `sdp_with_codecs_by_id(list)`,
//!   `sdp_with_codecs_by_name(list)`, `sdp_with_ice()`,
//!   `sdp_get_address_family()`.
//! - Edits, as Kamailio's deletion lumps on the received body (so later
//!   tests still see the body as received, and the edits are applied when
//!   the message leaves): `sdp_remove_codecs_by_id/name(list[, media])`,
//!   `sdp_keep_codecs_by_id/name(list[, media])`,
//!   `sdp_remove_line_by_prefix(prefix[, media])`,
//!   `sdp_remove_media(type)`, `sdp_remove_transport(proto)`.
//! - Readers into an `$avp`: `sdp_get`, `sdp_get_line_startswith`,
//!   `sdp_transport`; and `$sdp(body)`, `$sdp(sess_version)` (writable).
//!
//! Refused at build: `sdp_print` (a dump of Kamailio's parser structures).
//!
//! 5.6.3's quirks are kept: the codec lists are cut as its
//! `str_find_token` cuts them (an empty item ends the list, blanks after
//! an item stay part of it), `sdp_keep_codecs_*` compares the stream's
//! codecs with the list without trimming, and the name `CN` maps to the
//! id `13` followed by three NUL bytes (its table gives the wrong
//! length), so nothing after `CN` in a name list is looked at and
//! `sdp_keep_codecs_by_name` never keeps comfort noise.

use cfgc_vocab::PvRef;

use crate::engine::Ctx;
use crate::engine::ctx::HeaderOp;
use crate::engine::module::{Module, PvExport};
use crate::engine::params::{ModParams, ParamError};
use crate::engine::pv;
use crate::engine::value::{OwnedValue, Value};
use crate::sip::sdp::{NoSdp, Sdp, Stream};

/// sdpops as a module: no parameters, no state; its PVs.
#[derive(Debug, Default, Clone, Copy)]
pub struct Sdpops;

impl Module for Sdpops {
    const NAME: &'static str = "sdpops";
    const PVS: &'static [PvExport] = &[
        PvExport {
            name: "sdp(body)",
            read: pv_sdp_body,
            write: None,
        },
        PvExport {
            name: "sdp(sess_version)",
            read: pv_sdp_sess_version,
            write: Some(set_sdp_sess_version),
        },
    ];

    fn from_params(_params: &ModParams) -> Result<Self, ParamError> {
        Ok(Sdpops)
    }
}

/// The message's SDP: `Err(-1)` where Kamailio's `parse_sdp` fails (a
/// body that is not SDP); no body is an SDP without streams.
fn sdp<'m>(ctx: &Ctx<'m>) -> Result<Sdp<'m>, i32> {
    match Sdp::of(ctx.msg) {
        Ok(s) => Ok(s),
        Err(NoSdp::Empty) => Ok(Sdp::default()),
        Err(NoSdp::NotSdp) => Err(-1),
    }
}

/// `sdp_content()`: 1 when the body is SDP, else -1.
pub fn sdp_content(ctx: &Ctx<'_>) -> i32 {
    if Sdp::of(ctx.msg).is_ok() { 1 } else { -1 }
}

/// `sdp_content(sloppy)` (any argument, not evaluated): 1 when there is
/// a body and its Content-Type is `application/sdp`, missing, or
/// `multipart/mixed` with `application/sdp` somewhere in the body.
pub fn sdp_content1(ctx: &Ctx<'_>, _sloppy: &[u8]) -> i32 {
    let body = ctx.msg.body();
    if body.is_empty() {
        return -1;
    }
    match ctx.msg.content_type() {
        Ok(None) => 1,
        Ok(Some(ct))
            if ct.mtype.eq_ignore_ascii_case(b"application")
                && ct.subtype.eq_ignore_ascii_case(b"sdp") =>
        {
            1
        }
        Ok(Some(ct))
            if ct.mtype.eq_ignore_ascii_case(b"multipart")
                && ct.subtype.eq_ignore_ascii_case(b"mixed") =>
        {
            let needle = b"application/sdp";
            if body
                .windows(needle.len())
                .any(|w| w.eq_ignore_ascii_case(needle))
            {
                1
            } else {
                -1
            }
        }
        _ => -1,
    }
}

/// `sdp_with_media(type)`: 1 when an `m=` line has that media type
/// (without case), else -1.
pub fn sdp_with_media(ctx: &Ctx<'_>, media: &[u8]) -> i32 {
    match sdp(ctx) {
        Ok(s)
            if s.streams
                .iter()
                .any(|st| st.media.eq_ignore_ascii_case(media)) =>
        {
            1
        }
        _ => -1,
    }
}

/// `sdp_with_active_media(type)`: as [`sdp_with_media`], the stream's
/// port not 0 and its direction not `inactive`.
pub fn sdp_with_active_media(ctx: &Ctx<'_>, media: &[u8]) -> i32 {
    let active = |st: &Stream<'_>| {
        st.media.eq_ignore_ascii_case(media)
            && atoi(st.port) != 0
            && !st.sendrecv.eq_ignore_ascii_case(b"inactive")
    };
    match sdp(ctx) {
        Ok(s) if s.streams.iter().any(active) => 1,
        _ => -1,
    }
}

/// C's `atoi`: leading digits, 0 without.
fn atoi(s: &[u8]) -> u64 {
    s.iter()
        .take_while(|b| b.is_ascii_digit())
        .fold(0u64, |n, &d| {
            n.saturating_mul(10).saturating_add(u64::from(d - b'0'))
        })
}

/// `sdp_with_transport(proto)`: 1 when an `m=` line has that transport
/// (without case), else -1.
pub fn sdp_with_transport(ctx: &Ctx<'_>, transport: &[u8]) -> i32 {
    match sdp(ctx) {
        Ok(s)
            if s.streams
                .iter()
                .any(|st| st.transport.eq_ignore_ascii_case(transport)) =>
        {
            1
        }
        _ => -1,
    }
}

/// `sdp_with_transport_like(text)`: 1 when an `m=` line's transport
/// contains `text` (with case), else -1.
pub fn sdp_with_transport_like(ctx: &Ctx<'_>, text: &[u8]) -> i32 {
    let contains = |hay: &[u8]| text.is_empty() || hay.windows(text.len()).any(|w| w == text);
    match sdp(ctx) {
        Ok(s) if s.streams.iter().any(|st| contains(st.transport)) => 1,
        _ => -1,
    }
}

/// `sdp_with_codecs_by_id(list)`: the comma-separated payload types
/// looked up in every stream's format list: 1 all found, 2 some found
/// (and some not), -1 none, -2 the body is not SDP.
pub fn sdp_with_codecs_by_id(ctx: &Ctx<'_>, codecs: &[u8]) -> i32 {
    // Kamailio: no body at all is an error here too.
    let Ok(s) = Sdp::of(ctx.msg) else {
        return -2;
    };
    let (mut found, mut missing) = (false, false);
    for st in &s.streams {
        for c in codecs
            .split(|&b| b == b',')
            .map(<[u8]>::trim_ascii)
            .filter(|c| !c.is_empty())
        {
            if st.payloads.contains(&c) {
                found = true;
            } else {
                missing = true;
            }
        }
    }
    match (found, missing) {
        (false, _) => -1,
        (true, false) => 1,
        (true, true) => 2,
    }
}

/// `sdp_with_ice()`: 1 when the body holds `a=candidate`, else -1.
pub fn sdp_with_ice(ctx: &Ctx<'_>) -> i32 {
    let body = ctx.msg.body();
    let needle = b"a=candidate";
    if body.windows(needle.len()).any(|w| w == needle) {
        1
    } else {
        -1
    }
}

/// `sdp_get_address_family()`: 4 or 6 for the session's `c=` address
/// type, -1 otherwise.
pub fn sdp_get_address_family(ctx: &Ctx<'_>) -> i32 {
    match sdp(ctx).ok().and_then(|s| s.connection) {
        Some((pf, _)) if pf.eq_ignore_ascii_case(b"IP4") => 4,
        Some((pf, _)) if pf.eq_ignore_ascii_case(b"IP6") => 6,
        _ => -1,
    }
}

/// Kamailio's `str_find_token` loop over a list: one leading `delim`
/// skipped, then blanks; an item runs to the next `delim`, NUL, CR or LF;
/// an empty item ends the list.
fn tokens(list: &[u8], delim: u8) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut rest = list;
    loop {
        if rest.first() == Some(&delim) {
            rest = &rest[1..];
        }
        let blanks = rest
            .iter()
            .take_while(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
            .count();
        rest = &rest[blanks..];
        let len = rest
            .iter()
            .position(|&b| b == delim || b == 0 || b == b'\r' || b == b'\n')
            .unwrap_or(rest.len());
        if len == 0 {
            return out;
        }
        out.push(&rest[..len]);
        rest = &rest[len..];
    }
}

/// Kamailio's `sdp_codec_in_str`: `codec` is an item of `all` (items
/// separated by `delim`, compared as written).
fn codec_in(all: &[u8], codec: &[u8], delim: u8) -> bool {
    !codec.is_empty() && all.split(|&b| b == delim).any(|item| item == codec)
}

/// The ids of codec names (Kamailio's `sdpops_build_ids_list`): a static
/// payload type's name by the RFC 3551 table, any other by the
/// `a=rtpmap` lines of every stream; `None` when no name gives an id.
fn ids_of_names(sdp: &Sdp<'_>, names: &[u8]) -> Option<Vec<u8>> {
    // 5.6.3's table, with the length it gives `CN`'s id (5 for "13").
    const TABLE: &[(&[u8], &[u8])] = &[
        (b"PCMU", b"0"),
        (b"GSM", b"3"),
        (b"G723", b"4"),
        (b"DVI4", b"5,6,16,17"),
        (b"LPC", b"7"),
        (b"PCMA", b"8"),
        (b"G722", b"9"),
        (b"L16", b"10,11"),
        (b"QCELP", b"12"),
        (b"CN", b"13\0\0\0"),
        (b"MPA", b"14"),
        (b"G728", b"15"),
        (b"G729", b"18"),
    ];
    let mut ids: Vec<Vec<u8>> = Vec::new();
    for name in tokens(names, b',') {
        if let Some((_, id)) = TABLE.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)) {
            ids.push(id.to_vec());
        } else {
            // At most 16 ids for one name; more is "not found".
            let found: Vec<&[u8]> = sdp
                .streams
                .iter()
                .flat_map(|st| st.rtpmaps.iter())
                .filter(|(_, enc)| enc.eq_ignore_ascii_case(name))
                .map(|(pt, _)| *pt)
                .collect();
            if found.len() <= 16 {
                ids.extend(found.into_iter().map(<[u8]>::to_vec));
            }
        }
    }
    let list = ids.join(&b","[..]);
    (!list.is_empty() && list.len() < 128).then_some(list)
}

/// Deletes `part` (a slice of the received message) when the message
/// leaves: a deletion lump.
fn delete(ctx: &mut Ctx<'_>, part: &[u8]) {
    if let Some(start) = ctx.msg.offset_of(part) {
        ctx.headers.push(HeaderOp::Replace {
            start,
            end: start + part.len(),
            data: Vec::new(),
        });
    }
}

/// The lines of `raw` (a slice of the message), each with its LF.
fn lines(raw: &[u8]) -> impl Iterator<Item = &[u8]> {
    raw.split_inclusive(|&b| b == b'\n')
}

/// Whether a stream is of `media` (any, when empty).
fn of_media(st: &Stream<'_>, media: &[u8]) -> bool {
    media.is_empty() || st.media.eq_ignore_ascii_case(media)
}

/// Removes the first `codec` of a stream's format list with the blank
/// before it, and its `a=rtpmap:`, `a=fmtp:` and `a=rtcp-fb:` lines
/// (Kamailio's `sdp_remove_str_codec_id` and `..._attrs`).
fn remove_codec(ctx: &mut Ctx<'_>, st: &Stream<'_>, codec: &[u8]) {
    let all = st.payloads_raw;
    let mut item_start = true;
    for i in 0..all.len() {
        if item_start
            && all[i..].starts_with(codec)
            && matches!(all.get(i + codec.len()), None | Some(b' '))
        {
            // The blank before the id goes with it (before the first id,
            // the one after the transport).
            if let Some(at) = ctx.msg.offset_of(all) {
                let start = at + i - 1;
                delete_range(ctx, start, start + codec.len() + 1);
            }
            break;
        }
        item_start = all[i] == b' ';
    }
    const ATTRS: &[&[u8]] = &[b"a=rtpmap:", b"a=fmtp:", b"a=rtcp-fb:"];
    let mut rest = st.raw;
    while rest.len() > 5 {
        let Some(line) = lines(rest).next() else {
            break;
        };
        for attr in ATTRS {
            if line.len() > attr.len() + codec.len()
                && line[..attr.len()].eq_ignore_ascii_case(attr)
                && line[attr.len()..].starts_with(codec)
                && line[attr.len() + codec.len()] == b' '
            {
                delete(ctx, line);
            }
        }
        rest = &rest[line.len()..];
    }
}

/// The message's SDP for an editing function: `None` (-1) without a
/// body or with one that is not SDP.
fn sdp_to_edit<'m>(ctx: &Ctx<'m>) -> Option<Sdp<'m>> {
    Sdp::of(ctx.msg).ok()
}

fn remove_ids(ctx: &mut Ctx<'_>, sdp: &Sdp<'_>, ids: &[u8], media: &[u8]) {
    for st in sdp.streams.iter().filter(|st| of_media(st, media)) {
        for id in tokens(ids, b',') {
            remove_codec(ctx, st, id);
        }
    }
}

fn keep_ids(ctx: &mut Ctx<'_>, sdp: &Sdp<'_>, ids: &[u8], media: &[u8]) {
    for st in sdp.streams.iter().filter(|st| of_media(st, media)) {
        for id in tokens(st.payloads_raw, b' ') {
            if !codec_in(ids, id, b',') {
                remove_codec(ctx, st, id);
            }
        }
    }
}

/// `sdp_remove_codecs_by_id(list)`: removes these payload types from
/// every stream (the `m=` line and their attribute lines). 1, or -1
/// without an SDP body.
pub fn sdp_remove_codecs_by_id(ctx: &mut Ctx<'_>, ids: &[u8]) -> i32 {
    sdp_remove_codecs_by_id2(ctx, ids, b"")
}

/// `sdp_remove_codecs_by_id(list, media)`: in streams of that media only.
pub fn sdp_remove_codecs_by_id2(ctx: &mut Ctx<'_>, ids: &[u8], media: &[u8]) -> i32 {
    let Some(sdp) = sdp_to_edit(ctx) else {
        return -1;
    };
    remove_ids(ctx, &sdp, ids, media);
    1
}

/// `sdp_remove_codecs_by_name(list)`: as by id, the names mapped to ids;
/// -1 when no name maps to one.
pub fn sdp_remove_codecs_by_name(ctx: &mut Ctx<'_>, names: &[u8]) -> i32 {
    sdp_remove_codecs_by_name2(ctx, names, b"")
}

/// `sdp_remove_codecs_by_name(list, media)`.
pub fn sdp_remove_codecs_by_name2(ctx: &mut Ctx<'_>, names: &[u8], media: &[u8]) -> i32 {
    let Some(sdp) = sdp_to_edit(ctx) else {
        return -1;
    };
    let Some(ids) = ids_of_names(&sdp, names) else {
        return -1;
    };
    remove_ids(ctx, &sdp, &ids, media);
    1
}

/// `sdp_keep_codecs_by_id(list)`: removes every other payload type.
pub fn sdp_keep_codecs_by_id(ctx: &mut Ctx<'_>, ids: &[u8]) -> i32 {
    sdp_keep_codecs_by_id2(ctx, ids, b"")
}

/// `sdp_keep_codecs_by_id(list, media)`.
pub fn sdp_keep_codecs_by_id2(ctx: &mut Ctx<'_>, ids: &[u8], media: &[u8]) -> i32 {
    let Some(sdp) = sdp_to_edit(ctx) else {
        return -1;
    };
    keep_ids(ctx, &sdp, ids, media);
    1
}

/// `sdp_keep_codecs_by_name(list)`.
pub fn sdp_keep_codecs_by_name(ctx: &mut Ctx<'_>, names: &[u8]) -> i32 {
    sdp_keep_codecs_by_name2(ctx, names, b"")
}

/// `sdp_keep_codecs_by_name(list, media)`.
pub fn sdp_keep_codecs_by_name2(ctx: &mut Ctx<'_>, names: &[u8], media: &[u8]) -> i32 {
    let Some(sdp) = sdp_to_edit(ctx) else {
        return -1;
    };
    let Some(ids) = ids_of_names(&sdp, names) else {
        return -1;
    };
    keep_ids(ctx, &sdp, &ids, media);
    1
}

/// `sdp_with_codecs_by_name(list)`: as [`sdp_with_codecs_by_id`] with the
/// names mapped to ids: 1 all found, 2 some, -1 none (or no SDP, or no
/// name maps to an id).
pub fn sdp_with_codecs_by_name(ctx: &Ctx<'_>, names: &[u8]) -> i32 {
    let Some(sdp) = sdp_to_edit(ctx) else {
        return -1;
    };
    let Some(ids) = ids_of_names(&sdp, names) else {
        return -1;
    };
    let (mut found, mut missing) = (false, false);
    for st in &sdp.streams {
        for id in tokens(&ids, b',') {
            if codec_in(st.payloads_raw, id, b' ') {
                found = true;
            } else {
                missing = true;
            }
        }
    }
    match (found, missing) {
        (false, _) => -1,
        (true, false) => 1,
        (true, true) => 2,
    }
}

/// Deletes the lines of `area` (a slice of the body) that start with
/// `prefix` (found as Kamailio's `find_sdp_line` finds them: the
/// prefix's first character and `=` at a line start); adjacent lines go
/// in one deletion. The number of lines.
fn remove_lines(ctx: &mut Ctx<'_>, area: &[u8], prefix: &[u8]) -> usize {
    let Some(&first) = prefix.first() else {
        return 0;
    };
    let Some(area_at) = ctx.msg.offset_of(area) else {
        return 0;
    };
    let area_end = area_at + area.len();
    let buf = ctx.msg.buffer();
    let mut found = 0;
    let mut pending: Option<(usize, usize)> = None;
    let mut at = area_at;
    while at < area_end {
        // The line starting at `at`, with its LF (to the message's end).
        let len = buf[at..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(buf.len() - at, |p| p + 1);
        let line = &buf[at..at + len];
        if line.len() >= 2 && line[0] == first && line[1] == b'=' {
            if area_end < at + prefix.len() {
                break;
            }
            if line.starts_with(prefix) {
                pending = match pending {
                    Some((s, e)) if e == at => Some((s, at + len)),
                    Some((s, e)) => {
                        delete_range(ctx, s, e);
                        Some((at, at + len))
                    }
                    None => Some((at, at + len)),
                };
                found += 1;
            }
        }
        at += len;
    }
    if let Some((s, e)) = pending {
        delete_range(ctx, s, e);
    }
    found
}

fn delete_range(ctx: &mut Ctx<'_>, start: usize, end: usize) {
    ctx.headers.push(HeaderOp::Replace {
        start,
        end,
        data: Vec::new(),
    });
}

/// `sdp_remove_line_by_prefix(prefix)`: removes every SDP line that
/// starts with `prefix`. 1 (also when none does), -1 without an SDP body.
pub fn sdp_remove_line_by_prefix(ctx: &mut Ctx<'_>, prefix: &[u8]) -> i32 {
    sdp_remove_line_by_prefix2(ctx, prefix, b"")
}

/// `sdp_remove_line_by_prefix(prefix, media)`: in streams of that media.
pub fn sdp_remove_line_by_prefix2(ctx: &mut Ctx<'_>, prefix: &[u8], media: &[u8]) -> i32 {
    let Some(sdp) = sdp_to_edit(ctx) else {
        return -1;
    };
    if media.is_empty() {
        let body = ctx.msg.body();
        remove_lines(ctx, body, prefix);
    } else {
        for st in sdp
            .streams
            .iter()
            .filter(|st| st.media.eq_ignore_ascii_case(media))
        {
            remove_lines(ctx, st.raw, prefix);
        }
    }
    1
}

/// Removes the streams `which` picks: from their `m=` to the next one or
/// the end of the body. 1 if any, else -1.
fn remove_streams(ctx: &mut Ctx<'_>, which: impl Fn(&Stream<'_>) -> bool) -> i32 {
    let Ok(sdp) = Sdp::of(ctx.msg) else {
        return -1;
    };
    let mut n = 0;
    for st in sdp.streams.iter().filter(|st| which(st)) {
        delete(ctx, st.raw);
        n += 1;
    }
    if n > 0 { 1 } else { -1 }
}

/// `sdp_remove_media(type)`: removes the streams of that media type.
pub fn sdp_remove_media(ctx: &mut Ctx<'_>, media: &[u8]) -> i32 {
    remove_streams(ctx, |st| st.media.eq_ignore_ascii_case(media))
}

/// `sdp_remove_transport(proto)`: removes the streams of that transport.
pub fn sdp_remove_transport(ctx: &mut Ctx<'_>, transport: &[u8]) -> i32 {
    remove_streams(ctx, |st| st.transport.eq_ignore_ascii_case(transport))
}

/// Adds a string value to the `$avp` of `out`.
fn add_avp(ctx: &mut Ctx<'_>, out: &[PvRef], v: &[u8]) -> i32 {
    match out.first() {
        Some(pv) if pv::assign(ctx, pv, Value::string(v)) >= 0 => 1,
        _ => -1,
    }
}

/// `sdp_transport(avp)`: the transport all streams share, added to the
/// AVP: 1 (also without streams, then nothing is added), -2 when they
/// differ, -1 when the body is not SDP.
pub fn sdp_transport(ctx: &mut Ctx<'_>, out: &[PvRef]) -> i32 {
    let sdp = match sdp(ctx) {
        Ok(s) => s,
        Err(e) => return e,
    };
    let mut common: Option<&[u8]> = None;
    for st in &sdp.streams {
        match common {
            Some(t) if !t.eq_ignore_ascii_case(st.transport) => return -2,
            Some(_) => {}
            None => common = Some(st.transport),
        }
    }
    match common {
        Some(t) => add_avp(ctx, out, t),
        None => 1,
    }
}

/// `sdp_get(avp)`: the whole SDP added to the AVP: 1, -2 without a body,
/// -1 when it is not SDP.
pub fn sdp_get(ctx: &mut Ctx<'_>, out: &[PvRef]) -> i32 {
    match Sdp::of(ctx.msg) {
        Ok(_) => {
            let body = ctx.msg.body();
            add_avp(ctx, out, body)
        }
        Err(NoSdp::Empty) => -2,
        Err(NoSdp::NotSdp) => -1,
    }
}

/// `sdp_get_line_startswith(avp, prefix)`: the first SDP line that starts
/// with `prefix` (found as `sdp_remove_line_by_prefix` finds lines), less
/// its CRLF (an LF alone stays), added to the AVP: 1, -1 if none (or an
/// empty prefix, or a body that is not SDP), -2 without a body.
pub fn sdp_get_line_startswith(ctx: &mut Ctx<'_>, out: &[PvRef], prefix: &[u8]) -> i32 {
    if prefix.is_empty() {
        return -1;
    }
    match Sdp::of(ctx.msg) {
        Ok(_) => {}
        Err(NoSdp::Empty) => return -2,
        Err(NoSdp::NotSdp) => return -1,
    }
    let body = ctx.msg.body();
    let mut prev_lf = true;
    for line in lines(body) {
        if prev_lf
            && line.len() >= 2
            && line[0] == prefix[0]
            && line[1] == b'='
            && line.starts_with(prefix)
        {
            let v = line.strip_suffix(b"\r\n").unwrap_or(line);
            return add_avp(ctx, out, v);
        }
        prev_lf = line.ends_with(b"\n");
    }
    -1
}

/// `$sdp(body)`: the SDP body; `$null` without one or when the body is
/// not SDP.
pub fn pv_sdp_body<'c>(ctx: &'c Ctx<'_>) -> Value<'c> {
    match Sdp::of(ctx.msg) {
        Ok(_) => Value::str(ctx.msg.body()),
        Err(_) => Value::Null,
    }
}

/// `$sdp(sess_version)`: the `o=` line's session version as an integer;
/// `$null` without one, or when it is not an integer.
pub fn pv_sdp_sess_version<'c>(ctx: &'c Ctx<'_>) -> Value<'c> {
    Sdp::of(ctx.msg)
        .ok()
        .and_then(|s| s.sess_version)
        .and_then(str2sint)
        .map_or(Value::Null, Value::Int)
}

/// Kamailio's `str2sint`: an optional sign and digits only.
fn str2sint(s: &[u8]) -> Option<i32> {
    let (neg, digits) = match s.split_first() {
        Some((b'-', d)) => (true, d),
        Some((b'+', d)) => (false, d),
        _ => (false, s),
    };
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let n = digits.iter().try_fold(0i32, |n, &d| {
        n.checked_mul(10)?.checked_add(i32::from(d - b'0'))
    })?;
    Some(if neg { -n } else { n })
}

/// `$sdp(sess_version) = n`: writes `n` into the `o=` line when the
/// message leaves; -1 increments the current version (refused if that
/// would wrap or shorten it). An integer is required.
pub fn set_sdp_sess_version(ctx: &mut Ctx<'_>, v: OwnedValue) -> i32 {
    let Value::Int(n) = v else {
        return -1;
    };
    let Some((old, old_n)) = Sdp::of(ctx.msg)
        .ok()
        .and_then(|s| s.sess_version)
        .and_then(|o| Some((o, str2sint(o)?)))
    else {
        return -1;
    };
    let new = if n == -1 {
        match old_n.checked_add(1) {
            Some(n) => n,
            None => return -1,
        }
    } else {
        n
    };
    let text = new.to_string().into_bytes();
    if n == -1 && text.len() < old.len() {
        return -1;
    }
    let Some(start) = ctx.msg.offset_of(old) else {
        return -1;
    };
    ctx.headers.push(HeaderOp::Replace {
        start,
        end: start + old.len(),
        data: text,
    });
    1
}
