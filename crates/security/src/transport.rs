//! TLS under tonic: a connector for channels and an acceptor stream for servers.
//!
//! tonic's own `tls_config` fixes the certificate when the endpoint is built; doing the
//! handshake here instead lets [`crate::NodeCredentials`] swap certificates at run time, and
//! tonic still sees `tokio_rustls` streams, so `Request::peer_certs` works on the server.

use std::io;
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use futures::stream::{FuturesUnordered, Stream, StreamExt};
use hyper_util::rt::TokioIo;
use rustls::pki_types::ServerName;
use rustls::{ClientConfig, ServerConfig};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::{client, server, TlsAcceptor};
use tonic::transport::{Channel, Endpoint, Uri};

use crate::SecurityError;

/// A slow or silent client must not hold a server slot for long.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// The server name a client demands of a manager (every manager certificate carries it).
pub const MANAGER_NAME: &str = "swarm-manager";

/// Dials TCP and runs the TLS handshake, checking the server's certificate for `server_name`.
#[derive(Clone)]
pub struct TlsConnector {
    config: Arc<ClientConfig>,
    server_name: ServerName<'static>,
}

impl TlsConnector {
    pub fn new(config: Arc<ClientConfig>, server_name: &str) -> Result<Self, SecurityError> {
        let server_name = ServerName::try_from(server_name.to_string()).map_err(|_| {
            SecurityError::Certificate(format!("`{server_name}` is not a valid server name"))
        })?;
        Ok(TlsConnector {
            config,
            server_name,
        })
    }
}

impl tower::Service<Uri> for TlsConnector {
    type Response = TokioIo<client::TlsStream<TcpStream>>;
    type Error = io::Error;
    type Future = BoxFuture<'static, io::Result<Self::Response>>;

    fn poll_ready(&mut self, _: &mut std::task::Context<'_>) -> std::task::Poll<io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn call(&mut self, uri: Uri) -> Self::Future {
        let connector = tokio_rustls::TlsConnector::from(self.config.clone());
        let name = self.server_name.clone();
        Box::pin(async move {
            let authority = uri
                .authority()
                .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no address"))?
                .to_string();
            let tcp = TcpStream::connect(authority).await?;
            tcp.set_nodelay(true)?;
            Ok(TokioIo::new(connector.connect(name, tcp).await?))
        })
    }
}

/// An endpoint for `addr` (host:port); TLS comes from the connector, hence `http://`.
pub fn endpoint(addr: &str) -> Result<Endpoint, SecurityError> {
    Endpoint::from_shared(format!("http://{addr}"))
        .map_err(|_| SecurityError::Certificate(format!("`{addr}` is not a host:port address")))
}

/// A channel to `addr` that connects on first use (and again after a failure).
pub fn lazy_channel(
    config: Arc<ClientConfig>,
    addr: &str,
    server_name: &str,
    connect_timeout: Duration,
) -> Result<Channel, SecurityError> {
    let connector = TlsConnector::new(config, server_name)?;
    Ok(endpoint(addr)?
        .connect_timeout(connect_timeout)
        .connect_with_connector_lazy(connector))
}

/// Opens a lazily connected channel to an address: what the Raft transport, the agent and the
/// daemon's connectors are given instead of knowing about certificates. Mutual TLS in the
/// daemon; plaintext only where no certificates exist (in-process tests).
#[derive(Clone)]
pub struct Dial(Arc<DialFn>);

type DialFn = dyn Fn(&str) -> Result<Channel, String> + Send + Sync;

impl Dial {
    pub fn new(f: impl Fn(&str) -> Result<Channel, String> + Send + Sync + 'static) -> Dial {
        Dial(Arc::new(f))
    }

    /// Plain HTTP/2, no TLS.
    pub fn plaintext(connect_timeout: Duration) -> Dial {
        Dial::new(move |addr| {
            Ok(endpoint(addr)
                .map_err(|e| e.to_string())?
                .connect_timeout(connect_timeout)
                .tcp_nodelay(true)
                .connect_lazy())
        })
    }

    /// Mutual TLS with `config`, demanding `server_name` of the server's certificate.
    pub fn mutual_tls(
        config: Arc<ClientConfig>,
        server_name: &'static str,
        connect_timeout: Duration,
    ) -> Dial {
        Dial::new(move |addr| {
            lazy_channel(config.clone(), addr, server_name, connect_timeout)
                .map_err(|e| e.to_string())
        })
    }

    pub fn channel(&self, addr: &str) -> Result<Channel, String> {
        (self.0)(addr)
    }
}

impl std::fmt::Debug for Dial {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Dial")
    }
}

/// Accepted TCP connections that completed a TLS handshake. Handshakes run concurrently; a
/// failed one (a plaintext client, an unknown CA) is dropped with a debug log. The listener
/// is owned by the stream, so the port is free as soon as the server drops it.
pub fn tls_incoming(
    listener: TcpListener,
    config: Arc<ServerConfig>,
) -> impl Stream<Item = io::Result<server::TlsStream<TcpStream>>> + Send + 'static {
    type Handshake = BoxFuture<'static, Option<server::TlsStream<TcpStream>>>;
    let acceptor = TlsAcceptor::from(config);
    let pending: FuturesUnordered<Handshake> = FuturesUnordered::new();
    futures::stream::unfold(
        (listener, acceptor, pending),
        |(listener, acceptor, mut pending)| async move {
            loop {
                tokio::select! {
                    Some(done) = pending.next() => {
                        if let Some(stream) = done {
                            return Some((Ok(stream), (listener, acceptor, pending)));
                        }
                    }
                    accepted = listener.accept() => match accepted {
                        Ok((tcp, peer)) => {
                            let _ = tcp.set_nodelay(true);
                            let acceptor = acceptor.clone();
                            pending.push(Box::pin(async move {
                                match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                                    Ok(Ok(stream)) => Some(stream),
                                    Ok(Err(e)) => {
                                        tracing::debug!(%peer, error = %e, "TLS handshake refused");
                                        None
                                    }
                                    Err(_) => {
                                        tracing::debug!(%peer, "TLS handshake timed out");
                                        None
                                    }
                                }
                            }));
                        }
                        Err(e) => {
                            // Out of file descriptors and the like: pause rather than spin.
                            tracing::warn!(error = %e, "accepting a connection failed");
                            tokio::time::sleep(Duration::from_millis(100)).await;
                        }
                    },
                }
            }
        },
    )
}
