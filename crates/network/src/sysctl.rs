//! Per-namespace kernel switches the data plane needs. /proc/sys/net is resolved against the
//! network namespace of the thread that opens it, so these act on the node's namespace.

use std::path::PathBuf;

use crate::error::{DataplaneError, Result};

/// Forwarding between the underlay and the ingress bridge (mesh traffic to remote tasks,
/// tasks' egress).
pub const IP_FORWARD: &str = "net.ipv4.ip_forward";
/// Lets `localhost:P` be DNAT'ed to a task: 127.0.0.0/8 sources may then be routed (and are
/// masqueraded on the bridge).
pub const ROUTE_LOCALNET: &str = "net.ipv4.conf.all.route_localnet";

pub fn path_of(key: &str) -> PathBuf {
    PathBuf::from("/proc/sys").join(key.replace('.', "/"))
}

/// Writes `value` unless it is already set (reading is cheap, writing needs root).
pub fn ensure(key: &str, value: &str) -> Result<()> {
    let path = path_of(key);
    if std::fs::read_to_string(&path).is_ok_and(|v| v.trim() == value) {
        return Ok(());
    }
    std::fs::write(&path, value).map_err(DataplaneError::io(format!("set {key}={value}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_map_to_proc_paths() {
        assert_eq!(
            path_of(ROUTE_LOCALNET),
            PathBuf::from("/proc/sys/net/ipv4/conf/all/route_localnet")
        );
    }
}
