//! User networks: subnets and VNIs allocated without overlap, refusals that name the flag and
//! change nothing, removal refused while in use; a service's networks resolved to IDs with
//! one virtual IP each.

use api::control as pc;
use api::control::control_server::Control;
use store::{Object, Store, StoreError};
use tonic::{Code, Request, Status};
use types::{EndpointMode, Network, NetworkSpec, NetworkTarget, NodeRole, NodeState, ServiceSpec};

use super::{api_over, assert_status, create, node, spec, store_with};
use crate::controlapi::ControlApi;

/// A cluster with its ingress network and one node whose underlay address is 10.0.2.7.
pub(super) async fn cluster() -> (Store, ControlApi) {
    let mut n = node("n1", "worker1", NodeRole::Worker, NodeState::Ready);
    n.status.addr = "10.0.2.7:2377".into();
    let store = store_with(vec![n]).await;
    store
        .update(|_, tx| {
            tx.create(Object::Network(Network {
                id: "ingress-id".into(),
                meta: Default::default(),
                spec: NetworkSpec::ingress("10.255.0.0/16"),
            }));
            Ok::<_, StoreError>(())
        })
        .await
        .unwrap();
    let api = api_over(&store);
    (store, api)
}

pub(super) async fn create_net(api: &ControlApi, spec: NetworkSpec) -> Result<Network, Status> {
    let reply = api
        .create_network(Request::new(pc::CreateNetworkRequest {
            spec: Some(spec.into()),
        }))
        .await?;
    Ok(reply.into_inner().into())
}

pub(super) async fn remove_net(api: &ControlApi, id: &str) -> Result<(), Status> {
    api.remove_network(Request::new(pc::RemoveNetworkRequest { id: id.into() }))
        .await
        .map(drop)
}

fn with_subnet(name: &str, subnet: &str) -> NetworkSpec {
    NetworkSpec {
        subnet: subnet.into(),
        ..NetworkSpec::overlay(name)
    }
}

#[tokio::test]
async fn subnets_come_from_the_pool_skipping_used_ranges_and_vnis_are_unique() {
    let (_store, api) = cluster().await;
    let a = create_net(&api, NetworkSpec::overlay("a")).await.unwrap();
    assert_eq!(
        (a.spec.subnet.as_str(), a.spec.gateway.as_str(), a.spec.vni),
        ("10.0.0.0/24", "10.0.0.1", 4097)
    );
    assert_eq!(a.spec.driver, "overlay");
    let given = create_net(&api, with_subnet("b", "10.0.1.0/24"))
        .await
        .unwrap();
    assert_eq!(given.spec.vni, 4098);
    // 10.0.1.0/24 is b's and 10.0.2.0/24 holds the node's own address.
    let c = create_net(&api, NetworkSpec::overlay("c")).await.unwrap();
    assert_eq!((c.spec.subnet.as_str(), c.spec.vni), ("10.0.3.0/24", 4099));
    remove_net(&api, "b").await.unwrap();
    let d = create_net(&api, NetworkSpec::overlay("d")).await.unwrap();
    assert_eq!((d.spec.subnet.as_str(), d.spec.vni), ("10.0.1.0/24", 4098));
}

#[tokio::test]
async fn bad_networks_are_refused_naming_the_field_and_change_nothing() {
    let (store, api) = cluster().await;
    create_net(&api, with_subnet("taken", "10.9.0.0/16"))
        .await
        .unwrap();
    let before = store.view(|t| t.clone());
    let cases: Vec<(NetworkSpec, Code, Vec<&str>)> = vec![
        (
            NetworkSpec {
                driver: "bridge".into(),
                ..NetworkSpec::overlay("x")
            },
            Code::InvalidArgument,
            vec!["spec.driver", "overlay"],
        ),
        (
            NetworkSpec::overlay("_x"),
            Code::InvalidArgument,
            vec!["spec.name"],
        ),
        (
            NetworkSpec::overlay("taken"),
            Code::AlreadyExists,
            vec!["taken", "already exists"],
        ),
        (
            with_subnet("x", "10.9.4.0/24"),
            Code::InvalidArgument,
            vec!["spec.subnet", "10.9.4.0/24", "taken", "10.9.0.0/16"],
        ),
        (
            with_subnet("x", "10.0.0.0/8"),
            Code::InvalidArgument,
            vec!["spec.subnet", "overlaps"],
        ),
        (
            with_subnet("x", "10.0.2.0/24"),
            Code::InvalidArgument,
            vec!["spec.subnet", "worker1", "10.0.2.7"],
        ),
        (
            with_subnet("x", "10.255.7.0/24"),
            Code::InvalidArgument,
            vec!["spec.subnet", "ingress"],
        ),
        (
            with_subnet("x", "10.1.2.3/24"),
            Code::InvalidArgument,
            vec!["spec.subnet", "10.1.2.0/24"],
        ),
        (
            NetworkSpec {
                ingress: true,
                ..NetworkSpec::overlay("x")
            },
            Code::InvalidArgument,
            vec!["spec.ingress"],
        ),
    ];
    for (spec, code, words) in cases {
        assert_status(create_net(&api, spec).await, code, &words);
    }
    assert_status(
        remove_net(&api, "ingress").await,
        Code::FailedPrecondition,
        &["ingress", "cannot be removed"],
    );
    assert_status(
        remove_net(&api, "nope").await,
        Code::NotFound,
        &["network nope not found"],
    );
    assert!(store.view(|t| *t == before), "a refusal changed the store");
}

fn on(networks: &[(&str, &[&str])]) -> Vec<NetworkTarget> {
    networks
        .iter()
        .map(|(n, aliases)| NetworkTarget {
            target: n.to_string(),
            aliases: aliases.iter().map(|a| a.to_string()).collect(),
        })
        .collect()
}

fn service_on(name: &str, networks: &[(&str, &[&str])]) -> ServiceSpec {
    let mut s = spec(name);
    s.task.networks = on(networks);
    s
}

#[tokio::test]
async fn services_get_network_ids_and_one_virtual_ip_per_network() {
    let (store, api) = cluster().await;
    let front = create_net(&api, NetworkSpec::overlay("front"))
        .await
        .unwrap();
    let back = create_net(&api, NetworkSpec::overlay("back"))
        .await
        .unwrap();
    let web = create(
        &api,
        service_on("web", &[("front", &[]), ("back", &["www"])]),
    )
    .await
    .unwrap();
    let targets: Vec<&str> = web
        .spec
        .task
        .networks
        .iter()
        .map(|n| n.target.as_str())
        .collect();
    assert_eq!(targets, [front.id.as_str(), back.id.as_str()]);
    assert_eq!(web.spec.task.networks[1].aliases, ["www"]);
    let vips: Vec<(&str, &str)> = web
        .virtual_ips
        .iter()
        .map(|v| (v.network_id.as_str(), v.addr.as_str()))
        .collect();
    assert_eq!(
        vips,
        [
            (front.id.as_str(), "10.0.0.2"),
            (back.id.as_str(), "10.0.1.2")
        ]
    );
    let api_svc = create(&api, service_on("api", &[("back", &[])]))
        .await
        .unwrap();
    assert_eq!(api_svc.virtual_ips[0].addr, "10.0.1.3");
    let mut dnsrr = service_on("db", &[("back", &[])]);
    dnsrr.endpoint.mode = EndpointMode::Dnsrr;
    assert!(create(&api, dnsrr).await.unwrap().virtual_ips.is_empty());

    // The same spec sent back by name changes nothing; dropping a network drops its VIP.
    let version = web.spec_version;
    let update = |spec: ServiceSpec| pc::UpdateServiceRequest {
        id: "web".into(),
        version: 0,
        spec: Some(spec.into()),
        rollback: false,
    };
    let same = service_on("web", &[("front", &[]), ("back", &["www"])]);
    let r = api
        .update_service(Request::new(update(same)))
        .await
        .unwrap();
    assert_eq!(r.into_inner().spec_version, version);
    let r = api
        .update_service(Request::new(update(service_on(
            "web",
            &[("back", &["www"])],
        ))))
        .await
        .unwrap();
    let web = types::Service::try_from(r.into_inner()).unwrap();
    assert_eq!(web.spec_version, version + 1, "tasks need new interfaces");
    assert_eq!(web.virtual_ips.len(), 1);
    assert_eq!(
        web.virtual_ips[0].addr, "10.0.1.2",
        "kept on the network it stays on"
    );

    assert_status(
        remove_net(&api, "back").await,
        Code::FailedPrecondition,
        &["back", "web", "api", "db", "--network-rm"],
    );
    remove_net(&api, "front").await.unwrap();
    assert!(store.view(|t| t.find_network("front").is_err()));
}

#[tokio::test]
async fn bad_service_networks_are_refused_and_change_nothing() {
    let (store, api) = cluster().await;
    create_net(&api, NetworkSpec::overlay("back"))
        .await
        .unwrap();
    let before = store.view(|t| t.clone());
    let cases: Vec<(ServiceSpec, Vec<&str>)> = vec![
        (
            service_on("web", &[("nope", &[])]),
            vec!["spec.task.networks[0].target", "nope", "network create"],
        ),
        (
            service_on("web", &[("ingress", &[])]),
            vec!["spec.task.networks[0].target", "publish"],
        ),
        (
            service_on("web", &[("back", &["bad_alias"])]),
            vec!["spec.task.networks[0].aliases[0]"],
        ),
    ];
    for (spec, words) in cases {
        assert_status(create(&api, spec).await, Code::InvalidArgument, &words);
    }
    let back_id = store.view(|t| t.find_network("back").unwrap().id.clone());
    assert_status(
        create(&api, service_on("web", &[("back", &[]), (&back_id, &[])])).await,
        Code::InvalidArgument,
        &["spec.task.networks[1].target", "twice"],
    );
    assert!(store.view(|t| *t == before), "a refusal changed the store");
}
