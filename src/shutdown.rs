//! Graceful shutdown: on SIGTERM or Ctrl-C, refuse new sockets, close every
//! open one with 1001, wait (bounded) until they are gone, then let actix stop.
//!
//! Left to itself, actix would keep sockets open for the whole shutdown
//! timeout and then drop them without a close frame, so clients could not
//! tell a restart from a network failure.

use std::{
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

use crate::{
    events::{Audience, Registry},
    protocol::Close,
};

/// The longest shutdown waits for sockets to close.
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);

/// Whether shutdown has begun, shared with the handshake.
#[derive(Clone, Default)]
pub struct Shutdown {
    draining: Arc<AtomicBool>,
}

impl Shutdown {
    /// True once shutdown has begun: new sockets are refused.
    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::Acquire)
    }

    /// Waits for SIGTERM or Ctrl-C, then drains the sockets. Given to
    /// `HttpServer::shutdown_signal`, which stops the server when it returns.
    pub async fn on_signal(self, registry: Registry) {
        wait_for_signal().await;
        log::info!("shutting down: closing every socket");
        self.drain(&registry).await;
    }

    /// Closes every socket with 1001 and waits until the registry is empty
    /// and actix has let go of their connections, or [`DRAIN_TIMEOUT`] has
    /// passed; then aborts whatever connection is left (a client that does
    /// not read never takes its close frame).
    pub async fn drain(&self, registry: &Registry) {
        self.draining.store(true, Ordering::Release);
        registry.close(&Audience::Lobby, Close::ShuttingDown);
        let deadline = Instant::now() + DRAIN_TIMEOUT;
        let busy = || registry.stats().sockets > 0 || registry.watched_open() > 0;
        while busy() && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        if registry.stats().sockets > 0 {
            log::warn!("shutting down with sockets still open after {DRAIN_TIMEOUT:?}");
        }
        registry.abort_watched();
    }
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut terminate) => {
                tokio::select! {
                    _ = terminate.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
                return;
            }
            Err(err) => log::warn!("cannot listen for SIGTERM ({err}); Ctrl-C still works"),
        }
    }
    if let Err(err) = tokio::signal::ctrl_c().await {
        log::warn!("cannot listen for Ctrl-C ({err}); stop the process with SIGKILL");
        std::future::pending::<()>().await;
    }
}
