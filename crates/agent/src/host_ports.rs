//! Host-mode published ports answer on the task's node only; a port some process on the node
//! already listens on would be shadowed by our DNAT, so such a task is rejected instead.

use std::net::{Ipv4Addr, TcpListener, UdpSocket};

use types::{PortProtocol, PublishMode, Task};

/// Why the task cannot take its host-mode ports on this node, if it cannot.
pub fn check_free(task: &Task) -> Result<(), String> {
    for p in &task.endpoint_ports {
        if p.publish_mode != PublishMode::Host || p.published_port == 0 {
            continue;
        }
        let Ok(port) = u16::try_from(p.published_port) else {
            continue;
        };
        let taken = match p.protocol {
            PortProtocol::Tcp => TcpListener::bind((Ipv4Addr::UNSPECIFIED, port)).is_err(),
            PortProtocol::Udp => UdpSocket::bind((Ipv4Addr::UNSPECIFIED, port)).is_err(),
        };
        if taken {
            return Err(format!(
                "host-mode port {port}/{} is already in use on this node",
                p.protocol.as_str()
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use types::PortConfig;

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
    fn a_port_held_by_a_process_rejects_host_mode_only() {
        let held = TcpListener::bind((Ipv4Addr::UNSPECIFIED, 0)).unwrap();
        let port = held.local_addr().unwrap().port();
        let err = check_free(&task_with(port, PublishMode::Host)).unwrap_err();
        assert!(
            err.contains(&format!("{port}/tcp is already in use")),
            "{err}"
        );
        // Ingress ports go through the mesh: not this check's business.
        assert!(check_free(&task_with(port, PublishMode::Ingress)).is_ok());
        drop(held);
        assert!(check_free(&task_with(port, PublishMode::Host)).is_ok());
    }
}
