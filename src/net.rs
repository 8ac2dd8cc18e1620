//! The accepted TCP connection: the socket options every connection gets,
//! and a handle that can end one from outside its HTTP stream.
//!
//! Why a handle: a WebSocket's actor runs inside its response body, and
//! actix-http stops polling that body while its write buffer is full. A
//! client that stops reading therefore freezes its actor: nothing inside the
//! stream can close it any more (no heartbeat, no logout, no shutdown). The
//! handle is a duplicate of the connection's file descriptor, taken when the
//! connection is accepted, with which the registry's watchdog can end the
//! connection from outside: a shutdown wakes actix-http, whose next write
//! fails, and with `SO_LINGER` 0 the last close sends a reset instead of
//! waiting, possibly forever, to deliver data nobody reads.
//!
//! The cost is a second descriptor per connection (the process raises its
//! soft descriptor limit to the hard one at start for that reason) and two
//! system calls per accepted connection.

use std::{
    any::Any,
    io,
    os::fd::AsFd,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    time::Duration,
};

use actix_web::dev::Extensions;
use socket2::{SockRef, Socket, TcpKeepalive};

/// The longest sent data may stay unacknowledged, or queued behind a zero
/// receive window, before the kernel gives up on the connection. Linux
/// applies it to zero-window probes too, so it also ends a connection whose
/// peer stopped reading, should the watchdog ever miss it. Kept above the
/// heartbeat's 10 s, which decides first.
pub const USER_TIMEOUT: Duration = Duration::from_secs(20);

/// Idle time before TCP keepalive probes start on an otherwise quiet
/// connection (an idle keep-alive HTTP connection whose peer vanished).
const KEEPALIVE_IDLE: Duration = Duration::from_secs(30);

/// A second handle on one accepted TCP connection; cheap to clone.
#[derive(Clone, Debug)]
pub struct TcpControl {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    socket: Socket,
    /// Set when actix has let go of the connection.
    released: AtomicBool,
}

impl TcpControl {
    /// Takes a handle on `socket`: a duplicate of its descriptor.
    pub fn of(socket: &impl AsFd) -> io::Result<Self> {
        let fd = socket.as_fd().try_clone_to_owned()?;
        Ok(Self {
            inner: Arc::new(Inner {
                socket: Socket::from(fd),
                released: AtomicBool::new(false),
            }),
        })
    }

    /// Whether actix has let go of the connection (written what it could,
    /// closed its descriptor): nothing is left to end.
    pub fn is_released(&self) -> bool {
        self.inner.released.load(Ordering::Acquire)
    }

    /// No more reading: the connection's reader sees end of file, so
    /// actix-http closes the connection as soon as it has written what it
    /// holds, instead of waiting (`client_disconnect_timeout`) for a peer
    /// that, after a WebSocket close handshake, waits for us to close first.
    pub fn stop_reading(&self) {
        if let Err(err) = self.inner.socket.shutdown(std::net::Shutdown::Read) {
            // Already closed by the peer or by actix: nothing to do.
            log::debug!("could not stop reading a connection: {err}");
        }
    }

    /// Ends the connection now, discarding whatever is unsent: the peer gets
    /// a reset once the last descriptor closes.
    pub fn abort(&self) {
        if let Err(err) = self.inner.socket.set_linger(Some(Duration::ZERO)) {
            log::debug!("could not set SO_LINGER on a connection to abort: {err}");
        }
        if let Err(err) = self.inner.socket.shutdown(std::net::Shutdown::Both) {
            log::debug!("could not shut down a connection to abort: {err}");
        }
    }
}

/// A [`TcpControl`] as kept in a connection's data: actix drops it with the
/// connection, which marks the control released.
#[derive(Debug)]
pub struct HeldConnection(TcpControl);

impl HeldConnection {
    /// The control of this connection.
    pub fn control(&self) -> TcpControl {
        self.0.clone()
    }
}

impl Drop for HeldConnection {
    fn drop(&mut self) {
        self.0.inner.released.store(true, Ordering::Release);
    }
}

/// For `HttpServer::on_connect`: sets the socket options of every accepted
/// TCP connection and keeps a [`HeldConnection`] in its connection data
/// (read with `HttpRequest::conn_data`).
pub fn on_connect(connection: &dyn Any, data: &mut Extensions) {
    let Some(stream) = connection.downcast_ref::<actix_web::rt::net::TcpStream>() else {
        return;
    };
    let socket = SockRef::from(stream);
    let keepalive = TcpKeepalive::new().with_time(KEEPALIVE_IDLE);
    if let Err(err) = socket
        .set_tcp_user_timeout(Some(USER_TIMEOUT))
        .and_then(|()| socket.set_tcp_keepalive(&keepalive))
    {
        log::debug!("could not set the options of an accepted connection: {err}");
    }
    match TcpControl::of(stream) {
        Ok(control) => {
            data.insert(HeldConnection(control));
        }
        Err(err) => log::warn!("accepted a connection without a control handle: {err}"),
    }
}

/// Raises this process's soft limit on open descriptors to its hard limit
/// (as Go's runtime does at start): each WebSocket holds two (see the module
/// docs), and the soft default (often 1024) would cap a server at a few
/// hundred sockets. Returns the limit now in force (`None`: unlimited).
pub fn raise_descriptor_limit() -> Option<u64> {
    use rustix::process::{getrlimit, setrlimit, Resource, Rlimit};
    let limit = getrlimit(Resource::Nofile);
    if limit.current < limit.maximum {
        let raised = Rlimit {
            current: limit.maximum,
            maximum: limit.maximum,
        };
        match setrlimit(Resource::Nofile, raised) {
            Ok(()) => return limit.maximum,
            Err(err) => log::warn!("could not raise the open file limit: {err}"),
        }
    }
    limit.current
}
