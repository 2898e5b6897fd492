//! Free loopback ports for node listen addresses. Chosen at random below the kernel's
//! ephemeral range (32768+), so that no outgoing connection of another test can take a port
//! between our check and swarmd's bind; checked by binding it; never handed out twice by one
//! test process.

use std::collections::HashSet;
use std::net::{SocketAddr, TcpListener};
use std::sync::Mutex;

use rand::Rng;

const LOW: u16 = 20_000;
const HIGH: u16 = 32_000;

/// A 127.0.0.1 address nothing listens on right now.
pub fn free_addr() -> SocketAddr {
    static GIVEN: Mutex<Option<HashSet<u16>>> = Mutex::new(None);
    let mut given = GIVEN.lock().unwrap_or_else(|e| e.into_inner());
    let given = given.get_or_insert_with(HashSet::new);
    let mut rng = rand::rng();
    for _ in 0..1000 {
        let port = rng.random_range(LOW..HIGH);
        if given.contains(&port) {
            continue;
        }
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        if TcpListener::bind(addr).is_ok() {
            given.insert(port);
            return addr;
        }
    }
    panic!("no free port on 127.0.0.1 in {LOW}..{HIGH} after 1000 tries");
}
