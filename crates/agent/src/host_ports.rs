//! Host-mode published ports answer on the task's node only; a port some process on the node
//! already holds would be shadowed by our DNAT, so such a task is rejected instead. Whether a
//! port is held is the data plane's to say (it reads the node's own socket tables).

use types::{PublishMode, Task};

use crate::network::NodeNetwork;

/// Why the task cannot take its host-mode ports on this node, if it cannot.
pub fn check_free(task: &Task, network: &dyn NodeNetwork) -> Result<(), String> {
    for p in &task.endpoint_ports {
        if p.publish_mode != PublishMode::Host || p.published_port == 0 {
            continue;
        }
        let Ok(port) = u16::try_from(p.published_port) else {
            continue;
        };
        match network.host_port_in_use(p.protocol, port) {
            Ok(false) => {}
            Ok(true) => {
                return Err(format!(
                    "host-mode port {port}/{} is already in use on this node",
                    p.protocol.as_str()
                ))
            }
            Err(e) => {
                return Err(format!(
                    "cannot tell whether host-mode port {port}/{} is free: {e}",
                    p.protocol.as_str()
                ))
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network::RecordingNetwork;
    use types::{PortConfig, PortProtocol};

    fn task_with(port: u16, mode: PublishMode) -> Task {
        let mut t = Task::default();
        t.endpoint_ports.push(PortConfig {
            protocol: PortProtocol::Tcp,
            target_port: 80,
            published_port: u32::from(port),
            publish_mode: mode,
        });
        t
    }

    #[test]
    fn a_port_held_on_the_node_rejects_host_mode_only() {
        let net = RecordingNetwork::default();
        net.ports_in_use
            .lock()
            .unwrap()
            .push((PortProtocol::Tcp, 8080));
        let err = check_free(&task_with(8080, PublishMode::Host), &net).unwrap_err();
        assert!(err.contains("8080/tcp is already in use"), "{err}");
        // Ingress ports go through the mesh: not this check's business.
        assert!(check_free(&task_with(8080, PublishMode::Ingress), &net).is_ok());
        assert!(check_free(&task_with(8081, PublishMode::Host), &net).is_ok());
    }
}
