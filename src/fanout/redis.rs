//! Fan-out across instances through Redis pub/sub.
//!
//! One channel, `{prefix}events`, carries every event as JSON naming the room
//! (never the session key). A plain subscription dies with its connection and
//! never comes back, so the subscriber runs in a reconnect loop with capped
//! backoff. Messages published while it was away are lost: after every
//! (re)subscription each local socket reloads its session, so a missed logout
//! still closes it and a missed count is still shown.

use std::time::Duration;

use actix::Addr;
use futures_util::StreamExt;
use redis::{aio::ConnectionManager, AsyncCommands, Client};
use serde::{Deserialize, Serialize};

use crate::{
    session::RoomId,
    socket::{Broadcast, Close, Disconnect, Notify, Push, Registry},
    store::CALL_TIMEOUT,
};

/// The first and the longest pause between two subscription attempts.
const BACKOFF: (Duration, Duration) = (Duration::from_millis(100), Duration::from_secs(2));

/// One event on the channel.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum Event {
    Notify { room: RoomId, count: u64 },
    Disconnect { room: RoomId, close: Close },
}

/// Publishes events for every instance, this one included.
#[derive(Clone)]
pub struct RedisFanout {
    connection: ConnectionManager,
    channel: String,
    registry: Addr<Registry>,
}

impl RedisFanout {
    /// Publishes on `channel` through `connection`; `registry` is this
    /// instance's, used when publishing fails.
    pub fn new(connection: ConnectionManager, channel: String, registry: Addr<Registry>) -> Self {
        Self {
            connection,
            channel,
            registry,
        }
    }

    pub(super) async fn notify(&self, room: RoomId, count: u64) {
        let event = Event::Notify { room, count };
        if !self.publish(&event).await {
            self.registry.do_send(Notify { room, count });
        }
    }

    pub(super) async fn disconnect(&self, room: RoomId, close: Close) {
        let event = Event::Disconnect { room, close };
        if !self.publish(&event).await {
            self.registry.do_send(Disconnect { room, close });
        }
    }

    /// Publishes within [`CALL_TIMEOUT`]; on failure the caller delivers to
    /// this instance only (the others reload when their subscriber returns).
    async fn publish(&self, event: &Event) -> bool {
        let Ok(payload) = serde_json::to_string(event) else {
            return false;
        };
        let mut connection = self.connection.clone();
        let publish = connection.publish::<_, _, ()>(&self.channel, payload);
        match tokio::time::timeout(CALL_TIMEOUT, publish).await {
            Ok(Ok(())) => true,
            Ok(Err(err)) => {
                log::warn!("could not publish a session event: {err}");
                false
            }
            Err(_) => {
                log::warn!("could not publish a session event: timed out");
                false
            }
        }
    }
}

/// Starts the subscriber on the current runtime: it delivers every event of
/// `channel` to `registry`, reconnecting for as long as the process lives.
pub fn spawn_subscriber(client: Client, channel: String, registry: Addr<Registry>) {
    actix_web::rt::spawn(async move {
        let mut pause = BACKOFF.0;
        loop {
            match subscribe(&client, &channel).await {
                Ok(pubsub) => {
                    log::info!("subscribed to the session events channel");
                    pause = BACKOFF.0;
                    // Whatever was published while unsubscribed is lost.
                    registry.do_send(Broadcast(Push::Reload));
                    let mut messages = pubsub.into_on_message();
                    while let Some(message) = messages.next().await {
                        deliver(&registry, message.get_payload_bytes());
                    }
                    log::warn!("lost the session events subscription; reconnecting");
                }
                Err(err) => log::warn!("cannot subscribe to session events: {err}"),
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(BACKOFF.1);
        }
    });
}

async fn subscribe(client: &Client, channel: &str) -> anyhow::Result<redis::aio::PubSub> {
    let subscribe = async {
        let mut pubsub = client.get_async_pubsub().await?;
        pubsub.subscribe(channel).await?;
        Ok::<_, redis::RedisError>(pubsub)
    };
    Ok(tokio::time::timeout(CALL_TIMEOUT, subscribe).await??)
}

fn deliver(registry: &Addr<Registry>, payload: &[u8]) {
    match serde_json::from_slice::<Event>(payload) {
        Ok(Event::Notify { room, count }) => registry.do_send(Notify { room, count }),
        Ok(Event::Disconnect { room, close }) => registry.do_send(Disconnect { room, close }),
        Err(err) => log::warn!("ignoring a malformed session event: {err}"),
    }
}
