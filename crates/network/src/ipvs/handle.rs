//! The async IPVS client: one generic-netlink socket, bound to the network
//! namespace of the thread that called [`IpvsHandle::connect`].

use std::net::{Ipv4Addr, SocketAddr};

use futures::{stream, StreamExt, TryStreamExt};
use genetlink::GenetlinkHandle;
use netlink_packet_core::{NetlinkMessage, NetlinkPayload, NLM_F_ACK, NLM_F_DUMP, NLM_F_REQUEST};
use netlink_packet_generic::GenlMessage;
use nix::errno::Errno;

use super::dest::Destination;
use super::error::IpvsError;
use super::message::{IpvsAttr, IpvsCmd, IpvsMessage};
use super::service::{Service, ServiceId};
use super::sync::{plan_fwmark_sync, IpvsChange};

/// Requests kept in flight at once on the socket when many are independent
/// (bulk reconcile, snapshot): hides the per-request round trip without
/// flooding the socket's receive buffer with replies.
const PIPELINE: usize = 32;

/// A connection to the kernel's IPVS. Cheap to clone; clones share the
/// socket. Every call reads or writes the kernel directly: nothing is cached
/// but the family id, so reads are the truth (`ipvsadm -L -n`).
#[derive(Clone, Debug)]
pub struct IpvsHandle {
    /// Resolves the dynamic family id once and multiplexes requests.
    genl: GenetlinkHandle,
}

impl IpvsHandle {
    /// Opens the socket (its connection task runs on the current tokio
    /// runtime) and resolves the "IPVS" family.
    ///
    /// Returns [`IpvsError::Unsupported`] when the kernel has no IPVS, the
    /// one error on which `--mesh-backend auto` picks nftables instead.
    pub async fn connect() -> Result<Self, IpvsError> {
        let (connection, genl, _unsolicited) =
            genetlink::new_connection().map_err(IpvsError::Socket)?;
        tokio::spawn(connection);
        genl.resolve_family::<IpvsMessage>()
            .await
            .map_err(IpvsError::from_resolve)?;
        Ok(Self { genl })
    }

    /// Every virtual service of this network namespace, with counters.
    pub async fn list_services(&self) -> Result<Vec<Service>, IpvsError> {
        let op = "list services";
        let request = IpvsMessage {
            cmd: IpvsCmd::GetService,
            attrs: vec![],
        };
        let replies = self.request(op, request, NLM_F_DUMP).await?;
        replies
            .iter()
            .filter_map(IpvsMessage::service)
            .map(|attrs| {
                Service::from_attrs(attrs).map_err(|source| IpvsError::Decode { op, source })
            })
            .collect()
    }

    /// The destinations of one service.
    pub async fn list_dests(&self, service: &ServiceId) -> Result<Vec<Destination>, IpvsError> {
        let op = "list destinations";
        let request = IpvsMessage {
            cmd: IpvsCmd::GetDest,
            attrs: vec![IpvsAttr::Service(service.to_attrs())],
        };
        let replies = self.request(op, request, NLM_F_DUMP).await?;
        replies
            .iter()
            .filter_map(IpvsMessage::dest)
            .map(|attrs| {
                Destination::from_attrs(attrs, service.family())
                    .map_err(|source| IpvsError::Decode { op, source })
            })
            .collect()
    }

    /// Every service with its destinations, as the kernel has them now.
    /// The per-service destination dumps are pipelined on the socket.
    pub async fn snapshot(&self) -> Result<Vec<(Service, Vec<Destination>)>, IpvsError> {
        let services = self.list_services().await?;
        stream::iter(services)
            .map(|service| async move {
                let dests = self.list_dests(&service.id).await?;
                Ok((service, dests))
            })
            .buffered(PIPELINE)
            .try_collect()
            .await
    }

    /// Creates a service (EEXIST if it exists).
    pub async fn add_service(&self, service: &Service) -> Result<(), IpvsError> {
        self.write_service("add service", IpvsCmd::NewService, service)
            .await
    }

    /// Changes an existing service's scheduler, flags, timeout or netmask.
    pub async fn update_service(&self, service: &Service) -> Result<(), IpvsError> {
        self.write_service("update service", IpvsCmd::SetService, service)
            .await
    }

    /// Removes a service and, with it, all its destinations.
    pub async fn del_service(&self, service: &ServiceId) -> Result<(), IpvsError> {
        let request = IpvsMessage {
            cmd: IpvsCmd::DelService,
            attrs: vec![IpvsAttr::Service(service.to_attrs())],
        };
        self.command("delete service", request).await
    }

    /// Adds a destination to an existing service (EEXIST if present).
    pub async fn add_dest(&self, service: &ServiceId, dest: &Destination) -> Result<(), IpvsError> {
        self.write_dest("add destination", IpvsCmd::NewDest, service, dest)
            .await
    }

    /// Changes an existing destination's forwarding method, weight or thresholds.
    pub async fn update_dest(
        &self,
        service: &ServiceId,
        dest: &Destination,
    ) -> Result<(), IpvsError> {
        self.write_dest("update destination", IpvsCmd::SetDest, service, dest)
            .await
    }

    /// Removes one destination of a service.
    pub async fn del_dest(&self, service: &ServiceId, dest: SocketAddr) -> Result<(), IpvsError> {
        let request = IpvsMessage {
            cmd: IpvsCmd::DelDest,
            attrs: vec![
                IpvsAttr::Service(service.to_attrs()),
                IpvsAttr::Dest(Destination::key_attrs(dest)),
            ],
        };
        self.command("delete destination", request).await
    }

    /// Removes every service and destination of this network namespace.
    pub async fn flush(&self) -> Result<(), IpvsError> {
        let request = IpvsMessage {
            cmd: IpvsCmd::Flush,
            attrs: vec![],
        };
        self.command("flush", request).await
    }

    /// Makes the IPv4 fwmark services match `desired`: one `(mark, backends)`
    /// per published port, scheduler `rr`, MASQ destinations of weight 1.
    /// IPv4 fwmark services not in `desired` are deleted (swarmd owns the
    /// node's fwmark services); address-based and IPv6 services are left
    /// alone. New backends are added before stale ones are removed so a
    /// service never goes empty during a rolling change.
    ///
    /// Level-triggered and idempotent: it reads the kernel first, and races
    /// with another writer (EEXIST on add, ESRCH/ENOENT on delete) count as
    /// done. Returns the changes that were applied, for logging.
    pub async fn sync_fwmark_services(
        &self,
        desired: &[(u32, Vec<(Ipv4Addr, u16)>)],
    ) -> Result<Vec<IpvsChange>, IpvsError> {
        let current = self.snapshot().await?;
        let plan = plan_fwmark_sync(&current, desired);
        // The plan is ordered in phases (services, then new destinations...);
        // changes within a phase are independent, so they are pipelined.
        for phase in plan.chunk_by(|a, b| a.phase() == b.phase()) {
            stream::iter(phase)
                .map(|change| self.apply(change))
                .buffer_unordered(PIPELINE)
                .try_collect::<()>()
                .await?;
        }
        Ok(plan)
    }

    /// Applies one planned change; a race already settled by another writer
    /// counts as success.
    async fn apply(&self, change: &IpvsChange) -> Result<(), IpvsError> {
        let result = match change {
            IpvsChange::AddService(service) => self.add_service(service).await,
            IpvsChange::UpdateService(service) => self.update_service(service).await,
            IpvsChange::DelService(id) => self.del_service(id).await,
            IpvsChange::AddDest(id, dest) => self.add_dest(id, dest).await,
            IpvsChange::UpdateDest(id, dest) => self.update_dest(id, dest).await,
            IpvsChange::DelDest(id, addr) => self.del_dest(id, *addr).await,
        };
        match result {
            Err(err) if change.already_done(&err) => Ok(()),
            other => other,
        }
    }

    async fn write_service(
        &self,
        op: &'static str,
        cmd: IpvsCmd,
        service: &Service,
    ) -> Result<(), IpvsError> {
        let request = IpvsMessage {
            cmd,
            attrs: vec![IpvsAttr::Service(service.to_attrs())],
        };
        self.command(op, request).await
    }

    async fn write_dest(
        &self,
        op: &'static str,
        cmd: IpvsCmd,
        service: &ServiceId,
        dest: &Destination,
    ) -> Result<(), IpvsError> {
        let request = IpvsMessage {
            cmd,
            attrs: vec![
                IpvsAttr::Service(service.to_attrs()),
                IpvsAttr::Dest(dest.to_attrs()),
            ],
        };
        self.command(op, request).await
    }

    /// A write: succeeds only on the kernel's ACK.
    async fn command(&self, op: &'static str, request: IpvsMessage) -> Result<(), IpvsError> {
        self.request(op, request, NLM_F_ACK).await.map(drop)
    }

    /// Sends one request and collects the replies until the ACK or the end
    /// of the dump; a NACK becomes [`IpvsError::Kernel`] with its errno.
    async fn request(
        &self,
        op: &'static str,
        request: IpvsMessage,
        flags: u16,
    ) -> Result<Vec<IpvsMessage>, IpvsError> {
        let mut message = NetlinkMessage::from(GenlMessage::from_payload(request));
        message.header.flags = NLM_F_REQUEST | flags;
        // The genetlink handle needs `&mut`; clones share the socket.
        let mut genl = self.genl.clone();
        let mut replies = genl
            .request(message)
            .await
            .map_err(|source| IpvsError::Transport { op, source })?;
        let mut messages = Vec::new();
        while let Some(reply) = replies.next().await {
            let reply = reply.map_err(|source| IpvsError::Decode { op, source })?;
            match reply.payload {
                NetlinkPayload::InnerMessage(genl) => messages.push(genl.payload),
                NetlinkPayload::Error(err) if err.code.is_some() => {
                    return Err(IpvsError::Kernel {
                        op,
                        source: err.to_io(),
                    });
                }
                _ => {}
            }
        }
        Ok(messages)
    }
}

impl IpvsChange {
    /// Whether `err` means another writer already made this change.
    fn already_done(&self, err: &IpvsError) -> bool {
        let Some(errno) = err.errno() else {
            return false;
        };
        let errno = Errno::from_raw(errno);
        match self {
            Self::AddService(_) | Self::AddDest(..) => errno == Errno::EEXIST,
            Self::DelService(_) | Self::DelDest(..) => {
                matches!(errno, Errno::ESRCH | Errno::ENOENT)
            }
            Self::UpdateService(_) | Self::UpdateDest(..) => false,
        }
    }
}
