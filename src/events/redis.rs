//! Events across instances through Redis pub/sub.
//!
//! One channel, `{prefix}events`, carries every event as a [`Wire`] message:
//! the audience, the order and the ready frame (never a session key, only
//! room ids), plus the publishing instance, which skips its own messages
//! because it delivered them locally first. Messages without an origin (the
//! lobby's chat) are delivered by every instance: this module prepares them
//! ([`RedisEvents::lobby_message`]) and the store's append script publishes
//! them with the position it assigns spliced in, without knowing their shape.
//!
//! A plain subscription dies with its connection and never comes back, so
//! the subscriber runs in a reconnect loop with capped backoff. Messages
//! published while it was away are lost: after every (re)subscription each
//! local socket resyncs (reloads its session, catches up with the lobby).
//!
//! A subscription can also go silent without ending (a path that drops
//! packets): every instance publishes a heartbeat every `HEARTBEAT_EVERY`,
//! and a subscriber that has heard nothing at all, its own heartbeat
//! included, for [`SILENCE`] drops its connection and subscribes anew.
//! The heartbeat travels on a second channel, `{prefix}events:heartbeat`,
//! subscribed on the same connection (so it proves that connection alive)
//! rather than on the events channel itself: an older instance reads every
//! events message as a frame or a close and would log each heartbeat as
//! malformed, while it never subscribes to the heartbeat channel. The
//! heartbeats are published through the command connection, so they also
//! probe it, and a silent command connection is replaced (see
//! `store::redis`) even on an idle instance.

use std::{
    fmt,
    sync::Arc,
    time::{Duration, Instant},
};

use bytestring::ByteString;
use futures_util::StreamExt;
use redis::{AsyncCommands, Client};
use serde::{Deserialize, Serialize};

use super::{Audience, Event, Order, Push, Registry};
use crate::{
    protocol::Close,
    store::{Link, Spliced, CALL_TIMEOUT},
};

/// The first and the longest pause between two subscription attempts.
const BACKOFF: (Duration, Duration) = (Duration::from_millis(100), Duration::from_secs(2));

/// How often each instance publishes its heartbeat.
pub const HEARTBEAT_EVERY: Duration = Duration::from_secs(5);

/// How long a subscription may hear nothing before it is replaced (the
/// contract's 15 s).
pub const SILENCE: Duration = Duration::from_secs(15);

/// How often the subscriber checks for silence; with [`SILENCE`] and a
/// resubscription, well within the contract's 20 s.
const SILENCE_CHECK: Duration = Duration::from_secs(1);

/// The heartbeat channel that goes with an events channel.
fn heartbeat_channel(events: &str) -> String {
    format!("{events}:heartbeat")
}

/// One instance of the app, for the lifetime of its process: random, so a
/// restarted instance is a new one.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct InstanceId(String);

impl InstanceId {
    /// A new random id.
    pub fn generate() -> Self {
        Self(format!("{:016x}", rand::random::<u64>()))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for InstanceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What travels on the channel: a frame (with its order) or a close, for an
/// audience. The lobby's messages are Wires too, made by
/// [`RedisEvents::lobby_message`]. A plain struct with optional fields
/// (no flattened or untagged enum), because every instance reads every
/// message, its own included, on the hot path.
#[derive(Debug, Serialize, Deserialize)]
struct Wire {
    /// The publishing instance; `None` for messages every instance delivers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    origin: Option<InstanceId>,
    to: Audience,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    order: Option<Order>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    frame: Option<ByteString>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    close: Option<Close>,
}

/// Just the origin of a message, read before the rest so an instance skips
/// its own messages without building them.
#[derive(Deserialize)]
struct Origin<'a> {
    #[serde(borrow, default)]
    origin: Option<std::borrow::Cow<'a, str>>,
}

impl fmt::Debug for InstanceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Publishes this instance's events for the others.
#[derive(Clone)]
pub struct RedisEvents {
    connection: Link,
    channel: Arc<str>,
    instance: InstanceId,
}

impl RedisEvents {
    /// Publishes on `channel` through `connection`, as `instance`.
    pub fn new(connection: Link, channel: &str, instance: InstanceId) -> Self {
        Self {
            connection,
            channel: channel.into(),
            instance,
        }
    }

    pub(super) async fn publish_event(&self, event: &Event) {
        self.publish(&Wire {
            origin: Some(self.instance.clone()),
            to: event.to.clone(),
            order: Some(event.order.clone()),
            frame: Some(event.frame.clone()),
            close: None,
        })
        .await;
    }

    pub(super) async fn publish_close(&self, to: &Audience, close: Close) {
        self.publish(&Wire {
            origin: Some(self.instance.clone()),
            to: to.clone(),
            order: None,
            frame: None,
            close: Some(close),
        })
        .await;
    }

    /// The wire message that shows `frame` in the lobby on every instance (no
    /// origin, so the sender's own instance delivers it too), split where
    /// its position goes, for the store's append to publish with the
    /// position it assigns. `None` only if it cannot be serialised.
    pub fn lobby_message(frame: &ByteString) -> Option<Spliced> {
        // Serialised with a stand-in position, then cut at it: the fields
        // before the order (`to`) hold no digits, so its first occurrence is
        // the order's, whatever the frame says.
        const STAND_IN: u64 = u64::MAX;
        let text = serde_json::to_string(&Wire {
            origin: None,
            to: Audience::Lobby,
            order: Some(Order::LobbySequence(STAND_IN)),
            frame: Some(frame.clone()),
            close: None,
        })
        .ok()?;
        let (before, after) = text.split_once(&STAND_IN.to_string())?;
        Some(Spliced {
            before: before.to_owned(),
            after: after.to_owned(),
        })
    }

    /// Publishes within [`CALL_TIMEOUT`]. This instance has already
    /// delivered; on failure the others resync when their subscriber comes
    /// back, or reload at their next interval.
    async fn publish(&self, wire: &Wire) {
        let Ok(payload) = serde_json::to_string(wire) else {
            return;
        };
        let mut connection = self.connection.clone();
        let publish = connection.publish::<_, _, ()>(&*self.channel, payload);
        match tokio::time::timeout(CALL_TIMEOUT, publish).await {
            Ok(Ok(())) => {}
            Ok(Err(err)) => log::warn!("could not publish an event: {err}"),
            Err(_) => log::warn!("could not publish an event: timed out"),
        }
    }

    /// Starts publishing this instance's heartbeat every
    /// `HEARTBEAT_EVERY`, for as long as the runtime lives. The payload is
    /// the instance id, for whoever watches the channel; nobody parses it.
    pub fn spawn_heartbeat(&self) {
        let (mut connection, channel) = (self.connection.clone(), heartbeat_channel(&self.channel));
        let instance = self.instance.clone();
        actix_web::rt::spawn(async move {
            let mut every = tokio::time::interval(HEARTBEAT_EVERY);
            every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                every.tick().await;
                let publish = connection.publish::<_, _, ()>(&channel, instance.as_str());
                // Quietly: an outage shows in /healthz and the logs of the
                // calls that matter; a timeout here replaces the connection.
                match tokio::time::timeout(CALL_TIMEOUT, publish).await {
                    Ok(Ok(())) => {}
                    Ok(Err(err)) => log::debug!("could not publish a heartbeat: {err}"),
                    Err(_) => log::debug!("could not publish a heartbeat: timed out"),
                }
            }
        });
    }
}

/// Starts the subscriber on the current runtime: it delivers every event of
/// `channel` to `registry`, except `instance`'s own, reconnecting for as long
/// as the process lives, and replacing a subscription that goes silent.
pub fn spawn_subscriber(client: Client, channel: String, registry: Registry, instance: InstanceId) {
    actix_web::rt::spawn(async move {
        let beat = heartbeat_channel(&channel);
        let mut pause = BACKOFF.0;
        loop {
            match subscribe(&client, &channel, &beat).await {
                Ok(pubsub) => {
                    log::info!("subscribed to the events channel");
                    pause = BACKOFF.0;
                    // Whatever was published while unsubscribed is lost.
                    registry.push(&Audience::Lobby, &Push::Resync);
                    listen(pubsub, &beat, &registry, &instance).await;
                }
                Err(err) => log::warn!("cannot subscribe to events: {err}"),
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(BACKOFF.1);
        }
    });
}

/// Delivers the subscription's messages until it ends or goes silent for
/// [`SILENCE`] (then it is dropped here, connection and all).
async fn listen(
    pubsub: redis::aio::PubSub,
    beat: &str,
    registry: &Registry,
    instance: &InstanceId,
) {
    let mut messages = pubsub.into_on_message();
    // One clock read per message and a check every second: cheaper on the
    // event path than a timer reset per message.
    let mut last_heard = Instant::now();
    let mut check = tokio::time::interval(SILENCE_CHECK);
    loop {
        tokio::select! {
            message = messages.next() => {
                let Some(message) = message else {
                    return log::warn!("lost the events subscription; reconnecting");
                };
                // Any message, this instance's own heartbeat included,
                // shows the subscription is alive.
                last_heard = Instant::now();
                if message.get_channel_name() != beat {
                    deliver(registry, instance, message.get_payload_bytes());
                }
            }
            _ = check.tick() => {
                if last_heard.elapsed() >= SILENCE {
                    metrics::counter!(crate::telemetry::REDIS_RECONNECTS).increment(1);
                    return log::warn!(
                        "the events subscription heard nothing for {SILENCE:?}; replacing it"
                    );
                }
            }
        }
    }
}

async fn subscribe(
    client: &Client,
    channel: &str,
    beat: &str,
) -> anyhow::Result<redis::aio::PubSub> {
    let subscribe = async {
        let mut pubsub = client.get_async_pubsub().await?;
        pubsub.subscribe(&[channel, beat]).await?;
        Ok::<_, redis::RedisError>(pubsub)
    };
    Ok(tokio::time::timeout(CALL_TIMEOUT, subscribe).await??)
}

fn deliver(registry: &Registry, instance: &InstanceId, payload: &[u8]) {
    let own = serde_json::from_slice::<Origin<'_>>(payload)
        .is_ok_and(|peek| peek.origin.as_deref() == Some(instance.as_str()));
    if own {
        return;
    }
    let wire = match serde_json::from_slice::<Wire>(payload) {
        Ok(wire) => wire,
        Err(err) => return log::warn!("ignoring a malformed event: {err}"),
    };
    match wire {
        Wire {
            close: Some(close),
            to,
            ..
        } => registry.close(&to, close),
        Wire {
            order: Some(order),
            frame: Some(frame),
            to,
            ..
        } => registry.deliver(&Event { to, order, frame }),
        _ => log::warn!("ignoring an event with neither a frame nor a close"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lobby_message_with_its_position_spliced_in_reads_as_a_wire_message() {
        // A frame that holds the stand-in's digits does not confuse the cut.
        let frame = ByteString::from(r#"{"event":"chat","data":{"text":"18446744073709551615"}}"#);
        let spliced = RedisEvents::lobby_message(&frame).expect("serialises");
        // What the store's append script publishes for position 7.
        let published = format!("{}7{}", spliced.before, spliced.after);
        let wire: Wire = serde_json::from_str(&published).expect("the shape parses");
        assert_eq!(wire.origin, None);
        assert_eq!(wire.to, Audience::Lobby);
        assert_eq!(wire.order, Some(Order::LobbySequence(7)));
        assert_eq!(wire.frame, Some(frame));
        assert_eq!(wire.close, None);
    }

    #[test]
    fn older_instances_lobby_messages_still_read_as_wire_messages() {
        // What the append script published with cjson before this module
        // prepared the message: a rolling upgrade mixes the two.
        let from_lua = r#"{"to":"lobby","order":{"sequence":7},"frame":"{\"event\":\"x\"}"}"#;
        let wire: Wire = serde_json::from_str(from_lua).expect("the shape parses");
        assert_eq!(wire.order, Some(Order::LobbySequence(7)));
        assert_eq!(wire.frame.as_deref(), Some(r#"{"event":"x"}"#));
    }

    #[test]
    fn wire_messages_round_trip() {
        let instance = InstanceId::generate();
        let wire = Wire {
            origin: Some(instance.clone()),
            to: Audience::User("alice".into()),
            order: None,
            frame: None,
            close: Some(Close::Logout),
        };
        let text = serde_json::to_string(&wire).expect("serialises");
        let back: Wire = serde_json::from_str(&text).expect("parses");
        assert_eq!(back.origin, Some(instance.clone()));
        assert_eq!(back.close, Some(Close::Logout));
        let peek: Origin<'_> = serde_json::from_str(&text).expect("parses");
        assert_eq!(peek.origin.as_deref(), Some(instance.as_str()));
    }
}
