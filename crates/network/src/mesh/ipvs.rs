//! The IPVS routing mesh (what Docker's swarm uses): nftables marks `fib daddr type local
//! <proto> dport P` with a per-port fwmark and masquerades; an IPVS fwmark service per
//! published port (scheduler `rr`) with MASQ destinations balances, programmed through our
//! own generic-netlink client (`crate::ipvs`).

use std::collections::BTreeMap;
use std::fmt::Write;
use std::net::{IpAddr, Ipv4Addr, SocketAddrV4};

use types::{MeshBackendKind, MeshTable, PublishMode};

use crate::error::{DataplaneError, Result};
use nix::errno::Errno;

use crate::ipvs::{
    plan_fwmark_sync, Destination, FwmarkService, IpvsChange, IpvsError, IpvsHandle, Service,
    ServiceId,
};
use crate::mesh::nft::{self, NftMesh};
use crate::mesh::nft_render::{fwmark, IngressMode};
use crate::plan::MeshPlan;
use crate::readback;
use crate::sysctl;

/// IPVS must create conntrack entries for its connections, or the nftables masquerade in
/// postrouting never sees them and replies bypass the receiving node.
const IPVS_CONNTRACK: &str = "net.ipv4.vs.conntrack";

#[derive(Debug)]
pub struct IpvsMesh {
    ipvs: IpvsHandle,
    nft: NftMesh,
}

impl IpvsMesh {
    /// Takes a handle already connected in the node's namespace (the `auto` probe's).
    pub fn new(ipvs: IpvsHandle) -> IpvsMesh {
        IpvsMesh {
            ipvs,
            nft: NftMesh::new(IngressMode::Fwmark),
        }
    }

    pub async fn program(&self, plan: &MeshPlan) -> Result<bool> {
        sysctl::ensure(IPVS_CONNTRACK, "1")?;
        let desired = fwmark_services(plan);
        // IPVS first: a freshly marked port must find its service, and a port leaving
        // keeps its mark only until the nft reload right after.
        let changed = self.sync(&desired).await?;
        let reloaded = self.nft.program(plan).await?;
        Ok(reloaded || changed)
    }

    pub async fn forget(&self) {
        self.nft.forget().await;
    }

    /// nftables rules (fwmarks, host-mode DNAT, rejects) joined with IPVS's services.
    pub async fn table(&self) -> Result<MeshTable> {
        let mut raw = nft::list_table().await?.unwrap_or_default();
        let mut services = match raw.is_empty() {
            true => Vec::new(),
            false => readback::parse_nft_json(&raw)?,
        };
        let snapshot = self
            .ipvs
            .snapshot()
            .await
            .map_err(ipvs_err("read services"))?;
        let by_mark: BTreeMap<u32, &(Service, Vec<Destination>)> = snapshot
            .iter()
            .filter_map(|entry| match entry.0.id {
                ServiceId::Fwmark { mark, .. } => Some((mark, entry)),
                _ => None,
            })
            .collect();
        for vs in services
            .iter_mut()
            .filter(|s| s.mode == PublishMode::Ingress)
        {
            let Some(mark) = vs.fwmark else { continue };
            match by_mark.get(&mark) {
                Some((svc, dests)) => {
                    vs.scheduler = svc.scheduler.clone();
                    vs.backends = dests
                        .iter()
                        .filter_map(|d| {
                            v4(d.addr.ip()).map(|ip| SocketAddrV4::new(ip, d.addr.port()))
                        })
                        .collect();
                }
                // Marked in nftables but unknown to IPVS: traffic would hit the node itself.
                None => vs.scheduler = "missing-ipvs-service".into(),
            }
        }
        writeln!(raw, "\nIPVS:").unwrap();
        for (svc, dests) in &snapshot {
            writeln!(raw, "{} {}", svc.id, svc.scheduler).unwrap();
            for d in dests {
                writeln!(
                    raw,
                    "  -> {} weight {} active {} inactive {}",
                    d.addr, d.weight, d.active_conns, d.inactive_conns
                )
                .unwrap();
            }
        }
        Ok(MeshTable {
            backend: MeshBackendKind::Ipvs,
            services,
            raw,
        })
    }

    pub async fn remove(&self) -> Result<()> {
        self.nft.remove().await?;
        self.sync(&[]).await?;
        Ok(())
    }

    /// Makes the kernel's fwmark services match `desired`, one planned change at a time.
    /// `IpvsHandle::sync_fwmark_services` does the same pipelined, but its future is not
    /// `Send` (a higher-ranked closure in its stream), and the agent spawns `apply` on a
    /// multi-threaded runtime; the plan itself is the shared, tested `plan_fwmark_sync`.
    async fn sync(&self, desired: &[FwmarkService]) -> Result<bool> {
        let current = self
            .ipvs
            .snapshot()
            .await
            .map_err(ipvs_err("read services"))?;
        let changes = plan_fwmark_sync(&current, desired);
        for change in &changes {
            let result = match change {
                IpvsChange::AddService(s) => self.ipvs.add_service(s).await,
                IpvsChange::UpdateService(s) => self.ipvs.update_service(s).await,
                IpvsChange::DelService(id) => self.ipvs.del_service(id).await,
                IpvsChange::AddDest(id, d) => self.ipvs.add_dest(id, d).await,
                IpvsChange::UpdateDest(id, d) => self.ipvs.update_dest(id, d).await,
                IpvsChange::DelDest(id, addr) => self.ipvs.del_dest(id, *addr).await,
            };
            match result {
                Err(e) if already_done(change, &e) => {}
                other => other.map_err(ipvs_err("sync services"))?,
            }
        }
        Ok(!changes.is_empty())
    }
}

/// One IPVS fwmark service per ingress-published port that has backends; host-mode ports
/// and empty ports are handled by nftables alone.
pub fn fwmark_services(plan: &MeshPlan) -> Vec<FwmarkService> {
    plan.ports
        .iter()
        .filter(|p| p.mode == PublishMode::Ingress && !p.backends.is_empty())
        .map(|p| {
            (
                fwmark(p.protocol, p.published),
                p.backends.iter().map(|b| (*b.ip(), b.port())).collect(),
            )
        })
        .collect()
}

/// A race another writer already settled: EEXIST on add, ESRCH/ENOENT on delete.
fn already_done(change: &IpvsChange, err: &IpvsError) -> bool {
    let Some(errno) = err.errno().map(Errno::from_raw) else {
        return false;
    };
    match change {
        IpvsChange::AddService(_) | IpvsChange::AddDest(..) => errno == Errno::EEXIST,
        IpvsChange::DelService(_) | IpvsChange::DelDest(..) => {
            matches!(errno, Errno::ESRCH | Errno::ENOENT)
        }
        IpvsChange::UpdateService(_) | IpvsChange::UpdateDest(..) => false,
    }
}

fn v4(ip: IpAddr) -> Option<Ipv4Addr> {
    match ip {
        IpAddr::V4(v4) => Some(v4),
        IpAddr::V6(_) => None,
    }
}

fn ipvs_err(what: &'static str) -> impl FnOnce(IpvsError) -> DataplaneError {
    move |e| DataplaneError::Ipvs(format!("{what}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::MeshPort;
    use types::PortProtocol;

    #[test]
    fn only_ingress_ports_with_backends_become_ipvs_services() {
        let port = |published, mode, backends: &[&str]| MeshPort {
            protocol: PortProtocol::Tcp,
            published,
            mode,
            service_name: "s".into(),
            backends: backends.iter().map(|b| b.parse().unwrap()).collect(),
        };
        let plan = MeshPlan {
            bridge: "swarm-ingress".into(),
            subnet: "10.255.0.0/16".parse().unwrap(),
            ports: vec![
                port(
                    8080,
                    PublishMode::Ingress,
                    &["10.255.0.5:80", "10.255.0.6:80"],
                ),
                port(8081, PublishMode::Ingress, &[]),
                port(9090, PublishMode::Host, &["10.255.0.7:90"]),
            ],
        };
        assert_eq!(
            fwmark_services(&plan),
            vec![(
                0x5700_1f90,
                vec![
                    (Ipv4Addr::new(10, 255, 0, 5), 80),
                    (Ipv4Addr::new(10, 255, 0, 6), 80)
                ]
            )]
        );
    }
}
