//! Pseudo-variables: which `$name` is which runtime accessor.
//!
//! A PV without arguments is a [`PvId`]; its cfg spellings and flags are a
//! row of [`PVS`]. Adding one: a variant and a row here, and its accessor
//! with its arm in the runtime's `engine::pv` (`pv::get`). PVs with
//! arguments (`$hdr(Name)`, `$var(x)`, a transformation chain) are the
//! other [`PvRef`] variants; the compiler resolves their arguments.

use crate::trans::TrOp;

/// A PV without arguments.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PvId {
    Null,
    Ru,
    RUser,
    RDomain,
    RPort,
    OrigRu,
    Du,
    FromUri,
    FromUser,
    FromDomain,
    FromName,
    FromTag,
    ToUri,
    ToUser,
    ToDomain,
    ToName,
    ToTag,
    CallId,
    CSeq,
    Method,
    Status,
    Reason,
    UserAgent,
    SrcIp,
    SrcPort,
    RcvIp,
    RcvPort,
    Proto,
    Body,
    MsgLen,
    Rc,
    MsgFlags,
    MsgType,
    Version,
    RScheme,
    Contact,
    DstDomain,
    DstPort,
    DstProto,
    Time,
    Pid,
    BFlags,
    BFlagsHex,
    BranchUri,
    Branches,
    /// tmx's `$T_branch_idx`.
    TBranchIdx,
    /// tmx's `$T_reply_code`.
    TReplyCode,
    /// tmx's `$T_reply_reason`.
    TReplyReason,
}

/// One PV without arguments: its cfg names and whether the script may
/// assign to it.
#[derive(Clone, Copy, Debug)]
pub struct PvInfo {
    pub id: PvId,
    /// Every spelling (`$ru`, `$ruri`), without the `$`.
    pub names: &'static [&'static str],
    pub writable: bool,
}

const fn ro(id: PvId, names: &'static [&'static str]) -> PvInfo {
    PvInfo {
        id,
        names,
        writable: false,
    }
}

const fn rw(id: PvId, names: &'static [&'static str]) -> PvInfo {
    PvInfo {
        id,
        names,
        writable: true,
    }
}

/// Every PV without arguments the runtime implements.
pub static PVS: &[PvInfo] = &[
    ro(PvId::Null, &["null"]),
    rw(PvId::Ru, &["ru", "ruri"]),
    rw(PvId::RUser, &["rU", "ruri.user"]),
    rw(PvId::RDomain, &["rd", "ruri.domain"]),
    rw(PvId::RPort, &["rp"]),
    ro(PvId::OrigRu, &["ou", "ouri"]),
    rw(PvId::Du, &["du", "duri"]),
    ro(PvId::FromUri, &["fu", "from"]),
    ro(PvId::FromUser, &["fU", "from.user"]),
    ro(PvId::FromDomain, &["fd", "from.domain"]),
    ro(PvId::FromName, &["fn"]),
    ro(PvId::FromTag, &["ft"]),
    ro(PvId::ToUri, &["tu", "to"]),
    ro(PvId::ToUser, &["tU", "to.user"]),
    ro(PvId::ToDomain, &["td", "to.domain"]),
    ro(PvId::ToName, &["tn"]),
    ro(PvId::ToTag, &["tt"]),
    ro(PvId::CallId, &["ci"]),
    ro(PvId::CSeq, &["cs"]),
    ro(PvId::Method, &["rm"]),
    ro(PvId::Status, &["rs"]),
    ro(PvId::Reason, &["rr"]),
    ro(PvId::UserAgent, &["ua"]),
    ro(PvId::SrcIp, &["si"]),
    ro(PvId::SrcPort, &["sp"]),
    ro(PvId::RcvIp, &["Ri"]),
    ro(PvId::RcvPort, &["Rp"]),
    ro(PvId::Proto, &["pr", "proto"]),
    ro(PvId::Body, &["rb"]),
    ro(PvId::MsgLen, &["ml"]),
    ro(PvId::Rc, &["rc", "retcode", "?"]),
    ro(PvId::MsgFlags, &["mf"]),
    ro(PvId::MsgType, &["mt"]),
    ro(PvId::Version, &["rv"]),
    ro(PvId::RScheme, &["rz"]),
    ro(PvId::Contact, &["ct"]),
    ro(PvId::DstDomain, &["dd"]),
    ro(PvId::DstPort, &["dp"]),
    ro(PvId::DstProto, &["dP"]),
    ro(PvId::Time, &["Ts", "TS"]),
    ro(PvId::Pid, &["pp"]),
    ro(PvId::BFlags, &["bf"]),
    ro(PvId::BFlagsHex, &["bF"]),
    ro(PvId::BranchUri, &["br"]),
    ro(PvId::Branches, &["bR"]),
    ro(PvId::TBranchIdx, &["T_branch_idx"]),
    ro(PvId::TReplyCode, &["T_reply_code"]),
    ro(PvId::TReplyReason, &["T_reply_reason"]),
];

impl PvId {
    /// The PV spelled `name` (without `$`, case-sensitive as Kamailio).
    pub fn from_name(name: &str) -> Option<PvId> {
        PVS.iter().find(|p| p.names.contains(&name)).map(|p| p.id)
    }

    /// Its row of [`PVS`].
    pub fn info(self) -> &'static PvInfo {
        // Every variant has a row (a test checks it); `Null`'s is the first.
        PVS.iter().find(|p| p.id == self).unwrap_or(&PVS[0])
    }

    /// Its first cfg spelling.
    pub fn name(self) -> &'static str {
        self.info().names.first().copied().unwrap_or("null")
    }
}

/// A PV the runtime implements, with its arguments resolved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PvRef {
    /// A PV without arguments.
    Plain(PvId),
    /// `$hdr(Name)`: the first header of that name.
    Hdr(Vec<u8>),
    /// `$hdrc(Name)`: how many headers of that name.
    HdrCount(Vec<u8>),
    /// `$var(x)`, by the slot the compiler numbered.
    Var(usize),
    /// `$avp(x)`, `$(avp(x)[n])`: slot and index.
    Avp(usize, usize),
    /// `$env(NAME)`.
    Env(String),
    /// `$sel(cfg_get.group.var)` of a custom cfg variable declared in the
    /// cfg, by its `group.var` name: read at run time (RPC `cfg.set_now_*`
    /// changes it; its declared value is in [`crate::Settings::cfg_vars`]).
    Cfg(String),
    /// `$(pv{tr}...)`: a PV read through transformations (read-only).
    Trans(Box<PvRef>, Vec<TrOp>),
    /// A PV a module exports (`$RANDOM`), by its row of [`MODULE_PVS`].
    Module(u16),
    /// sqlops' `$dbr(res=>key)`: the result container `res`, what of it.
    Dbr(String, DbrKey),
    /// sqlops' `$sqlrows(con)`: rows affected by the connection's last
    /// statement.
    SqlRows(String),
    /// `$xavp(name[i]=>key[j])` (the pv module's extended AVPs).
    Xavp(Box<XavpName>),
    /// textopsx's iterators: `$hfitname(it)`, `$hfitbody(it)`,
    /// `$blitval(it)`, by the iterator's (constant) name.
    TextIter(IterKind, String),
    /// htable's `$sht(table=>key)` and its kin (`$shtex`, `$shtinc`,
    /// `$shtdec`, `$shtcn`, `$shtcv`): the table by its (constant) name,
    /// the key a PV format printed at each access.
    Sht(ShtPv, Box<ShtName>),
    /// htable's `$shtrecord(key)` (`false`) and `$shtrecord(value)`
    /// (`true`): the item whose expiry runs `event_route[htable:expired:*]`.
    ShtRecord(bool),
    /// htable's `$shtitkey(it)` (`false`) and `$shtitval(it)` (`true`): the
    /// current item of the iterator named (as written).
    ShtIter(bool, String),
    /// mqueue's `$mqk(q)`, `$mqv(q)`, `$mq_size(q)`: the queue's name a
    /// PV format (a constant, or one PV) printed at each access.
    Mq(MqPv, Vec<FmtSeg>),
    /// dialog's `$dlg_var(name)`: a variable of the message's dialog, by
    /// its (constant) name; writable, strings only.
    DlgVar(String),
    /// tmx's `$T_req(pv)`, `$T_rpl(pv)`, `$T_inv(pv)`: `pv` read on
    /// another message of the transaction.
    TMsg(TMsg, Box<PvRef>),
}

/// Which message of the transaction [`PvRef::TMsg`] reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TMsg {
    /// `$T_req`: its request, in reply routes.
    Req,
    /// `$T_rpl`: the winning reply, in failure routes.
    Rpl,
    /// `$T_inv`: the INVITE a CANCEL cancels, in the request route.
    Inv,
}

/// Which mqueue PV ([`PvRef::Mq`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MqPv {
    /// `$mqk`: the key of the item the worker fetched.
    Key,
    /// `$mqv`: its value.
    Val,
    /// `$mq_size`: the number of items in the queue.
    Size,
}

/// Which htable PV ([`PvRef::Sht`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ShtPv {
    /// `$sht`: the item's value (writable; `$null` deletes).
    Val,
    /// `$shtex`: seconds until the item expires (writable).
    Ex,
    /// `$shtinc`: the item's integer plus one, stored.
    Inc,
    /// `$shtdec`: the item's integer minus one, stored.
    Dec,
    /// `$shtcn`: how many keys match.
    Cn,
    /// `$shtcv`: how many string values match.
    Cv,
}

/// `table=>key` of an htable PV: the table's name, the key's PV format.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShtName {
    pub table: String,
    pub key: Vec<FmtSeg>,
}

impl ShtName {
    /// Splits `table=>key` as htable's `pv_parse_ht_name` does: blanks
    /// before the table name, the name up to `=` or a blank, blanks, then
    /// `=>`; the rest is the key's format, returned as written. `None`
    /// where Kamailio refuses the name (and refuses to start).
    pub fn split(inner: &str) -> Option<(&str, &str)> {
        let blank = |c: char| matches!(c, ' ' | '\t' | '\n' | '\r');
        let s = inner.trim_start_matches(blank);
        let end = s.find(|c: char| c == '=' || blank(c))?;
        let (table, rest) = s.split_at(end);
        let rest = rest.trim_start_matches(blank);
        let key = rest.strip_prefix("=>")?;
        (!table.is_empty()).then_some((table, key))
    }
}

/// What a textopsx iterator PV reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IterKind {
    /// `$hfitname`: the current header's name.
    HfName,
    /// `$hfitbody`: the current header's value.
    HfBody,
    /// `$blitval`: the current body line.
    BlVal,
}

/// The name of an XAVP as `$xavp(...)` writes it: a root name with an
/// optional index, and optionally `=>` a key in the root item's list,
/// with its own index (Kamailio's `pv_parse_xavp_name`). Names are
/// constant; indices may be PVs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct XavpName {
    pub name: String,
    pub index: XavpIndex,
    pub key: Option<(String, XavpIndex)>,
}

/// An XAVP index (`pv_parse_index`): absent, an integer (negative
/// counts from the end), `*`, or a PV read at run time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum XavpIndex {
    Absent,
    At(i32),
    All,
    Pv(PvRef),
}

/// What `$dbr(res=>...)` reads of a result (indices constant).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DbrKey {
    /// `rows`.
    Rows,
    /// `cols`.
    Cols,
    /// `[row,col]`.
    Cell(u32, u32),
    /// `colname[col]`.
    ColName(u32),
}

impl DbrKey {
    /// Parses the part after `=>` (`rows`, `cols`, `[1,2]`,
    /// `colname[0]`), as sqlops' `pv_parse_dbr_name` reads it; `None`
    /// for anything else (or an index that is a PV).
    pub fn parse(key: &str) -> Option<DbrKey> {
        let key = key.trim();
        let index = |s: &str| s.trim().parse::<u32>().ok();
        match key {
            "rows" => Some(DbrKey::Rows),
            "cols" => Some(DbrKey::Cols),
            _ => {
                if let Some(inner) = key.strip_prefix('[').and_then(|k| k.strip_suffix(']')) {
                    let (r, c) = inner.split_once(',')?;
                    return Some(DbrKey::Cell(index(r)?, index(c)?));
                }
                let inner = key
                    .strip_prefix("colname")?
                    .trim_start()
                    .strip_prefix('[')?
                    .strip_suffix(']')?;
                Some(DbrKey::ColName(index(inner)?))
            }
        }
    }
}

/// A PV a module exports: the compiler resolves `$name` to its row, code
/// generation calls `path` (under the runtime root) directly, and the
/// runtime's `pv::read` reaches it through the module set (the module
/// lists it in its `Module::PVS`, under the same name).
#[derive(Clone, Copy, Debug)]
pub struct ModulePv {
    pub module: &'static str,
    /// Its name, without the `$`; with its constant argument if it has
    /// one (`sdp(body)`).
    pub name: &'static str,
    /// Its reader under the runtime root (`fn(&Ctx) -> Value`).
    pub path: &'static str,
    /// Its writer under the runtime root (`fn(&mut Ctx, OwnedValue) ->
    /// i32`), if the script may assign to it.
    pub write: Option<&'static str>,
}

/// Every module PV the runtime implements.
pub static MODULE_PVS: &[ModulePv] = &[
    ModulePv {
        module: "uac",
        name: "uac_req(all)",
        path: "modules::uac::send::pv_all",
        write: Some("modules::uac::send::set_all"),
    },
    ModulePv {
        module: "uac",
        name: "uac_req(flags)",
        path: "modules::uac::send::pv_flags",
        write: Some("modules::uac::send::set_flags"),
    },
    ModulePv {
        module: "uac",
        name: "uac_req(method)",
        path: "modules::uac::send::pv_method",
        write: Some("modules::uac::send::set_method"),
    },
    ModulePv {
        module: "uac",
        name: "uac_req(ruri)",
        path: "modules::uac::send::pv_ruri",
        write: Some("modules::uac::send::set_ruri"),
    },
    ModulePv {
        module: "uac",
        name: "uac_req(turi)",
        path: "modules::uac::send::pv_turi",
        write: Some("modules::uac::send::set_turi"),
    },
    ModulePv {
        module: "uac",
        name: "uac_req(furi)",
        path: "modules::uac::send::pv_furi",
        write: Some("modules::uac::send::set_furi"),
    },
    ModulePv {
        module: "uac",
        name: "uac_req(callid)",
        path: "modules::uac::send::pv_callid",
        write: Some("modules::uac::send::set_callid"),
    },
    ModulePv {
        module: "uac",
        name: "uac_req(hdrs)",
        path: "modules::uac::send::pv_hdrs",
        write: Some("modules::uac::send::set_hdrs"),
    },
    ModulePv {
        module: "uac",
        name: "uac_req(body)",
        path: "modules::uac::send::pv_body",
        write: Some("modules::uac::send::set_body"),
    },
    ModulePv {
        module: "uac",
        name: "uac_req(ouri)",
        path: "modules::uac::send::pv_ouri",
        write: Some("modules::uac::send::set_ouri"),
    },
    ModulePv {
        module: "uac",
        name: "uac_req(sock)",
        path: "modules::uac::send::pv_sock",
        write: Some("modules::uac::send::set_sock"),
    },
    ModulePv {
        module: "uac",
        name: "uac_req(auser)",
        path: "modules::uac::send::pv_auser",
        write: Some("modules::uac::send::set_auser"),
    },
    ModulePv {
        module: "uac",
        name: "uac_req(apasswd)",
        path: "modules::uac::send::pv_apasswd",
        write: Some("modules::uac::send::set_apasswd"),
    },
    ModulePv {
        module: "uac",
        name: "uac_req(evroute)",
        path: "modules::uac::send::pv_evroute",
        write: Some("modules::uac::send::set_evroute"),
    },
    ModulePv {
        module: "uac",
        name: "uac_req(evparam)",
        path: "modules::uac::send::pv_evparam",
        write: Some("modules::uac::send::set_evparam"),
    },
    ModulePv {
        module: "uac",
        name: "uac_req(evcode)",
        path: "modules::uac::send::pv_evcode",
        write: Some("modules::uac::send::set_evcode"),
    },
    ModulePv {
        module: "uac",
        name: "uac_req(evtype)",
        path: "modules::uac::send::pv_evtype",
        write: Some("modules::uac::send::set_evtype"),
    },
    ModulePv {
        module: "cfgutils",
        name: "RANDOM",
        path: "modules::cfgutils::pv_random",
        write: None,
    },
    ModulePv {
        module: "rtimer",
        name: "rtimer_worker",
        path: "modules::rtimer::rtimer_worker",
        write: None,
    },
    ModulePv {
        module: "sdpops",
        name: "sdp(body)",
        path: "modules::sdpops::pv_sdp_body",
        write: None,
    },
    ModulePv {
        module: "sdpops",
        name: "sdp(sess_version)",
        path: "modules::sdpops::pv_sdp_sess_version",
        write: Some("modules::sdpops::set_sdp_sess_version"),
    },
    ModulePv {
        module: "dialog",
        name: "dlg(h_id)",
        path: "modules::dialog::pv_h_id",
        write: None,
    },
    ModulePv {
        module: "dialog",
        name: "dlg(h_entry)",
        path: "modules::dialog::pv_h_entry",
        write: None,
    },
    ModulePv {
        module: "dialog",
        name: "dlg(state)",
        path: "modules::dialog::pv_state",
        write: None,
    },
    ModulePv {
        module: "dialog",
        name: "dlg(lifetime)",
        path: "modules::dialog::pv_lifetime",
        write: None,
    },
    ModulePv {
        module: "dialog",
        name: "dlg(start_ts)",
        path: "modules::dialog::pv_start_ts",
        write: None,
    },
    ModulePv {
        module: "dialog",
        name: "dlg(callid)",
        path: "modules::dialog::pv_callid",
        write: None,
    },
    ModulePv {
        module: "dialog",
        name: "dlg(from_uri)",
        path: "modules::dialog::pv_from_uri",
        write: None,
    },
    ModulePv {
        module: "dialog",
        name: "dlg(to_uri)",
        path: "modules::dialog::pv_to_uri",
        write: None,
    },
    ModulePv {
        module: "dialog",
        name: "dlg(from_tag)",
        path: "modules::dialog::pv_from_tag",
        write: None,
    },
    ModulePv {
        module: "dialog",
        name: "dlg(to_tag)",
        path: "modules::dialog::pv_to_tag",
        write: None,
    },
];

impl ModulePv {
    /// The row of `$name` exported by `module`.
    pub fn find(module: &str, name: &str) -> Option<u16> {
        MODULE_PVS
            .iter()
            .position(|p| p.module == module && p.name == name)
            .and_then(|i| u16::try_from(i).ok())
    }

    /// Row `idx`.
    pub fn get(idx: u16) -> Option<&'static ModulePv> {
        MODULE_PVS.get(usize::from(idx))
    }
}

impl PvRef {
    pub const NULL: PvRef = PvRef::Plain(PvId::Null);

    /// Whether its getter can fail at run time (an error, not `$null`):
    /// `$sqlrows` (a driver that cannot count), an `$xavp` with a PV index
    /// (not an integer). Kamailio prints such a PV as an empty string, and
    /// `$x = pv` then assigns `$null` and is -1.
    pub fn can_fail(&self) -> bool {
        match self {
            PvRef::SqlRows(_) => true,
            PvRef::Xavp(x) => {
                matches!(x.index, XavpIndex::Pv(_)) || matches!(&x.key, Some((_, XavpIndex::Pv(_))))
            }
            PvRef::Trans(inner, _) | PvRef::TMsg(_, inner) => inner.can_fail(),
            _ => false,
        }
    }

    /// Whether the script may assign to it.
    pub fn writable(&self) -> bool {
        match self {
            PvRef::Plain(id) => id.info().writable,
            PvRef::Var(_) | PvRef::Avp(..) | PvRef::Xavp(_) => true,
            PvRef::Sht(ShtPv::Val | ShtPv::Ex, _) => true,
            PvRef::DlgVar(_) => true,
            PvRef::Module(idx) => ModulePv::get(*idx).is_some_and(|p| p.write.is_some()),
            _ => false,
        }
    }
}

/// A piece of a PV-format string (`"$rU@$rd"`): literal bytes or a PV,
/// printed as Kamailio prints it (the runtime's `engine::pv::format`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FmtSeg {
    Lit(Vec<u8>),
    Pv(PvRef),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_row_is_found_by_each_name_and_names_are_unique() {
        let mut seen = std::collections::HashSet::new();
        for p in PVS {
            assert!(!p.names.is_empty(), "{:?} has no name", p.id);
            for n in p.names {
                assert!(seen.insert(*n), "`${n}` is listed twice");
                assert_eq!(PvId::from_name(n), Some(p.id));
            }
            assert_eq!(p.id.info().id, p.id);
        }
        assert_eq!(PvId::from_name("nope"), None);
        assert!(PvRef::Plain(PvId::Du).writable());
        assert!(!PvRef::Plain(PvId::FromUser).writable());
        assert!(PvRef::Var(0).writable());
    }
}
