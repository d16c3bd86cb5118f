//! A TCP relay to the database server that holds every chunk the proxy
//! sends for a fixed delay before passing it on: each query (and each
//! connection handshake step) takes that much longer, as over a slow
//! link or on a loaded server. The `slow-db` scenario's database.

use std::io::{Read as _, Write as _};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::time::Duration;

/// Starts the relay to `upstream` on a free loopback port (threads that
/// live as long as the bench); the port.
///
/// # Errors
/// The port cannot be bound.
pub(crate) fn start(upstream: (String, u16), delay: Duration) -> Result<u16, String> {
    let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| format!("relay: {e}"))?;
    let port = listener
        .local_addr()
        .map_err(|e| format!("relay: {e}"))?
        .port();
    std::thread::spawn(move || {
        for client in listener.incoming().flatten() {
            let Ok(server) = TcpStream::connect((upstream.0.as_str(), upstream.1)) else {
                let _ = client.shutdown(Shutdown::Both);
                continue;
            };
            let _ = client.set_nodelay(true);
            let _ = server.set_nodelay(true);
            let (Ok(c2), Ok(s2)) = (client.try_clone(), server.try_clone()) else {
                continue;
            };
            std::thread::spawn(move || pipe(client, server, delay));
            std::thread::spawn(move || pipe(s2, c2, Duration::ZERO));
        }
    });
    Ok(port)
}

/// Copies `from` to `to`, each chunk held for `delay` first.
fn pipe(mut from: TcpStream, mut to: TcpStream, delay: Duration) {
    let mut buf = vec![0u8; 65536];
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        if !delay.is_zero() {
            std::thread::sleep(delay);
        }
        if to.write_all(&buf[..n]).is_err() {
            break;
        }
    }
    let _ = to.shutdown(Shutdown::Write);
}
