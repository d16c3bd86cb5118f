//! Static typing errors of §5.4, switch rules, and the warnings for the
//! traps Kamailio users fall into.

use crate::diag::Diagnostic;
use crate::source::Span;
use crate::syntax::ast::{BinOp, BlockKind, Case, Expr, ReturnKind, UnOp};

use super::body::Ctx;
use super::calls::is_constant;

/// The statically known type of an expression (§5.4: only literal and
/// constant operands have one).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Ty {
    Int,
    Str,
    Unknown,
}

pub(super) fn static_type(e: &Expr) -> Ty {
    match e {
        Expr::Int(..) => Ty::Int,
        Expr::Str(..) => Ty::Str,
        Expr::Paren(x, _) => static_type(x),
        Expr::Cast(crate::syntax::ast::Cast::Int, ..) => Ty::Int,
        Expr::Cast(crate::syntax::ast::Cast::Str, ..) => Ty::Str,
        Expr::Unary { op: UnOp::Not, .. }
        | Expr::Unary {
            op: UnOp::BitNot, ..
        }
        | Expr::Unary { op: UnOp::Neg, .. }
        | Expr::Defined(..)
        | Expr::Strlen(..)
        | Expr::Strempty(..)
        | Expr::KwCond { .. }
        | Expr::MyselfCond { .. } => Ty::Int,
        Expr::Binary { op, lhs, .. } => match op {
            // `+` takes the type of its left operand.
            BinOp::Add => static_type(lhs),
            _ => Ty::Int,
        },
        Expr::Selval { then, else_, .. } => {
            let (a, b) = (static_type(then), static_type(else_));
            if a == b { a } else { Ty::Unknown }
        }
        _ => Ty::Unknown,
    }
}

fn is_comparison(op: BinOp) -> bool {
    matches!(
        op,
        BinOp::Eq
            | BinOp::Ne
            | BinOp::Match
            | BinOp::StrEq
            | BinOp::StrNe
            | BinOp::IntEq
            | BinOp::IntNe
            | BinOp::Lt
            | BinOp::Gt
            | BinOp::Le
            | BinOp::Ge
    )
}

fn is_bitwise(op: BinOp) -> bool {
    matches!(
        op,
        BinOp::BitOr | BinOp::BitAnd | BinOp::BitXor | BinOp::Shl | BinOp::Shr
    )
}

fn is_int_only(op: BinOp) -> bool {
    matches!(
        op,
        BinOp::Sub
            | BinOp::Mul
            | BinOp::Div
            | BinOp::Mod
            | BinOp::BitOr
            | BinOp::BitAnd
            | BinOp::BitXor
            | BinOp::Shl
            | BinOp::Shr
            | BinOp::Lt
            | BinOp::Gt
            | BinOp::Le
            | BinOp::Ge
            | BinOp::IntEq
            | BinOp::IntNe
    )
}

/// Checks one expression node (not its children: the walker recurses).
pub(super) fn expr(ctx: &mut Ctx<'_>, e: &Expr) {
    match e {
        Expr::Binary { op, lhs, rhs, span } => {
            binary(ctx, *op, lhs, rhs, *span);
        }
        Expr::Unary { op, expr, span } if *op != UnOp::Not && static_type(expr) == Ty::Str => {
            ctx.push(
                Diagnostic::error(
                    "type-mismatch",
                    format!(
                        "`{}` needs an integer operand",
                        if *op == UnOp::Neg { "-" } else { "~" }
                    ),
                )
                .with_label(expr.span(), "this is a string")
                .with_label(*span, ""),
            );
        }
        _ => {}
    }
}

fn binary(ctx: &mut Ctx<'_>, op: BinOp, lhs: &Expr, rhs: &Expr, span: Span) {
    let (lt, rt) = (static_type(lhs), static_type(rhs));
    // ---- static typing errors (§5.4) ----
    if is_int_only(op) {
        for (side, t) in [(lhs, lt), (rhs, rt)] {
            if t == Ty::Str {
                ctx.push(
                    Diagnostic::error(
                        "type-mismatch",
                        format!("`{}` needs integer operands", op.spelling()),
                    )
                    .with_label(side.span(), "this is a string")
                    .with_note("Kamailio rejects a known string operand of an integer operator"),
                );
            }
        }
    } else if matches!(op, BinOp::Add | BinOp::Eq | BinOp::Ne) && lt == Ty::Int && rt == Ty::Str {
        let what = if op == BinOp::Add { "add" } else { "compare" };
        ctx.push(
            Diagnostic::error(
                "type-mismatch",
                format!(
                    "cannot {what} an integer and a string with `{}`",
                    op.spelling()
                ),
            )
            .with_label(rhs.span(), "this is a string")
            .with_label(
                lhs.span(),
                "the left operand is an integer, so the operation is integer",
            )
            .with_help(if op == BinOp::Add {
                "put the string first for concatenation, or use `(int)` / `(str)` casts"
            } else {
                "compare strings with `eq`, or convert with `(str)` / `(int)`"
            }),
        );
    }
    // ---- warnings ----
    // Report the leftmost concatenation of a chain only (`"ab" + 1 + 2`).
    let chained = matches!(lhs, Expr::Binary { op: BinOp::Add, lhs: inner, rhs: r, .. }
        if static_type(inner) == Ty::Str && static_type(r) == Ty::Int);
    if op == BinOp::Add && lt == Ty::Str && rt == Ty::Int && is_constant(lhs) && !chained {
        ctx.push(
            Diagnostic::warning(
                "string-concat",
                "`+` with a string on the left is a concatenation",
            )
            .with_label(span, "this concatenates the number as text")
            .with_help("to add numbers, make the left operand an integer (`(int)\"10\" + 1`)"),
        );
    }
    if is_comparison(op) || is_bitwise(op) {
        precedence(ctx, op, lhs, rhs);
    }
    if matches!(op, BinOp::Eq | BinOp::StrEq) {
        let empty = |e: &Expr| matches!(e, Expr::Str(s, _) if s.is_empty());
        let other = if empty(rhs) {
            Some(lhs)
        } else if empty(lhs) {
            Some(rhs)
        } else {
            None
        };
        if let Some(other) = other
            && may_hold_int(other)
        {
            ctx.push(
                Diagnostic::warning(
                    "empty-string-compare",
                    format!("comparison with `\"\"` using `{}`", op.spelling()),
                )
                .with_label(span, "rewritten to `strempty(...)`")
                .with_note(
                    "an integer 0 is not empty, so a variable holding 0 is neither \
                     `== \"\"` nor (compared as integers, 0 == 0) `!= \"\"`",
                )
                .with_help(
                    "write `strempty(x)` for an empty string, or `x == $null` for a missing value",
                ),
            );
        }
    }
}

/// Whether an expression may hold an integer at run time: variables of the
/// container families, return codes, and computed values. Message PVs
/// (`$hdr(..)`, `$rU`, ...) are strings or null.
fn may_hold_int(e: &Expr) -> bool {
    match e {
        Expr::Pv(p) => {
            let name = super::pvar::parse_spec(&p.text)
                .map(|(s, _)| s.name)
                .unwrap_or_default();
            matches!(
                name.as_str(),
                "var"
                    | "vz"
                    | "vn"
                    | "avp"
                    | "xavp"
                    | "xavu"
                    | "xavi"
                    | "sht"
                    | "shv"
                    | "dlg_var"
                    | "rc"
                    | "retcode"
                    | "?"
            )
        }
        Expr::Paren(x, _) => may_hold_int(x),
        Expr::Str(..) | Expr::Int(..) | Expr::Select(..) => false,
        _ => true,
    }
}

fn unparen(e: &Expr) -> Option<(BinOp, Span)> {
    match e {
        Expr::Binary { op, span, .. } => Some((*op, *span)),
        _ => None,
    }
}

fn precedence(ctx: &mut Ctx<'_>, op: BinOp, lhs: &Expr, rhs: &Expr) {
    // A bitwise or shift operator with an unparenthesised comparison as
    // operand: `1 << 3 == 8` is `1 << (3 == 8)`, `6 & 3 == 2` is `6 & (3 == 2)`.
    if is_bitwise(op) {
        for side in [lhs, rhs] {
            if let Some((inner, span)) = unparen(side)
                && is_comparison(inner)
            {
                ctx.push(
                    Diagnostic::warning(
                        "precedence",
                        format!(
                            "`{}` binds less tightly than `{}`",
                            op.spelling(),
                            inner.spelling()
                        ),
                    )
                    .with_label(
                        span,
                        format!("this comparison is an operand of `{}`", op.spelling()),
                    )
                    .with_note(
                        "in Kamailio, `|`, `&`, `^`, `<<` and `>>` bind less tightly than the \
                         comparisons",
                    )
                    .with_help("add parentheses around the bitwise operation"),
                );
            }
        }
    }
    // `!$a == "x"` is `(!$a) == "x"`.
    if is_comparison(op)
        && let Expr::Unary {
            op: UnOp::Not,
            span,
            ..
        } = lhs
    {
        ctx.push(
            Diagnostic::warning(
                "precedence",
                format!(
                    "`!` applies to the left operand only, not to the `{}`",
                    op.spelling()
                ),
            )
            .with_label(*span, "this is negated first")
            .with_help(format!(
                "write `!(a {} b)` to negate the comparison",
                op.spelling()
            )),
        );
    }
}

/// Checks the regex operand of `=~`.
pub(super) fn regex_operand(ctx: &mut Ctx<'_>, rhs: &Expr) {
    let Some(re) = super::body::const_expr_string(rhs) else {
        return;
    };
    if !matches!(static_type(rhs), Ty::Str) {
        return;
    }
    if let Err(msg) = super::regex::check_ere(&re) {
        ctx.push(
            Diagnostic::error("bad-regex", "this regular expression does not compile")
                .with_label(rhs.span(), msg)
                .with_note("`=~` uses POSIX extended regular expressions"),
        );
        return;
    }
    regex_escapes(ctx, &re, rhs.span());
}

/// `\d` is no digit class in POSIX EREs (`[0-9]` or `[[:digit:]]` is).
pub(super) fn regex_escapes(ctx: &mut Ctx<'_>, re: &str, span: Span) {
    let mut chars = re.chars();
    while let Some(c) = chars.next() {
        if c == '\\'
            && let Some(e @ ('d' | 'D')) = chars.next()
        {
            let class = if e == 'd' { "[0-9]" } else { "[^0-9]" };
            ctx.push(
                Diagnostic::warning(
                    "regex-escape",
                    format!("`\\{e}` is not a digit class in a POSIX regex"),
                )
                .with_label(span, format!("`\\{e}` never matches a digit here"))
                .with_help(format!("write `{class}` (or `[[:digit:]]`)")),
            );
            return;
        }
    }
}

pub(super) fn switch(ctx: &mut Ctx<'_>, cases: &[Case], span: Span) {
    let mut first_kind: Option<(bool, Span)> = None;
    let mut default: Option<Span> = None;
    for c in cases {
        let Some(label) = &c.label else {
            if let Some(prev) = default {
                ctx.push(
                    Diagnostic::error("duplicate-default", "`switch` has more than one `default`")
                        .with_label(c.span, "second `default`")
                        .with_label(prev, "first `default`"),
                );
            } else {
                default = Some(c.span);
            }
            continue;
        };
        if !is_constant(label) {
            ctx.push(
                Diagnostic::error("arg-not-constant", "case labels must be constant")
                    .with_label(label.span(), "not a constant expression"),
            );
            continue;
        }
        let is_str = c.regex || static_type(label) == Ty::Str;
        match first_kind {
            None => first_kind = Some((is_str, label.span())),
            Some((k, first)) if k != is_str => {
                ctx.push(
                    Diagnostic::error(
                        "switch-mixed-cases",
                        "`switch` mixes integer and string case labels",
                    )
                    .with_label(
                        label.span(),
                        if is_str {
                            "a string label"
                        } else {
                            "an integer label"
                        },
                    )
                    .with_label(
                        first,
                        if k {
                            "a string label"
                        } else {
                            "an integer label"
                        },
                    )
                    .with_label(span, ""),
                );
            }
            Some(_) => {}
        }
        if c.regex
            && let Some(re) = super::body::const_expr_string(label)
            && let Err(msg) = super::regex::check_ere(&re)
        {
            ctx.push(
                Diagnostic::error("bad-regex", "this regular expression does not compile")
                    .with_label(label.span(), msg),
            );
        }
    }
}

/// `while` loops while non-zero (unlike `if`): a negative value loops.
pub(super) fn while_truth(ctx: &mut Ctx<'_>, cond: &Expr) {
    // The parentheses of `while (...)` are part of the parsed condition.
    let mut cond = cond;
    while let Expr::Paren(inner, _) = cond {
        cond = inner;
    }
    if let Expr::Call(c) = cond {
        ctx.push(
            Diagnostic::warning("while-truth", "`while` tests a function call")
                .with_label(c.span, "a call used as a value is 0 or 1")
                .with_note("`while` loops while its value is non-zero; a negative return code counts as 0 here"),
        );
    }
}

pub(super) fn return_value(
    ctx: &mut Ctx<'_>,
    block: BlockKind,
    kind: ReturnKind,
    value: Option<&Expr>,
    span: Span,
) {
    // In reply and event routes a 0 is the documented way to stop the
    // reply or tell the module to drop: only request-side blocks are traps.
    let request_side = matches!(
        block,
        BlockKind::Route
            | BlockKind::RequestRoute
            | BlockKind::FailureRoute
            | BlockKind::BranchRoute
    );
    if kind != ReturnKind::Return || !request_side {
        return;
    }
    let Some(v) = value else {
        return;
    };
    let v = match v {
        Expr::Paren(x, _) => x.as_ref(),
        v => v,
    };
    match v {
        Expr::Int(0, _) => ctx.push(
            Diagnostic::warning(
                "return-zero",
                "`return 0` ends the whole script, like `exit`",
            )
            .with_label(span, "")
            .with_help("return a negative value (`return -1`) to signal failure to the caller"),
        ),
        Expr::Call(c) => ctx.push(
            Diagnostic::warning(
                "return-zero",
                "`return f()` ends the whole script when `f` fails",
            )
            .with_label(
                c.span,
                "a call used as a value is 1 on success and 0 on failure",
            )
            .with_note("`return 0` behaves like `exit`")
            .with_help("store the code first (`$var(rc) = f(); return $var(rc);`)"),
        ),
        _ => {}
    }
}
