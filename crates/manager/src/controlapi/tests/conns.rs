//! `ServiceConns` over real gRPC to the fake agent of `agents`, which tracks one connection
//! to 10.255.0.5:80 on every node.

use api::control::{self as pc, control_server::Control};
use tonic::{Code, Request};
use types::NetworkAttachment;

use super::agents::{add_tasks, fixture, running_task};
use super::assert_status;

fn conns(service: &str) -> Request<pc::ServiceConnsRequest> {
    Request::new(pc::ServiceConnsRequest {
        service: service.into(),
    })
}

#[tokio::test]
async fn every_ready_node_is_asked_and_an_unreachable_one_is_reported() {
    let (store, api, web) = fixture(vec!["n2".into()]).await;
    let mut t1 = running_task("t1", &web, 1, "n1");
    t1.networks = vec![NetworkAttachment {
        network_id: "ingress".into(),
        addr: "10.255.0.5".into(),
        mac: String::new(),
    }];
    add_tasks(&store, vec![t1]).await;
    let reply = api.service_conns(conns("web")).await.unwrap().into_inner();
    let rows: Vec<(&str, &str, &str, &str, u32)> = reply
        .conns
        .iter()
        .map(|r| {
            (
                r.via_node.as_str(),
                r.client.as_str(),
                r.task_name.as_str(),
                r.task_node.as_str(),
                r.published_port,
            )
        })
        .collect();
    // worker3 is down (not asked), worker2 refuses.
    assert_eq!(
        rows,
        vec![
            ("manager1", "192.168.56.100:40522", "web.1", "worker1", 8080),
            ("worker1", "192.168.56.100:40522", "web.1", "worker1", 8080),
        ]
    );
    assert_eq!(reply.unreachable.len(), 1, "{:?}", reply.unreachable);
    assert!(
        reply.unreachable[0].starts_with("worker2: connection refused"),
        "{:?}",
        reply.unreachable
    );
    assert_status(
        api.service_conns(conns("nope")).await.map(|_| ()),
        Code::NotFound,
        &["service nope not found"],
    );
}
