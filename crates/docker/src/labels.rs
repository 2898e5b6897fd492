//! The labels swarmd puts on every container it creates. They are the only link between a
//! container and its task: after a restart the executor finds its containers by
//! [`NODE_ID`], and every other call maps a task ID to a container through [`TASK_ID`].

pub const SERVICE_ID: &str = "com.swarmd.service.id";
pub const SERVICE_NAME: &str = "com.swarmd.service.name";
pub const TASK_ID: &str = "com.swarmd.task.id";
pub const TASK_SLOT: &str = "com.swarmd.task.slot";
pub const NODE_ID: &str = "com.swarmd.node.id";

/// Docker filter expression selecting the containers of one node (`label=K=V`).
pub fn node_filter(node_id: &str) -> String {
    format!("{NODE_ID}={node_id}")
}

/// Docker filter expression selecting the container of one task.
pub fn task_filter(task_id: &str) -> String {
    format!("{TASK_ID}={task_id}")
}
