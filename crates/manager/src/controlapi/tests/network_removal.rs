//! Removing a network while the tasks of a removed service are still stopping (as `stack rm`
//! does), and the defaults a bare network request gets.

use store::{Object, StoreError};
use tonic::Code;
use types::NetworkSpec;

use super::networks::{cluster, create_net, remove_net};

/// A running task of `desired` state attached to network `net`.
fn attached_task(id: &str, net: &str, desired: types::TaskState) -> types::Task {
    types::Task {
        id: id.into(),
        service_id: "gone".into(),
        desired_state: desired,
        status: types::TaskStatus {
            state: types::TaskState::Running,
            ..Default::default()
        },
        networks: vec![types::NetworkAttachment {
            network_id: net.into(),
            addr: "10.0.9.2".into(),
            mac: String::new(),
        }],
        ..Default::default()
    }
}

#[tokio::test(start_paused = true)]
async fn removal_waits_for_stopping_tasks_and_refuses_while_one_runs_on() {
    use types::TaskState;
    let (store, api) = cluster().await;
    let net = create_net(&api, NetworkSpec::overlay("back"))
        .await
        .unwrap();
    let writer = store.clone();
    let put = move |task: types::Task| {
        let store = writer.clone();
        async move {
            store
                .update(|tables, tx| {
                    match tables.tasks.get(&task.id) {
                        Some(old) => tx.update(Object::Task(types::Task {
                            meta: old.meta.clone(),
                            ..task.clone()
                        })),
                        None => tx.create(Object::Task(task.clone())),
                    }
                    Ok::<_, StoreError>(())
                })
                .await
                .unwrap()
        }
    };
    // A task still meant to run: refused at once, the network stays.
    put(attached_task("t1", &net.id, TaskState::Running)).await;
    let refused = remove_net(&api, &net.id).await.unwrap_err();
    assert_eq!(refused.code(), Code::FailedPrecondition);
    assert!(refused.message().contains("still attached"), "{refused:?}");

    // Its service removed (`stack rm`): the removal waits until the task has stopped.
    put(attached_task("t1", &net.id, TaskState::Remove)).await;
    let stopper = {
        let put = put.clone();
        let id = net.id.clone();
        tokio::spawn(async move {
            tokio::time::sleep(std::time::Duration::from_secs(2)).await;
            let mut t = attached_task("t1", &id, TaskState::Remove);
            t.status.state = TaskState::Shutdown;
            put(t).await;
        })
    };
    remove_net(&api, &net.id).await.unwrap();
    stopper.await.unwrap();
    assert!(store.view(|t| !t.networks.contains_key(&net.id)));
}

#[tokio::test]
async fn zero_mtu_and_vxlan_port_in_a_request_mean_the_defaults() {
    let (_, api) = cluster().await;
    let bare = NetworkSpec {
        mtu: 0,
        vxlan_port: 0,
        ..NetworkSpec::overlay("bare")
    };
    let net = create_net(&api, bare).await.unwrap();
    assert_eq!(
        (net.spec.mtu, net.spec.vxlan_port),
        (
            types::network::DEFAULT_OVERLAY_MTU,
            types::network::DEFAULT_VXLAN_PORT
        )
    );
}
