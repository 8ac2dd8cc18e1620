//! What a client asks of its socket: the events of `protocol::ClientEvent`,
//! each checked here, then run by the transport as a [`Command`] (a store
//! call bounded by `STORE_TIMEOUT`) whose [`Outcome`] the socket shows.
//!
//! A new client event is a variant of `ClientEvent` plus an arm in
//! [`Socket::command`] (see "Adapting" in the README).

use std::time::Instant;

use bytestring::ByteString;
use futures_util::{future::LocalBoxFuture, FutureExt};

use super::{
    deadline::{bounded, Failure},
    lifecycle::{Outlet, Socket},
};
use crate::protocol::{ChatText, ClientEvent, Close, FrameError};

/// A command the socket accepted, for its transport to run.
pub struct Command {
    /// The work (store calls, bounded).
    pub work: LocalBoxFuture<'static, Outcome>,
    /// Whether the socket must wait for it before handling anything else, so
    /// that what it changes keeps the client's order (chat posts).
    pub in_order: bool,
}

/// How a command ended: a frame for the sender alone, or none (what a
/// command changes comes back through the registry, like every socket's),
/// or why it failed.
pub struct Outcome {
    what: &'static str,
    result: Result<Option<ByteString>, Failure>,
}

impl Socket {
    /// Handles one client frame of the protocol's JSON text: the frame
    /// budget, then parsing, then [`Socket::command`].
    pub fn receive(&mut self, text: &str, out: &mut impl Outlet) -> Option<Command> {
        if !self.admit(out) {
            return None;
        }
        match ClientEvent::parse(text) {
            Ok(event) => self.command(event, out),
            Err(error) => {
                self.refuse(error, out);
                None
            }
        }
    }

    /// Checks a client event; returns the work to run, or answers at once.
    pub fn command(&mut self, event: ClientEvent, out: &mut impl Outlet) -> Option<Command> {
        match event {
            ClientEvent::Incr => Some(self.incr()),
            ClientEvent::Chat(text) => self.chat(text, out),
        }
    }

    /// Shows how a command ended: its frame for the sender if it has one, a
    /// close when the session has ended, `unavailable` when the store failed.
    pub fn finish(&mut self, outcome: Outcome, out: &mut impl Outlet) {
        match outcome.result {
            Ok(Some(frame)) => out.send(frame),
            Ok(None) => {}
            Err(Failure::Ended(close)) => out.close(close),
            Err(Failure::Store(err)) => {
                log::warn!("socket {} could not {}: {err}", self.id, outcome.what);
                self.refuse(FrameError::Unavailable, out);
            }
        }
    }

    fn incr(&self) -> Command {
        let (sessions, id) = (self.services.sessions.clone(), self.session.clone());
        let work = async move {
            let result = bounded(async {
                match sessions.increment(&id).await? {
                    Some(_) => Ok(None),
                    None => Err(Failure::Ended(Close::SessionExpired)),
                }
            })
            .await;
            Outcome {
                what: "increment",
                result,
            }
        };
        Command {
            work: work.boxed_local(),
            in_order: false,
        }
    }

    /// Posts to the lobby: logged-in sessions only, within the session's
    /// chat budget on this instance.
    fn chat(
        &mut self,
        text: Result<ChatText, FrameError>,
        out: &mut impl Outlet,
    ) -> Option<Command> {
        let Some(name) = self.user.clone() else {
            self.refuse(FrameError::LoginRequired, out);
            return None;
        };
        let text = match text {
            Ok(text) => text,
            Err(error) => {
                self.refuse(error, out);
                return None;
            }
        };
        if !self.settings.chat_limit.allow(self.room, Instant::now()) {
            self.refuse(FrameError::RateLimited, out);
            return None;
        }
        let lobby = self.services.lobby.clone();
        let work = async move {
            let result = bounded(async {
                lobby.post(&name, &text).await?;
                Ok(None)
            })
            .await;
            Outcome {
                what: "post",
                result,
            }
        };
        Some(Command {
            work: work.boxed_local(),
            in_order: true,
        })
    }
}
