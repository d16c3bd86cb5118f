//! Transformations (`{s.substr,1,3}`): which ones the runtime implements
//! (the vocabulary's `TRANSFORMATIONS`), and their parameters read as
//! Kamailio's pv_trans.c reads them (numbers, strings up to `,`/`}`, PVs).

use crate::check::pvar::{self, Transformation};
use crate::diag::Diagnostic;
use crate::source::Span;

use cfgc_vocab::{TrInfo, TrParam as P};

use super::super::{TrArg, TrOp};
use super::Lowerer;

fn skip_ws(b: &[u8], i: &mut usize) {
    while matches!(b.get(*i), Some(b' ' | b'\t' | b'\n')) {
        *i += 1;
    }
}

/// Where a string parameter ends: `,` `}` tab or newline.
fn str_end(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && !matches!(b[i], b',' | b'}' | b'\t' | b'\n') {
        i += 1;
    }
    i
}

impl Lowerer<'_> {
    /// Lowers one transformation; `None` (reported) if the runtime lacks it
    /// or its parameters are malformed.
    pub(super) fn tr_op(&mut self, t: &Transformation, span: Span) -> Option<TrOp> {
        let Some(TrInfo {
            kind,
            params: kinds,
            ..
        }) = TrInfo::lookup(&t.class, &t.name)
        else {
            self.unsupported(
                span,
                format!("the transformation `{{{}.{}}}`", t.class, t.name),
            );
            return None;
        };
        match self.tr_params(&t.params, kinds, span) {
            Ok(args) => Some(TrOp { kind: *kind, args }),
            Err(why) => {
                self.diags.push(
                    Diagnostic::error(
                        "bad-transformation",
                        format!("invalid parameters in `{{{}.{}}}`: {why}", t.class, t.name),
                    )
                    .with_label(span, "Kamailio refuses this transformation at startup"),
                );
                None
            }
        }
    }

    fn tr_params(&mut self, text: &str, kinds: &[P], span: Span) -> Result<Vec<TrArg>, String> {
        let has_params = !text.is_empty();
        let b = text.as_bytes();
        let mut args = Vec::new();
        let mut i = 0;
        for (k, kind) in kinds.iter().enumerate() {
            let optional = matches!(kind, P::OptNum | P::OptDelim);
            if i >= text.len() && (k > 0 || !has_params) {
                if optional {
                    args.push(match kind {
                        P::OptNum => TrArg::Int(0),
                        _ => TrArg::Str(b";".to_vec()),
                    });
                    continue;
                }
                return Err("a parameter is missing".into());
            }
            if k > 0 {
                // `i` is at the `,` after the previous parameter.
                i += 1;
            }
            skip_ws(b, &mut i);
            let arg = match kind {
                _ if b.get(i) == Some(&b'$') && *kind != P::Char => {
                    let (spec, len) = pvar::parse_spec(&text[i..])
                        .map_err(|e| format!("bad PV parameter: {}", e.0))?;
                    i += len;
                    match self.pv_ref(&spec, span) {
                        Some(r) => TrArg::Pv(r),
                        None => return Err("unsupported PV parameter".into()),
                    }
                }
                P::Num | P::OptNum => {
                    let neg = match b.get(i) {
                        Some(b'-') => {
                            i += 1;
                            true
                        }
                        Some(b'+') => {
                            i += 1;
                            false
                        }
                        Some(c) if c.is_ascii_digit() => false,
                        _ => return Err("a number or a PV is expected".into()),
                    };
                    skip_ws(b, &mut i);
                    let mut n: i64 = 0;
                    while let Some(&c) = b.get(i).filter(|c| c.is_ascii_digit()) {
                        n = n * 10 + i64::from(c - b'0');
                        if n > 1 << 32 {
                            return Err("number out of range".into());
                        }
                        i += 1;
                    }
                    let n = if neg { -n } else { n };
                    TrArg::Int(i32::try_from(n).map_err(|_| "number out of range")?)
                }
                P::Str => {
                    let start = i;
                    i = str_end(b, i);
                    TrArg::Str(b[start..i].to_vec())
                }
                P::Char => {
                    let rest = &b[i..];
                    let len = match rest {
                        [b'\\', b'\\' | b'n' | b'r' | b't', ..] => 2,
                        [b'\\', ..] => return Err("unexpected escape character".into()),
                        [_, ..] => 1,
                        [] => return Err("a separator is missing".into()),
                    };
                    i += len;
                    TrArg::Str(rest[..len].to_vec())
                }
                P::OptDelim => {
                    let start = i;
                    i = if b.get(i) == Some(&b',') {
                        i + 1
                    } else {
                        str_end(b, i)
                    };
                    let d = &b[start..i];
                    if d.len() != 1 {
                        return Err("the delimiter must be one character".into());
                    }
                    TrArg::Str(d.to_vec())
                }
            };
            args.push(arg);
            skip_ws(b, &mut i);
            let last = k + 1 == kinds.len();
            match b.get(i) {
                None => {}
                Some(b',') if !last => {}
                Some(_) => {
                    return Err(format!("unexpected `{}`", String::from_utf8_lossy(&b[i..])));
                }
            }
        }
        if kinds.is_empty() && has_params {
            return Err("this transformation takes no parameters".into());
        }
        Ok(args)
    }
}
