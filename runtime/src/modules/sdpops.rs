//! sdpops — SDP tests (Kamailio 5.6's sdpops): `sdp_content()`,
//! `sdp_with_media(type)`, `sdp_with_active_media(type)`,
//! `sdp_with_transport(proto)`, `sdp_with_transport_like(text)`,
//! `sdp_with_codecs_by_id(list)`, `sdp_with_ice()`,
//! `sdp_get_address_family()`, over the SDP parser of `sip::sdp` (one
//! session: a multipart body is not looked into, where Kamailio would
//! find its SDP part).
//!
//! Not here yet (refused at build): the functions that edit the SDP
//! (`sdp_remove_*`, `sdp_keep_*`), the codec tests by name, `sdp_get*`,
//! `sdp_transport`, `sdp_print`, `$sdp(...)`.

use crate::engine::Ctx;
use crate::sip::sdp::{NoSdp, Sdp};

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
    let active = |st: &crate::sip::sdp::Stream<'_>| {
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
