//! Services: validation refuses before writing; create, update, rollback, remove, list tasks.

use api::control as pc;
use api::control::control_server::Control;
use store::{Object, StoreError};
use tonic::{Code, Request};
use types::{
    NodeRole, NodeState, PortConfig, ServiceMode, Task, TaskState, TaskStatus, UpdateState,
};

use super::{api_over, assert_status, create, node, spec, store_with};

fn port(target: u32, published: u32) -> PortConfig {
    PortConfig {
        target_port: target,
        published_port: published,
        ..Default::default()
    }
}

#[tokio::test]
async fn invalid_specs_are_refused_naming_the_field_and_change_nothing() {
    let store = store_with(vec![]).await;
    let api = api_over(&store);
    let mut taken = spec("taken");
    taken.endpoint.ports = vec![port(80, 8080)];
    create(&api, taken).await.unwrap();
    let before = store.view(|t| t.clone());

    let mut cases: Vec<(types::ServiceSpec, Code, Vec<&str>)> = vec![
        (spec(""), Code::InvalidArgument, vec!["spec.name", "empty"]),
        (
            spec("web.1"),
            Code::InvalidArgument,
            vec!["spec.name", "web.1"],
        ),
        (spec("-web"), Code::InvalidArgument, vec!["spec.name"]),
        (
            spec("taken"),
            Code::AlreadyExists,
            vec!["taken", "already exists"],
        ),
        // Names are compared regardless of case.
        (
            spec("TAKEN"),
            Code::AlreadyExists,
            vec!["TAKEN", "already exists"],
        ),
    ];
    let mut s = spec("clash");
    s.endpoint.ports = vec![port(81, 8080)];
    cases.push((
        s,
        Code::InvalidArgument,
        vec![
            "spec.endpoint.ports",
            "8080/tcp",
            "already published by service taken",
        ],
    ));
    let mut s = spec("noimage");
    s.task.container.image.clear();
    cases.push((s, Code::InvalidArgument, vec!["spec.task.container.image"]));
    let mut s = spec("many");
    s.mode = ServiceMode::Replicated {
        replicas: 10_000_000,
    };
    cases.push((s, Code::InvalidArgument, vec!["spec.mode.replicas"]));
    for target in [0, 70_000] {
        let mut s = spec("port");
        s.endpoint.ports = vec![port(target, 8080)];
        cases.push((
            s,
            Code::InvalidArgument,
            vec!["ports[0].target_port", "1-65535"],
        ));
    }
    let mut s = spec("port");
    s.endpoint.ports = vec![port(80, 70_000)];
    cases.push((s, Code::InvalidArgument, vec!["ports[0].published_port"]));
    let mut s = spec("twice");
    s.endpoint.ports = vec![port(80, 8080), port(81, 8080)];
    cases.push((
        s,
        Code::InvalidArgument,
        vec!["ports[1].published_port", "twice"],
    ));
    let mut s = spec("constrained");
    s.task.placement.constraints = vec!["node.rol==manager".into()];
    cases.push((
        s,
        Code::InvalidArgument,
        vec!["spec.task.placement.constraints[0]", "node.rol"],
    ));
    let mut s = spec("constrained");
    s.task.placement.constraints = vec!["node.role=manager".into()];
    cases.push((s, Code::InvalidArgument, vec!["constraints[0]"]));

    for (s, code, words) in cases {
        let name = s.name.clone();
        let result = create(&api, s).await;
        assert_status(result, code, &words);
        assert_eq!(
            store.view(|t| t.clone()),
            before,
            "`{name}` changed the store"
        );
    }

    // What only the wire can express: no spec, an unknown protocol.
    assert_status(
        api.create_service(Request::new(pc::CreateServiceRequest { spec: None }))
            .await,
        Code::InvalidArgument,
        &["spec is missing"],
    );
    let mut wire = api::objects::ServiceSpec::from({
        let mut s = spec("udp");
        s.endpoint.ports = vec![port(53, 53)];
        s
    });
    wire.endpoint.as_mut().unwrap().ports[0].protocol = 7;
    assert_status(
        api.create_service(Request::new(pc::CreateServiceRequest { spec: Some(wire) }))
            .await,
        Code::InvalidArgument,
        &["ports.protocol", "7"],
    );
    assert_eq!(store.view(|t| t.clone()), before);
}

#[tokio::test]
async fn create_get_and_list() {
    let store = store_with(vec![]).await;
    let api = api_over(&store);
    let mut s = spec("web");
    s.mode = ServiceMode::Global;
    s.endpoint.ports = vec![port(80, 0)];
    let created = create(&api, s.clone()).await.unwrap();
    assert_eq!(created.spec, s);
    let published = created.endpoint_ports[0].published_port;
    assert!(
        (30000..=32767).contains(&published),
        "allocated {published}"
    );
    assert_eq!(created.spec_version, 1);
    assert!(created.meta.version > 0);
    for query in ["web", &created.id, &created.id[..6]] {
        let got = api
            .get_service(Request::new(pc::GetServiceRequest { id: query.into() }))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(got.id, created.id, "lookup by `{query}`");
    }
    assert_status(
        api.get_service(Request::new(pc::GetServiceRequest { id: "nope".into() }))
            .await,
        Code::NotFound,
        &["service nope not found"],
    );
    let list = api
        .list_services(Request::new(pc::ListServicesRequest {}))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(list.services.len(), 1);
}

async fn update(
    api: &super::ControlApi,
    id: &str,
    version: u64,
    spec: Option<types::ServiceSpec>,
) -> Result<types::Service, tonic::Status> {
    let reply = api
        .update_service(Request::new(pc::UpdateServiceRequest {
            id: id.into(),
            version,
            rollback: spec.is_none(),
            spec: spec.map(Into::into),
        }))
        .await?;
    Ok(types::Service::try_from(reply.into_inner()).unwrap())
}

#[tokio::test]
async fn update_keeps_the_previous_spec_and_rollback_swaps_back() {
    let store = store_with(vec![]).await;
    let api = api_over(&store);
    let v1 = create(&api, spec("web")).await.unwrap();

    assert_status(
        update(&api, "web", 0, None).await,
        Code::FailedPrecondition,
        &["no previous spec"],
    );

    // Scaling changes no task: the version tasks are compared with stays.
    let mut scaled = v1.spec.clone();
    scaled.mode = ServiceMode::Replicated { replicas: 3 };
    let v2 = update(&api, "web", v1.meta.version, Some(scaled.clone()))
        .await
        .unwrap();
    assert_eq!(v2.spec, scaled);
    assert_eq!(v2.previous_spec.as_ref(), Some(&v1.spec));
    assert_eq!(v2.spec_version, 1);

    let mut new_image = scaled.clone();
    new_image.task.container.image = "nginx:1.28".into();
    let v3 = update(&api, &v1.id, 0, Some(new_image.clone()))
        .await
        .unwrap();
    assert_eq!(v3.spec_version, 2);
    assert_eq!(v3.previous_spec.as_ref(), Some(&scaled));

    // A write based on a stale read is refused and changes nothing.
    let mut stale = new_image.clone();
    stale.labels.insert("k".into(), "v".into());
    assert_status(
        update(&api, "web", v2.meta.version, Some(stale)).await,
        Code::FailedPrecondition,
        &["inspect it again and retry"],
    );
    let mut renamed = new_image.clone();
    renamed.name = "api".into();
    assert_status(
        update(&api, "web", 0, Some(renamed)).await,
        Code::InvalidArgument,
        &["spec.name", "renaming"],
    );
    let mut invalid = new_image.clone();
    invalid.task.container.image = String::new();
    assert_status(
        update(&api, "web", 0, Some(invalid)).await,
        Code::InvalidArgument,
        &["spec.task.container.image"],
    );
    assert_eq!(store.view(|t| t.services[&v1.id].clone()), v3);

    let v4 = update(&api, "web", 0, None).await.unwrap();
    assert_eq!(v4.spec, scaled);
    assert_eq!(v4.previous_spec.as_ref(), Some(&new_image));
    assert_eq!(v4.spec_version, 3);
    assert_eq!(
        v4.update_status.unwrap().state,
        UpdateState::RollbackStarted
    );
}

fn task(id: &str, service_id: &str, node_id: &str, desired: TaskState) -> Task {
    Task {
        id: id.into(),
        service_id: service_id.into(),
        service_name: "web".into(),
        slot: 1,
        node_id: node_id.into(),
        desired_state: desired,
        status: TaskStatus {
            state: TaskState::Running,
            ..Default::default()
        },
        ..Default::default()
    }
}

#[tokio::test]
async fn remove_marks_tasks_for_removal_and_tasks_filter() {
    let store = store_with(vec![
        node("n1", "worker1", NodeRole::Worker, NodeState::Ready),
        node("n2", "worker2", NodeRole::Worker, NodeState::Ready),
    ])
    .await;
    let api = api_over(&store);
    let web = create(&api, spec("web")).await.unwrap();
    let db = create(&api, spec("db")).await.unwrap();
    store
        .update(|_, tx| {
            tx.create(Object::Task(task("t1", &web.id, "n1", TaskState::Running)));
            tx.create(Object::Task(task("t2", &web.id, "n2", TaskState::Shutdown)));
            tx.create(Object::Task(task("t3", &db.id, "n1", TaskState::Running)));
            Ok::<_, StoreError>(())
        })
        .await
        .unwrap();

    let list = |service_ids: Vec<&str>, node_ids: Vec<&str>, running: bool| {
        let req = pc::ListTasksRequest {
            service_ids: service_ids.into_iter().map(String::from).collect(),
            node_ids: node_ids.into_iter().map(String::from).collect(),
            desired_running_only: running,
        };
        let api = api.clone();
        async move {
            let mut ids: Vec<String> = api
                .list_tasks(Request::new(req))
                .await
                .map(|r| r.into_inner().tasks.into_iter().map(|t| t.id).collect())?;
            ids.sort();
            Ok::<_, tonic::Status>(ids)
        }
    };
    assert_eq!(
        list(vec![], vec![], false).await.unwrap(),
        ["t1", "t2", "t3"]
    );
    assert_eq!(
        list(vec!["web"], vec![], false).await.unwrap(),
        ["t1", "t2"]
    );
    assert_eq!(list(vec!["web"], vec![], true).await.unwrap(), ["t1"]);
    assert_eq!(
        list(vec![], vec!["worker1"], false).await.unwrap(),
        ["t1", "t3"]
    );
    assert_status(
        list(vec!["nope"], vec![], false).await,
        Code::NotFound,
        &["nope"],
    );

    api.remove_service(Request::new(pc::RemoveServiceRequest { id: "web".into() }))
        .await
        .unwrap();
    store.view(|t| {
        assert!(!t.services.contains_key(&web.id));
        assert_eq!(t.tasks["t1"].desired_state, TaskState::Remove);
        assert_eq!(t.tasks["t2"].desired_state, TaskState::Remove);
        assert_eq!(t.tasks["t3"].desired_state, TaskState::Running);
    });
    assert_status(
        api.remove_service(Request::new(pc::RemoveServiceRequest { id: "web".into() }))
            .await,
        Code::NotFound,
        &["web"],
    );
}
