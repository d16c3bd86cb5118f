//! Native versions of Kamailio modules. Functions keep Kamailio's names,
//! parameters and return codes (kamailio-modules.md); each takes the
//! per-message [`Ctx`](crate::engine::Ctx) first.

pub mod sl;
pub mod textops;
pub mod tm;
pub mod xlog;

use crate::engine::params::ModParams;

/// The state of the modules that keep state beyond one message (tm's
/// transactions, usrloc's location table...), shared by every worker;
/// built once at start-up from the cfg's `modparam` lines.
#[derive(Debug, Default)]
pub struct Modules {
    /// The `modparam` lines, for modules that read them lazily.
    pub params: ModParams,
    /// tm: the transaction table.
    pub tm: tm::Tm,
}

impl Modules {
    /// Builds the module state from the configuration's parameters.
    ///
    /// # Errors
    /// A parameter value a module rejects (as Kamailio refuses to start).
    pub fn new(params: ModParams) -> Result<Self, String> {
        Ok(Self {
            tm: tm::Tm::new(&params)?,
            params,
        })
    }

    /// How often the modules need [`Modules::on_tick`]; `None`: never.
    pub fn tick(&self) -> Option<std::time::Duration> {
        Some(self.tm.tick())
    }

    /// Timers of every module (retransmissions, expiries).
    pub fn on_tick(&self, _now: std::time::Instant, _out: &mut Vec<crate::transport::Transmit>) {}
}
