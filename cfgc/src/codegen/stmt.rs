//! Statements. A route function keeps `last`, the value of the last action
//! executed (the route's value when it ends without `return`).

use proc_macro2::{Literal, TokenStream};
use quote::quote;

use super::expr::{call, nonzero, num, truth, unsupported, value};
use super::{Gen, bytes};
use crate::ir::{CaseLabel, Lvalue, PvRef, Stmt};

/// What `break` leaves at this point.
#[derive(Clone)]
pub(crate) enum Breakable {
    /// No loop or switch: `break` ends the route with 0 (not the script).
    Route,
    Loop,
    Switch(syn::Lifetime),
}

pub(crate) fn block(g: &Gen<'_>, stmts: &[Stmt], brk: Breakable) -> TokenStream {
    stmts.iter().map(|s| stmt(g, s, &brk)).collect()
}

fn stmt(g: &Gen<'_>, s: &Stmt, brk: &Breakable) -> TokenStream {
    match s {
        Stmt::Call(c) => {
            let code = call(g, c);
            quote!(last = #code;)
        }
        Stmt::If { cond, then, else_ } => {
            let c = truth(g, cond);
            let t = block(g, then, brk.clone());
            let e = (!else_.is_empty()).then(|| {
                let e = block(g, else_, brk.clone());
                quote!(else { #e })
            });
            if is_block(&c) {
                // A block in an `if` condition is clippy's
                // `blocks_in_conditions`: bound first.
                quote!({
                    let cond: bool = #c;
                    if cond { #t } #e
                })
            } else {
                quote!(if #c { #t } #e)
            }
        }
        Stmt::While { cond, body } => {
            let c = nonzero(g, cond);
            let b = block(g, body, Breakable::Loop);
            // Kamailio aborts a loop after `max_while_loops` (100) rounds.
            let guard = quote! {
                if rounds >= 100 {
                    last = -1;
                    break;
                }
                rounds += 1;
                #b
            };
            if is_block(&c) {
                // A block condition is bound first (clippy's
                // `blocks_in_conditions`): `loop` with the test inside.
                quote!({
                    let mut rounds: u32 = 0;
                    loop {
                        let cond: bool = #c;
                        if !cond {
                            break;
                        }
                        #guard
                    }
                })
            } else {
                quote!({
                    let mut rounds: u32 = 0;
                    while #c {
                        #guard
                    }
                })
            }
        }
        Stmt::Switch { expr, cases, body } => {
            let label = g.fresh_label();
            let v = value(g, expr);
            // Cases that share an entry point (`case A: case B:`) test as one.
            let mut chain: Vec<(usize, Vec<TokenStream>)> = Vec::new();
            for (l, start) in cases {
                let test = match l {
                    Some(CaseLabel::Int(n)) => {
                        let n = num(*n);
                        quote!(v.to_int() == #n)
                    }
                    Some(CaseLabel::Str(s)) => {
                        let b = bytes(s);
                        quote!(v.to_bytes().as_ref() == #b)
                    }
                    Some(CaseLabel::Regex(slot)) => {
                        let slot = Literal::usize_unsuffixed(*slot);
                        quote!(self.regexes[#slot].is_match(&v.to_bytes()))
                    }
                    None => continue,
                };
                match chain.last_mut() {
                    Some((s, tests)) if s == start => tests.push(test),
                    _ => chain.push((*start, vec![test])),
                }
            }
            let chain = chain.iter().map(|(start, tests)| {
                let start = Literal::usize_unsuffixed(*start);
                quote!(if #(#tests)||* { #start } else)
            });
            let default = Literal::usize_unsuffixed(
                cases
                    .iter()
                    .find(|(l, _)| l.is_none())
                    .map_or(body.len(), |(_, s)| *s),
            );
            let mut starts: Vec<usize> = cases.iter().map(|(_, s)| *s).collect();
            starts.push(body.len());
            starts.dedup();
            let segments = starts.windows(2).map(|w| {
                let (from, to) = (w[0], w[1]);
                let b = block(g, &body[from..to], Breakable::Switch(label.clone()));
                if from == 0 {
                    quote!(if start == 0 { #b })
                } else {
                    let from = Literal::usize_unsuffixed(from);
                    quote!(if start <= #from { #b })
                }
            });
            quote!(#label: {
                let v = (#v).into_owned();
                let start: usize = #(#chain)* { #default };
                #(#segments)*
            })
        }
        Stmt::Assign { lhs, rhs } => {
            let v = value(g, rhs);
            let set = match lhs {
                Lvalue::AvpAll(slot) => {
                    let slot = Literal::usize_unsuffixed(*slot);
                    quote!(rt::pv::assign_avp_all(ctx, #slot, v))
                }
                Lvalue::Pv(PvRef::Plain(id)) => {
                    let id = super::variant(&id);
                    quote!(rt::pv::set(ctx, rt::PvId::#id, &v))
                }
                Lvalue::Pv(PvRef::Var(slot)) => {
                    let slot = Literal::usize_unsuffixed(*slot);
                    quote!({
                        rt::pv::set_var(ctx, #slot, v);
                        1
                    })
                }
                Lvalue::Pv(PvRef::Avp(slot, _)) => {
                    let slot = Literal::usize_unsuffixed(*slot);
                    quote!({
                        rt::pv::set_avp(ctx, #slot, v);
                        1
                    })
                }
                Lvalue::Pv(PvRef::Xavp(x)) => {
                    let x = super::xavp_static(x);
                    quote!(rt::xavp::assign(ctx, #x, v))
                }
                Lvalue::Pv(PvRef::Sht(kind, name)) => {
                    let k = super::variant(kind);
                    let table = &name.table;
                    let key = super::expr::format(g, &name.key);
                    quote!({
                        let key = #key;
                        rt::modules::htable::pv_set(ctx, rt::ShtPv::#k, #table, &key, v)
                    })
                }
                Lvalue::Pv(PvRef::DlgVar(name)) => {
                    quote!(rt::modules::dialog::set_dlg_var(ctx, #name, v))
                }
                // A module's writable PV: its writer, called directly.
                Lvalue::Pv(PvRef::Module(idx)) => match cfgc_vocab::ModulePv::get(*idx)
                    .and_then(|m| m.write)
                    .and_then(|w| format!("rt::{w}").parse::<TokenStream>().ok())
                {
                    Some(path) => quote!(#path(ctx, v)),
                    None => unsupported(),
                },
                // Read-only PVs are refused by the lowering.
                Lvalue::Pv(_) => unsupported(),
            };
            if let crate::ir::Expr::Pv(p) = rhs
                && p.can_fail()
            {
                // A PV whose getter failed: Kamailio's `lval_pvar_assign`
                // assigns `$null`, and the assignment is -1.
                quote!({
                    rt::value::take_expr_error();
                    let v = (#v).into_owned();
                    if rt::value::take_expr_error() {
                        let v = rt::Value::Null;
                        let _ = #set;
                        last = -1;
                    } else {
                        last = #set;
                    }
                })
            } else if rhs.can_fail() {
                // Kamailio's `lval_assign` fails on an expression error
                // (division by zero): the destination keeps its value.
                quote!({
                    rt::value::take_expr_error();
                    let v = (#v).into_owned();
                    if rt::value::take_expr_error() {
                        last = -1;
                    } else {
                        last = #set;
                    }
                })
            } else {
                quote!({
                    let v = (#v).into_owned();
                    last = #set;
                })
            }
        }
        Stmt::Return(None) => quote!(return Ok(1);),
        Stmt::Return(Some(e)) => {
            let v = value(g, e);
            quote!(return rt::rc((#v).to_int());)
        }
        Stmt::Exit(_) => quote!(return Err(rt::Stop::Exit);),
        Stmt::Drop => quote!(return Err(rt::Stop::Drop);),
        Stmt::Break => match brk {
            Breakable::Route => quote!(return Ok(0);),
            Breakable::Loop => quote!(break;),
            Breakable::Switch(l) => quote!(break #l;),
        },
        // Lowering reports these and code generation never runs on them.
        Stmt::Unsupported(_) => {
            let u = unsupported();
            quote!(#u;)
        }
    }
}

/// Whether `ts` is one `{ ... }` block (a condition clippy wants bound
/// before the `if`).
fn is_block(ts: &TokenStream) -> bool {
    let mut it = ts.clone().into_iter();
    matches!(
        (it.next(), it.next()),
        (Some(proc_macro2::TokenTree::Group(g)), None) if g.delimiter() == proc_macro2::Delimiter::Brace
    )
}
