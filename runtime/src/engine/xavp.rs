//! XAVPs, Kamailio's extended AVPs (core `xavp.c`, read and written from
//! the script through the pv module's `$xavp(name[i]=>key[j])`).
//!
//! A list holds named items; an item's value is a string, an integer, a
//! 64-bit integer, null, or another list. Items are added at the head,
//! so index 0 of a name is the newest item of that name. Names are
//! compared case-sensitively. The message's root list lives with its
//! `$avp`s ([`crate::engine::ctx::Avps`]): it starts empty for each
//! message, and tm keeps it with the transaction for the failure,
//! branch and reply routes.

use std::borrow::Cow;

use cfgc_vocab::{XavpIndex, XavpName};

use crate::engine::Ctx;
use crate::engine::pv;
use crate::engine::value::{self, OwnedValue, Value};

/// An XAVP value (`sr_xval_t` of the types the runtime makes).
#[derive(Clone, Debug, PartialEq)]
pub enum XValue {
    Null,
    Int(i32),
    /// `SR_XTYPE_LLONG` (sqlops' BIGINT columns): read as its decimal
    /// text.
    LLong(i64),
    Str(Vec<u8>),
    List(List),
}

/// A list of named items, newest first as Kamailio walks it (stored
/// oldest first, so adding is a push).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct List {
    items: Vec<(Box<[u8]>, XValue)>,
}

impl List {
    /// Whether it holds nothing.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Where (in `items`) the `idx`-th newest item named `name` is.
    fn position(&self, name: &[u8], idx: usize) -> Option<usize> {
        self.items
            .iter()
            .enumerate()
            .rev()
            .filter(|(_, (n, _))| &**n == name)
            .nth(idx)
            .map(|(i, _)| i)
    }

    /// The `idx`-th newest value named `name` (`xavp_get_by_index`).
    pub fn get(&self, name: &[u8], idx: usize) -> Option<&XValue> {
        self.position(name, idx).map(|i| &self.items[i].1)
    }

    fn get_mut(&mut self, name: &[u8], idx: usize) -> Option<&mut XValue> {
        self.position(name, idx).map(|i| &mut self.items[i].1)
    }

    /// The values named `name`, newest first.
    pub fn all<'l>(&'l self, name: &'l [u8]) -> impl Iterator<Item = &'l XValue> + 'l {
        self.items
            .iter()
            .rev()
            .filter(move |(n, _)| &**n == name)
            .map(|(_, v)| v)
    }

    /// How many items are named `name` (`xavp_count`).
    pub fn count(&self, name: &[u8]) -> usize {
        self.all(name).count()
    }

    /// Adds an item at the head (`xavp_add_value`).
    pub fn add(&mut self, name: &[u8], v: XValue) {
        self.items.push((name.into(), v));
    }

    /// Replaces the value of the `idx`-th item named `name`, in its place
    /// (`xavp_set_value`); `false` if there is no such item.
    pub fn set(&mut self, name: &[u8], idx: usize, v: XValue) -> bool {
        match self.get_mut(name, idx) {
            Some(slot) => {
                *slot = v;
                true
            }
            None => false,
        }
    }

    /// Removes the `idx`-th item named `name` (`xavp_rm_by_index`).
    pub fn remove(&mut self, name: &[u8], idx: usize) {
        if let Some(i) = self.position(name, idx) {
            self.items.remove(i);
        }
    }

    /// Every item, newest first (Kamailio's walk of a list).
    pub fn iter(&self) -> impl Iterator<Item = (&[u8], &XValue)> {
        self.items.iter().rev().map(|(n, v)| (&**n, v))
    }

    /// The newest value named `name`, to change.
    pub fn first_mut(&mut self, name: &[u8]) -> Option<&mut XValue> {
        self.get_mut(name, 0)
    }

    /// Removes every item named `name` (`xavp_rm_by_name` with `all`).
    pub fn remove_all(&mut self, name: &[u8]) {
        self.items.retain(|(n, _)| &**n != name);
    }
}

impl XValue {
    /// As `pv_xavp_get_value` gives it to the script: a 64-bit integer
    /// as its decimal text, a list as a `<<xavp:ADDRESS>>` string.
    pub fn value(&self) -> Value<'_> {
        match self {
            XValue::Null => Value::Null,
            XValue::Int(i) => Value::Int(*i),
            XValue::LLong(i) => Value::string(i.to_string()),
            XValue::Str(s) => Value::Str(Cow::Borrowed(s)),
            XValue::List(l) => Value::string(format!("<<xavp:{:p}>>", l.items.as_ptr())),
        }
    }

    /// A script value as `pv_set_xavp` stores it: an integer stays one,
    /// anything else is its string.
    fn of(v: &Value<'_>) -> XValue {
        match v {
            Value::Int(i) => XValue::Int(*i),
            other => XValue::Str(other.to_bytes().into_owned()),
        }
    }
}

/// An evaluated index: its number (0 when absent or `*`) and whether it
/// was `*`; `None` when a PV index is not an integer (Kamailio: "invalid
/// index value").
fn index(ctx: &Ctx<'_>, i: &XavpIndex) -> Option<(i64, bool)> {
    match i {
        XavpIndex::Absent => Some((0, false)),
        XavpIndex::At(n) => Some((i64::from(*n), false)),
        XavpIndex::All => Some((0, true)),
        XavpIndex::Pv(p) => match pv::read(ctx, p) {
            Value::Int(n) => Some((i64::from(n), false)),
            _ => None,
        },
    }
}

fn at(n: i64) -> Option<usize> {
    usize::try_from(n).ok()
}

fn count(l: &List, name: &[u8]) -> i64 {
    i64::try_from(l.count(name)).unwrap_or(i64::MAX)
}

/// `$xavp(...)` read (`pv_get_xavp`): a negative index counts from the
/// end; `key[*]` joins that key's values from the one found on, with
/// `", "`; anything missing is `$null`. An index PV that is not an
/// integer is a getter error ([`value::pv_error`]).
pub fn read<'c>(ctx: &'c Ctx<'_>, x: &'c XavpName) -> Value<'c> {
    let root = &ctx.avps.xavps;
    let name = x.name.as_bytes();
    let Some((mut idx, _)) = index(ctx, &x.index) else {
        return value::pv_error();
    };
    if idx < 0 {
        idx += count(root, name);
    }
    let Some(item) = at(idx).and_then(|i| root.get(name, i)) else {
        return Value::Null;
    };
    let Some((key, kidx)) = &x.key else {
        return item.value();
    };
    let XValue::List(list) = item else {
        return Value::Null;
    };
    let key = key.as_bytes();
    let Some((mut idx, all)) = index(ctx, kidx) else {
        return value::pv_error();
    };
    if idx < 0 {
        idx += count(list, key);
    }
    let Some(first) = at(idx) else {
        return Value::Null;
    };
    if !all {
        return list.get(key, first).map_or(Value::Null, XValue::value);
    }
    let mut values = list.all(key).skip(first).peekable();
    if values.peek().is_none() {
        return Value::Null;
    }
    let mut out = Vec::new();
    for (n, v) in values.enumerate() {
        if n > 0 {
            out.extend_from_slice(b", ");
        }
        pv::push_fmt(&mut out, &v.value());
    }
    Value::string(out)
}

/// Kamailio's index fix for writes, one more than for reads
/// (`count + idx + 1`: `[-1]` names no item, as in 5.6.3).
fn write_index(idx: i64, l: &List, name: &[u8]) -> i64 {
    if idx < 0 {
        count(l, name) + idx + 1
    } else {
        idx
    }
}

/// `$xavp(...) = v` (`pv_set_xavp`): 1, or -1 where Kamailio's setter
/// fails.
///
/// - `$null` removes: the newest item (`name`), the `i`-th (`name[i]`),
///   all (`name[*]`); with a key, the same in the root item's list (in
///   every root item for `name[*]=>key`).
/// - `name = v` adds an item; `name[i] = v` replaces the `i`-th (-1 when
///   there is none; `name[*] = v` is -1).
/// - `name=>key = v` adds a new root item holding `key = v`;
///   `name[i]=>key = v` adds `key` to the `i`-th root item's list
///   (nothing if there is no such item, -1 if it is not a list), and
///   `name[i]=>key[j] = v` replaces that key's `j`-th value.
pub fn assign(ctx: &mut Ctx<'_>, x: &XavpName, v: OwnedValue) -> i32 {
    let name = x.name.as_bytes();
    let Some((idx, all)) = index(ctx, &x.index) else {
        return -1;
    };
    let kidx = match &x.key {
        Some((_, i)) => match index(ctx, i) {
            Some(k) => Some(k),
            None => return -1,
        },
        None => None,
    };
    let indexed = x.index != XavpIndex::Absent;
    let root = &mut ctx.avps.xavps;
    if v.is_null() {
        let Some((key, key_index)) = &x.key else {
            if all {
                root.remove_all(name);
            } else if let Some(i) = at(write_index(idx, root, name)) {
                root.remove(name, i);
            }
            return 1;
        };
        let key = key.as_bytes();
        let key_all = kidx.is_some_and(|(_, a)| a);
        let key_idx = kidx.map_or(0, |(i, _)| i);
        let keyed = *key_index != XavpIndex::Absent;
        let rm = |list: &mut List| {
            if keyed && key_all {
                list.remove_all(key);
            } else if let Some(i) = at(write_index(key_idx, list, key)) {
                list.remove(key, i);
            }
        };
        if all {
            for item in root.items.iter_mut().filter(|(n, _)| &**n == name) {
                if let XValue::List(l) = &mut item.1 {
                    rm(l);
                }
            }
        } else if let Some(i) = at(write_index(idx, root, name))
            && let Some(XValue::List(l)) = root.get_mut(name, i)
        {
            rm(l);
        }
        return 1;
    }
    let value = XValue::of(&v);
    let Some((key, key_index)) = &x.key else {
        if !indexed {
            root.add(name, value);
            return 1;
        }
        if all {
            return -1;
        }
        return match at(write_index(idx, root, name)) {
            Some(i) if root.set(name, i, value) => 1,
            _ => -1,
        };
    };
    let key = key.as_bytes();
    if !indexed {
        let mut list = List::default();
        list.add(key, value);
        root.add(name, XValue::List(list));
        return 1;
    }
    if all {
        return 1;
    }
    let Some(item) = at(write_index(idx, root, name)).and_then(|i| root.get_mut(name, i)) else {
        return 1;
    };
    let XValue::List(list) = item else {
        return -1;
    };
    match kidx {
        Some((_, true)) => {}
        Some((k, false)) if *key_index != XavpIndex::Absent => {
            if let Some(j) = at(write_index(k, list, key)) {
                list.set(key, j, value);
            }
        }
        _ => list.add(key, value),
    }
    1
}
