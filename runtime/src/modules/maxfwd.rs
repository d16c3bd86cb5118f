//! maxfwd — Max-Forwards processing (kamailio-modules.md §5).

use crate::engine::Ctx;
use crate::engine::ctx::HeaderOp;
use crate::sip::HeaderName;

/// `max_limit` default: an incoming value above it is lowered to
/// `max_limit + 1` before the decrement.
pub const DEFAULT_MAX_LIMIT: i32 = 70;

/// The module's parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Config {
    pub max_limit: i32,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            max_limit: DEFAULT_MAX_LIMIT,
        }
    }
}

impl Config {
    /// Reads `modparam("maxfwd", "max_limit", n)` (0..255, as Kamailio).
    ///
    /// # Errors
    /// A value that is not a number or out of range.
    pub fn from_params(
        p: &crate::engine::params::ModParams,
    ) -> Result<Self, crate::engine::params::ParamError> {
        let max_limit = p.int("maxfwd", "max_limit")?.unwrap_or(DEFAULT_MAX_LIMIT);
        if !(0..=255).contains(&max_limit) {
            return Err(crate::engine::params::ParamError::invalid(
                "maxfwd",
                "max_limit",
                format!("{max_limit} is not in 0..255"),
            ));
        }
        Ok(Self { max_limit })
    }
}

/// Where the Max-Forwards value is and what it currently says: Kamailio
/// rewrites the received buffer in place, so a second call sees the
/// decremented value; here the pending [`HeaderOp::Replace`] is that
/// rewritten field.
enum Present {
    Absent,
    Bad,
    Value {
        start: usize,
        end: usize,
        value: u32,
    },
}

fn present(ctx: &Ctx<'_>) -> Present {
    let msg = ctx.msg;
    let Some(h) = msg.header_entry(HeaderName::MaxForwards) else {
        return Present::Absent;
    };
    let raw = msg.slice(h.value());
    let trimmed = raw.trim_ascii();
    let start = msg.offset_of(trimmed).unwrap_or(h.value().start as usize);
    let end = start + trimmed.len();
    let text = ctx
        .headers
        .iter()
        .rev()
        .find_map(|op| match op {
            HeaderOp::Replace {
                start: s,
                end: e,
                data,
            } if *s == start && *e == end => Some(data.trim_ascii()),
            _ => None,
        })
        .unwrap_or(trimmed);
    // Kamailio's str2s: 1..5 decimal digits, at most 65535.
    if text.is_empty() || text.len() > 5 || !text.iter().all(u8::is_ascii_digit) {
        return Present::Bad;
    }
    let value = text.iter().fold(0u32, |n, d| n * 10 + u32::from(d - b'0'));
    if value > 65535 {
        return Present::Bad;
    }
    Present::Value { start, end, value }
}

/// `mf_process_maxfwd_header(n)` (aliases `maxfwd_process`,
/// `process_maxfwd`): 2 header absent, `Max-Forwards: n` inserted at the
/// top of the header block; 1 decremented in place (digits right-aligned
/// in the original width, spaces on the left: `10` → ` 9`), after lowering
/// a value above `max_limit` to `max_limit + 1`; -1 the value is 0 (the
/// script replies 483); -2 unparsable value or `n` outside 0..255.
pub fn mf_process_maxfwd_header(ctx: &mut Ctx<'_>, n: i32) -> i32 {
    let Ok(limit) = u8::try_from(n) else {
        return -1;
    };
    match present(ctx) {
        Present::Absent => {
            ctx.headers.push(HeaderOp::InsertFirst(
                b"Max-Forwards".to_vec(),
                limit.to_string().into_bytes(),
            ));
            2
        }
        Present::Bad => -2,
        Present::Value { value: 0, .. } => -1,
        Present::Value { start, end, value } => {
            let max_limit = u32::try_from(super::Modules::of(ctx).maxfwd.max_limit).unwrap_or(70);
            let value = if value > max_limit {
                max_limit + 1
            } else {
                value
            };
            let digits = (value - 1).to_string().into_bytes();
            let mut data = vec![b' '; (end - start).saturating_sub(digits.len())];
            data.extend_from_slice(&digits);
            ctx.headers.retain(
                |op| !matches!(op, HeaderOp::Replace { start: s, end: e, .. } if *s == start && *e == end),
            );
            ctx.headers.push(HeaderOp::Replace { start, end, data });
            1
        }
    }
}

/// `is_maxfwd_lt(n)` (aliases `maxfwd_at_least`, `mf_lowlimit`): 1 the
/// value is below `n`; -1 it is not (or `n` is outside 0..255); -2 no
/// header in the received message; -3 unparsable value.
pub fn is_maxfwd_lt(ctx: &Ctx<'_>, n: i32) -> i32 {
    if !(0..=255).contains(&n) {
        return -1;
    }
    match present(ctx) {
        Present::Absent => -2,
        Present::Bad => -3,
        Present::Value { value, .. } if value >= n.unsigned_abs() => -1,
        Present::Value { .. } => 1,
    }
}

impl crate::engine::module::Module for Config {
    const NAME: &'static str = "maxfwd";

    fn from_params(
        p: &crate::engine::params::ModParams,
    ) -> Result<Self, crate::engine::params::ParamError> {
        Config::from_params(p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::testutil::{forwarded, msg, run};

    fn req(mf: Option<&str>) -> Vec<u8> {
        let mut lines = vec![
            "MESSAGE sip:bob@127.0.0.1:5090 SIP/2.0",
            "Via: SIP/2.0/UDP 127.0.0.1:5080;branch=z9hG4bK-m1",
            "From: <sip:alice@127.0.0.1>;tag=a",
            "To: <sip:bob@127.0.0.1>",
            "Call-ID: m1@x",
            "CSeq: 1 MESSAGE",
        ];
        let h;
        if let Some(v) = mf {
            h = format!("Max-Forwards:{v}");
            lines.push(&h);
        }
        lines.push("Content-Length: 0");
        msg(&lines)
    }

    #[test]
    fn decrements_in_place_right_aligned() {
        let (out, _) = run(&req(Some(" 10")), |ctx| {
            assert_eq!(mf_process_maxfwd_header(ctx, 10), 1);
            forwarded(ctx)
        });
        let text = String::from_utf8(out).expect("utf8");
        assert!(text.contains("\r\nMax-Forwards:  9\r\n"), "{text}");
        let (out, _) = run(&req(Some(" 70")), |ctx| {
            assert_eq!(mf_process_maxfwd_header(ctx, 10), 1);
            forwarded(ctx)
        });
        assert!(
            String::from_utf8(out)
                .expect("utf8")
                .contains("\r\nMax-Forwards: 69\r\n")
        );
    }

    #[test]
    fn above_max_limit_is_lowered_first() {
        let (out, _) = run(&req(Some(" 200")), |ctx| {
            assert_eq!(mf_process_maxfwd_header(ctx, 10), 1);
            forwarded(ctx)
        });
        assert!(
            String::from_utf8(out)
                .expect("utf8")
                .contains("\r\nMax-Forwards:  70\r\n")
        );
    }

    #[test]
    fn absent_inserts_on_top_before_our_via() {
        let (out, _) = run(&req(None), |ctx| {
            assert_eq!(mf_process_maxfwd_header(ctx, 10), 2);
            assert_eq!(is_maxfwd_lt(ctx, 20), -2);
            forwarded(ctx)
        });
        let text = String::from_utf8(out).expect("utf8");
        assert!(
            text.starts_with(
                "MESSAGE sip:bob@127.0.0.1:5090 SIP/2.0\r\nMax-Forwards: 10\r\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch="
            ),
            "{text}"
        );
    }

    #[test]
    fn zero_and_garbage() {
        let (rc, _) = run(&req(Some(" 0")), |ctx| mf_process_maxfwd_header(ctx, 10));
        assert_eq!(rc, -1);
        let (rc, _) = run(&req(Some(" abc")), |ctx| {
            (mf_process_maxfwd_header(ctx, 10), is_maxfwd_lt(ctx, 5))
        });
        assert_eq!(rc, (-2, -3));
        let (rc, _) = run(&req(Some(" 5")), |ctx| mf_process_maxfwd_header(ctx, 256));
        assert_eq!(rc, -1);
    }

    #[test]
    fn second_call_sees_the_decrement() {
        let (rc, _) = run(&req(Some(" 2")), |ctx| {
            (
                mf_process_maxfwd_header(ctx, 10),
                is_maxfwd_lt(ctx, 2),
                mf_process_maxfwd_header(ctx, 10),
                mf_process_maxfwd_header(ctx, 10),
                forwarded(ctx),
            )
        });
        assert_eq!((rc.0, rc.1, rc.2, rc.3), (1, 1, 1, -1));
        assert!(
            String::from_utf8(rc.4)
                .expect("utf8")
                .contains("\r\nMax-Forwards: 0\r\n")
        );
    }

    #[test]
    fn lt() {
        let (rc, _) = run(&req(Some(" 5")), |ctx| {
            (is_maxfwd_lt(ctx, 6), is_maxfwd_lt(ctx, 5))
        });
        assert_eq!(rc, (1, -1));
    }
}
