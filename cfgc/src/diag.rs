//! Diagnostics: collected by every pass, rendered once, like rustc.
//!
//! Codes are stable kebab-case names (`syntax`, `undefined-route`,
//! `unknown-function`, ...) so tests and docs can refer to them. Messages start
//! in lower case, carry no final full stop, and put Kamailio names in
//! backticks.

use std::fmt::Write as _;

use serde::Serialize;

use crate::source::{SourceMap, Span};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The configuration is wrong: Kamailio would refuse it (or misbehave).
    Error,
    /// Valid Kamailio, but cfgc's runtime cannot run it yet. A distinct class
    /// from `Error`: the configuration is not at fault.
    Unsupported,
    /// Legal, but very likely not what the author meant.
    Warning,
}

impl Severity {
    fn word(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Unsupported => "not supported yet",
            Severity::Warning => "warning",
        }
    }
}

/// A labelled span. The first label of a diagnostic is the primary one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Label {
    pub span: Span,
    pub message: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    pub severity: Severity,
    pub code: &'static str,
    pub message: String,
    pub labels: Vec<Label>,
    pub notes: Vec<String>,
    pub help: Option<String>,
}

impl Diagnostic {
    pub fn error(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(Severity::Error, code, message)
    }

    pub fn warning(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(Severity::Warning, code, message)
    }

    pub fn unsupported(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(Severity::Unsupported, code, message)
    }

    pub fn new(severity: Severity, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            severity,
            code,
            message: message.into(),
            labels: Vec::new(),
            notes: Vec::new(),
            help: None,
        }
    }

    /// Adds a label; the first one added is the primary location.
    #[must_use]
    pub fn with_label(mut self, span: Span, message: impl Into<String>) -> Self {
        self.labels.push(Label {
            span,
            message: message.into(),
        });
        self
    }

    #[must_use]
    pub fn with_note(mut self, note: impl Into<String>) -> Self {
        self.notes.push(note.into());
        self
    }

    #[must_use]
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    pub fn primary_span(&self) -> Option<Span> {
        self.labels.first().map(|l| l.span)
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// Renders diagnostics as rustc does:
///
/// ```text
/// error[undefined-route]: route `FOO` is not defined
///   --> kamailio.cfg:12:11
///    |
/// 12 |     route(FOO);
///    |           ^^^ no `route[FOO]` block
///    |
///    = help: ...
/// ```
pub fn render(sources: &SourceMap, d: &Diagnostic) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{}[{}]: {}", d.severity.word(), d.code, d.message);
    let gutter = d
        .labels
        .iter()
        .map(|l| sources.location(l.span).1.to_string().len())
        .max()
        .unwrap_or(1);
    let pad = " ".repeat(gutter);
    for (i, label) in d.labels.iter().enumerate() {
        let file = sources.file(label.span.file);
        let (line, col) = file.line_col(label.span.start as usize);
        let arrow = if i == 0 { "-->" } else { ":::" };
        let _ = writeln!(out, "{pad}{arrow} {}:{line}:{col}", file.path.display());
        let _ = writeln!(out, "{pad} |");
        let text = file.line_text(line);
        let _ = writeln!(out, "{line:>gutter$} | {text}");
        // Underline up to the end of the span, or of the line if it goes on.
        let (end_line, end_col) = file.line_col(label.span.end as usize);
        let width = if end_line == line {
            end_col.saturating_sub(col).max(1)
        } else {
            (text.chars().count() + 1).saturating_sub(col).max(1)
        };
        let marker = if i == 0 { '^' } else { '-' };
        let mut underline = String::new();
        for ch in text.chars().take(col - 1) {
            underline.push(if ch == '\t' { '\t' } else { ' ' });
        }
        underline.extend(std::iter::repeat_n(marker, width));
        if label.message.is_empty() {
            let _ = writeln!(out, "{pad} | {underline}");
        } else {
            let _ = writeln!(out, "{pad} | {underline} {}", label.message);
        }
        // Show the include chain, innermost first.
        let mut from = file.included_from;
        while let Some(span) = from {
            let (p, l, c) = sources.location(span);
            let _ = writeln!(out, "{pad} = note: included from {}:{l}:{c}", p.display());
            from = sources.file(span.file).included_from;
        }
    }
    if !d.notes.is_empty() || d.help.is_some() {
        let _ = writeln!(out, "{pad} |");
    }
    for note in &d.notes {
        let _ = writeln!(out, "{pad} = note: {note}");
    }
    if let Some(help) = &d.help {
        let _ = writeln!(out, "{pad} = help: {help}");
    }
    out
}

#[derive(Serialize)]
struct JsonLabel<'a> {
    file: String,
    line: usize,
    column: usize,
    end_line: usize,
    end_column: usize,
    byte_start: u32,
    byte_end: u32,
    message: &'a str,
}

#[derive(Serialize)]
struct JsonDiagnostic<'a> {
    severity: Severity,
    code: &'static str,
    message: &'a str,
    labels: Vec<JsonLabel<'a>>,
    notes: &'a [String],
    help: Option<&'a str>,
    rendered: String,
}

/// One JSON object per diagnostic (for editors), each on one line.
pub fn render_json(sources: &SourceMap, d: &Diagnostic) -> String {
    let labels = d
        .labels
        .iter()
        .map(|l| {
            let f = sources.file(l.span.file);
            let (line, column) = f.line_col(l.span.start as usize);
            let (end_line, end_column) = f.line_col(l.span.end as usize);
            JsonLabel {
                file: f.path.display().to_string(),
                line,
                column,
                end_line,
                end_column,
                byte_start: l.span.start,
                byte_end: l.span.end,
                message: &l.message,
            }
        })
        .collect();
    let j = JsonDiagnostic {
        severity: d.severity,
        code: d.code,
        message: &d.message,
        labels,
        notes: &d.notes,
        help: d.help.as_deref(),
        rendered: render(sources, d),
    };
    serde_json::to_string(&j).unwrap_or_default()
}
