//! `Dataplane`: the node's network module as the agent sees it. It turns each `NetworkView`
//! into the overlay and the mesh (level-triggered, idempotent, cheap when nothing changed),
//! plugs tasks in and out (ingress, user networks, the gateway bridge), and reads the mesh
//! back from the kernel.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use rtnetlink::Handle;
use tokio::sync::Mutex;
use tracing::{info, warn};
use types::{MeshBackendKind, MeshService, MeshTable, NetworkView, PublishMode};

use crate::capabilities::{self, Capabilities};
use crate::config::{DataplaneConfig, MeshChoice};
use crate::error::{DataplaneError, Result};
use crate::gateway::{self, Gateway};
use crate::ipvs::{IpvsError, IpvsHandle};
use crate::links;
use crate::mac::MacAddr;
use crate::mesh::nft_render::IngressMode;
use crate::mesh::{IpvsMesh, MeshBackend, NftMesh};
use crate::netns;
use crate::overlay::{Overlay, OverlayLinks};
use crate::plan::{self, IngressPlan, OverlayPlan};
use crate::plumbing::{self, ContainerSide, VethNames};
use crate::sysctl;
use crate::user_networks::{self, Attachment, UserNetworks};
use crate::user_plan;
use crate::vip::VipTables;

pub struct Dataplane {
    config: DataplaneConfig,
    /// rtnetlink connection bound to the namespace `new` ran in.
    handle: Handle,
    overlay: Overlay,
    mesh: MeshBackend,
    caps: Capabilities,
    /// Missing capabilities and fallbacks, for `node inspect`.
    warnings: Vec<String>,
    /// One reconcile at a time; attach/detach need the overlay applied first.
    state: Mutex<State>,
}

struct State {
    /// What the last successful `apply` configured; `None` until the view has an ingress IP
    /// for this node.
    ingress: Option<IngressPlan>,
    links: Option<OverlayLinks>,
    /// Skip the kernel when the next view asks for exactly this again.
    applied_overlay: Option<OverlayPlan>,
    /// Tasks plugged in by this process: their ingress pair, then one per user network.
    tasks: BTreeMap<String, Vec<VethNames>>,
    user: UserNetworks,
    /// The user networks of the last view applied, for tasks plugged in after it.
    overlays: Vec<types::OverlayView>,
    vips: VipTables,
    sysctls_set: bool,
    /// The egress of tasks not on ingress, and where host-mode ports reach them.
    gateway: Gateway,
    /// The published services of the last view applied, to program the mesh again when a
    /// local host-mode task gets its gateway address.
    mesh_services: Vec<MeshService>,
}

impl State {
    fn new(config: &DataplaneConfig) -> State {
        State {
            ingress: None,
            links: None,
            applied_overlay: None,
            tasks: BTreeMap::new(),
            user: UserNetworks::default(),
            overlays: Vec::new(),
            vips: VipTables::default(),
            sysctls_set: false,
            gateway: Gateway::new(config.gateway_subnet),
            mesh_services: Vec::new(),
        }
    }
}

/// What the data plane needs to decide whether, and how, a task goes on the gateway bridge.
pub struct GatewayRequest<'a> {
    pub task_id: &'a str,
    /// Its interface there is `eth{index}`: after its ingress and user-network ones.
    pub index: usize,
    pub on_ingress: bool,
    pub host_ports: bool,
    /// Its user networks (their `--internal` flags are in the view).
    pub networks: Vec<&'a str>,
}

impl Dataplane {
    /// Probes the kernel and picks the mesh backend. Must run inside a tokio runtime, in
    /// the network namespace the data plane is to manage.
    pub async fn new(config: DataplaneConfig) -> Result<Dataplane> {
        config.validate()?;
        let handle = netns::connect()?;
        // The IPVS family resolves only when the kernel has IPVS; the probe's connection is
        // the one the IPVS backend then uses (it is bound to this namespace).
        let (ipvs, ipvs_warning) = match IpvsHandle::connect().await {
            Ok(h) => (Some(h), None),
            Err(IpvsError::Unsupported) => (None, None),
            Err(e) => (None, Some(format!("IPVS probe failed: {e}"))),
        };
        let (caps, mut warnings) = capabilities::detect(&handle, ipvs.is_some()).await;
        warnings.extend(ipvs_warning);
        let nftables = || MeshBackend::Nftables(NftMesh::new(IngressMode::Dnat));
        let mesh = match (config.mesh_backend, ipvs) {
            (MeshChoice::Nftables, _) => nftables(),
            (MeshChoice::Auto | MeshChoice::Ipvs, Some(h)) => MeshBackend::Ipvs(IpvsMesh::new(h)),
            (MeshChoice::Auto, None) => nftables(),
            (MeshChoice::Ipvs, None) => {
                let w = "mesh backend ipvs requested but this kernel has no IPVS: using nftables"
                    .to_string();
                warn!("{w}");
                warnings.push(w);
                nftables()
            }
        };
        info!(backend = %mesh.kind(), requested = ?config.mesh_backend, "routing mesh backend chosen");
        Ok(Dataplane::assemble(config, handle, mesh, caps, warnings))
    }

    /// A data plane with a given mesh backend (e.g. `MeshBackend::Recording`) and no probing.
    pub fn with_mesh(config: DataplaneConfig, mesh: MeshBackend) -> Result<Dataplane> {
        config.validate()?;
        let handle = netns::connect()?;
        let caps = Capabilities {
            vxlan: true,
            nftables: true,
            ipvs: false,
        };
        Ok(Dataplane::assemble(config, handle, mesh, caps, Vec::new()))
    }

    fn assemble(
        config: DataplaneConfig,
        handle: Handle,
        mesh: MeshBackend,
        caps: Capabilities,
        warnings: Vec<String>,
    ) -> Dataplane {
        let overlay = Overlay::new(
            handle.clone(),
            config.bridge_name.clone(),
            config.vxlan_prefix.clone(),
            config.underlay_addr,
            config.underlay_dev.clone(),
        );
        Dataplane {
            handle,
            overlay,
            mesh,
            caps,
            warnings,
            state: Mutex::new(State::new(&config)),
            config,
        }
    }

    pub fn backend(&self) -> MeshBackendKind {
        self.mesh.kind()
    }

    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    pub fn capabilities(&self) -> Capabilities {
        self.caps
    }

    /// Reconciles overlay and mesh with the view. Idempotent; when the view asks for what
    /// was last applied, the kernel is not touched.
    pub async fn apply(&self, view: &NetworkView) -> Result<()> {
        let mut state = self.state.lock().await;
        self.apply_locked(&mut state, view, false).await
    }

    /// Like `apply`, but re-reads and rewrites the kernel even if the view is unchanged:
    /// for the periodic resync that repairs changes made behind our back.
    pub async fn resync(&self, view: &NetworkView) -> Result<()> {
        let mut state = self.state.lock().await;
        state.applied_overlay = None;
        self.mesh.forget().await;
        self.apply_locked(&mut state, view, true).await
    }

    async fn apply_locked(&self, state: &mut State, view: &NetworkView, force: bool) -> Result<()> {
        let Some(overlay) = plan::overlay_plan(view, &self.config.node_id)? else {
            // The allocator has not given this node an ingress IP yet: nothing to build.
            return Ok(());
        };
        if !self.caps.vxlan {
            return Err(DataplaneError::Unsupported("VXLAN".into()));
        }
        if state.applied_overlay.as_ref() != Some(&overlay) {
            let links = self.overlay.reconcile(&overlay).await?;
            state.links = Some(links);
            state.ingress = Some(overlay.ingress.clone());
            state.applied_overlay = Some(overlay.clone());
        }
        if !state.sysctls_set {
            sysctl::ensure(sysctl::IP_FORWARD, "1")?;
            sysctl::ensure(sysctl::ROUTE_LOCALNET, "1")?;
            state.sysctls_set = true;
        }
        if !self.caps.nftables && !matches!(self.mesh, MeshBackend::Recording(_)) {
            return Err(DataplaneError::Unsupported("nftables (`nft`)".into()));
        }
        if force {
            state.gateway.repair(&self.handle, &self.config).await?;
        }
        state.mesh_services = view.services.clone();
        self.program_mesh(state).await?;
        let user = user_plan::user_network_plans(view, &self.config.node_id)?;
        state
            .user
            .reconcile(&self.handle, &self.config, user, force)
            .await?;
        state.overlays = view.overlays.clone();
        state
            .vips
            .sync(&state.overlays, Some(overlay.ingress.subnet), force)
            .await
    }

    async fn program_mesh(&self, state: &State) -> Result<()> {
        let Some(ingress) = &state.ingress else {
            return Ok(());
        };
        let mesh = plan::mesh_plan(
            &state.mesh_services,
            &self.config.node_id,
            &self.config.bridge_name,
            ingress.subnet,
            state.gateway.addresses(),
        )?;
        self.mesh.program(&mesh).await.map(|_| ())
    }

    /// Plugs a task's container (any process in its netns: `pid`) into the ingress network.
    pub async fn attach_task(
        &self,
        task_id: &str,
        pid: u32,
        addr: Ipv4Addr,
        mac: MacAddr,
    ) -> Result<()> {
        let mut state = self.state.lock().await;
        let (Some(ingress), Some(links)) = (state.ingress.clone(), state.links) else {
            return Err(DataplaneError::NotReady(format!(
                "task {task_id}: no ingress network applied on this node"
            )));
        };
        if !ingress.subnet.contains(&addr) {
            return Err(DataplaneError::InvalidInput(format!(
                "task {task_id}: {addr} is outside the ingress subnet {}",
                ingress.subnet
            )));
        }
        let names = VethNames::for_task(&self.config.veth_prefix, task_id);
        let side = ContainerSide {
            pid,
            addr,
            prefix: ingress.subnet.prefix_len(),
            mac,
            mtu: ingress.mtu,
            gateway: Some(ingress.local_addr),
            ifname: "eth0".into(),
        };
        plumbing::attach(&self.handle, links.bridge, &names, side, None).await?;
        info!(task = task_id, %addr, pid, veth = %names.host, "task attached");
        state.tasks.insert(task_id.to_string(), vec![names]);
        Ok(())
    }

    /// Plugs an attached task into one of its user networks; `NotReady` until the view that
    /// puts the task on it has been applied here.
    pub async fn attach_to_network(&self, a: &Attachment<'_>, pid: u32) -> Result<()> {
        let mut state = self.state.lock().await;
        let names = state
            .user
            .attach(&self.handle, &self.config, a, pid)
            .await?;
        info!(task = a.task_id, network = a.network_id, addr = %a.addr, veth = %names.host, "task attached to a user network");
        let pairs = state.tasks.entry(a.task_id.to_string()).or_default();
        if !pairs.contains(&names) {
            pairs.push(names);
        }
        state.vips.add(a.task_id, pid, a.network_id);
        let State {
            vips,
            overlays,
            ingress,
            ..
        } = &mut *state;
        let subnet = ingress.as_ref().map(|i| i.subnet);
        vips.sync(overlays, subnet, false).await
    }

    /// Plugs a task into the gateway bridge when it needs one (see
    /// [`gateway::needs_gateway`]); `NotReady` until the view that puts it on its user
    /// networks has been applied here. Idempotent.
    pub async fn attach_gateway(&self, r: &GatewayRequest<'_>, pid: u32) -> Result<()> {
        let mut state = self.state.lock().await;
        let mut internal = Vec::new();
        for id in &r.networks {
            let o = state.overlays.iter().find(|o| o.network.id == *id);
            let o = o.ok_or_else(|| {
                DataplaneError::NotReady(format!(
                    "task {}: network {id} is not in this node's view yet",
                    r.task_id
                ))
            })?;
            internal.push(o.network.spec.internal);
        }
        if !gateway::needs_gateway(r.on_ingress, r.host_ports, &internal) {
            return Ok(());
        }
        let State { gateway, tasks, .. } = &mut *state;
        let names = gateway
            .attach(&self.handle, &self.config, r.task_id, pid, r.index)
            .await?;
        let addr = gateway.addresses().get(r.task_id).copied();
        info!(task = r.task_id, addr = ?addr, veth = %names.host, "task attached to the gateway bridge");
        let pairs = tasks.entry(r.task_id.to_string()).or_default();
        if !pairs.contains(&names) {
            pairs.push(names);
        }
        let host_backend = state.mesh_services.iter().any(|s| {
            s.ports.iter().any(|p| p.publish_mode == PublishMode::Host)
                && s.backends.iter().any(|b| b.task_id == r.task_id)
        });
        if host_backend {
            self.program_mesh(&state).await?;
        }
        Ok(())
    }

    /// Unplugs a task; a task never attached (or already gone) is not an error.
    pub async fn detach_task(&self, task_id: &str) -> Result<()> {
        let mut state = self.state.lock().await;
        state.vips.remove(task_id);
        state.gateway.release(&self.config, task_id);
        let prefix = &self.config.veth_prefix;
        let pairs = state.tasks.remove(task_id).unwrap_or_else(|| {
            vec![
                VethNames::for_task(prefix, task_id),
                VethNames::for_gateway(prefix, task_id),
            ]
        });
        for names in &pairs {
            plumbing::detach(&self.handle, names).await?;
        }
        Ok(())
    }

    /// The live routing-mesh table, read from the kernel.
    pub async fn mesh_table(&self) -> Result<MeshTable> {
        self.mesh.table().await
    }

    /// Removes everything this data plane created: mesh table, task veths, VXLAN, bridge.
    /// Best effort: every step runs even if an earlier one failed (say, `nft` is missing),
    /// and the first error is returned.
    pub async fn teardown(&self) -> Result<()> {
        let mut state = self.state.lock().await;
        let mut first = None;
        note(&mut first, self.mesh.remove().await);
        for names in std::mem::take(&mut state.tasks).values().flatten() {
            note(&mut first, plumbing::detach(&self.handle, names).await);
        }
        note(
            &mut first,
            user_networks::sweep(&self.handle, &self.config, |_| true).await,
        );
        note(
            &mut first,
            state.gateway.teardown(&self.handle, &self.config).await,
        );
        // Veths of tasks attached before a restart are still enslaved to the bridge, and so
        // is the VXLAN device even when this process never learned its VNI.
        match links::by_name(&self.handle, &self.config.bridge_name).await {
            Ok(Some(bridge)) => match links::ports_of(&self.handle, bridge.header.index).await {
                Ok(ports) => {
                    for port in ports {
                        note(&mut first, links::delete(&self.handle, &port).await);
                    }
                }
                Err(e) => note(&mut first, Err(e)),
            },
            Ok(None) => {}
            Err(e) => note(&mut first, Err(e)),
        }
        let vni = state.ingress.as_ref().map(|i| i.vni);
        note(&mut first, self.overlay.teardown(vni).await);
        *state = State::new(&self.config);
        match first {
            None => {
                info!("data plane torn down");
                Ok(())
            }
            Some(e) => Err(e),
        }
    }
}

/// Keeps the first error of a best-effort sequence, logging every one.
fn note(first: &mut Option<DataplaneError>, result: Result<()>) {
    if let Err(e) = result {
        warn!("teardown: {e}");
        first.get_or_insert(e);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn assert_send_sync<T: Send + Sync>() {}

    /// What the agent does: share one data plane between tasks on a multi-threaded runtime.
    fn spawn_all(dp: Arc<Dataplane>, view: NetworkView) {
        tokio::spawn(async move {
            dp.apply(&view).await?;
            dp.resync(&view).await?;
            dp.attach_task("t", 1, Ipv4Addr::LOCALHOST, MacAddr::ZERO)
                .await?;
            dp.detach_task("t").await?;
            dp.mesh_table().await?;
            dp.teardown().await
        });
    }

    #[test]
    fn dataplane_and_its_futures_are_send() {
        assert_send_sync::<Dataplane>();
        // Type-checked only: building a Dataplane needs a kernel.
        let _ = spawn_all as fn(Arc<Dataplane>, NetworkView);
    }
}
