//! textopsx — edits of the message as a whole (kamailio-modules.md §9):
//! `msg_apply_changes`, `msg_set_buffer`, `remove_body`, `keep_hf`,
//! `fnmatch`, the header and body-line iterators, and the header-value
//! functions (`hf_value.rs`).

mod hf_value;
pub use hf_value::{
    append_hf_value, assign_hf_value, assign_hf_value2, exclude_hf_value, hf_value_exists,
    include_hf_value, insert_hf_value, remove_hf_value, remove_hf_value2,
};

use crate::engine::ctx::HeaderOp;
use crate::engine::{Ctx, Value};
use crate::sip::Editor;
use regex::bytes::Regex;

/// `msg_apply_changes()`: the pending edits (and a rewritten request URI)
/// applied to a new copy of the message, which the rest of the script
/// (and tm, for a reply) sees, searches and edits again: Kamailio's new
/// buffer for the same message. A request must not be given its
/// record-route yet (Kamailio: "cannot apply msg changes after adding
/// record-route"). Requests only in the request route, replies in any
/// reply route (Kamailio's check). -1 when it cannot; 0 (the script ends)
/// when the new message does not parse.
pub fn msg_apply_changes(ctx: &mut Ctx<'_>) -> i32 {
    let Some(store) = ctx.rebuilt else {
        crate::engine::log::error(ctx, "invalid usage - not in request route or a reply");
        return -1;
    };
    let msg = ctx.msg;
    if ctx
        .headers
        .iter()
        .any(|op| matches!(op, HeaderOp::Deferred(_)))
    {
        crate::engine::log::error(
            ctx,
            "cannot apply msg changes after adding record-route header - it breaks conditional 2nd header",
        );
        return -1;
    }
    let mut ed = Editor::new(msg);
    if msg.is_request()
        && let Some(u) = &ctx.new_uri
        && ed.set_ruri(u).is_err()
    {
        return -1;
    }
    if crate::engine::forward::apply_reply_header_ops(&mut ed, &ctx.headers).is_err() {
        return -1;
    }
    let data = ed.serialize();
    let Some(new) = store.keep(data) else {
        crate::engine::log::error(ctx, "parsing new sip message failed");
        return 0;
    };
    ctx.msg = new;
    // The edits are in the new message; a module's pending values stay
    // (not the multipart mark: its boundaries were mended just now).
    ctx.headers.retain(
        |op| matches!(op, HeaderOp::Note(k, _) if *k != crate::engine::forward::BODY_MULTIPART),
    );
    if new.is_request() {
        ctx.new_uri = None;
    }
    1
}

/// Kamailio's `BUF_SIZE`: a new buffer must be shorter.
const BUF_SIZE: usize = 65535;

/// `msg_set_buffer(text)`: the message replaced by `text`, which the rest
/// of the script (and tm, for a reply) sees, searches, edits and sends,
/// as Kamailio's new buffer for the same message: the pending edits and
/// a rewritten request URI are dropped (`$du` kept). Requests only in the
/// request route, replies in any reply route. -1 for an empty or too
/// long text (65535 bytes or more) or where it cannot be used; 0 (the
/// script ends) when the text does not parse as a SIP message.
pub fn msg_set_buffer(ctx: &mut Ctx<'_>, text: &[u8]) -> i32 {
    let Some(store) = ctx.rebuilt else {
        crate::engine::log::error(ctx, "invalid usage - not in request route or a reply");
        return -1;
    };
    if text.is_empty() {
        crate::engine::log::error(ctx, "invalid buffer parameter");
        return -1;
    }
    if text.len() >= BUF_SIZE {
        crate::engine::log::error(ctx, "new buffer is too large");
        return -1;
    }
    let Some(new) = store.keep(text.to_vec()) else {
        crate::engine::log::error(ctx, "parsing new sip message failed");
        return 0;
    };
    ctx.msg = new;
    ctx.headers.retain(|op| matches!(op, HeaderOp::Note(..)));
    ctx.new_uri = None;
    1
}

/// `remove_body()`: the body removed (Content-Length follows); 1, also
/// when there is none.
pub fn remove_body(ctx: &mut Ctx<'_>) -> i32 {
    if !ctx.msg.body().is_empty() {
        ctx.headers.push(HeaderOp::Body(Vec::new()));
    }
    1
}

/// Headers `keep_hf` never removes.
fn always_kept(n: crate::sip::HeaderName) -> bool {
    use crate::sip::HeaderName as H;
    matches!(
        n,
        H::From
            | H::To
            | H::CallId
            | H::CSeq
            | H::Via
            | H::Contact
            | H::ContentLength
            | H::ContentType
            | H::Route
            | H::RecordRoute
            | H::MaxForwards
    )
}

/// `keep_hf(re)`: removes every header whose name does not match `re`,
/// but Via, From, To, Call-ID, CSeq, Contact, Content-Length,
/// Content-Type, Route, Record-Route and Max-Forwards. Returns -1, always
/// (as Kamailio 5.6's). (`keep_hf()` without a regex makes Kamailio 5.6.3
/// refuse to start: its fixup fails.)
pub fn keep_hf_re(ctx: &mut Ctx<'_>, re: &Regex) -> i32 {
    keep_where(ctx, Some(re))
}

fn keep_where(ctx: &mut Ctx<'_>, re: Option<&Regex>) -> i32 {
    let buf = ctx.msg.buffer();
    let gone: Vec<usize> = ctx
        .msg
        .headers()
        .iter()
        .enumerate()
        .filter(|(_, h)| {
            !always_kept(h.name) && !re.is_some_and(|re| re.is_match(&buf[h.name_span().range()]))
        })
        .map(|(i, _)| i)
        .collect();
    ctx.headers.extend(gone.into_iter().map(HeaderOp::Remove));
    -1
}

/// `fnmatch(value, pattern)`: the value matches the shell pattern (libc's
/// `fnmatch`, no flags).
pub fn fnmatch(_ctx: &Ctx<'_>, value: &[u8], pattern: &[u8]) -> i32 {
    glob(value, pattern, 0)
}

/// `fnmatch(value, pattern, flags)`: as `fnmatch(value, pattern)`.
/// Kamailio's `i` flag asks for `FNM_CASEFOLD` only where its build
/// defines it; 5.6.3 as packaged (textopsx compiled without
/// `_GNU_SOURCE`) does not, so the flags change nothing.
pub fn fnmatch_flags(_ctx: &Ctx<'_>, value: &[u8], pattern: &[u8], _flags: &[u8]) -> i32 {
    glob(value, pattern, 0)
}

fn glob(value: &[u8], pattern: &[u8], flags: libc::c_int) -> i32 {
    // C sees both up to their first NUL.
    let cut = |b: &[u8]| {
        let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
        std::ffi::CString::new(&b[..end]).unwrap_or_default()
    };
    let (v, p) = (cut(value), cut(pattern));
    // SAFETY: both are NUL-terminated C strings that live across the call;
    // fnmatch only reads them.
    let r = unsafe { libc::fnmatch(p.as_ptr(), v.as_ptr(), flags) };
    if r == 0 { 1 } else { -1 }
}

/// `change_reply_status(code, reason)` (reply routes): the status code
/// rewritten in the reply itself, so that tm decides on the new one (and
/// `$rs` reads it), as Kamailio writes the digits into the received
/// buffer; the reason phrase replaced as an edit (a second change adds its
/// reason after the first one's, as Kamailio's lumps do). -1 for an empty reason,
/// a code outside 100..699, or a change of class of a provisional or
/// positive final reply (either side below 300).
pub fn change_reply_status(ctx: &mut Ctx<'_>, code: i32, reason: &[u8]) -> i32 {
    if reason.is_empty() {
        crate::engine::log::error(ctx, "invalid reason parameter");
        return -1;
    }
    change_status(ctx, code, Some(reason))
}

/// `change_reply_status_code(code)`: the status code alone, with the same
/// checks (the reason phrase kept).
pub fn change_reply_status_code(ctx: &mut Ctx<'_>, code: i32) -> i32 {
    change_status(ctx, code, None)
}

fn change_status(ctx: &mut Ctx<'_>, code: i32, reason: Option<&[u8]>) -> i32 {
    if !(100..=699).contains(&code) {
        crate::engine::log::error(ctx, "wrong status code");
        return -1;
    }
    let msg = ctx.msg;
    let (Some(cur), Some(old_reason)) = (msg.status(), msg.reason()) else {
        return -1;
    };
    let cur = i32::from(cur);
    if (code < 300 || cur < 300) && code / 100 != cur / 100 {
        crate::engine::log::error(
            ctx,
            "the class of provisional or positive final replies cannot be changed",
        );
        return -1;
    }
    let Some(store) = ctx.rebuilt else {
        crate::engine::log::error(ctx, "change_reply_status(): not in a reply route");
        return -1;
    };
    let buf = msg.buffer();
    let line = msg.start_line_span().range();
    // The three digits after the version and its blanks.
    let Some(at) = buf[line.clone()]
        .iter()
        .position(|&c| c == b' ')
        .and_then(|sp| {
            buf[line.start + sp..line.end]
                .iter()
                .position(u8::is_ascii_digit)
                .map(|d| line.start + sp + d)
        })
        .filter(|&at| at + 3 <= line.end)
    else {
        return -1;
    };
    let Some(reason_at) = msg.offset_of(old_reason) else {
        return -1;
    };
    let mut data = buf.to_vec();
    let digits = format!("{code:03}");
    data[at..at + 3].copy_from_slice(digits.as_bytes());
    // Same length: every pending edit keeps its offsets.
    let Some(new) = store.keep(data) else {
        return -1;
    };
    ctx.msg = new;
    ctx.tm.reply_code = u16::try_from(code).unwrap_or(0);
    let Some(reason) = reason else {
        return 1;
    };
    let end = reason_at + old_reason.len();
    // A second change: Kamailio skips its deletion (overlapping the
    // first) but still inserts its reason, after the first one.
    for op in &mut ctx.headers {
        if let HeaderOp::Replace {
            start,
            end: e,
            data,
        } = op
            && *start == reason_at
            && *e == end
        {
            data.extend_from_slice(reason);
            return 1;
        }
    }
    ctx.headers.push(HeaderOp::Replace {
        start: reason_at,
        end,
        data: reason.to_vec(),
    });
    1
}

// ---- iterators -------------------------------------------------------------

use std::cell::RefCell;

/// Kamailio's limits: 4 iterators of each kind per process, names
/// shorter than 32 bytes.
const ITERATORS: usize = 4;
const ITERATOR_NAME: usize = 32;

/// A header iterator: the current header and the one before it, by
/// their index in the message.
#[derive(Clone, Copy, Debug, Default)]
struct HfIt {
    it: Option<usize>,
    prev: Option<usize>,
    eoh: bool,
}

/// A body-line iterator: the current line (offset in the received
/// buffer, length with its LF).
#[derive(Clone, Copy, Debug, Default)]
struct BlIt {
    body: Option<(usize, usize)>,
    it: Option<(usize, usize)>,
    eob: bool,
}

thread_local! {
    /// The worker's iterators, by name: Kamailio keeps them per process,
    /// from one message to the next.
    static HF_ITS: RefCell<Vec<(Vec<u8>, HfIt)>> = const { RefCell::new(Vec::new()) };
    static BL_ITS: RefCell<Vec<(Vec<u8>, BlIt)>> = const { RefCell::new(Vec::new()) };
}

/// The slot of iterator `name` in `list`, made if needed (`None` when
/// all are taken or the name is too long; an empty name is never kept).
fn slot<T: Default>(list: &mut Vec<(Vec<u8>, T)>, name: &[u8]) -> Result<Option<usize>, ()> {
    if let Some(k) = list.iter().position(|(n, _)| n == name) {
        return Ok(Some(k));
    }
    if list.len() >= ITERATORS || name.len() >= ITERATOR_NAME {
        return Err(());
    }
    if name.is_empty() {
        return Ok(None);
    }
    list.push((name.to_vec(), T::default()));
    Ok(Some(list.len() - 1))
}

fn with_hf<R>(name: &[u8], f: impl FnOnce(&mut HfIt) -> R) -> Option<R> {
    HF_ITS.with(|l| {
        let mut l = l.borrow_mut();
        l.iter_mut().find(|(n, _)| n == name).map(|(_, it)| f(it))
    })
}

fn with_bl<R>(name: &[u8], f: impl FnOnce(&mut BlIt) -> R) -> Option<R> {
    BL_ITS.with(|l| {
        let mut l = l.borrow_mut();
        l.iter_mut().find(|(n, _)| n == name).map(|(_, it)| f(it))
    })
}

/// `hf_iterator_start(name)`: the iterator before the first header.
pub fn hf_iterator_start(ctx: &mut Ctx<'_>, name: &[u8]) -> i32 {
    let ok = HF_ITS.with(|l| {
        let mut l = l.borrow_mut();
        match slot(&mut l, name) {
            Ok(Some(k)) => {
                l[k].1 = HfIt::default();
                true
            }
            Ok(None) => true,
            Err(()) => false,
        }
    });
    if !ok {
        crate::engine::log::error(ctx, "no iterator available");
        return -1;
    }
    if ctx.msg.headers().is_empty() { -1 } else { 1 }
}

/// `hf_iterator_next(name)`: on to the next header; -1 past the last.
pub fn hf_iterator_next(ctx: &mut Ctx<'_>, name: &[u8]) -> i32 {
    let n = ctx.msg.headers().len();
    with_hf(name, |h| {
        if h.eoh {
            return -1;
        }
        let next = match h.it {
            None => 0,
            Some(i) => {
                h.prev = Some(i);
                i + 1
            }
        };
        if next >= n {
            h.it = None;
            h.eoh = true;
            return -1;
        }
        h.it = Some(next);
        1
    })
    .unwrap_or(-1)
}

/// `hf_iterator_prev(name)`: back to the header before (Kamailio's walk:
/// from the start again when it has no header two before).
pub fn hf_iterator_prev(ctx: &mut Ctx<'_>, name: &[u8]) -> i32 {
    let n = ctx.msg.headers().len();
    let restart = with_hf(name, |h| {
        if h.eoh {
            return Some(-1);
        }
        let prev = h.prev?;
        if h.it != Some(prev) {
            h.it = Some(prev);
            return Some(1);
        }
        match prev {
            i if i >= 2 => {
                h.it = Some(i - 1);
                h.prev = Some(i - 2);
                Some(1)
            }
            1 if n == 2 => {
                h.it = Some(0);
                h.prev = None;
                Some(1)
            }
            _ => None,
        }
    });
    match restart {
        None => -1,
        Some(Some(rc)) => rc,
        Some(None) => hf_iterator_start(ctx, name),
    }
}

/// `hf_iterator_end(name)`: the iterator on no header.
pub fn hf_iterator_end(_ctx: &mut Ctx<'_>, name: &[u8]) -> i32 {
    with_hf(name, |h| {
        h.it = None;
        h.eoh = false;
        1
    })
    .unwrap_or(-1)
}

/// The current header of iterator `name`.
fn hf_current<'m>(ctx: &Ctx<'m>, name: &[u8]) -> Option<&'m crate::sip::HeaderEntry> {
    let i = with_hf(name, |h| h.it).flatten()?;
    ctx.msg.headers().get(i)
}

/// `hf_iterator_rm(name)`: removes the current header.
pub fn hf_iterator_rm(ctx: &mut Ctx<'_>, name: &[u8]) -> i32 {
    let Some(i) = with_hf(name, |h| h.it).flatten() else {
        return -1;
    };
    if i >= ctx.msg.headers().len() {
        return -1;
    }
    ctx.headers.push(HeaderOp::Remove(i));
    1
}

fn insert_at(ctx: &mut Ctx<'_>, at: usize, text: &[u8]) -> i32 {
    ctx.headers.push(HeaderOp::Replace {
        start: at,
        end: at,
        data: text.to_vec(),
    });
    1
}

/// `hf_iterator_append(name, text)`: `text` after the current header.
pub fn hf_iterator_append(ctx: &mut Ctx<'_>, name: &[u8], text: &[u8]) -> i32 {
    match hf_current(ctx, name) {
        Some(h) => insert_at(ctx, h.line().end as usize, text),
        None => -1,
    }
}

/// `hf_iterator_insert(name, text)`: `text` before the current header.
pub fn hf_iterator_insert(ctx: &mut Ctx<'_>, name: &[u8], text: &[u8]) -> i32 {
    match hf_current(ctx, name) {
        Some(h) => insert_at(ctx, h.line().start as usize, text),
        None => -1,
    }
}

/// `bl_iterator_start(name)`: the iterator before the first body line.
pub fn bl_iterator_start(ctx: &mut Ctx<'_>, name: &[u8]) -> i32 {
    let span = ctx.msg.body_span();
    let body = (span.start as usize, ctx.msg.body().len());
    let ok = BL_ITS.with(|l| {
        let mut l = l.borrow_mut();
        match slot(&mut l, name) {
            Ok(Some(k)) => {
                l[k].1 = BlIt {
                    body: Some(body),
                    it: None,
                    eob: false,
                };
                true
            }
            Ok(None) => true,
            Err(()) => false,
        }
    });
    if ok { 1 } else { -1 }
}

/// `bl_iterator_next(name)`: on to the next line (with its LF); -1 past
/// the last.
pub fn bl_iterator_next(ctx: &mut Ctx<'_>, name: &[u8]) -> i32 {
    let buf = ctx.msg.buffer();
    with_bl(name, |b| {
        if b.eob {
            return -1;
        }
        let Some((start, len)) = b.body else {
            return -1;
        };
        let end = (start + len).min(buf.len());
        let at = b.it.map_or(start, |(s, l)| s + l);
        if at >= end {
            b.it = None;
            b.eob = true;
            return -1;
        }
        let line_end = buf[at..end]
            .iter()
            .position(|&c| c == b'\n')
            .map_or(end, |p| at + p + 1);
        b.it = Some((at, line_end - at));
        1
    })
    .unwrap_or(-1)
}

/// `bl_iterator_end(name)`.
pub fn bl_iterator_end(_ctx: &mut Ctx<'_>, name: &[u8]) -> i32 {
    with_bl(name, |b| {
        *b = BlIt::default();
        1
    })
    .unwrap_or(-1)
}

fn bl_current(name: &[u8]) -> Option<(usize, usize)> {
    with_bl(name, |b| b.it).flatten().filter(|&(_, l)| l > 0)
}

/// `bl_iterator_rm(name)`: removes the current line.
pub fn bl_iterator_rm(ctx: &mut Ctx<'_>, name: &[u8]) -> i32 {
    match bl_current(name) {
        Some((s, l)) => {
            ctx.headers.push(HeaderOp::Replace {
                start: s,
                end: s + l,
                data: Vec::new(),
            });
            1
        }
        None => -1,
    }
}

/// `bl_iterator_append(name, text)`: `text` after the current line.
pub fn bl_iterator_append(ctx: &mut Ctx<'_>, name: &[u8], text: &[u8]) -> i32 {
    match bl_current(name) {
        Some((s, l)) => insert_at(ctx, s + l, text),
        None => -1,
    }
}

/// `bl_iterator_insert(name, text)`: `text` before the current line.
pub fn bl_iterator_insert(ctx: &mut Ctx<'_>, name: &[u8], text: &[u8]) -> i32 {
    match bl_current(name) {
        Some((s, _)) => insert_at(ctx, s, text),
        None => -1,
    }
}

/// `$hfitname(it)`, `$hfitbody(it)`, `$blitval(it)`: `$null` when the
/// iterator is on nothing.
pub fn iter_pv<'c>(ctx: &'c Ctx<'_>, kind: cfgc_vocab::IterKind, name: &str) -> Value<'c> {
    use cfgc_vocab::IterKind;
    let buf = ctx.msg.buffer();
    let name = name.as_bytes();
    match kind {
        IterKind::HfName => {
            hf_current(ctx, name).map_or(Value::Null, |h| Value::str(&buf[h.name_span().range()]))
        }
        IterKind::HfBody => {
            hf_current(ctx, name).map_or(Value::Null, |h| Value::str(&buf[h.value().range()]))
        }
        IterKind::BlVal => bl_current(name)
            .and_then(|(s, l)| buf.get(s..s + l))
            .map_or(Value::Null, Value::str),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::ctx::{Rebuilt, WorkerState};
    use crate::modules::testutil::{core, forwarded, msg, rcv};
    use crate::modules::textops;
    use crate::sip::Message;

    fn options() -> Vec<u8> {
        msg(&[
            "OPTIONS sip:bob@127.0.0.1 SIP/2.0",
            "Via: SIP/2.0/UDP 127.0.0.1:5080;branch=z9hG4bK-1",
            "From: <sip:alice@127.0.0.1>;tag=1",
            "To: <sip:bob@127.0.0.1>",
            "Call-ID: c1",
            "CSeq: 1 OPTIONS",
            "X-Old: o",
            "Content-Length: 0",
        ])
    }

    #[test]
    fn applied_changes_are_seen_and_edited_again() {
        let raw = options();
        let m = Message::parse(&raw).expect("parses");
        let (core, rcv) = (core(), rcv());
        let mut worker = WorkerState::default();
        let mut out = Vec::new();
        let store = Rebuilt::default();
        let mut ctx = Ctx::new(&m, &rcv, &core, &mut worker, &mut out);
        let re = |s: &str| Regex::new(s).expect("re");
        // Without a store (a failure route): Kamailio's invalid usage.
        assert_eq!(msg_apply_changes(&mut ctx), -1);
        ctx.rebuilt = Some(&store);
        assert_eq!(textops::append_hf(&mut ctx, b"X-New: 1\r\n"), 1);
        assert_eq!(textops::remove_hf(&mut ctx, b"X-Old"), 1);
        ctx.new_uri = Some(b"sip:carol@127.0.0.1".to_vec());
        assert_eq!(textops::search(&ctx, &re("(?im)X-New")), -1);
        assert_eq!(msg_apply_changes(&mut ctx), 1);
        assert!(ctx.headers.is_empty() && ctx.new_uri.is_none());
        assert_eq!(textops::search(&ctx, &re("(?im)X-New")), 1);
        assert_eq!(textops::search(&ctx, &re("(?im)^OPTIONS sip:carol@")), 1);
        assert_eq!(textops::is_present_hf(&ctx, b"X-Old"), -1);
        // Edited again, and applied again.
        assert_eq!(textops::remove_hf(&mut ctx, b"X-New"), 1);
        assert_eq!(msg_apply_changes(&mut ctx), 1);
        assert_eq!(textops::is_present_hf(&ctx, b"X-New"), -1);
        let sent = String::from_utf8(forwarded(&mut ctx)).expect("utf8");
        assert!(
            sent.starts_with("OPTIONS sip:carol@127.0.0.1 SIP/2.0\r\n"),
            "{sent}"
        );
        assert!(!sent.contains("X-New") && !sent.contains("X-Old"), "{sent}");
    }

    #[test]
    fn reply_status_classes() {
        let raw = msg(&[
            "SIP/2.0 486 Busy Here",
            "Via: SIP/2.0/UDP 127.0.0.1:5080;branch=z9hG4bK-1",
            "From: <sip:alice@127.0.0.1>;tag=1",
            "To: <sip:bob@127.0.0.1>;tag=2",
            "Call-ID: c1",
            "CSeq: 1 OPTIONS",
            "Content-Length: 0",
        ]);
        let m = Message::parse(&raw).expect("parses");
        let (core, rcv) = (core(), rcv());
        let mut worker = WorkerState::default();
        let mut out = Vec::new();
        let store = Rebuilt::default();
        let mut ctx = Ctx::new(&m, &rcv, &core, &mut worker, &mut out);
        ctx.rebuilt = Some(&store);
        assert_eq!(change_reply_status(&mut ctx, 200, b"OK"), -1);
        assert_eq!(change_reply_status(&mut ctx, 700, b"X"), -1);
        assert_eq!(change_reply_status(&mut ctx, 480, b""), -1);
        assert_eq!(change_reply_status(&mut ctx, 603, b"Decline"), 1);
        assert_eq!(ctx.msg.status(), Some(603));
        assert_eq!(change_reply_status_code(&mut ctx, 600), 1);
        assert_eq!(ctx.msg.status(), Some(600));
        assert_eq!(ctx.msg.reason(), Some(&b"Busy Here"[..]));
    }

    #[test]
    fn fnmatch_is_libc_s() {
        let raw = options();
        crate::modules::testutil::run(&raw, |ctx| {
            assert_eq!(fnmatch(ctx, b"abc.txt", b"*.txt"), 1);
            assert_eq!(fnmatch(ctx, b"abc", b"[!a]*"), -1);
            assert_eq!(fnmatch_flags(ctx, b"ABC", b"a*", b"i"), -1);
        });
    }
}
