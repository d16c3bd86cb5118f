//! The modal lexer and preprocessor (see `syntax` for its place in the pass order).

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::diag::Diagnostic;
use crate::source::{FileId, SourceMap};

use super::token::Spanned;

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
    let _ = (sources, main, opts);
    Lexed::default()
}
