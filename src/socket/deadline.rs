//! The bound on every store call a socket makes, and what a failed call
//! means for the socket: one spelling of "time out, then tell an ended
//! session from an unreachable store".

use std::{future::Future, time::Duration};

use crate::{protocol::Close, store::StoreError};

/// The longest a socket waits for the store.
pub const STORE_TIMEOUT: Duration = Duration::from_secs(5);

/// Why a socket did not get what it asked the store for.
#[derive(Debug)]
pub enum Failure {
    /// Its session no longer exists: close like this.
    Ended(Close),
    /// The store failed or was too slow; the socket stays open, and what it
    /// asked for may or may not have happened.
    Store(String),
}

impl From<StoreError> for Failure {
    fn from(err: StoreError) -> Self {
        Self::Store(err.to_string())
    }
}

/// Runs `call`, giving up after [`STORE_TIMEOUT`].
pub async fn bounded<T>(call: impl Future<Output = Result<T, Failure>>) -> Result<T, Failure> {
    tokio::time::timeout(STORE_TIMEOUT, call)
        .await
        .unwrap_or_else(|_| Err(Failure::Store("timed out".to_owned())))
}
