//! Black-box tests of the contract, against the real app on port 0.

mod auth;
mod bounded_redis;
mod chaos;
mod concurrency;
mod eviction;
mod expiry;
mod frames;
mod heartbeat;
mod helpers;
mod hostile;
mod limits;
mod lobby;
mod login;
mod logout;
mod logout_everywhere;
mod metrics;
mod origin;
mod presence;
mod presence_heals;
#[path = "../support/proxy.rs"]
mod proxy;
#[path = "../support/raw_socket.rs"]
mod raw;
#[path = "../support/redis_server.rs"]
mod redis_server;
mod registry;
mod renewed;
mod resilience;
mod scale_out;
mod sharing;
mod silent_redis;
#[cfg(feature = "socketio")]
#[path = "../support/sio_client.rs"]
mod sio_client;
#[cfg(feature = "socketio")]
mod socketio;
#[cfg(feature = "socketio")]
mod socketio_assets;
