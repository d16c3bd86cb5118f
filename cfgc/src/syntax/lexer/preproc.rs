//! The `#!` preprocessor: directive recognition and handling.
//!
//! What lives here (all of it `impl Lexer`, run inline by the scanner in
//! `mod.rs`, as in Kamailio's `cfg.lex`):
//! * the directive table (`DIRECTIVES`) and its matcher: `#!define`/`def`,
//!   `#!trydef[ine]`, `#!redef[ine]`, `#!ifdef`/`#!ifndef`/`#!else`/`#!endif`,
//!   `#!subst`/`#!substdef`/`#!substdefs`, `#![try]defenv[s]`, and
//!   `include_file`/`import_file` (also spelled `#!include_file`, `!!...`);
//! * the command-line `-A` defines and `--subst*` rules (`init`);
//! * `#!ifdef` skipping, define expansion (pushing a value back as a chunk),
//!   applying `#!subst` rules to strings, `MOD_<name>` after `loadmodule`;
//! * the `#!KAMAILIO` / `#!SER` / `#!MAXCOMPAT` mode switches;
//! * end-of-input checks (unclosed `#!ifdef`, `#!subst` without its string).
//!
//! The define table is in `defines.rs`, subst rule parsing in `subst.rs`.

use std::path::PathBuf;
use std::rc::Rc;

use crate::diag::Diagnostic;
use crate::source::Span;
use crate::syntax::token::{Compat, Spanned, Tok};

use super::defines::{DefKind, DefOutcome};
use super::subst::SubstRule;
use super::{Chunk, ChunkKind, LexOptions, Lexer, is_blank, is_id_char, is_id_start};

/// Kamailio's `MAX_INCLUDE_DEPTH`.
const MAX_INCLUDE_DEPTH: usize = 10;
/// Kamailio's `MAX_IFDEFS`.
const MAX_IFDEF_DEPTH: usize = 512;
/// Nesting limit of define expansions (Kamailio has none and loops forever).
const MAX_DEFINE_DEPTH: u32 = 100;
/// Total number of define expansions per run (guards against `#!define X X X`).
const MAX_EXPANSIONS: usize = 100_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum SubstKind {
    Subst,
    SubstDef,
    SubstDefs,
}

/// The directives recognised after `#!` / `!!`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Directive {
    Define(DefKind),
    Ifdef(bool),
    Else,
    Endif,
    Subst(SubstKind),
    Defenv { quoted: bool, try_: bool },
    Include { import: bool },
}

/// Directive words with what must follow them (`cfg.lex` patterns).
const DIRECTIVES: &[(&str, Directive, Follow)] = &[
    ("define", Directive::Define(DefKind::Define), Follow::Blanks),
    ("def", Directive::Define(DefKind::Define), Follow::Blanks),
    ("trydefine", Directive::Define(DefKind::Try), Follow::Blanks),
    ("trydef", Directive::Define(DefKind::Try), Follow::Blanks),
    (
        "redefine",
        Directive::Define(DefKind::Redefine),
        Follow::Blanks,
    ),
    (
        "redef",
        Directive::Define(DefKind::Redefine),
        Follow::Blanks,
    ),
    ("ifdef", Directive::Ifdef(true), Follow::Blanks),
    ("ifndef", Directive::Ifdef(false), Follow::Blanks),
    ("else", Directive::Else, Follow::Eol),
    ("endif", Directive::Endif, Follow::Eol),
    ("subst", Directive::Subst(SubstKind::Subst), Follow::Any),
    (
        "substdef",
        Directive::Subst(SubstKind::SubstDef),
        Follow::Any,
    ),
    (
        "substdefs",
        Directive::Subst(SubstKind::SubstDefs),
        Follow::Any,
    ),
    (
        "defenv",
        Directive::Defenv {
            quoted: false,
            try_: false,
        },
        Follow::Any,
    ),
    (
        "defenvs",
        Directive::Defenv {
            quoted: true,
            try_: false,
        },
        Follow::Any,
    ),
    (
        "trydefenv",
        Directive::Defenv {
            quoted: false,
            try_: true,
        },
        Follow::Any,
    ),
    (
        "trydefenvs",
        Directive::Defenv {
            quoted: true,
            try_: true,
        },
        Follow::Any,
    ),
    (
        "include_file",
        Directive::Include { import: false },
        Follow::Any,
    ),
    (
        "import_file",
        Directive::Include { import: true },
        Follow::Any,
    ),
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Follow {
    /// At least one blank (`{EAT_ABLE}+`).
    Blanks,
    /// Only blanks, then a newline (`{EAT_ABLE}*{CR}`).
    Eol,
    /// Anything (flex's longest match simply stops after the word).
    Any,
}

impl Lexer<'_> {
    // ---- setup and teardown ---------------------------------------------

    /// The predefined names, then the command line's `-A` and `--subst*`.
    pub(super) fn init(&mut self, opts: &LexOptions) {
        for name in ["KAMAILIO_5", "KAMAILIO_5_6", "KAMAILIO_5_6_3"] {
            self.defines.set(DefKind::Define, name, None);
        }
        let at = Span::new(self.main, 0, 0);
        for (name, value) in &opts.defines {
            if self.defines.set(DefKind::Define, name, value.clone()) == DefOutcome::Redefined {
                self.error(
                    "define-redefined",
                    format!("`-A {name}`: `{name}` is already defined"),
                    at,
                    "",
                );
            }
        }
        for (directive, expr) in &opts.substs {
            let kind = match directive.trim_start_matches('-') {
                "substdef" => SubstKind::SubstDef,
                "substdefs" => SubstKind::SubstDefs,
                _ => SubstKind::Subst,
            };
            self.add_subst(kind, expr, at);
        }
    }

    /// At the end of the input: a `#!subst` still waiting for its string,
    /// unbalanced `#!ifdef`/`#!endif`.
    pub(super) fn finish_directives(&mut self) {
        if let Some((_, span)) = self.pending_subst.take() {
            self.error(
                "bad-subst",
                "`#!subst` directive without its string",
                span,
                "expected a string after this",
            );
        }
        if self.ifdef_level != 0 {
            let span = self
                .ifdefs
                .last()
                .map_or(Span::new(self.main, 0, 0), |&(_, s)| s);
            let msg = if self.ifdef_level > 0 {
                format!(
                    "{} more `#!ifdef`/`#!ifndef` than `#!endif`",
                    self.ifdef_level
                )
            } else {
                format!(
                    "{} more `#!endif` than `#!ifdef`/`#!ifndef`",
                    -self.ifdef_level
                )
            };
            self.error("unbalanced-ifdef", msg, span, "not closed");
        }
    }

    // ---- define expansion and subst rules --------------------------------

    /// Pushes a define's value back as a chunk, to be scanned again.
    pub(super) fn expand(&mut self, name: &str, value: Option<Rc<str>>, span: Span, depth: u32) {
        let Some(value) = value else {
            return; // an empty define deletes the token
        };
        self.expansions += 1;
        if depth >= MAX_DEFINE_DEPTH || self.expansions > MAX_EXPANSIONS {
            if !self.recursion_reported {
                self.recursion_reported = true;
                self.error(
                    "define-recursion",
                    format!("define `{name}` expands recursively without end"),
                    span,
                    "expanded here",
                );
            }
            return;
        }
        self.chunks.push(Chunk {
            text: value,
            pos: 0,
            kind: ChunkKind::Macro {
                span,
                depth: depth + 1,
            },
        });
    }

    /// Applies every `#!subst` rule so far, in order, to a string's text.
    pub(super) fn apply_substs(&self, s: String) -> String {
        let mut s = s;
        for rule in &self.substs {
            if let Some(r) = rule.apply(&s) {
                s = r;
            }
        }
        s
    }

    /// Registers a subst rule; `#!substdef[s]` also defines its regex as a name.
    fn add_subst(&mut self, kind: SubstKind, expr: &str, span: Span) {
        match SubstRule::parse(expr) {
            Ok(rule) => {
                if kind != SubstKind::Subst {
                    let value = if kind == SubstKind::SubstDefs {
                        format!("\"{}\"", rule.raw_repl)
                    } else {
                        rule.raw_repl.clone()
                    };
                    let name = rule.raw_re.clone();
                    if self.defines.set(DefKind::Define, &name, Some(value))
                        == DefOutcome::Redefined
                    {
                        self.error(
                            "define-redefined",
                            format!("`{name}` is already defined"),
                            span,
                            "defined again here",
                        );
                    }
                }
                self.substs.push(rule);
            }
            Err(e) => self.error(
                "bad-subst",
                format!("invalid subst expression: {e}"),
                span,
                "",
            ),
        }
    }

    /// A `#!subst*` directive takes the next token as its expression.
    /// Returns `true` when `tok` was that string (and so is no token).
    pub(super) fn take_subst_string(&mut self, tok: &Tok, span: Span) -> bool {
        if let Some((kind, dspan)) = self.pending_subst.take() {
            match tok {
                Tok::Str(s) | Tok::SqStr(s) => {
                    self.add_subst(kind, s, dspan.to(span));
                    return true;
                }
                _ => self.error(
                    "bad-subst",
                    "expected a string after `#!subst`",
                    span,
                    "not a string",
                ),
            }
        }
        false
    }

    /// `loadmodule "NAME"` defines `MOD_NAME` once its string is lexed;
    /// `tok` is the token about to be emitted.
    pub(super) fn define_loaded_module(&mut self, tok: &Tok) {
        if let Tok::Str(s) | Tok::SqStr(s) = tok
            && !s.contains('$')
            && matches!(
                self.out.tokens.last(),
                Some(Spanned {
                    tok: Tok::Loadmodule | Tok::Loadmodulex,
                    ..
                })
            )
        {
            let name = module_name(s);
            if !name.is_empty() {
                let def = format!("MOD_{name}");
                if !self.defines.contains(&def) {
                    self.defines.set(DefKind::Define, &def, None);
                }
            }
        }
    }

    // ---- `#!ifdef` skipping ---------------------------------------------

    /// Inside an inactive `#!ifdef` branch (at any nesting level).
    pub(super) fn skipping(&self) -> bool {
        self.ifdefs.iter().any(|&(active, _)| !active)
    }

    /// One step in a skipped `#!ifdef` region: only the conditional
    /// directives are recognised. Returns `false` at the end of the input.
    pub(super) fn skip_step(&mut self) -> bool {
        match self.peek() {
            None => self.pop_file(),
            Some('#' | '!') => {
                if let Some((d, len)) = self.match_directive()
                    && matches!(d, Directive::Ifdef(_) | Directive::Else | Directive::Endif)
                {
                    self.directive(d, len);
                } else {
                    self.bump();
                }
                true
            }
            Some(_) => {
                self.bump();
                true
            }
        }
    }

    // ---- compatibility mode switches ------------------------------------

    /// `#!KAMAILIO` / `//!SER` ... immediately followed by a newline.
    pub(super) fn compat_switch(&mut self, prefix: usize) -> bool {
        if self.peek_n(prefix) != Some('!') {
            return false;
        }
        let word: String = self
            .ahead()
            .skip(prefix + 1)
            .take_while(|c| c.is_ascii_alphabetic())
            .take(10)
            .collect();
        if self.peek_n(prefix + 1 + word.len()) != Some('\n') {
            return false;
        }
        let mode = match word.as_str() {
            "SER" => Compat::Ser,
            "KAMAILIO" | "OPENSER" => Compat::Kamailio,
            "MAXCOMPAT" | "ALL" => Compat::MaxCompat,
            _ => return false,
        };
        self.compat = mode;
        self.bump_n(prefix + 1 + word.len() + 1);
        true
    }

    // ---- directives -----------------------------------------------------

    /// Recognises `#!word` / `!!word` at the current position; returns the
    /// directive and the number of characters of prefix and word.
    pub(super) fn match_directive(&self) -> Option<(Directive, usize)> {
        let mut it = self.ahead();
        let p0 = it.next()?;
        let p1 = it.next()?;
        if !matches!((p0, p1), ('#', '!') | ('!', '!')) {
            return None;
        }
        let word: String = self
            .ahead()
            .skip(2)
            .take_while(|&c| c.is_ascii_alphabetic() || c == '_')
            .take(16)
            .collect();
        let mut best: Option<(Directive, usize)> = None;
        for &(name, d, follow) in DIRECTIVES {
            if !word.starts_with(name) {
                continue;
            }
            let ok = match follow {
                Follow::Any => true,
                Follow::Blanks => self.peek_n(2 + name.len()).is_some_and(is_blank),
                Follow::Eol => {
                    let mut rest = self.ahead().skip(2 + name.len());
                    loop {
                        match rest.next() {
                            Some(c) if is_blank(c) => continue,
                            Some('\n') => break true,
                            _ => break false,
                        }
                    }
                }
            };
            if ok && best.is_none_or(|(_, l)| name.len() + 2 > l) {
                best = Some((d, name.len() + 2));
            }
        }
        best
    }

    /// Consumes a recognised directive word and runs it.
    pub(super) fn directive(&mut self, d: Directive, len: usize) {
        let start = self.here();
        self.bump_n(len);
        let span = start.to(self.last_span);
        match d {
            Directive::Define(kind) => self.define(kind, span),
            Directive::Ifdef(positive) => self.ifdef(positive, span),
            Directive::Else => {
                self.skip_line();
                match self.ifdefs.last_mut() {
                    Some((active, _)) => *active = !*active,
                    None => self.out.diagnostics.push(
                        Diagnostic::warning("unbalanced-ifdef", "`#!else` without `#!ifdef`")
                            .with_label(span, ""),
                    ),
                }
            }
            Directive::Endif => {
                self.skip_line();
                self.ifdef_level -= 1;
                if self.ifdefs.pop().is_none() {
                    self.error("unbalanced-ifdef", "`#!endif` without `#!ifdef`", span, "");
                    // Reported here; do not report it again at the end.
                    self.ifdef_level += 1;
                }
            }
            Directive::Subst(kind) => self.pending_subst = Some((kind, span)),
            Directive::Defenv { quoted, try_ } => self.defenv(quoted, try_, span),
            Directive::Include { import } => self.include(import, span),
        }
    }

    /// Skips blanks (not newlines) and reads an identifier.
    fn read_id(&mut self) -> Option<String> {
        while self.peek().is_some_and(is_blank) {
            self.bump();
        }
        if !self.peek().is_some_and(is_id_start) {
            return None;
        }
        let mut id = String::new();
        while let Some(c) = self.peek().filter(|&c| is_id_char(c)) {
            id.push(c);
            self.bump();
        }
        Some(id)
    }

    /// `#!define NAME [value]` and its `try`/`re` variants: the value runs to
    /// the end of the line (a `\` before the newline continues it).
    fn define(&mut self, kind: DefKind, span: Span) {
        let Some(name) = self.read_id() else {
            let at = self.here();
            self.error(
                "syntax",
                "expected a name after the define directive",
                span.to(at),
                "",
            );
            self.skip_line();
            return;
        };
        let span = span.to(self.last_span);
        if self.peek() == Some('-') {
            self.error(
                "syntax",
                format!("`-` not allowed in define name `{name}`"),
                span,
                "",
            );
            self.skip_line();
            return;
        }
        while self.peek().is_some_and(is_blank) {
            self.bump();
        }
        let value = match self.bump() {
            None => None,
            Some('\n') => None,
            Some(first) => {
                let mut v = String::new();
                v.push(first);
                loop {
                    match self.bump() {
                        // At the end of the input the value is never set.
                        None => break None,
                        Some('\n') => break Some(v),
                        Some('\\') if self.peek() == Some('\n') => {
                            self.bump();
                        }
                        Some(c) => v.push(c),
                    }
                }
            }
        };
        if self.defines.set(kind, &name, value) == DefOutcome::Redefined {
            self.error(
                "define-redefined",
                format!("`{name}` is already defined"),
                span,
                "defined again here",
            );
        }
    }

    /// `#!ifdef NAME` / `#!ifndef NAME`: opens a branch, active or skipped.
    fn ifdef(&mut self, positive: bool, span: Span) {
        if self.ifdefs.len() >= MAX_IFDEF_DEPTH {
            self.error(
                "unbalanced-ifdef",
                format!("more than {MAX_IFDEF_DEPTH} nested `#!ifdef`"),
                span,
                "",
            );
            self.skip_line();
            return;
        }
        self.ifdef_level += 1;
        let name = self.read_id();
        let span = span.to(self.last_span);
        let defined = match &name {
            Some(n) => {
                if self.peek() == Some('-') {
                    self.error(
                        "syntax",
                        format!("`-` not allowed in define name `{n}`"),
                        span,
                        "",
                    );
                }
                self.defines.contains(n)
            }
            None => {
                self.error("syntax", "expected a name after `#!ifdef`", span, "");
                false
            }
        };
        // The rest of the line is ignored; the directive takes effect at the newline.
        loop {
            match self.bump() {
                None => return,
                Some('\n') => break,
                Some(_) => {}
            }
        }
        self.ifdefs.push((defined == positive, span));
    }

    /// `#!defenv NAME=VAR` / `#!defenv VAR` (`s`: quoted value, `try`: unset is no error).
    fn defenv(&mut self, quoted: bool, try_: bool, span: Span) {
        while self.peek().is_some_and(|c| matches!(c, ' ' | '\t' | '\n')) {
            self.bump();
        }
        let mut arg = String::new();
        while let Some(c) = self
            .peek()
            .filter(|c| !matches!(c, ' ' | '\t' | '\r' | '\n'))
        {
            arg.push(c);
            self.bump();
        }
        let span = span.to(self.last_span);
        let (name, var) = match arg.split_once('=') {
            Some((n, v)) => (n.to_string(), v.to_string()),
            None => (arg.clone(), arg.clone()),
        };
        if name.is_empty() || var.is_empty() {
            self.error(
                "syntax",
                format!("invalid `#!defenv` argument `{arg}`"),
                span,
                "",
            );
            return;
        }
        let Ok(value) = std::env::var(&var) else {
            if !try_ {
                self.error(
                    "defenv-unset",
                    format!("environment variable `{var}` is not set"),
                    span,
                    "",
                );
            }
            return;
        };
        let value = if quoted {
            format!("\"{value}\"")
        } else {
            value
        };
        if self.defines.set(DefKind::Define, &name, Some(value)) == DefOutcome::Redefined {
            self.error(
                "define-redefined",
                format!("`{name}` is already defined"),
                span,
                "defined again here",
            );
        }
    }

    /// `include_file "path"` / `import_file "path"` (with or without `#!`):
    /// pushes the file as a chunk, resolved as given, then relative to the
    /// including file; a missing `import_file` is no error.
    pub(super) fn include(&mut self, import: bool, span: Span) {
        while self.peek().is_some_and(|c| matches!(c, ' ' | '\t' | '\n')) {
            self.bump();
        }
        let mut raw = String::new();
        while let Some(c) = self
            .peek()
            .filter(|c| !matches!(c, ' ' | '\t' | '\r' | '\n'))
        {
            raw.push(c);
            self.bump();
        }
        let span = span.to(self.last_span);
        let raw = self.apply_substs(raw);
        let word = if import {
            "import_file"
        } else {
            "include_file"
        };
        let Some(inner) = raw
            .strip_prefix('"')
            .and_then(|r| r.strip_suffix('"'))
            .filter(|_| raw.len() >= 2)
        else {
            self.error(
                "syntax",
                format!("`{word}`: the file name must be in double quotes"),
                span,
                "",
            );
            return;
        };
        let mut name = String::new();
        let mut chars = inner.chars();
        while let Some(c) = chars.next() {
            if c == '\\' {
                match chars.next() {
                    Some('t') => name.push('\t'),
                    Some('n') => name.push('\n'),
                    Some('r') => name.push('\r'),
                    Some(o) => name.push(o),
                    None => {}
                }
            } else {
                name.push(c);
            }
        }
        if name.is_empty() {
            self.error("syntax", format!("`{word}`: empty file name"), span, "");
            return;
        }
        if self.include_depth() >= MAX_INCLUDE_DEPTH {
            self.error(
                "include-depth",
                format!("too many nested includes (more than {MAX_INCLUDE_DEPTH})"),
                span,
                "",
            );
            return;
        }
        let given = PathBuf::from(&name);
        let mut candidates = vec![given.clone()];
        if !given.is_absolute() {
            let cur = &self.sources.file(self.current_file()).path;
            if let Some(dir) = cur.parent().filter(|d| !d.as_os_str().is_empty()) {
                candidates.push(dir.join(&given));
            }
        }
        for cand in &candidates {
            if !cand.is_file() {
                continue;
            }
            if let Ok(id) = self.sources.load(cand, Some(span)) {
                self.out.files_read.push(cand.clone());
                let text: Rc<str> = Rc::from(self.sources.file(id).text.as_str());
                self.chunks.push(Chunk {
                    text,
                    pos: 0,
                    kind: ChunkKind::File(id),
                });
                return;
            }
        }
        if !import {
            let tried: Vec<String> = candidates
                .iter()
                .map(|p| format!("`{}`", p.display()))
                .collect();
            self.out.diagnostics.push(
                Diagnostic::error(
                    "include-not-found",
                    format!("cannot open included file `{name}`"),
                )
                .with_label(span, "")
                .with_note(format!("tried {}", tried.join(", "))),
            );
        }
    }
}

/// The module name of a `loadmodule` argument: no directory, no `.so`.
fn module_name(path: &str) -> &str {
    let base = path.rsplit('/').next().unwrap_or(path);
    base.strip_suffix(".so").unwrap_or(base)
}
