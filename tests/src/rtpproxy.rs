//! A stand-in for the rtpproxy media relay's control socket (Debian has
//! no rtpproxy package): a UDP server on 127.0.0.1, on a port picked free
//! at run time, that speaks rtpproxy's text protocol as its clients see
//! it and records every command it receives (the text after the cookie
//! and its space, byte for byte), so that a test can compare what
//! `kamailio -f` and cfgc's proxies send.
//!
//! What it answers, each reply `<cookie> <answer>\n` as rtpproxy writes
//! them:
//! * `V` → `20040107`; `VF <date>` → `1` for the capabilities Kamailio's
//!   module checks (`20040107`, `20050322`, `20071116`, `20081102`),
//!   `0` for any other;
//! * `U<modifiers> <call-id> <ip> <port> <tag>;<n>[ <tag>;<n>[ ...]]` →
//!   `<port> 127.0.0.1`: a session per Call-ID and media number, a port
//!   per leg (tag), allocated in order from 35000 in steps of 2 (RTP and
//!   RTCP), so the same traffic gets the same ports; `U` answers the port
//!   of its first tag (the offerer's, whose media the port relays), again
//!   the same one for an update;
//! * `L...` (same shape) → the port of its second tag (the answerer's:
//!   Kamailio sends the offerer's tag first) when the session exists,
//!   `0` when it does not (as rtpproxy answers a lookup it cannot match);
//! * `D <call-id> ...` → `0`, the Call-ID's sessions forgotten;
//! * anything else → `E1`.
//!
//! What it does not model: no media is relayed or even bound (the ports
//! are only numbers), modifiers (`A`, `I`, `E`, `S`, `6`, `Z..`, `c..`)
//! and the notification socket are recorded but change nothing, no
//! session ever times out, IPv6 clients, `unix:` sockets, recording
//! (`R`), statistics (`Q`), playback (`P`/`S`) and rtpproxy's other
//! commands and error codes. It can be made silent (commands recorded,
//! never answered) or closed (its port released: ICMP refusals).

use std::collections::HashMap;
use std::net::UdpSocket;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Answers every command.
pub const ANSWER: u8 = 0;
/// Records commands, answers none.
pub const SILENT: u8 = 1;
/// Its port is closed.
pub const CLOSED: u8 = 2;

/// A running stand-in; stops when dropped.
pub struct StandIn {
    /// Its UDP port on 127.0.0.1.
    pub port: u16,
    mode: Arc<AtomicU8>,
    seen: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicU8>,
}

/// A session's key: Call-ID and media number.
type Key = (Vec<u8>, Vec<u8>);

/// Sessions: their legs, (tag, port) in order of arrival.
#[derive(Default)]
struct State {
    sessions: HashMap<Key, Vec<(Vec<u8>, u32)>>,
    next_port: u32,
}

impl State {
    fn answer(&mut self, cmd: &[u8]) -> Vec<u8> {
        let mut words = cmd
            .split(|&b| b == b' ' || b == b'\n' || b == b'\r')
            .filter(|w| !w.is_empty());
        let Some(head) = words.next() else {
            return b"E1".to_vec();
        };
        match head[0].to_ascii_uppercase() {
            b'V' if head.len() == 1 => b"20040107".to_vec(),
            b'V' if head.eq_ignore_ascii_case(b"VF") => {
                let date = words.next().unwrap_or_default();
                let known: [&[u8]; 4] = [b"20040107", b"20050322", b"20071116", b"20081102"];
                if known.contains(&date) {
                    b"1".to_vec()
                } else {
                    b"0".to_vec()
                }
            }
            c @ (b'U' | b'L') => {
                let (Some(callid), Some(_ip), Some(_port), Some(first)) =
                    (words.next(), words.next(), words.next(), words.next())
                else {
                    return b"E1".to_vec();
                };
                let split = |t: &'_ [u8]| -> (Vec<u8>, Vec<u8>) {
                    match t.iter().position(|&b| b == b';') {
                        Some(i) => (t[..i].to_vec(), t[i + 1..].to_vec()),
                        None => (t.to_vec(), b"1".to_vec()),
                    }
                };
                let (first, n) = split(first);
                let second = words.next().map(|t| split(t).0);
                let tag = match (c, second) {
                    (b'L', Some(t)) => t,
                    _ => first,
                };
                let (tag, n) = (&tag[..], &n[..]);
                let key = (callid.to_vec(), n.to_vec());
                if c == b'L' && !self.sessions.contains_key(&key) {
                    return b"0".to_vec();
                }
                let next = &mut self.next_port;
                let legs = self.sessions.entry(key).or_default();
                let port = match legs.iter().find(|(t, _)| t == tag) {
                    Some((_, p)) => *p,
                    None => {
                        let p = 35000 + *next;
                        *next += 2;
                        legs.push((tag.to_vec(), p));
                        p
                    }
                };
                format!("{port} 127.0.0.1").into_bytes()
            }
            b'D' => {
                if let Some(callid) = words.next() {
                    self.sessions.retain(|(c, _), _| c != callid);
                }
                b"0".to_vec()
            }
            _ => b"E1".to_vec(),
        }
    }
}

impl StandIn {
    /// Starts one on a free port.
    ///
    /// # Panics
    /// The port cannot be bound.
    pub fn start() -> Self {
        let port = cfgc_test_support::free_port();
        let mode = Arc::new(AtomicU8::new(ANSWER));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicU8::new(0));
        let bind = move || {
            let s = UdpSocket::bind(("127.0.0.1", port)).expect("stand-in port");
            s.set_read_timeout(Some(Duration::from_millis(5)))
                .expect("timeout");
            s
        };
        let first = bind();
        let (m, s, st) = (mode.clone(), seen.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut sock = Some(first);
            let mut state = State::default();
            let mut buf = vec![0u8; 65536];
            while st.load(Ordering::Relaxed) == 0 {
                let mode = m.load(Ordering::Relaxed);
                if mode == CLOSED {
                    sock = None;
                    std::thread::sleep(Duration::from_millis(5));
                    continue;
                }
                let d = sock.get_or_insert_with(bind);
                let Ok((n, from)) = d.recv_from(&mut buf) else {
                    continue;
                };
                let data = &buf[..n];
                let (cookie, cmd) = match data.iter().position(|&b| b == b' ') {
                    Some(i) => (&data[..i], &data[i + 1..]),
                    None => (data, &[][..]),
                };
                s.lock()
                    .expect("lock")
                    .push(String::from_utf8_lossy(cmd).into_owned());
                if mode == SILENT {
                    continue;
                }
                let mut reply = cookie.to_vec();
                reply.push(b' ');
                reply.extend_from_slice(&state.answer(cmd));
                reply.push(b'\n');
                let _ = d.send_to(&reply, from);
            }
        });
        StandIn {
            port,
            mode,
            seen,
            stop,
        }
    }

    /// Switches to [`ANSWER`], [`SILENT`] or [`CLOSED`].
    pub fn set(&self, mode: u8) {
        self.mode.store(mode, Ordering::Relaxed);
        std::thread::sleep(Duration::from_millis(50));
    }

    /// The commands received since the last call, in order.
    ///
    /// # Panics
    /// A poisoned lock.
    pub fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.seen.lock().expect("lock"))
    }

    /// How many commands are waiting to be taken.
    ///
    /// # Panics
    /// A poisoned lock.
    pub fn pending(&self) -> usize {
        self.seen.lock().expect("lock").len()
    }
}

impl Drop for StandIn {
    fn drop(&mut self) {
        self.stop.store(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_as_rtpproxy() {
        let mut s = State::default();
        assert_eq!(s.answer(b"V"), b"20040107");
        assert_eq!(s.answer(b"VF 20081102"), b"1");
        assert_eq!(s.answer(b"VF 20990101"), b"0");
        assert_eq!(s.answer(b"Lc0 c1 1.2.3.4 5 b;1 a;1"), b"0");
        assert_eq!(s.answer(b"Uc0,8 c1 1.2.3.4 5 a;1"), b"35000 127.0.0.1");
        assert_eq!(s.answer(b"Uc0,8 c1 1.2.3.4 5 a;1"), b"35000 127.0.0.1");
        assert_eq!(s.answer(b"L c1 1.2.3.4 5 a;1 b;1"), b"35002 127.0.0.1");
        assert_eq!(s.answer(b"L c1 1.2.3.4 5 a;1 b;1"), b"35002 127.0.0.1");
        assert_eq!(s.answer(b"U c1 1.2.3.4 5 b;1 a;1"), b"35002 127.0.0.1");
        assert_eq!(s.answer(b"D c1 a b"), b"0");
        assert_eq!(s.answer(b"L c1 1.2.3.4 5 a;1 b;1"), b"0");
        assert_eq!(s.answer(b"X"), b"E1");
    }
}
