//! What a socket reads when it opens, and again after a resync or when its
//! session is reloaded: the session, who is online and the lobby. The
//! opening frames come from it (`session`, `presence state`, `chat
//! history`); after a resync, only what changed since is shown.
//!
//! An event whose state must show on open names itself here: it is read in
//! [`Socket::read_snapshot`] and shown in `greet` and `catch_up`.

use std::{future::Future, sync::Arc};

use super::{
    deadline::{bounded, Failure},
    lifecycle::{send_presence, Outlet, Socket},
};
use crate::{
    protocol::ServerEvent,
    services::{LobbyView, Online, Services},
    session::{SessionData, SessionId},
};

/// What a socket read, and whether presence now counts it.
pub struct Opening {
    counted: bool,
    read: Result<Snapshot, Failure>,
}

struct Snapshot {
    data: SessionData,
    /// Shared with the sockets that read at the same time (one read, one
    /// `presence state` frame for them all).
    roster: Arc<Online>,
    lobby: LobbyView,
}

/// A reloaded session: its data, or why not.
pub struct Reloaded(Result<SessionData, Failure>);

impl Socket {
    /// Whether the opening frames have been shown.
    pub fn greeted(&self) -> bool {
        self.view.greeted()
    }

    /// Reads the session, presence and the lobby, counting this socket's
    /// user in presence first (so the roster includes it). Independent reads
    /// go out together (one round trip on Redis's multiplexed connection).
    /// The transport holds every other event back until it is shown
    /// ([`Socket::show_snapshot`]): pushes queue, then are filtered against
    /// what it shows.
    pub fn read_snapshot(&self) -> impl Future<Output = Opening> + 'static {
        let services = self.services.clone();
        let (id, user, counted) = (self.session.clone(), self.user.clone(), self.counted);
        async move {
            let mut counted = counted;
            let read = bounded(read(&services, &id, user.as_deref(), &mut counted)).await;
            Opening { counted, read }
        }
    }

    /// Shows a snapshot: the opening frames the first time, what changed
    /// since after a resync. An ended session closes the socket; an
    /// unreachable store leaves it for the next reload to try again.
    pub fn show_snapshot(&mut self, opening: Opening, out: &mut impl Outlet) {
        self.counted = opening.counted;
        match opening.read {
            Ok(snapshot) if self.view.greeted() => self.catch_up(&snapshot, out),
            Ok(snapshot) => self.greet(&snapshot, out),
            Err(Failure::Ended(close)) => out.close(close),
            Err(Failure::Store(err)) => {
                log::warn!("socket {} could not read its state: {err}", self.id);
            }
        }
    }

    fn greet(&mut self, snapshot: &Snapshot, out: &mut impl Outlet) {
        let (data, roster, lobby) = (&snapshot.data, &snapshot.roster, &snapshot.lobby);
        self.view.show_count(data.count);
        out.send(ServerEvent::Session(data).to_text());
        self.view.show_roster(roster);
        out.send(roster.frame());
        let history: Vec<_> = lobby.messages.iter().map(|(_, message)| message).collect();
        out.send(ServerEvent::ChatHistory(&history).to_text());
        self.view.show_history_up_to(lobby.head);
    }

    fn catch_up(&mut self, snapshot: &Snapshot, out: &mut impl Outlet) {
        let (data, roster, lobby) = (&snapshot.data, &snapshot.roster, &snapshot.lobby);
        if self.view.show_count(data.count) {
            out.send(ServerEvent::CurrentCount(data.count).to_text());
        }
        let (mut online, mut offline) = (Vec::new(), Vec::new());
        for (name, is_online) in self.view.show_roster(roster) {
            if is_online { &mut online } else { &mut offline }.push(Arc::from(name));
        }
        send_presence(out, &online, &offline);
        for (seq, message) in &lobby.messages {
            if *seq > self.view.seq() {
                out.send(ServerEvent::Chat(message).to_text());
            }
        }
        self.view.show_history_up_to(lobby.head);
    }

    /// Reloads the session (a greeted socket's periodic check; one that
    /// could not greet yet reads a whole snapshot instead).
    pub fn reload(&self) -> impl Future<Output = Reloaded> + 'static {
        let (sessions, id) = (self.services.sessions.clone(), self.session.clone());
        async move {
            Reloaded(
                bounded(async { sessions.for_socket(&id).await?.map_err(Failure::Ended) }).await,
            )
        }
    }

    /// Shows a reloaded session: a count it missed, or the close an ended
    /// session calls for (4000 logged out, 4001 otherwise). A store error
    /// does not close it; the next interval tries again.
    pub fn show_reload(&mut self, reloaded: Reloaded, out: &mut impl Outlet) {
        match reloaded.0 {
            Ok(data) => {
                if self.view.show_count(data.count) {
                    out.send(ServerEvent::CurrentCount(data.count).to_text());
                }
            }
            Err(Failure::Ended(close)) => out.close(close),
            Err(Failure::Store(err)) => {
                log::warn!("socket {} could not reload its session: {err}", self.id);
            }
        }
    }
}

/// The snapshot's reads; `counted` becomes `true` once presence counts the
/// socket, even if a later read fails.
async fn read(
    services: &Services,
    id: &SessionId,
    user: Option<&str>,
    counted: &mut bool,
) -> Result<Snapshot, Failure> {
    let join = async {
        match (user, *counted) {
            (Some(user), false) => services.presence.join(user).await.map(|()| true),
            _ => Ok(*counted),
        }
    };
    let (data, joined, lobby) = tokio::join!(
        services.sessions.for_socket(id),
        join,
        services.lobby.read()
    );
    *counted = joined?;
    let data = data?.map_err(Failure::Ended)?;
    let roster = services.presence.online().await?;
    Ok(Snapshot {
        data,
        roster,
        lobby: lobby?,
    })
}
