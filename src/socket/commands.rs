//! What a client asks of its socket: the events of `protocol::ClientEvent`,
//! each checked here, then run by the transport as a [`Command`] (a store
//! call bounded by `STORE_TIMEOUT`) whose [`Outcome`] the socket shows.
//!
//! Every command has an answer: a value (the new count, the posted
//! message's id) or a [`FrameError`]. The socket never sends it itself: a
//! transport whose client asked for an acknowledgement (Socket.IO) sends
//! it there; otherwise an error becomes an `error` frame
//! ([`Socket::notify`]) and a value is dropped (what a command changes
//! reaches every socket, the sender's too, through the registry).
//!
//! A new client event is a variant of `ClientEvent` plus an arm in
//! [`Socket::command`] (see "Adapting" in the README).

use std::time::Instant;

use bytestring::ByteString;
use futures_util::{future::LocalBoxFuture, FutureExt};
use serde_json::{json, Value};

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

/// How a command's work ended.
pub struct Outcome {
    what: &'static str,
    result: Result<Done, Failure>,
}

/// A command that worked: its answer, and a frame for its sender alone if
/// it has one (a client event that asks for something on `GET /ws`, where
/// there are no acknowledgements).
pub struct Done {
    answer: Value,
    to_sender: Option<ByteString>,
}

impl Done {
    /// Answers `answer`.
    pub fn answer(answer: impl Into<Value>) -> Self {
        Self {
            answer: answer.into(),
            to_sender: None,
        }
    }

    /// Also sends `frame` to the sender.
    pub fn and_send(self, frame: ByteString) -> Self {
        Self {
            to_sender: Some(frame),
            ..self
        }
    }
}

/// A command's answer: its value, or why it was refused or failed.
pub type Answer = Result<Value, FrameError>;

impl Socket {
    /// Handles one client frame of the protocol's JSON text (`GET /ws`): the
    /// frame budget, then parsing, then [`Socket::command`]; a refusal is
    /// answered with an `error` frame.
    pub fn receive(&mut self, text: &str, out: &mut impl Outlet) -> Option<Command> {
        let command = self
            .admit()
            .and_then(|()| ClientEvent::parse(text))
            .and_then(|event| self.command(event));
        command.map_err(|error| self.notify(error, out)).ok()
    }

    /// Checks a client event: the work to run, or why it is refused at once.
    pub fn command(&mut self, event: ClientEvent) -> Result<Command, FrameError> {
        match event {
            ClientEvent::Incr => Ok(self.incr()),
            ClientEvent::Chat(text) => self.chat(text),
        }
    }

    /// Shows how a command ended and returns its answer; `None` when the
    /// session has ended (the socket is closing).
    pub fn finish(&mut self, outcome: Outcome, out: &mut impl Outlet) -> Option<Answer> {
        match outcome.result {
            Ok(done) => {
                if let Some(frame) = done.to_sender {
                    out.send(frame);
                }
                Some(Ok(done.answer))
            }
            Err(Failure::Ended(close)) => {
                out.close(close);
                None
            }
            Err(Failure::Store(err)) => {
                log::warn!("socket {} could not {}: {err}", self.id, outcome.what);
                Some(Err(FrameError::Unavailable))
            }
        }
    }

    fn incr(&self) -> Command {
        let (sessions, id) = (self.services.sessions.clone(), self.session.clone());
        let work = async move {
            let result = bounded(async {
                match sessions.increment(&id).await? {
                    Some(count) => Ok(Done::answer(count)),
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
    /// chat budget on this instance. Answers the message's id.
    fn chat(&mut self, text: Result<ChatText, FrameError>) -> Result<Command, FrameError> {
        let name = self.user.clone().ok_or(FrameError::LoginRequired)?;
        let text = text?;
        if !self.settings.chat_limit.allow(self.room, Instant::now()) {
            return Err(FrameError::RateLimited);
        }
        let lobby = self.services.lobby.clone();
        let work = async move {
            let result = bounded(async {
                let id = lobby.post(&name, &text).await?;
                Ok(Done::answer(json!({ "id": id })))
            })
            .await;
            Outcome {
                what: "post",
                result,
            }
        };
        Ok(Command {
            work: work.boxed_local(),
            in_order: true,
        })
    }
}
