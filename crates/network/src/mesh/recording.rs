//! A mesh backend that only records what it was asked to program: for tests of the code
//! that drives the data plane (the agent, in-process clusters), where there is no kernel.

use std::sync::{Arc, Mutex};

use types::{MeshBackendKind, MeshTable, PortProtocol, VirtualService};

use crate::plan::MeshPlan;

#[derive(Debug, Clone, Default)]
pub struct RecordingMesh {
    /// Every distinct plan programmed, oldest first; shared with clones so a test can keep
    /// one while the data plane owns another.
    plans: Arc<Mutex<Vec<MeshPlan>>>,
}

impl RecordingMesh {
    pub fn new() -> RecordingMesh {
        RecordingMesh::default()
    }

    pub fn plans(&self) -> Vec<MeshPlan> {
        self.plans.lock().expect("recording mesh lock").clone()
    }

    /// Records the plan; like the real backends, an unchanged plan is not a change.
    pub fn program(&self, plan: &MeshPlan) -> bool {
        let mut plans = self.plans.lock().expect("recording mesh lock");
        if plans.last() == Some(plan) {
            return false;
        }
        plans.push(plan.clone());
        true
    }

    pub fn remove(&self) {
        let mut plans = self.plans.lock().expect("recording mesh lock");
        if let Some(last) = plans.last() {
            let empty = MeshPlan {
                ports: Vec::new(),
                ..last.clone()
            };
            plans.push(empty);
        }
    }

    /// What the last plan would look like read back from a kernel.
    pub fn table(&self) -> MeshTable {
        let plans = self.plans.lock().expect("recording mesh lock");
        let services = plans
            .last()
            .map(|p| {
                p.ports
                    .iter()
                    .map(|port| VirtualService {
                        protocol: port.protocol,
                        port: port.published,
                        mode: port.mode,
                        service_name: port.service_name.clone(),
                        scheduler: if port.backends.is_empty() {
                            "reject"
                        } else {
                            "recorded"
                        }
                        .into(),
                        fwmark: None,
                        backends: port.backends.clone(),
                    })
                    .collect()
            })
            .unwrap_or_default();
        let raw = plans
            .last()
            .map(|p| {
                p.ports
                    .iter()
                    .map(|x| format!("{} {} -> {:?}", proto(x.protocol), x.published, x.backends))
                    .collect::<Vec<_>>()
                    .join("\n")
            })
            .unwrap_or_default();
        MeshTable {
            backend: MeshBackendKind::None,
            services,
            raw,
        }
    }
}

fn proto(p: PortProtocol) -> &'static str {
    p.as_str()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::MeshPort;
    use types::PublishMode;

    fn plan(backends: &[&str]) -> MeshPlan {
        MeshPlan {
            bridge: "swarm-ingress".into(),
            subnet: "10.255.0.0/16".parse().unwrap(),
            ports: vec![MeshPort {
                protocol: PortProtocol::Tcp,
                published: 8080,
                mode: PublishMode::Ingress,
                service_name: "web".into(),
                backends: backends.iter().map(|b| b.parse().unwrap()).collect(),
            }],
        }
    }

    #[test]
    fn records_distinct_plans_and_reads_back_the_last() {
        let m = RecordingMesh::new();
        assert!(m.program(&plan(&["10.255.0.5:80"])));
        assert!(!m.program(&plan(&["10.255.0.5:80"])));
        assert!(m.program(&plan(&[])));
        assert_eq!(m.plans().len(), 2);
        let t = m.table();
        assert_eq!(t.services[0].scheduler, "reject");
        m.remove();
        assert!(m.table().services.is_empty());
    }
}
