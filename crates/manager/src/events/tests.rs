use std::collections::BTreeMap;
use std::time::Duration;

use store::{Event, Object, Tables};
use types::event::{ClusterEvent, EventAction, EventFilter, EventType};
use types::{
    DataKind, DataObject, DataSpec, ManagerStatus, Node, NodeDescription, NodeState, Service,
    ServiceMode, Task, TaskState,
};

use super::{EventHistory, EventMapper, HistoryLimits, Ring, Window};

const MS: i64 = 1_000_000;

fn attrs(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn service(id: &str, name: &str, image: &str, replicas: u64) -> Service {
    let mut s = Service {
        id: id.into(),
        ..Default::default()
    };
    s.spec.name = name.into();
    s.spec.task.container.image = image.into();
    s.spec.mode = ServiceMode::Replicated { replicas };
    s
}

fn node(id: &str, hostname: &str, state: NodeState) -> Node {
    Node {
        id: id.into(),
        description: NodeDescription {
            hostname: hostname.into(),
            ..Default::default()
        },
        status: types::NodeStatus {
            state,
            ..Default::default()
        },
        ..Default::default()
    }
}

#[test]
fn a_created_service_is_named_and_stamped_when_applied() {
    let mut m = EventMapper::default();
    let e = m
        .map(
            &Event::Created(Object::Service(service("s1", "web", "nginx", 1))),
            9 * MS,
        )
        .unwrap();
    assert_eq!(
        e,
        ClusterEvent {
            time_ns: 9 * MS,
            kind: EventType::Service,
            action: EventAction::Create,
            id: "s1".into(),
            attributes: attrs(&[("name", "web")]),
        }
    );
}

#[test]
fn updates_report_what_changed_as_old_and_new() {
    let mut m = EventMapper::default();
    m.map(
        &Event::Created(Object::Service(service("s1", "web", "nginx:1", 1))),
        0,
    );
    let e = m
        .map(
            &Event::Updated(Object::Service(service("s1", "web", "nginx:2", 3))),
            0,
        )
        .unwrap();
    assert_eq!(
        e.attributes,
        attrs(&[
            ("name", "web"),
            ("image.old", "nginx:1"),
            ("image.new", "nginx:2"),
            ("replicas.old", "1"),
            ("replicas.new", "3"),
        ])
    );
    let mut down = node("n1", "worker1", NodeState::Down);
    let mut tables = Tables::default();
    tables
        .nodes
        .insert("n1".into(), node("n1", "worker1", NodeState::Ready));
    let mut m = EventMapper::new(&tables);
    down.manager_status = Some(ManagerStatus::default());
    let e = m.map(&Event::Updated(Object::Node(down)), 0).unwrap();
    assert_eq!(e.attributes["state.old"], "ready");
    assert_eq!(e.attributes["state.new"], "down");
    assert_eq!(e.attributes["leader.new"], "false");
    assert!(!e.attributes.contains_key("role.old"), "{:?}", e.attributes);
}

#[test]
fn tasks_name_their_service_slot_and_node() {
    let mut m = EventMapper::default();
    m.map(
        &Event::Created(Object::Node(node("n1", "worker1", NodeState::Ready))),
        0,
    );
    let mut t = Task {
        id: "t1".into(),
        service_name: "web".into(),
        slot: 2,
        ..Default::default()
    };
    let e = m.map(&Event::Created(Object::Task(t.clone())), 0).unwrap();
    assert_eq!(
        e.attributes,
        attrs(&[("name", "web.2"), ("service", "web"), ("slot", "2")])
    );
    t.node_id = "n1".into();
    t.status.state = TaskState::Assigned;
    let e = m.map(&Event::Updated(Object::Task(t.clone())), 0).unwrap();
    assert_eq!(e.attributes["node"], "worker1");
    assert_eq!(e.attributes["state.old"], "new");
    assert_eq!(e.attributes["state.new"], "assigned");
    let e = m.map(&Event::Removed(Object::Task(t)), 7 * MS).unwrap();
    assert_eq!((e.action, e.time_ns), (EventAction::Remove, 7 * MS));
}

#[test]
fn secrets_give_their_name_only_and_the_cluster_gives_nothing() {
    let secret = DataObject {
        id: "d1".into(),
        kind: DataKind::Secret,
        spec: DataSpec {
            name: "db-pw".into(),
            labels: [("owner".to_string(), "alice".to_string())].into(),
            data: b"hunter2".to_vec(),
        },
        ..Default::default()
    };
    let mut m = EventMapper::default();
    let e = m.map(&Event::Created(Object::Data(secret)), 0).unwrap();
    assert_eq!(e.kind, EventType::Secret);
    assert_eq!(e.attributes, attrs(&[("name", "db-pw")]));
    let cluster = Object::Cluster(types::Cluster::new("c1", Default::default()));
    assert_eq!(m.map(&Event::Updated(cluster), 0), None);
}

fn event(time_ms: i64, name: &str) -> ClusterEvent {
    ClusterEvent {
        time_ns: time_ms * MS,
        kind: EventType::Service,
        action: EventAction::Create,
        id: format!("id-{name}"),
        attributes: attrs(&[("name", name)]),
    }
}

fn names(events: &[ClusterEvent]) -> Vec<&str> {
    events.iter().map(|e| e.name()).collect()
}

const ALL: Window = Window {
    since_ms: 0,
    until_ms: None,
};

#[test]
fn the_ring_keeps_the_latest_events_up_to_its_count() {
    let limits = HistoryLimits {
        max_events: 3,
        max_age: Duration::from_secs(3600),
    };
    let mut ring = Ring::new(limits);
    for (i, name) in ["a", "b", "c", "d", "e"].iter().enumerate() {
        ring.push(event(1_000 + i as i64, name), 2_000 * MS);
    }
    assert_eq!(ring.len(), 3);
    let kept = ring.replay(ALL, &EventFilter::default(), 2_000 * MS);
    assert_eq!(names(&kept), ["c", "d", "e"]);
}

#[test]
fn the_ring_forgets_events_older_than_its_age() {
    let limits = HistoryLimits {
        max_events: 100,
        max_age: Duration::from_secs(10),
    };
    let mut ring = Ring::new(limits);
    ring.push(event(1_000, "old"), 1_000 * MS);
    ring.push(event(5_000, "mid"), 5_000 * MS);
    assert_eq!(ring.len(), 2);
    ring.push(event(12_000, "new"), 12_000 * MS);
    assert_eq!(
        names(&ring.replay(ALL, &EventFilter::default(), 12_000 * MS)),
        ["mid", "new"]
    );
    assert!(ring
        .replay(ALL, &EventFilter::default(), 60_000 * MS)
        .is_empty());
}

#[test]
fn replay_honours_the_window_and_the_filter() {
    let mut ring = Ring::new(HistoryLimits::default());
    for (t, name) in [(1_000, "a"), (2_000, "b"), (3_000, "c")] {
        ring.push(event(t, name), 3_000 * MS);
    }
    let window = Window {
        since_ms: 2_000,
        until_ms: Some(3_000),
    };
    let all = EventFilter::default();
    assert_eq!(names(&ring.replay(window, &all, 3_000 * MS)), ["b", "c"]);
    let only_c = EventFilter::parse_args(&["name=c"]).unwrap();
    assert_eq!(names(&ring.replay(ALL, &only_c, 3_000 * MS)), ["c"]);
}

#[tokio::test]
async fn a_subscriber_gets_the_history_then_live_events() {
    let history = EventHistory::new(HistoryLimits::default());
    let now_ms = super::now_ns() / MS;
    history.record(event(now_ms, "before"));
    let (past, mut live) = history.subscribe(Some(ALL), &EventFilter::default());
    let (none, _) = history.subscribe(None, &EventFilter::default());
    history.record(event(now_ms, "after"));
    assert_eq!(names(&past), ["before"]);
    assert!(none.is_empty());
    assert_eq!(live.recv().await.unwrap().name(), "after");
    assert_eq!(history.len(), 2);
}
