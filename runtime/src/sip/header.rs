//! Header names.
//!
//! Guarantees: every header name, long or compact (RFC 3261 §7.3.3 and the
//! extensions that registered one), maps to one [`HeaderName`] variant by a
//! case-insensitive comparison done once while indexing, so later lookups
//! are integer compares. Unknown names map to [`HeaderName::Other`] and are
//! compared by their bytes, case-insensitively.

/// A header name known to the runtime, or `Other`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
#[repr(u8)]
pub enum HeaderName {
    /// `Via` / `v`
    Via,
    /// `From` / `f`
    From,
    /// `To` / `t`
    To,
    /// `Call-ID` / `i`
    CallId,
    /// `CSeq`
    CSeq,
    /// `Max-Forwards`
    MaxForwards,
    /// `Contact` / `m`
    Contact,
    /// `Content-Length` / `l`
    ContentLength,
    /// `Content-Type` / `c`
    ContentType,
    /// `Route`
    Route,
    /// `Record-Route`
    RecordRoute,
    /// `Expires`
    Expires,
    /// `Authorization`
    Authorization,
    /// `Proxy-Authorization`
    ProxyAuthorization,
    /// `WWW-Authenticate`
    WwwAuthenticate,
    /// `Proxy-Authenticate`
    ProxyAuthenticate,
    /// `Allow`
    Allow,
    /// `Supported` / `k`
    Supported,
    /// `Require`
    Require,
    /// `Proxy-Require`
    ProxyRequire,
    /// `Unsupported`
    Unsupported,
    /// `Path`
    Path,
    /// `User-Agent`
    UserAgent,
    /// `Server`
    Server,
    /// `Subject` / `s`
    Subject,
    /// `Content-Encoding` / `e`
    ContentEncoding,
    /// `Event` / `o`
    Event,
    /// `Allow-Events` / `u`
    AllowEvents,
    /// `Refer-To` / `r`
    ReferTo,
    /// `Referred-By` / `b`
    ReferredBy,
    /// `Reject-Contact` / `j`
    RejectContact,
    /// `Session-Expires` / `x`
    SessionExpires,
    /// `Identity` / `y`
    Identity,
    /// `Accept-Contact` / `a`
    AcceptContact,
    /// `Request-Disposition` / `d`
    RequestDisposition,
    /// `Identity-Info` / `n`
    IdentityInfo,
    /// `Min-Expires`
    MinExpires,
    /// `Accept`
    Accept,
    /// `Content-Disposition`
    ContentDisposition,
    /// `Subscription-State`
    SubscriptionState,
    /// `P-Asserted-Identity`
    PAssertedIdentity,
    /// `Privacy`
    Privacy,
    /// Any other name; compare its bytes.
    Other,
}

/// `(name, long form, compact form)` for every known header.
const TABLE: &[(HeaderName, &str, Option<u8>)] = &[
    (HeaderName::Via, "Via", Some(b'v')),
    (HeaderName::From, "From", Some(b'f')),
    (HeaderName::To, "To", Some(b't')),
    (HeaderName::CallId, "Call-ID", Some(b'i')),
    (HeaderName::CSeq, "CSeq", None),
    (HeaderName::MaxForwards, "Max-Forwards", None),
    (HeaderName::Contact, "Contact", Some(b'm')),
    (HeaderName::ContentLength, "Content-Length", Some(b'l')),
    (HeaderName::ContentType, "Content-Type", Some(b'c')),
    (HeaderName::Route, "Route", None),
    (HeaderName::RecordRoute, "Record-Route", None),
    (HeaderName::Expires, "Expires", None),
    (HeaderName::Authorization, "Authorization", None),
    (HeaderName::ProxyAuthorization, "Proxy-Authorization", None),
    (HeaderName::WwwAuthenticate, "WWW-Authenticate", None),
    (HeaderName::ProxyAuthenticate, "Proxy-Authenticate", None),
    (HeaderName::Allow, "Allow", None),
    (HeaderName::Supported, "Supported", Some(b'k')),
    (HeaderName::Require, "Require", None),
    (HeaderName::ProxyRequire, "Proxy-Require", None),
    (HeaderName::Unsupported, "Unsupported", None),
    (HeaderName::Path, "Path", None),
    (HeaderName::UserAgent, "User-Agent", None),
    (HeaderName::Server, "Server", None),
    (HeaderName::Subject, "Subject", Some(b's')),
    (HeaderName::ContentEncoding, "Content-Encoding", Some(b'e')),
    (HeaderName::Event, "Event", Some(b'o')),
    (HeaderName::AllowEvents, "Allow-Events", Some(b'u')),
    (HeaderName::ReferTo, "Refer-To", Some(b'r')),
    (HeaderName::ReferredBy, "Referred-By", Some(b'b')),
    (HeaderName::RejectContact, "Reject-Contact", Some(b'j')),
    (HeaderName::SessionExpires, "Session-Expires", Some(b'x')),
    (HeaderName::Identity, "Identity", Some(b'y')),
    (HeaderName::AcceptContact, "Accept-Contact", Some(b'a')),
    (
        HeaderName::RequestDisposition,
        "Request-Disposition",
        Some(b'd'),
    ),
    (HeaderName::IdentityInfo, "Identity-Info", Some(b'n')),
    (HeaderName::MinExpires, "Min-Expires", None),
    (HeaderName::Accept, "Accept", None),
    (HeaderName::ContentDisposition, "Content-Disposition", None),
    (HeaderName::SubscriptionState, "Subscription-State", None),
    (HeaderName::PAssertedIdentity, "P-Asserted-Identity", None),
    (HeaderName::Privacy, "Privacy", None),
];

impl HeaderName {
    /// Maps a header name as written on the wire (any case, long or compact
    /// form) to its variant.
    #[inline]
    pub fn from_bytes(name: &[u8]) -> Self {
        if name.len() == 1 {
            return Self::from_compact(name[0].to_ascii_lowercase());
        }
        // Cheap pre-filter on length and first letter, then a full compare.
        let first = match name.first() {
            Some(b) => b.to_ascii_lowercase(),
            None => return Self::Other,
        };
        for (hn, long, _) in TABLE {
            let l = long.as_bytes();
            if l.len() == name.len()
                && l[0].to_ascii_lowercase() == first
                && l.eq_ignore_ascii_case(name)
            {
                return *hn;
            }
        }
        Self::Other
    }

    fn from_compact(c: u8) -> Self {
        match c {
            b'v' => Self::Via,
            b'f' => Self::From,
            b't' => Self::To,
            b'i' => Self::CallId,
            b'm' => Self::Contact,
            b'l' => Self::ContentLength,
            b'c' => Self::ContentType,
            b'k' => Self::Supported,
            b's' => Self::Subject,
            b'e' => Self::ContentEncoding,
            b'o' => Self::Event,
            b'u' => Self::AllowEvents,
            b'r' => Self::ReferTo,
            b'b' => Self::ReferredBy,
            b'j' => Self::RejectContact,
            b'x' => Self::SessionExpires,
            b'y' => Self::Identity,
            b'a' => Self::AcceptContact,
            b'd' => Self::RequestDisposition,
            b'n' => Self::IdentityInfo,
            _ => Self::Other,
        }
    }

    /// The canonical long form (`"Other"` for [`HeaderName::Other`]).
    pub fn as_str(self) -> &'static str {
        TABLE
            .iter()
            .find(|(hn, _, _)| *hn == self)
            .map_or("Other", |(_, long, _)| long)
    }

    /// The compact form, if the header has one.
    pub fn compact(self) -> Option<u8> {
        TABLE
            .iter()
            .find(|(hn, _, _)| *hn == self)
            .and_then(|(_, _, c)| *c)
    }

    /// Whether the header's grammar is a comma-separated list whose
    /// elements may be spread over several header lines (RFC 3261 §7.3.1).
    pub fn is_list(self) -> bool {
        matches!(
            self,
            Self::Via
                | Self::Contact
                | Self::Route
                | Self::RecordRoute
                | Self::Allow
                | Self::Supported
                | Self::Require
                | Self::ProxyRequire
                | Self::Unsupported
                | Self::Path
                | Self::Accept
                | Self::AllowEvents
        )
    }
}

/// The RFC 3261 `token` alphabet.
#[inline]
pub fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        || matches!(
            b,
            b'-' | b'.' | b'!' | b'%' | b'*' | b'_' | b'+' | b'`' | b'\'' | b'~'
        )
}
