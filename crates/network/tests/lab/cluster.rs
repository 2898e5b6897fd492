//! Three lab nodes running the data plane, a client namespace, and tasks with responders.

use std::net::{Ipv4Addr, SocketAddr};

use types::{NetworkView, PortConfig};

use super::http;
use super::view::{self, LabTask};
use super::{Lab, NodeHandle};

/// Port every lab task's responder listens on.
pub const TASK_PORT: u16 = 80;

pub struct Cluster {
    /// Dropped first: nodes tear their data plane down before the namespaces go.
    pub nodes: Vec<NodeHandle>,
    pub client_ns: String,
    pub client_ip: Ipv4Addr,
    pub tasks: Vec<LabTask>,
    pub lab: Lab,
}

impl Cluster {
    pub fn new(tag: &str, n_nodes: usize) -> Cluster {
        let mut lab = Lab::new(tag);
        let mut nodes = Vec::new();
        for i in 0..n_nodes {
            let what = format!("n{i}");
            let ip = lab.add_underlay_ns(&what);
            nodes.push(NodeHandle::start(
                &format!("node-{i}"),
                &lab.ns_path(&what),
                ip,
            ));
        }
        let client_ip = lab.add_underlay_ns("cl");
        let client_ns = lab.ns_path("cl");
        let c = Cluster {
            nodes,
            client_ns,
            client_ip,
            tasks: Vec::new(),
            lab,
        };
        c.apply(&[]);
        c
    }

    /// Applies the view with these services on every node.
    pub fn apply(&self, services: &[(&str, Vec<PortConfig>, Vec<&LabTask>)]) {
        let v = self.view(services);
        for n in &self.nodes {
            n.apply(&v)
                .unwrap_or_else(|e| panic!("apply on {}: {e}", n.node_id));
        }
    }

    pub fn view(&self, services: &[(&str, Vec<PortConfig>, Vec<&LabTask>)]) -> NetworkView {
        let nodes: Vec<&NodeHandle> = self.nodes.iter().collect();
        let tasks: Vec<&LabTask> = self.tasks.iter().collect();
        view::view(&nodes, services, &tasks)
    }

    /// A task on node `node`, with IP 10.255.1.<host> and a responder named `name`.
    pub fn add_task(&mut self, name: &str, node: usize, host: u8) -> LabTask {
        self.add_task_with_pid(name, node, host).0
    }

    /// [`Cluster::add_task`], also answering the PID that holds its namespace.
    pub fn add_task_with_pid(&mut self, name: &str, node: usize, host: u8) -> (LabTask, u32) {
        let pid = self.lab.add_task_ns(name);
        let addr = Ipv4Addr::new(10, 255, 1, host);
        let task_id = format!("task{name}");
        self.nodes[node]
            .attach(&task_id, pid, addr)
            .unwrap_or_else(|e| panic!("attach {name}: {e}"));
        http::serve(&self.lab.ns_path(name), TASK_PORT, name);
        let t = LabTask {
            task_id,
            node_id: self.nodes[node].node_id.clone(),
            addr,
        };
        self.tasks.push(t.clone());
        (t, pid)
    }

    /// Makes the client route `subnet` through node `node`'s underlay address, as a LAN host
    /// could.
    pub fn route_client_via(&self, subnet: &str, node: usize) {
        let via = self.nodes[node].underlay.to_string();
        let cl = self.lab.ns_name("cl");
        super::sh(&["ip", "-n", &cl, "route", "add", subnet, "via", &via]);
    }

    pub fn node_addr(&self, node: usize, port: u16) -> SocketAddr {
        SocketAddr::from((self.nodes[node].underlay, port))
    }
}
