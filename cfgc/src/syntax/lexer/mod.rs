//! The modal lexer and preprocessor (see `syntax` for its place in the pass order).
//!
//! A hand-written equivalent of Kamailio 5.6.3's `cfg.lex`: the scanner and its
//! `#!` preprocessor are one pass. The input is a stack of chunks: files
//! (the main one and included ones) and define expansions. A define's value is
//! pushed back as a chunk and re-scanned, like flex's `unput`, so a token may
//! run from an expansion into the text that follows it (a value ending in
//! `# note` comments out the rest of the real line). Tokens never run past the
//! end of a file.
//!
//! What the grammar gets (beyond the obvious):
//! * directives produce no tokens: `#!subst "..."` consumes the string token
//!   that follows it (wherever it appears), `include_file` splices the file in;
//! * `MOD_<name>` is defined as soon as `loadmodule`/`loadmodulex` and its
//!   string have been lexed;
//! * [`Tok::Attr`] is the whole SER attribute name: `%name`, `%f.name`,
//!   `$f.name` (classes `f t fr tr fu tu fd td g`, max-compat and SER modes),
//!   `$name` in SER mode, and `$name` right before `[` in max-compat mode; an
//!   index (`[1]`, `[-1]`, `[]`) follows as separate tokens, as in `cfg.y`;
//! * [`Tok::Select`] is the raw text (`@via[1].branch`, `@hf_value["X"]`),
//!   written without blanks; Kamailio also accepts blanks inside a select,
//!   which then continues as ordinary tokens (not supported here);
//! * `kemi.onsend_route_callback` is `Reserved("kemi") Dot
//!   Param("kemi.onsend_route_callback")`;
//! * `event_route` is followed by `LBracket EventName RBracket`.
//!
//! Where things live:
//! * `mod.rs` — the chunk stack and reading primitives, the main scanning
//!   loop, tokens: operators, comments, strings, pseudo-variables, attributes,
//!   selects, words, numbers, IP addresses, event route names;
//! * `preproc.rs` — every `#!` directive (defines, `#!ifdef` & co., `#!subst*`,
//!   `#!defenv*`, `include_file`/`import_file`, compatibility mode switches),
//!   define expansion, `-A`/`--subst*` options, end-of-input directive checks;
//! * `defines.rs` — the define table; `subst.rs` — `#!subst` rule parsing and
//!   application (POSIX regex spelling translated for the `regex` crate);
//! * `tests.rs` — lexer and preprocessor tests.

mod defines;
mod preproc;
mod subst;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::rc::Rc;

use crate::diag::Diagnostic;
use crate::source::{FileId, SourceMap, Span};

use super::keywords::keyword;
use super::token::{Compat, PvTok, Spanned, Tok};
use defines::Defines;
use preproc::SubstKind;
use subst::SubstRule;

/// Options of the preprocessing lexer (Kamailio's `-A` and `--subst*`).
#[derive(Clone, Debug, Default)]
pub struct LexOptions {
    /// `-A NAME` (None) and `-A NAME=VALUE` (raw value text), in order.
    pub defines: Vec<(String, Option<String>)>,
    /// `--subst=EXP`, `--substdef=EXP`, `--substdefs=EXP` as (directive, expression).
    pub substs: Vec<(String, String)>,
}

/// What lexing produced.
#[derive(Clone, Debug, Default)]
pub struct Lexed {
    pub tokens: Vec<Spanned>,
    pub diagnostics: Vec<Diagnostic>,
    /// Every file read (the main file first), for rebuild tracking.
    pub files_read: Vec<PathBuf>,
    /// The defines in force at the end of the input (name → raw value).
    pub defines: BTreeMap<String, Option<String>>,
}

/// Lexes and preprocesses `main` and whatever it includes.
pub fn lex(sources: &mut SourceMap, main: FileId, opts: &LexOptions) -> Lexed {
    let text: Rc<str> = Rc::from(sources.file(main).text.as_str());
    let main_path = sources.file(main).path.clone();
    let mut lx = Lexer {
        sources,
        chunks: vec![Chunk {
            text,
            pos: 0,
            kind: ChunkKind::File(main),
        }],
        main,
        out: Lexed::default(),
        defines: Defines::default(),
        substs: Vec::new(),
        ifdefs: Vec::new(),
        ifdef_level: 0,
        compat: Compat::MaxCompat,
        expansions: 0,
        recursion_reported: false,
        pending_subst: None,
        last_span: Span::new(main, 0, 0),
    };
    lx.out.files_read.push(main_path);
    lx.init(opts);
    lx.run();
    lx.finish()
}

/// Blanks Kamailio's scanner eats (`EAT_ABLE`).
fn is_blank(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\u{8}' | '\r')
}

fn is_id_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_'
}

fn is_id_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

#[derive(Clone, Copy, Debug)]
enum ChunkKind {
    File(FileId),
    /// A define expansion: the span of the name at its use site, nesting depth.
    Macro {
        span: Span,
        depth: u32,
    },
}

struct Chunk {
    text: Rc<str>,
    pos: usize,
    kind: ChunkKind,
}

impl Chunk {
    fn rest(&self) -> &str {
        self.text.get(self.pos..).unwrap_or("")
    }
    fn is_file(&self) -> bool {
        matches!(self.kind, ChunkKind::File(_))
    }
}

struct Lexer<'a> {
    sources: &'a mut SourceMap,
    chunks: Vec<Chunk>,
    main: FileId,
    out: Lexed,
    defines: Defines,
    substs: Vec<SubstRule>,
    /// Per open `#!ifdef`: whether its branch is active, and its span.
    ifdefs: Vec<(bool, Span)>,
    /// `#!if[n]def` count minus `#!endif` count (checked at the end).
    ifdef_level: i64,
    compat: Compat,
    expansions: usize,
    recursion_reported: bool,
    /// A `#!subst*` directive waiting for its string.
    pending_subst: Option<(SubstKind, Span)>,
    /// The span of the last character consumed.
    last_span: Span,
}

impl Lexer<'_> {
    // ---- setup and teardown ---------------------------------------------

    fn finish(mut self) -> Lexed {
        self.finish_directives();
        self.out.defines = self.defines.export();
        self.out
    }

    fn error(&mut self, code: &'static str, msg: impl Into<String>, span: Span, label: &str) {
        self.out
            .diagnostics
            .push(Diagnostic::error(code, msg).with_label(span, label));
    }

    // ---- reading ----------------------------------------------------------

    /// Drops exhausted define expansions from the top of the stack.
    fn normalize(&mut self) {
        while let Some(top) = self.chunks.last() {
            if !top.is_file() && top.pos >= top.text.len() {
                self.chunks.pop();
            } else {
                break;
            }
        }
    }

    /// The characters ahead, through expansions, up to the end of the current file.
    fn ahead(&self) -> impl Iterator<Item = char> + '_ {
        let mut stop = false;
        self.chunks
            .iter()
            .rev()
            .take_while(move |ch| {
                if stop {
                    return false;
                }
                stop = ch.is_file();
                true
            })
            .flat_map(|ch| ch.rest().chars())
    }

    fn peek(&self) -> Option<char> {
        self.ahead().next()
    }

    fn peek_n(&self, n: usize) -> Option<char> {
        self.ahead().nth(n)
    }

    fn starts_with(&self, s: &str) -> bool {
        let mut it = self.ahead();
        s.chars().all(|c| it.next() == Some(c))
    }

    /// The span of the next character (empty in a file, the use site in an expansion).
    fn here(&mut self) -> Span {
        self.normalize();
        match self.chunks.last() {
            Some(Chunk {
                kind: ChunkKind::File(f),
                pos,
                ..
            }) => Span::new(*f, *pos, *pos),
            Some(Chunk {
                kind: ChunkKind::Macro { span, .. },
                ..
            }) => *span,
            None => self.last_span,
        }
    }

    /// Expansion depth at the next character (0 in a file).
    fn depth(&mut self) -> u32 {
        self.normalize();
        match self.chunks.last() {
            Some(Chunk {
                kind: ChunkKind::Macro { depth, .. },
                ..
            }) => *depth,
            _ => 0,
        }
    }

    fn bump(&mut self) -> Option<char> {
        self.normalize();
        let top = self.chunks.last_mut()?;
        let c = top.rest().chars().next()?;
        let start = top.pos;
        top.pos += c.len_utf8();
        self.last_span = match top.kind {
            ChunkKind::File(f) => Span::new(f, start, top.pos),
            ChunkKind::Macro { span, .. } => span,
        };
        Some(c)
    }

    fn bump_n(&mut self, n: usize) {
        for _ in 0..n {
            if self.bump().is_none() {
                break;
            }
        }
    }

    /// Consumes the rest of the line, newline included.
    fn skip_line(&mut self) {
        while let Some(c) = self.bump() {
            if c == '\n' {
                break;
            }
        }
    }

    /// The innermost file being read.
    fn current_file(&self) -> FileId {
        self.chunks
            .iter()
            .rev()
            .find_map(|c| match c.kind {
                ChunkKind::File(f) => Some(f),
                ChunkKind::Macro { .. } => None,
            })
            .unwrap_or(self.main)
    }

    fn include_depth(&self) -> usize {
        self.chunks.iter().filter(|c| c.is_file()).count() - 1
    }

    /// At the end of a file: returns to the including file, or `false` at the
    /// end of the main file.
    fn pop_file(&mut self) -> bool {
        if self.include_depth() == 0 {
            return false;
        }
        while let Some(c) = self.chunks.pop() {
            if c.is_file() {
                break;
            }
        }
        true
    }

    // ---- output -------------------------------------------------------------

    fn emit(&mut self, tok: Tok, span: Span) {
        if self.take_subst_string(&tok, span) {
            return;
        }
        self.define_loaded_module(&tok);
        self.out.tokens.push(Spanned { tok, span });
    }

    fn emit_error(&mut self, msg: impl Into<String>, span: Span, label: &str) {
        self.error("syntax", msg, span, label);
        self.out.tokens.push(Spanned {
            tok: Tok::Error,
            span,
        });
    }

    // ---- main loop ------------------------------------------------------------

    fn run(&mut self) {
        loop {
            if self.skipping() {
                if !self.skip_step() {
                    break;
                }
                continue;
            }
            match self.peek() {
                None => {
                    if !self.pop_file() {
                        break;
                    }
                }
                Some(c) => self.scan(c),
            }
        }
    }

    fn scan(&mut self, c: char) {
        match c {
            ' ' | '\t' | '\u{8}' | '\r' | '\n' => {
                self.bump();
            }
            '\\' if self.peek_n(1) == Some('\n') => self.bump_n(2),
            '#' => {
                if let Some((d, len)) = self.match_directive() {
                    self.directive(d, len);
                } else if !self.compat_switch(1) {
                    self.skip_line();
                }
            }
            '!' => {
                if let Some((d, len)) = self.match_directive() {
                    self.directive(d, len);
                } else if self.peek_n(1) == Some('=') {
                    self.op(Tok::NotEq, 2);
                } else {
                    self.op(Tok::Not, 1);
                }
            }
            '/' => match self.peek_n(1) {
                Some('/') => {
                    if !self.compat_switch(2) {
                        self.skip_line();
                    }
                }
                Some('*') => self.block_comment(),
                _ => self.op(Tok::Slash, 1),
            },
            '"' => self.dq_string(),
            '\'' => self.sq_string(),
            '$' => self.pvar(),
            '%' => {
                let start = self.here();
                self.bump();
                self.attr('%', start);
            }
            '@' => self.select(),
            c if is_id_char(c) || c == ':' => self.word_or_number(c),
            _ => self.operator(c),
        }
    }

    fn op(&mut self, tok: Tok, len: usize) {
        let start = self.here();
        self.bump_n(len);
        let span = start.to(self.last_span);
        self.emit(tok, span);
    }

    fn operator(&mut self, c: char) {
        let n1 = self.peek_n(1);
        let (tok, len) = match (c, n1) {
            ('=', Some('=')) => (Tok::EqEq, 2),
            ('=', Some('~')) => (Tok::Match, 2),
            ('=', _) => (Tok::Assign, 1),
            ('>', Some('=')) => (Tok::Ge, 2),
            ('>', Some('>')) => (Tok::Shr, 2),
            ('>', _) => (Tok::Gt, 1),
            ('<', Some('=')) => (Tok::Le, 2),
            ('<', Some('<')) => (Tok::Shl, 2),
            ('<', _) => (Tok::Lt, 1),
            ('&', Some('&')) => (Tok::AndAnd, 2),
            ('&', _) => (Tok::BitAnd, 1),
            ('|', Some('|')) => (Tok::OrOr, 2),
            ('|', _) => (Tok::BitOr, 1),
            ('^', _) => (Tok::BitXor, 1),
            ('~', _) => (Tok::BitNot, 1),
            ('+', Some('=')) => (Tok::PlusEq, 2),
            ('+', _) => (Tok::Plus, 1),
            ('-', _) => (Tok::Minus, 1),
            ('*', _) => (Tok::Star, 1),
            (';', _) => (Tok::Semi, 1),
            (',', _) => (Tok::Comma, 1),
            ('.', _) => (Tok::Dot, 1),
            ('(', _) if self.starts_with("(int)") => (Tok::CastInt, 5),
            ('(', _) if self.starts_with("(str)") => (Tok::CastStr, 5),
            ('(', _) => (Tok::LParen, 1),
            (')', _) => (Tok::RParen, 1),
            ('{', _) => (Tok::LBrace, 1),
            ('}', _) => (Tok::RBrace, 1),
            ('[', _) => (Tok::LBracket, 1),
            (']', _) => (Tok::RBracket, 1),
            _ => {
                let start = self.here();
                self.bump();
                let span = start.to(self.last_span);
                // Kamailio's scanner echoes characters no rule matches and
                // goes on (a stray backtick passes `kamailio -c`): warn, and
                // drop the character as it does.
                self.out.diagnostics.push(
                    Diagnostic::warning(
                        "stray-character",
                        format!("stray character `{c}` is ignored"),
                    )
                    .with_label(span, "Kamailio skips this character")
                    .with_help("remove it"),
                );
                return;
            }
        };
        self.op(tok, len);
    }

    // ---- comments ---------------------------------------------------------------

    fn block_comment(&mut self) {
        let start = self.here();
        self.bump_n(2);
        let mut nest = 1usize;
        loop {
            match self.bump() {
                None => {
                    let span = start.to(self.last_span);
                    self.error(
                        "unterminated-comment",
                        format!("unexpected end of file: {nest} comment(s) open"),
                        span,
                        "comment starts here",
                    );
                    return;
                }
                Some('/') if self.peek() == Some('*') => {
                    self.bump();
                    nest += 1;
                }
                Some('*') if self.peek() == Some('/') => {
                    self.bump();
                    nest -= 1;
                    if nest == 0 {
                        return;
                    }
                }
                Some(_) => {}
            }
        }
    }

    // ---- strings ------------------------------------------------------------------

    fn dq_string(&mut self) {
        let start = self.here();
        let mut buf: Vec<u8> = Vec::new();
        loop {
            self.bump(); // the opening quote
            if !self.dq_body(&mut buf) {
                let span = start.to(self.last_span);
                self.error(
                    "unterminated-string",
                    "unexpected end of file in a string",
                    span,
                    "string starts here",
                );
                self.out.tokens.push(Spanned {
                    tok: Tok::Error,
                    span,
                });
                return;
            }
            let end = self.last_span;
            // Adjacent "..." literals are one string, blanks and newlines between.
            let mut n = 0;
            let mut next = None;
            for c in self.ahead() {
                if is_blank(c) || c == '\n' {
                    n += 1;
                } else {
                    next = Some(c);
                    break;
                }
            }
            if next == Some('"') {
                self.bump_n(n);
                continue;
            }
            let span = start.to(end);
            let s = String::from_utf8_lossy(&buf).into_owned();
            let s = self.apply_substs(s);
            self.emit(Tok::Str(s), span);
            return;
        }
    }

    /// Reads up to and including the closing quote; `false` at end of file.
    fn dq_body(&mut self, buf: &mut Vec<u8>) -> bool {
        loop {
            let Some(c) = self.bump() else {
                return false;
            };
            match c {
                '"' => return true,
                '\\' => {
                    let Some(n) = self.peek() else {
                        buf.push(b'\\');
                        continue;
                    };
                    match n {
                        'n' => buf.push(b'\n'),
                        'r' => buf.push(b'\r'),
                        'a' => buf.push(7),
                        't' => buf.push(b'\t'),
                        '"' => buf.push(b'"'),
                        '\\' => buf.push(b'\\'),
                        '\n' => {}
                        'x' if self.peek_n(1).is_some_and(|h| h.is_ascii_hexdigit()) => {
                            self.bump(); // x
                            let mut v = 0u32;
                            for _ in 0..2 {
                                match self.peek().and_then(|h| h.to_digit(16)) {
                                    Some(d) => {
                                        v = v * 16 + d;
                                        self.bump();
                                    }
                                    None => break,
                                }
                            }
                            buf.push(v as u8);
                            continue;
                        }
                        '0'..='7' if self.peek_n(1).is_some_and(|o| ('0'..='7').contains(&o)) => {
                            let mut v = 0u32;
                            for _ in 0..3 {
                                match self.peek().filter(|o| ('0'..='7').contains(o)) {
                                    Some(o) => {
                                        v = v * 8 + (o as u32 - '0' as u32);
                                        self.bump();
                                    }
                                    None => break,
                                }
                            }
                            buf.push(v as u8);
                            continue;
                        }
                        _ => {
                            // Any other sequence is kept as written.
                            buf.push(b'\\');
                            continue;
                        }
                    }
                    self.bump();
                }
                c => {
                    let mut b = [0u8; 4];
                    buf.extend_from_slice(c.encode_utf8(&mut b).as_bytes());
                }
            }
        }
    }

    fn sq_string(&mut self) {
        let start = self.here();
        self.bump();
        let mut s = String::new();
        loop {
            match self.bump() {
                None => {
                    let span = start.to(self.last_span);
                    self.error(
                        "unterminated-string",
                        "unexpected end of file in a string",
                        span,
                        "string starts here",
                    );
                    self.out.tokens.push(Spanned {
                        tok: Tok::Error,
                        span,
                    });
                    return;
                }
                Some('\'') => break,
                Some(c) => s.push(c),
            }
        }
        let span = start.to(self.last_span);
        let s = self.apply_substs(s);
        self.emit(Tok::SqStr(s), span);
    }

    // ---- pseudo-variables, attributes, selects ---------------------------------------

    fn pvar(&mut self) {
        let start = self.here();
        // `$?`, `$retcode`, `$rc`: longest match over the generic `$` rules.
        for special in ["$retcode", "$rc", "$?"] {
            if self.starts_with(special) {
                self.bump_n(special.chars().count());
                let span = start.to(self.last_span);
                self.emit_pv(special.to_string(), span);
                return;
            }
        }
        if self.peek_n(1) == Some('(') {
            // `$(...)` in every mode (deviation: SER mode treats it as an attribute).
            let mut text = String::new();
            self.bump();
            text.push('$');
            self.pv_parens(text, start);
            return;
        }
        match self.compat {
            Compat::Ser => {
                self.bump();
                self.attr('$', start);
            }
            Compat::Kamailio | Compat::MaxCompat => {
                if !self.peek_n(1).is_some_and(is_id_start) {
                    self.bump();
                    let span = start.to(self.last_span);
                    self.emit_error("expected a pseudo-variable name after `$`", span, "");
                    return;
                }
                if self.compat == Compat::MaxCompat {
                    // SER attribute prefixes `$f.` `$tu.` `$g.` ...
                    let word: String = self
                        .ahead()
                        .skip(1)
                        .take_while(|&c| is_id_char(c))
                        .take(3)
                        .collect();
                    let is_class = matches!(
                        word.as_str(),
                        "f" | "t" | "fr" | "fu" | "fd" | "tr" | "tu" | "td" | "g"
                    );
                    if is_class && self.peek_n(1 + word.len()) == Some('.') {
                        self.bump();
                        self.attr('$', start);
                        return;
                    }
                }
                let mut text = String::from("$");
                self.bump();
                while let Some(c) = self.peek().filter(|&c| is_id_char(c)) {
                    text.push(c);
                    self.bump();
                }
                match self.peek() {
                    Some('(') => self.pv_parens(text, start),
                    Some('[') if self.compat == Compat::MaxCompat => {
                        // `$name[` is an AVP with an index in max-compat mode.
                        let span = start.to(self.last_span);
                        self.emit(Tok::Attr(text), span);
                    }
                    _ => {
                        let span = start.to(self.last_span);
                        let text = if self.compat == Compat::Kamailio {
                            self.apply_substs(text)
                        } else {
                            text
                        };
                        self.emit_pv(text, span);
                    }
                }
            }
        }
    }

    /// Reads from a `(` to its matching `)`; `text` holds what came before.
    fn pv_parens(&mut self, mut text: String, start: Span) {
        let mut nest = 0usize;
        loop {
            match self.peek() {
                None => {
                    let span = start.to(self.last_span);
                    self.emit_error(
                        format!(
                            "unexpected end of file in pseudo-variable ({nest} parenthesis open)"
                        ),
                        span,
                        "",
                    );
                    return;
                }
                Some('\n') => {
                    let span = start.to(self.last_span);
                    self.emit_error("newline inside a pseudo-variable", span, "");
                    return;
                }
                Some(c) => {
                    self.bump();
                    text.push(c);
                    if c == '(' {
                        nest += 1;
                    } else if c == ')' {
                        nest -= 1;
                        if nest == 0 {
                            break;
                        }
                    }
                }
            }
        }
        let span = start.to(self.last_span);
        let text = self.apply_substs(text);
        self.emit_pv(text, span);
    }

    fn emit_pv(&mut self, text: String, span: Span) {
        let compat = self.compat;
        self.emit(Tok::Pvar(PvTok { text, compat }), span);
    }

    /// A SER attribute after its mark (`%` or `$`, already consumed):
    /// `[class.]name` with class one of `f t fr tr fu tu fd td g`.
    fn attr(&mut self, mark: char, start: Span) {
        let mut text = String::from(mark);
        let mut word = String::new();
        while let Some(c) = self.peek().filter(|&c| is_id_char(c)) {
            word.push(c);
            self.bump();
        }
        let is_class = matches!(
            word.as_str(),
            "f" | "t" | "fr" | "fu" | "fd" | "tr" | "tu" | "td" | "g"
        );
        if is_class {
            if self.peek() == Some('.') && self.peek_n(1).is_some_and(is_id_start) {
                self.bump();
                text.push_str(&word);
                text.push('.');
                while let Some(c) = self.peek().filter(|&c| is_id_char(c)) {
                    text.push(c);
                    self.bump();
                }
                let span = start.to(self.last_span);
                self.emit(Tok::Attr(text), span);
                return;
            }
            let span = start.to(self.last_span);
            self.emit_error(
                format!("expected `.name` after attribute class `{word}`"),
                span,
                "",
            );
            return;
        }
        if !word.chars().next().is_some_and(is_id_start) {
            let span = start.to(self.last_span);
            self.emit_error(
                format!("expected an attribute name after `{mark}`"),
                span,
                "",
            );
            return;
        }
        text.push_str(&word);
        let span = start.to(self.last_span);
        self.emit(Tok::Attr(text), span);
    }

    /// `@` then `ident` segments separated by `.`, each optionally followed by
    /// `[number]` or `["string"]`: one token, the text as written.
    fn select(&mut self) {
        let start = self.here();
        self.bump();
        let mut text = String::from("@");
        loop {
            if !self.peek().is_some_and(is_id_start) {
                break;
            }
            while let Some(c) = self.peek().filter(|&c| is_id_char(c)) {
                text.push(c);
                self.bump();
            }
            if self.peek() == Some('[')
                && let Some(len) = self.select_index_len()
            {
                for _ in 0..len {
                    if let Some(c) = self.bump() {
                        text.push(c);
                    }
                }
            }
            if self.peek() == Some('.') && self.peek_n(1).is_some_and(is_id_start) {
                self.bump();
                text.push('.');
                continue;
            }
            break;
        }
        let span = start.to(self.last_span);
        if text.len() == 1 {
            self.emit_error("expected a select name after `@`", span, "");
        } else {
            self.emit(Tok::Select(text), span);
        }
    }

    /// Length in characters of a `[123]` or `["str"]` select index ahead.
    fn select_index_len(&self) -> Option<usize> {
        // Bounded, so that a run of unterminated indexes stays linear.
        let mut it = self.ahead().take(1024);
        it.next(); // [
        let mut len = 1;
        match it.next()? {
            '"' => {
                len += 1;
                loop {
                    let c = it.next()?;
                    len += 1;
                    match c {
                        '\\' => {
                            it.next()?;
                            len += 1;
                        }
                        '"' => break,
                        _ => {}
                    }
                }
            }
            c if c.is_ascii_digit() => {
                len += 1;
                loop {
                    let c = it.next()?;
                    if c.is_ascii_alphanumeric() {
                        len += 1;
                    } else if c == ']' {
                        return Some(len + 1);
                    } else {
                        return None;
                    }
                }
            }
            _ => return None,
        }
        (it.next()? == ']').then_some(len + 1)
    }

    // ---- words, numbers, IPv6 ------------------------------------------------------------

    fn word_or_number(&mut self, c: char) {
        let start = self.here();
        let depth = self.depth();
        if c.is_ascii_hexdigit() || c == ':' {
            let la: String = self
                .ahead()
                .take_while(|&c| c.is_ascii_hexdigit() || c == ':' || c == '.')
                .take(100)
                .collect();
            let n = ipv6_len(&la);
            if n > 0 {
                self.bump_n(n);
                let span = start.to(self.last_span);
                self.emit(Tok::Ipv6(la[..n].to_string()), span);
                return;
            }
        }
        if c == ':' {
            self.op(Tok::Colon, 1);
            return;
        }
        let word: String = self.ahead().take_while(|&c| is_id_char(c)).collect();
        if is_id_start(c) {
            // `uri:host`, `uri:port`, `msg:len` beat the plain word.
            for (kw, tok) in [
                ("uri:host", Tok::UriHost),
                ("uri:port", Tok::UriPort),
                ("msg:len", Tok::MsgLen),
            ] {
                if self.starts_with(kw) {
                    self.bump_n(kw.len());
                    let span = start.to(self.last_span);
                    self.emit(tok, span);
                    return;
                }
            }
            self.bump_n(word.len());
            let span = start.to(self.last_span);
            match word.as_str() {
                "include_file" => return self.include(false, span),
                "import_file" => return self.include(true, span),
                _ => {}
            }
            if let Some(tok) = keyword(&word) {
                let is_event = tok == Tok::EventRoute;
                self.emit(tok, span);
                if is_event {
                    self.event_route_name();
                }
                return;
            }
            if let Some(value) = self.defines.get(&word).cloned() {
                self.expand(&word, value, span, depth);
                return;
            }
            self.emit(Tok::Ident(word), span);
            return;
        }
        // Starts with a digit: the longest number rule, else NUM_ID.
        let (len, value) = number_prefix(&word);
        if len == word.len() {
            self.bump_n(len);
            let span = start.to(self.last_span);
            self.emit(Tok::Int(value), span);
        } else {
            self.bump_n(word.len());
            let span = start.to(self.last_span);
            self.emit(Tok::NumId(word), span);
        }
    }

    /// After `event_route`: `[`, the name, `]`. Blanks and newlines are
    /// skipped and characters that fit no pattern are dropped (flex's
    /// default rule), as in `cfg.lex`'s EVRTNAME state.
    fn event_route_name(&mut self) {
        loop {
            let Some(c) = self.peek() else {
                return;
            };
            match c {
                c if is_blank(c) || c == '\n' => {
                    self.bump();
                }
                '[' => self.op(Tok::LBracket, 1),
                ']' => {
                    self.op(Tok::RBracket, 1);
                    return;
                }
                c if c.is_ascii_alphabetic() => {
                    let la: String = self
                        .ahead()
                        .take_while(|&c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | ':'))
                        .take(4096)
                        .collect();
                    match event_name_len(&la) {
                        Ok(n) => {
                            let start = self.here();
                            self.bump_n(n);
                            let span = start.to(self.last_span);
                            self.emit(Tok::EventName(la[..n].to_string()), span);
                        }
                        Err(skip) => self.bump_n(skip.max(1)),
                    }
                }
                _ => {
                    self.bump();
                }
            }
        }
    }
}

/// Longest number rule matching a prefix of `word` (all ASCII
/// alphanumerics/underscores, starting with a digit): (length, value).
fn number_prefix(word: &str) -> (usize, i64) {
    let b = word.as_bytes();
    let mut best = (0usize, 0i64);
    // decimal: 0 | [1-9][0-9]*
    let dec = if b.first() == Some(&b'0') {
        1
    } else {
        b.iter().take_while(|c| c.is_ascii_digit()).count()
    };
    if dec > 0 {
        best = (dec, parse_c_long(&word[..dec], 10));
    }
    // hex: 0x[0-9a-fA-F]+
    if word.starts_with("0x") {
        let n = b[2..].iter().take_while(|c| c.is_ascii_hexdigit()).count();
        if n > 0 && n + 2 > best.0 {
            best = (n + 2, parse_c_long(&word[2..n + 2], 16));
        }
    }
    // octal: 0[0-7]+
    if b.first() == Some(&b'0') {
        let n = b[1..]
            .iter()
            .take_while(|c| (b'0'..=b'7').contains(c))
            .count();
        if n > 0 && n + 1 > best.0 {
            best = (n + 1, parse_c_long(&word[1..n + 1], 8));
        }
    }
    // binary: [01]+b
    let n = b.iter().take_while(|c| matches!(c, b'0' | b'1')).count();
    if n > 0 && b.get(n) == Some(&b'b') && n + 1 > best.0 {
        best = (n + 1, parse_c_long(&word[..n], 2));
    }
    best
}

/// `(int)strtol(s, 0, radix)`: saturates at the `long` range, then truncates
/// to 32 bits as Kamailio's `int` cast does.
fn parse_c_long(digits: &str, radix: u32) -> i64 {
    let mut v: i64 = 0;
    for c in digits.chars() {
        let d = i64::from(c.to_digit(radix).unwrap_or(0));
        v = v.saturating_mul(i64::from(radix)).saturating_add(d);
    }
    i64::from(v as i32)
}

/// Is `s` a group of 1–4 hex digits?
fn hex4(s: &str) -> bool {
    (1..=4).contains(&s.len()) && s.bytes().all(|c| c.is_ascii_hexdigit())
}

/// Number of `:`-separated groups, or `None` if one is not a HEX4 group.
fn groups(s: &str) -> Option<usize> {
    let mut n = 0;
    for g in s.split(':') {
        if !hex4(g) {
            return None;
        }
        n += 1;
    }
    Some(n)
}

/// Whether `s` is an IPv4 dotted quad (the embedded tail of an IPv6 address).
fn ipv4(s: &str) -> bool {
    let parts: Vec<&str> = s.split('.').collect();
    parts.len() == 4
        && parts.iter().all(|p| {
            (1..=3).contains(&p.len())
                && p.bytes().all(|c| c.is_ascii_digit())
                && p.parse::<u16>().is_ok_and(|v| v <= 255)
        })
}

/// Whether an IPv6 token may end in an embedded IPv4 address
/// (`::ffff:10.0.0.1`). A cfgc extension asked for by the design: Kamailio
/// 5.6.3's `IPV6ADDR` pattern has no IPv4 tail, and `kamailio -c` rejects
/// `src_ip == ::ffff:127.0.0.1` ("bad expression"). Set to `false` for the
/// exact 5.6.3 behaviour.
const IPV6_WITH_IPV4_TAIL: bool = false;

/// Whether `s` matches Kamailio's `IPV6ADDR` pattern (extended with an
/// optional IPv4 tail, see [`IPV6_WITH_IPV4_TAIL`]).
fn is_ipv6(s: &str) -> bool {
    if s == "::" {
        return true;
    }
    // An IPv4 tail stands for two groups.
    let (head, extra) = match s.rfind(':') {
        Some(i) if IPV6_WITH_IPV4_TAIL && s[i + 1..].contains('.') => {
            if !ipv4(&s[i + 1..]) {
                return false;
            }
            let h = &s[..=i];
            // `x::1.2.3.4` keeps its `::`; `x:1.2.3.4` drops the separator.
            if h.ends_with("::") {
                (h, 2)
            } else {
                (&h[..h.len() - 1], 2)
            }
        }
        _ => (s, 0),
    };
    if s.contains('.') && extra == 0 {
        return false;
    }
    if let Some(i) = head.find("::") {
        let (l, r) = (&head[..i], &head[i + 2..]);
        let a = if l.is_empty() { Some(0) } else { groups(l) };
        let b = if r.is_empty() { Some(0) } else { groups(r) };
        let (Some(a), Some(b)) = (a, b) else {
            return false;
        };
        let b = b + extra;
        if a + b == 0 {
            return extra == 0;
        }
        a <= 7 && b <= 7
    } else {
        groups(head).is_some_and(|n| n + extra == 8)
    }
}

/// Longest prefix of `la` (hex digits, colons, dots) that is an IPv6
/// address; 0 if none. The address needs two colons, so `a:b` is not one.
fn ipv6_len(la: &str) -> usize {
    // `:::` never occurs inside an address: cut there.
    let la = la.find(":::").map_or(la, |i| &la[..i + 2]);
    if la.bytes().filter(|&c| c == b':').count() < 2 {
        return 0;
    }
    for end in (2..=la.len()).rev() {
        let cand = &la[..end];
        if cand.ends_with('.') {
            continue;
        }
        if is_ipv6(cand) {
            return end;
        }
    }
    0
}

/// Matches `[A-Za-z][A-Za-z0-9-]*(:[A-Za-z][A-Za-z0-9_-]*)+` at the start of
/// `la`: `Ok(len)`, or `Err(n)` with the number of characters that can be
/// dropped because no match can start in them.
fn event_name_len(la: &str) -> Result<usize, usize> {
    let b = la.as_bytes();
    if !b.first().is_some_and(u8::is_ascii_alphabetic) {
        return Err(1);
    }
    let mut i = 1;
    while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'-') {
        i += 1;
    }
    let first_end = i;
    let mut end = None;
    while i + 1 < b.len() && b[i] == b':' && b[i + 1].is_ascii_alphabetic() {
        i += 2;
        while i < b.len() && (b[i].is_ascii_alphanumeric() || matches!(b[i], b'-' | b'_')) {
            i += 1;
        }
        end = Some(i);
    }
    // Any match starting inside the first part would end at the same place.
    end.ok_or(first_end)
}
