//! The managers' Control API over gRPC (TCP or the unix control socket): what swarmctl does,
//! without a process per call, so that timings measure swarmd and not process start-up.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use api::control::control_client::ControlClient;
use api::control::{CreateServiceRequest, ListNodesRequest, ListTasksRequest};
use api::objects::{
    service_spec::Mode, ContainerSpec, EndpointSpec, PortConfig, ServiceSpec, TaskSpec, TaskState,
};
use hyper_util::rt::TokioIo;
use tonic::transport::{Channel, Endpoint, Uri};

pub type Control = ControlClient<Channel>;

/// A manager's control API on its unix socket.
pub async fn connect_socket(path: PathBuf) -> Result<Control> {
    let shown = path.display().to_string();
    let channel = Endpoint::from_static("http://swarmd.sock")
        .timeout(Duration::from_secs(10))
        .connect_with_connector(tower::service_fn(move |_: Uri| {
            let path = path.clone();
            async move {
                let stream = tokio::net::UnixStream::connect(path).await?;
                Ok::<_, std::io::Error>(TokioIo::new(stream))
            }
        }))
        .await
        .with_context(|| format!("connecting to {shown}"))?;
    Ok(ControlClient::new(channel))
}

/// A replicated service spec: `image`, `replicas`, optionally one ingress port and
/// constraints.
pub fn service_spec(
    name: &str,
    image: &str,
    replicas: u64,
    publish: Option<(u32, u32)>,
    constraints: &[&str],
) -> ServiceSpec {
    let mut task = TaskSpec {
        container: Some(ContainerSpec {
            image: image.to_string(),
            ..Default::default()
        }),
        ..Default::default()
    };
    if !constraints.is_empty() {
        task.placement = Some(api::objects::Placement {
            constraints: constraints.iter().map(|c| c.to_string()).collect(),
            ..Default::default()
        });
    }
    ServiceSpec {
        name: name.to_string(),
        task: Some(task),
        mode: Some(Mode::Replicas(replicas)),
        endpoint: publish.map(|(published, target)| EndpointSpec {
            mode: 0,
            ports: vec![PortConfig {
                published_port: published,
                target_port: target,
                ..Default::default()
            }],
        }),
        ..Default::default()
    }
}

/// Creates a service; returns its ID once the write is committed.
pub async fn create(control: &mut Control, spec: ServiceSpec) -> Result<String> {
    let service = control
        .create_service(CreateServiceRequest { spec: Some(spec) })
        .await?
        .into_inner();
    Ok(service.id)
}

/// Tasks of `service` whose desired state is RUNNING, whatever state they reached.
pub async fn desired(control: &mut Control, service: &str) -> Result<Vec<api::objects::Task>> {
    Ok(control
        .list_tasks(ListTasksRequest {
            service_ids: vec![service.to_string()],
            node_ids: vec![],
            desired_running_only: true,
        })
        .await?
        .into_inner()
        .tasks)
}

/// Tasks of `service` that are desired and actually RUNNING, as the manager sees them.
pub async fn running(control: &mut Control, service: &str) -> Result<Vec<api::objects::Task>> {
    let tasks = desired(control, service).await?;
    Ok(tasks
        .into_iter()
        .filter(|t| {
            t.status
                .as_ref()
                .is_some_and(|s| s.state == TaskState::Running as i32)
        })
        .collect())
}

/// Polls every `every` until `want` tasks of `service` run; the time it took from `since`.
pub async fn wait_running(
    control: &mut Control,
    service: &str,
    want: usize,
    since: Instant,
    every: Duration,
    limit: Duration,
) -> Result<Duration> {
    loop {
        let n = running(control, service).await.map_or(0, |t| t.len());
        if n >= want {
            return Ok(since.elapsed());
        }
        if since.elapsed() > limit {
            bail!("{service}: {n}/{want} running after {limit:?}");
        }
        tokio::time::sleep(every).await;
    }
}

/// Hostnames of the nodes the manager lists as Ready.
pub async fn ready_nodes(control: &mut Control) -> Result<usize> {
    let nodes = control
        .list_nodes(ListNodesRequest {})
        .await?
        .into_inner()
        .nodes;
    Ok(nodes
        .iter()
        .filter(|n| {
            n.status
                .as_ref()
                .is_some_and(|s| s.state == api::objects::NodeState::Ready as i32)
        })
        .count())
}
