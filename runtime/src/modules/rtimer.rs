//! rtimer — route blocks run on timers (Kamailio 5.6's rtimer module):
//! `modparam("rtimer", "timer", "name=ta;interval=10;mode=1;")` defines a
//! timer, `modparam("rtimer", "exec", "timer=ta;route=ONTIMER")` runs
//! `route[ONTIMER]` at each expiry, on Kamailio's faked message, as a
//! request route (the engine's events, `engine::events::raise_route`).
//!
//! As Kamailio: an interval is in seconds, or in microseconds when it ends
//! in `u` (then mode is at least 1); 0 takes the `default_interval` set
//! before the timer (120 s by default); a timer's first run is one
//! interval after start-up. Each `exec` is put in front of its timer's
//! list, so a timer runs its routes in the reverse order of the `exec`
//! lines. `mode` N > 0 is N timer processes in Kamailio, each running the
//! list at every interval: here the list runs N times in turn, with
//! `$rtimer_worker` 0..N-1 (mode 0, Kamailio's shared timer: once, 0).
//! A route that the cfg does not define runs nothing (Kamailio creates an
//! empty one); the compiler warns of it.

use std::cell::Cell as StdCell;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::engine::Ctx;
use crate::engine::module::Module;
use crate::engine::params::{ModParams, ParamError, ParamValue};
use crate::engine::value::Value;

const M: &str = "rtimer";

/// One timer.
#[derive(Debug)]
struct Timer {
    name: String,
    interval: Duration,
    /// Kamailio's `mode`: how many times the routes run per expiry.
    runs: u32,
    /// The routes, in the order they run.
    routes: Vec<String>,
}

/// The module: its timers and when each is due.
#[derive(Debug, Default)]
pub struct Rtimer {
    timers: Vec<Timer>,
    /// Next expiry of each timer (`None` until the first tick).
    due: Mutex<Vec<Option<Instant>>>,
}

/// The `name=value;...` of a `timer`/`exec` value (trailing `;`
/// allowed; names are case-insensitive).
fn attrs(v: &str) -> Vec<(String, String)> {
    v.trim()
        .trim_end_matches(';')
        .split(';')
        .filter(|p| !p.trim().is_empty())
        .map(|p| match p.split_once('=') {
            Some((n, v)) => (n.trim().to_ascii_lowercase(), v.trim().to_string()),
            None => (p.trim().to_ascii_lowercase(), String::new()),
        })
        .collect()
}

fn text(v: &ParamValue) -> String {
    match v {
        ParamValue::Int(n) => n.to_string(),
        ParamValue::Str(s) => s.clone(),
        ParamValue::PvList(_) => String::new(),
    }
}

impl Rtimer {
    /// Reads `default_interval`, `timer` and `exec`, in the cfg's order.
    ///
    /// # Errors
    /// What Kamailio refuses: a timer without a name or with a bad number,
    /// a timer defined twice, an `exec` naming no defined timer.
    pub fn from_params(p: &ModParams) -> Result<Self, ParamError> {
        let mut default_interval: u32 = 120;
        // Kamailio's list: newest timer first.
        let mut timers: Vec<Timer> = Vec::new();
        for (name, v) in p.in_order(M, &["default_interval", "timer", "exec"]) {
            match name {
                "default_interval" => {
                    default_interval = match v {
                        ParamValue::Int(n) => u32::try_from(*n).unwrap_or(0),
                        other => text(other)
                            .trim()
                            .parse()
                            .map_err(|_| ParamError::invalid(M, name, "not a number"))?,
                    };
                }
                "timer" => {
                    let (mut tname, mut mode, mut interval, mut usec) = (None, 0u32, 0u32, false);
                    for (n, val) in attrs(&text(v)) {
                        match n.as_str() {
                            "name" => tname = Some(val),
                            "mode" if mode == 0 => {
                                mode = val.parse().map_err(|_| {
                                    ParamError::invalid(M, name, format!("invalid mode: {val}"))
                                })?;
                            }
                            "interval" => {
                                let mut num = val.as_str();
                                if let Some(n) = num.strip_suffix(['u', 'U']) {
                                    num = n;
                                    usec = true;
                                    mode = mode.max(1);
                                }
                                interval = num.parse().map_err(|_| {
                                    ParamError::invalid(M, name, format!("invalid interval: {val}"))
                                })?;
                            }
                            _ => {}
                        }
                    }
                    let tname = tname
                        .filter(|n| !n.is_empty())
                        .ok_or_else(|| ParamError::invalid(M, name, "invalid timer name"))?;
                    if timers.iter().any(|t| t.name.eq_ignore_ascii_case(&tname)) {
                        return Err(ParamError::invalid(
                            M,
                            name,
                            format!("duplicate timer with same name: {tname}"),
                        ));
                    }
                    if interval == 0 {
                        interval = default_interval;
                    }
                    let interval = if usec {
                        Duration::from_micros(u64::from(interval))
                    } else {
                        Duration::from_secs(u64::from(interval))
                    };
                    timers.insert(
                        0,
                        Timer {
                            name: tname,
                            interval: interval.max(Duration::from_millis(1)),
                            runs: mode.max(1),
                            routes: Vec::new(),
                        },
                    );
                }
                _ => {
                    let (mut timer, mut route) = (None, String::new());
                    for (n, val) in attrs(&text(v)) {
                        match n.as_str() {
                            "timer" => timer = Some(val),
                            "route" => route = val,
                            _ => {}
                        }
                    }
                    let timer =
                        timer.ok_or_else(|| ParamError::invalid(M, name, "invalid timer name"))?;
                    let t = timers
                        .iter_mut()
                        .find(|t| t.name.eq_ignore_ascii_case(&timer))
                        .ok_or_else(|| {
                            ParamError::invalid(M, name, format!("timer not found - name: {timer}"))
                        })?;
                    t.routes.insert(0, route);
                }
            }
        }
        let n = timers.len();
        Ok(Self {
            timers,
            due: Mutex::new(vec![None; n]),
        })
    }

    /// The routes the timers run (the compiler checks they exist).
    pub fn routes(&self) -> impl Iterator<Item = &str> {
        self.timers
            .iter()
            .flat_map(|t| t.routes.iter().map(String::as_str))
    }
}

thread_local! {
    /// `$rtimer_worker` of the route running now.
    static WORKER: StdCell<i32> = const { StdCell::new(0) };
}

/// `$rtimer_worker`: which of a timer's `mode` runs this is (0 outside).
pub fn rtimer_worker<'c>(_ctx: &'c Ctx<'_>) -> Value<'c> {
    Value::Int(WORKER.with(StdCell::get))
}

impl Module for Rtimer {
    const NAME: &'static str = M;
    const PVS: &'static [crate::engine::module::PvExport] = &[crate::engine::module::PvExport {
        name: "rtimer_worker",
        read: rtimer_worker,
        write: None,
    }];

    fn from_params(params: &ModParams) -> Result<Self, ParamError> {
        Self::from_params(params)
    }

    fn tick(&self) -> Option<Duration> {
        self.timers.iter().map(|t| t.interval).min()
    }

    fn on_timer(&self, now: Instant, _out: &mut Vec<crate::transport::Transmit>) {
        let mut due = self.due.lock().unwrap_or_else(PoisonError::into_inner);
        for (t, due) in self.timers.iter().zip(due.iter_mut()) {
            let at = *due.get_or_insert(now + t.interval);
            if now < at {
                continue;
            }
            // Missed expiries are not made up, as a timer process that
            // overran.
            let mut next = at + t.interval;
            if next <= now {
                next = now + t.interval;
            }
            *due = Some(next);
            for w in 0..t.runs {
                for r in &t.routes {
                    let w = i32::try_from(w).unwrap_or(i32::MAX);
                    crate::engine::events::raise_route(
                        r.clone(),
                        Box::new(move |_ctx| WORKER.with(|c| c.set(w))),
                        Box::new(|| WORKER.with(|c| c.set(0))),
                    );
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(lines: &[(&str, &str)]) -> ModParams {
        let mut p = ModParams::new();
        for (n, v) in lines {
            p.push(M, n, ParamValue::Str((*v).to_string()));
        }
        p
    }

    #[test]
    fn timers_and_execs_as_kamailio_lists_them() {
        let r = Rtimer::from_params(&params(&[
            ("timer", "name=ta;interval=10;mode=1;"),
            ("default_interval", "7"),
            ("timer", "name=tb;mode=2"),
            ("timer", "name=tc;interval=100000u"),
            ("exec", "timer=ta;route=A"),
            ("exec", "timer=ta;route=B"),
            ("exec", "timer=TB;route=C"),
        ]))
        .unwrap();
        let got: Vec<_> = r
            .timers
            .iter()
            .map(|t| (t.name.as_str(), t.interval, t.runs, t.routes.clone()))
            .collect();
        assert_eq!(
            got,
            vec![
                ("tc", Duration::from_millis(100), 1, vec![]),
                ("tb", Duration::from_secs(7), 2, vec!["C".to_string()]),
                (
                    "ta",
                    Duration::from_secs(10),
                    1,
                    vec!["B".to_string(), "A".to_string()]
                ),
            ]
        );
        assert_eq!(r.routes().collect::<Vec<_>>(), ["C", "B", "A"]);
    }

    #[test]
    fn what_kamailio_refuses() {
        for bad in [
            vec![("timer", "interval=10")],
            vec![("timer", "name=a"), ("timer", "name=A")],
            vec![("exec", "timer=none;route=X")],
            vec![("timer", "name=a;interval=x")],
        ] {
            assert!(Rtimer::from_params(&params(&bad)).is_err(), "{bad:?}");
        }
    }
}
