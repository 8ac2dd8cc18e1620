//! [`Sessions`]: the one place that reads and changes session data, for HTTP
//! handlers and sockets alike.
//!
//! Every change happens inside the store in one atomic step (so concurrent
//! writers never lose each other's work and a deleted session is never
//! brought back), and only once it is persisted is it announced to the
//! session's sockets, so a client reacting to `current count` never reads a
//! stale store.

use std::time::Duration;

use crate::{
    events::{Audience, Event, Events, Order},
    protocol::{Close, ServerEvent},
    session::{keys, DisplayName, RoomId, RoomKey, SessionData, SessionId},
    store::{Ended, Store, StoreError},
};

/// How long a key renewed by a login is answered with 409.
pub const RENEWED_FOR: Duration = Duration::from_secs(60);

/// The longest a logout is remembered (the contract's cap).
const ENDED_AT_MOST: Duration = Duration::from_secs(24 * 3600);

/// Reads and changes sessions, and tells their sockets.
#[derive(Clone)]
pub struct Sessions {
    store: Store,
    events: Events,
    rooms: RoomKey,
    ttl: Duration,
}

impl Sessions {
    /// Sessions in `store`, announced through `events`, idle-expiring after `ttl`.
    pub fn new(store: Store, events: Events, rooms: RoomKey, ttl: Duration) -> Self {
        Self {
            store,
            events,
            rooms,
            ttl,
        }
    }

    /// The store itself (for health checks and the session middleware).
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The room of a session's sockets.
    pub fn room(&self, id: &SessionId) -> RoomId {
        self.rooms.room(id)
    }

    /// The session's data, or `None` when it does not exist. Does not extend
    /// its lifetime.
    pub async fn load(&self, id: &SessionId) -> Result<Option<SessionData>, StoreError> {
        Ok(self
            .store
            .load(id)
            .await?
            .map(|state| SessionData::from_state(&state)))
    }

    /// Starts a new session holding `data`.
    pub async fn create(&self, data: &SessionData) -> Result<SessionId, StoreError> {
        self.store.create(data.to_state(), self.ttl).await
    }

    /// Adds 1 to the session's count, then tells its sockets on every
    /// instance. `None` when the session does not exist.
    pub async fn increment(&self, id: &SessionId) -> Result<Option<u64>, StoreError> {
        let count = self.store.increment(id, keys::COUNT, self.ttl).await?;
        if let Some(count) = count {
            let event = ServerEvent::CurrentCount(count);
            let to = Audience::Session(self.room(id));
            self.events
                .emit(Event::new(to, Order::SessionCount(count), &event))
                .await;
        }
        Ok(count)
    }

    /// Logs the session in as `name` under a new key (so a key planted before
    /// login is worthless after it), keeping its data; the old key's sockets
    /// are closed to reconnect with the new cookie. Without a live session,
    /// starts one. Returns the key to set in the cookie, or `None` when `id`
    /// was renewed by another login meanwhile (which must not start a
    /// session: its cookie would overwrite that login's).
    pub async fn login(
        &self,
        id: Option<&SessionId>,
        name: &DisplayName,
    ) -> Result<Option<SessionId>, StoreError> {
        if let Some(old) = id {
            // The store remembers the old key as renewed in the same atomic
            // step: a request with it never finds it neither live nor renewed.
            let renewed = self
                .store
                .renew(old, SessionData::login_changes(name), self.ttl, RENEWED_FOR)
                .await?;
            if let Some(new) = renewed {
                self.events
                    .close(Audience::Session(self.room(old)), Close::SessionRenewed)
                    .await;
                return Ok(Some(new));
            }
            // Live when the request began, missing now: renewed by a concurrent
            // login, or ended (then a new session is right).
            if self.ended(old).await? == Some(Ended::Renewed) {
                return Ok(None);
            }
        }
        let data = SessionData {
            count: 0,
            name: Some(name.as_ref().to_owned()),
            authenticated: true,
        };
        self.create(&data).await.map(Some)
    }

    /// A socket of `id` opened on this instance (see [`Store::pin`]); call
    /// [`Sessions::unpin`] once when it closes.
    pub fn pin(&self, id: &SessionId) {
        self.store.pin(id);
    }

    /// A socket of `id` closed on this instance.
    pub fn unpin(&self, id: &SessionId) {
        self.store.unpin(id);
    }

    /// Deletes the session, then closes its sockets on every instance.
    pub async fn logout(&self, id: &SessionId) -> Result<(), StoreError> {
        let room = self.room(id);
        self.store
            .remember_ended(&room, Ended::LoggedOut, self.ended_for())
            .await?;
        self.store.delete(id).await?;
        self.events
            .close(Audience::Session(room), Close::Logout)
            .await;
        Ok(())
    }

    /// Deletes every session logged in as `user` (each remembered as logged
    /// out in the same step), `own` (the caller's) last, so that after a
    /// failure half way the caller can retry; then closes all their sockets
    /// on every instance.
    pub async fn logout_everywhere(&self, user: &str, own: &SessionId) -> Result<(), StoreError> {
        self.store
            .end_user(user, self.ended_for(), Some(own))
            .await?;
        self.store
            .remember_ended(&self.room(own), Ended::LoggedOut, self.ended_for())
            .await?;
        self.store.delete(own).await?;
        self.events
            .close(Audience::User(user.to_owned()), Close::Logout)
            .await;
        Ok(())
    }

    /// The session's data for a socket that holds it, or how the socket must
    /// close: 4000 when it was logged out (also when this instance missed the
    /// logout), 4001 when it expired or otherwise ended.
    pub async fn for_socket(
        &self,
        id: &SessionId,
    ) -> Result<Result<SessionData, Close>, StoreError> {
        if let Some(data) = self.load(id).await? {
            return Ok(Ok(data));
        }
        Ok(Err(match self.ended(id).await? {
            Some(Ended::LoggedOut) => Close::Logout,
            Some(Ended::Renewed) => Close::SessionRenewed,
            None => Close::SessionExpired,
        }))
    }

    /// How the session of `id` ended, if it did and that is still remembered.
    pub async fn ended(&self, id: &SessionId) -> Result<Option<Ended>, StoreError> {
        self.store.ended(&self.room(id)).await
    }

    fn ended_for(&self) -> Duration {
        self.ttl.min(ENDED_AT_MOST)
    }
}
