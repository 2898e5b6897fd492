//! Drives `network::ipvs` against a real kernel: the program the QEMU kernel
//! test (`integration/kernel/run.sh`) runs inside its guest. Each command
//! programs IPVS through our client, reads the kernel back through our
//! client, and exits non-zero when what the kernel holds is not what was
//! asked for, so the guest's /init can turn it into PASS or FAIL.
//!
//! ```text
//! ipvs_probe expect-unsupported              # before ip_vs is loaded
//! ipvs_probe program-tcp VIP:PORT BACKEND:PORT...
//! ipvs_probe sync-fwmark MARK=IP:PORT,IP:PORT [MARK=...]
//! ipvs_probe exercise                        # errno and update paths, mark 999
//! ipvs_probe list                            # ipvsadm -L -n, from our decoder
//! ipvs_probe flush
//! ipvs_probe bench N                         # time syncing N mesh services
//! ```

use std::collections::BTreeSet;
use std::net::{Ipv4Addr, SocketAddr};
use std::process::ExitCode;
use std::time::Instant;

use nix::errno::Errno;

// The module under test, compiled straight from the network crate: it only
// depends on the netlink crates listed in this package's Cargo.toml.
#[path = "../../../../crates/network/src/ipvs/mod.rs"]
pub mod ipvs;

use ipvs::{
    AddressFamily, Destination, ForwardMethod, IpvsError, IpvsHandle, Protocol, Service, ServiceId,
};

type Outcome = Result<(), String>;

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let outcome = match args.first().map(String::as_str) {
        Some("expect-unsupported") => expect_unsupported().await,
        Some("program-tcp") => program_tcp(&args[1..]).await,
        Some("sync-fwmark") => sync_fwmark(&args[1..]).await,
        Some("exercise") => exercise().await,
        Some("list") => list().await,
        Some("flush") => flush().await,
        Some("bench") => bench(args.get(1)).await,
        _ => Err(format!("usage: see the module docs; got {args:?}")),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(why) => {
            eprintln!("ipvs_probe: FAILED: {why}");
            ExitCode::FAILURE
        }
    }
}

async fn connect() -> Result<IpvsHandle, String> {
    IpvsHandle::connect()
        .await
        .map_err(|e| format!("connect: {e}"))
}

fn parse_addr(text: &str) -> Result<SocketAddr, String> {
    text.parse().map_err(|e| format!("{text:?}: {e}"))
}

async fn expect_unsupported() -> Outcome {
    match IpvsHandle::connect().await {
        Err(IpvsError::Unsupported) => {
            println!("ipvs_probe: no IPVS family -> Unsupported, as expected");
            Ok(())
        }
        Err(other) => Err(format!("expected Unsupported, got error {other}")),
        Ok(_) => Err("expected Unsupported, but the IPVS family resolved".into()),
    }
}

/// Checks that the kernel holds exactly `backends` behind `id`, as MASQ
/// destinations of weight 1, and that `id` uses the `rr` scheduler.
async fn verify(ipvs: &IpvsHandle, id: &ServiceId, backends: &BTreeSet<SocketAddr>) -> Outcome {
    let services = ipvs.list_services().await.map_err(|e| e.to_string())?;
    let service = services
        .iter()
        .find(|s| s.id == *id)
        .ok_or_else(|| format!("{id} missing from the kernel's services {services:?}"))?;
    if service.scheduler != "rr" {
        return Err(format!(
            "{id}: scheduler {:?}, wanted rr",
            service.scheduler
        ));
    }
    let dests = ipvs.list_dests(id).await.map_err(|e| e.to_string())?;
    let got: BTreeSet<SocketAddr> = dests.iter().map(|d| d.addr).collect();
    if &got != backends {
        return Err(format!("{id}: kernel has {got:?}, wanted {backends:?}"));
    }
    if let Some(bad) = dests
        .iter()
        .find(|d| d.fwd_method != ForwardMethod::Masquerade || d.weight != 1)
    {
        return Err(format!("{id}: destination {bad:?} is not MASQ weight 1"));
    }
    println!(
        "ipvs_probe: read back {id} rr with {} MASQ destinations: OK",
        got.len()
    );
    Ok(())
}

async fn program_tcp(args: &[String]) -> Outcome {
    let (vip, backends) = args.split_first().ok_or("program-tcp needs VIP:PORT")?;
    let id = ServiceId::Inet {
        protocol: Protocol::Tcp,
        addr: parse_addr(vip)?,
    };
    let backends: BTreeSet<SocketAddr> = backends
        .iter()
        .map(|b| parse_addr(b))
        .collect::<Result<_, _>>()?;
    let ipvs = connect().await?;
    ipvs.add_service(&Service::new(id, "rr"))
        .await
        .map_err(|e| e.to_string())?;
    for &backend in &backends {
        let dest = Destination::masquerade(backend, 1);
        ipvs.add_dest(&id, &dest).await.map_err(|e| e.to_string())?;
    }
    verify(&ipvs, &id, &backends).await
}

/// `256=10.1.1.2:8080,10.1.2.2:8080`
fn parse_fwmark(spec: &str) -> Result<(u32, Vec<(Ipv4Addr, u16)>), String> {
    let (mark, backends) = spec
        .split_once('=')
        .ok_or_else(|| format!("{spec:?}: want MARK=IP:PORT,..."))?;
    let mark = mark.parse().map_err(|e| format!("{mark:?}: {e}"))?;
    let mut out = Vec::new();
    for backend in backends.split(',').filter(|b| !b.is_empty()) {
        match parse_addr(backend)? {
            SocketAddr::V4(v4) => out.push((*v4.ip(), v4.port())),
            SocketAddr::V6(_) => return Err(format!("{backend}: mesh backends are IPv4")),
        }
    }
    Ok((mark, out))
}

async fn sync_fwmark(args: &[String]) -> Outcome {
    let desired = args
        .iter()
        .map(|a| parse_fwmark(a))
        .collect::<Result<Vec<_>, _>>()?;
    let ipvs = connect().await?;
    let changes = ipvs
        .sync_fwmark_services(&desired)
        .await
        .map_err(|e| e.to_string())?;
    for change in &changes {
        println!("ipvs_probe: applied {change:?}");
    }
    // Level-triggered: a second pass over the same input must find nothing.
    let again = ipvs
        .sync_fwmark_services(&desired)
        .await
        .map_err(|e| e.to_string())?;
    if !again.is_empty() {
        return Err(format!("second sync was not a no-op: {again:?}"));
    }
    for (mark, backends) in &desired {
        let id = ServiceId::Fwmark {
            family: AddressFamily::Inet,
            mark: *mark,
        };
        let want = backends
            .iter()
            .map(|&(ip, port)| SocketAddr::from((ip, port)))
            .collect();
        verify(&ipvs, &id, &want).await?;
    }
    Ok(())
}

/// The error and update paths a reconcile loop relies on, on a scratch
/// fwmark service (mark 999) that is removed again at the end.
async fn exercise() -> Outcome {
    let ipvs = connect().await?;
    let id = ServiceId::Fwmark {
        family: AddressFamily::Inet,
        mark: 999,
    };
    let dest = Destination::masquerade("10.9.9.9:99".parse().expect("literal"), 1);
    let errno_of = |result: Result<(), IpvsError>| result.err().and_then(|e| e.errno());

    ipvs.add_service(&Service::new(id, "rr"))
        .await
        .map_err(|e| e.to_string())?;
    let dup = errno_of(ipvs.add_service(&Service::new(id, "rr")).await);
    expect_errno("duplicate add_service", dup, Errno::EEXIST)?;

    ipvs.add_dest(&id, &dest).await.map_err(|e| e.to_string())?;
    let mut drained = dest.clone();
    drained.weight = 0;
    ipvs.update_dest(&id, &drained)
        .await
        .map_err(|e| e.to_string())?;
    let dests = ipvs.list_dests(&id).await.map_err(|e| e.to_string())?;
    if dests.len() != 1 || dests[0].weight != 0 {
        return Err(format!("update_dest to weight 0 not read back: {dests:?}"));
    }
    ipvs.del_dest(&id, dest.addr)
        .await
        .map_err(|e| e.to_string())?;
    let missing = errno_of(ipvs.del_dest(&id, dest.addr).await);
    expect_errno("del_dest of a removed destination", missing, Errno::ENOENT)?;

    ipvs.del_service(&id).await.map_err(|e| e.to_string())?;
    let gone = errno_of(ipvs.del_service(&id).await);
    expect_errno("del_service of a removed service", gone, Errno::ESRCH)?;
    println!("ipvs_probe: EEXIST/ENOENT/ESRCH and update_dest behave: OK");
    Ok(())
}

fn expect_errno(what: &str, got: Option<i32>, want: Errno) -> Outcome {
    if got == Some(want as i32) {
        Ok(())
    } else {
        Err(format!("{what}: wanted errno {want}, got {got:?}"))
    }
}

async fn list() -> Outcome {
    let ipvs = connect().await?;
    let table = ipvs.snapshot().await.map_err(|e| e.to_string())?;
    println!("Prot LocalAddress:Port Scheduler  (read back by network::ipvs)");
    println!("  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn");
    for (service, dests) in table {
        println!("{} {}", service.id, service.scheduler);
        for dest in dests {
            let forward = match dest.fwd_method {
                ForwardMethod::Masquerade => "Masq",
                ForwardMethod::Local => "Local",
                ForwardMethod::Tunnel => "Tunnel",
                ForwardMethod::DirectRoute => "Route",
                ForwardMethod::Bypass => "Bypass",
            };
            println!(
                "  -> {:<28} {:<7} {:<6} {:<10} {}",
                dest.addr, forward, dest.weight, dest.active_conns, dest.inactive_conns
            );
        }
    }
    Ok(())
}

async fn flush() -> Outcome {
    let ipvs = connect().await?;
    ipvs.flush().await.map_err(|e| e.to_string())?;
    let left = ipvs.list_services().await.map_err(|e| e.to_string())?;
    if !left.is_empty() {
        return Err(format!("flush left {left:?}"));
    }
    println!("ipvs_probe: flush emptied the table: OK");
    Ok(())
}

/// Times what the mesh does at scale: programming N published ports (two
/// backends each) from scratch, re-syncing them unchanged, and clearing
/// them. Prints the numbers; fails only if the kernel ends up wrong.
async fn bench(count: Option<&String>) -> Outcome {
    let count: u32 = count
        .map_or(Ok(1000), |c| c.parse())
        .map_err(|e| format!("bench N: {e}"))?;
    let desired: Vec<(u32, Vec<(Ipv4Addr, u16)>)> = (0..count)
        .map(|i| {
            let [_, _, hi, lo] = i.to_be_bytes();
            let backends = vec![
                (Ipv4Addr::new(10, 255, hi, lo), 80),
                (Ipv4Addr::new(10, 254, hi, lo), 80),
            ];
            (0x5700_0000 | (30_000 + i), backends)
        })
        .collect();
    let ipvs = connect().await?;
    let start = Instant::now();
    let changes = ipvs
        .sync_fwmark_services(&desired)
        .await
        .map_err(|e| e.to_string())?;
    let programmed = start.elapsed();
    let start = Instant::now();
    let again = ipvs
        .sync_fwmark_services(&desired)
        .await
        .map_err(|e| e.to_string())?;
    let resynced = start.elapsed();
    let services = ipvs.list_services().await.map_err(|e| e.to_string())?;
    let start = Instant::now();
    let removed = ipvs
        .sync_fwmark_services(&[])
        .await
        .map_err(|e| e.to_string())?;
    let cleared = start.elapsed();
    println!(
        "ipvs_probe: bench {count} services: program {programmed:?} ({} changes), \
         unchanged resync {resynced:?}, clear {cleared:?} ({} changes)",
        changes.len(),
        removed.len()
    );
    let fwmarks = services
        .iter()
        .filter(|s| matches!(s.id, ServiceId::Fwmark { .. }))
        .count();
    if !again.is_empty() || fwmarks != count as usize || changes.len() != 3 * count as usize {
        return Err(format!(
            "bench: {fwmarks} fwmark services read back, resync made {} changes",
            again.len()
        ));
    }
    Ok(())
}
