//! Transformation semantics, from Kamailio 5.6's pv_trans.c.

use super::*;

fn s(x: &str) -> Value<'_> {
    Value::str(x.as_bytes())
}

fn ev<'a>(v: Value<'a>, ops: &[Op<'_>]) -> Value<'a> {
    eval(v, ops)
}

fn text(v: Value<'_>, ops: &[Op<'_>]) -> String {
    let mut b = Vec::new();
    push(&mut b, v, ops);
    String::from_utf8(b).unwrap()
}

#[test]
fn null_input_fails_every_transformation() {
    for op in [
        Op::SLen,
        Op::SInt,
        Op::STolower,
        Op::UriUser,
        Op::ParamCount(Arg::Str(b";")),
        Op::NameaddrUri,
        Op::TobodyTag,
    ] {
        assert_eq!(
            ev(Value::Null, std::slice::from_ref(&op)),
            Value::Null,
            "{op:?}"
        );
        assert_eq!(text(Value::Null, &[op]), "", "a failure prints nothing");
    }
}

#[test]
fn len_and_int() {
    assert_eq!(ev(s("hello"), &[Op::SLen]), Value::Int(5));
    assert_eq!(ev(s(""), &[Op::SLen]), Value::Int(0));
    assert_eq!(ev(Value::Int(-42), &[Op::SLen]), Value::Int(3));
    assert_eq!(ev(s("-17"), &[Op::SInt]), Value::Int(-17));
    assert_eq!(ev(s("+5"), &[Op::SInt]), Value::Int(5));
    assert_eq!(
        ev(s(""), &[Op::SInt]),
        Value::Int(0),
        "str2sint of empty is 0"
    );
    assert_eq!(ev(s("12a"), &[Op::SInt]), Value::Null);
    assert_eq!(ev(s(" 1"), &[Op::SInt]), Value::Null);
    assert_eq!(ev(s("0x10"), &[Op::SInt]), Value::Null);
    assert_eq!(ev(s("2147483648"), &[Op::SInt]), Value::Null, "overflow");
    assert_eq!(ev(s("-2147483648"), &[Op::SInt]), Value::Int(i32::MIN));
    assert_eq!(text(s("12"), &[Op::SInt]), "12");
}

#[test]
fn substr() {
    let sub = |v: &'static str, i, j| ev(s(v), &[Op::SSubstr(Arg::Int(i), Arg::Int(j))]);
    assert_eq!(sub("abcdef", 1, 3), s("bcd"));
    assert_eq!(sub("abcdef", 1, 0), s("bcdef"), "0: to the end");
    assert_eq!(sub("abcdef", 2, 10), s("cdef"), "too long: to the end");
    assert_eq!(sub("abcdef", 6, 1), Value::Null, "offset past the end");
    assert_eq!(sub("abcdef", -2, 0), s("ef"));
    assert_eq!(sub("abcdef", -4, 2), s("cd"));
    assert_eq!(sub("abcdef", -2, 5), s("ef"));
    assert_eq!(sub("abcdef", -7, 1), Value::Null);
    assert_eq!(sub("abcdef", 0, -1), Value::Null, "negative length");
    assert_eq!(sub("", 0, 0), Value::Null);
    // A PV parameter must have an int value.
    let p = |v: Value<'static>| ev(s("abcdef"), &[Op::SSubstr(Arg::Pv(v), Arg::Int(2))]);
    assert_eq!(p(Value::Int(1)), s("bc"));
    assert_eq!(p(s("1")), Value::Null);
    assert_eq!(p(Value::Null), Value::Null);
    // An int input is substr'd as its decimal string, result a string.
    assert_eq!(
        ev(Value::Int(12345), &[Op::SSubstr(Arg::Int(0), Arg::Int(2))]),
        s("12")
    );
}

#[test]
fn select() {
    let sel =
        |v: &'static str, i, c: &'static [u8]| ev(s(v), &[Op::SSelect(Arg::Int(i), Arg::Str(c))]);
    assert_eq!(sel("a,b,c", 0, b","), s("a"));
    assert_eq!(sel("a,b,c", 2, b","), s("c"));
    assert_eq!(sel("a,b,c", 3, b","), s(""));
    assert_eq!(sel("a,b,c", -1, b","), s("c"));
    assert_eq!(sel("a,b,c", -3, b","), s("a"));
    assert_eq!(sel("a,b,c", -4, b","), s(""));
    assert_eq!(sel("abc", 0, b","), s("abc"));
    assert_eq!(sel("a,,c", 1, b","), s(""));
    assert_eq!(sel("x\ty", 1, b"\\t"), s("y"));
    assert_eq!(sel("x\\y", 1, b"\\\\"), s("y"));
}

#[test]
fn case_strip_trim() {
    assert_eq!(ev(s("AbC1"), &[Op::STolower]), s("abc1"));
    assert_eq!(ev(s("AbC1"), &[Op::SToupper]), s("ABC1"));
    assert_eq!(
        ev(Value::Int(7), &[Op::SToupper]),
        Value::Int(7),
        "ints stay ints"
    );
    assert_eq!(ev(s("+49123"), &[Op::SStrip(Arg::Int(1))]), s("49123"));
    assert_eq!(ev(s("+49123"), &[Op::SStripTail(Arg::Int(2))]), s("+491"));
    assert_eq!(ev(s("abc"), &[Op::SStrip(Arg::Int(3))]), s(""));
    assert_eq!(ev(s("abc"), &[Op::SStrip(Arg::Int(-1))]), s("abc"));
    assert_eq!(ev(Value::Int(123), &[Op::SStrip(Arg::Int(0))]), s("123"));
    assert_eq!(ev(s(" \t a b \r\n"), &[Op::STrim]), s("a b"));
    assert_eq!(ev(s("  a "), &[Op::SLtrim]), s("a "));
    assert_eq!(ev(s("  a "), &[Op::SRtrim]), s("  a"));
    assert_eq!(ev(s("   "), &[Op::STrim]), s(""));
    assert_eq!(ev(s("sip:x@y"), &[Op::SStripTo(Arg::Str(b"@"))]), s("@y"));
    assert_eq!(ev(s("sip:x"), &[Op::SStripTo(Arg::Str(b"@"))]), s(""));
}

#[test]
fn prefixes_rm_replace_numeric() {
    assert_eq!(
        ev(s("1234"), &[Op::SPrefixes(Arg::Int(0))]),
        s("1,12,123,1234")
    );
    assert_eq!(ev(s("1234"), &[Op::SPrefixes(Arg::Int(2))]), s("1,12"));
    assert_eq!(
        ev(s("123"), &[Op::SPrefixesQuoted(Arg::Int(0))]),
        s("'1','12','123'")
    );
    assert_eq!(ev(s(""), &[Op::SPrefixes(Arg::Int(0))]), s(""));
    assert_eq!(ev(s("a-b-c"), &[Op::SRm(Arg::Str(b"-"))]), s("abc"));
    assert_eq!(ev(s("a\tb"), &[Op::SRm(Arg::Str(b"\\t"))]), s("ab"));
    assert_eq!(ev(s("aaa"), &[Op::SRm(Arg::Str(b"aa"))]), s("a"));
    assert_eq!(
        ev(s("a.b.c"), &[Op::SReplace(Arg::Str(b"."), Arg::Str(b"::"))]),
        s("a::b::c")
    );
    assert_eq!(
        ev(s("abc"), &[Op::SReplace(Arg::Pv(s("")), Arg::Str(b"x"))]),
        Value::Null,
        "an empty PV parameter fails"
    );
    assert_eq!(ev(s("040/123-456"), &[Op::SNumeric]), s("040123456"));
}

#[test]
fn encodings() {
    assert_eq!(
        ev(s(""), &[Op::SMd5]),
        s("d41d8cd98f00b204e9800998ecf8427e")
    );
    assert_eq!(
        ev(
            s("The quick brown fox jumps over the lazy dog"),
            &[Op::SMd5]
        ),
        s("9e107d9d372bb6826bd81d3542a419d6")
    );
    let long = "a".repeat(100);
    assert_eq!(
        ev(Value::str(long.as_bytes()), &[Op::SMd5]),
        s("36a92cc94a9e0fa21f625f8bfb007adf")
    );
    assert_eq!(ev(s("Az\x01"), &[Op::SEncodeHexa]), s("417a01"));
    assert_eq!(ev(s("417A01"), &[Op::SDecodeHexa]), s("Az\x01"));
    assert_eq!(
        ev(s("417"), &[Op::SDecodeHexa]),
        s("A"),
        "an odd last digit is ignored"
    );
    assert_eq!(ev(s("4g"), &[Op::SDecodeHexa]), Value::Null);
    for (plain, enc) in [
        ("", ""),
        ("f", "Zg=="),
        ("fo", "Zm8="),
        ("foo", "Zm9v"),
        ("foobar", "Zm9vYmFy"),
    ] {
        assert_eq!(ev(s(plain), &[Op::SEncodeBase64]), s(enc));
        assert_eq!(ev(s(enc), &[Op::SDecodeBase64]), s(plain));
    }
    assert_eq!(
        ev(s("Zm9"), &[Op::SDecodeBase64]),
        Value::Null,
        "not a multiple of 4"
    );
    assert_eq!(ev(s("Zm=v"), &[Op::SDecodeBase64]), Value::Null);
    assert_eq!(ev(s("a'b\"c\\"), &[Op::SEscapeCommon]), s("a\\'b\\\"c\\\\"));
    assert_eq!(
        ev(s("a\\'b\\\"c\\\\d\\x"), &[Op::SUnescapeCommon]),
        s("a'b\"c\\d\\x")
    );
}

#[test]
fn chains() {
    assert_eq!(
        ev(
            s("ABCDEF"),
            &[
                Op::STolower,
                Op::SSubstr(Arg::Int(1), Arg::Int(2)),
                Op::SLen
            ]
        ),
        Value::Int(2)
    );
    assert_eq!(
        ev(
            s("<sip:Bob@Example.com>"),
            &[Op::NameaddrUri, Op::UriHost, Op::STolower]
        ),
        s("example.com")
    );
    // A failing stage fails the chain.
    assert_eq!(
        ev(s("x"), &[Op::SSubstr(Arg::Int(5), Arg::Int(1)), Op::SLen]),
        Value::Null
    );
}

#[test]
fn uri_parts() {
    let u = "sip:alice:pw@Example.com:5070;transport=TCP;lr;user=phone;maddr=1.2.3.4;ttl=5;method=INVITE;r2=on;x=1?h=v";
    let g = |op: Op<'static>| ev(s(u), &[op]);
    assert_eq!(g(Op::UriUser), s("alice"));
    assert_eq!(g(Op::UriPasswd), s("pw"));
    assert_eq!(g(Op::UriHost), s("Example.com"));
    assert_eq!(g(Op::UriPort), Value::Int(5070));
    assert_eq!(g(Op::UriTransport), s("TCP"));
    assert_eq!(g(Op::UriUparam), s("phone"));
    assert_eq!(g(Op::UriMaddr), s("1.2.3.4"));
    assert_eq!(g(Op::UriTtl), s("5"));
    assert_eq!(g(Op::UriMethod), s("INVITE"));
    assert_eq!(g(Op::UriR2), s("on"));
    assert_eq!(g(Op::UriLr), s(""));
    assert_eq!(g(Op::UriHeaders), s("h=v"));
    assert_eq!(
        g(Op::UriParams),
        s("transport=TCP;lr;user=phone;maddr=1.2.3.4;ttl=5;method=INVITE;r2=on;x=1")
    );
    assert_eq!(g(Op::UriParam(Arg::Str(b"X"))), s("1"));
    assert_eq!(g(Op::UriParam(Arg::Str(b"nope"))), s(""));
    assert_eq!(g(Op::UriScheme), s("sip"));
    assert_eq!(g(Op::UriTosocket), s("tcp:Example.com:5070"));
    assert_eq!(g(Op::UriDuri), s("sip:Example.com:5070;transport=TCP"));
    assert_eq!(g(Op::UriSaor), s("sip:alice@Example.com"));
    assert_eq!(
        g(Op::UriSuri),
        s("sip:alice@Example.com:5070;transport=TCP")
    );

    let plain = "sip:bob@h";
    assert_eq!(ev(s(plain), &[Op::UriPort]), Value::Int(0));
    assert_eq!(
        text(s(plain), &[Op::UriPort]),
        "",
        "no port prints as empty"
    );
    assert_eq!(ev(s(plain), &[Op::UriTosocket]), s(""), "no transport");
    assert_eq!(ev(s(plain), &[Op::UriParams]), s(""));
    assert_eq!(ev(s(plain), &[Op::UriParam(Arg::Str(b"a"))]), s(""));
    assert_eq!(
        ev(s("sip:h;a=1;a=2"), &[Op::UriParam(Arg::Str(b"a"))]),
        s("2")
    );
    assert_eq!(ev(s("sip:h"), &[Op::UriUser]), s(""));
    assert_eq!(
        ev(s("sip:bob@h;lr;"), &[Op::UriHost]),
        s("h"),
        "a trailing `;` is ignored"
    );
    assert_eq!(ev(s("not a uri"), &[Op::UriUser]), Value::Null);
    assert_eq!(ev(s(""), &[Op::UriUser]), Value::Null);
}

#[test]
fn params() {
    let p = "a=1; b = \"x y\" ;c;a=3";
    let g = |op: Op<'static>| ev(s(p), &[op]);
    let semi = || Arg::Str(b";");
    assert_eq!(g(Op::ParamValue(Arg::Str(b"b"), semi())), s("x y"));
    assert_eq!(
        g(Op::ParamValue(Arg::Str(b"A"), semi())),
        s("3"),
        "the last of repeated names"
    );
    assert_eq!(g(Op::ParamValue(Arg::Str(b"c"), semi())), s(""));
    assert_eq!(g(Op::ParamValue(Arg::Str(b"z"), semi())), s(""));
    assert_eq!(g(Op::ParamIn(Arg::Str(b"c"), semi())), Value::Int(1));
    assert_eq!(g(Op::ParamIn(Arg::Str(b"z"), semi())), Value::Int(0));
    assert_eq!(g(Op::ParamCount(semi())), Value::Int(4));
    assert_eq!(g(Op::ParamValueAt(Arg::Int(0), semi())), s("1"));
    assert_eq!(g(Op::ParamValueAt(Arg::Int(1), semi())), s("x y"));
    assert_eq!(g(Op::ParamValueAt(Arg::Int(-1), semi())), s("3"));
    assert_eq!(g(Op::ParamValueAt(Arg::Int(4), semi())), s(""));
    assert_eq!(g(Op::ParamName(Arg::Int(2), semi())), s("c"));
    assert_eq!(g(Op::ParamName(Arg::Int(-4), semi())), s("a"));
    assert_eq!(
        ev(
            s("a=1&b=2&"),
            &[Op::ParamValue(Arg::Str(b"b"), Arg::Str(b"&"))]
        ),
        s("2"),
        "another delimiter; a trailing one is dropped"
    );
    assert_eq!(
        ev(s("a=1&b=2"), &[Op::ParamCount(Arg::Str(b"&"))]),
        Value::Int(2)
    );
    assert_eq!(
        ev(s("a=1"), &[Op::ParamValue(Arg::Str(b"a"), Arg::Pv(s(";")))]),
        Value::Null,
        "the delimiter must be a constant"
    );
    assert_eq!(ev(s(""), &[Op::ParamCount(semi())]), Value::Null);
    assert_eq!(
        ev(s("a=\"x"), &[Op::ParamCount(semi())]),
        Value::Null,
        "unclosed quote"
    );
}

#[test]
fn nameaddr_and_tobody() {
    let na = "\"Bob <b>\" <sip:bob@b.example;transport=tcp>;tag=abc;x=y";
    assert_eq!(ev(s(na), &[Op::NameaddrName]), s("\"Bob <b>\" "));
    assert_eq!(
        ev(s(na), &[Op::NameaddrUri]),
        s("sip:bob@b.example;transport=tcp")
    );
    assert_eq!(ev(s(na), &[Op::NameaddrLen]), Value::Int(43));
    assert_eq!(ev(s("sip:a@b"), &[Op::NameaddrUri]), s("sip:a@b"));
    assert_eq!(ev(s("sip:a@b"), &[Op::NameaddrName]), s(""));
    assert_eq!(ev(s("sip:a@b"), &[Op::NameaddrLen]), Value::Int(7));
    assert_eq!(ev(s("<sip:a@b"), &[Op::NameaddrUri]), Value::Null, "no `>`");

    assert_eq!(
        ev(s(na), &[Op::TobodyUri]),
        s("sip:bob@b.example;transport=tcp")
    );
    assert_eq!(ev(s(na), &[Op::TobodyDisplay]), s("\"Bob <b>\""));
    assert_eq!(ev(s(na), &[Op::TobodyTag]), s("abc"));
    assert_eq!(ev(s(na), &[Op::TobodyUser]), s("bob"));
    assert_eq!(ev(s(na), &[Op::TobodyHost]), s("b.example"));
    assert_eq!(ev(s(na), &[Op::TobodyParams]), s("tag=abc;x=y"));
    assert_eq!(ev(s("<sip:a@b>"), &[Op::TobodyTag]), s(""));
    assert_eq!(ev(s("<sip:a@b>"), &[Op::TobodyDisplay]), s(""));
    assert_eq!(ev(s("<nonsense>"), &[Op::TobodyUri]), Value::Null);
}

#[test]
fn every_vocabulary_transformation_has_its_op() {
    for t in cfgc_vocab::TRANSFORMATIONS {
        let args = |n: usize| (0..n).map(|_| Arg::Int(0)).collect::<Vec<_>>();
        assert!(
            op(t.kind, args(t.params.len())).is_some(),
            "{:?} with {} parameter(s)",
            t.kind,
            t.params.len()
        );
        assert!(op(t.kind, args(t.params.len() + 1)).is_none());
    }
}

/// RFC 1321's test suite, and lengths around the padding's block edges,
/// against Python's hashlib.
#[test]
fn md5_matches_reference_digests() {
    let cases = [
        ("".to_string(), "d41d8cd98f00b204e9800998ecf8427e"),
        ("a".to_string(), "0cc175b9c0f1b6a831c399e269772661"),
        ("abc".to_string(), "900150983cd24fb0d6963f7d28e17f72"),
        (
            "message digest".to_string(),
            "f96b697d7cb7938d525a2f31aaf161d0",
        ),
        (
            "abcdefghijklmnopqrstuvwxyz".to_string(),
            "c3fcd3d76192e4007dfb496cca67e13b",
        ),
        (
            "12345678901234567890123456789012345678901234567890123456789012345678901234567890"
                .to_string(),
            "57edf4a22be3c955ac49da2e2107b67a",
        ),
        ("x".repeat(55), "04364420e25c512fd958a70738aa8f72"),
        ("x".repeat(56), "668a72d5ba17f08e62dabcafad6db14b"),
        ("x".repeat(63), "7dc2ca208106a2f703567bdff99d8981"),
        ("x".repeat(64), "c1bb4f81d892b2d57947682aeb252456"),
        ("x".repeat(119), "ab347a5f68c8a443cfcddc633f12c24f"),
        ("x".repeat(120), "fb98667f98096de92620b64f46e1c5b5"),
        ("x".repeat(200), "30a83621ce5422fbdfdd539777458c78"),
    ];
    for (input, want) in cases {
        let got: String = md5(input.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(got, want, "md5 of {} bytes", input.len());
    }
}
