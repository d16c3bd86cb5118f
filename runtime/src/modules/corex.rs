//! corex — `append_branch` (kamailio-modules.md §14).

use crate::engine::{Branch, Ctx};

/// Kamailio's `sr_dst_max_branches` (12): the R-URI and 11 more.
pub const MAX_BRANCHES: usize = 12;

/// Kamailio's `str2q`: `0`, `1`, `0.x`, `1.0`, with up to three decimals,
/// in thousandths.
pub fn str2q(s: &[u8]) -> Option<i32> {
    let s = s.trim_ascii();
    let (int, frac) = match s.iter().position(|&b| b == b'.') {
        Some(d) => (&s[..d], &s[d + 1..]),
        None => (s, &b""[..]),
    };
    if frac.len() > 3 || !frac.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let mut q = 0;
    for (i, &d) in frac.iter().enumerate() {
        q += i32::from(d - b'0') * [100, 10, 1][i];
    }
    match int {
        b"0" | b"" if !frac.is_empty() || int == b"0" => Some(q),
        b"1" if q == 0 => Some(1000),
        _ => None,
    }
}

/// `append_branch()`: moves the R-URI with its `$du`, path and branch
/// flags into a new branch, then clears them (the R-URI stays). 1, or -1
/// when the destination set is full.
pub fn append_branch(ctx: &mut Ctx<'_>) -> i32 {
    let r = push(ctx, None, -1);
    if r > 0 {
        ctx.dst_uri = None;
        ctx.path = None;
        ctx.bflags = 0;
    }
    r
}

/// `append_branch(uri)`: a new branch with this URI and the current `$du`,
/// path and branch flags (an empty `uri` is `append_branch()`).
pub fn append_branch_uri(ctx: &mut Ctx<'_>, uri: &[u8]) -> i32 {
    append_branch_uri_q(ctx, uri, b"")
}

/// `append_branch(uri, q)`; a `q` that is not a q-value gives -1.
pub fn append_branch_uri_q(ctx: &mut Ctx<'_>, uri: &[u8], q: &[u8]) -> i32 {
    let q = if q.is_empty() {
        -1
    } else {
        match str2q(q) {
            Some(q) => q,
            None => return -1,
        }
    };
    if uri.is_empty() {
        let r = push(ctx, None, q);
        if r > 0 {
            ctx.dst_uri = None;
            ctx.path = None;
            ctx.bflags = 0;
        }
        return r;
    }
    push(ctx, Some(uri), q)
}

fn push(ctx: &mut Ctx<'_>, uri: Option<&[u8]>, q: i32) -> i32 {
    if ctx.branches.len() + 1 >= MAX_BRANCHES {
        return -1;
    }
    let uri = match uri {
        Some(u) => u.to_vec(),
        None if ctx.msg.is_request() => ctx.ruri().to_vec(),
        None => return -1,
    };
    ctx.branches.push(Branch {
        uri,
        dst_uri: ctx.dst_uri.clone(),
        path: ctx.path.clone(),
        q,
        flags: ctx.bflags,
        socket: None,
    });
    1
}

/// `is_faked_msg()`: 1 on the faked message event routes and timer routes
/// run on (`engine::events`: received on no socket), -1 on a real one.
pub fn is_faked_msg(ctx: &Ctx<'_>) -> i32 {
    if ctx.rcv.local.port() == 0 { 1 } else { -1 }
}
