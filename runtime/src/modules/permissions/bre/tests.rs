//! The translation checked against glibc itself: the same patterns given
//! to `regcomp(REG_NOSUB)`/`regexec` (the C library these tests link,
//! glibc in the C locale, as Kamailio's) and to [`compile`], the verdicts
//! compared — refused, matching or not.

use super::*;

/// glibc's verdict: `None` if `regcomp` refuses `re`, else whether
/// `subject` matches.
fn glibc(re: &[u8], subject: &[u8]) -> Option<bool> {
    let re = std::ffi::CString::new(cstr(re)).expect("no NUL");
    let subject = std::ffi::CString::new(cstr(subject)).expect("no NUL");
    let mut preg = std::mem::MaybeUninit::<libc::regex_t>::uninit();
    // SAFETY: `preg` is written by regcomp; `re` is a C string.
    let rc = unsafe { libc::regcomp(preg.as_mut_ptr(), re.as_ptr(), libc::REG_NOSUB) };
    if rc != 0 {
        return None;
    }
    // SAFETY: regcomp succeeded, so `preg` is initialised; `subject` is a
    // C string; no match array is asked for (nmatch 0).
    let m = unsafe { libc::regexec(preg.as_ptr(), subject.as_ptr(), 0, std::ptr::null_mut(), 0) };
    // SAFETY: `preg` was compiled by regcomp and is freed once.
    unsafe { libc::regfree(preg.as_mut_ptr()) };
    Some(m == 0)
}

/// Ours: `None` if refused; `Some(None)` if not expressible.
fn ours(re: &[u8], subject: &[u8]) -> Option<Option<bool>> {
    match compile(re) {
        Ok(r) => Some(Some(r.is_match(cstr(subject)))),
        Err(BreError::Invalid(_)) => None,
        Err(BreError::Unsupported(_)) => Some(None),
    }
}

fn check(re: &[u8], subject: &[u8]) {
    let g = glibc(re, subject);
    match ours(re, subject) {
        // Back-references: glibc may accept them, we cannot match them.
        Some(None) => assert!(
            re.windows(2)
                .any(|w| w[0] == b'\\' && w[1].is_ascii_digit() && w[1] != b'0'),
            "{:?}: unsupported without a back-reference",
            String::from_utf8_lossy(re)
        ),
        o => assert_eq!(
            o.map(Option::unwrap_or_default),
            g,
            "pattern {:?} ({:?}) on {:?}",
            String::from_utf8_lossy(re),
            translate(re),
            String::from_utf8_lossy(subject)
        ),
    }
}

#[test]
fn patterns_of_a_trusted_table() {
    for (re, subjects) in [
        (
            "^sip:alice@",
            &["sip:alice@example.com", "sip:bob@x", "<sip:alice@x>"][..],
        ),
        (
            "^sip:.*@example\\.com$",
            &["sip:a@example.com", "sip:a@exampleXcom", "sip:@example.com"],
        ),
        (
            "^sip:\\(eve\\|frank\\)@",
            &["sip:eve@x", "sip:frank@y", "sip:(eve|frank)@x"],
        ),
        ("^sip:(eve|frank)@", &["sip:eve@x", "sip:(eve|frank)@x"]),
        ("^sip:a+b@", &["sip:a+b@x", "sip:aab@x"]),
        ("^sip:a\\+b@", &["sip:a+b@x", "sip:aab@x", "sip:b@x"]),
        (
            "^sip:[0-9]\\{3,4\\}@",
            &["sip:123@x", "sip:12@x", "sip:12345@x"],
        ),
        ("^sip:[0-9]{3}@", &["sip:1{3}@x", "sip:123@x"]),
        ("[[:digit:]]\\{2\\}", &["a12", "a1b2"]),
        ("", &["anything", ""]),
        ("gw", &["sip:gw@x", "sip:GW@x"]),
        ("^$", &["", "x"]),
        ("a.c", &["a\nc", "abc", "ac"]),
        ("[^a]", &["\n", "a", "aa\u{e9}"]),
        ("\u{e9}", &["caf\u{e9}", "cafe"]),
        ("[\u{e9}]", &["caf\u{e9}", "cafe", "\u{c3}"]),
        ("\\<gw", &["sip:gw", "sip:agw"]),
        ("gw\\>", &["gw@", "gwx"]),
        ("\\bgw\\b", &["a gw b", "agw"]),
        ("\\Bw", &["gw", "w"]),
        ("\\w\\W\\s\\S", &["a: x", "a:  "]),
        ("\\`a\\'", &["a", "ab"]),
        ("\\(a\\)\\1", &["aa"]),
    ] {
        for s in subjects {
            check(re.as_bytes(), s.as_bytes());
        }
    }
}

#[test]
fn glibc_corner_cases() {
    for re in [
        "*a",
        "^*a",
        "\\(*a\\)",
        "a\\|*b",
        "**",
        "\\{2\\}",
        "^\\{1\\}",
        "a\\|\\{1\\}",
        "a**",
        "a*\\+",
        "a\\+*",
        "a\\?\\?",
        "a\\{1\\}\\{2\\}",
        "a\\{1\\}*",
        "a\\{,2\\}",
        "a\\{,\\}",
        "a\\{\\}",
        "a\\{2,1\\}",
        "a\\{1,2,3\\}",
        "a\\{1",
        "a\\{1,",
        "a\\{32768\\}",
        "a\\{32767\\}",
        "a\\{0\\}b",
        "x\\{a\\}",
        "x{1}",
        "\\}",
        "a\\}",
        "\\)",
        "\\(",
        "a\\(",
        "\\(\\)",
        "\\(\\|a\\)",
        "a\\|",
        "\\|a",
        "a\\",
        "\\d",
        "\\n",
        "\\.",
        "x^",
        "a^b",
        "^^a",
        "a$b",
        "$a",
        "$",
        "a$\\|b",
        "\\(^a\\|b$\\)c",
        "x\\(^a\\)",
        "a\\($\\)",
        "a$\\)",
        "\\b*",
        "\\<*",
        "\\>*",
        "[",
        "[]",
        "[]a]",
        "[^]a]",
        "[a-]",
        "[-a]",
        "[\\]",
        "[a-z-0]",
        "[--z]",
        "[a--]",
        "[%--]",
        "[]-a]",
        "[z-a]",
        "[[:alpha:]]",
        "[[:foo:]]",
        "[[::]]",
        "[[:alpha:]-z]",
        "[[:alpha:]",
        "[[.-.]]",
        "[[.a.]-z]",
        "[a-[.z.]]",
        "[[.space.]]",
        "[[..]]",
        "[[=a=]]",
        "[[=ab=]]",
        "[[=a=]-z]",
        "[[.",
        "[a",
        "[[a]",
        "[a[]",
        "[[:]",
        "[^a-c]",
        "[^]",
        "[^^]",
        "[a^]",
        "[[:upper:][:digit:]]",
        "[[:punct:]]",
        "[[:space:]]",
        "[[:cntrl:][:print:]]",
        "[[:graph:]]",
        "[[:blank:]x]",
        "[[:xdigit:]]",
        "[[:lower:][:alnum:]]",
        "\\(a\\)\\2",
        "\\(a\\1\\)",
        "\\(a\\)\\|\\1",
    ] {
        for s in [
            "", "a", "aa", "aaa", "*a", "*", "a*", "b", "*b", "ac", "x", "xa", "bc", "}", "a}",
            "^a", "a^b", "x^", "$a", "a$b", "$", "d", "n", ".", "]", "-", ",", "\\", "z", "A", "9",
            "!", " ", "\t", "\u{7f}", "x{1}", "{2}", "a b",
        ] {
            check(re.as_bytes(), s.as_bytes());
        }
    }
}

/// Random patterns over the characters that matter to the parser,
/// against random subjects: glibc and ours agree on every one.
#[test]
fn random_patterns_agree_with_glibc() {
    const PATTERN: &[&str] = &[
        "a",
        "b",
        "^",
        "$",
        "*",
        ".",
        "[",
        "]",
        "-",
        "\\",
        "\\(",
        "\\)",
        "\\|",
        "\\+",
        "\\?",
        "\\{",
        "\\}",
        "{",
        "}",
        "(",
        ")",
        "|",
        "+",
        "?",
        ",",
        "1",
        "2",
        ":",
        "=",
        "[:alpha:]",
        "[.a.]",
        "\\<",
        "\\>",
        "\\b",
        "\\w",
        "\\s",
        "^",
        " ",
    ];
    const SUBJECT: &[u8] = b"ab^$*.[]-\\(){}|+?,12 ";
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move |n: usize| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        usize::try_from(seed % n as u64).unwrap_or(0)
    };
    for _ in 0..8_000 {
        let len = 1 + next(7);
        let re: String = (0..len).map(|_| PATTERN[next(PATTERN.len())]).collect();
        for _ in 0..4 {
            let sl = next(7);
            let subject: Vec<u8> = (0..sl).map(|_| SUBJECT[next(SUBJECT.len())]).collect();
            check(re.as_bytes(), &subject);
        }
    }
}

#[test]
fn c_strings_end_at_nul() {
    let r = compile(b"^ab\0c").expect("compiles");
    assert!(r.is_match(b"abx"));
    assert_eq!(cstr(b"sip:a\0b"), b"sip:a");
}

#[test]
fn translations_read_as_expected() {
    let t = |re: &str| translate(re.as_bytes()).expect("translates");
    assert_eq!(t("^sip:a+b@"), "^sip\\x3Aa\\x2Bb\\x40");
    assert_eq!(t("a\\+"), "(?:a)+");
    assert_eq!(t("\\(a\\|b\\)*"), "(?:(?:a|b))*");
    assert_eq!(t("*a$"), "\\x2Aa$");
    assert_eq!(t("[a-c]"), "[\\x61-\\x63]");
    assert_eq!(translate(b"a**"), Err(BADRPT));
    assert!(matches!(
        translate(b"\\(a\\)\\1"),
        Err(BreError::Unsupported(_))
    ));
}
