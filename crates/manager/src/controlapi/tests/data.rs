//! Secrets and configs through the control API: a secret sealed in the store and never sent
//! back, a config shown; names unique per kind; a service's references resolved to IDs;
//! removal refused while a service uses one; labels alone can change; every refusal changes
//! nothing.

use api::control as pc;
use api::control::control_server::Control;
use tonic::{Code, Request, Status};
use types::{DataKind, DataReference, DataSpec};

use super::{api_over, assert_status, create, spec, store_with};
use crate::controlapi::ControlApi;

async fn create_data(
    api: &ControlApi,
    kind: DataKind,
    name: &str,
    data: &[u8],
) -> Result<api::objects::DataObject, Status> {
    let spec = DataSpec {
        name: name.into(),
        data: data.to_vec(),
        ..Default::default()
    };
    let reply = api
        .create_data(Request::new(pc::CreateDataRequest {
            kind: types::convert::secret::kind_out(kind),
            spec: Some(spec.into()),
        }))
        .await?;
    Ok(reply.into_inner())
}

async fn remove_data(api: &ControlApi, kind: DataKind, id: &str) -> Result<(), Status> {
    api.remove_data(Request::new(pc::RemoveDataRequest {
        kind: types::convert::secret::kind_out(kind),
        id: id.into(),
    }))
    .await
    .map(drop)
}

fn reference(name: &str, target: &str) -> DataReference {
    DataReference {
        id: name.into(),
        target: target.into(),
        ..Default::default()
    }
}

#[tokio::test]
async fn a_secret_is_sealed_in_the_store_and_never_sent_back() {
    let store = store_with(vec![]).await;
    let api = api_over(&store);
    assert!(store.view(|t| t.cluster().unwrap().data_key.is_empty()));
    let secret = create_data(&api, DataKind::Secret, "pw", b"hunter2")
        .await
        .unwrap();
    assert!(
        secret.spec.as_ref().unwrap().data.is_empty(),
        "not in the answer"
    );
    let stored = store.view(|t| t.data[&secret.id].clone());
    assert!(
        !stored.spec.data.windows(7).any(|w| w == b"hunter2"),
        "the store holds the plain bytes"
    );
    let key = store.view(|t| t.cluster().unwrap().data_key.clone());
    assert!(
        !key.is_empty(),
        "the first secret gave the cluster its data key"
    );
    assert_eq!(
        security::seal::open(&key, &stored.spec.data).unwrap(),
        b"hunter2"
    );
    let got = api
        .get_data(Request::new(pc::GetDataRequest {
            kind: types::convert::secret::kind_out(DataKind::Secret),
            id: "pw".into(),
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(got.id, secret.id);
    assert!(got.spec.unwrap().data.is_empty());
    // A config is plain, shown, and lives apart: the same name is free there.
    let config = create_data(&api, DataKind::Config, "pw", b"listen 80")
        .await
        .unwrap();
    assert_eq!(config.spec.unwrap().data, b"listen 80");
    let secrets = api
        .list_data(Request::new(pc::ListDataRequest {
            kind: types::convert::secret::kind_out(DataKind::Secret),
        }))
        .await
        .unwrap()
        .into_inner()
        .objects;
    assert_eq!(secrets.len(), 1);
}

#[tokio::test]
async fn refusals_name_the_fix_and_change_nothing() {
    let store = store_with(vec![]).await;
    let api = api_over(&store);
    create_data(&api, DataKind::Secret, "pw", b"x")
        .await
        .unwrap();
    let before = store.view(|t| t.clone());
    assert_status(
        create_data(&api, DataKind::Secret, "pw", b"y").await,
        Code::AlreadyExists,
        &["pw", "pw-v2", "--secret-rm"],
    );
    assert_status(
        create_data(&api, DataKind::Secret, "bad name", b"y").await,
        Code::InvalidArgument,
        &["spec.name", "bad name"],
    );
    assert_status(
        create_data(&api, DataKind::Config, "big", &vec![b'x'; 600 * 1024]).await,
        Code::InvalidArgument,
        &["spec.data", "500 KiB"],
    );
    let mut s = spec("web");
    s.task.container.secrets = vec![reference("nosuch", "nosuch")];
    assert_status(
        create(&api, s).await,
        Code::InvalidArgument,
        &["secrets[0]", "nosuch", "swarmctl secret create"],
    );
    assert_status(
        remove_data(&api, DataKind::Config, "nosuch").await,
        Code::NotFound,
        &["nosuch"],
    );
    assert_eq!(
        store.view(|t| t.clone()),
        before,
        "a refusal changed the store"
    );
}

#[tokio::test]
async fn services_refer_by_id_and_a_used_one_cannot_be_removed() {
    let store = store_with(vec![]).await;
    let api = api_over(&store);
    let secret = create_data(&api, DataKind::Secret, "pw", b"x")
        .await
        .unwrap();
    let config = create_data(&api, DataKind::Config, "conf", b"c")
        .await
        .unwrap();
    let mut s = spec("web");
    s.task.container.secrets = vec![reference("pw", "pw")];
    s.task.container.configs = vec![reference(&config.id[..6], "/etc/app.conf")];
    let web = create(&api, s).await.unwrap();
    let c = &web.spec.task.container;
    assert_eq!(
        (c.secrets[0].id.as_str(), c.secrets[0].name.as_str()),
        (secret.id.as_str(), "pw")
    );
    assert_eq!(c.configs[0].id, config.id, "an ID prefix resolves too");
    assert_eq!(c.configs[0].name, "conf");
    assert_status(
        remove_data(&api, DataKind::Secret, "pw").await,
        Code::FailedPrecondition,
        &["pw", "web", "--secret-rm"],
    );
    api.remove_service(Request::new(pc::RemoveServiceRequest { id: "web".into() }))
        .await
        .unwrap();
    remove_data(&api, DataKind::Secret, "pw").await.unwrap();
    remove_data(&api, DataKind::Config, "conf").await.unwrap();
    assert!(store.view(|t| t.data.is_empty()));
}

async fn update_data(
    api: &ControlApi,
    kind: DataKind,
    id: &str,
    version: u64,
    spec: DataSpec,
) -> Result<api::objects::DataObject, Status> {
    let reply = api
        .update_data(Request::new(pc::UpdateDataRequest {
            kind: types::convert::secret::kind_out(kind),
            id: id.into(),
            version,
            spec: Some(spec.into()),
        }))
        .await?;
    Ok(reply.into_inner())
}

#[tokio::test]
async fn only_labels_change_and_a_stale_version_is_refused() {
    let store = store_with(vec![]).await;
    let api = api_over(&store);
    for kind in [DataKind::Secret, DataKind::Config] {
        let created = create_data(&api, kind, "pw", b"hunter2").await.unwrap();
        let version = created.meta.unwrap().version;
        let sealed = store.view(|t| t.data[&created.id].spec.data.clone());
        let mut spec = DataSpec {
            name: "pw".into(),
            labels: [("env".to_string(), "prod".to_string())].into(),
            data: b"hunter2".to_vec(),
        };
        let updated = update_data(&api, kind, "pw", version, spec.clone())
            .await
            .unwrap();
        assert_eq!(updated.spec.as_ref().unwrap().labels["env"], "prod");
        let new_version = updated.meta.unwrap().version;
        assert!(new_version > version, "the write bumps the version");
        let stored = store.view(|t| t.data[&created.id].clone());
        assert_eq!(stored.spec.data, sealed, "the data is kept as stored");
        assert_eq!(stored.spec.labels, spec.labels);
        let before = store.view(|t| t.clone());
        assert_status(
            update_data(&api, kind, "pw", version, spec.clone()).await,
            Code::FailedPrecondition,
            &["changed by someone else", "inspect it again"],
        );
        spec.data = b"hunter3".to_vec();
        assert_status(
            update_data(&api, kind, "pw", new_version, spec.clone()).await,
            Code::InvalidArgument,
            &["spec.data", "only updates to Labels are allowed", "pw-v2"],
        );
        spec.data = b"hunter2".to_vec();
        spec.name = "pw2".into();
        assert_status(
            update_data(&api, kind, "pw", new_version, spec.clone()).await,
            Code::InvalidArgument,
            &["spec.name", "only updates to Labels are allowed", "pw2"],
        );
        spec.name = String::new();
        spec.labels = [(" ".to_string(), String::new())].into();
        assert_status(
            update_data(&api, kind, "pw", new_version, spec.clone()).await,
            Code::InvalidArgument,
            &["spec.labels"],
        );
        assert_eq!(
            store.view(|t| t.clone()),
            before,
            "a refusal changed the store"
        );
        // Name and data left empty are kept: a labels-only request.
        spec.labels.clear();
        let cleared = update_data(&api, kind, &created.id, 0, spec).await.unwrap();
        assert!(cleared.spec.as_ref().unwrap().labels.is_empty());
        assert_eq!(cleared.spec.unwrap().name, "pw");
        assert_eq!(
            store.view(|t| t.data[&created.id].spec.data.clone()),
            sealed
        );
    }
}
