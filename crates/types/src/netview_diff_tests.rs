use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::*;
use crate::service::PortConfig;

/// A view of up to `n` of each thing, every list in key order as the leader builds it.
fn random_view(rng: &mut StdRng, n: usize) -> NetworkView {
    let pick = |rng: &mut StdRng| (0..n).filter(|_| rng.random_bool(0.6)).collect::<Vec<_>>();
    let peers = pick(rng)
        .into_iter()
        .map(|i| NodePeer {
            node_id: format!("n{i:03}"),
            underlay_addr: format!("192.168.0.{}", rng.random_range(1..4)),
            ingress_addr: format!("10.255.0.{i}"),
        })
        .collect();
    let services = pick(rng)
        .into_iter()
        .map(|i| MeshService {
            service_id: format!("s{i:03}"),
            service_name: format!("web{}", rng.random_range(0..2)),
            ports: vec![PortConfig {
                target_port: 80,
                published_port: 8000 + rng.random_range(0..2),
                ..Default::default()
            }],
            backends: pick(rng)
                .into_iter()
                .map(|t| MeshBackend {
                    task_id: format!("t{t:03}"),
                    node_id: format!("n{}", rng.random_range(0..3)),
                    addr: format!("10.255.1.{t}"),
                })
                .collect(),
        })
        .collect();
    let endpoints = pick(rng)
        .into_iter()
        .map(|t| TaskEndpoint {
            task_id: format!("t{t:03}"),
            node_id: format!("n{}", rng.random_range(0..3)),
            addr: format!("10.255.1.{t}"),
            mac: "02:42:0a:ff:01:01".into(),
        })
        .collect();
    let ingress = rng.random_bool(0.8).then(|| Network {
        id: format!("ing{}", rng.random_range(0..2)),
        meta: Default::default(),
        spec: crate::network::NetworkSpec::ingress(crate::network::DEFAULT_INGRESS_SUBNET),
    });
    let overlays = pick(rng)
        .into_iter()
        .map(|i| crate::netview::OverlayView {
            network: Network {
                id: format!("net{i:03}"),
                meta: Default::default(),
                spec: crate::network::NetworkSpec::overlay(&format!("n{}", rng.random_range(0..2))),
            },
            endpoints: pick(rng)
                .into_iter()
                .map(|t| TaskEndpoint {
                    task_id: format!("t{t:03}"),
                    node_id: format!("n{}", rng.random_range(0..3)),
                    addr: format!("10.0.{i}.{t}"),
                    mac: "02:42:0a:00:01:01".into(),
                })
                .collect(),
            services: Vec::new(),
        })
        .collect();
    NetworkView {
        ingress,
        peers,
        services,
        endpoints,
        overlays,
    }
}

#[test]
fn applying_the_diff_of_two_views_gives_the_second() {
    let mut rng = StdRng::seed_from_u64(7);
    for _ in 0..500 {
        let old = random_view(&mut rng, 12);
        let new = random_view(&mut rng, 12);
        let mut got = old.clone();
        got.apply(&old.diff(&new));
        assert_eq!(got, new);
    }
}

#[test]
fn successive_diffs_fold_into_one() {
    let mut rng = StdRng::seed_from_u64(11);
    for _ in 0..300 {
        let views: Vec<_> = (0..4).map(|_| random_view(&mut rng, 8)).collect();
        let folded = views
            .windows(2)
            .map(|w| w[0].diff(&w[1]))
            .fold(ViewDiff::default(), |acc, d| acc.then(&d));
        let mut got = views[0].clone();
        got.apply(&folded);
        assert_eq!(got, views[3]);
    }
}

#[test]
fn a_view_that_did_not_change_has_an_empty_diff() {
    let mut rng = StdRng::seed_from_u64(3);
    let v = random_view(&mut rng, 10);
    assert!(v.diff(&v).is_empty());
}

#[test]
fn a_backend_change_carries_that_backend_not_its_service() {
    let mut rng = StdRng::seed_from_u64(5);
    let mut old = random_view(&mut rng, 10);
    while old.services.first().is_none_or(|s| s.backends.is_empty()) {
        old = random_view(&mut rng, 10);
    }
    let mut new = old.clone();
    new.services[0].backends.remove(0);
    let d = old.diff(&new);
    assert!(d.services.is_empty(), "the service itself did not change");
    let removed = &old.services[0].backends[0].task_id;
    assert_eq!(
        d.backends[&old.services[0].service_id].get(removed),
        Some(&None)
    );
    assert_eq!(d.backends.len(), 1);
}
