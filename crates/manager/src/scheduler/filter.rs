//! Filters: each decides whether one node can take one task and explains, for a count of
//! nodes it rejected, why. A [`Pipeline`] runs them in a fixed order; a node is blamed on the
//! first filter that rejects it, which is what the unschedulable message reports.

use types::constraint::{Constraint, ConstraintError};
use types::Task;

use super::nodeinfo::{host_ports, NodeInfo};

pub trait Filter {
    fn check(&self, node: &NodeInfo<'_>, task: &Task) -> bool;
    /// Why `nodes` nodes were rejected, as a fragment of `no suitable node (...)`.
    fn explain(&self, nodes: usize) -> String;
}

/// `1 node` / `3 nodes`.
fn nodes_phrase(nodes: usize) -> String {
    if nodes == 1 {
        "1 node".to_string()
    } else {
        format!("{nodes} nodes")
    }
}

/// The node is up (the dispatcher hears from it), open for new work (not paused/drained) and
/// its container engine answers.
pub struct ReadyFilter;

impl Filter for ReadyFilter {
    fn check(&self, node: &NodeInfo<'_>, _task: &Task) -> bool {
        node.node.takes_new_tasks()
    }
    fn explain(&self, nodes: usize) -> String {
        format!("{} not available for new tasks", nodes_phrase(nodes))
    }
}

/// The task's CPU and memory reservations fit in what the node's tasks leave free. A task
/// reserving nothing fits anywhere, as in docker.
pub struct ResourceFilter;

impl Filter for ResourceFilter {
    fn check(&self, node: &NodeInfo<'_>, task: &Task) -> bool {
        let want = &task.spec.resources.reservations;
        let free = &node.available;
        (want.nano_cpus <= 0 || want.nano_cpus <= free.nano_cpus)
            && (want.memory_bytes <= 0 || want.memory_bytes <= free.memory_bytes)
    }
    fn explain(&self, nodes: usize) -> String {
        format!("insufficient resources on {}", nodes_phrase(nodes))
    }
}

/// The task's placement constraints, parsed once per task rather than once per node.
pub struct ConstraintFilter {
    /// A spec stored before validation existed (or by a buggy writer) may not parse; such a
    /// task fits nowhere and the error says why.
    constraints: Result<Vec<Constraint>, ConstraintError>,
}

impl ConstraintFilter {
    pub fn for_task(task: &Task) -> ConstraintFilter {
        ConstraintFilter {
            constraints: Constraint::parse_all(&task.spec.placement.constraints),
        }
    }
}

impl Filter for ConstraintFilter {
    fn check(&self, node: &NodeInfo<'_>, _task: &Task) -> bool {
        match &self.constraints {
            Ok(list) => Constraint::all_match(list, node.node),
            Err(_) => false,
        }
    }
    fn explain(&self, nodes: usize) -> String {
        let text = format!(
            "scheduling constraints not satisfied on {}",
            nodes_phrase(nodes)
        );
        match &self.constraints {
            Ok(_) => text,
            Err(e) => format!("{text}: {e}"),
        }
    }
}

/// Host-mode published ports bind the node's own addresses, so two live tasks on one node
/// cannot publish the same protocol and port.
pub struct HostPortFilter;

impl Filter for HostPortFilter {
    fn check(&self, node: &NodeInfo<'_>, task: &Task) -> bool {
        host_ports(task).all(|p| !node.host_ports.contains(&p))
    }
    fn explain(&self, nodes: usize) -> String {
        format!("host-mode port already in use on {}", nodes_phrase(nodes))
    }
}

/// `--replicas-max-per-node`: at most this many live tasks of the service on one node.
pub struct MaxReplicasFilter;

impl Filter for MaxReplicasFilter {
    fn check(&self, node: &NodeInfo<'_>, task: &Task) -> bool {
        let max = task.spec.placement.max_replicas;
        max == 0 || u64::from(node.service_tasks(&task.service_id)) < max
    }
    fn explain(&self, nodes: usize) -> String {
        format!("max replicas per node reached on {}", nodes_phrase(nodes))
    }
}

/// Every filter, prepared for one task, in the order the scheduler applies them.
pub struct Pipeline {
    ready: ReadyFilter,
    resources: ResourceFilter,
    constraints: ConstraintFilter,
    host_ports: HostPortFilter,
    max_replicas: MaxReplicasFilter,
}

impl Pipeline {
    pub fn for_task(task: &Task) -> Pipeline {
        Pipeline {
            ready: ReadyFilter,
            resources: ResourceFilter,
            constraints: ConstraintFilter::for_task(task),
            host_ports: HostPortFilter,
            max_replicas: MaxReplicasFilter,
        }
    }

    fn filters(&self) -> [&dyn Filter; 5] {
        [
            &self.ready,
            &self.resources,
            &self.constraints,
            &self.host_ports,
            &self.max_replicas,
        ]
    }

    /// Index (in filter order) of the first filter rejecting the node, `None` if all pass.
    pub fn first_failure(&self, node: &NodeInfo<'_>, task: &Task) -> Option<usize> {
        self.filters().iter().position(|f| !f.check(node, task))
    }

    pub fn check(&self, node: &NodeInfo<'_>, task: &Task) -> bool {
        self.first_failure(node, task).is_none()
    }

    /// The unschedulable message for `task` over `nodes`, docker style:
    /// `no suitable node (scheduling constraints not satisfied on 2 nodes; insufficient
    /// resources on 1 node)`. Reasons follow filter order; nodes that pass are not mentioned.
    pub fn explain<'n, 'a: 'n>(
        &self,
        nodes: impl IntoIterator<Item = &'n NodeInfo<'a>>,
        task: &Task,
    ) -> String {
        let mut rejected = [0usize; 5];
        let mut any_node = false;
        for node in nodes {
            any_node = true;
            if let Some(i) = self.first_failure(node, task) {
                rejected[i] += 1;
            }
        }
        if !any_node {
            return "no suitable node (the cluster has no nodes)".to_string();
        }
        let reasons: Vec<String> = self
            .filters()
            .iter()
            .zip(rejected)
            .filter(|(_, n)| *n > 0)
            .map(|(f, n)| f.explain(n))
            .collect();
        if reasons.is_empty() {
            "no suitable node".to_string()
        } else {
            format!("no suitable node ({})", reasons.join("; "))
        }
    }
}

#[cfg(test)]
#[path = "filter_tests.rs"]
mod tests;
