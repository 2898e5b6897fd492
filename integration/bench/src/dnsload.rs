//! One container's DNS load, open loop: from inside a container's network namespace, A
//! queries for one name at a fixed rate to 127.0.0.11:53 (swarmd's resolver or Docker's
//! embedded DNS, whichever serves that container), each answer timed against its send.

use std::collections::HashMap;
use std::net::UdpSocket;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Result;
use dns::probe::{a_query, a_records};

use crate::lab::in_netns_at;

pub struct DnsLoad {
    /// Latency of each answered query, in ms, sorted.
    pub ms: Vec<f64>,
    pub sent: usize,
}

impl DnsLoad {
    pub fn unanswered(&self) -> usize {
        self.sent - self.ms.len()
    }
}

/// `qps` queries a second for `secs` seconds, from the namespace at `ns`.
pub fn run(ns: &str, name: &str, qps: u32, secs: u32) -> Result<DnsLoad> {
    let name = name.to_string();
    in_netns_at(ns.to_string(), move || -> Result<DnsLoad> {
        let socket = UdpSocket::bind("127.0.0.1:0")?;
        socket.connect("127.0.0.11:53")?;
        socket.set_read_timeout(Some(Duration::from_secs(2)))?;
        let total = (qps * secs) as usize;
        let sent_at: Arc<Mutex<HashMap<u16, Instant>>> = Arc::default();
        let receiver = {
            let (socket, sent_at) = (socket.try_clone()?, sent_at.clone());
            std::thread::spawn(move || {
                let mut ms = Vec::with_capacity(total);
                let mut buf = [0u8; 1500];
                while ms.len() < total {
                    let Ok(n) = socket.recv(&mut buf) else { break };
                    let now = Instant::now();
                    let Ok((id, _)) = a_records(&buf[..n]) else {
                        continue;
                    };
                    if let Some(t0) = sent_at.lock().unwrap().remove(&id) {
                        ms.push((now - t0).as_secs_f64() * 1e3);
                    }
                }
                ms
            })
        };
        let period = Duration::from_secs_f64(1.0 / f64::from(qps));
        let start = Instant::now();
        for i in 0..total {
            let due = start + period * i as u32;
            if let Some(wait) = due.checked_duration_since(Instant::now()) {
                std::thread::sleep(wait);
            }
            let id = (i % 65536) as u16;
            let query = a_query(id, &name)?;
            sent_at.lock().unwrap().insert(id, Instant::now());
            let _ = socket.send(&query);
        }
        let mut ms = receiver.join().expect("receiver thread");
        ms.sort_by(f64::total_cmp);
        Ok(DnsLoad { ms, sent: total })
    })
}
