//! No input makes the front end panic: deterministic mutations of the
//! fixtures (truncations, deletions, insertions of syntax-heavy fragments,
//! byte flips) through every pass, and rendering of every diagnostic.
//! The same body runs under cargo-fuzz in `fuzz/fuzz_targets/cfgc_frontend.rs`.

use std::path::Path;

/// A small deterministic PRNG (xorshift64*), so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
}

const FRAGMENTS: &[&str] = &[
    "#!define X ",
    "#!ifdef X\n",
    "#!else\n",
    "#!endif\n",
    "#!subst \"/a/b/\"\n",
    "include_file \"nope.cfg\"\n",
    "/*",
    "*/",
    "\"",
    "'",
    "$(",
    "$var(",
    ")",
    "(",
    "{",
    "}",
    "[",
    "]",
    "@a.b[",
    "$(ru{s.substr,1,",
    "::",
    "1.2.3.",
    "route(",
    "if (",
    "else",
    ";",
    "\\\n",
    "#!KAMAILIO\n",
    "switch(",
    "case ",
    "default:",
    "0x",
    "101b",
    "\\x",
    "event_route[",
    "listen=",
    "alias=",
    "modparam(",
    "=~",
    "<<",
    "!",
    "-",
    "$",
    "%",
    "\u{e9}",
    "\0",
];

fn check(text: &str) {
    let report = cfgc::Config::new()
        .define("WITH_X")
        .define_value("V", "1 + ")
        .check_source("mutant.cfg", text.to_string());
    for d in &report.diagnostics {
        let rendered = report.render(d);
        assert!(!rendered.is_empty());
        let _ = report.render_json(d);
    }
}

fn fixtures() -> Vec<String> {
    let mut out = Vec::new();
    for dir in ["ok", "err"] {
        let d = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(dir);
        for e in std::fs::read_dir(d).expect("fixtures dir").flatten() {
            out.push(std::fs::read_to_string(e.path()).expect("fixture"));
        }
    }
    assert!(out.len() >= 5, "fixtures missing");
    out
}

#[test]
fn mutated_fixtures_never_panic() {
    let seeds = fixtures();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for round in 0..3000 {
        let base = &seeds[round % seeds.len()];
        let mut bytes = base.as_bytes().to_vec();
        for _ in 0..1 + rng.below(4) {
            match rng.below(4) {
                0 => bytes.truncate(rng.below(bytes.len() + 1)),
                1 => {
                    let at = rng.below(bytes.len() + 1);
                    let n = rng.below(8).min(bytes.len() - at.min(bytes.len()));
                    bytes.drain(at..at + n);
                }
                2 => {
                    let at = rng.below(bytes.len() + 1);
                    let frag = FRAGMENTS[rng.below(FRAGMENTS.len())].as_bytes();
                    bytes.splice(at..at, frag.iter().copied());
                }
                _ => {
                    if !bytes.is_empty() {
                        let at = rng.below(bytes.len());
                        bytes[at] = rng.next() as u8;
                    }
                }
            }
        }
        check(&String::from_utf8_lossy(&bytes));
    }
}

#[test]
fn pathological_inputs_never_panic() {
    check("");
    check("#!define A A\nrequest_route { $var(x) = A; }");
    check("#!define A B\n#!define B A\nrequest_route { $var(x) = A; }");
    check(&"#!ifdef X\n".repeat(600));
    check(&"/*".repeat(1000));
    check(&"(".repeat(5000));
    check(&format!(
        "request_route {{ $var(x) = {}1{}; }}",
        "(".repeat(300),
        ")".repeat(300)
    ));
    check(&"if (1) ".repeat(500));
    check("include_file \"mutant.cfg\"\n");
}
