//! Issue 8 item 3, malformed control-API requests sent straight over gRPC (what swarmctl's own
//! parsing would stop before it reaches the manager): each is refused with the right code and a
//! message naming the field, and the services and nodes read back are unchanged.

use api::control::control_client::ControlClient;
use api::control::{
    CreateServiceRequest, ListNodesRequest, ListServicesRequest, RemoveNodeRequest,
    UpdateNodeRequest,
};
use api::objects::{
    service_spec::Mode, ContainerSpec, EndpointSpec, NodeSpec, Placement, PortConfig,
    ResourceRequirements, Resources, ServiceSpec, TaskSpec, UpdateConfig,
};
use integration::Cluster;
use tonic::transport::Channel;
use tonic::Code;

/// A valid spec: every case breaks exactly one thing in it.
fn valid(name: &str) -> ServiceSpec {
    ServiceSpec {
        name: name.to_string(),
        task: Some(TaskSpec {
            container: Some(ContainerSpec {
                image: "nginx".to_string(),
                ..Default::default()
            }),
            ..Default::default()
        }),
        mode: Some(Mode::Replicas(1)),
        ..Default::default()
    }
}

fn container(spec: &mut ServiceSpec) -> &mut ContainerSpec {
    spec.task
        .as_mut()
        .and_then(|t| t.container.as_mut())
        .expect("a container spec")
}

fn port(published: u32, target: u32, protocol: i32) -> EndpointSpec {
    EndpointSpec {
        ports: vec![PortConfig {
            protocol,
            target_port: target,
            published_port: published,
            publish_mode: 0,
        }],
        mode: 0,
    }
}

/// Bad service specs, each with the code and the words its refusal must carry.
fn bad_specs() -> Vec<(ServiceSpec, Code, Vec<&'static str>)> {
    let mut cases = Vec::new();
    let mut add = |edit: &dyn Fn(&mut ServiceSpec), code: Code, words: &[&'static str]| {
        let mut spec = valid("api-bad");
        edit(&mut spec);
        cases.push((spec, code, words.to_vec()));
    };
    add(
        &|s| s.endpoint = Some(port(70000, 80, 0)),
        Code::InvalidArgument,
        &["70000"],
    );
    add(
        &|s| s.endpoint = Some(port(8080, 0, 0)),
        Code::InvalidArgument,
        &["port"],
    );
    add(
        &|s| s.endpoint = Some(port(8080, 80, 7)),
        Code::InvalidArgument,
        &["protocol"],
    );
    add(
        &|s| s.mode = Some(Mode::Replicas(100_001)),
        Code::InvalidArgument,
        &["replicas", "100000"],
    );
    add(
        &|s| s.name = "x".repeat(300),
        Code::InvalidArgument,
        &["name"],
    );
    add(
        &|s| s.name = "web".to_string(),
        Code::AlreadyExists,
        &["web"],
    );
    add(
        &|s| container(s).image.clear(),
        Code::InvalidArgument,
        &["image"],
    );
    add(&|s| s.task = None, Code::InvalidArgument, &["task"]);
    add(
        &|s| {
            s.task.as_mut().expect("task").placement = Some(Placement {
                constraints: vec!["node.colour==red".to_string()],
                ..Default::default()
            })
        },
        Code::InvalidArgument,
        &["node.colour"],
    );
    add(
        &|s| {
            s.task.as_mut().expect("task").resources = Some(ResourceRequirements {
                reservations: Some(Resources {
                    nano_cpus: -1,
                    memory_bytes: 0,
                }),
                ..Default::default()
            })
        },
        Code::InvalidArgument,
        &["cpu"],
    );
    add(
        &|s| {
            s.update = Some(UpdateConfig {
                max_failure_ratio: 5.0,
                ..Default::default()
            })
        },
        Code::InvalidArgument,
        &["ratio"],
    );
    add(
        &|s| container(s).stop_grace_period_ms = u64::MAX,
        Code::InvalidArgument,
        &["grace"],
    );
    cases
}

/// Service names and node hostnames as the manager lists them.
async fn state(client: &mut ControlClient<Channel>) -> (Vec<String>, Vec<String>) {
    let services = client
        .list_services(ListServicesRequest::default())
        .await
        .expect("list services")
        .into_inner();
    let nodes = client
        .list_nodes(ListNodesRequest::default())
        .await
        .expect("list nodes")
        .into_inner();
    let mut services: Vec<String> = services
        .services
        .iter()
        .map(|s| {
            s.spec
                .as_ref()
                .map(|spec| spec.name.clone())
                .unwrap_or_default()
        })
        .collect();
    services.sort();
    let mut nodes: Vec<String> = nodes
        .nodes
        .iter()
        .map(|n| {
            n.description
                .as_ref()
                .map(|d| d.hostname.clone())
                .unwrap_or_default()
        })
        .collect();
    nodes.sort();
    (services, nodes)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_api_requests_are_refused_by_field_and_change_nothing() {
    let mut cluster = Cluster::start(1, 0);
    cluster.create_service("web", &["nginx"]);
    // The local control socket: TCP needs a client certificate since mutual TLS.
    let socket = cluster.nodes[0].socket();
    let channel = tonic::transport::Endpoint::from_static("http://swarmd.sock")
        .connect_with_connector(tower::service_fn(move |_| {
            let socket = socket.clone();
            async move {
                let stream = tokio::net::UnixStream::connect(socket).await?;
                Ok::<_, std::io::Error>(hyper_util::rt::TokioIo::new(stream))
            }
        }))
        .await
        .expect("connect to m1's control socket");
    let mut client = ControlClient::new(channel).max_encoding_message_size(512 << 20);
    let before = state(&mut client).await;
    assert_eq!(before.0.len(), 1, "{before:?}");

    let mut failures = Vec::new();
    let mut check =
        |what: String, result: Result<(), tonic::Status>, code, words: &[&str]| match result {
            Ok(()) => failures.push(format!("ACCEPTED: {what}")),
            Err(status) => {
                let message = status.message().to_lowercase();
                let missing: Vec<&&str> = words
                    .iter()
                    .filter(|w| !message.contains(&w.to_lowercase()))
                    .collect();
                if status.code() != code || !missing.is_empty() {
                    failures.push(format!(
                        "{what}: got {:?} `{}`, want {code:?} naming {words:?}",
                        status.code(),
                        status.message()
                    ));
                }
            }
        };

    for (spec, code, words) in bad_specs() {
        let what = format!("CreateService breaking {words:?}");
        let result = client
            .create_service(CreateServiceRequest { spec: Some(spec) })
            .await;
        check(what, result.map(|_| ()), code, &words);
    }
    // Oversized: 200 environment variables of 1 MB each (200 MB in one request).
    let mut huge = valid("api-huge");
    container(&mut huge).env = (0..200)
        .map(|i| format!("K{i}={}", "x".repeat(1 << 20)))
        .collect();
    let result = client
        .create_service(CreateServiceRequest { spec: Some(huge) })
        .await;
    let oversized = result.as_ref().err().map(|s| s.code());
    check(
        "CreateService with 200 MB of env".to_string(),
        result.map(|_| ()),
        oversized.unwrap_or(Code::Ok),
        &["large"],
    );
    assert!(
        matches!(
            oversized,
            Some(Code::OutOfRange | Code::ResourceExhausted | Code::InvalidArgument)
        ),
        "a 200 MB spec got {oversized:?}"
    );
    let result = client
        .update_node(UpdateNodeRequest {
            id: "nosuchnode".to_string(),
            version: 0,
            spec: Some(NodeSpec::default()),
        })
        .await;
    check(
        "UpdateNode nosuchnode".into(),
        result.map(|_| ()),
        Code::NotFound,
        &["nosuchnode"],
    );
    let result = client
        .remove_node(RemoveNodeRequest {
            id: "nosuchnode".to_string(),
            force: true,
        })
        .await;
    check(
        "RemoveNode nosuchnode".into(),
        result.map(|_| ()),
        Code::NotFound,
        &["nosuchnode"],
    );

    let after = state(&mut client).await;
    if after != before {
        failures.push(format!("STATE CHANGED: {before:?} → {after:?}"));
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}
