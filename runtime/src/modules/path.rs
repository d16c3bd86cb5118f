//! path — the Path header of an edge proxy (Kamailio 5.6's path module,
//! RFC 3327): `add_path([user[, params]])` and
//! `add_path_received([user[, params]])` add
//! `Path: <sip:[user@]address;lr[;received=...][;params]>`, the address
//! being the socket the REGISTER leaves on (as Record-Route's, Kamailio's
//! `SUBST_SND_ALL`), before the message's first Path header or after its
//! last header. The registrar that saves it (`use_path`) routes requests
//! to the contact back through this proxy.
//!
//! The parameters stay at their defaults (refused otherwise at build):
//! no `r2` double Path (`enable_r2`), `received` written as a SIP URI
//! (`received_format`, `received_name`), no routing by the received
//! parameter of a Route (`use_received`), no socket names
//! (`sockname_mode`).

use std::any::Any;

use crate::engine::Ctx;
use crate::engine::ctx::{DeferredHeader, HeaderOp, SendInfo};
use crate::sip::{HeaderName, Message};
use crate::transport::Proto;

/// One Path header to build when the socket is known.
#[derive(Clone, Debug, PartialEq, Eq)]
struct PathLump {
    /// `user@`, or empty.
    user: Vec<u8>,
    /// `;lr` and what follows, up to (not including) `>`.
    suffix: Vec<u8>,
}

impl DeferredHeader for PathLump {
    fn build(&self, at: &SendInfo<'_>) -> Vec<(&'static str, Vec<u8>)> {
        let mut v = b"<sip:".to_vec();
        v.extend_from_slice(&self.user);
        crate::engine::forward::push_socket_address(&mut v, at.core, at.out, false);
        v.extend_from_slice(&self.suffix);
        v.push(b'>');
        vec![("Path", v)]
    }

    fn anchor(&self, msg: &Message<'_>) -> Option<usize> {
        Some(
            msg.header_entry(HeaderName::Path)
                .map_or(msg.headers_end(), |h| h.line().start as usize),
        )
    }

    fn clone_box(&self) -> Box<dyn DeferredHeader> {
        Box::new(self.clone())
    }

    fn eq_dyn(&self, other: &dyn DeferredHeader) -> bool {
        (other as &dyn Any).downcast_ref::<Self>() == Some(self)
    }
}

fn prepend_path(ctx: &mut Ctx<'_>, user: &[u8], received: bool, params: &[u8]) -> i32 {
    let mut suffix = b";lr".to_vec();
    if received {
        suffix.extend_from_slice(b";received=sip:");
        match ctx.rcv.src.ip() {
            std::net::IpAddr::V4(a) => suffix.extend_from_slice(a.to_string().as_bytes()),
            std::net::IpAddr::V6(a) => suffix.extend_from_slice(format!("[{a}]").as_bytes()),
        }
        suffix.push(b':');
        suffix.extend_from_slice(ctx.rcv.src.port().to_string().as_bytes());
        // Kamailio's proto_strings: nothing for UDP.
        if ctx.rcv.proto == Proto::Tcp {
            suffix.extend_from_slice(b"%3Btransport%3Dtcp");
        }
    }
    if !params.is_empty() {
        suffix.push(b';');
        suffix.extend_from_slice(params);
    }
    let mut u = user.to_vec();
    if !u.is_empty() {
        u.push(b'@');
    }
    ctx.headers
        .push(HeaderOp::Deferred(Box::new(PathLump { user: u, suffix })));
    1
}

/// `add_path()`: 1.
pub fn add_path(ctx: &mut Ctx<'_>) -> i32 {
    prepend_path(ctx, b"", false, b"")
}

/// `add_path(user)`.
pub fn add_path_user(ctx: &mut Ctx<'_>, user: &[u8]) -> i32 {
    prepend_path(ctx, user, false, b"")
}

/// `add_path(user, params)`.
pub fn add_path_user_params(ctx: &mut Ctx<'_>, user: &[u8], params: &[u8]) -> i32 {
    prepend_path(ctx, user, false, params)
}

/// `add_path_received()`: with `;received=sip:<source>`.
pub fn add_path_received(ctx: &mut Ctx<'_>) -> i32 {
    prepend_path(ctx, b"", true, b"")
}

/// `add_path_received(user)`.
pub fn add_path_received_user(ctx: &mut Ctx<'_>, user: &[u8]) -> i32 {
    prepend_path(ctx, user, true, b"")
}

/// `add_path_received(user, params)`.
pub fn add_path_received_user_params(ctx: &mut Ctx<'_>, user: &[u8], params: &[u8]) -> i32 {
    prepend_path(ctx, user, true, params)
}
