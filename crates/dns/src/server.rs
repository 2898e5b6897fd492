//! The resolver on the wire: UDP and TCP on one address, every decision left to
//! [`respond`]. It binds its own sockets ([`Resolver::bind`]), or serves sockets a caller
//! bound elsewhere ([`Resolver::from_std`]: the node's resolver listens inside each
//! container's namespace, where every client is `127.0.0.1`, so the caller says who asks). Local answers are sent from the receive loop at once; forwards run as their
//! own tasks (bounded in number and in time), so a slow upstream never delays the next
//! query. The zone is read from a watch on every query, so an update applies to the next one.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::{watch, Semaphore};
use tokio::time::timeout;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{debug, warn};

use crate::frame::{read_message, write_message};
use crate::message::{respond, Reply, Transport};
use crate::upstream::forward;
use crate::zone::Zone;

/// How long a forwarded query may take over all upstreams before the client gets SERVFAIL:
/// well under a stub resolver's own retry (glibc waits 5 s), so ours answers first.
pub const FORWARD_BUDGET: Duration = Duration::from_secs(1);

/// Forwards in flight at once; past that a query gets SERVFAIL at once rather than a task
/// (as Docker's resolver caps its concurrent external queries at 1024).
const MAX_FORWARDS: usize = 1024;

/// TCP connections served at once; past that a new one is closed.
const MAX_CONNECTIONS: usize = 128;

/// A TCP connection with no query for this long is closed, so idle clients hold no task.
const TCP_IDLE: Duration = Duration::from_secs(10);

/// A query larger than this over UDP is cut and so answered FORMERR.
const MAX_UDP_QUERY: usize = 4096;

/// Tries at binding TCP on the port the kernel picked for UDP, when asked for port 0.
const BIND_TRIES: usize = 16;

/// Why the resolver could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("the DNS resolver cannot listen on {addr} over {transport:?}: {source}")]
    Bind {
        addr: SocketAddr,
        transport: Transport,
        source: io::Error,
    },
}

/// A bound resolver, ready to [`run`](Resolver::run).
pub struct Resolver {
    /// The address both sockets are bound to, port 0 resolved.
    addr: SocketAddr,
    udp: Arc<UdpSocket>,
    tcp: TcpListener,
    shared: Arc<Shared>,
}

/// Who asks, for the zone's choice of networks.
#[derive(Debug, Clone, Copy)]
enum Client {
    /// The query's source address.
    Source,
    /// Every query on these sockets comes from this container.
    Fixed(IpAddr),
}

impl Client {
    fn of(self, peer: SocketAddr) -> IpAddr {
        match self {
            Client::Source => peer.ip(),
            Client::Fixed(ip) => ip,
        }
    }
}

/// What every query's handling needs, shared with the forward and connection tasks.
struct Shared {
    /// The current zone; read once per query.
    zone: watch::Receiver<Arc<Zone>>,
    /// The host's resolvers, tried in order.
    upstreams: Vec<SocketAddr>,
    /// Permits for forwards in flight, [`MAX_FORWARDS`] in all.
    forwards: Arc<Semaphore>,
    /// Permits for TCP connections served, [`MAX_CONNECTIONS`] in all.
    connections: Arc<Semaphore>,
    client: Client,
}

impl Shared {
    fn new(zone: watch::Receiver<Arc<Zone>>, upstreams: Vec<SocketAddr>, client: Client) -> Shared {
        Shared {
            zone,
            upstreams,
            forwards: Arc::new(Semaphore::new(MAX_FORWARDS)),
            connections: Arc::new(Semaphore::new(MAX_CONNECTIONS)),
            client,
        }
    }
}

impl Resolver {
    /// Listens on `addr` over UDP and TCP (the same port; with port 0, one the kernel picks
    /// free for both).
    pub async fn bind(
        addr: SocketAddr,
        zone: watch::Receiver<Arc<Zone>>,
        upstreams: Vec<SocketAddr>,
    ) -> Result<Resolver, ServerError> {
        let mut tries = 0;
        let (picked, udp, tcp) = loop {
            tries += 1;
            let udp = UdpSocket::bind(addr)
                .await
                .map_err(bind_error(addr, Transport::Udp))?;
            let picked = udp.local_addr().map_err(bind_error(addr, Transport::Udp))?;
            match TcpListener::bind(picked).await {
                Ok(tcp) => break (picked, udp, tcp),
                Err(e) if addr.port() == 0 && tries < BIND_TRIES => {
                    debug!(%picked, error = %e, "TCP port taken, picking another");
                }
                Err(e) => return Err(bind_error(picked, Transport::Tcp)(e)),
            }
        };
        Ok(Resolver {
            addr: picked,
            udp: Arc::new(udp),
            tcp,
            shared: Arc::new(Shared::new(zone, upstreams, Client::Source)),
        })
    }

    /// Serves sockets bound by the caller (in another network namespace, say), answering
    /// every query as if it came from `client`. Must run inside a tokio runtime.
    pub fn from_std(
        udp: std::net::UdpSocket,
        tcp: std::net::TcpListener,
        client: IpAddr,
        zone: watch::Receiver<Arc<Zone>>,
        upstreams: Vec<SocketAddr>,
    ) -> Result<Resolver, ServerError> {
        let addr = udp
            .local_addr()
            .map_err(bind_error(unspecified(), Transport::Udp))?;
        let adopt_udp = || {
            udp.set_nonblocking(true)?;
            UdpSocket::from_std(udp)
        };
        let udp = adopt_udp().map_err(bind_error(addr, Transport::Udp))?;
        let adopt_tcp = || {
            tcp.set_nonblocking(true)?;
            TcpListener::from_std(tcp)
        };
        let tcp = adopt_tcp().map_err(bind_error(addr, Transport::Tcp))?;
        Ok(Resolver {
            addr,
            udp: Arc::new(udp),
            tcp,
            shared: Arc::new(Shared::new(zone, upstreams, Client::Fixed(client))),
        })
    }

    /// The address served, UDP and TCP alike.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Serves until `shutdown`, then waits for the queries in flight to stop (they watch
    /// the same token).
    pub async fn run(self, shutdown: CancellationToken) {
        let tasks = TaskTracker::new();
        tokio::join!(
            self.serve_udp(&tasks, &shutdown),
            self.serve_tcp(&tasks, &shutdown)
        );
        tasks.close();
        tasks.wait().await;
    }

    async fn serve_udp(&self, tasks: &TaskTracker, shutdown: &CancellationToken) {
        let mut buf = vec![0; MAX_UDP_QUERY];
        loop {
            let (len, peer) = tokio::select! {
                _ = shutdown.cancelled() => return,
                received = self.udp.recv_from(&mut buf) => match received {
                    Ok(received) => received,
                    Err(error) => {
                        warn!(%error, "DNS: receiving over UDP failed");
                        continue;
                    }
                },
            };
            let query = &buf[..len];
            let zone = Arc::clone(&self.shared.zone.borrow());
            let client = self.shared.client.of(peer);
            let servfail = match respond(&zone, client, query, Transport::Udp) {
                Reply::Answer(reply) => {
                    send(&self.udp, &reply, peer).await;
                    continue;
                }
                Reply::Drop => continue,
                Reply::Forward { servfail } => servfail,
            };
            let Ok(permit) = Arc::clone(&self.shared.forwards).try_acquire_owned() else {
                send(&self.udp, &servfail, peer).await;
                continue;
            };
            let (query, udp, shared) = (
                query.to_vec(),
                Arc::clone(&self.udp),
                Arc::clone(&self.shared),
            );
            let shutdown = shutdown.clone();
            tasks.spawn(async move {
                let _permit = permit;
                let forwarded = tokio::select! {
                    _ = shutdown.cancelled() => return,
                    forwarded = forward(&query, &shared.upstreams, Transport::Udp, FORWARD_BUDGET) => forwarded,
                };
                send(&udp, &forwarded.unwrap_or(servfail), peer).await;
            });
        }
    }

    async fn serve_tcp(&self, tasks: &TaskTracker, shutdown: &CancellationToken) {
        loop {
            let (stream, peer) = tokio::select! {
                _ = shutdown.cancelled() => return,
                accepted = self.tcp.accept() => match accepted {
                    Ok(accepted) => accepted,
                    Err(error) => {
                        warn!(%error, "DNS: accepting over TCP failed");
                        continue;
                    }
                },
            };
            let Ok(permit) = Arc::clone(&self.shared.connections).try_acquire_owned() else {
                debug!(%peer, "DNS: too many TCP connections, closing a new one");
                continue;
            };
            let (shared, shutdown) = (Arc::clone(&self.shared), shutdown.clone());
            tasks.spawn(async move {
                let _permit = permit;
                tokio::select! {
                    _ = shutdown.cancelled() => {}
                    () = serve_connection(stream, peer, &shared) => {}
                }
            });
        }
    }
}

/// Queries on one TCP connection, answered in order, until the client closes it, goes idle,
/// or sends something we drop.
async fn serve_connection(mut stream: TcpStream, peer: SocketAddr, shared: &Shared) {
    while let Ok(Ok(query)) = timeout(TCP_IDLE, read_message(&mut stream)).await {
        let zone = Arc::clone(&shared.zone.borrow());
        let reply = match respond(&zone, shared.client.of(peer), &query, Transport::Tcp) {
            Reply::Answer(reply) => reply,
            Reply::Drop => return,
            Reply::Forward { servfail } => {
                forward(&query, &shared.upstreams, Transport::Tcp, FORWARD_BUDGET)
                    .await
                    .unwrap_or(servfail)
            }
        };
        if let Err(error) = write_message(&mut stream, &reply).await {
            debug!(%peer, %error, "DNS: client went away over TCP");
            return;
        }
    }
}

async fn send(udp: &UdpSocket, reply: &[u8], peer: SocketAddr) {
    if let Err(error) = udp.send_to(reply, peer).await {
        debug!(%peer, %error, "DNS: sending a reply over UDP failed");
    }
}

fn unspecified() -> SocketAddr {
    SocketAddr::from(([0, 0, 0, 0], 0))
}

fn bind_error(addr: SocketAddr, transport: Transport) -> impl Fn(io::Error) -> ServerError {
    move |source| ServerError::Bind {
        addr,
        transport,
        source,
    }
}
