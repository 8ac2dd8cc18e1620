//! [`Lobby`]: posting to the chat every socket is in, and reading its history.
//!
//! Every message has a position in one stream, and every socket, on every
//! instance, shows the messages in that order. The store's append is the one
//! step that gives the position and has the message delivered in the log's
//! order, whichever the store (see `Store::append_chat`); this service only
//! says what to deliver: the event for this instance's sockets, and the wire
//! message, prepared by the events module, for every instance's.

use std::{
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
    time::{SystemTime, UNIX_EPOCH},
};

use crate::{
    clock::millis,
    events::{Audience, Event, Events, InstanceId, Order, RedisEvents},
    protocol::{ChatMessage, ChatText, ServerEvent},
    store::{Store, StoreError},
    telemetry,
};

/// The lobby's messages, from a socket's point of view: the last position it
/// has seen and the messages after the one before.
#[derive(Debug, Default)]
pub struct LobbyView {
    /// The stream's last position at the time of reading.
    pub head: u64,
    /// Kept messages with their positions, oldest first.
    pub messages: Vec<(u64, ChatMessage)>,
}

/// Posts to and reads the lobby.
#[derive(Clone)]
pub struct Lobby {
    store: Store,
    events: Events,
    keep: usize,
    instance: InstanceId,
    next_id: Arc<AtomicU64>,
}

impl Lobby {
    /// The lobby in `store`, delivered through `events`, keeping the last
    /// `keep` messages as history.
    pub fn new(store: Store, events: Events, keep: usize, instance: InstanceId) -> Self {
        Self {
            store,
            events,
            keep,
            instance,
            next_id: Arc::default(),
        }
    }

    /// Posts `text` as `name` (taken from the sender's session, never from
    /// the frame) to every socket on every instance; returns its id.
    pub async fn post(&self, name: &str, text: &ChatText) -> Result<String, StoreError> {
        let message = ChatMessage {
            // Unique across instances and restarts: the instance id is random.
            id: format!(
                "{}-{}",
                self.instance,
                self.next_id.fetch_add(1, Ordering::Relaxed)
            ),
            name: name.to_owned(),
            text: text.as_ref().to_owned(),
            at: now_millis(),
        };
        let json =
            serde_json::to_string(&message).map_err(|err| StoreError::Corrupt(err.to_string()))?;
        let frame = ServerEvent::Chat(&message).to_text();
        let publish = RedisEvents::lobby_message(&frame)
            .ok_or_else(|| StoreError::Corrupt("a lobby message does not serialise".to_owned()))?;
        let deliver = |seq| {
            self.events.emit(Event {
                to: Audience::Lobby,
                order: Order::LobbySequence(seq),
                frame,
            })
        };
        self.store
            .append_chat(&json, &publish, self.keep, deliver)
            .await?;
        metrics::counter!(telemetry::CHAT_MESSAGES).increment(1);
        Ok(message.id)
    }

    /// The lobby's last position and its kept messages.
    pub async fn read(&self) -> Result<LobbyView, StoreError> {
        let history = self.store.chat_history().await?;
        let messages = history
            .entries
            .into_iter()
            .map(|entry| {
                serde_json::from_str(entry.message.get())
                    .map(|message| (entry.seq, message))
                    .map_err(|err| StoreError::Corrupt(format!("a lobby message: {err}")))
            })
            .collect::<Result<_, _>>()?;
        Ok(LobbyView {
            head: history.head,
            messages,
        })
    }
}

fn now_millis() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, millis)
}
