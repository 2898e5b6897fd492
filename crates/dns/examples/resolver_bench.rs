//! The resolver's answer latency at a fixed query rate, over real UDP on loopback:
//! `cargo run --release -p dns --example resolver_bench [QPS] [SECONDS] [SERVICES]`
//! (default 5000 queries/s for 3 s against a zone of 100 services). One client socket sends
//! on a fixed schedule (open loop: a slow answer does not slow the sender) and records when
//! each answer arrives; prints p50/p99/max and how many went unanswered.

use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use dns::probe::{a_query, a_records};
use dns::{Resolver, ServiceRecord, Zone};
use tokio::net::UdpSocket;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

fn zone(services: usize) -> Zone {
    let mut z = Zone::new();
    for i in 0..services {
        let vip = Ipv4Addr::new(10, 0, (i / 250) as u8, (i % 250) as u8 + 2);
        let mut s = ServiceRecord::vip(format!("svc{i}"), vip);
        for t in 0..3u8 {
            s = s.with_task(
                format!("svc{i}.{t}.task{i}x{t}"),
                Ipv4Addr::new(10, 1, i as u8, t),
            );
        }
        z.add_service("net", s);
    }
    z.add_client(Ipv4Addr::LOCALHOST, ["net"]);
    z
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args: Vec<u64> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let qps = args.first().copied().unwrap_or(5000).max(1);
    let secs = args.get(1).copied().unwrap_or(3).max(1);
    let services = args.get(2).copied().unwrap_or(100).max(1) as usize;
    let (_zone, watched) = watch::channel(Arc::new(zone(services)));
    let resolver = Resolver::bind((Ipv4Addr::LOCALHOST, 0).into(), watched, Vec::new())
        .await
        .expect("bind the resolver");
    let server = resolver.local_addr();
    let stop = CancellationToken::new();
    tokio::spawn(resolver.run(stop.clone()));

    let socket = Arc::new(UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap());
    socket.connect(server).await.unwrap();
    let total = (qps * secs) as usize;
    let sent_at = Arc::new(std::sync::Mutex::new(HashMap::with_capacity(total)));
    let receiver = {
        let (socket, sent_at) = (socket.clone(), sent_at.clone());
        tokio::spawn(async move {
            let mut latencies = Vec::with_capacity(total);
            let mut buf = [0u8; 1500];
            while latencies.len() < total {
                let got = tokio::time::timeout(Duration::from_secs(2), socket.recv(&mut buf)).await;
                let Ok(Ok(n)) = got else { break };
                let now = Instant::now();
                let Ok((seq, _)) = a_records(&buf[..n]) else {
                    continue;
                };
                if let Some(t0) = sent_at.lock().unwrap().remove(&seq) {
                    latencies.push(now - t0);
                }
            }
            latencies
        })
    };
    let period = Duration::from_secs_f64(1.0 / qps as f64);
    let start = Instant::now();
    for i in 0..total {
        let due = start + period * i as u32;
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            if wait > Duration::from_micros(50) {
                tokio::time::sleep(wait).await;
            }
        }
        let id = (i % 65536) as u16;
        let name = format!("svc{}", i % services);
        sent_at.lock().unwrap().insert(id, Instant::now());
        let _ = socket.send(&a_query(id, &name).unwrap()).await;
    }
    let sending = start.elapsed();
    let mut latencies = receiver.await.unwrap();
    stop.cancel();
    latencies.sort();
    println!(
        "resolver: {total} queries at {qps}/s over {:.2} s (sent at {:.0}/s), {services} services",
        sending.as_secs_f64(),
        total as f64 / sending.as_secs_f64()
    );
    println!(
        "resolver latency p50={:?} p99={:?} max={:?}",
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99),
        latencies.last().copied().unwrap_or_default()
    );
    println!(
        "resolver p99 {:.3} ms",
        percentile(&latencies, 0.99).as_secs_f64() * 1e3
    );
    println!("resolver unanswered {} of {total}", total - latencies.len());
}
