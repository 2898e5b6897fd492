//! [`Store`]: what every component holds. Reads are local; writes go through a [`Proposer`].

use std::sync::Arc;
use tokio::sync::broadcast;

use crate::action::{Kind, Object, StoreAction};
use crate::error::StoreError;
use crate::memory::{EventBatch, MemoryStore};
use crate::proposer::{LocalProposer, Proposer};
use crate::tables::Tables;

/// How often [`Store::update`] re-runs a write that lost a race before giving up.
const CONFLICT_RETRIES: usize = 8;

#[derive(Clone)]
pub struct Store {
    memory: Arc<MemoryStore>,
    proposer: Arc<dyn Proposer>,
}

/// The changes one write is collecting. Creation and update stamp timestamps here, on the
/// proposing side, so every replica applies the same values.
#[derive(Debug, Default)]
pub struct Tx {
    actions: Vec<StoreAction>,
}

impl Tx {
    pub fn create(&mut self, mut object: Object) {
        let now = types::now_ms();
        let meta = object.meta_mut();
        meta.created_at_ms = now;
        meta.updated_at_ms = now;
        meta.version = 0;
        self.actions.push(StoreAction::Create(object));
    }

    /// Updates an object read from the store; its `meta.version` must be the one read.
    pub fn update(&mut self, mut object: Object) {
        object.meta_mut().updated_at_ms = types::now_ms();
        self.actions.push(StoreAction::Update(object));
    }

    pub fn remove(&mut self, kind: Kind, id: impl Into<String>) {
        self.actions.push(StoreAction::Remove {
            kind,
            id: id.into(),
        });
    }

    pub fn is_empty(&self) -> bool {
        self.actions.is_empty()
    }

    pub fn len(&self) -> usize {
        self.actions.len()
    }

    pub fn into_actions(self) -> Vec<StoreAction> {
        self.actions
    }
}

impl Store {
    pub fn new(memory: Arc<MemoryStore>, proposer: Arc<dyn Proposer>) -> Self {
        Store { memory, proposer }
    }

    /// A store without consensus, for tests.
    pub fn local() -> Self {
        let memory = Arc::new(MemoryStore::new());
        let proposer = Arc::new(LocalProposer::new(memory.clone()));
        Store { memory, proposer }
    }

    pub fn memory(&self) -> &Arc<MemoryStore> {
        &self.memory
    }

    pub fn view<R>(&self, f: impl FnOnce(&Tables) -> R) -> R {
        self.memory.view(f)
    }

    pub fn view_and_watch<R>(
        &self,
        f: impl FnOnce(&Tables) -> R,
    ) -> (R, broadcast::Receiver<EventBatch>) {
        self.memory.view_and_watch(f)
    }

    pub fn watch(&self) -> broadcast::Receiver<EventBatch> {
        self.memory.watch()
    }

    /// Builds a write from the current state and commits it. On a version conflict or a taken
    /// name/port (someone wrote in between) `f` runs again on the fresher state. `f` returning an error, or
    /// leaving the transaction empty, commits nothing.
    pub async fn update<T, E>(
        &self,
        mut f: impl FnMut(&Tables, &mut Tx) -> Result<T, E>,
    ) -> Result<T, E>
    where
        E: From<StoreError>,
    {
        let mut attempt = 0;
        loop {
            let mut tx = Tx::default();
            let out = self.memory.view(|t| f(t, &mut tx))?;
            if tx.is_empty() {
                return Ok(out);
            }
            match self.proposer.propose(tx.into_actions()).await {
                Ok(()) => return Ok(out),
                // A lost race (version conflict, a name or port taken meanwhile): decide again
                // on the fresher state, where `f` sees what the other writer committed.
                Err(StoreError::Conflict { .. } | StoreError::Taken(_))
                    if attempt < CONFLICT_RETRIES =>
                {
                    attempt += 1
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Commits prepared actions as one write, without retry.
    pub async fn propose(&self, actions: Vec<StoreAction>) -> Result<(), StoreError> {
        if actions.is_empty() {
            return Ok(());
        }
        self.proposer.propose(actions).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use types::{Node, Service};

    fn node(id: &str) -> Object {
        Object::Node(Node {
            id: id.into(),
            ..Default::default()
        })
    }

    #[tokio::test]
    async fn create_update_remove_and_watch() {
        let store = Store::local();
        let (_, mut rx) = store.view_and_watch(|_| ());
        store
            .update(|_, tx| {
                tx.create(node("n1"));
                Ok::<_, StoreError>(())
            })
            .await
            .unwrap();
        let n1 = store.view(|t| t.nodes["n1"].clone());
        assert!(n1.meta.version > 0);
        assert!(n1.meta.created_at_ms > 0);
        let batch = rx.recv().await.unwrap();
        assert!(matches!(batch[0], crate::Event::Created(_)));

        store
            .update(|t, tx| {
                let mut n = t.nodes["n1"].clone();
                n.description.hostname = "a".into();
                tx.update(Object::Node(n));
                Ok::<_, StoreError>(())
            })
            .await
            .unwrap();
        assert_eq!(
            store.view(|t| t.nodes["n1"].description.hostname.clone()),
            "a"
        );
        store
            .update(|_, tx| {
                tx.remove(Kind::Node, "n1");
                Ok::<_, StoreError>(())
            })
            .await
            .unwrap();
        assert!(store.view(|t| t.nodes.is_empty()));
    }

    #[tokio::test]
    async fn stale_update_conflicts_and_changes_nothing() {
        let store = Store::local();
        store
            .propose(vec![StoreAction::Create(node("n1"))])
            .await
            .unwrap();
        let stale = store.view(|t| t.nodes["n1"].clone());
        let mut fresh = stale.clone();
        fresh.description.hostname = "fresh".into();
        store
            .propose(vec![StoreAction::Update(Object::Node(fresh))])
            .await
            .unwrap();

        let mut late = stale.clone();
        late.description.hostname = "late".into();
        let err = store
            .propose(vec![
                StoreAction::Create(Object::Service(Service {
                    id: "s1".into(),
                    ..Default::default()
                })),
                StoreAction::Update(Object::Node(late)),
            ])
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::Conflict { .. }), "{err}");
        // All or nothing: the service in the same write was not created.
        assert!(store.view(|t| t.services.is_empty()));
        assert_eq!(
            store.view(|t| t.nodes["n1"].description.hostname.clone()),
            "fresh"
        );
    }

    fn service(id: &str, name: &str, port: u32) -> Object {
        let mut s = Service {
            id: id.into(),
            ..Default::default()
        };
        s.spec.name = name.into();
        if port != 0 {
            s.endpoint_ports.push(types::PortConfig {
                target_port: 80,
                published_port: port,
                ..Default::default()
            });
        }
        Object::Service(s)
    }

    #[tokio::test]
    async fn names_and_ingress_ports_are_unique_when_applied() {
        let store = Store::local();
        store
            .propose(vec![StoreAction::Create(service("s1", "web", 8080))])
            .await
            .unwrap();
        // Written without looking (as two racing proposers would): refused at apply.
        let e = store
            .propose(vec![StoreAction::Create(service("s2", "WEB", 0))])
            .await
            .unwrap_err();
        assert!(
            matches!(e, StoreError::Taken(ref m) if m.contains("name `WEB`")),
            "{e}"
        );
        let e = store
            .propose(vec![StoreAction::Create(service("s3", "api", 8080))])
            .await
            .unwrap_err();
        assert!(
            matches!(e, StoreError::Taken(ref m) if m.contains("8080/tcp")),
            "{e}"
        );
        // A service keeps its own name and port on update.
        let mut s1 = store.view(|t| t.services["s1"].clone());
        s1.spec.labels.insert("k".into(), "v".into());
        store
            .propose(vec![StoreAction::Update(Object::Service(s1))])
            .await
            .unwrap();
        assert_eq!(store.view(|t| t.services.len()), 1);
    }

    #[tokio::test]
    async fn a_removed_service_frees_its_name_and_port() {
        let store = Store::local();
        store
            .propose(vec![StoreAction::Create(service("s1", "web", 8080))])
            .await
            .unwrap();
        assert_eq!(
            store.view(|t| t.service_named("WEB").map(|s| s.id.clone())),
            Some("s1".into())
        );
        store
            .propose(vec![StoreAction::Remove {
                kind: Kind::Service,
                id: "s1".into(),
            }])
            .await
            .unwrap();
        assert!(store.view(|t| t.service_named("web").is_none()));
        store
            .propose(vec![StoreAction::Create(service("s2", "Web", 8080))])
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn a_renamed_or_moved_service_frees_what_it_held() {
        let store = Store::local();
        store
            .propose(vec![StoreAction::Create(service("s1", "web", 8080))])
            .await
            .unwrap();
        let mut s1 = store.view(|t| t.services["s1"].clone());
        s1.spec.name = "www".into();
        s1.endpoint_ports[0].published_port = 8081;
        store
            .propose(vec![StoreAction::Update(Object::Service(s1))])
            .await
            .unwrap();
        store
            .propose(vec![StoreAction::Create(service("s2", "web", 8080))])
            .await
            .unwrap();
        let e = store
            .propose(vec![StoreAction::Create(service("s3", "WWW", 8082))])
            .await
            .unwrap_err();
        assert!(
            matches!(e, StoreError::Taken(ref m) if m.contains("s1")),
            "{e}"
        );
        let e = store
            .propose(vec![StoreAction::Create(service("s3", "api", 8081))])
            .await
            .unwrap_err();
        assert!(
            matches!(e, StoreError::Taken(ref m) if m.contains("8081/tcp") && m.contains("www")),
            "{e}"
        );
    }

    #[tokio::test]
    async fn duplicate_create_and_missing_remove_fail() {
        let store = Store::local();
        store
            .propose(vec![StoreAction::Create(node("n1"))])
            .await
            .unwrap();
        let e = store
            .propose(vec![StoreAction::Create(node("n1"))])
            .await
            .unwrap_err();
        assert!(matches!(e, StoreError::AlreadyExists { .. }));
        let e = store
            .propose(vec![StoreAction::Remove {
                kind: Kind::Task,
                id: "nope".into(),
            }])
            .await
            .unwrap_err();
        assert!(matches!(e, StoreError::NotFound { .. }));
    }
}
