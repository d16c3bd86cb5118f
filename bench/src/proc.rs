//! What a proxy costs, read from `/proc`: CPU time (utime + stime) and
//! memory (proportional set size) of a process and all its descendants and
//! threads. Kamailio forks workers that share memory, so memory is summed
//! as PSS (each shared page counted once overall).

use std::collections::HashSet;

/// Clock ticks per second (`sysconf(_SC_CLK_TCK)`).
pub(crate) fn clock_ticks() -> u64 {
    // SAFETY: sysconf has no preconditions.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    u64::try_from(t).ok().filter(|t| *t > 0).unwrap_or(100)
}

/// `pid` and every descendant process.
pub(crate) fn tree(pid: u32) -> Vec<u32> {
    let mut out = vec![pid];
    let mut seen: HashSet<u32> = out.iter().copied().collect();
    let mut i = 0;
    while i < out.len() {
        let p = out[i];
        // Children of every thread of `p`.
        if let Ok(tasks) = std::fs::read_dir(format!("/proc/{p}/task")) {
            for t in tasks.flatten() {
                let path = t.path().join("children");
                if let Ok(s) = std::fs::read_to_string(path) {
                    for c in s.split_whitespace().filter_map(|c| c.parse().ok()) {
                        if seen.insert(c) {
                            out.push(c);
                        }
                    }
                }
            }
        }
        i += 1;
    }
    out
}

/// utime + stime of a process (all its threads), in clock ticks.
fn cpu_of(pid: u32) -> u64 {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return 0;
    };
    // Fields after the command name, which is in parentheses.
    let Some(rest) = stat.rfind(')').map(|i| &stat[i + 1..]) else {
        return 0;
    };
    let f: Vec<&str> = rest.split_whitespace().collect();
    // utime, stime are fields 14 and 15 of the whole line: 11 and 12 here.
    let get = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    get(11) + get(12)
}

/// CPU ticks used so far by `pid`'s process tree.
pub(crate) fn cpu_ticks(pid: u32) -> u64 {
    tree(pid).into_iter().map(cpu_of).sum()
}

/// Proportional set size of `pid`'s process tree, in KiB.
pub(crate) fn pss_kib(pid: u32) -> u64 {
    tree(pid)
        .into_iter()
        .filter_map(|p| std::fs::read_to_string(format!("/proc/{p}/smaps_rollup")).ok())
        .filter_map(|s| {
            s.lines()
                .find(|l| l.starts_with("Pss:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<u64>().ok())
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_this_process() {
        let me = std::process::id();
        assert!(tree(me).contains(&me));
        // Burn a little CPU so the counter moves.
        let start = cpu_ticks(me);
        let t0 = std::time::Instant::now();
        let mut x = 0u64;
        while t0.elapsed() < std::time::Duration::from_millis(100) {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
        }
        assert!(x != 1);
        assert!(cpu_ticks(me) > start, "CPU ticks did not move");
        assert!(pss_kib(me) > 0);
        assert!(clock_ticks() >= 100);
    }
}
