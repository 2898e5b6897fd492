//! Errors of the node data plane, worded so an operator can act on them.

use thiserror::Error;

#[derive(Debug, Error)]
pub enum DataplaneError {
    #[error("invalid input: {0}")]
    InvalidInput(String),
    #[error("netlink: {context}: {source}")]
    Netlink {
        context: String,
        #[source]
        source: rtnetlink::Error,
    },
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
    #[error("nft failed ({context}): {stderr}")]
    Nft { context: String, stderr: String },
    #[error("cannot parse the kernel's mesh table: {0}")]
    Readback(String),
    #[error("the ingress overlay is not configured yet: {0}")]
    NotReady(String),
    #[error("IPVS: {0}")]
    Ipvs(String),
    #[error("{0} is not available on this node")]
    Unsupported(String),
}

impl DataplaneError {
    pub(crate) fn netlink(context: impl Into<String>) -> impl FnOnce(rtnetlink::Error) -> Self {
        let context = context.into();
        move |source| DataplaneError::Netlink { context, source }
    }

    pub(crate) fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> Self {
        let context = context.into();
        move |source| DataplaneError::Io { context, source }
    }
}

/// True when a netlink error is the kernel's "no such object" (ENOENT / ENODEV): deleting
/// something already gone is success for a reconciler.
pub(crate) fn is_not_found(err: &rtnetlink::Error) -> bool {
    errno_of(err).is_some_and(|e| e == libc_errno::ENOENT || e == libc_errno::ENODEV)
}

fn errno_of(err: &rtnetlink::Error) -> Option<i32> {
    match err {
        rtnetlink::Error::NetlinkError(msg) => msg.code.map(|c| -c.get()),
        _ => None,
    }
}

/// The few errno values the reconciler tells apart (Linux numbering).
mod libc_errno {
    pub const ENOENT: i32 = nix::errno::Errno::ENOENT as i32;
    pub const ENODEV: i32 = nix::errno::Errno::ENODEV as i32;
}

pub type Result<T, E = DataplaneError> = std::result::Result<T, E>;
