//! The interpreter on real configs, through the runtime's engine: the same
//! behaviour compiled code shows (the end-to-end tests in `tests/` run the
//! SIPp scenarios both ways).

use runtime::engine::{CoreConfig, Engine, WorkerState};
use runtime::transport::myself::Myself;
use runtime::transport::{Proto, RecvInfo, Transmit};

use super::*;

fn load(src: &str) -> (Interp, ir::Program) {
    let g = cfgc::Config::new().generate_source("t.cfg", src);
    let program = g
        .program
        .unwrap_or_else(|| panic!("not lowered: {:?}", g.report.diagnostics));
    (Interp::load(&program).expect("loads"), program)
}

fn engine(interp: Interp) -> Engine<Interp> {
    let listen = vec![(Proto::Udp, "127.0.0.1:5060".parse().expect("addr"))];
    let core = CoreConfig {
        myself: Myself::from_listen(listen.clone()),
        listen,
        ..CoreConfig::default()
    };
    Engine::new(interp, core)
}

fn rcv() -> RecvInfo {
    RecvInfo {
        proto: Proto::Udp,
        src: "127.0.0.1:5080".parse().expect("addr"),
        local: "127.0.0.1:5060".parse().expect("addr"),
        conn: None,
    }
}

fn request(method: &str, user: &str, max_forwards: u32) -> Vec<u8> {
    let at = if user.is_empty() { "" } else { "@" };
    format!(
        "{method} sip:{user}{at}127.0.0.1 SIP/2.0\r\n\
Via: SIP/2.0/UDP 127.0.0.1:5080;branch=z9hG4bK-1;rport\r\n\
Max-Forwards: {max_forwards}\r\n\
From: <sip:alice@example.com>;tag=a1\r\n\
To: <sip:{user}@example.com>\r\n\
Call-ID: c1@x\r\n\
CSeq: 1 {method}\r\n\
User-Agent: tester\r\n\
Content-Length: 0\r\n\r\n"
    )
    .into_bytes()
}

fn run(e: &Engine<Interp>, w: &mut WorkerState, msg: &[u8]) -> Vec<Transmit> {
    let mut out = Vec::new();
    e.process(msg, &rcv(), w, &mut out);
    out
}

fn first_line(out: &[Transmit]) -> String {
    out.first()
        .map(|t| {
            String::from_utf8_lossy(&t.data)
                .lines()
                .next()
                .unwrap_or("")
                .to_string()
        })
        .unwrap_or_else(|| "nothing sent".into())
}

#[test]
fn example_stateless_proxy_routes_as_written() {
    let src = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../examples/stateless-proxy/kamailio.cfg"),
    )
    .expect("example readable");
    let (i, program) = load(&src);
    let e = engine(i);
    let mut w = WorkerState::default();
    assert_eq!(
        first_line(&run(&e, &mut w, &request("OPTIONS", "", 70))),
        "SIP/2.0 200 Keepalive"
    );
    assert_eq!(
        first_line(&run(&e, &mut w, &request("INVITE", "bob", 0))),
        "SIP/2.0 483 Too Many Hops"
    );
    assert_eq!(
        first_line(&run(&e, &mut w, &request("INVITE", "blocked", 70))),
        "SIP/2.0 403 Forbidden"
    );
    // Relayed to $du (NEXT_HOP:NEXT_PORT), with our Via on top; `$var`
    // counts per worker across messages.
    let out = run(&e, &mut w, &request("INVITE", "bob", 70));
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].dst.to_string(), "127.0.0.1:5070");
    let fwd = String::from_utf8_lossy(&out[0].data);
    assert!(
        fwd.starts_with("INVITE sip:bob@127.0.0.1 SIP/2.0\r\n"),
        "{fwd}"
    );
    // Core forward() leaves Max-Forwards alone (maxfwd is a module).
    assert!(fwd.contains("Max-Forwards: 70\r\n"), "{fwd}");
    let _ = run(&e, &mut w, &request("INVITE", "carol", 70));
    let count = program
        .vars
        .iter()
        .position(|v| v == "count")
        .expect("$var(count)");
    assert_eq!(w.vars[count], Value::Int(2));
}

#[test]
fn control_flow_and_values_match_kamailio_semantics() {
    let (i, program) = load(
        "loadmodule \"sl.so\"\nloadmodule \"textops.so\"\nloadmodule \"pv.so\"\n\
request_route {\n\
    $var(i) = 0;\n\
    while ($var(i) < 1000) { $var(i) = $var(i) + 1; }\n\
    $var(s) = \"a\" + 1;\n\
    $var(n) = 1 + (int)\"2\";\n\
    $var(d) = 7 / 0;\n\
    switch ($rU) {\n\
        case \"x\": $var(sw) = 1;\n\
        case \"y\": $var(sw) = $var(sw) + 2; break;\n\
        default: $var(sw) = 9;\n\
    }\n\
    route(R);\n\
    $var(r) = $rc;\n\
    if (is_method(\"INVITE\") && $rU =~ \"^X$\") { $var(m) = 1; } else { $var(m) = 2; }\n\
    sl_send_reply(\"200\", \"ok $var(i)\");\n\
}\n\
route[R] {\n\
    return -3;\n\
}\n",
    );
    let e = engine(i);
    let mut w = WorkerState::default();
    let out = run(&e, &mut w, &request("INVITE", "x", 70));
    let slot = |n: &str| program.vars.iter().position(|v| v == n).expect("var");
    // The loop stops after Kamailio's 100 rounds.
    assert_eq!(w.vars[slot("i")], Value::Int(100));
    assert_eq!(w.vars[slot("s")], Value::string("a1"));
    assert_eq!(w.vars[slot("n")], Value::Int(3));
    // Division by zero is $null, which `$var` stores as 0.
    assert_eq!(w.vars[slot("d")], Value::Int(0));
    // Fall-through from case "x" into case "y", then break.
    assert_eq!(w.vars[slot("sw")], Value::Int(3));
    assert_eq!(w.vars[slot("r")], Value::Int(-3));
    // `=~` is case-insensitive.
    assert_eq!(w.vars[slot("m")], Value::Int(1));
    assert_eq!(first_line(&out), "SIP/2.0 200 ok 100");
}

#[test]
fn a_zero_return_ends_the_script_and_drop_stops_relaying() {
    let (i, _) = load(
        "loadmodule \"sl.so\"\nloadmodule \"pv.so\"\n\
request_route {\n\
    if ($rU == \"zero\") { route(Z); }\n\
    if ($rU == \"drop\") { drop; }\n\
    sl_send_reply(\"404\", \"after\");\n\
}\n\
route[Z] {\n\
    return 0;\n\
}\n",
    );
    let e = engine(i);
    let mut w = WorkerState::default();
    assert_eq!(
        first_line(&run(&e, &mut w, &request("INVITE", "zero", 70))),
        "nothing sent"
    );
    assert_eq!(
        first_line(&run(&e, &mut w, &request("INVITE", "drop", 70))),
        "nothing sent"
    );
    assert_eq!(
        first_line(&run(&e, &mut w, &request("INVITE", "other", 70))),
        "SIP/2.0 404 after"
    );
}

#[test]
fn every_binding_has_an_interpreter_wrapper() {
    // The table is generated in the binding table's order, one per row,
    // and every binding's arguments fit the interpreter's stack array.
    assert_eq!(MODULE_FNS.len(), cfgc::catalog::runtime::BINDINGS.len());
    for b in cfgc::catalog::runtime::BINDINGS {
        assert!(b.args.len() <= MAX_ARGS, "{}.{}", b.module, b.name);
    }
}

#[test]
fn acc_log_extra_is_resolved_for_the_runtime_to_read() {
    let (interp, _) = load(
        "loadmodule \"tm.so\"\nloadmodule \"pv.so\"\nloadmodule \"acc.so\"\n\
modparam(\"acc\", \"log_extra\", \"src_user=$fU;dst_user=$rU;ua=$(ua{s.toupper});n=$null;ip=$si\")\n\
request_route {\n    t_relay();\n}\n",
    );
    let Some(ir::ModParamValue::PvList(extras)) = interp
        .settings()
        .modparams
        .iter()
        .find(|m| m.module == "acc" && m.name == "log_extra")
        .map(|m| &m.value)
    else {
        panic!("log_extra not resolved: {:?}", interp.settings().modparams);
    };
    let raw = request("INVITE", "bob", 70);
    let msg = runtime::sip::Message::parse(&raw).expect("parses");
    let core = CoreConfig::default();
    let rcv = rcv();
    let mut worker = WorkerState::default();
    let mut out = Vec::new();
    let ctx = Ctx::new(&msg, &rcv, &core, &mut worker, &mut out);
    let mut line = Vec::new();
    for (name, pv) in extras {
        runtime::modules::acc::push_extra(&mut line, name, &pv::read(&ctx, pv));
    }
    assert_eq!(
        String::from_utf8(line).expect("utf8"),
        ";src_user=alice;dst_user=bob;ua=TESTER;n=;ip=127.0.0.1"
    );
}
