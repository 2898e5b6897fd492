//! The routing mesh's reconcile step for IPVS, as a pure function: given the
//! kernel's table and the desired fwmark services, which changes to make.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{Ipv4Addr, SocketAddr};

use super::dest::{Destination, ForwardMethod};
use super::service::{AddressFamily, Service, ServiceId};

/// Scheduler of every mesh service: round robin, as Docker's routing mesh.
pub const MESH_SCHEDULER: &str = "rr";

/// Weight of every mesh destination; equal weights make `rr` plain round robin.
const MESH_WEIGHT: u32 = 1;

/// One published port as the mesh wants it: the fwmark nftables puts on its
/// traffic and the `(task IP, target port)` of every backend.
pub type FwmarkService = (u32, Vec<(Ipv4Addr, u16)>);

/// One change to the kernel's IPVS table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IpvsChange {
    AddService(Service),
    /// The service exists but with another scheduler or persistence.
    UpdateService(Service),
    DelService(ServiceId),
    AddDest(ServiceId, Destination),
    /// The destination exists but drained (weight 0) or not MASQ.
    UpdateDest(ServiceId, Destination),
    DelDest(ServiceId, SocketAddr),
}

impl IpvsChange {
    /// Position of the change's step in a plan (see [`plan_fwmark_sync`]);
    /// changes of one phase are independent of each other.
    pub(super) fn phase(&self) -> u8 {
        match self {
            Self::AddService(_) | Self::UpdateService(_) => 0,
            Self::AddDest(..) => 1,
            Self::UpdateDest(..) => 2,
            Self::DelDest(..) => 3,
            Self::DelService(_) => 4,
        }
    }
}

/// Plans the changes that turn `current` (the kernel's services with their
/// destinations) into `desired`. Only IPv4 fwmark services are managed;
/// duplicate marks in `desired` are merged, duplicate backends collapse.
///
/// Order matters for traffic in flight: services are created (or fixed)
/// first, then destinations are added, then fixed, then stale destinations
/// are removed, and unwanted services go last. Within each step the order is
/// by mark then address, so plans are deterministic and testable.
pub fn plan_fwmark_sync(
    current: &[(Service, Vec<Destination>)],
    desired: &[FwmarkService],
) -> Vec<IpvsChange> {
    let mut wanted: BTreeMap<u32, BTreeSet<SocketAddr>> = BTreeMap::new();
    for (mark, backends) in desired {
        let entry = wanted.entry(*mark).or_default();
        entry.extend(
            backends
                .iter()
                .map(|&(ip, port)| SocketAddr::from((ip, port))),
        );
    }

    let present: BTreeMap<u32, (&Service, &[Destination])> = current
        .iter()
        .filter_map(|(service, dests)| match service.id {
            ServiceId::Fwmark {
                family: AddressFamily::Inet,
                mark,
            } => Some((mark, (service, dests.as_slice()))),
            _ => None,
        })
        .collect();

    let mut services = Vec::new();
    let mut adds = Vec::new();
    let mut fixes = Vec::new();
    let mut removals = Vec::new();
    let mut deletions = Vec::new();

    for (&mark, backends) in &wanted {
        let id = ServiceId::Fwmark {
            family: AddressFamily::Inet,
            mark,
        };
        let target = Service::new(id, MESH_SCHEDULER);
        let existing: &[Destination] = match present.get(&mark) {
            None => {
                services.push(IpvsChange::AddService(target));
                &[]
            }
            Some((service, dests)) => {
                if !same_settings(service, &target) {
                    services.push(IpvsChange::UpdateService(target));
                }
                dests
            }
        };
        for &addr in backends {
            let want = Destination::masquerade(addr, MESH_WEIGHT);
            match existing.iter().find(|dest| dest.addr == addr) {
                None => adds.push(IpvsChange::AddDest(id, want)),
                Some(dest)
                    if dest.weight != MESH_WEIGHT
                        || dest.fwd_method != ForwardMethod::Masquerade =>
                {
                    fixes.push(IpvsChange::UpdateDest(id, want))
                }
                Some(_) => {}
            }
        }
        let mut stale: Vec<SocketAddr> = existing
            .iter()
            .map(|dest| dest.addr)
            .filter(|addr| !backends.contains(addr))
            .collect();
        stale.sort();
        removals.extend(stale.into_iter().map(|addr| IpvsChange::DelDest(id, addr)));
    }

    for (&mark, (service, _)) in &present {
        if !wanted.contains_key(&mark) {
            deletions.push(IpvsChange::DelService(service.id));
        }
    }

    services
        .into_iter()
        .chain(adds)
        .chain(fixes)
        .chain(removals)
        .chain(deletions)
        .collect()
}

/// Whether the kernel's service already behaves like `target`. The kernel
/// reports its internal HASHED flag (0x2), which is not a setting.
fn same_settings(actual: &Service, target: &Service) -> bool {
    const IP_VS_SVC_F_HASHED: u32 = 0x2;
    actual.scheduler == target.scheduler
        && actual.flags & !IP_VS_SVC_F_HASHED == target.flags
        && actual.timeout == target.timeout
        && actual.netmask == target.netmask
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ipvs::service::Protocol;

    fn fwm(mark: u32) -> ServiceId {
        ServiceId::Fwmark {
            family: AddressFamily::Inet,
            mark,
        }
    }

    fn kernel_service(mark: u32, scheduler: &str) -> Service {
        let mut service = Service::new(fwm(mark), scheduler);
        service.flags = 0x2; // HASHED, as the kernel reports it
        service
    }

    fn masq(addr: &str) -> Destination {
        Destination::masquerade(addr.parse().unwrap(), 1)
    }

    fn ip(s: &str) -> Ipv4Addr {
        s.parse().unwrap()
    }

    #[test]
    fn empty_kernel_gets_services_then_destinations() {
        let desired = vec![(0x101, vec![(ip("10.255.0.5"), 80), (ip("10.255.0.4"), 80)])];
        let plan = plan_fwmark_sync(&[], &desired);
        assert_eq!(
            plan,
            vec![
                IpvsChange::AddService(Service::new(fwm(0x101), "rr")),
                IpvsChange::AddDest(fwm(0x101), masq("10.255.0.4:80")),
                IpvsChange::AddDest(fwm(0x101), masq("10.255.0.5:80")),
            ]
        );
    }

    #[test]
    fn matching_kernel_needs_nothing() {
        let current = vec![(
            kernel_service(7, "rr"),
            vec![masq("10.0.0.2:8080"), masq("10.0.0.3:8080")],
        )];
        let desired = vec![(7, vec![(ip("10.0.0.3"), 8080), (ip("10.0.0.2"), 8080)])];
        assert_eq!(plan_fwmark_sync(&current, &desired), vec![]);
    }

    #[test]
    fn scale_change_adds_before_it_removes() {
        let current = vec![(
            kernel_service(7, "rr"),
            vec![masq("10.0.0.2:80"), masq("10.0.0.3:80")],
        )];
        let desired = vec![(7, vec![(ip("10.0.0.3"), 80), (ip("10.0.0.9"), 80)])];
        assert_eq!(
            plan_fwmark_sync(&current, &desired),
            vec![
                IpvsChange::AddDest(fwm(7), masq("10.0.0.9:80")),
                IpvsChange::DelDest(fwm(7), "10.0.0.2:80".parse().unwrap()),
            ]
        );
    }

    #[test]
    fn drifted_settings_are_repaired() {
        let mut drained = masq("10.0.0.2:80");
        drained.weight = 0;
        let current = vec![(kernel_service(7, "wlc"), vec![drained])];
        let desired = vec![(7, vec![(ip("10.0.0.2"), 80)])];
        assert_eq!(
            plan_fwmark_sync(&current, &desired),
            vec![
                IpvsChange::UpdateService(Service::new(fwm(7), "rr")),
                IpvsChange::UpdateDest(fwm(7), masq("10.0.0.2:80")),
            ]
        );
    }

    #[test]
    fn unwanted_fwmark_services_go_last_and_others_are_left_alone() {
        let tcp = ServiceId::Inet {
            protocol: Protocol::Tcp,
            addr: "10.1.0.1:80".parse().unwrap(),
        };
        let v6 = ServiceId::Fwmark {
            family: AddressFamily::Inet6,
            mark: 9,
        };
        let current = vec![
            (kernel_service(9, "rr"), vec![masq("10.0.0.2:80")]),
            (Service::new(tcp, "rr"), vec![]),
            (Service::new(v6, "rr"), vec![]),
        ];
        let desired = vec![(10, vec![(ip("10.0.0.2"), 80)])];
        assert_eq!(
            plan_fwmark_sync(&current, &desired),
            vec![
                IpvsChange::AddService(Service::new(fwm(10), "rr")),
                IpvsChange::AddDest(fwm(10), masq("10.0.0.2:80")),
                IpvsChange::DelService(fwm(9)),
            ]
        );
    }

    #[test]
    fn plans_are_grouped_in_non_decreasing_phases() {
        let current = vec![
            (
                kernel_service(1, "wlc"),
                vec![masq("10.0.0.2:80"), masq("10.0.0.3:80")],
            ),
            (kernel_service(2, "rr"), vec![]),
        ];
        let desired = vec![
            (1, vec![(ip("10.0.0.3"), 80), (ip("10.0.0.4"), 80)]),
            (3, vec![(ip("10.0.0.5"), 80)]),
        ];
        let plan = plan_fwmark_sync(&current, &desired);
        let phases: Vec<u8> = plan.iter().map(IpvsChange::phase).collect();
        assert_eq!(phases, vec![0, 0, 1, 1, 3, 4]);
    }

    #[test]
    fn duplicate_marks_merge_and_empty_backends_keep_the_service() {
        let desired = vec![
            (5, vec![(ip("10.0.0.2"), 80)]),
            (5, vec![(ip("10.0.0.2"), 80), (ip("10.0.0.3"), 80)]),
            (6, vec![]),
        ];
        let plan = plan_fwmark_sync(&[], &desired);
        assert_eq!(
            plan,
            vec![
                IpvsChange::AddService(Service::new(fwm(5), "rr")),
                IpvsChange::AddService(Service::new(fwm(6), "rr")),
                IpvsChange::AddDest(fwm(5), masq("10.0.0.2:80")),
                IpvsChange::AddDest(fwm(5), masq("10.0.0.3:80")),
            ]
        );
        // An empty desired state clears every mesh service.
        let current = vec![(kernel_service(5, "rr"), vec![masq("10.0.0.2:80")])];
        assert_eq!(
            plan_fwmark_sync(&current, &[]),
            vec![IpvsChange::DelService(fwm(5))]
        );
    }
}
