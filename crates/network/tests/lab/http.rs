//! A tiny HTTP responder and client that run inside lab namespaces (on threads that have
//! `setns`'d there). The responder answers `<name> <client-ip>`, so a test can count
//! distinct backends and check which source address a backend saw.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::mpsc;
use std::time::Duration;

pub const TIMEOUT: Duration = Duration::from_secs(2);

/// Runs `f` on a new thread inside the namespace at `ns_path` and returns its result.
pub fn in_ns<T: Send + 'static>(ns_path: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let path = PathBuf::from(ns_path);
    std::thread::spawn(move || {
        network::netns::enter(&path).expect("setns");
        f()
    })
    .join()
    .expect("netns thread panicked")
}

/// Starts the responder on `0.0.0.0:port` inside the namespace; returns once it listens.
/// The thread lives as long as the test process (it holds the namespace open until then).
pub fn serve(ns_path: &str, port: u16, name: &str) {
    let (tx, rx) = mpsc::channel();
    let path = PathBuf::from(ns_path);
    let name = name.to_string();
    std::thread::spawn(move || {
        network::netns::enter(&path).expect("setns");
        let listener = TcpListener::bind(("0.0.0.0", port)).expect("bind responder");
        tx.send(()).unwrap();
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { continue };
            let name = name.clone();
            std::thread::spawn(move || {
                let _ = conn.set_read_timeout(Some(TIMEOUT));
                let peer = conn
                    .peer_addr()
                    .map(|p| p.ip().to_string())
                    .unwrap_or_default();
                let mut buf = [0u8; 1024];
                let mut seen = Vec::new();
                // Keep-alive is not needed: one request per connection, like HTTP/1.0.
                while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
                    match conn.read(&mut buf) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => seen.extend_from_slice(&buf[..n]),
                    }
                }
                let body = format!("{name} {peer}");
                let resp = format!(
                    "HTTP/1.0 200 OK\r\nContent-Length: {}\r\n\r\n{body}",
                    body.len()
                );
                let _ = conn.write_all(resp.as_bytes());
                let _ = conn.shutdown(Shutdown::Write);
            });
        }
    });
    rx.recv_timeout(Duration::from_secs(5))
        .expect("responder did not start");
}

/// One HTTP/1.0 GET from the calling thread's namespace; returns the body.
pub fn get_here(addr: SocketAddr) -> std::io::Result<String> {
    let mut s = TcpStream::connect_timeout(&addr, TIMEOUT)?;
    s.set_read_timeout(Some(TIMEOUT))?;
    s.set_write_timeout(Some(TIMEOUT))?;
    s.write_all(b"GET / HTTP/1.0\r\n\r\n")?;
    let mut out = String::new();
    s.read_to_string(&mut out)?;
    match out.split_once("\r\n\r\n") {
        Some((_, body)) => Ok(body.to_string()),
        None => Err(std::io::Error::other(format!("not HTTP: {out:?}"))),
    }
}

/// `n` sequential GETs from inside a namespace.
pub fn get_n(ns_path: &str, addr: SocketAddr, n: usize) -> Vec<std::io::Result<String>> {
    in_ns(ns_path, move || (0..n).map(|_| get_here(addr)).collect())
}

pub fn get(ns_path: &str, addr: SocketAddr) -> std::io::Result<String> {
    get_n(ns_path, addr, 1).pop().unwrap()
}

/// A UDP responder: answers every datagram with `<name> <client-ip>`.
pub fn serve_udp(ns_path: &str, port: u16, name: &str) {
    let (tx, rx) = mpsc::channel();
    let path = PathBuf::from(ns_path);
    let name = name.to_string();
    std::thread::spawn(move || {
        network::netns::enter(&path).expect("setns");
        let sock = std::net::UdpSocket::bind(("0.0.0.0", port)).expect("bind udp responder");
        tx.send(()).unwrap();
        let mut buf = [0u8; 512];
        while let Ok((_, peer)) = sock.recv_from(&mut buf) {
            let _ = sock.send_to(format!("{name} {}", peer.ip()).as_bytes(), peer);
        }
    });
    rx.recv_timeout(Duration::from_secs(5))
        .expect("udp responder did not start");
}

/// `n` UDP requests, each from a fresh socket (so each is a new conntrack flow). The socket
/// is connected, so only a reply from `addr` itself counts (a backend answering around the
/// NAT would be ignored, as a real client would).
pub fn udp_get_n(ns_path: &str, addr: SocketAddr, n: usize) -> Vec<std::io::Result<String>> {
    in_ns(ns_path, move || {
        (0..n)
            .map(|_| {
                let sock = std::net::UdpSocket::bind(("0.0.0.0", 0))?;
                sock.set_read_timeout(Some(TIMEOUT))?;
                sock.connect(addr)?;
                sock.send(b"ping")?;
                let mut buf = [0u8; 512];
                let len = sock.recv(&mut buf)?;
                Ok(String::from_utf8_lossy(&buf[..len]).into_owned())
            })
            .collect()
    })
}
