//! Native versions of Kamailio modules. Functions keep Kamailio's names,
//! parameters and return codes (kamailio-modules.md); each takes the
//! per-message [`Ctx`](crate::engine::Ctx) first.

pub mod corex;
pub mod kex;
pub mod sl;
pub mod textops;
pub mod xlog;
