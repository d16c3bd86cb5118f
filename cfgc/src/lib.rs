//! cfgc: compiles a Kamailio `kamailio.cfg` into Rust.
//!
//! Passes, in order: preprocess + lex → parse → check (→ IR → codegen).
//! See `ARCHITECTURE.md` at the repository root.

pub mod catalog;
pub mod check;
pub mod diag;
pub mod source;
pub mod syntax;

pub use diag::{Diagnostic, Severity};
pub use source::{FileId, SourceMap, Span};
