//! `/_ping`, `/version`, `/info`, `/swarm` and the swarm lifecycle routes, and
//! `/distribution` (image digests: there is no registry to ask).

use std::collections::HashMap;

use api::control as pc;
use api::control::control_server::Control;
use api::objects as pb;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use bollard::models::{
    LocalNodeState, PeerNode, SwarmInfo, SwarmSpec, SystemInfo, SystemVersion,
    SystemVersionComponents, SystemVersionPlatform,
};
use tonic::Request;

use crate::body::DockerJson;
use crate::convert::cluster::{cluster_info, swarm, swarm_spec};
use crate::error::EngineError;
use crate::params::{flag, Params};
use crate::version::{DAEMON, MAX, MIN};
use crate::Shared;

/// `HEAD|GET /_ping`: `OK`, and the `Swarm` header that makes the CLI show its swarm commands.
pub async fn ping(State(engine): State<Shared>) -> Response {
    let role = if engine.is_manager() {
        "manager"
    } else {
        "worker"
    };
    let mut headers = HeaderMap::new();
    for (name, value) in [
        (
            header::CONTENT_TYPE,
            "text/plain; charset=utf-8".to_string(),
        ),
        (
            header::CACHE_CONTROL,
            "no-cache, no-store, must-revalidate".to_string(),
        ),
        (header::PRAGMA, "no-cache".to_string()),
        (
            header::HeaderName::from_static("swarm"),
            format!("active/{role}"),
        ),
    ] {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(name, value);
        }
    }
    (StatusCode::OK, headers, "OK").into_response()
}

fn kernel_version() -> String {
    std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

/// `GET /version`: swarmd's own version, one `Engine` component as the CLI expects.
pub async fn version() -> Json<SystemVersion> {
    let details = HashMap::from([
        ("ApiVersion".to_string(), MAX.to_string()),
        ("MinAPIVersion".to_string(), MIN.to_string()),
        ("Os".to_string(), "linux".to_string()),
        ("Arch".to_string(), std::env::consts::ARCH.to_string()),
        ("KernelVersion".to_string(), kernel_version()),
        ("Experimental".to_string(), "false".to_string()),
    ]);
    Json(SystemVersion {
        platform: Some(SystemVersionPlatform {
            name: "swarmd".to_string(),
        }),
        components: Some(vec![SystemVersionComponents {
            name: "Engine".to_string(),
            version: DAEMON.to_string(),
            details: Some(details),
        }]),
        version: Some(DAEMON.to_string()),
        api_version: Some(MAX.to_string()),
        min_api_version: Some(MIN.to_string()),
        git_commit: Some(String::new()),
        go_version: Some(String::new()),
        os: Some("linux".to_string()),
        arch: Some(std::env::consts::ARCH.to_string()),
        kernel_version: Some(kernel_version()),
        experimental: Some(false),
        build_time: Some(String::new()),
    })
}

/// `GET /info`: the node and, on managers, the cluster (`node ls` reads `Swarm.NodeID` for its
/// `*`; `stack deploy` refuses without `ControlAvailable`).
pub async fn info(State(engine): State<Shared>) -> Result<Json<SystemInfo>, EngineError> {
    let mut swarm = SwarmInfo {
        node_id: Some(engine.node_id().to_string()),
        local_node_state: Some(LocalNodeState::ACTIVE),
        control_available: Some(engine.is_manager()),
        error: Some(String::new()),
        ..Default::default()
    };
    let mut info = SystemInfo {
        id: Some(engine.node_id().to_string()),
        server_version: Some(DAEMON.to_string()),
        operating_system: Some("linux".to_string()),
        os_type: Some("linux".to_string()),
        architecture: Some(std::env::consts::ARCH.to_string()),
        kernel_version: Some(kernel_version()),
        ..Default::default()
    };
    if let Ok(control) = engine.control() {
        let nodes = control
            .list_nodes(Request::new(pc::ListNodesRequest {}))
            .await?
            .into_inner()
            .nodes;
        let cluster = control
            .get_cluster(Request::new(pc::GetClusterRequest {}))
            .await?
            .into_inner();
        let managers: Vec<&pb::Node> = nodes
            .iter()
            .filter(|n| n.manager_status.is_some())
            .collect();
        swarm.nodes = i64::try_from(nodes.len()).ok();
        swarm.managers = i64::try_from(managers.len()).ok();
        swarm.remote_managers = Some(
            managers
                .iter()
                .map(|n| PeerNode {
                    node_id: Some(n.id.clone()),
                    addr: n.manager_status.as_ref().map(|m| m.addr.clone()),
                })
                .collect(),
        );
        swarm.cluster = Some(cluster_info(&cluster));
        if let Some(me) = nodes.iter().find(|n| n.id == engine.node_id()) {
            let description = me.description.clone().unwrap_or_default();
            let resources = description.resources.unwrap_or_default();
            swarm.node_addr = me.status.as_ref().map(|s| s.addr.clone());
            info.name = Some(description.hostname);
            info.ncpu = Some(resources.nano_cpus / 1_000_000_000);
            info.mem_total = Some(resources.memory_bytes);
            info.warnings = Some(description.warnings);
        }
    }
    info.swarm = Some(swarm);
    Ok(Json(info))
}

/// `GET /swarm`: the cluster and its join tokens (`swarm join-token`).
pub async fn swarm_inspect(
    State(engine): State<Shared>,
) -> Result<Json<bollard::models::Swarm>, EngineError> {
    let cluster = engine
        .control()?
        .get_cluster(Request::new(pc::GetClusterRequest {}))
        .await?
        .into_inner();
    Ok(Json(swarm(&cluster)))
}

/// `POST /swarm/update`: join-token rotation. The spec must come back as `GET /swarm` gave
/// it: swarmd sets these at `swarmd` start (flags), not at run time.
pub async fn swarm_update(
    State(engine): State<Shared>,
    params: Params,
    DockerJson(spec): DockerJson<SwarmSpec>,
) -> Result<StatusCode, EngineError> {
    let control = engine.control()?;
    let cluster = control
        .get_cluster(Request::new(pc::GetClusterRequest {}))
        .await?
        .into_inner();
    let current = swarm_spec(&cluster.spec.clone().unwrap_or_default());
    if let Some(field) = changed_field(&spec, &current) {
        return Err(EngineError::bad_request(format!(
            "Spec.{field}: swarmd sets it when the cluster is created (swarmd flags) and cannot \
             change it at run time; send the spec as GET /swarm returns it"
        )));
    }
    let worker = flag(&params, "rotateWorkerToken");
    let manager = flag(&params, "rotateManagerToken");
    if flag(&params, "rotateManagerUnlockKey") {
        return Err(crate::convert::unsupported(
            "rotateManagerUnlockKey (autolock)",
        ));
    }
    if worker || manager {
        control
            .rotate_join_token(Request::new(pc::RotateJoinTokenRequest { worker, manager }))
            .await?;
    }
    Ok(StatusCode::OK)
}

/// The first setting swarmd owns that `sent` changes (absent or zero means unchanged, as Go
/// clients send zero values for what they do not set).
fn changed_field(sent: &SwarmSpec, current: &SwarmSpec) -> Option<&'static str> {
    fn changed<T: PartialEq + Default>(sent: Option<T>, current: Option<T>) -> bool {
        sent.is_some_and(|s| s != T::default() && Some(s) != current)
    }
    let history = |s: &SwarmSpec| {
        s.orchestration
            .as_ref()
            .and_then(|o| o.task_history_retention_limit)
    };
    let heartbeat = |s: &SwarmSpec| s.dispatcher.as_ref().and_then(|d| d.heartbeat_period);
    let expiry = |s: &SwarmSpec| s.ca_config.as_ref().and_then(|c| c.node_cert_expiry);
    let autolock = |s: &SwarmSpec| {
        s.encryption_config
            .as_ref()
            .and_then(|e| e.auto_lock_managers)
    };
    let labels = sent.labels.as_ref().is_some_and(|l| !l.is_empty());
    [
        ("Labels", labels),
        (
            "Orchestration.TaskHistoryRetentionLimit",
            changed(history(sent), history(current)),
        ),
        (
            "Dispatcher.HeartbeatPeriod",
            changed(heartbeat(sent), heartbeat(current)),
        ),
        (
            "CAConfig.NodeCertExpiry",
            changed(expiry(sent), expiry(current)),
        ),
        (
            "EncryptionConfig.AutoLockManagers",
            changed(autolock(sent), autolock(current)),
        ),
    ]
    .into_iter()
    .find_map(|(name, changed)| changed.then_some(name))
}

/// `POST /swarm/init|join`: every swarmd node is in a swarm from its first start.
pub async fn already_in_swarm() -> EngineError {
    EngineError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "This node is already part of a swarm. Use \"docker swarm leave\" to leave this swarm \
         and join another one.",
    )
}

/// `POST /swarm/leave`: a swarmd node leaves by stopping; the cluster forgets it on `node rm`.
pub async fn leave() -> EngineError {
    EngineError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "swarmd leaves a swarm by stopping the daemon and clearing its --state-dir; then run \
         `docker node rm NODE` on a manager",
    )
}

/// `GET /distribution/{name}/json`: there is no registry to ask for a digest. The CLI warns
/// that the image is not pinned and sends the tag as given, which is what swarmd runs.
pub async fn distribution() -> EngineError {
    EngineError::not_found(
        "swarmd does not query registries: images are not pinned to a digest, each node runs \
         the tag as given from its own engine",
    )
}
