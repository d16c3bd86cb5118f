//! The module interface, end to end: hooks called by the engine, per-worker
//! state, the RPC registry over the standard set.

use std::any::Any;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use super::Modules;
use super::testutil::{core, msg, rcv};
use crate::engine::module::{
    ModuleSet, PvExport, RpcCommand, RpcError, RpcRegistry, RpcValue, find_pv, worker_state,
};
use crate::engine::{Ctx, Engine, Flow, Script, Value, WorkerState};
use crate::tm::Tm;

/// A script that counts what reached it and reads its worker state.
struct Counting;

impl Script for Counting {
    fn request_route(&self, ctx: &mut Ctx<'_>) -> Flow {
        if let Some(n) = worker_state::<usize>(ctx) {
            *n += 1;
        }
        Ok(1)
    }
}

/// A module set that records its hooks.
#[derive(Debug, Default)]
struct Hooks {
    request_in: AtomicUsize,
    reply_in: AtomicUsize,
    after: AtomicUsize,
    workers: AtomicUsize,
}

impl ModuleSet for Hooks {
    fn as_any(&self) -> &dyn Any {
        self
    }

    fn worker_state(&self) -> Option<Box<dyn Any + Send>> {
        self.workers.fetch_add(1, Ordering::Relaxed);
        Some(Box::new(0usize))
    }

    fn on_request_in(&self, _ctx: &mut Ctx<'_>) {
        self.request_in.fetch_add(1, Ordering::Relaxed);
    }

    fn on_reply_in(&self, _ctx: &mut Ctx<'_>) {
        self.reply_in.fetch_add(1, Ordering::Relaxed);
    }

    fn after_script(&self, _ctx: &mut Ctx<'_>) {
        self.after.fetch_add(1, Ordering::Relaxed);
    }

    fn pvs(&self) -> Vec<PvExport> {
        vec![PvExport {
            name: "hooks_flags",
            read: |ctx| Value::Int(i32::try_from(ctx.flags).unwrap_or(-1)),
            write: None,
        }]
    }

    fn rpc_commands(&self) -> Vec<RpcCommand> {
        let cmd = RpcCommand {
            name: "x.same",
            help: "",
            handler: |_, _| Ok(vec![RpcValue::Int(1)]),
        };
        vec![cmd, cmd]
    }
}

fn options() -> Vec<u8> {
    msg(&[
        "OPTIONS sip:127.0.0.1:5070 SIP/2.0",
        "Via: SIP/2.0/UDP 127.0.0.1:5080;branch=z9hG4bK-1",
        "From: <sip:a@127.0.0.1>;tag=1",
        "To: <sip:b@127.0.0.1>",
        "Call-ID: c1",
        "CSeq: 1 OPTIONS",
        "Content-Length: 0",
    ])
}

#[test]
fn the_engine_calls_each_hook_once_per_message_and_makes_worker_state_once() {
    let e = Engine::with_parts(Counting, core(), Tm::default(), Box::new(Hooks::default()));
    let mut w = WorkerState::default();
    let mut out = Vec::new();
    for _ in 0..3 {
        e.process(&options(), &rcv(), &mut w, &mut out);
    }
    let reply = msg(&[
        "SIP/2.0 200 OK",
        "Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-x",
        "Via: SIP/2.0/UDP 127.0.0.1:5080;branch=z9hG4bK-1",
        "From: <sip:a@127.0.0.1>;tag=1",
        "To: <sip:b@127.0.0.1>;tag=2",
        "Call-ID: c1",
        "CSeq: 1 OPTIONS",
        "Content-Length: 0",
    ]);
    e.process(&reply, &rcv(), &mut w, &mut out);
    let h = e.modules.as_any().downcast_ref::<Hooks>().expect("hooks");
    assert_eq!(h.request_in.load(Ordering::Relaxed), 3);
    assert_eq!(h.reply_in.load(Ordering::Relaxed), 1);
    assert_eq!(h.after.load(Ordering::Relaxed), 4);
    assert_eq!(h.workers.load(Ordering::Relaxed), 1, "made once per worker");
    let n = w.modules.as_ref().and_then(|m| m.downcast_ref::<usize>());
    assert_eq!(n, Some(&3), "the script saw its worker's state");
}

#[test]
fn an_exported_pv_is_found_by_name_and_reads_the_context() {
    let set = Hooks::default();
    assert!(find_pv(&set, "nope").is_none());
    let pv = find_pv(&set, "hooks_flags").expect("exported");
    let raw = options();
    let m = crate::sip::Message::parse(&raw).expect("parses");
    let (core, rcv) = (core(), rcv());
    let (mut w, mut out) = (WorkerState::default(), Vec::new());
    let mut ctx = Ctx::new(&m, &rcv, &core, &mut w, &mut out);
    ctx.modules = &set;
    ctx.setflag(3);
    assert_eq!((pv.read)(&ctx), Value::Int(8));
    // The standard set exports cfgutils' `$RANDOM`, read through the set
    // as `pv::read` does for a vocabulary `PvRef::Module`.
    let std = Modules::default();
    assert!(std.pvs().iter().any(|p| p.name == "RANDOM"));
    ctx.modules = &std;
    assert!(matches!(std.read_pv("RANDOM", &ctx), Value::Int(n) if n >= 0));
    assert_eq!(std.read_pv("nope", &ctx), Value::Null);
}

#[test]
fn rpc_registry_dispatches_by_name_and_refuses_duplicates() {
    let m = Modules::default();
    let reg = RpcRegistry::new(&m).expect("registry");
    assert!(reg.names().any(|n| n == "ul.lookup"));
    assert_eq!(
        reg.dispatch(&m, "no.such", &[]),
        Err(RpcError::new(500, "command no.such not found"))
    );
    assert_eq!(
        reg.dispatch(&m, "ul.lookup", &["location"]),
        Err(RpcError::new(
            500,
            "Not enough parameters (table and AOR to lookup)"
        ))
    );
    assert_eq!(
        reg.dispatch(&m, "ul.lookup", &["location", "bob"]),
        Err(RpcError::new(500, "AOR not found in location table"))
    );
    let now = Instant::now();
    m.usrloc
        .store
        .update("location", b"bob", &mut |cs| {
            cs.push(crate::modules::usrloc::Contact {
                uri: b"sip:bob@10.0.0.2".to_vec(),
                expires: now + std::time::Duration::from_secs(3600),
                q: 1000,
                call_id: b"c1".to_vec(),
                cseq: 1,
                cflags: 0,
                user_agent: Vec::new(),
                received: None,
                path: None,
                socket: None,
                methods: 0,
                ruid: b"r1".to_vec(),
                instance: None,
                reg_id: 0,
                last_modified: now,
            });
        })
        .expect("in memory");
    let got = reg.dispatch(&m, "ul.lookup", &["location", "bob"]);
    let Ok([RpcValue::Struct(fields)]) = got.as_deref() else {
        panic!("ul.lookup of a registered AoR");
    };
    assert_eq!(fields[0], ("AoR".into(), RpcValue::Str("bob".into())));
    let RpcValue::Array(contacts) = &fields[1].1 else {
        panic!("contacts: {fields:?}");
    };
    assert_eq!(contacts.len(), 1);

    let dup = RpcRegistry::new(&Hooks::default()).map_err(|e| e.to_string());
    assert_eq!(
        dup.err().as_deref(),
        Some("RPC command `x.same` registered twice")
    );
}

/// The runtime reads exactly the module parameters the vocabulary's table
/// (`cfgc_vocab::MODULES`) lists as implemented: every parameter tm and
/// the standard set look up at start-up is recorded and must be
/// `Implemented` there, and every `Implemented` parameter of these
/// modules is looked up. So the compiler, which refuses every other
/// parameter from the same table, never lets one through that the
/// runtime would ignore.
#[test]
fn the_runtime_reads_exactly_the_implemented_modparams() {
    use cfgc_vocab::{MODULES, ParamSupport, modparam_support};

    use crate::engine::params::{ModParams, reads};

    let read = reads::during(|| {
        let p = ModParams::new();
        assert!(Tm::new(&p).is_ok());
        assert!(Modules::new(p).is_ok());
    });
    assert!(!read.is_empty(), "the recorder saw no look-up");
    for (module, name) in &read {
        assert!(
            matches!(
                modparam_support(module, name),
                Some(ParamSupport::Implemented(_))
            ),
            "the runtime reads modparam(\"{module}\", \"{name}\"), which cfgc_vocab::MODULES \
             does not list as implemented"
        );
    }
    // jsonrpcs' parameters are read where its transports start
    // (`crate::rpc::start`), not by `Modules::new`.
    const ELSEWHERE: &[&str] = &["jsonrpcs"];
    for m in MODULES.iter().filter(|m| !ELSEWHERE.contains(&m.name)) {
        for (name, s) in m.params {
            if matches!(s, ParamSupport::Implemented(_)) {
                assert!(
                    read.contains(&(m.name.to_string(), (*name).to_string())),
                    "cfgc_vocab::MODULES lists modparam(\"{}\", \"{name}\") as implemented, \
                     but the runtime never reads it",
                    m.name
                );
            }
        }
    }
}

/// What the table refuses, the runtime refuses at start-up too (for
/// callers that build `ModParams` themselves): an unsupported module, an
/// unsupported parameter, a no-op parameter with another value.
#[test]
fn unsupported_modparams_are_refused_at_start_up_too() {
    use crate::engine::params::{ModParams, ParamError, ParamValue};

    for (module, name, value, ok) in [
        (
            "tls",
            "config",
            ParamValue::Str("/etc/tls.cfg".into()),
            false,
        ),
        ("tm", "ruri_matching", ParamValue::Int(0), false),
        ("usrloc", "matching_mode", ParamValue::Int(2), false),
        ("usrloc", "matching_mode", ParamValue::Int(0), true),
        (
            "usrloc",
            "user_column",
            ParamValue::Str("user".into()),
            false,
        ),
        ("usrloc", "hash_size", ParamValue::Int(12), true),
        (
            "registrar",
            "xavp_cfg",
            ParamValue::Str("reg".into()),
            false,
        ),
        (
            "registrar",
            "received_avp",
            ParamValue::Str(String::new()),
            true,
        ),
        (
            "rr",
            "custom_user_avp",
            ParamValue::Str("$avp(u)".into()),
            false,
        ),
        ("sanity", "noreply", ParamValue::Int(1), false),
        (
            "cfgutils",
            "hash_file",
            ParamValue::Str("/etc/k.cfg".into()),
            false,
        ),
        ("tm", "fr_timer", ParamValue::Int(1000), true),
    ] {
        let mut p = ModParams::new();
        p.push(module, name, value);
        let r = Modules::new(p.clone());
        assert_eq!(r.is_ok(), ok, "modparam(\"{module}\", \"{name}\"): {r:?}");
        if !ok {
            assert!(
                matches!(r, Err(ParamError::Unsupported { .. })),
                "modparam(\"{module}\", \"{name}\"): {r:?}"
            );
            assert!(Engine::with_params(Counting, core(), p).is_err());
        }
    }
}
