//! Kamailio's `myself`: the addresses and names this server answers for.
//!
//! Built from the listen sockets (their actual bound addresses) and the
//! `alias=` names of the config. [`Myself::matches`] follows Kamailio's
//! `check_self()`:
//!
//! * host names compare case-insensitively; IP addresses compare as
//!   addresses (`[::1]` matches `0:0:0:0:0:0:0:1`);
//! * a missing port means [`DEFAULT_PORT`] (5060; callers checking a
//!   `sips:` URI pass 5061 or use [`Myself::matches_with_default`]);
//! * a listen socket matches only its own port; an alias given without a
//!   port matches any port;
//! * a protocol of `None`, on either side, matches any protocol.
//!
//! Limits: a socket bound to `0.0.0.0` (or `::`) stands for the loopback
//! address plus the addresses of the local interfaces found with
//! `getifaddrs(3)` when the set is built; addresses added later are not
//! seen. Reverse-DNS names of the addresses (Kamailio's `auto_aliases`)
//! are not added: list them as aliases.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use super::Proto;

/// SIP's default port, assumed when a host has no port.
pub const DEFAULT_PORT: u16 = 5060;
/// The default port of `sips:` URIs (TLS).
pub const DEFAULT_TLS_PORT: u16 = 5061;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Host {
    Ip(IpAddr),
    /// Lower-cased.
    Name(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    host: Host,
    /// `None`: any port (aliases without a port).
    port: Option<u16>,
    /// `None`: any protocol.
    proto: Option<Proto>,
}

/// The set of (host, port, proto) that is "myself".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Myself {
    entries: Vec<Entry>,
}

impl Myself {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// A set holding the given listen sockets (see [`Myself::add_listen`]).
    pub fn from_listen(listen: impl IntoIterator<Item = (Proto, SocketAddr)>) -> Self {
        let mut me = Self::new();
        let mut ifaces = None;
        for (proto, addr) in listen {
            me.add_listen_with(proto, addr, &mut ifaces);
        }
        me
    }

    /// Adds a listen socket by its bound address. A wildcard address
    /// (`0.0.0.0`, `::`) adds loopback and every local interface address
    /// of its family.
    pub fn add_listen(&mut self, proto: Proto, addr: SocketAddr) {
        self.add_listen_with(proto, addr, &mut None);
    }

    fn add_listen_with(
        &mut self,
        proto: Proto,
        addr: SocketAddr,
        ifaces: &mut Option<Vec<IpAddr>>,
    ) {
        let ip = addr.ip();
        if !ip.is_unspecified() {
            self.push(Host::Ip(canonical(ip)), Some(addr.port()), Some(proto));
            return;
        }
        let loopback = match ip {
            IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::LOCALHOST),
        };
        self.push(Host::Ip(loopback), Some(addr.port()), Some(proto));
        let all = ifaces.get_or_insert_with(interface_addrs);
        for &a in all.iter() {
            if a.is_ipv4() == ip.is_ipv4() {
                self.push(Host::Ip(canonical(a)), Some(addr.port()), Some(proto));
            }
        }
    }

    /// Adds an alias (`alias=[proto:]host[:port]`). `host` may be a name,
    /// an IP address, or a bracketed IPv6 reference. `port: None` matches
    /// any port; `proto: None` matches any protocol.
    pub fn add_alias(&mut self, host: &str, port: Option<u16>, proto: Option<Proto>) {
        let h = parse_host(host);
        self.push(h, port, proto);
    }

    fn push(&mut self, host: Host, port: Option<u16>, proto: Option<Proto>) {
        let e = Entry { host, port, proto };
        if !self.entries.contains(&e) {
            self.entries.push(e);
        }
    }

    /// Whether `host[:port]` over `proto` is this server. `port: None`
    /// means 5060; `proto: None` matches any protocol.
    pub fn matches(&self, host: &str, port: Option<u16>, proto: Option<Proto>) -> bool {
        self.matches_with_default(host, port, proto, DEFAULT_PORT)
    }

    /// Like [`Myself::matches`] with another default port (5061 for
    /// `sips:` URIs).
    pub fn matches_with_default(
        &self,
        host: &str,
        port: Option<u16>,
        proto: Option<Proto>,
        default_port: u16,
    ) -> bool {
        let host = parse_host(host);
        let port = port.unwrap_or(default_port);
        self.entries.iter().any(|e| {
            e.port.is_none_or(|p| p == port)
                && (e.proto.is_none() || proto.is_none() || e.proto == proto)
                && e.host == host
        })
    }

    /// Whether an IP address (e.g. a received source address) is one of
    /// ours, on any port and protocol.
    pub fn has_ip(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        self.entries.iter().any(|e| e.host == Host::Ip(ip))
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// IPv4-mapped IPv6 addresses compare as IPv4.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => ip,
        },
        v4 => v4,
    }
}

fn parse_host(host: &str) -> Host {
    let bare = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    match bare.parse::<IpAddr>() {
        Ok(ip) => Host::Ip(canonical(ip)),
        Err(_) => Host::Name(bare.to_ascii_lowercase()),
    }
}

/// Addresses of the local interfaces, from `getifaddrs(3)`; empty if that
/// fails.
#[cfg(unix)]
fn interface_addrs() -> Vec<IpAddr> {
    let mut out = Vec::new();
    let mut head: *mut libc::ifaddrs = std::ptr::null_mut();
    // SAFETY: on success getifaddrs stores the head of a list that stays
    // valid until the freeifaddrs call below.
    if unsafe { libc::getifaddrs(&mut head) } != 0 {
        return out;
    }
    let mut cur = head;
    while !cur.is_null() {
        // SAFETY: `cur` is a node of the list, not freed yet.
        let ifa = unsafe { &*cur };
        let sa = ifa.ifa_addr;
        if !sa.is_null() {
            // SAFETY: a non-null ifa_addr points to a sockaddr whose
            // family says which struct it is; read unaligned to make no
            // assumption about the allocation.
            let family = i32::from(unsafe { std::ptr::read_unaligned(sa).sa_family });
            if family == libc::AF_INET {
                // SAFETY: AF_INET means a sockaddr_in.
                let sin = unsafe { std::ptr::read_unaligned(sa.cast::<libc::sockaddr_in>()) };
                out.push(IpAddr::V4(Ipv4Addr::from(u32::from_be(
                    sin.sin_addr.s_addr,
                ))));
            } else if family == libc::AF_INET6 {
                // SAFETY: AF_INET6 means a sockaddr_in6.
                let sin6 = unsafe { std::ptr::read_unaligned(sa.cast::<libc::sockaddr_in6>()) };
                out.push(IpAddr::V6(Ipv6Addr::from(sin6.sin6_addr.s6_addr)));
            }
        }
        cur = ifa.ifa_next;
    }
    // SAFETY: `head` came from getifaddrs and is freed once.
    unsafe { libc::freeifaddrs(head) };
    out
}

#[cfg(not(unix))]
fn interface_addrs() -> Vec<IpAddr> {
    Vec::new()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sa(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    #[test]
    fn listen_address_and_port() {
        let me = Myself::from_listen([(Proto::Udp, sa("192.0.2.1:5060"))]);
        assert!(me.matches("192.0.2.1", None, None));
        assert!(me.matches("192.0.2.1", Some(5060), Some(Proto::Udp)));
        assert!(!me.matches("192.0.2.1", Some(5070), None));
        assert!(!me.matches("192.0.2.1", None, Some(Proto::Tcp)));
        assert!(!me.matches("192.0.2.2", None, None));
        assert!(!me.is_empty());
    }

    #[test]
    fn non_default_port_needs_port() {
        let me = Myself::from_listen([(Proto::Tcp, sa("192.0.2.1:5080"))]);
        assert!(!me.matches("192.0.2.1", None, None));
        assert!(me.matches("192.0.2.1", Some(5080), None));
        assert!(me.matches_with_default("192.0.2.1", None, None, 5080));
    }

    #[test]
    fn aliases_case_insensitive_any_port() {
        let mut me = Myself::new();
        me.add_alias("Sip.Example.COM", None, None);
        me.add_alias("pbx.example.com", Some(5070), Some(Proto::Tcp));
        assert!(me.matches("sip.example.com", None, None));
        assert!(me.matches("SIP.EXAMPLE.COM", Some(9999), Some(Proto::Udp)));
        assert!(me.matches("PBX.example.com", Some(5070), Some(Proto::Tcp)));
        assert!(me.matches("pbx.example.com", Some(5070), None));
        assert!(!me.matches("pbx.example.com", None, None));
        assert!(!me.matches("pbx.example.com", Some(5070), Some(Proto::Udp)));
        assert!(!me.matches("example.com", None, None));
    }

    #[test]
    fn ipv6_forms() {
        let me = Myself::from_listen([(Proto::Udp, sa("[2001:db8::1]:5060"))]);
        assert!(me.matches("[2001:db8::1]", None, None));
        assert!(me.matches("2001:DB8:0:0:0:0:0:1", Some(5060), None));
        assert!(!me.matches("[2001:db8::2]", None, None));
        assert!(me.has_ip("2001:db8::1".parse().unwrap()));
    }

    #[test]
    fn mapped_ipv4_compares_as_ipv4() {
        let me = Myself::from_listen([(Proto::Udp, sa("192.0.2.7:5060"))]);
        assert!(me.matches("[::ffff:192.0.2.7]", None, None));
    }

    #[test]
    fn wildcard_includes_loopback() {
        let me = Myself::from_listen([(Proto::Udp, sa("0.0.0.0:5060"))]);
        assert!(me.matches("127.0.0.1", None, Some(Proto::Udp)));
        assert!(!me.matches("0.0.0.0", None, None));
        assert!(!me.matches("::1", None, None));
        let me6 = Myself::from_listen([(Proto::Udp, sa("[::]:5060"))]);
        assert!(me6.matches("[::1]", None, None));
        assert!(!me6.matches("127.0.0.1", None, None));
    }

    #[test]
    fn wildcard_includes_interfaces() {
        let me = Myself::from_listen([(Proto::Udp, sa("0.0.0.0:5060"))]);
        for ip in interface_addrs().into_iter().filter(IpAddr::is_ipv4) {
            assert!(me.has_ip(ip), "{ip}");
        }
    }
}
