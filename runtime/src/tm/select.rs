//! Best final reply selection (kamailio-modules.md §2.5, RFC 3261 §16.7
//! with Kamailio's preferences).

/// Priority of a final reply code: lower wins. 6xx before 3xx before 4xx
/// before 5xx, codes of 700 and more last; within 4xx, 401, 407, 415, 420
/// and 484 rank before every other 4xx; otherwise the lower code wins.
/// (2xx never compete: they are relayed at once.)
pub fn priority(code: u16) -> u32 {
    let class = code / 100;
    let xx = u32::from(code % 100);
    match class {
        0 => 32_000 + xx,
        1 => 11_000 + xx,
        2 => xx,
        3 => 3_000 + xx,
        4 => {
            4_000
                + match xx {
                    1 | 7 | 15 | 20 | 84 => xx,
                    _ => 100 + xx,
                }
        }
        5 => 5_000 + xx,
        6 => 1_000 + xx,
        _ => 10_000 + u32::from(code),
    }
}

/// The index of the best final reply among `codes` (`None` for a branch
/// without a final reply, which is skipped); the first one wins a tie.
pub fn pick(codes: impl IntoIterator<Item = Option<u16>>) -> Option<usize> {
    let mut best: Option<(usize, u32)> = None;
    for (i, c) in codes.into_iter().enumerate() {
        let Some(c) = c.filter(|&c| c >= 200) else {
            continue;
        };
        let p = priority(c);
        if best.is_none_or(|(_, bp)| p < bp) {
            best = Some((i, p));
        }
    }
    best.map(|(i, _)| i)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn best(codes: &[u16]) -> u16 {
        let i = pick(codes.iter().map(|&c| Some(c))).expect("a final");
        codes[i]
    }

    #[test]
    fn selection_table() {
        // 6xx beats everything negative.
        assert_eq!(best(&[486, 603]), 603);
        assert_eq!(best(&[302, 600, 404]), 600);
        // 3xx beats 4xx and 5xx.
        assert_eq!(best(&[404, 302, 500]), 302);
        // 4xx beats 5xx.
        assert_eq!(best(&[503, 480]), 480);
        // Preferred 4xx before other 4xx, whatever the code.
        assert_eq!(best(&[404, 407]), 407);
        assert_eq!(best(&[403, 484]), 484);
        assert_eq!(best(&[486, 415]), 415);
        assert_eq!(best(&[420, 401]), 401);
        // Otherwise the lower code.
        assert_eq!(best(&[486, 408]), 408);
        assert_eq!(best(&[503, 500]), 500);
        // >= 700 last.
        assert_eq!(best(&[701, 599]), 599);
        // Ties: the first branch.
        assert_eq!(pick([Some(486), Some(486)]), Some(0));
        // Branches without a final reply do not compete.
        assert_eq!(pick([None, Some(180), Some(404)]), Some(2));
        assert_eq!(pick([None, Some(180)]), None);
    }
}
