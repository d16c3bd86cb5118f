//! tm's module parameters (kamailio-modules.md §2.1), read once at start-up.

use std::time::Duration;

use crate::engine::params::{ModParams, ParamError};

/// The parameters tm implements; the others are refused at build and at
/// start-up (`cfgc_vocab::MODULES`, `ModParams::check_supported`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TmConfig {
    /// `fr_timer`: final-response timer of a branch with no provisional.
    pub fr_timer: Duration,
    /// `fr_inv_timer`: INVITE branch timer once a provisional arrived.
    pub fr_inv_timer: Duration,
    /// `wt_timer`: how long a completed transaction absorbs retransmissions.
    pub wt_timer: Duration,
    /// `retr_timer1` (T1).
    pub t1: Duration,
    /// `retr_timer2` (T2).
    pub t2: Duration,
    /// `restart_fr_on_each_reply`.
    pub restart_fr_on_each_reply: bool,
    /// `auto_inv_100`.
    pub auto_inv_100: bool,
    /// `auto_inv_100_reason`.
    pub auto_inv_100_reason: String,
    /// `failure_reply_mode` (0..=3).
    pub failure_reply_mode: i32,
    /// `remap_503_500`.
    pub remap_503_500: bool,
    /// `disable_6xx_block`.
    pub disable_6xx_block: bool,
    /// `local_cancel_reason`.
    pub local_cancel_reason: bool,
    /// `e2e_cancel_reason`.
    pub e2e_cancel_reason: bool,
    /// Most transactions kept at once (Kamailio's limit is its shared
    /// memory); a new one beyond it is refused with a 500.
    pub max_transactions: usize,
}

impl Default for TmConfig {
    fn default() -> Self {
        Self {
            fr_timer: Duration::from_millis(30_000),
            fr_inv_timer: Duration::from_millis(120_000),
            wt_timer: Duration::from_millis(5_000),
            t1: Duration::from_millis(500),
            t2: Duration::from_millis(4_000),
            restart_fr_on_each_reply: true,
            auto_inv_100: true,
            auto_inv_100_reason: "trying -- your call is important to us".into(),
            failure_reply_mode: 3,
            remap_503_500: true,
            disable_6xx_block: false,
            local_cancel_reason: true,
            e2e_cancel_reason: true,
            max_transactions: 1 << 18,
        }
    }
}

impl TmConfig {
    /// Reads `modparam("tm", ...)`.
    ///
    /// # Errors
    /// A value that is not a number, or a time of 0 or less.
    pub fn from_params(p: &ModParams) -> Result<Self, ParamError> {
        let mut c = Self::default();
        let ms = |name: &str, slot: &mut Duration| -> Result<(), ParamError> {
            if let Some(v) = p.int("tm", name)? {
                if v <= 0 {
                    return Err(ParamError::invalid("tm", name, "must be > 0"));
                }
                *slot = Duration::from_millis(u64::from(v.unsigned_abs()));
            }
            Ok(())
        };
        ms("fr_timer", &mut c.fr_timer)?;
        ms("fr_inv_timer", &mut c.fr_inv_timer)?;
        ms("wt_timer", &mut c.wt_timer)?;
        ms("retr_timer1", &mut c.t1)?;
        ms("retr_timer2", &mut c.t2)?;
        let flag = |name: &str, slot: &mut bool| -> Result<(), ParamError> {
            if let Some(v) = p.int("tm", name)? {
                *slot = v != 0;
            }
            Ok(())
        };
        flag("restart_fr_on_each_reply", &mut c.restart_fr_on_each_reply)?;
        flag("auto_inv_100", &mut c.auto_inv_100)?;
        flag("remap_503_500", &mut c.remap_503_500)?;
        flag("disable_6xx_block", &mut c.disable_6xx_block)?;
        flag("local_cancel_reason", &mut c.local_cancel_reason)?;
        flag("e2e_cancel_reason", &mut c.e2e_cancel_reason)?;
        if let Some(r) = p.str("tm", "auto_inv_100_reason") {
            c.auto_inv_100_reason = r;
        }
        if let Some(m) = p.int("tm", "failure_reply_mode")? {
            c.failure_reply_mode = m;
        }
        Ok(c)
    }
}
