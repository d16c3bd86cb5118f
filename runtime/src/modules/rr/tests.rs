use super::*;
use crate::engine::params::ParamValue;
use crate::modules::Modules;
use crate::modules::testutil::{forwarded, msg, run, run_with};

fn stock() -> Modules {
    let mut p = ModParams::new();
    p.push("rr", "enable_full_lr", ParamValue::Int(0));
    p.push("rr", "append_fromtag", ParamValue::Int(0));
    Modules::new(p).expect("modules")
}

fn text(b: Vec<u8>) -> String {
    String::from_utf8(b).expect("utf8")
}

fn invite(ruri: &str) -> Vec<u8> {
    let start = format!("INVITE {ruri} SIP/2.0");
    msg(&[
        &start,
        "Via: SIP/2.0/UDP 127.0.0.1:5080;rport;branch=z9hG4bK-inv1",
        "From: \"Alice\" <sip:alice@127.0.0.1>;tag=s6lt",
        "To: <sip:bob@127.0.0.1>",
        "Call-ID: inv1@x",
        "CSeq: 10 INVITE",
        "Max-Forwards: 70",
        "Content-Length: 0",
    ])
}

fn in_dialog(ruri: &str, routes: &[&str]) -> Vec<u8> {
    let start = format!("BYE {ruri} SIP/2.0");
    let mut l = vec![
        start.as_str(),
        "Via: SIP/2.0/UDP 127.0.0.1:5080;rport;branch=z9hG4bK-bye1",
    ];
    l.extend_from_slice(routes);
    l.extend_from_slice(&[
        "From: <sip:alice@127.0.0.1>;tag=s6lt",
        "To: <sip:bob@127.0.0.1>;tag=b1",
        "Call-ID: inv1@x",
        "CSeq: 11 BYE",
        "Content-Length: 0",
    ]);
    msg(&l)
}

#[test]
fn record_route_stock_is_first_line() {
    let m = stock();
    let (out, _) = run_with(
        &invite("sip:bob@127.0.0.1:5090"),
        &m,
        std::time::Instant::now(),
        |ctx| {
            assert_eq!(record_route(ctx), 1);
            assert_eq!(record_route(ctx), -1, "double attempt");
            forwarded(ctx)
        },
    );
    let t = text(out);
    assert!(
        t.starts_with(
            "INVITE sip:bob@127.0.0.1:5090 SIP/2.0\r\nRecord-Route: <sip:127.0.0.1:5070;lr>\r\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch="
        ),
        "{t}"
    );
}

#[test]
fn ftag_params_and_add_rr_param_order() {
    let (out, _) = run(&invite("sip:bob@127.0.0.1:5090"), |ctx| {
        assert_eq!(add_rr_param(ctx, b";p1=v1"), 1);
        assert_eq!(record_route(ctx), 1);
        assert_eq!(add_rr_param(ctx, b";p2=v2"), 1);
        forwarded(ctx)
    });
    assert!(
        text(out).contains("\r\nRecord-Route: <sip:127.0.0.1:5070;lr;ftag=s6lt;p1=v1;p2=v2>\r\n")
    );
    let (out, _) = run(&invite("sip:bob@127.0.0.1:5090"), |ctx| {
        ctx.modules = Box::leak(Box::new(Modules {
            rr: Config {
                enable_full_lr: true,
                ..Config::default()
            },
            ..Modules::default()
        }));
        assert_eq!(record_route_params(ctx, b";foo=bar"), 1);
        forwarded(ctx)
    });
    assert!(
        text(out).contains("\r\nRecord-Route: <sip:127.0.0.1:5070;lr=on;ftag=s6lt;foo=bar>\r\n")
    );
}

#[test]
fn double_rr_when_transport_changes() {
    let m = stock();
    let (out, _) = run_with(
        &invite("sip:bob@127.0.0.1:5090;transport=tcp"),
        &m,
        std::time::Instant::now(),
        |ctx| {
            add_rr_param(ctx, b";nat=yes");
            record_route(ctx);
            forwarded(ctx)
        },
    );
    let t = text(out);
    assert!(
        t.contains(
            "SIP/2.0\r\nRecord-Route: <sip:127.0.0.1:5070;transport=tcp;r2=on;lr;nat=yes>\r\nRecord-Route: <sip:127.0.0.1:5070;r2=on;lr;nat=yes>\r\nVia: SIP/2.0/TCP "
        ),
        "{t}"
    );
}

#[test]
fn remove_record_route_drops_it() {
    let (out, _) = run(&invite("sip:bob@127.0.0.1:5090"), |ctx| {
        record_route(ctx);
        remove_record_route(ctx);
        forwarded(ctx)
    });
    assert!(!text(out).contains("Record-Route"));
}

#[test]
fn no_route_is_minus_one() {
    let (rc, _) = run(&in_dialog("sip:bob@127.0.0.1:5090", &[]), |ctx| {
        (loose_route(ctx), ctx.headers.len())
    });
    assert_eq!(rc, (-1, 0));
}

#[test]
fn own_route_removed_in_dialog() {
    let raw = in_dialog(
        "sip:bob@127.0.0.1:5090",
        &["Route: <sip:127.0.0.1:5070;lr>"],
    );
    let (out, _) = run(&raw, |ctx| {
        assert_eq!(loose_route(ctx), 1);
        assert_eq!(ctx.dst_uri, None);
        assert_eq!(ctx.route_params.as_deref(), Some(&b";lr"[..]));
        forwarded(ctx)
    });
    let t = text(out);
    assert!(t.starts_with("BYE sip:bob@127.0.0.1:5090 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5070"));
    assert!(!t.contains("Route:"), "{t}");
}

#[test]
fn preloaded_own_route_is_minus_three() {
    let raw = msg(&[
        "INVITE sip:bob@127.0.0.1:5090 SIP/2.0",
        "Via: SIP/2.0/UDP 127.0.0.1:5080;branch=z9hG4bK-p",
        "Route: <sip:127.0.0.1:5070;lr>",
        "From: <sip:alice@127.0.0.1>;tag=s6lt",
        "To: <sip:bob@127.0.0.1>",
        "Call-ID: p@x",
        "CSeq: 1 INVITE",
        "Content-Length: 0",
    ]);
    let (out, _) = run(&raw, |ctx| {
        assert_eq!(loose_route(ctx), -3);
        forwarded(ctx)
    });
    assert!(!text(out).contains("Route:"));
}

#[test]
fn loose_next_hop_sets_du_and_keeps_rest_verbatim() {
    let raw = in_dialog(
        "sip:bob@127.0.0.1:5090",
        &["Route: <sip:127.0.0.1:5070;lr;nat=yes>,  <sip:10.0.0.9;lr>,<sip:10.0.0.10;lr>"],
    );
    let (out, _) = run(&raw, |ctx| {
        assert_eq!(loose_route(ctx), 1);
        assert_eq!(ctx.dst_uri.as_deref(), Some(&b"sip:10.0.0.9;lr"[..]));
        assert_eq!(check_route_param(ctx, b"nat=yes"), 1);
        assert_eq!(check_route_param(ctx, b"foo"), -1);
        assert_eq!(is_direction(ctx, b"downstream"), 1);
        assert_eq!(is_direction(ctx, b"upstream"), -1);
        ctx.dst_uri = Some(b"sip:127.0.0.1:5090".to_vec());
        forwarded(ctx)
    });
    let t = text(out);
    assert!(
        t.contains("\r\nRoute: <sip:10.0.0.9;lr>,<sip:10.0.0.10;lr>\r\n"),
        "{t}"
    );
}

#[test]
fn strict_next_hop_reference_trace() {
    // kamailio-modules.md §4, observed on 5.6.3.
    let raw = in_dialog(
        "sip:bob@127.0.0.1:5090",
        &["Route: <sip:127.0.0.1:5070;lr>, <sip:127.0.0.1:5091;foo=bar>"],
    );
    let (out, _) = run(&raw, |ctx| {
        assert_eq!(loose_route(ctx), 1);
        forwarded(ctx)
    });
    let t = text(out);
    assert!(
        t.starts_with("BYE sip:127.0.0.1:5091;foo=bar SIP/2.0\r\n"),
        "{t}"
    );
    assert!(
        t.ends_with("Content-Length: 0\r\nRoute: <sip:bob@127.0.0.1:5090>\r\n\r\n"),
        "{t}"
    );
    assert_eq!(t.matches("Route:").count(), 1, "{t}");
}

#[test]
fn previous_hop_strict_router_reference_trace() {
    let raw = in_dialog("sip:127.0.0.1:5070", &["Route: <sip:bob@127.0.0.1:5090>"]);
    let (out, _) = run(&raw, |ctx| {
        assert_eq!(loose_route(ctx), 1);
        forwarded(ctx)
    });
    let t = text(out);
    assert!(
        t.starts_with("BYE sip:bob@127.0.0.1:5090 SIP/2.0\r\n"),
        "{t}"
    );
    assert!(!t.contains("Route:"), "{t}");
}

#[test]
fn previous_hop_strict_next_loose_restores_ruri_from_last_route() {
    let raw = in_dialog(
        "sip:127.0.0.1:5070;lr",
        &[
            "Route: <sip:10.0.0.9;lr>",
            "Route: <sip:10.0.0.10;lr>, <sip:bob@10.0.0.11>",
        ],
    );
    let (rc, _) = run(&raw, |ctx| {
        (
            loose_route(ctx),
            ctx.dst_uri.clone(),
            ctx.new_uri.clone(),
            ctx.headers.clone(),
        )
    });
    assert_eq!(rc.0, 1);
    assert_eq!(rc.1.as_deref(), Some(&b"sip:10.0.0.9;lr"[..]));
    assert_eq!(rc.2.as_deref(), Some(&b"sip:bob@10.0.0.11"[..]));
    assert_eq!(rc.3.len(), 1);
    assert!(matches!(&rc.3[0], HeaderOp::Replace { data, .. } if data == b"<sip:10.0.0.10;lr>"));
}

#[test]
fn double_rr_pair_removed_across_headers() {
    let raw = in_dialog(
        "sip:bob@127.0.0.1:5090",
        &[
            "Route: <sip:127.0.0.1:5070;transport=tcp;r2=on;lr>",
            "Route: <sip:127.0.0.1:5070;r2=on;lr;ftag=zz>",
            "Route: <sip:10.0.0.9;lr>",
        ],
    );
    let (rc, _) = run(&raw, |ctx| {
        (loose_route(ctx), ctx.dst_uri.clone(), ctx.headers.clone())
    });
    assert_eq!(rc.0, 1);
    assert_eq!(rc.1.as_deref(), Some(&b"sip:10.0.0.9;lr"[..]));
    assert_eq!(rc.2, vec![HeaderOp::Remove(1), HeaderOp::Remove(2)]);
}

#[test]
fn upstream_uses_to_tag_for_ftag() {
    let raw = in_dialog(
        "sip:bob@127.0.0.1:5090",
        &["Route: <sip:127.0.0.1:5070;lr;ftag=other>"],
    );
    let (out, _) = run(&raw, |ctx| {
        assert_eq!(loose_route(ctx), 1);
        assert_eq!(is_direction(ctx, b"upstream"), 1);
        record_route(ctx);
        forwarded(ctx)
    });
    assert!(text(out).contains("Record-Route: <sip:127.0.0.1:5070;lr;ftag=b1>"));
}

#[test]
fn maddr_replaces_host_of_loose_next_hop() {
    let raw = in_dialog(
        "sip:bob@127.0.0.1:5090",
        &["Route: <sip:127.0.0.1:5070;lr>, <sip:proxy.example.com:5099;lr;maddr=10.1.1.1>"],
    );
    let (du, _) = run(&raw, |ctx| {
        loose_route(ctx);
        ctx.dst_uri.clone()
    });
    assert_eq!(du.as_deref(), Some(&b"sip:10.1.1.1:5099"[..]));
}
