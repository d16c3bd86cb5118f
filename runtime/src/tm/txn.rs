//! One transaction: the server side (what was received, the last reply
//! sent upstream) and its client branches (RFC 3261 §17.1/§17.2), with
//! their timers. Pure state and time arithmetic: time is passed in, what
//! must be sent is pushed to `out`.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crate::engine::ctx::HeaderOp;
use crate::transport::{ConnId, Proto, RecvInfo, Transmit};

use super::build;
use super::config::TmConfig;
use super::table::ReqKey;

/// Where a message of the transaction goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dest {
    pub proto: Proto,
    pub dst: SocketAddr,
    pub local: Option<SocketAddr>,
    pub conn: Option<ConnId>,
    /// Never open a new TCP connection (`set_*_no_connect`).
    pub no_connect: bool,
}

impl Dest {
    pub fn transmit(&self, data: Vec<u8>) -> Transmit {
        Transmit {
            proto: self.proto,
            dst: self.dst,
            local: self.local,
            conn: self.conn,
            data,
            no_connect: self.no_connect,
        }
    }

    /// Replies go back the way the request came.
    pub fn reply_to(rcv: &RecvInfo, no_connect: bool) -> Self {
        Self {
            proto: rcv.proto,
            dst: rcv.src,
            local: Some(rcv.local),
            conn: rcv.conn,
            no_connect,
        }
    }
}

/// A retransmission timer: next firing and current interval.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retr {
    pub next: Instant,
    pub interval: Duration,
}

impl Retr {
    /// First retransmission T1 after `now`.
    pub fn start(now: Instant, t1: Duration) -> Self {
        Self {
            next: now + t1,
            interval: t1,
        }
    }

    /// Fires: the next one after the doubled interval, capped at T2,
    /// counted from when this one was due (a tick's lateness does not add
    /// up: Kamailio's retransmissions keep their 0, T1, 3·T1... schedule);
    /// never before `now`.
    pub fn fire(&mut self, now: Instant, t2: Duration) {
        self.interval = (self.interval * 2).min(t2);
        self.next = (self.next + self.interval).max(now);
    }
}

/// The CANCEL of one branch.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Cancel {
    #[default]
    None,
    /// Asked for before the branch got a provisional: sent when one
    /// arrives (cancel_b_method 1); the Reason lines to send.
    Wanted(Vec<u8>),
    /// Sent; retransmitted on UDP until a reply or `until`.
    Sent {
        data: Vec<u8>,
        retr: Option<Retr>,
        until: Instant,
    },
    /// Answered or given up.
    Done,
}

/// A final reply stored for the best-reply selection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    pub code: u16,
    pub reason: Vec<u8>,
    /// The reply as relayed (top Via removed); empty for a faked 408.
    pub data: Vec<u8>,
    /// Locally faked (timeout).
    pub faked: bool,
}

/// One client branch.
#[derive(Debug, Clone)]
pub struct UacBranch {
    pub uri: Vec<u8>,
    pub dst_uri: Option<Vec<u8>>,
    pub flags: u32,
    /// The request as sent.
    pub request: Vec<u8>,
    pub to: Dest,
    /// Request retransmissions (UDP only).
    pub retr: Option<Retr>,
    /// Final-response timer.
    pub fr_at: Option<Instant>,
    /// The timer running is the INVITE one (`fr_inv`; Kamailio's
    /// `F_RB_FR_INV`).
    pub fr_inv: bool,
    /// Highest provisional code received (0: none).
    pub provisional: u16,
    /// Final reply, received or faked.
    pub reply: Option<Stored>,
    pub timed_out: bool,
    /// Serial-forking leg the branch belongs to.
    pub leg: u32,
    pub cancel: Cancel,
    /// The hop-by-hop ACK sent for its negative final reply (re-sent when
    /// the reply is retransmitted).
    pub ack: Option<Vec<u8>>,
}

impl UacBranch {
    pub fn final_code(&self) -> Option<u16> {
        self.reply.as_ref().map(|r| r.code)
    }

    pub fn is_final(&self) -> bool {
        self.reply.is_some()
    }
}

/// The server side: the last reply sent upstream.
#[derive(Debug, Clone, Default)]
pub struct Uas {
    /// Last status sent (0: none).
    pub status: u16,
    pub reply: Option<Vec<u8>>,
    /// Reply retransmissions (negative/local final INVITE replies) until
    /// the ACK or `until`.
    pub retr: Option<Retr>,
    pub until: Option<Instant>,
    /// The ACK of a negative/local final reply arrived.
    pub acked: bool,
    /// The last reply was built locally (not relayed).
    pub local: bool,
}

/// The named routes armed for the transaction (indices of the script's
/// blocks of each kind).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Armed {
    pub failure: Option<u32>,
    pub branch: Option<u32>,
    pub onreply: Option<u32>,
}

/// A transaction.
#[derive(Debug, Clone)]
pub struct Transaction {
    pub id: u64,
    pub hash: u16,
    pub label: u128,
    pub key: ReqKey,
    pub method: Vec<u8>,
    pub is_invite: bool,
    /// The request as received.
    pub request: Vec<u8>,
    pub rcv: RecvInfo,
    pub force_rport: bool,
    /// `set_reply_no_connect()` ran for the request.
    pub reply_no_connect: bool,
    /// Message flags, `$avp`s and `$xavp`s saved for failure/onreply
    /// routes.
    pub flags: u32,
    pub avps: crate::engine::Avps,
    /// The script's header changes at the first relay, applied to every
    /// later branch (Kamailio's saved lumps).
    pub headers: Vec<HeaderOp>,
    pub armed: Armed,
    pub branches: Vec<UacBranch>,
    /// Current serial-forking leg.
    pub leg: u32,
    pub uas: Uas,
    pub canceled: bool,
    pub to_tag: Vec<u8>,
    /// Wait timer: the transaction is deleted then.
    pub delete_at: Option<Instant>,
    /// A failure route is running or ran without adding branches.
    pub relayed: bool,
    /// The modules' callbacks ([`crate::engine::module::tmcb`] bits),
    /// asked for when the transaction was created.
    pub callbacks: u32,
    /// Final-response timer of its branches (`fr_timer`, or what
    /// `t_set_fr` chose).
    pub fr_timeout: Duration,
    /// The same once an INVITE branch has a provisional (`fr_inv_timer`).
    pub fr_inv_timeout: Duration,
    /// Kamailio's `T_AUTO_INV_100`: `t_relay` answers a new INVITE with a
    /// 100 (`auto_inv_100`, or `t_set_auto_inv_100`).
    pub auto_inv_100: bool,
    /// A request tm sent itself ([`super::local`]): no server side, the
    /// final reply goes to its sender.
    pub local: Option<super::local::LocalUac>,
}

impl Transaction {
    /// The earliest timer, if any.
    pub fn next_due(&self) -> Option<Instant> {
        let mut due: Option<Instant> = None;
        let mut at = |t: Option<Instant>| {
            if let Some(t) = t {
                due = Some(due.map_or(t, |d| d.min(t)));
            }
        };
        for b in &self.branches {
            at(b.retr.map(|r| r.next));
            at(b.fr_at);
            if let Cancel::Sent { retr, until, .. } = &b.cancel {
                at(retr.map(|r| r.next));
                at(Some(*until));
            }
        }
        at(self.uas.retr.map(|r| r.next));
        at(self.uas.until);
        at(self.delete_at);
        due
    }

    /// Whether every branch has a final reply.
    pub fn all_final(&self) -> bool {
        self.branches.iter().all(UacBranch::is_final)
    }

    /// Whether some branch has no final reply yet.
    pub fn pending(&self) -> bool {
        !self.all_final()
    }

    /// Sends a reply upstream and records it as the last one. INVITE
    /// finals that wait for an ACK (negative ones on UDP, local 2xx on any
    /// transport) are retransmitted T1, 2·T1... capped at T2 until the ACK
    /// or `fr_timer`.
    pub fn send_uas(
        &mut self,
        data: Vec<u8>,
        code: u16,
        local: bool,
        now: Instant,
        cfg: &TmConfig,
        out: &mut Vec<Transmit>,
    ) {
        let to = Dest::reply_to(&self.rcv, self.reply_no_connect);
        out.push(to.transmit(data.clone()));
        let stats = &crate::engine::counters::stats().tm;
        stats.rpl_sent.inc();
        if local {
            stats.rpl_generated.inc();
        }
        if code >= 200 {
            stats.completed(code);
        }
        self.uas.status = code;
        self.uas.reply = Some(data);
        self.uas.local = local;
        if code >= 200 {
            let wants_ack = self.is_invite
                && ((code >= 300 && to.proto == Proto::Udp) || (local && code < 300));
            if wants_ack {
                self.uas.retr = Some(Retr::start(now, cfg.t1));
                self.uas.until = Some(now + cfg.fr_timer);
            } else {
                self.uas.retr = None;
                self.uas.until = None;
            }
            self.maybe_wait(now, cfg);
        }
    }

    /// A retransmitted request: re-send the last reply.
    pub fn resend_last(&self, out: &mut Vec<Transmit>) {
        if let Some(r) = &self.uas.reply {
            out.push(Dest::reply_to(&self.rcv, self.reply_no_connect).transmit(r.clone()));
        }
    }

    /// The ACK of our negative/local final reply arrived.
    pub fn acked(&mut self, now: Instant, cfg: &TmConfig) {
        self.uas.acked = true;
        self.uas.retr = None;
        self.uas.until = None;
        self.maybe_wait(now, cfg);
    }

    /// Puts the transaction on its wait timer once everything is done:
    /// final reply sent upstream, no ACK awaited, no branch pending.
    pub fn maybe_wait(&mut self, now: Instant, cfg: &TmConfig) {
        if self.delete_at.is_none()
            && self.uas.status >= 200
            && self.uas.retr.is_none()
            && self.all_final()
        {
            self.delete_at = Some(now + cfg.wt_timer);
            crate::engine::counters::stats().tm.waiting.inc();
        }
    }

    /// `t_release()`: on the wait timer now (no branch is waited for).
    pub fn release(&mut self, now: Instant, cfg: &TmConfig) {
        if self.delete_at.is_none() {
            self.delete_at = Some(now + cfg.wt_timer);
            crate::engine::counters::stats().tm.waiting.inc();
        }
    }

    /// Cancels branch `i`: a CANCEL at once if it got a provisional, else
    /// when one arrives. `reason` are Reason header lines. Returns whether
    /// the branch was pending.
    pub fn cancel_branch(
        &mut self,
        i: usize,
        reason: &[u8],
        now: Instant,
        cfg: &TmConfig,
        out: &mut Vec<Transmit>,
    ) -> bool {
        let Some(b) = self.branches.get_mut(i) else {
            return false;
        };
        if b.is_final() || !matches!(b.cancel, Cancel::None | Cancel::Wanted(_)) {
            return false;
        }
        if b.provisional == 0 {
            b.cancel = Cancel::Wanted(reason.to_vec());
        } else {
            send_cancel(b, reason, now, cfg, out);
        }
        true
    }

    /// Runs the due timers except the wait timer (the table's sweep
    /// deletes). Returns true when a branch timed out and no branch is
    /// pending any more: the caller then picks the final reply.
    pub fn on_timer(&mut self, now: Instant, cfg: &TmConfig, out: &mut Vec<Transmit>) -> bool {
        let mut completed = false;
        let is_invite = self.is_invite;
        for b in &mut self.branches {
            if b.is_final() {
                b.retr = None;
                b.fr_at = None;
            }
            // A retransmission due with the final-response timer is not
            // sent: the timeout wins (as Kamailio's, whose fr handler stops
            // the retransmissions).
            if let Some(r) = &mut b.retr
                && r.next <= now
                && b.fr_at.is_none_or(|t| t > now)
            {
                out.push(b.to.transmit(b.request.clone()));
                if !is_invite && b.provisional > 0 {
                    r.interval = cfg.t2;
                    r.next = now + cfg.t2;
                } else {
                    r.fire(now, cfg.t2);
                }
            }
            if b.fr_at.is_some_and(|t| t <= now) {
                // Timeout: a faked 408 for the branch; a CANCEL if it had
                // a provisional.
                b.fr_at = None;
                b.retr = None;
                b.timed_out = true;
                b.reply = Some(Stored {
                    code: 408,
                    reason: b"Request Timeout".to_vec(),
                    data: Vec::new(),
                    faked: true,
                });
                if is_invite && b.provisional > 0 && matches!(b.cancel, Cancel::None) {
                    send_cancel(b, b"", now, cfg, out);
                }
                completed = true;
            }
            if let Cancel::Sent { data, retr, until } = &mut b.cancel {
                if *until <= now {
                    b.cancel = Cancel::Done;
                } else if let Some(r) = retr
                    && r.next <= now
                {
                    out.push(b.to.transmit(data.clone()));
                    r.fire(now, cfg.t2);
                }
            }
        }
        if let Some(r) = &mut self.uas.retr
            && r.next <= now
        {
            if let Some(data) = &self.uas.reply {
                out.push(Dest::reply_to(&self.rcv, self.reply_no_connect).transmit(data.clone()));
            }
            r.fire(now, cfg.t2);
        }
        if self.uas.until.is_some_and(|t| t <= now) {
            // No ACK came: stop waiting for it.
            self.uas.retr = None;
            self.uas.until = None;
            self.maybe_wait(now, cfg);
        }
        completed && self.all_final() && self.uas.status < 200
    }
}

/// Sends the CANCEL of branch `b`.
pub fn send_cancel(
    b: &mut UacBranch,
    reason: &[u8],
    now: Instant,
    cfg: &TmConfig,
    out: &mut Vec<Transmit>,
) {
    let Some(data) = build::local_request(&b.request, None, reason) else {
        b.cancel = Cancel::Done;
        return;
    };
    out.push(b.to.transmit(data.clone()));
    b.cancel = Cancel::Sent {
        data,
        retr: (b.to.proto == Proto::Udp).then(|| Retr::start(now, cfg.t1)),
        until: now + cfg.fr_timer,
    };
}
