//! Statements. A route function keeps `last`, the value of the last action
//! executed (the route's value when it ends without `return`).

use proc_macro2::TokenStream;
use quote::quote;

use super::Gen;
use super::expr::{call, nonzero, truth, value};
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
    let rt = &g.rt;
    match s {
        Stmt::Call(c) => {
            let code = call(g, c);
            quote!(last = #code;)
        }
        Stmt::If { cond, then, else_ } => {
            let c = truth(g, cond);
            let t = block(g, then, brk.clone());
            if else_.is_empty() {
                quote!(if #c { #t })
            } else {
                let e = block(g, else_, brk.clone());
                quote!(if #c { #t } else { #e })
            }
        }
        Stmt::While { cond, body } => {
            let c = nonzero(g, cond);
            let b = block(g, body, Breakable::Loop);
            // Kamailio aborts a loop after `max_while_loops` (100) rounds.
            quote!({
                let mut kam_n: u32 = 0;
                while #c {
                    if kam_n >= 100 {
                        last = -1;
                        break;
                    }
                    kam_n += 1;
                    #b
                }
            })
        }
        Stmt::Switch { expr, cases, body } => {
            let label = g.fresh_label();
            let v = value(g, expr);
            // Cases that share an entry point (`case A: case B:`) test as one.
            let mut chain: Vec<(usize, Vec<TokenStream>)> = Vec::new();
            for (l, start) in cases {
                let test = match l {
                    Some(CaseLabel::Int(n)) => quote!(kam_v.to_int() == #n),
                    Some(CaseLabel::Str(s)) => {
                        let lit = proc_macro2::Literal::byte_string(s);
                        quote!(kam_v.to_bytes().as_ref() == &#lit[..])
                    }
                    Some(CaseLabel::Regex(slot)) => {
                        quote!(self.regexes[#slot].is_match(&kam_v.to_bytes()))
                    }
                    None => continue,
                };
                match chain.last_mut() {
                    Some((s, tests)) if s == start => tests.push(test),
                    _ => chain.push((*start, vec![test])),
                }
            }
            let chain = chain
                .iter()
                .map(|(start, tests)| quote!(if #(#tests)||* { #start } else));
            let default = cases
                .iter()
                .find(|(l, _)| l.is_none())
                .map_or(body.len(), |(_, s)| *s);
            let mut starts: Vec<usize> = cases.iter().map(|(_, s)| *s).collect();
            starts.push(body.len());
            starts.dedup();
            let segments = starts.windows(2).map(|w| {
                let (from, to) = (w[0], w[1]);
                let b = block(g, &body[from..to], Breakable::Switch(label.clone()));
                if from == 0 {
                    quote!(if kam_start == 0 { #b })
                } else {
                    quote!(if kam_start <= #from { #b })
                }
            });
            quote!(#label: {
                let kam_v = (#v).into_owned();
                let kam_start: usize = #(#chain)* { #default };
                #(#segments)*
            })
        }
        Stmt::Assign { lhs, rhs } => {
            let v = value(g, rhs);
            let pv = quote!(#rt::engine::pv);
            let set = match lhs {
                Lvalue::AvpAll(slot) => quote!({
                    #pv::clear_avp(ctx, #slot);
                    if !kam_v.is_null() {
                        #pv::set_avp(ctx, #slot, kam_v);
                    }
                    1
                }),
                Lvalue::Pv(p) => match p {
                    PvRef::Var(slot) => quote!({ #pv::set_var(ctx, #slot, kam_v); 1 }),
                    PvRef::Avp(slot, _) => quote!({ #pv::set_avp(ctx, #slot, kam_v); 1 }),
                    PvRef::Ru => quote!(#pv::set_ru(ctx, &kam_v)),
                    PvRef::RUser => quote!(#pv::set_r_user(ctx, &kam_v)),
                    PvRef::RDomain => quote!(#pv::set_r_domain(ctx, &kam_v)),
                    PvRef::RPort => quote!(#pv::set_r_port(ctx, &kam_v)),
                    PvRef::Du => quote!(#pv::set_du(ctx, &kam_v)),
                    _ => quote!(::core::unreachable!("read-only PV rejected by cfgc")),
                },
            };
            quote!({
                let kam_v = (#v).into_owned();
                last = #set;
            })
        }
        Stmt::Return(None) => quote!(return ::core::result::Result::Ok(1);),
        Stmt::Return(Some(e)) => {
            let v = value(g, e);
            quote!(return #rt::engine::rc((#v).to_int());)
        }
        Stmt::Exit(_) => quote!(return ::core::result::Result::Err(#rt::engine::Stop::Exit);),
        Stmt::Drop => quote!(return ::core::result::Result::Err(#rt::engine::Stop::Drop);),
        Stmt::Break => match brk {
            Breakable::Route => quote!(return ::core::result::Result::Ok(0);),
            Breakable::Loop => quote!(break;),
            Breakable::Switch(l) => quote!(break #l;),
        },
        Stmt::Unsupported(_) => quote!(::core::unreachable!("construct rejected by cfgc");),
    }
}
