//! User networks in the allocator: subnets cut from the pool around what is used, VNIs, and
//! a new task's addresses on ingress and on each of its networks.

use store::Tables;
use types::network::DEFAULT_INGRESS_VNI;
use types::{
    Cluster, ClusterSpec, Network, NetworkSpec, NetworkTarget, Node, PortConfig, PublishMode,
    Service, Task, TaskState, VirtualIp,
};

use super::plan::allocate;
use super::subnets::{check_pools, choose_subnet, free_vni, SubnetError};

fn network(id: &str, name: &str, subnet: &str, vni: u32) -> Network {
    Network {
        id: id.into(),
        meta: Default::default(),
        spec: NetworkSpec {
            subnet: subnet.into(),
            gateway: String::new(),
            vni,
            ..NetworkSpec::overlay(name)
        },
    }
}

fn tables(pool: &[&str], mask_len: u32) -> Tables {
    let mut t = Tables::default();
    let spec = ClusterSpec {
        default_addr_pool: pool.iter().map(|p| p.to_string()).collect(),
        default_addr_pool_mask_len: mask_len,
        ..Default::default()
    };
    t.clusters.insert("c".into(), Cluster::new("c", spec));
    let ingress = Network {
        id: "ing".into(),
        meta: Default::default(),
        spec: NetworkSpec::ingress("10.255.0.0/16"),
    };
    t.networks.insert("ing".into(), ingress);
    t
}

fn choose(t: &Tables) -> Result<String, SubnetError> {
    choose_subnet(t, &t.cluster().unwrap().spec).map(|n| n.to_string())
}

#[test]
fn subnets_are_cut_from_each_pool_in_turn_around_networks_and_nodes() {
    let mut t = tables(&["10.255.0.0/16", "192.168.0.0/23"], 24);
    // The first pool is all ingress: the second one is used.
    assert_eq!(choose(&t).unwrap(), "192.168.0.0/24");
    let mut n = Node::default();
    n.status.addr = "192.168.0.9:2377".into();
    t.nodes.insert("n".into(), n);
    assert_eq!(choose(&t).unwrap(), "192.168.1.0/24");
    t.networks
        .insert("x".into(), network("x", "x", "192.168.1.0/24", 4097));
    assert!(matches!(choose(&t), Err(SubnetError::PoolExhausted { .. })));
    let small = tables(&["172.16.0.0/16"], 26);
    assert_eq!(choose(&small).unwrap(), "172.16.0.0/26");
}

#[test]
fn bad_pools_are_named() {
    check_pools(&["10.0.0.0/8".into()], 24).unwrap();
    for (pool, len) in [
        ("10.0.0.0/8", 30),
        ("10.0.0.0/16", 8),
        ("10.0.0.1/8", 24),
        ("x", 24),
    ] {
        let e = check_pools(&[pool.to_string()], len).unwrap_err();
        assert!(e.to_string().contains(pool), "{e}");
    }
}

#[test]
fn vnis_fill_the_lowest_gap_above_ingress() {
    let mut t = tables(&["10.0.0.0/8"], 24);
    assert_eq!(free_vni(&t).unwrap(), DEFAULT_INGRESS_VNI + 1);
    t.networks
        .insert("a".into(), network("a", "a", "10.0.0.0/24", 4097));
    t.networks
        .insert("c".into(), network("c", "c", "10.0.2.0/24", 4099));
    assert_eq!(free_vni(&t).unwrap(), 4098);
}

#[test]
fn a_new_task_gets_ingress_first_only_when_publishing_then_each_network_skipping_vips_and_gateways()
{
    let mut t = tables(&["10.0.0.0/8"], 24);
    let mut back = network("b", "back", "10.0.1.0/24", 4097);
    back.spec.gateway = "10.0.1.1".into();
    t.networks.insert("b".into(), back);
    let mut s = Service {
        id: "s".into(),
        virtual_ips: vec![VirtualIp {
            network_id: "b".into(),
            addr: "10.0.1.2".into(),
        }],
        ..Default::default()
    };
    s.spec.task.networks = vec![NetworkTarget {
        target: "b".into(),
        aliases: vec![],
    }];
    t.services.insert("s".into(), s.clone());
    for id in ["t1", "t2"] {
        t.tasks.insert(
            id.into(),
            Task {
                id: id.into(),
                service_id: "s".into(),
                desired_state: TaskState::Running,
                spec: s.spec.task.clone(),
                ..Default::default()
            },
        );
    }
    let nets = |out: &super::plan::Allocation| -> Vec<Vec<(String, String)>> {
        out.tasks
            .iter()
            .map(|t| {
                t.networks
                    .iter()
                    .map(|a| (a.network_id.clone(), a.addr.clone()))
                    .collect()
            })
            .collect()
    };
    let pair = |n: &str, a: &str| (n.to_string(), a.to_string());
    // Nothing published: on its own network only, as on Docker.
    let out = allocate(&t, 1).unwrap();
    assert_eq!(
        nets(&out),
        [vec![pair("b", "10.0.1.3")], vec![pair("b", "10.0.1.4")]]
    );
    assert!(out.tasks.iter().all(|t| t.ingress_attachment().is_none()));
    // A host-mode port does not put it on ingress either; an ingress-mode one does, first.
    for (mode, on_ingress) in [(PublishMode::Host, false), (PublishMode::Ingress, true)] {
        t.services.get_mut("s").unwrap().endpoint_ports = vec![PortConfig {
            target_port: 80,
            published_port: 8080,
            publish_mode: mode,
            ..Default::default()
        }];
        let out = allocate(&t, 1).unwrap();
        assert_eq!(
            out.tasks.iter().all(|t| t.ingress_addr().is_some()),
            on_ingress,
            "{mode:?}"
        );
    }
    let out = allocate(&t, 1).unwrap();
    assert_eq!(
        nets(&out),
        [
            vec![pair("ing", "10.255.0.2"), pair("b", "10.0.1.3")],
            vec![pair("ing", "10.255.0.3"), pair("b", "10.0.1.4")]
        ]
    );
    assert_eq!(out.tasks[0].overlay_attachments()[0].network_id, "b");
    assert!(out
        .tasks
        .iter()
        .all(|t| t.status.state == TaskState::Pending));
    assert_eq!(out.tasks[1].networks[1].mac, "02:42:0a:00:01:04");

    // A full network leaves the task waiting, saying why.
    t.networks.get_mut("b").unwrap().spec.subnet = "10.0.1.0/30".into();
    let out = allocate(&t, 2).unwrap();
    assert!(out.tasks.iter().all(|t| t.status.state == TaskState::New));
    assert!(out.tasks[0]
        .status
        .err
        .contains("back (10.0.1.0/30) has no free address"));
}
