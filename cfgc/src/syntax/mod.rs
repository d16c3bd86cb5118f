//! Front end: preprocessing lexer, grammar, syntax tree.
//!
//! Pass order (each step's output is the next one's input):
//! 1. [`lexer::lex`] — Kamailio's scanner and its `#!` preprocessor in one
//!    modal pass, as in `cfg.lex`: directives, define expansion (token level,
//!    recursive), `#!ifdef` skipping, `include_file`/`import_file`, `#!subst`
//!    rules. Output: a flat token stream with spans into original files.
//! 2. [`parse_tokens`] — the LALRPOP grammar (`grammar.lalrpop`) with error
//!    recovery. Output: [`ast::File`].
//!
//! After this module: the tree holds only syntactically valid constructs, or
//! `Error` nodes whose diagnostics were already collected.

pub mod ast;
pub mod keywords;
pub mod lexer;
pub mod token;

mod parse;
#[cfg(test)]
mod tests;

pub use lexer::{LexOptions, Lexed, lex};
pub use parse::parse_tokens;
