//! Rewriting parts of a URI (the R-URI actions `rewriteuser`, `rewritehost`,
//! `strip`, `prefix`, ... and the `$rU`/`$rd`/`$rp` setters): splice the new
//! part into the URI text, leave every other byte as it was.

use crate::sip::Uri;

/// Byte range of `part` inside `whole` (`part` must be a sub-slice).
fn range_of(whole: &[u8], part: &[u8]) -> Option<std::ops::Range<usize>> {
    let start = (part.as_ptr() as usize).checked_sub(whole.as_ptr() as usize)?;
    let end = start.checked_add(part.len())?;
    (end <= whole.len()).then_some(start..end)
}

fn splice(whole: &[u8], at: std::ops::Range<usize>, with: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(whole.len() + with.len());
    v.extend_from_slice(&whole[..at.start]);
    v.extend_from_slice(with);
    v.extend_from_slice(&whole[at.end..]);
    v
}

/// Replaces (or adds, or with `None` removes) the user part, keeping any
/// password. `None` if `uri` does not parse.
pub fn set_user(uri: &[u8], user: Option<&[u8]>) -> Option<Vec<u8>> {
    let u = Uri::parse(uri).ok()?;
    match (u.user, user) {
        (Some(old), Some(new)) if !new.is_empty() => Some(splice(uri, range_of(uri, old)?, new)),
        (Some(old), _) => {
            // Remove `user[:password]@`.
            let start = range_of(uri, old)?.start;
            let host = range_of(uri, u.host)?.start;
            Some(splice(uri, start..host, b""))
        }
        (None, Some(new)) if !new.is_empty() => {
            let host = range_of(uri, u.host)?.start;
            let mut with = new.to_vec();
            with.push(b'@');
            Some(splice(uri, host..host, &with))
        }
        (None, _) => Some(uri.to_vec()),
    }
}

/// Replaces user and password together (`rewriteuserpass("u:p")`).
pub fn set_userpass(uri: &[u8], userpass: &[u8]) -> Option<Vec<u8>> {
    let u = Uri::parse(uri).ok()?;
    let host = range_of(uri, u.host)?.start;
    let start = match u.user {
        Some(old) => range_of(uri, old)?.start,
        None => host,
    };
    let mut with = userpass.to_vec();
    if !with.is_empty() {
        with.push(b'@');
    }
    Some(splice(uri, start..host, &with))
}

/// Replaces the host.
pub fn set_host(uri: &[u8], host: &[u8]) -> Option<Vec<u8>> {
    let u = Uri::parse(uri).ok()?;
    Some(splice(uri, range_of(uri, u.host)?, host))
}

/// Replaces, adds or (with `None`) removes the port.
pub fn set_port(uri: &[u8], port: Option<&[u8]>) -> Option<Vec<u8>> {
    let u = Uri::parse(uri).ok()?;
    let host = range_of(uri, u.host)?;
    match (u.port_raw, port) {
        (Some(old), Some(new)) if !new.is_empty() => Some(splice(uri, range_of(uri, old)?, new)),
        (Some(old), _) => {
            let r = range_of(uri, old)?;
            Some(splice(uri, host.end..r.end, b""))
        }
        (None, Some(new)) if !new.is_empty() => {
            let mut with = vec![b':'];
            with.extend_from_slice(new);
            Some(splice(uri, host.end..host.end, &with))
        }
        (None, _) => Some(uri.to_vec()),
    }
}

/// Replaces `host[:port]` (`rewritehostport("h:p")`).
pub fn set_hostport(uri: &[u8], hostport: &[u8]) -> Option<Vec<u8>> {
    let u = Uri::parse(uri).ok()?;
    let host = range_of(uri, u.host)?;
    let end = match u.port_raw {
        Some(p) => range_of(uri, p)?.end,
        None => host.end,
    };
    Some(splice(uri, host.start..end, hostport))
}

/// `strip(n)`: removes the first `n` characters of the user part.
pub fn strip(uri: &[u8], n: usize) -> Option<Vec<u8>> {
    let u = Uri::parse(uri).ok()?;
    let user = u.user.unwrap_or_default();
    set_user(uri, Some(user.get(n..).unwrap_or_default()))
}

/// `strip_tail(n)`: removes the last `n` characters of the user part.
pub fn strip_tail(uri: &[u8], n: usize) -> Option<Vec<u8>> {
    let u = Uri::parse(uri).ok()?;
    let user = u.user.unwrap_or_default();
    set_user(uri, Some(&user[..user.len().saturating_sub(n)]))
}

/// `prefix(s)`: prepends to the user part.
pub fn prefix(uri: &[u8], p: &[u8]) -> Option<Vec<u8>> {
    let u = Uri::parse(uri).ok()?;
    let mut user = p.to_vec();
    user.extend_from_slice(u.user.unwrap_or_default());
    set_user(uri, Some(&user))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: Option<Vec<u8>>) -> String {
        String::from_utf8(v.expect("parses")).expect("utf8")
    }

    #[test]
    fn user_rewrites() {
        assert_eq!(
            s(set_user(b"sip:alice@a.com;x=1", Some(b"bob"))),
            "sip:bob@a.com;x=1"
        );
        assert_eq!(
            s(set_user(b"sip:a.com:5070", Some(b"bob"))),
            "sip:bob@a.com:5070"
        );
        assert_eq!(s(set_user(b"sip:alice:pw@a.com", None)), "sip:a.com");
        assert_eq!(s(set_userpass(b"sip:alice@a.com", b"u:p")), "sip:u:p@a.com");
        assert_eq!(s(strip(b"sip:0049301234@gw", 2)), "sip:49301234@gw");
        assert_eq!(s(strip(b"sip:12@gw", 5)), "sip:gw");
        assert_eq!(s(strip_tail(b"sip:12345@gw", 2)), "sip:123@gw");
        assert_eq!(s(prefix(b"sip:123@gw", b"00")), "sip:00123@gw");
        assert_eq!(s(prefix(b"sip:gw", b"00")), "sip:00@gw");
    }

    #[test]
    fn host_and_port_rewrites() {
        assert_eq!(
            s(set_host(b"sip:u@a.com:5070;lr", b"b.org")),
            "sip:u@b.org:5070;lr"
        );
        assert_eq!(
            s(set_port(b"sip:u@a.com:5070", Some(b"5080"))),
            "sip:u@a.com:5080"
        );
        assert_eq!(
            s(set_port(b"sip:u@a.com;lr", Some(b"5080"))),
            "sip:u@a.com:5080;lr"
        );
        assert_eq!(s(set_port(b"sip:u@a.com:5070;lr", None)), "sip:u@a.com;lr");
        assert_eq!(
            s(set_hostport(b"sip:u@a.com:1", b"[::1]:5060")),
            "sip:u@[::1]:5060"
        );
        assert!(set_host(b"not a uri", b"x").is_none());
    }
}
