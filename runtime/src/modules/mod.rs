//! Native versions of Kamailio modules. Functions keep Kamailio's names,
//! parameters and return codes (kamailio-modules.md); each takes the
//! per-message [`Ctx`](crate::engine::Ctx) first.

pub mod corex;
pub mod kex;
pub mod maxfwd;
pub mod registrar;
pub mod rr;
pub mod sanity;
pub mod siputils;
pub mod sl;
pub mod textops;
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
    /// usrloc's location table.
    pub usrloc: usrloc::Usrloc,
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
            usrloc: usrloc::Usrloc::from_params(&params)?,
            params,
        })
    }

    /// How often the modules need [`Modules::on_tick`]; `None`: never.
    pub fn tick(&self) -> Option<std::time::Duration> {
        Some(self.usrloc.timer_interval())
    }

    /// Timers of every module (retransmissions, expiries).
    pub fn on_tick(&self, now: std::time::Instant, _out: &mut Vec<crate::transport::Transmit>) {
        self.usrloc.on_timer(now);
    }
}
