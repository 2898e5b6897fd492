//! The network view as one session sent it: whole in the session's first message, then as
//! changes from the version it last sent (see `types::netview_diff` for why), applied here in
//! the order they arrive: the worker only sees the latest assignment, so it could not.

use std::sync::Arc;

use api::dispatcher as pb;
use types::{NetworkView, ViewDiff};

/// Starts empty with each session.
#[derive(Default)]
pub(crate) struct FollowedView {
    /// The version held and the view; `None` until a whole view this agent can read came.
    current: Option<(u64, Arc<NetworkView>)>,
}

impl FollowedView {
    /// Takes the view out of `m` and returns the view as of `m`. An error means the session
    /// can no longer be followed (a change from a version this agent does not hold) and must
    /// be reopened, which starts from the whole view again.
    pub(crate) fn take_in(
        &mut self,
        m: &mut pb::SessionMessage,
    ) -> Result<Option<Arc<NetworkView>>, String> {
        if let Some(whole) = m.network.take() {
            m.network_delta = None;
            self.current = match NetworkView::try_from(whole) {
                Ok(view) => Some((m.network_version, Arc::new(view))),
                Err(e) => {
                    tracing::warn!(error = %e, "ignoring a network view this agent cannot read");
                    None
                }
            };
        } else if let Some(delta) = m.network_delta.take() {
            let Some((version, view)) = &mut self.current else {
                // The whole view could not be read: nothing to apply a change to.
                return Ok(None);
            };
            if delta.base_version != *version {
                return Err(format!(
                    "the leader sent a network change from version {}, this agent holds {version}",
                    delta.base_version
                ));
            }
            let diff = ViewDiff::try_from(delta)
                .map_err(|e| format!("a network change this agent cannot read: {e}"))?;
            Arc::make_mut(view).apply(&diff);
            *version = m.network_version;
        }
        Ok(self.current.as_ref().map(|(_, view)| view.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use types::NodePeer;

    fn view(peers: &[&str]) -> NetworkView {
        NetworkView {
            peers: peers
                .iter()
                .map(|id| NodePeer {
                    node_id: id.to_string(),
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        }
    }

    fn whole(version: u64, v: &NetworkView) -> pb::SessionMessage {
        pb::SessionMessage {
            network: Some(v.clone().into()),
            network_version: version,
            ..Default::default()
        }
    }

    fn change(base: u64, version: u64, from: &NetworkView, to: &NetworkView) -> pb::SessionMessage {
        pb::SessionMessage {
            network_delta: Some(pb::NetworkViewDelta {
                base_version: base,
                ..(&from.diff(to)).into()
            }),
            network_version: version,
            ..Default::default()
        }
    }

    #[test]
    fn changes_are_applied_in_order_to_the_whole_view() {
        let (a, b, c) = (view(&["n1"]), view(&["n1", "n2"]), view(&["n2", "n3"]));
        let mut f = FollowedView::default();
        assert_eq!(*f.take_in(&mut whole(1, &a)).unwrap().unwrap(), a);
        assert_eq!(*f.take_in(&mut change(1, 2, &a, &b)).unwrap().unwrap(), b);
        let unchanged = f.take_in(&mut pb::SessionMessage {
            network_version: 2,
            ..Default::default()
        });
        assert_eq!(*unchanged.unwrap().unwrap(), b);
        assert_eq!(*f.take_in(&mut change(2, 3, &b, &c)).unwrap().unwrap(), c);
    }

    #[test]
    fn a_change_from_another_version_ends_the_session() {
        let (a, b) = (view(&["n1"]), view(&["n2"]));
        let mut f = FollowedView::default();
        f.take_in(&mut whole(1, &a)).unwrap();
        let err = f.take_in(&mut change(4, 5, &a, &b)).unwrap_err();
        assert!(
            err.contains("from version 4") && err.contains("holds 1"),
            "{err}"
        );
    }
}
