//! Native versions of Kamailio modules. Functions keep Kamailio's names,
//! parameters and return codes (kamailio-modules.md); each takes the
//! per-message [`Ctx`](crate::engine::Ctx) first.

pub mod acc;
pub mod corex;
pub mod kex;
pub mod maxfwd;
pub mod registrar;
pub mod rr;
pub mod sanity;
pub mod siputils;
pub mod sl;
pub mod textops;
pub mod tm;
pub mod usrloc;
pub mod xlog;

#[cfg(test)]
mod testutil;

use crate::engine::params::ModParams;

/// The state of the modules that keep state beyond one message (tm's
/// transactions, usrloc's location table...), shared by every worker;
/// built once at start-up from the cfg's `modparam` lines.
#[derive(Debug, Default)]
pub struct Modules {
    /// The `modparam` lines, for modules that read them lazily.
    pub params: ModParams,
    /// Parameters of the stateless modules, read once.
    pub maxfwd: maxfwd::Config,
    pub rr: rr::Config,
    pub sanity: sanity::Config,
    pub registrar: registrar::Config,
    /// acc's parameters (log accounting).
    pub acc: acc::Config,
    /// usrloc's location table.
    pub usrloc: usrloc::Usrloc,
    /// tm: the transaction table.
    pub tm: tm::Tm,
    /// When usrloc's expiry scan is next due (the tick is tm's, finer).
    usrloc_due: std::sync::Mutex<Option<std::time::Instant>>,
}

impl Modules {
    /// Builds the module state from the configuration's parameters.
    ///
    /// # Errors
    /// A parameter value a module rejects (as Kamailio refuses to start).
    pub fn new(params: ModParams) -> Result<Self, String> {
        Ok(Self {
            maxfwd: maxfwd::Config::from_params(&params)?,
            rr: rr::Config::from_params(&params)?,
            sanity: sanity::Config::from_params(&params)?,
            registrar: registrar::Config::from_params(&params)?,
            acc: acc::Config::from_params(&params)?,
            usrloc: usrloc::Usrloc::from_params(&params)?,
            tm: tm::Tm::new(&params)?,
            params,
            usrloc_due: std::sync::Mutex::new(None),
        })
    }

    /// How often the modules need [`Modules::on_tick`]; `None`: never.
    pub fn tick(&self) -> Option<std::time::Duration> {
        // The finer of the two: tm's retransmission timer, usrloc's expiry.
        Some(self.tm.tick().min(self.usrloc.timer_interval()))
    }

    /// Timers of every module (retransmissions, expiries).
    pub fn on_tick(&self, now: std::time::Instant, _out: &mut Vec<crate::transport::Transmit>) {
        // usrloc scans its whole table: only every `timer_interval`.
        let mut due = self
            .usrloc_due
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if due.is_some_and(|d| now < d) {
            return;
        }
        *due = Some(now + self.usrloc.timer_interval());
        drop(due);
        self.usrloc.on_timer(now);
    }
}
