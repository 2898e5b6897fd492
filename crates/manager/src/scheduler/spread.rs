//! Spread: which of the nodes that pass every filter takes the next task of a group.
//!
//! Without placement preferences the nodes sit in one min-heap ordered by (tasks of this
//! service, tasks overall, node ID). Each `spread=<label>` preference adds a level above it:
//! nodes are grouped by the label's value (nodes without the label form one more group) and the
//! group holding the fewest tasks of the service is served first. Placing a task only changes
//! the node it lands on, so the heap stays correct by re-pushing just that node: a batch of N
//! tasks on M nodes costs O(M + N log M).

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};

use types::constraint::SpreadPreference;
use types::Task;

use super::filter::Pipeline;
use super::nodeinfo::NodeInfo;

/// Heap order: fewest tasks of the service, then fewest tasks overall, then lowest index —
/// nodes are indexed in ID order, so ties break by node ID and decisions are reproducible.
type Rank = Reverse<(u32, u32, usize)>;

fn rank(info: &NodeInfo<'_>, service_id: &str, index: usize) -> Rank {
    Reverse((info.service_tasks(service_id), info.total_tasks, index))
}

/// The candidate nodes of one group of identical tasks, arranged for spreading.
pub struct SpreadTree {
    /// Tasks of the service on this subtree's nodes: what preference levels balance.
    service_tasks: u64,
    /// False once no node below can take another task of the group.
    open: bool,
    level: Level,
}

enum Level {
    Nodes(BinaryHeap<Rank>),
    /// One subtree per label value, in value order (`None`, nodes lacking the label, first).
    Groups(Vec<SpreadTree>),
}

impl SpreadTree {
    /// Arranges `candidates` (indexes into `nodes`, each passing every filter for `task`).
    pub fn new(
        nodes: &[NodeInfo<'_>],
        candidates: &[usize],
        preferences: &[SpreadPreference],
        task: &Task,
    ) -> SpreadTree {
        let service_tasks = candidates
            .iter()
            .map(|&i| u64::from(nodes[i].service_tasks(&task.service_id)))
            .sum();
        let level = match preferences.split_first() {
            None => Level::Nodes(
                candidates
                    .iter()
                    .map(|&i| rank(&nodes[i], &task.service_id, i))
                    .collect(),
            ),
            Some((pref, deeper)) => {
                let mut groups: BTreeMap<Option<&str>, Vec<usize>> = BTreeMap::new();
                for &i in candidates {
                    groups
                        .entry(pref.value_of(nodes[i].node))
                        .or_default()
                        .push(i);
                }
                Level::Groups(
                    groups
                        .values()
                        .map(|members| SpreadTree::new(nodes, members, deeper, task))
                        .collect(),
                )
            }
        };
        SpreadTree {
            service_tasks,
            open: !candidates.is_empty(),
            level,
        }
    }

    /// Places `task` on the best node below, accounting for it in `nodes`, and returns the
    /// node's index; `None` when no node below can take it.
    pub fn place<'a>(
        &mut self,
        nodes: &mut [NodeInfo<'a>],
        pipeline: &Pipeline,
        task: &'a Task,
    ) -> Option<usize> {
        if !self.open {
            return None;
        }
        let placed = match &mut self.level {
            Level::Nodes(heap) => heap.pop().map(|Reverse((_, _, index))| {
                let info = &mut nodes[index];
                info.add_task(task);
                // The node may be full now; it only goes back if it could take another.
                if pipeline.check(info, task) {
                    heap.push(rank(info, &task.service_id, index));
                }
                index
            }),
            Level::Groups(groups) => loop {
                let Some(group) = groups
                    .iter_mut()
                    .filter(|g| g.open)
                    .min_by_key(|g| g.service_tasks)
                else {
                    break None;
                };
                if let Some(index) = group.place(nodes, pipeline, task) {
                    break Some(index);
                }
            },
        };
        match placed {
            Some(_) => self.service_tasks += 1,
            None => self.open = false,
        }
        placed
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scheduler::fixtures::*;
    use types::Node;

    /// Places `count` copies of `task` on `nodes` (all passing), returning node IDs in order.
    fn spread(nodes: &[Node], existing: &[Task], task: &Task, count: usize) -> Vec<String> {
        let mut infos: Vec<NodeInfo> = nodes.iter().map(NodeInfo::new).collect();
        for t in existing {
            let i = nodes.iter().position(|n| n.id == t.node_id).unwrap();
            infos[i].add_task(t);
        }
        let prefs = SpreadPreference::parse_all(&task.spec.placement.preferences).unwrap();
        let pipeline = Pipeline::for_task(task);
        let candidates: Vec<usize> = (0..infos.len())
            .filter(|&i| pipeline.check(&infos[i], task))
            .collect();
        let mut tree = SpreadTree::new(&infos, &candidates, &prefs, task);
        (0..count)
            .map_while(|_| tree.place(&mut infos, &pipeline, task))
            .map(|i| nodes[i].id.clone())
            .collect()
    }

    #[test]
    fn spreads_by_service_then_total_then_id() {
        let nodes = [node("a"), node("b"), node("c")];
        let t = pending("s", 1);
        assert_eq!(spread(&nodes, &[], &t, 4), ["a", "b", "c", "a"]);
        // `a` runs one of ours, `b` two of another service: empty `c` first, then `b` (none of
        // ours, however busy), then `a` (tied with `c` on ours and overall, lower ID).
        let existing = [
            running("s", 9, "a"),
            running("o", 1, "b"),
            running("o", 2, "b"),
        ];
        assert_eq!(spread(&nodes, &existing, &t, 3), ["c", "b", "a"]);
        let existing = [running("o", 1, "a")];
        assert_eq!(spread(&nodes, &existing, &t, 2), ["b", "c"]);
    }

    #[test]
    fn full_nodes_leave_the_heap() {
        let nodes = [node("a"), node("b")];
        let t = max_per_node(pending("s", 1), 2);
        assert_eq!(spread(&nodes, &[], &t, 9), ["a", "b", "a", "b"]);
        let t = reserving(pending("s", 1), 3_000_000_000, 0);
        assert_eq!(spread(&nodes, &[], &t, 9), ["a", "b"]);
    }

    #[test]
    fn preferences_balance_label_values_first() {
        let nodes = [
            labelled(node("a1"), "zone", "a"),
            labelled(node("a2"), "zone", "a"),
            labelled(node("a3"), "zone", "a"),
            labelled(node("b1"), "zone", "b"),
            node("x1"),
        ];
        let t = spread_by(pending("s", 1), "zone");
        // Three groups (a, b, unlabelled) get one each before any gets a second.
        let placed = spread(&nodes, &[], &t, 6);
        assert_eq!(placed, ["x1", "a1", "b1", "x1", "a2", "b1"]);
        // Existing tasks count per group: zone b already has two.
        let existing = [running("s", 8, "b1"), running("s", 9, "b1")];
        assert_eq!(spread(&nodes, &existing, &t, 4), ["x1", "a1", "x1", "a2"]);
    }

    #[test]
    fn nested_preferences_spread_at_every_level() {
        let nodes = [
            labelled(labelled(node("n1"), "dc", "east"), "rack", "r1"),
            labelled(labelled(node("n2"), "dc", "east"), "rack", "r1"),
            labelled(labelled(node("n3"), "dc", "east"), "rack", "r2"),
            labelled(labelled(node("n4"), "dc", "west"), "rack", "r1"),
        ];
        let t = spread_by(spread_by(pending("s", 1), "dc"), "rack");
        assert_eq!(spread(&nodes, &[], &t, 4), ["n1", "n4", "n3", "n4"]);
    }

    #[test]
    fn a_full_group_yields_to_the_others() {
        let nodes = [
            labelled(node("a1"), "zone", "a"),
            labelled(node("b1"), "zone", "b"),
            labelled(node("b2"), "zone", "b"),
        ];
        let t = max_per_node(spread_by(pending("s", 1), "zone"), 1);
        assert_eq!(spread(&nodes, &[], &t, 5), ["a1", "b1", "b2"]);
    }
}
