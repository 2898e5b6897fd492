use std::collections::BTreeMap;

use compose::{Condition, StackPlan, NAMESPACE_LABEL};
use types::{
    DataKind, DataObject, DataReference, DataSpec, HealthState, Network, NetworkSpec,
    NetworkTarget, Service, ServiceSpec, Task, TaskState,
};

use super::decide::*;

fn labels(stack: &str) -> BTreeMap<String, String> {
    BTreeMap::from([(NAMESPACE_LABEL.to_string(), stack.to_string())])
}

fn spec(name: &str, image: &str) -> ServiceSpec {
    let mut s = ServiceSpec {
        name: name.into(),
        labels: labels("app"),
        ..Default::default()
    };
    s.task.container.image = image.into();
    s.task.networks = vec![NetworkTarget {
        target: "app_default".into(),
        aliases: vec!["web".into()],
    }];
    s.task.container.secrets = vec![DataReference {
        id: "app_pw".into(),
        name: "app_pw".into(),
        target: "pw".into(),
        uid: "0".into(),
        gid: "0".into(),
        mode: 0o444,
    }];
    s
}

fn network(id: &str, name: &str, stack: Option<&str>) -> Network {
    let mut spec = NetworkSpec::overlay(name);
    spec.labels = stack.map(labels).unwrap_or_default();
    Network {
        id: id.into(),
        meta: Default::default(),
        spec,
    }
}

fn data(kind: DataKind, id: &str, name: &str, stack: Option<&str>) -> DataObject {
    DataObject {
        id: id.into(),
        kind,
        spec: DataSpec {
            name: name.into(),
            labels: stack.map(labels).unwrap_or_default(),
            data: b"x".to_vec(),
        },
        ..Default::default()
    }
}

/// A service as the manager stores `spec`: network and secret names resolved to IDs.
fn stored(id: &str, spec: &ServiceSpec) -> Service {
    let mut spec = spec.clone();
    spec.task.networks[0].target = "net1".into();
    spec.task.container.secrets[0].id = "sec1".into();
    let mut s = Service {
        id: id.into(),
        spec,
        ..Default::default()
    };
    s.meta.version = 7;
    s
}

fn plan() -> StackPlan {
    StackPlan {
        services: vec![spec("app_api", "api:1"), spec("app_db", "db:1")],
        networks: vec![NetworkSpec::overlay("app_default")],
        secrets: vec![DataSpec {
            name: "app_pw".into(),
            labels: labels("app"),
            data: b"pw".to_vec(),
        }],
        depends_on: BTreeMap::from([(
            "app_api".to_string(),
            vec![("app_db".to_string(), Condition::Started)],
        )]),
        ..Default::default()
    }
}

#[test]
fn a_first_deploy_creates_everything_dependencies_first() {
    let actions = deploy_actions(&plan(), &Current::default(), "app", false).unwrap();
    let lines: Vec<String> = actions.iter().map(Action::describe).collect();
    assert_eq!(
        lines,
        [
            "Creating network app_default",
            "Creating secret app_pw",
            "Creating service app_db",
            "Creating service app_api",
        ]
    );
}

fn deployed() -> Current {
    let p = plan();
    Current {
        services: vec![stored("s1", &p.services[0]), stored("s2", &p.services[1])],
        networks: vec![network("net1", "app_default", Some("app"))],
        secrets: vec![data(DataKind::Secret, "sec1", "app_pw", Some("app"))],
        configs: vec![],
    }
}

#[test]
fn redeploying_the_same_plan_does_nothing() {
    assert_eq!(
        deploy_actions(&plan(), &deployed(), "app", true).unwrap(),
        []
    );
}

#[test]
fn only_a_changed_service_is_updated_with_its_version() {
    let mut p = plan();
    p.services[1].task.container.image = "db:2".into();
    let actions = deploy_actions(&p, &deployed(), "app", false).unwrap();
    assert_eq!(
        actions,
        [Action::UpdateService {
            id: "s2".into(),
            version: 7,
            spec: p.services[1].clone()
        }]
    );
}

#[test]
fn prune_removes_only_this_stacks_services_not_in_the_file() {
    let mut current = deployed();
    let mut other = spec("other_x", "x");
    other.labels = labels("other");
    current.services.push(stored("s3", &other));
    current.services.push(stored(
        "s4",
        &ServiceSpec {
            labels: labels("app"),
            ..spec("app_old", "o")
        },
    ));
    let actions = deploy_actions(&plan(), &current, "app", true).unwrap();
    assert_eq!(
        actions,
        [Action::RemoveService {
            id: "s4".into(),
            name: "app_old".into()
        }]
    );
    assert_eq!(deploy_actions(&plan(), &current, "app", false).unwrap(), []);
}

#[test]
fn a_dependency_cycle_names_the_services() {
    let mut p = plan();
    p.depends_on.insert(
        "app_db".into(),
        vec![("app_api".into(), Condition::Started)],
    );
    let e = start_order(&p).unwrap_err().to_string();
    assert!(e.contains("cycle among services app_api, app_db"), "{e}");
}

#[test]
fn missing_externals_are_named() {
    let p = StackPlan {
        external_networks: vec!["shared".into(), "there".into()],
        external_secrets: vec!["key".into()],
        external_configs: vec!["conf".into()],
        ..Default::default()
    };
    let current = Current {
        networks: vec![network("n", "there", None)],
        configs: vec![data(DataKind::Config, "c", "conf", None)],
        ..Default::default()
    };
    assert_eq!(
        missing_externals(&p, &current),
        ["network shared", "secret key"]
    );
}

#[test]
fn removal_takes_only_the_stacks_labelled_objects() {
    let mut current = deployed();
    current.networks.push(network("net2", "shared", None));
    current
        .networks
        .push(network("net3", "b_default", Some("b")));
    current
        .configs
        .push(data(DataKind::Config, "c1", "app_conf", Some("app")));
    let r = removal(&current, "app");
    assert_eq!(r.services.len(), 2);
    assert_eq!(
        r.networks,
        [("net1".to_string(), "app_default".to_string())]
    );
    assert_eq!(r.secrets, [("sec1".to_string(), "app_pw".to_string())]);
    assert_eq!(r.configs, [("c1".to_string(), "app_conf".to_string())]);
    assert!(removal(&current, "nothing").is_empty());
}

#[test]
fn stacks_are_counted_by_the_label() {
    let mut current = deployed();
    current.services.push(stored("x", &spec("other_x", "x")));
    current.services[2].spec.labels = labels("other");
    current.services.push(Service::default());
    assert_eq!(
        stack_counts(&current.services),
        [("app".to_string(), 2), ("other".to_string(), 1)]
    );
}

#[test]
fn conditions_look_at_state_health_and_exit_code() {
    let task = |state, health, exit_code| {
        let mut t = Task::default();
        t.status.state = state;
        t.status.health = health;
        t.status.exit_code = exit_code;
        t
    };
    let running = task(TaskState::Running, HealthState::Starting, 0);
    assert!(condition_met(
        Condition::Started,
        std::slice::from_ref(&running)
    ));
    assert!(!condition_met(Condition::Healthy, &[running]));
    let healthy = task(TaskState::Running, HealthState::Healthy, 0);
    assert!(condition_met(Condition::Healthy, &[healthy]));
    assert!(!condition_met(Condition::Started, &[]));
    let failed = task(TaskState::Complete, HealthState::None, 1);
    assert!(!condition_met(Condition::CompletedSuccessfully, &[failed]));
    let done = task(TaskState::Complete, HealthState::None, 0);
    assert!(condition_met(Condition::CompletedSuccessfully, &[done]));
}
