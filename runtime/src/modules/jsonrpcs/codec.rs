//! JSON-RPC 2.0 as Kamailio's jsonrpcs speaks it, sans-IO: a JSON parser
//! (bounded depth, never panics), request handling (kamailio-modules
//! reference §10.2) and the reply printer, formatted as Kamailio's
//! `srjson` prints (`pretty_format` 1: tabs, `"key":\tvalue`, arrays on
//! one line) or compact.

use crate::engine::module::{RpcError, RpcValue};

/// A parsed JSON value.
#[derive(Clone, Debug, PartialEq)]
pub enum Json {
    Null,
    Bool(bool),
    Num(f64),
    Str(String),
    Arr(Vec<Json>),
    Obj(Vec<(String, Json)>),
}

impl Json {
    /// The first member called `key` of an object.
    pub fn get(&self, key: &str) -> Option<&Json> {
        match self {
            Json::Obj(m) => m.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Json::Str(s) => Some(s),
            _ => None,
        }
    }
}

/// Nesting deeper than this is refused (no stack overflow on hostile
/// input).
const MAX_DEPTH: usize = 256;

struct Parser<'a> {
    b: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn ws(&mut self) {
        while self.b.get(self.i).is_some_and(|c| *c <= b' ' && *c != 0) {
            self.i += 1;
        }
    }

    fn value(&mut self, depth: usize) -> Option<Json> {
        if depth > MAX_DEPTH {
            return None;
        }
        self.ws();
        match *self.b.get(self.i)? {
            b'{' => {
                self.i += 1;
                let mut m = Vec::new();
                self.ws();
                if self.b.get(self.i) == Some(&b'}') {
                    self.i += 1;
                    return Some(Json::Obj(m));
                }
                loop {
                    self.ws();
                    if self.b.get(self.i) != Some(&b'"') {
                        return None;
                    }
                    let k = self.string()?;
                    self.ws();
                    if self.b.get(self.i) != Some(&b':') {
                        return None;
                    }
                    self.i += 1;
                    let v = self.value(depth + 1)?;
                    m.push((k, v));
                    self.ws();
                    match self.b.get(self.i)? {
                        b',' => self.i += 1,
                        b'}' => {
                            self.i += 1;
                            return Some(Json::Obj(m));
                        }
                        _ => return None,
                    }
                }
            }
            b'[' => {
                self.i += 1;
                let mut a = Vec::new();
                self.ws();
                if self.b.get(self.i) == Some(&b']') {
                    self.i += 1;
                    return Some(Json::Arr(a));
                }
                loop {
                    a.push(self.value(depth + 1)?);
                    self.ws();
                    match self.b.get(self.i)? {
                        b',' => self.i += 1,
                        b']' => {
                            self.i += 1;
                            return Some(Json::Arr(a));
                        }
                        _ => return None,
                    }
                }
            }
            b'"' => self.string().map(Json::Str),
            b't' => self.word(b"true", Json::Bool(true)),
            b'f' => self.word(b"false", Json::Bool(false)),
            b'n' => self.word(b"null", Json::Null),
            b'-' | b'0'..=b'9' => self.number(),
            _ => None,
        }
    }

    fn word(&mut self, w: &[u8], v: Json) -> Option<Json> {
        if self.b.get(self.i..self.i + w.len()) == Some(w) {
            self.i += w.len();
            Some(v)
        } else {
            None
        }
    }

    fn number(&mut self) -> Option<Json> {
        let start = self.i;
        while self
            .b
            .get(self.i)
            .is_some_and(|c| matches!(c, b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9'))
        {
            self.i += 1;
        }
        let s = std::str::from_utf8(self.b.get(start..self.i)?).ok()?;
        s.parse::<f64>().ok().map(Json::Num)
    }

    fn hex4(&mut self) -> Option<u32> {
        let h = self.b.get(self.i..self.i + 4)?;
        self.i += 4;
        u32::from_str_radix(std::str::from_utf8(h).ok()?, 16).ok()
    }

    fn string(&mut self) -> Option<String> {
        self.i += 1; // the opening quote
        let mut out: Vec<u8> = Vec::new();
        loop {
            let c = *self.b.get(self.i)?;
            self.i += 1;
            match c {
                b'"' => return Some(String::from_utf8_lossy(&out).into_owned()),
                b'\\' => {
                    let e = *self.b.get(self.i)?;
                    self.i += 1;
                    match e {
                        b'b' => out.push(8),
                        b'f' => out.push(12),
                        b'n' => out.push(b'\n'),
                        b'r' => out.push(b'\r'),
                        b't' => out.push(b'\t'),
                        b'u' => {
                            let mut cp = self.hex4()?;
                            if (0xD800..0xDC00).contains(&cp)
                                && self.b.get(self.i..self.i + 2) == Some(b"\\u")
                            {
                                self.i += 2;
                                let lo = self.hex4()?;
                                if (0xDC00..0xE000).contains(&lo) {
                                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                                }
                            }
                            let ch = char::from_u32(cp).unwrap_or('\u{FFFD}');
                            let mut buf = [0u8; 4];
                            out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                        }
                        other => out.push(other),
                    }
                }
                other => out.push(other),
            }
        }
    }
}

/// Parses the first JSON value of `b` (text after it is ignored, as
/// Kamailio's parser does). `None`: not JSON.
pub fn parse(b: &[u8]) -> Option<Json> {
    Parser { b, i: 0 }.value(0)
}

/// Where a complete JSON object ends in `buf` (the index after its
/// closing brace), counting braces outside strings from the first `{`;
/// `None` while incomplete. Bytes before the first `{` are skipped by the
/// caller (the FIFO reader).
pub fn object_end(buf: &[u8]) -> Option<usize> {
    let mut depth = 0usize;
    let mut in_str = false;
    let mut esc = false;
    for (i, &c) in buf.iter().enumerate() {
        if in_str {
            if esc {
                esc = false;
            } else if c == b'\\' {
                esc = true;
            } else if c == b'"' {
                in_str = false;
            }
            continue;
        }
        match c {
            b'"' => in_str = true,
            b'{' => depth += 1,
            b'}' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return Some(i + 1);
                }
            }
            _ => {}
        }
    }
    None
}

/// Kamailio's RPC commands that answer an array in JSON-RPC (`RET_ARRAY`)
/// among those the runtime implements: their values form the result
/// array; other commands answer their last value (`{}` when none).
pub const RET_ARRAY: &[&str] = &[
    "cnt.grps_list",
    "cnt.var_list",
    "core.ps",
    "core.psx",
    "jsonrpc.echo",
    "stats.get_statistics",
    "system.listMethods",
];

/// Whether `method` answers an array.
pub fn returns_array(method: &str) -> bool {
    RET_ARRAY.contains(&method)
}

/// An RPC dispatcher: runs a command with its parameters.
pub type Dispatch<'a> = &'a dyn Fn(&str, &[&str]) -> Result<Vec<RpcValue>, RpcError>;

/// A parameter as the string an RPC command scans (numbers as Kamailio
/// auto-converts them: integral ones without decimals).
fn param_text(j: &Json) -> String {
    match j {
        Json::Str(s) => s.clone(),
        Json::Num(n) => {
            if n.fract() == 0.0 && n.abs() < 9.0e15 {
                format!("{}", *n as i64)
            } else {
                format!("{n}")
            }
        }
        Json::Bool(b) => u8::from(*b).to_string(),
        _ => String::new(),
    }
}

/// The reply's members, before printing.
enum Outcome {
    Result(Option<RpcValue>, bool),
    Fault(RpcError),
}

/// What a request asks for, as jsonrpcs runs it.
fn run(req: &Json, dispatch: Dispatch<'_>) -> Outcome {
    let empty = Outcome::Result(None, false);
    // Kamailio checks the version and the method and answers `{}` (no
    // error) when they are missing or wrong.
    if req.get("jsonrpc").and_then(Json::as_str) != Some("2.0") {
        return empty;
    }
    let Some(method) = req.get("method").and_then(Json::as_str) else {
        return empty;
    };
    let array = returns_array(method);
    let params: Vec<String> = match req.get("params") {
        None => Vec::new(),
        Some(Json::Arr(a)) => a.iter().map(param_text).collect(),
        Some(Json::Obj(m)) => m.iter().map(|(_, v)| param_text(v)).collect(),
        Some(_) => return empty,
    };
    let refs: Vec<&str> = params.iter().map(String::as_str).collect();
    match dispatch(method, &refs) {
        Ok(mut values) => {
            if array {
                Outcome::Result(Some(RpcValue::Array(values)), true)
            } else {
                Outcome::Result(values.pop(), false)
            }
        }
        // The registry's fault for an unknown name (Kamailio's jsonrpcs
        // words it its own way).
        Err(e) if e.code == 500 && e.message == format!("command {method} not found") => {
            Outcome::Fault(RpcError::new(500, "Method Not Found"))
        }
        Err(e) => Outcome::Fault(e),
    }
}

/// Handles one request: the reply bytes, or `None` when Kamailio sends
/// none (the text is not JSON).
pub fn handle(req: &[u8], pretty: bool, dispatch: Dispatch<'_>) -> Option<Vec<u8>> {
    let j = parse(req)?;
    Some(reply(&j, run(&j, dispatch), pretty))
}

/// Handles a request already parsed.
pub fn handle_json(j: &Json, pretty: bool, dispatch: Dispatch<'_>) -> Vec<u8> {
    reply(j, run(j, dispatch), pretty)
}

fn std_message(code: i32) -> Option<&'static str> {
    Some(match code {
        -32700 => "Parse Error",
        -32600 => "Invalid Request",
        -32601 => "Method Not Found",
        -32602 => "Invalid Parameters",
        -32603 => "Internal Error",
        _ => return None,
    })
}

/// A node of the reply document.
enum Node {
    Null,
    Num(f64),
    Int(i64),
    Str(String),
    Arr(Vec<Node>),
    Obj(Vec<(String, Node)>),
}

fn node(v: &RpcValue) -> Node {
    match v {
        RpcValue::Int(i) => Node::Int(*i),
        RpcValue::Double(d) => Node::Num(*d),
        RpcValue::Str(s) => Node::Str(s.clone()),
        RpcValue::NullStr => Node::Null,
        RpcValue::Array(a) => Node::Arr(a.iter().map(node).collect()),
        RpcValue::Struct(m) => {
            let repeated = m
                .iter()
                .enumerate()
                .any(|(i, (k, _))| m[..i].iter().any(|(k2, _)| k2 == k));
            if repeated {
                // Members added repeatedly under one name: an array of
                // single-member objects, as Kamailio's JSON shows them.
                Node::Arr(
                    m.iter()
                        .map(|(k, v)| Node::Obj(vec![(k.clone(), node(v))]))
                        .collect(),
                )
            } else {
                Node::Obj(m.iter().map(|(k, v)| (k.clone(), node(v))).collect())
            }
        }
    }
}

fn reply(req: &Json, outcome: Outcome, pretty: bool) -> Vec<u8> {
    let mut root = vec![("jsonrpc".to_string(), Node::Str("2.0".into()))];
    match outcome {
        Outcome::Fault(e) => {
            let code = if e.code == 0 { -32000 } else { e.code };
            let msg = std_message(code).map_or(e.message, str::to_string);
            root.push((
                "error".into(),
                Node::Obj(vec![
                    ("code".into(), Node::Int(i64::from(code))),
                    ("message".into(), Node::Str(msg)),
                ]),
            ));
        }
        Outcome::Result(v, array) => {
            let n = match v {
                Some(v) => node(&v),
                None if array => Node::Arr(Vec::new()),
                None => Node::Obj(Vec::new()),
            };
            root.push(("result".into(), n));
        }
    }
    if let Some(id) = req.get("id") {
        root.push((
            "id".into(),
            match id {
                Json::Str(s) => Node::Str(s.clone()),
                Json::Num(n) => Node::Num(*n),
                Json::Bool(b) => Node::Int(i64::from(*b)),
                _ => Node::Int(0),
            },
        ));
    }
    let mut out = String::new();
    print(&mut out, &Node::Obj(root), 0, pretty);
    out.into_bytes()
}

fn print_str(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// A number as Kamailio's printer writes it: an integer within `int`
/// as one, other integral values without decimals, else `%f` (or `%e`
/// for very small or large values).
fn print_num(out: &mut String, d: f64) {
    if !d.is_finite() {
        out.push('0');
    } else if d.fract() == 0.0 && d >= f64::from(i32::MIN) && d <= f64::from(i32::MAX) {
        out.push_str(&format!("{}", d as i64));
    } else if d.fract() == 0.0 {
        out.push_str(&format!("{d:.0}"));
    } else if d.abs() < 1.0e-6 || d.abs() > 1.0e9 {
        // C's %e: one digit, six decimals, a signed two-digit exponent.
        let s = format!("{d:.6e}");
        match s.split_once('e') {
            Some((m, e)) => {
                let (sign, digits) = match e.strip_prefix('-') {
                    Some(x) => ('-', x),
                    None => ('+', e),
                };
                out.push_str(&format!("{m}e{sign}{digits:0>2}"));
            }
            None => out.push_str(&s),
        }
    } else {
        out.push_str(&format!("{d:.6}"));
    }
}

fn tabs(out: &mut String, n: usize) {
    for _ in 0..n {
        out.push('\t');
    }
}

fn print(out: &mut String, n: &Node, depth: usize, pretty: bool) {
    match n {
        Node::Null => out.push_str("null"),
        Node::Int(i) => out.push_str(&i.to_string()),
        Node::Num(d) => print_num(out, *d),
        Node::Str(s) => print_str(out, s),
        Node::Arr(a) => {
            out.push('[');
            for (i, v) in a.iter().enumerate() {
                if i > 0 {
                    out.push_str(if pretty { ", " } else { "," });
                }
                print(out, v, depth + 1, pretty);
            }
            out.push(']');
        }
        Node::Obj(m) => {
            out.push('{');
            if pretty {
                out.push('\n');
            }
            for (i, (k, v)) in m.iter().enumerate() {
                if pretty {
                    tabs(out, depth + 1);
                }
                print_str(out, k);
                out.push(':');
                if pretty {
                    out.push('\t');
                }
                print(out, v, depth + 1, pretty);
                if i + 1 < m.len() {
                    out.push(',');
                }
                if pretty {
                    out.push('\n');
                }
            }
            if pretty {
                tabs(out, depth);
            }
            out.push('}');
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dispatch(m: &str, args: &[&str]) -> Result<Vec<RpcValue>, RpcError> {
        match m {
            "core.version" => Ok(vec![RpcValue::Str("kamailio 5.6.3 (x86_64/linux) ".into())]),
            "cfg.set_now_int" => Ok(vec![]),
            "stats.get_statistics" => Ok(args
                .iter()
                .filter(|a| **a == "rcv_requests")
                .map(|_| RpcValue::Str("core:rcv_requests = 0".into()))
                .collect()),
            "tm.stats" => Ok(vec![RpcValue::Struct(vec![
                ("current".into(), RpcValue::Int(0)),
                ("waiting".into(), RpcValue::Int(1)),
            ])]),
            "ul.x" => Ok(vec![RpcValue::Struct(vec![(
                "Contacts".into(),
                RpcValue::Struct(vec![
                    ("Contact".into(), RpcValue::Int(1)),
                    ("Contact".into(), RpcValue::Int(2)),
                ]),
            )])]),
            _ => Err(RpcError::new(500, format!("command {m} not found"))),
        }
    }

    fn ask(req: &str, pretty: bool) -> String {
        String::from_utf8(handle(req.as_bytes(), pretty, &dispatch).unwrap()).unwrap()
    }

    #[test]
    fn pretty_bytes_as_kamailio_prints_them() {
        assert_eq!(
            ask(r#"{"jsonrpc":"2.0","method":"core.version","id":1}"#, true),
            "{\n\t\"jsonrpc\":\t\"2.0\",\n\t\"result\":\t\"kamailio 5.6.3 (x86_64/linux) \",\n\t\"id\":\t1\n}"
        );
        assert_eq!(
            ask(r#"{"jsonrpc":"2.0","method":"tm.stats","id":"abc"}"#, true),
            "{\n\t\"jsonrpc\":\t\"2.0\",\n\t\"result\":\t{\n\t\t\"current\":\t0,\n\t\t\"waiting\":\t1\n\t},\n\t\"id\":\t\"abc\"\n}"
        );
        assert_eq!(
            ask(r#"{"jsonrpc":"2.0","method":"no.such","id":1}"#, true),
            "{\n\t\"jsonrpc\":\t\"2.0\",\n\t\"error\":\t{\n\t\t\"code\":\t500,\n\t\t\"message\":\t\"Method Not Found\"\n\t},\n\t\"id\":\t1\n}"
        );
        // No id: none in the reply; a wrong version: an empty result.
        assert_eq!(
            ask(r#"{"jsonrpc":"2.0","method":"core.version"}"#, true),
            "{\n\t\"jsonrpc\":\t\"2.0\",\n\t\"result\":\t\"kamailio 5.6.3 (x86_64/linux) \"\n}"
        );
        assert_eq!(
            ask(r#"{"jsonrpc":"1.0","method":"core.version","id":3}"#, true),
            "{\n\t\"jsonrpc\":\t\"2.0\",\n\t\"result\":\t{\n\t},\n\t\"id\":\t3\n}"
        );
        assert_eq!(
            ask(
                r#"{"jsonrpc":"2.0","method":"stats.get_statistics","params":["x"],"id":4}"#,
                true
            ),
            "{\n\t\"jsonrpc\":\t\"2.0\",\n\t\"result\":\t[],\n\t\"id\":\t4\n}"
        );
        assert_eq!(
            ask(
                r#"{"jsonrpc":"2.0","method":"stats.get_statistics","params":["rcv_requests","rcv_requests"],"id":5}"#,
                true
            ),
            "{\n\t\"jsonrpc\":\t\"2.0\",\n\t\"result\":\t[\"core:rcv_requests = 0\", \"core:rcv_requests = 0\"],\n\t\"id\":\t5\n}"
        );
        assert_eq!(
            ask(r#"["x"]"#, true),
            "{\n\t\"jsonrpc\":\t\"2.0\",\n\t\"result\":\t{\n\t}\n}"
        );
    }

    #[test]
    fn ids_keep_their_type_and_kamailio_number_format() {
        let id = |raw: &str| {
            let r = ask(
                &format!(r#"{{"jsonrpc":"2.0","method":"cfg.set_now_int","id":{raw}}}"#),
                false,
            );
            r.split("\"id\":")
                .nth(1)
                .unwrap()
                .trim_end_matches('}')
                .to_string()
        };
        assert_eq!(id("1"), "1");
        assert_eq!(id("2.0"), "2");
        assert_eq!(id("1.5"), "1.500000");
        assert_eq!(id("12345678901"), "12345678901");
        assert_eq!(id("-0.000001"), "-0.000001");
        assert_eq!(id("true"), "1");
        assert_eq!(id("null"), "0");
        assert_eq!(id("[1]"), "0");
        assert_eq!(id(r#""a\"b\u00e9\u0001/""#), "\"a\\\"b\u{e9}\\u0001/\"");
    }

    #[test]
    fn compact_and_repeated_members() {
        assert_eq!(
            ask(r#"{"jsonrpc":"2.0","method":"ul.x","id":1}"#, false),
            r#"{"jsonrpc":"2.0","result":{"Contacts":[{"Contact":1},{"Contact":2}]},"id":1}"#
        );
        assert_eq!(
            ask(
                r#"{"jsonrpc":"2.0","method":"cfg.set_now_int","id":1}"#,
                false
            ),
            r#"{"jsonrpc":"2.0","result":{},"id":1}"#
        );
    }

    #[test]
    fn hostile_input_never_panics() {
        assert!(handle(b"garbage", true, &dispatch).is_none());
        assert!(handle(b"", true, &dispatch).is_none());
        assert!(handle(b"{\"a\":", true, &dispatch).is_none());
        let deep = "[".repeat(100_000);
        assert!(handle(deep.as_bytes(), true, &dispatch).is_none());
        let deep = format!("{}{}", "{\"a\":".repeat(10_000), "1");
        assert!(handle(deep.as_bytes(), true, &dispatch).is_none());
        assert!(handle(b"\"\\u", true, &dispatch).is_none());
        // A non-string method or version (Kamailio crashes): `{}`.
        assert_eq!(
            ask(r#"{"jsonrpc":"2.0","method":5,"id":2}"#, false),
            r#"{"jsonrpc":"2.0","result":{},"id":2}"#
        );
        assert_eq!(object_end(b"{\"a\":\"}\\\"}\"}x"), Some(12));
        assert_eq!(object_end(b"{{}"), None);
    }
}
