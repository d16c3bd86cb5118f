//! The pv module's script functions (its PVs and transformations are the
//! engine's own: `engine::pv`, `engine::trans`): `pv_isset`, `pv_unset`.

use cfgc_vocab::PvRef;

use crate::engine::pv::{assign, read};
use crate::engine::{Ctx, Value};

/// `pv_isset(pv)`: 1 when the PV has a value, -1 when it is `$null`.
pub fn pv_isset(ctx: &Ctx<'_>, pv: &[PvRef]) -> i32 {
    match pv.first() {
        Some(p) if !read(ctx, p).is_null() => 1,
        _ => -1,
    }
}

/// `pv_unset(pv)`: the PV set to `$null` (an AVP deleted...), as
/// `pv = $null`; 1, or -1 when the setter fails. A read-only PV is left
/// alone and is 1 too (Kamailio's `pv_set_spec_value` does nothing for
/// it).
pub fn pv_unset(ctx: &mut Ctx<'_>, pv: &[PvRef]) -> i32 {
    match pv.first() {
        Some(p) if !p.writable() => 1,
        Some(p) if assign(ctx, p, Value::Null) >= 0 => 1,
        _ => -1,
    }
}
