//! Counters (Kamailio's statistics): the core's, sl's, tm's and the
//! registrar's, plus the script counters the counters module declares.
//!
//! One process-wide set, as Kamailio's (its counters live in shared
//! memory): [`stats()`]. Each counter is a relaxed atomic, so moving one
//! costs a single `lock add` on the message path. RPC commands
//! (`stats.*` in kex, `cnt.*` in counters, `tm.stats`) read them; which
//! counters are listed, in which group, is theirs to say.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{LazyLock, RwLock};

use crate::sip::{Message, Method};

/// One counter.
#[derive(Debug, Default)]
pub struct Counter(AtomicU64);

impl Counter {
    pub const fn new() -> Self {
        Self(AtomicU64::new(0))
    }
    #[inline]
    pub fn inc(&self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
    #[inline]
    pub fn add(&self, n: u64) {
        self.0.fetch_add(n, Ordering::Relaxed);
    }
    #[inline]
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
    pub fn reset(&self) {
        self.0.store(0, Ordering::Relaxed);
    }
}

/// The request methods the core counts one by one
/// (`rcv_requests_<name>`), in Kamailio's order of declaration.
pub const REQUEST_METHODS: [&str; 14] = [
    "invite",
    "cancel",
    "ack",
    "bye",
    "info",
    "register",
    "subscribe",
    "notify",
    "message",
    "options",
    "prack",
    "update",
    "refer",
    "publish",
];

/// The CSeq methods the core counts replies of
/// (`rcv_replies_<c>xx_<name>`).
pub const REPLY_METHODS: [&str; 8] = [
    "invite", "cancel", "bye", "reg", "message", "prack", "update", "refer",
];

/// The `core` group.
#[derive(Debug, Default)]
pub struct CoreStats {
    pub rcv_requests: Counter,
    /// By [`REQUEST_METHODS`].
    pub rcv_requests_by: [Counter; 14],
    pub unsupported_methods: Counter,
    pub rcv_replies: Counter,
    pub rcv_replies_1xx: Counter,
    pub rcv_replies_18x: Counter,
    pub rcv_replies_2xx: Counter,
    pub rcv_replies_3xx: Counter,
    pub rcv_replies_4xx: Counter,
    pub rcv_replies_401: Counter,
    pub rcv_replies_404: Counter,
    pub rcv_replies_407: Counter,
    pub rcv_replies_480: Counter,
    pub rcv_replies_486: Counter,
    pub rcv_replies_5xx: Counter,
    pub rcv_replies_6xx: Counter,
    /// `[method of REPLY_METHODS][class 1..=6 - 1]`.
    pub rcv_replies_by: [[Counter; 6]; 8],
    pub fwd_requests: Counter,
    pub fwd_replies: Counter,
    pub drop_requests: Counter,
    pub drop_replies: Counter,
    pub err_requests: Counter,
    pub err_replies: Counter,
    pub bad_uris_rcvd: Counter,
    pub bad_msg_hdr: Counter,
}

impl CoreStats {
    /// Every counter of the group with its name (unsorted).
    pub fn each<'a>(&'a self, mut f: impl FnMut(String, &'a Counter)) {
        let fixed: [(&str, &'a Counter); 23] = [
            ("rcv_requests", &self.rcv_requests),
            ("unsupported_methods", &self.unsupported_methods),
            ("rcv_replies", &self.rcv_replies),
            ("rcv_replies_1xx", &self.rcv_replies_1xx),
            ("rcv_replies_18x", &self.rcv_replies_18x),
            ("rcv_replies_2xx", &self.rcv_replies_2xx),
            ("rcv_replies_3xx", &self.rcv_replies_3xx),
            ("rcv_replies_4xx", &self.rcv_replies_4xx),
            ("rcv_replies_401", &self.rcv_replies_401),
            ("rcv_replies_404", &self.rcv_replies_404),
            ("rcv_replies_407", &self.rcv_replies_407),
            ("rcv_replies_480", &self.rcv_replies_480),
            ("rcv_replies_486", &self.rcv_replies_486),
            ("rcv_replies_5xx", &self.rcv_replies_5xx),
            ("rcv_replies_6xx", &self.rcv_replies_6xx),
            ("fwd_requests", &self.fwd_requests),
            ("fwd_replies", &self.fwd_replies),
            ("drop_requests", &self.drop_requests),
            ("drop_replies", &self.drop_replies),
            ("err_requests", &self.err_requests),
            ("err_replies", &self.err_replies),
            ("bad_URIs_rcvd", &self.bad_uris_rcvd),
            ("bad_msg_hdr", &self.bad_msg_hdr),
        ];
        for (n, c) in fixed {
            f(n.to_string(), c);
        }
        for (m, c) in REQUEST_METHODS.iter().zip(&self.rcv_requests_by) {
            f(format!("rcv_requests_{m}"), c);
        }
        for (m, row) in REPLY_METHODS.iter().zip(&self.rcv_replies_by) {
            for (class, c) in row.iter().enumerate() {
                f(format!("rcv_replies_{}xx_{m}", class + 1), c);
            }
        }
    }

    /// A request arrived (before the script): `rcv_requests` and its
    /// method's counter, or `unsupported_methods`.
    #[inline]
    pub fn request_in(&self, msg: &Message<'_>) {
        self.rcv_requests.inc();
        let i = match msg.method() {
            Some(Method::Invite) => 0,
            Some(Method::Cancel) => 1,
            Some(Method::Ack) => 2,
            Some(Method::Bye) => 3,
            Some(Method::Info) => 4,
            Some(Method::Register) => 5,
            Some(Method::Subscribe) => 6,
            Some(Method::Notify) => 7,
            Some(Method::Message) => 8,
            Some(Method::Options) => 9,
            Some(Method::Prack) => 10,
            Some(Method::Update) => 11,
            Some(Method::Refer) => 12,
            Some(Method::Publish) => 13,
            _ => {
                self.unsupported_methods.inc();
                return;
            }
        };
        self.rcv_requests_by[i].inc();
    }

    /// A reply arrived (before the reply route).
    pub fn reply_in(&self, msg: &Message<'_>) {
        self.rcv_replies.inc();
        let Some(code) = msg.status() else { return };
        match code {
            100..=199 => {
                self.rcv_replies_1xx.inc();
                if (180..190).contains(&code) {
                    self.rcv_replies_18x.inc();
                }
            }
            200..=299 => self.rcv_replies_2xx.inc(),
            300..=399 => self.rcv_replies_3xx.inc(),
            400..=499 => {
                self.rcv_replies_4xx.inc();
                match code {
                    401 => self.rcv_replies_401.inc(),
                    404 => self.rcv_replies_404.inc(),
                    407 => self.rcv_replies_407.inc(),
                    480 => self.rcv_replies_480.inc(),
                    486 => self.rcv_replies_486.inc(),
                    _ => {}
                }
            }
            500..=599 => self.rcv_replies_5xx.inc(),
            600..=699 => self.rcv_replies_6xx.inc(),
            _ => {}
        }
        let class = usize::from(code / 100);
        if !(1..=6).contains(&class) {
            return;
        }
        let Ok(cseq) = msg.cseq() else { return };
        let m = match cseq.method {
            Method::Invite => 0,
            Method::Cancel => 1,
            Method::Bye => 2,
            Method::Register => 3,
            Method::Message => 4,
            Method::Prack => 5,
            Method::Update => 6,
            Method::Refer => 7,
            _ => return,
        };
        self.rcv_replies_by[m][class - 1].inc();
    }
}

/// The `sl` group: replies sent by sl (and by the modules replying
/// through it).
#[derive(Debug, Default)]
pub struct SlStats {
    /// `[1xx, 200, 202, 2xx, 300, 301, 302, 3xx, 400, 401, 403, 404, 407,
    /// 408, 483, 4xx, 500, 5xx, 6xx, xxx]`, as [`SL_NAMES`].
    pub by_code: [Counter; 20],
    pub sent_replies: Counter,
    pub sent_err_replies: Counter,
    pub failures: Counter,
    pub received_acks: Counter,
}

/// The names of [`SlStats::by_code`] (`<name>_replies`).
pub const SL_NAMES: [&str; 20] = [
    "1xx", "200", "202", "2xx", "300", "301", "302", "3xx", "400", "401", "403", "404", "407",
    "408", "483", "4xx", "500", "5xx", "6xx", "xxx",
];

impl SlStats {
    /// A reply sl sent (`ok`) or failed to send.
    pub fn sent(&self, code: u16, ok: bool) {
        if !ok {
            self.failures.inc();
            return;
        }
        // Kamailio's sl counts codes below 200 (and from 700) as xxx.
        let i = match code {
            200 => 1,
            202 => 2,
            201..=299 => 3,
            300 => 4,
            301 => 5,
            302 => 6,
            303..=399 => 7,
            400 => 8,
            401 => 9,
            403 => 10,
            404 => 11,
            407 => 12,
            408 => 13,
            483 => 14,
            402..=499 => 15,
            500 => 16,
            501..=599 => 17,
            600..=699 => 18,
            _ => 19,
        };
        self.by_code[i].inc();
        self.sent_replies.inc();
    }

    pub fn each<'a>(&'a self, mut f: impl FnMut(String, &'a Counter)) {
        for (n, c) in SL_NAMES.iter().zip(&self.by_code) {
            f(format!("{n}_replies"), c);
        }
        f("sent_replies".into(), &self.sent_replies);
        f("sent_err_replies".into(), &self.sent_err_replies);
        f("failures".into(), &self.failures);
        f("received_ACKs".into(), &self.received_acks);
    }
}

/// tm's counters (Kamailio's per-process `t_stats`, summed).
#[derive(Debug, Default)]
pub struct TmStats {
    /// Transactions created (UAS and local).
    pub transactions: Counter,
    /// Local (UAC) transactions created.
    pub client_transactions: Counter,
    /// Put on the wait timer.
    pub waiting: Counter,
    /// Deleted.
    pub deleted: Counter,
    pub rpl_received: Counter,
    pub rpl_generated: Counter,
    pub rpl_sent: Counter,
    /// Final replies sent, by class `[2xx, 3xx, 4xx, 5xx, 6xx]`.
    pub completed: [Counter; 5],
    pub delayed_free: Counter,
}

impl TmStats {
    /// A final reply the transaction sent upstream.
    pub fn completed(&self, code: u16) {
        if let Some(c) = (usize::from(code / 100))
            .checked_sub(2)
            .and_then(|i| self.completed.get(i))
        {
            c.inc();
        }
    }
}

/// The `registrar` group's counters (its configuration values are read
/// from the module's parameters).
#[derive(Debug, Default)]
pub struct RegistrarStats {
    pub accepted_regs: Counter,
    pub rejected_regs: Counter,
}

/// The `usrloc` group's moving counter (the others are read from the
/// table).
#[derive(Debug, Default)]
pub struct UsrlocStats {
    /// Contacts removed by expiry, per domain (table).
    pub expired: RwLock<Vec<(String, u64)>>,
}

/// The names of [`Stats::dns`].
pub const DNS_NAMES: [&str; 2] = ["failed_dns_request", "slow_dns_request"];

/// The names of [`Stats::tcp`].
pub const TCP_NAMES: [&str; 11] = [
    "established",
    "passive_open",
    "connect_success",
    "connect_failed",
    "local_reject",
    "con_timeout",
    "con_reset",
    "send_timeout",
    "sendq_full",
    "current_opened_connections",
    "current_write_queue_size",
];

/// Every counter of the process.
#[derive(Debug, Default)]
pub struct Stats {
    pub core: CoreStats,
    pub sl: SlStats,
    pub tm: TmStats,
    pub registrar: RegistrarStats,
    pub usrloc: UsrlocStats,
    /// The `dns` group ([`DNS_NAMES`]): the runtime's resolver moves none.
    pub dns: [Counter; 2],
    /// The `tcp` group ([`TCP_NAMES`]): the transport moves
    /// `established`, `passive_open`, `connect_success`, `connect_failed`,
    /// `local_reject` and `con_timeout`; the others stay 0.
    pub tcp: [Counter; 11],
    /// Counters declared at start-up by name (`counters`'
    /// `script_counter`): `(group, name, value)`.
    pub declared: RwLock<Vec<(String, String, std::sync::Arc<Counter>)>>,
}

impl Stats {
    /// Declares `group.name` (idempotent) and returns it.
    pub fn declare(&self, group: &str, name: &str) -> std::sync::Arc<Counter> {
        let mut d = self
            .declared
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some((_, _, c)) = d.iter().find(|(g, n, _)| g == group && n == name) {
            return c.clone();
        }
        let c = std::sync::Arc::new(Counter::new());
        d.push((group.to_string(), name.to_string(), c.clone()));
        c
    }

    /// The declared counter `group.name`.
    pub fn declared(&self, group: &str, name: &str) -> Option<std::sync::Arc<Counter>> {
        self.declared
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .iter()
            .find(|(g, n, _)| g == group && n == name)
            .map(|(_, _, c)| c.clone())
    }
}

static STATS: LazyLock<Stats> = LazyLock::new(Stats::default);

/// The process's counters.
#[inline]
pub fn stats() -> &'static Stats {
    &STATS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_and_replies_land_in_their_counters() {
        let s = CoreStats::default();
        let req = Message::parse(
            b"FOO sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nCSeq: 1 FOO\r\n\r\n",
        )
        .unwrap();
        s.request_in(&req);
        assert_eq!(s.rcv_requests.get(), 1);
        assert_eq!(s.unsupported_methods.get(), 1);
        let rpl = Message::parse(
            b"SIP/2.0 486 Busy\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nCSeq: 1 INVITE\r\n\r\n",
        )
        .unwrap();
        s.reply_in(&rpl);
        assert_eq!(s.rcv_replies_4xx.get(), 1);
        assert_eq!(s.rcv_replies_486.get(), 1);
        assert_eq!(s.rcv_replies_by[0][3].get(), 1);
        let mut names = Vec::new();
        s.each(|n, _| names.push(n));
        assert_eq!(names.len(), 23 + 14 + 48);
        assert!(names.contains(&"rcv_replies_6xx_reg".to_string()));
    }

    #[test]
    fn sl_counts_below_200_as_xxx() {
        let s = SlStats::default();
        s.sent(100, true);
        s.sent(200, true);
        s.sent(299, true);
        s.sent(500, false);
        assert_eq!(s.by_code[0].get(), 0);
        assert_eq!(s.by_code[19].get(), 1);
        assert_eq!(s.by_code[1].get(), 1);
        assert_eq!(s.by_code[3].get(), 1);
        assert_eq!(s.sent_replies.get(), 3);
        assert_eq!(s.failures.get(), 1);
    }
}
