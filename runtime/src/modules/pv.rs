//! The pv module's script functions (its PVs and transformations are the
//! engine's own: `engine::pv`, `engine::trans`): `pv_isset`, `pv_unset`,
//! the type tests `is_int`, `typeof`, `not_empty`, and the XAVP functions
//! `xavp_rm`, `xavp_child_rm`, `xavp_child_seti`/`sets`,
//! `xavp_params_explode`/`implode`.

use cfgc_vocab::PvRef;

use crate::engine::pv::{assign, read};
use crate::engine::xavp::{List, XValue};
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

/// `is_int(pv)`: 1 when the PV's value is an integer.
pub fn is_int(ctx: &Ctx<'_>, pv: &[PvRef]) -> i32 {
    match pv.first().map(|p| read(ctx, p)) {
        Some(Value::Int(_)) => 1,
        _ => -1,
    }
}

/// `typeof(pv, t)`: 1 when the value is of the type `t` names by its
/// first letter (`i`nteger, `n`ull, `s`tring; either case).
pub fn pv_typeof(ctx: &Ctx<'_>, pv: &[PvRef], t: &[u8]) -> i32 {
    let Some(v) = pv.first().map(|p| read(ctx, p)) else {
        return -1;
    };
    let yes = match t.first().map(u8::to_ascii_lowercase) {
        Some(b'i') => matches!(v, Value::Int(_)),
        Some(b'n') => v.is_null(),
        Some(b's') => matches!(v, Value::Str(_)),
        _ => false,
    };
    if yes { 1 } else { -1 }
}

/// `not_empty(pv)`: 1 when the value is a non-empty string.
pub fn not_empty(ctx: &Ctx<'_>, pv: &[PvRef]) -> i32 {
    match pv.first().map(|p| read(ctx, p)) {
        Some(Value::Str(s)) if !s.is_empty() => 1,
        _ => -1,
    }
}

/// `xavp_rm(name)`: the newest XAVP `name` goes; 1.
pub fn xavp_rm(ctx: &mut Ctx<'_>, name: &[u8]) -> i32 {
    ctx.avps.xavps.remove(name, 0);
    1
}

/// `xavp_child_rm(rname, cname)`: in the newest XAVP `rname` (a list),
/// the newest child `cname` goes; 1.
pub fn xavp_child_rm(ctx: &mut Ctx<'_>, rname: &[u8], cname: &[u8]) -> i32 {
    if let Some(XValue::List(l)) = ctx.avps.xavps.first_mut(rname) {
        l.remove(cname, 0);
    }
    1
}

/// Kamailio's `xavp_set_child_xval`: the child `cname` of the newest
/// `rname` replaced (added as the newest child); a root that holds no
/// list is replaced by a new one.
fn set_child(ctx: &mut Ctx<'_>, rname: &[u8], cname: &[u8], v: XValue) -> i32 {
    let root = &mut ctx.avps.xavps;
    if let Some(XValue::List(l)) = root.first_mut(rname) {
        l.remove(cname, 0);
        l.add(cname, v);
        return 1;
    }
    root.remove(rname, 0);
    let mut l = List::default();
    l.add(cname, v);
    root.add(rname, XValue::List(l));
    1
}

/// `xavp_child_seti(rname, cname, n)`.
pub fn xavp_child_seti(ctx: &mut Ctx<'_>, rname: &[u8], cname: &[u8], n: i32) -> i32 {
    set_child(ctx, rname, cname, XValue::Int(n))
}

/// `xavp_child_sets(rname, cname, s)`.
pub fn xavp_child_sets(ctx: &mut Ctx<'_>, rname: &[u8], cname: &[u8], s: &[u8]) -> i32 {
    set_child(ctx, rname, cname, XValue::Str(s.to_vec()))
}

/// `xavp_params_explode(params, xname)`: `a=1;b=x;c` becomes a new XAVP
/// `xname` with a string child per parameter (an empty one for a name
/// alone); 1, -1 for empty arguments or no parameter.
pub fn xavp_params_explode(ctx: &mut Ctx<'_>, params: &[u8], xname: &[u8]) -> i32 {
    if params.is_empty() || xname.is_empty() {
        return -1;
    }
    let params = params.strip_suffix(b";").unwrap_or(params);
    let mut l = List::default();
    let mut any = false;
    // Kamailio's parameter list is in reverse order and each child is
    // added as the newest: the first parameter ends up the newest child.
    for p in params.split(|b| *b == b';').rev() {
        let p = p.trim_ascii();
        if p.is_empty() {
            continue;
        }
        let (name, value) = match p.iter().position(|b| *b == b'=') {
            Some(i) => (p[..i].trim_ascii(), unquote(p[i + 1..].trim_ascii())),
            None => (p, &b""[..]),
        };
        l.add(name, XValue::Str(value.to_vec()));
        any = true;
    }
    if !any {
        return -1;
    }
    ctx.avps.xavps.add(xname, XValue::List(l));
    1
}

fn unquote(v: &[u8]) -> &[u8] {
    match v {
        [b'"', inner @ .., b'"'] => inner,
        other => other,
    }
}

/// `xavp_params_implode(xname, pv)`: the children of the newest XAVP
/// `xname`, newest first, as `name=value;` (`name;` for an empty string,
/// integers unsigned), into `pv`; 1, -1 when there is nothing to write.
pub fn xavp_params_implode(ctx: &mut Ctx<'_>, xname: &[u8], out: &[PvRef]) -> i32 {
    let Some(XValue::List(l)) = ctx.avps.xavps.get(xname, 0) else {
        return -1;
    };
    let mut s = Vec::new();
    for (name, v) in l.iter() {
        match v {
            XValue::Int(n) => s.extend_from_slice(
                format!("{}={};", String::from_utf8_lossy(name), n.cast_unsigned()).as_bytes(),
            ),
            XValue::Str(v) if v.is_empty() => {
                s.extend_from_slice(name);
                s.push(b';');
            }
            XValue::Str(v) => {
                s.extend_from_slice(name);
                s.push(b'=');
                s.extend_from_slice(v);
                s.push(b';');
            }
            _ => {}
        }
    }
    if s.is_empty() {
        return -1;
    }
    match out.first() {
        Some(p) if assign(ctx, p, Value::Str(s.into())) >= 0 => 1,
        _ => -1,
    }
}
