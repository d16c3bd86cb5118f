//! kex — the core extensions the stock configs use: the destination URI
//! and branch flags (kamailio-modules.md §15). Branch 0 is the R-URI
//! (`Ctx::bflags`); branch `i > 0` is `Ctx::branches[i - 1]`, as in
//! Kamailio's dset.c.

use crate::engine::Ctx;

/// `setdsturi(uri)`: sets `$du` (not validated, as Kamailio). 1.
pub fn setdsturi(ctx: &mut Ctx<'_>, uri: &[u8]) -> i32 {
    ctx.dst_uri = Some(uri.to_vec());
    1
}

/// `resetdsturi()`: clears `$du`. 1.
pub fn resetdsturi(ctx: &mut Ctx<'_>) -> i32 {
    ctx.dst_uri = None;
    1
}

/// `isdsturiset()`: 1 if `$du` is set and not empty, else -1.
pub fn isdsturiset(ctx: &Ctx<'_>) -> i32 {
    if ctx.dst_uri.as_deref().is_some_and(|d| !d.is_empty()) {
        1
    } else {
        -1
    }
}

/// The flags of branch `idx`, if it exists; `None` for a flag outside
/// 0..31 or a negative index (the function then returns -1).
fn flags<'c>(ctx: &'c mut Ctx<'_>, flag: i32, idx: i32) -> Option<(&'c mut u32, u32)> {
    if !(0..=31).contains(&flag) || idx < 0 {
        return None;
    }
    let bit = 1u32 << flag;
    let f = match idx {
        0 => &mut ctx.bflags,
        i => &mut ctx.branches.get_mut(i as usize - 1)?.flags,
    };
    Some((f, bit))
}

/// `setbflag(flag)`: sets a flag of branch 0. 1, or -1.
pub fn setbflag(ctx: &mut Ctx<'_>, flag: i32) -> i32 {
    setbflag_at(ctx, flag, 0)
}

/// `setbflag(flag, branch)`
pub fn setbflag_at(ctx: &mut Ctx<'_>, flag: i32, idx: i32) -> i32 {
    match flags(ctx, flag, idx) {
        Some((f, bit)) => {
            *f |= bit;
            1
        }
        None => -1,
    }
}

/// `resetbflag(flag)`
pub fn resetbflag(ctx: &mut Ctx<'_>, flag: i32) -> i32 {
    resetbflag_at(ctx, flag, 0)
}

/// `resetbflag(flag, branch)`
pub fn resetbflag_at(ctx: &mut Ctx<'_>, flag: i32, idx: i32) -> i32 {
    match flags(ctx, flag, idx) {
        Some((f, bit)) => {
            *f &= !bit;
            1
        }
        None => -1,
    }
}

/// `isbflagset(flag)`: 1 if set, else -1.
pub fn isbflagset(ctx: &mut Ctx<'_>, flag: i32) -> i32 {
    isbflagset_at(ctx, flag, 0)
}

/// `isbflagset(flag, branch)`
pub fn isbflagset_at(ctx: &mut Ctx<'_>, flag: i32, idx: i32) -> i32 {
    match flags(ctx, flag, idx) {
        Some((f, bit)) if *f & bit != 0 => 1,
        _ => -1,
    }
}

pub mod stats;
