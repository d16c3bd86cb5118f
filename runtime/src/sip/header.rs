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
        let Some(&first) = name.first() else {
            return Self::Other;
        };
        let first = first.to_ascii_lowercase();
        if name.len() == 1 {
            return Self::from_compact(first);
        }
        // Candidates by (length, first letter), then one full compare.
        let cands: &[(HeaderName, &[u8])] = match (name.len(), first) {
            (2, b't') => &[(HeaderName::To, b"to")],
            (3, b'v') => &[(HeaderName::Via, b"via")],
            (4, b'c') => &[(HeaderName::CSeq, b"cseq")],
            (4, b'f') => &[(HeaderName::From, b"from")],
            (4, b'p') => &[(HeaderName::Path, b"path")],
            (5, b'a') => &[(HeaderName::Allow, b"allow")],
            (5, b'e') => &[(HeaderName::Event, b"event")],
            (5, b'r') => &[(HeaderName::Route, b"route")],
            (6, b'a') => &[(HeaderName::Accept, b"accept")],
            (6, b's') => &[(HeaderName::Server, b"server")],
            (7, b'c') => &[
                (HeaderName::CallId, b"call-id"),
                (HeaderName::Contact, b"contact"),
            ],
            (7, b'e') => &[(HeaderName::Expires, b"expires")],
            (7, b'p') => &[(HeaderName::Privacy, b"privacy")],
            (7, b'r') => &[(HeaderName::Require, b"require")],
            (7, b's') => &[(HeaderName::Subject, b"subject")],
            (8, b'i') => &[(HeaderName::Identity, b"identity")],
            (8, b'r') => &[(HeaderName::ReferTo, b"refer-to")],
            (9, b's') => &[(HeaderName::Supported, b"supported")],
            (10, b'u') => &[(HeaderName::UserAgent, b"user-agent")],
            (11, b'm') => &[(HeaderName::MinExpires, b"min-expires")],
            (11, b'r') => &[(HeaderName::ReferredBy, b"referred-by")],
            (11, b'u') => &[(HeaderName::Unsupported, b"unsupported")],
            (12, b'a') => &[(HeaderName::AllowEvents, b"allow-events")],
            (12, b'c') => &[(HeaderName::ContentType, b"content-type")],
            (12, b'm') => &[(HeaderName::MaxForwards, b"max-forwards")],
            (12, b'r') => &[(HeaderName::RecordRoute, b"record-route")],
            (13, b'a') => &[(HeaderName::Authorization, b"authorization")],
            (13, b'i') => &[(HeaderName::IdentityInfo, b"identity-info")],
            (13, b'p') => &[(HeaderName::ProxyRequire, b"proxy-require")],
            (14, b'a') => &[(HeaderName::AcceptContact, b"accept-contact")],
            (14, b'c') => &[(HeaderName::ContentLength, b"content-length")],
            (14, b'r') => &[(HeaderName::RejectContact, b"reject-contact")],
            (15, b's') => &[(HeaderName::SessionExpires, b"session-expires")],
            (16, b'c') => &[(HeaderName::ContentEncoding, b"content-encoding")],
            (16, b'w') => &[(HeaderName::WwwAuthenticate, b"www-authenticate")],
            (18, b'p') => &[(HeaderName::ProxyAuthenticate, b"proxy-authenticate")],
            (18, b's') => &[(HeaderName::SubscriptionState, b"subscription-state")],
            (19, b'c') => &[(HeaderName::ContentDisposition, b"content-disposition")],
            (19, b'p') => &[
                (HeaderName::ProxyAuthorization, b"proxy-authorization"),
                (HeaderName::PAssertedIdentity, b"p-asserted-identity"),
            ],
            (19, b'r') => &[(HeaderName::RequestDisposition, b"request-disposition")],
            _ => return Self::Other,
        };
        for (hn, long) in cands {
            if fold_eq(name, long) {
                return *hn;
            }
        }
        Self::Other
    }

    /// The known header whose name starts `line`, and the name's length.
    ///
    /// Sound but not complete: when it returns `Some((hn, n))`, `line[..n]`
    /// is a token, `line[n]` (if any) is not a token byte, and
    /// `from_bytes(&line[..n]) == hn`. `None` means "take the slow path"
    /// (token scan plus [`HeaderName::from_bytes`]), so the indexer's result
    /// never depends on this function beyond speed.
    #[inline]
    pub(crate) fn known_prefix(line: &[u8]) -> Option<(Self, usize)> {
        let &b0 = line.first()?;
        if !is_token_byte(b0) {
            return None;
        }
        if line.get(1).is_none_or(|&b| !is_token_byte(b)) {
            return Some((Self::from_compact(b0.to_ascii_lowercase()), 1));
        }
        // Most frequent names first within each initial; each test compares
        // against a constant, so it compiles to a few word compares.
        macro_rules! first_of {
            ($($hn:ident => $lower:literal),+ $(,)?) => {{
                $(
                    if let Some(n) = name_at(line, $lower) {
                        return Some((Self::$hn, n));
                    }
                )+
                None
            }};
        }
        match b0 | 0x20 {
            b'a' => first_of!(
                Allow => b"allow",
                Accept => b"accept",
                Authorization => b"authorization",
                AllowEvents => b"allow-events",
                AcceptContact => b"accept-contact",
            ),
            b'c' => first_of!(
                CallId => b"call-id",
                CSeq => b"cseq",
                Contact => b"contact",
                ContentType => b"content-type",
                ContentLength => b"content-length",
                ContentEncoding => b"content-encoding",
                ContentDisposition => b"content-disposition",
            ),
            b'e' => first_of!(Expires => b"expires", Event => b"event"),
            b'f' => first_of!(From => b"from"),
            b'i' => first_of!(Identity => b"identity", IdentityInfo => b"identity-info"),
            b'm' => first_of!(MaxForwards => b"max-forwards", MinExpires => b"min-expires"),
            b'p' => first_of!(
                Path => b"path",
                ProxyAuthorization => b"proxy-authorization",
                ProxyAuthenticate => b"proxy-authenticate",
                ProxyRequire => b"proxy-require",
                PAssertedIdentity => b"p-asserted-identity",
                Privacy => b"privacy",
            ),
            b'r' => first_of!(
                Route => b"route",
                RecordRoute => b"record-route",
                Require => b"require",
                ReferTo => b"refer-to",
                ReferredBy => b"referred-by",
                RejectContact => b"reject-contact",
                RequestDisposition => b"request-disposition",
            ),
            b's' => first_of!(
                Supported => b"supported",
                Server => b"server",
                Subject => b"subject",
                SessionExpires => b"session-expires",
                SubscriptionState => b"subscription-state",
            ),
            b't' => first_of!(To => b"to"),
            b'u' => first_of!(UserAgent => b"user-agent", Unsupported => b"unsupported"),
            b'v' => first_of!(Via => b"via"),
            b'w' => first_of!(WwwAuthenticate => b"www-authenticate"),
            _ => None,
        }
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

    /// Every known name (all variants but `Other`).
    pub fn all_known() -> impl Iterator<Item = Self> {
        TABLE.iter().map(|t| t.0)
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

/// `Some(lower.len())` if `line` starts with the name `lower` (any case)
/// followed by a byte that is not a token byte.
#[inline(always)]
fn name_at(line: &[u8], lower: &[u8]) -> Option<usize> {
    let n = lower.len();
    let (name, &next) = (line.get(..n)?, line.get(n)?);
    (fold_eq(name, lower) && !is_token_byte(next)).then_some(n)
}

/// Case-insensitive equality of `name` with `lower`, which must consist of
/// lower-case ASCII letters and bytes below 0x40 only (every long header
/// name, URI scheme, parameter name used here and `sip/2.0` does).
///
/// For such a `lower` this is exactly `name.eq_ignore_ascii_case(lower)`:
/// the mask `(l >> 1) & 0x20` is 0x20 for bytes with bit 6 set (here: the
/// letters) and 0 below 0x40. At a letter position `b | 0x20 == l` holds
/// for `l` and its upper case only; elsewhere the mask is 0, so only `l`
/// itself matches. Compares eight bytes at a time.
#[inline(always)]
pub(crate) fn fold_eq(name: &[u8], lower: &[u8]) -> bool {
    #[inline(always)]
    fn word8(s: &[u8], i: usize) -> u64 {
        s.get(i..i + 8)
            .and_then(|w| <[u8; 8]>::try_from(w).ok())
            .map_or(u64::MAX, u64::from_le_bytes)
    }
    #[inline(always)]
    fn word4(s: &[u8], i: usize) -> u32 {
        s.get(i..i + 4)
            .and_then(|w| <[u8; 4]>::try_from(w).ok())
            .map_or(u32::MAX, u32::from_le_bytes)
    }
    let n = name.len();
    if n != lower.len() {
        return false;
    }
    if n >= 8 {
        let mut i = 0;
        loop {
            // The last word may overlap the previous one.
            let at = if i + 8 > n { n - 8 } else { i };
            let l = word8(lower, at);
            if word8(name, at) | ((l >> 1) & 0x2020_2020_2020_2020) != l {
                return false;
            }
            i += 8;
            if i >= n {
                return true;
            }
        }
    } else if n >= 4 {
        let (l0, l1) = (word4(lower, 0), word4(lower, n - 4));
        word4(name, 0) | ((l0 >> 1) & 0x2020_2020) == l0
            && word4(name, n - 4) | ((l1 >> 1) & 0x2020_2020) == l1
    } else {
        name.iter()
            .zip(lower)
            .all(|(&b, &l)| b | ((l >> 1) & 0x20) == l)
    }
}

/// The RFC 3261 `token` alphabet.
#[inline]
pub fn is_token_byte(b: u8) -> bool {
    TOKEN[usize::from(b)]
}

/// Builds a byte-class table: ASCII alphanumerics plus `extra`.
pub const fn byte_class(extra: &[u8]) -> [bool; 256] {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = (i as u8).is_ascii_alphanumeric();
        i += 1;
    }
    let mut j = 0;
    while j < extra.len() {
        t[extra[j] as usize] = true;
        j += 1;
    }
    t
}

static TOKEN: [bool; 256] = byte_class(b"-.!%*_+`'~");
