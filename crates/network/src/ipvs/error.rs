//! Errors of the IPVS client.

use std::io;

use genetlink::GenetlinkError;
use netlink_packet_core::DecodeError;
use nix::errno::Errno;

/// What can go wrong talking to the kernel's IPVS.
#[derive(Debug, thiserror::Error)]
pub enum IpvsError {
    /// The generic-netlink family "IPVS" does not exist: the kernel has no
    /// IPVS (or `ip_vs` is not loaded). `--mesh-backend auto` falls back to
    /// nftables on exactly this error.
    #[error(
        "this kernel has no IPVS (generic netlink family \"IPVS\" not found): \
         load the ip_vs module or use --mesh-backend nftables"
    )]
    Unsupported,
    /// The netlink socket could not be opened (e.g. no tokio runtime, or
    /// the process lacks the rights).
    #[error("cannot open a generic netlink socket: {0}")]
    Socket(#[source] io::Error),
    /// The kernel rejected a request; `source` carries the errno
    /// (EEXIST: already there, ESRCH/ENOENT: no such service or destination,
    /// EPERM: needs CAP_NET_ADMIN, EINVAL: incomplete entry).
    #[error("IPVS {op} rejected by the kernel: {source}")]
    Kernel {
        op: &'static str,
        #[source]
        source: io::Error,
    },
    /// The netlink connection failed (socket closed, send error).
    #[error("IPVS {op}: netlink transport failed: {source}")]
    Transport {
        op: &'static str,
        #[source]
        source: GenetlinkError,
    },
    /// A reply did not match the layout of `include/uapi/linux/ip_vs.h`.
    #[error("IPVS {op}: undecodable reply from the kernel: {source}")]
    Decode {
        op: &'static str,
        #[source]
        source: DecodeError,
    },
}

impl IpvsError {
    /// The kernel's errno, when the kernel is the one that said no.
    pub fn errno(&self) -> Option<i32> {
        match self {
            Self::Kernel { source, .. } => source.raw_os_error(),
            _ => None,
        }
    }

    /// Family resolution failing with ENOENT means "no IPVS in this
    /// kernel"; anything else is a real failure worth reporting as such.
    pub(super) fn from_resolve(err: GenetlinkError) -> Self {
        match err {
            GenetlinkError::NetlinkError(io) if io.raw_os_error() == Some(Errno::ENOENT as i32) => {
                Self::Unsupported
            }
            GenetlinkError::NetlinkError(io) => Self::Kernel {
                op: "family lookup",
                source: io,
            },
            other => Self::Transport {
                op: "family lookup",
                source: other,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enoent_on_family_lookup_means_unsupported() {
        let err = GenetlinkError::NetlinkError(io::Error::from_raw_os_error(2));
        assert!(matches!(
            IpvsError::from_resolve(err),
            IpvsError::Unsupported
        ));
    }

    #[test]
    fn other_lookup_errors_stay_errors() {
        let err = GenetlinkError::NetlinkError(io::Error::from_raw_os_error(1));
        let err = IpvsError::from_resolve(err);
        assert_eq!(err.errno(), Some(1));
        assert!(err.to_string().contains("family lookup"), "{err}");
        let err = IpvsError::from_resolve(GenetlinkError::NoMessageReceived);
        assert!(matches!(err, IpvsError::Transport { .. }));
    }
}
