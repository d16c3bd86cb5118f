//! Counts heap allocations with a counting global allocator (this file is
//! its own test binary) to prove the lazy parse and the proxy's typed reads
//! of a ~950 B INVITE allocate nothing.

// The package is `cfgc-runtime`; this crate calls it `runtime`, as the
// workspace's other crates do (a Cargo rename).
extern crate cfgc_runtime as runtime;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use runtime::sip::Message;

struct Counting;

thread_local! {
    static ALLOCS: Cell<usize> = const { Cell::new(0) };
}

// SAFETY: delegates every call to `System`; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCS.try_with(|c| c.set(c.get() + 1));
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let _ = ALLOCS.try_with(|c| c.set(c.get() + 1));
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Allocations made on this thread while running `f`.
fn count<R>(f: impl FnOnce() -> R) -> (usize, R) {
    let before = ALLOCS.with(Cell::get);
    let r = f();
    (ALLOCS.with(Cell::get) - before, r)
}

const INVITE: &[u8] = include_bytes!("data/invite.sip");
const REGISTER: &[u8] = include_bytes!("data/register.sip");

#[test]
fn counter_sees_allocations() {
    let (n, v) = count(|| vec![1u8; 100]);
    assert_eq!(v.len(), 100);
    assert!(n >= 1);
}

#[test]
fn lazy_parse_allocates_nothing() {
    assert!((900..=1000).contains(&INVITE.len()));
    let (n, m) = count(|| Message::parse(std::hint::black_box(INVITE)));
    assert_eq!(n, 0, "Message::parse allocated");
    assert_eq!(m.unwrap().headers().len(), 15);
}

#[test]
fn proxy_fields_allocate_nothing() {
    let (n, fields) = count(|| {
        let m = Message::parse(std::hint::black_box(INVITE)).unwrap();
        let ruri = m.ruri().unwrap();
        let via = m.via_top().unwrap();
        let from = m.from().unwrap();
        let to = m.to().unwrap();
        let cseq = m.cseq().unwrap();
        (
            ruri.user.map(<[u8]>::len),
            ruri.host.len(),
            via.branch.map(<[u8]>::len),
            from.tag.map(<[u8]>::len),
            to.tag,
            m.call_id().unwrap().len(),
            cseq.seq,
            m.max_forwards().unwrap(),
            m.routes()
                .next()
                .unwrap()
                .unwrap()
                .uri()
                .unwrap()
                .host
                .len(),
            m.record_routes().count(),
            m.vias().count(),
            m.content_type().unwrap().is_some(),
        )
    });
    assert_eq!(n, 0, "typed reads allocated");
    assert_eq!(fields.0, Some(3));
    assert_eq!(fields.2, Some(16));
    assert_eq!(fields.4, None);
    assert_eq!(fields.6, 314_159);
    assert_eq!(fields.7, Some(70));
    assert_eq!(fields.10, 2);
}

#[test]
fn register_auth_allocates_nothing() {
    let (n, user) = count(|| {
        let m = Message::parse(std::hint::black_box(REGISTER)).unwrap();
        let c = m.authorization().unwrap().unwrap();
        let e = m.contacts().next().unwrap().unwrap().expires();
        (
            c.param(b"username").map(<[u8]>::len),
            e,
            m.expires().unwrap(),
        )
    });
    assert_eq!(n, 0);
    assert_eq!(user, (Some(3), Some(7200), Some(7200)));
}

#[test]
fn reply_into_reused_buffer_allocates_nothing() {
    use runtime::sip::reply::{ReplyOpts, build_into};
    let m = Message::parse(INVITE).unwrap();
    let mut buf = Vec::with_capacity(4096);
    let opts = ReplyOpts {
        to_tag: Some(b"abc"),
        ..ReplyOpts::default()
    };
    build_into(&m, 407, b"Proxy Authentication Required", &opts, &mut buf).unwrap();
    buf.clear();
    let (n, ()) =
        count(|| build_into(&m, 407, b"Proxy Authentication Required", &opts, &mut buf).unwrap());
    assert_eq!(n, 0);
    assert!(buf.starts_with(b"SIP/2.0 407 "));
    // With a computed stateless To-tag too.
    buf.clear();
    let computed = ReplyOpts::default();
    let (n, ()) = count(|| build_into(&m, 486, b"Busy Here", &computed, &mut buf).unwrap());
    assert_eq!(n, 0);
    let r = Message::parse(&buf).unwrap();
    assert_eq!(r.to().unwrap().tag.map(<[u8]>::len), Some(41));
}

#[test]
fn errors_allocate_nothing() {
    let mut bad = INVITE.to_vec();
    bad.truncate(600);
    let (n, r) =
        count(|| Message::parse(std::hint::black_box(&bad[..])).map(|m| m.headers().len()));
    assert_eq!(n, 0);
    assert!(r.is_err());
}
