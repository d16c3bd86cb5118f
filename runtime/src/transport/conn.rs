//! The shared TCP connection table: every connection by id and by peer,
//! so any worker can send on any connection.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::{Arc, MutexGuard, PoisonError};

use tokio::sync::mpsc;

use crate::transport::ConnId;

use super::server::*;

/// Messages queued for one TCP connection before transmits are dropped.
pub(super) const CONN_QUEUE: usize = 64;

#[derive(Default)]
pub(super) struct ConnTable {
    pub(super) by_id: HashMap<ConnId, ConnEntry>,
    pub(super) by_peer: HashMap<SocketAddr, ConnId>,
}

pub(super) struct ConnEntry {
    pub(super) tx: mpsc::Sender<Vec<u8>>,
}

impl Shared {
    pub(super) fn table(&self) -> MutexGuard<'_, ConnTable> {
        self.conns.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(super) fn conn_count(&self) -> usize {
        self.table().by_id.len()
    }

    /// Registers a connection to or from `peer`, if under the limit.
    pub(super) fn register(self: &Arc<Self>, peer: SocketAddr) -> Option<Registered> {
        let mut t = self.table();
        if t.by_id.len() >= self.limits.max_connections {
            return None;
        }
        let id = ConnId(self.next_id.fetch_add(1, Ordering::Relaxed));
        let (tx, rx) = mpsc::channel(CONN_QUEUE);
        t.by_id.insert(id, ConnEntry { tx });
        t.by_peer.insert(peer, id);
        Some(Registered {
            id,
            rx,
            guard: ConnGuard {
                shared: self.clone(),
                id,
                peer,
            },
        })
    }
}

pub(super) struct Registered {
    pub(super) id: ConnId,
    pub(super) rx: mpsc::Receiver<Vec<u8>>,
    pub(super) guard: ConnGuard,
}

/// Removes a connection from the table when its task ends (or is dropped
/// with its runtime).
pub(super) struct ConnGuard {
    pub(super) shared: Arc<Shared>,
    pub(super) id: ConnId,
    pub(super) peer: SocketAddr,
}

impl Drop for ConnGuard {
    fn drop(&mut self) {
        let mut t = self.shared.table();
        t.by_id.remove(&self.id);
        if t.by_peer.get(&self.peer) == Some(&self.id) {
            t.by_peer.remove(&self.peer);
        }
    }
}
