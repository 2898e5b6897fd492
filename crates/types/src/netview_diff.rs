//! What changed between two [`NetworkView`]s, so that a node is sent the change instead of the
//! whole view. A view holds every peer, every published service's backends and every task
//! endpoint of the cluster: sent whole to every node on every change it costs nodes × view
//! (with 5,000 nodes and 100,000 tasks, gigabytes per change); a diff costs nodes × change.
//!
//! Every list of a view is in key order (node ID, service ID, task ID, network ID), as the leader builds it
//! from the store's ordered tables; [`NetworkView::diff`] and [`NetworkView::apply`] rely on it,
//! and `old.apply(&old.diff(&new)) == new`. A change is a "set to" (upsert) or a removal by
//! key, so applying one twice is harmless, and [`ViewDiff::then`] folds two successive diffs
//! into one (for a node that is several versions behind).

use std::collections::{BTreeMap, HashMap};

use crate::netview::{MeshBackend, MeshService, NetworkView, NodePeer, OverlayView, TaskEndpoint};
use crate::network::Network;

/// Key → its new value, or `None` when it is gone.
pub type Changes<T> = BTreeMap<String, Option<T>>;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ViewDiff {
    /// `Some` when the ingress network changed (to the inner value).
    pub ingress: Option<Option<Network>>,
    pub peers: Changes<NodePeer>,
    /// Whole services (with all their backends): new ones, and those whose name or ports
    /// changed. A service whose backends alone changed is in `backends`, not here.
    pub services: Changes<MeshService>,
    /// Service ID → the changes of its backends, applied after `services`.
    pub backends: BTreeMap<String, Changes<MeshBackend>>,
    pub endpoints: Changes<TaskEndpoint>,
    /// Whole user networks (with their endpoints and services) that changed, by network ID:
    /// a change on one network is sent only with that network.
    pub overlays: Changes<OverlayView>,
}

impl ViewDiff {
    pub fn is_empty(&self) -> bool {
        self.ingress.is_none()
            && self.peers.is_empty()
            && self.services.is_empty()
            && self.backends.is_empty()
            && self.endpoints.is_empty()
            && self.overlays.is_empty()
    }

    /// The diff of applying `self`, then `next`.
    pub fn then(mut self, next: &ViewDiff) -> ViewDiff {
        if next.ingress.is_some() {
            self.ingress = next.ingress.clone();
        }
        extend(&mut self.peers, &next.peers);
        for id in next.services.keys() {
            // The service is replaced or removed whole: earlier backend changes are moot.
            self.backends.remove(id);
        }
        extend(&mut self.services, &next.services);
        for (id, changes) in &next.backends {
            extend(self.backends.entry(id.clone()).or_default(), changes);
        }
        extend(&mut self.endpoints, &next.endpoints);
        extend(&mut self.overlays, &next.overlays);
        self
    }
}

fn extend<T: Clone>(into: &mut Changes<T>, from: &Changes<T>) {
    into.extend(from.iter().map(|(k, v)| (k.clone(), v.clone())));
}

impl NetworkView {
    /// What turns `self` into `next`.
    pub fn diff(&self, next: &NetworkView) -> ViewDiff {
        let mut services = Changes::new();
        let mut backends = BTreeMap::new();
        let old: HashMap<&str, &MeshService> = index(&self.services, service_key);
        for s in &next.services {
            match old.get(s.service_id.as_str()) {
                Some(o) if same_header(o, s) => {
                    let changes = changes(&o.backends, &s.backends, backend_key);
                    if !changes.is_empty() {
                        backends.insert(s.service_id.clone(), changes);
                    }
                }
                _ => {
                    services.insert(s.service_id.clone(), Some(s.clone()));
                }
            }
        }
        let kept: HashMap<&str, &MeshService> = index(&next.services, service_key);
        for id in old.keys().filter(|id| !kept.contains_key(*id)) {
            services.insert(id.to_string(), None);
        }
        ViewDiff {
            ingress: (self.ingress != next.ingress).then(|| next.ingress.clone()),
            peers: changes(&self.peers, &next.peers, peer_key),
            services,
            backends,
            endpoints: changes(&self.endpoints, &next.endpoints, endpoint_key),
            overlays: changes(&self.overlays, &next.overlays, overlay_key),
        }
    }

    /// `self` with `diff` applied.
    pub fn apply(&mut self, diff: &ViewDiff) {
        if let Some(ingress) = &diff.ingress {
            self.ingress = ingress.clone();
        }
        apply_sorted(&mut self.peers, &diff.peers, peer_key);
        apply_sorted(&mut self.services, &diff.services, service_key);
        for s in &mut self.services {
            if let Some(changes) = diff.backends.get(&s.service_id) {
                apply_sorted(&mut s.backends, changes, backend_key);
            }
        }
        apply_sorted(&mut self.endpoints, &diff.endpoints, endpoint_key);
        apply_sorted(&mut self.overlays, &diff.overlays, overlay_key);
    }
}

fn same_header(a: &MeshService, b: &MeshService) -> bool {
    a.service_name == b.service_name && a.ports == b.ports
}

fn peer_key(p: &NodePeer) -> &str {
    &p.node_id
}
fn service_key(s: &MeshService) -> &str {
    &s.service_id
}
fn backend_key(b: &MeshBackend) -> &str {
    &b.task_id
}
fn endpoint_key(e: &TaskEndpoint) -> &str {
    &e.task_id
}
fn overlay_key(o: &OverlayView) -> &str {
    &o.network.id
}

fn index<T>(list: &[T], key: fn(&T) -> &str) -> HashMap<&str, &T> {
    list.iter().map(|x| (key(x), x)).collect()
}

fn changes<T: Clone + PartialEq>(old: &[T], new: &[T], key: fn(&T) -> &str) -> Changes<T> {
    let before = index(old, key);
    let after = index(new, key);
    let mut out = Changes::new();
    for x in new {
        if before.get(key(x)) != Some(&x) {
            out.insert(key(x).to_string(), Some(x.clone()));
        }
    }
    for k in before.keys().filter(|k| !after.contains_key(*k)) {
        out.insert(k.to_string(), None);
    }
    out
}

/// Merges `changes` into `list`, both in key order, keeping it in key order.
fn apply_sorted<T: Clone>(list: &mut Vec<T>, changes: &Changes<T>, key: fn(&T) -> &str) {
    if changes.is_empty() {
        return;
    }
    let old = std::mem::take(list);
    let mut merged = Vec::with_capacity(old.len() + changes.len());
    let mut pending = changes.iter().peekable();
    for x in old {
        while let Some((k, change)) = pending.next_if(|(k, _)| k.as_str() < key(&x)) {
            debug_assert!(change.as_ref().is_none_or(|c| key(c) == k));
            merged.extend(change.clone());
        }
        match pending.next_if(|(k, _)| k.as_str() == key(&x)) {
            Some((_, change)) => merged.extend(change.clone()),
            None => merged.push(x),
        }
    }
    merged.extend(pending.filter_map(|(_, change)| change.clone()));
    *list = merged;
}

#[cfg(test)]
#[path = "netview_diff_tests.rs"]
mod tests;
