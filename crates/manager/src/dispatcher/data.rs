//! The secrets and configs a node is sent: those its live tasks reference and nothing else,
//! a secret opened with the cluster's data key only here, on its way into the node's
//! mutual-TLS session.

use std::collections::BTreeSet;

use store::Tables;
use types::{DataKind, DataPayload, Task, TaskState};

/// The payloads the tasks still meant to run reference, in kind and ID order.
pub fn payloads(t: &Tables, tasks: &[Task]) -> Vec<DataPayload> {
    let mut wanted = BTreeSet::new();
    let live = tasks
        .iter()
        .filter(|t| !t.status.state.is_terminal() && t.desired_state <= TaskState::Running);
    for task in live {
        let c = &task.spec.container;
        wanted.extend(c.secrets.iter().map(|r| (DataKind::Secret, r.id.as_str())));
        wanted.extend(c.configs.iter().map(|r| (DataKind::Config, r.id.as_str())));
    }
    let key = t.cluster().map(|c| &c.data_key);
    wanted
        .into_iter()
        .filter_map(|(kind, id)| {
            let object = t.data.get(id).filter(|o| o.kind == kind)?;
            let data = match kind {
                DataKind::Config => object.spec.data.clone(),
                DataKind::Secret => match key.map(|k| security::seal::open(k, &object.spec.data)) {
                    Some(Ok(plain)) => plain,
                    Some(Err(e)) => {
                        tracing::error!(secret = %object.spec.name, "cannot open the secret: {e}");
                        return None;
                    }
                    None => return None,
                },
            };
            Some(DataPayload {
                kind,
                id: id.to_string(),
                data,
            })
        })
        .collect()
}

/// What identifies a set of payloads, to tell whether a node already holds it.
pub fn ids(payloads: &[DataPayload]) -> Vec<(DataKind, String)> {
    payloads.iter().map(|p| (p.kind, p.id.clone())).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use types::{Cluster, ClusterSpec, DataObject, DataReference, DataSpec};

    #[test]
    fn a_node_gets_what_its_live_tasks_reference_and_secrets_opened() {
        let mut t = Tables::default();
        let mut cluster = Cluster::new("c", ClusterSpec::default());
        cluster.data_key = security::seal::new_data_key().unwrap();
        let sealed = security::seal::seal(&cluster.data_key, b"hunter2").unwrap();
        t.clusters.insert("c".into(), cluster);
        for (id, kind, data) in [
            ("s1", DataKind::Secret, sealed),
            ("s2", DataKind::Secret, b"x".to_vec()),
            ("c1", DataKind::Config, b"conf".to_vec()),
        ] {
            t.data.insert(
                id.into(),
                DataObject {
                    id: id.into(),
                    kind,
                    spec: DataSpec {
                        name: id.into(),
                        data,
                        ..Default::default()
                    },
                    ..Default::default()
                },
            );
        }
        let r = |id: &str| DataReference {
            id: id.into(),
            ..Default::default()
        };
        let mut running = Task {
            desired_state: TaskState::Running,
            ..Default::default()
        };
        running.status.state = TaskState::Running;
        running.spec.container.secrets = vec![r("s1")];
        running.spec.container.configs = vec![r("c1"), r("s1")];
        let mut ended = running.clone();
        ended.status.state = TaskState::Failed;
        ended.spec.container.secrets = vec![r("s2")];
        let got = payloads(&t, &[running, ended]);
        let summary: Vec<(DataKind, &str, &[u8])> = got
            .iter()
            .map(|p| (p.kind, p.id.as_str(), p.data.as_slice()))
            .collect();
        assert_eq!(
            summary,
            [
                (DataKind::Secret, "s1", &b"hunter2"[..]),
                (DataKind::Config, "c1", &b"conf"[..]),
            ],
            "s2 only for an ended task; `s1` as a config reference names no config"
        );
    }
}
