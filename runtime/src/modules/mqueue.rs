//! mqueue — named queues of (key, value) pairs shared by the workers
//! (Kamailio 5.6's mqueue module): `mq_add`, `mq_fetch`, `mq_pv_free`,
//! `mq_size`, and `$mqk(q)`, `$mqv(q)`, `$mq_size(q)`; queues from
//! `mqueue` (`name=q;size=N;addmode=M`) and `mqueue_name` (with
//! `mqueue_size` and `mqueue_addmode` set before it).
//!
//! As Kamailio: a queue with a size drops its oldest item when an add
//! exceeds it; `addmode` 1 keeps the oldest item of a key (the add does
//! nothing), 2 the newest (the old one goes, the new one is appended).
//! What `mq_fetch` takes is the worker's own (Kamailio's per-process
//! `$mqk`/`$mqv`), until the next fetch of that queue or `mq_pv_free`.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::sync::{Mutex, PoisonError};

use crate::engine::Ctx;
use crate::engine::module::Module;
use crate::engine::params::{ModParams, ParamError, ParamValue};
use crate::engine::value::Value;
use crate::modules::Modules;
use cfgc_vocab::MqPv;

const M: &str = "mqueue";

/// One queue.
#[derive(Debug)]
struct Queue {
    name: Vec<u8>,
    /// Most items kept (0: no limit).
    max: usize,
    addmode: i32,
    items: Mutex<VecDeque<Item>>,
}

/// The module: its queues, newest definition first (Kamailio's list).
#[derive(Debug, Default)]
pub struct Mqueue {
    queues: Vec<Queue>,
}

fn text(v: &ParamValue) -> String {
    match v {
        ParamValue::Int(n) => n.to_string(),
        ParamValue::Str(s) => s.clone(),
        ParamValue::PvList(_) => String::new(),
    }
}

/// Kamailio's `str2sint`: leading digits (a sign first), 0 if none.
fn leading_int(s: &str) -> i32 {
    let s = s.trim();
    let (neg, digits) = match s.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let n = digits
        .bytes()
        .take_while(u8::is_ascii_digit)
        .fold(0i32, |n, d| {
            n.wrapping_mul(10).wrapping_add(i32::from(d - b'0'))
        });
    if neg { -n } else { n }
}

impl Mqueue {
    /// Reads the queue definitions, in the cfg's order.
    ///
    /// # Errors
    /// What Kamailio refuses: a queue without a name or defined twice, an
    /// unknown attribute; `dbmode` other than 0 (the database, not
    /// supported yet).
    pub fn from_params(p: &ModParams) -> Result<Self, ParamError> {
        let mut queues: Vec<Queue> = Vec::new();
        let (mut size, mut addmode) = (0i32, 0i32);
        let names = ["mqueue", "mqueue_name", "mqueue_size", "mqueue_addmode"];
        for (name, v) in p.in_order(M, &names) {
            let (qname, max, mode) = match name {
                "mqueue_size" => {
                    size = leading_int(&text(v));
                    continue;
                }
                "mqueue_addmode" => {
                    addmode = leading_int(&text(v));
                    continue;
                }
                "mqueue_name" => (text(v), size, addmode),
                _ => {
                    let v = text(v);
                    let (mut qname, mut max, mut mode) = (String::new(), 0, 0);
                    for attr in v.trim_end_matches(';').split(';') {
                        let (n, val) = attr.split_once('=').unwrap_or((attr, ""));
                        match n.trim().to_ascii_lowercase().as_str() {
                            "name" => qname = val.trim().to_string(),
                            "size" => max = leading_int(val),
                            "addmode" => mode = leading_int(val),
                            "dbmode" if leading_int(val) == 0 => {}
                            "dbmode" => {
                                return Err(ParamError::unsupported(
                                    M,
                                    name,
                                    "a queue kept in a database (`dbmode` other than 0)",
                                ));
                            }
                            other => {
                                return Err(ParamError::invalid(
                                    M,
                                    name,
                                    format!("unknown param: {other}"),
                                ));
                            }
                        }
                    }
                    (qname, max, mode)
                }
            };
            if qname.is_empty() {
                return Err(ParamError::invalid(M, name, "mqueue name not defined"));
            }
            if queues.iter().any(|q| q.name == qname.as_bytes()) {
                return Err(ParamError::invalid(
                    M,
                    name,
                    format!("mqueue redefined: {qname}"),
                ));
            }
            queues.insert(
                0,
                Queue {
                    name: qname.into_bytes(),
                    max: usize::try_from(max).unwrap_or(0),
                    addmode: mode,
                    items: Mutex::new(VecDeque::new()),
                },
            );
        }
        Ok(Self { queues })
    }

    fn queue(&self, name: &[u8]) -> Option<&Queue> {
        self.queues.iter().find(|q| q.name == name)
    }
}

impl Module for Mqueue {
    const NAME: &'static str = M;

    fn from_params(params: &ModParams) -> Result<Self, ParamError> {
        Self::from_params(params)
    }
}

/// A key and its value.
type Item = (Vec<u8>, Vec<u8>);

thread_local! {
    /// The item each queue's last `mq_fetch` took in this worker, by the
    /// queue's name.
    static FETCHED: RefCell<Vec<(Vec<u8>, Item)>> = const { RefCell::new(Vec::new()) };
}

fn queue<'a>(ctx: &Ctx<'a>, name: &[u8]) -> Option<&'a Queue> {
    let q = Modules::of(ctx).mqueue.queue(name);
    if q.is_none() {
        crate::engine::log::error(
            ctx,
            &format!("mqueue not found: {}", String::from_utf8_lossy(name)),
        );
    }
    q
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// `mq_add(queue, key, value)`: 1, -1 for an unknown queue.
pub fn mq_add(ctx: &mut Ctx<'_>, q: &[u8], key: &[u8], val: &[u8]) -> i32 {
    let Some(q) = queue(ctx, q) else {
        return -1;
    };
    let mut items = lock(&q.items);
    if (q.addmode == 1 || q.addmode == 2)
        && let Some(i) = items.iter().position(|(k, _)| k == key)
    {
        if q.addmode == 1 {
            return 1;
        }
        items.remove(i);
    }
    items.push_back((key.to_vec(), val.to_vec()));
    if q.max > 0 && items.len() > q.max {
        items.pop_front();
    }
    1
}

/// `mq_fetch(queue)`: takes the oldest item for `$mqk`/`$mqv`; 1, -2 for
/// an empty queue, -1 for an unknown one. The previous item goes first.
pub fn mq_fetch(ctx: &mut Ctx<'_>, q: &[u8]) -> i32 {
    free(q);
    // Kamailio's fetch fails on an unknown queue without a log line.
    let Some(queue) = Modules::of(ctx).mqueue.queue(q) else {
        return -1;
    };
    let Some(item) = lock(&queue.items).pop_front() else {
        return -2;
    };
    FETCHED.with(|f| f.borrow_mut().push((q.to_vec(), item)));
    1
}

fn free(q: &[u8]) {
    FETCHED.with(|f| f.borrow_mut().retain(|(n, _)| n != q));
}

/// `mq_pv_free(queue)`: forgets the fetched item; 1.
pub fn mq_pv_free(_ctx: &mut Ctx<'_>, q: &[u8]) -> i32 {
    free(q);
    1
}

/// `mq_size(queue)`: the number of items; -1 for an empty queue, -2 for
/// an unknown one (Kamailio's return code cannot be 0).
pub fn mq_size(ctx: &mut Ctx<'_>, q: &[u8]) -> i32 {
    match queue(ctx, q) {
        None => -2,
        Some(q) => match lock(&q.items).len() {
            0 => -1,
            n => i32::try_from(n).unwrap_or(i32::MAX),
        },
    }
}

/// `$mqk(q)`, `$mqv(q)`, `$mq_size(q)`; `name` is the queue's name as
/// printed for this message. An unknown queue fails in Kamailio, which
/// prints as nothing (an empty string here); nothing fetched (or an empty
/// key or value) is `$null`.
pub fn pv_get<'c>(ctx: &Ctx<'_>, kind: MqPv, name: &[u8]) -> Value<'c> {
    let Some(q) = queue(ctx, name) else {
        return Value::str(b"");
    };
    match kind {
        MqPv::Size => Value::Int(i32::try_from(lock(&q.items).len()).unwrap_or(i32::MAX)),
        MqPv::Key | MqPv::Val => FETCHED.with(|f| {
            let f = f.borrow();
            let item = f.iter().find(|(n, _)| n == name).map(|(_, i)| i);
            let s = match (item, kind) {
                (Some((k, _)), MqPv::Key) => k,
                (Some((_, v)), _) => v,
                (None, _) => return Value::Null,
            };
            if s.is_empty() {
                Value::Null
            } else {
                Value::Str(s.clone().into())
            }
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(lines: &[(&str, ParamValue)]) -> ModParams {
        let mut p = ModParams::new();
        for (n, v) in lines {
            p.push(M, n, v.clone());
        }
        p
    }

    fn s(v: &str) -> ParamValue {
        ParamValue::Str(v.to_string())
    }

    #[test]
    fn definitions() {
        let m = Mqueue::from_params(&params(&[
            ("mqueue", s("name=a;size=2;addmode=1;")),
            ("mqueue_size", ParamValue::Int(5)),
            ("mqueue_addmode", ParamValue::Int(2)),
            ("mqueue_name", s("b")),
        ]))
        .unwrap();
        let got: Vec<_> = m
            .queues
            .iter()
            .map(|q| (q.name.clone(), q.max, q.addmode))
            .collect();
        assert_eq!(got, vec![(b"b".to_vec(), 5, 2), (b"a".to_vec(), 2, 1)]);
        for bad in [
            vec![("mqueue", s("size=2"))],
            vec![("mqueue", s("name=a")), ("mqueue_name", s("a"))],
            vec![("mqueue", s("name=a;colour=red"))],
            vec![("mqueue", s("name=a;dbmode=1"))],
        ] {
            assert!(Mqueue::from_params(&params(&bad)).is_err(), "{bad:?}");
        }
    }
}
