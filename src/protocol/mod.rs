//! The socket protocol: JSON text frames `{"event": "<name>", "data": <any>}`
//! both ways, parsed into and written from typed enums, and the close codes.
//!
//! A new event is a variant here plus the code that produces or handles it;
//! the registry, the fan-out and the Redis wire format carry ready frames and
//! never name an event (see "Adapting" in the README).

mod chat;

use std::sync::Arc;

use bytestring::ByteString;
use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use chat::{ChatMessage, ChatText, MAX_CHAT_CHARS};

use crate::session::SessionData;

/// A frame from the client.
#[derive(Debug, PartialEq, Eq)]
pub enum ClientEvent {
    /// `{"event":"incr"}`: add 1 to the session's count.
    Incr,
    /// `{"event":"chat","data":{"text":"..."}}`: post to the lobby. The text
    /// is parsed here, but whether the session may post is checked first, so
    /// a bad text is kept as the error to answer after that check.
    Chat(Result<ChatText, FrameError>),
}

/// Why a client frame was refused; the socket stays open.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FrameError {
    /// Not a JSON object with a string `event`.
    BadJson,
    /// An `event` this server does not know.
    UnknownEvent,
    /// Over the socket's frame budget; the frame was dropped.
    RateLimited,
    /// The session store did not answer in time. The change may or may not
    /// have been applied (the store may have done it and failed to say so):
    /// a client that retries blindly can count twice.
    Unavailable,
    /// Only a logged-in session may post to the lobby.
    LoginRequired,
    /// A chat `text` that is not a string of 1 to 500 characters without
    /// control characters.
    BadMessage,
}

impl FrameError {
    /// The human-readable message sent with the code.
    pub fn message(self) -> &'static str {
        match self {
            Self::BadJson => "frames must be JSON objects with a string \"event\"",
            Self::UnknownEvent => "unknown event",
            Self::RateLimited => "too many frames: some were dropped",
            Self::Unavailable => "the session store is unavailable; try again",
            Self::LoginRequired => "log in to post to the lobby",
            Self::BadMessage => "text must be 1 to 500 characters, without control characters",
        }
    }
}

/// The envelope every frame shares; `data` is accepted and ignored for the
/// events that take none.
#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(borrow)]
    event: std::borrow::Cow<'a, str>,
    #[serde(default)]
    data: Value,
}

impl ClientEvent {
    /// Parses one text frame.
    pub fn parse(text: &str) -> Result<Self, FrameError> {
        // serde would also fill the envelope from an array (`["incr"]`);
        // the protocol wants an object.
        if !text.trim_start().starts_with('{') {
            return Err(FrameError::BadJson);
        }
        let envelope: Envelope<'_> = serde_json::from_str(text).map_err(|_| FrameError::BadJson)?;
        Self::from_parts(&envelope.event, &envelope.data)
    }

    /// The event named `event` with its `data` (`Value::Null` when it has
    /// none), however they came: a frame's envelope, or a Socket.IO event's
    /// name and first argument.
    pub fn from_parts(event: &str, data: &Value) -> Result<Self, FrameError> {
        match event {
            "incr" => Ok(Self::Incr),
            "chat" => Ok(Self::Chat(
                data["text"]
                    .as_str()
                    .and_then(ChatText::parse)
                    .ok_or(FrameError::BadMessage),
            )),
            _ => Err(FrameError::UnknownEvent),
        }
    }
}

/// A frame to the client.
#[derive(Debug, Serialize)]
#[serde(tag = "event", content = "data")]
pub enum ServerEvent<'a> {
    /// Sent once on open: the session as it is now.
    #[serde(rename = "session")]
    Session(&'a SessionData),
    /// The session's count changed.
    #[serde(rename = "current count")]
    CurrentCount(u64),
    /// Sent once on open, after `session`: who is online, sorted.
    #[serde(rename = "presence state")]
    PresenceState(&'a [String]),
    /// Sent once on open, after `presence state`: the recent lobby messages,
    /// oldest first.
    #[serde(rename = "chat history")]
    ChatHistory(&'a [&'a ChatMessage]),
    /// A lobby message.
    #[serde(rename = "chat")]
    Chat(&'a ChatMessage),
    /// Who came online and who went offline since the presence this socket
    /// last showed (a batch: each list sorted, no name in both, at least one
    /// not empty).
    #[serde(rename = "presence")]
    Presence {
        /// The users who went from offline to online.
        online: &'a [Arc<str>],
        /// The users who have had no socket anywhere for the grace.
        offline: &'a [Arc<str>],
    },
    /// A client frame was refused.
    #[serde(rename = "error")]
    Error {
        /// Machine-readable code.
        code: FrameError,
        /// Human-readable message.
        message: &'static str,
    },
}

impl ServerEvent<'_> {
    /// The frame's JSON text.
    pub fn to_text(&self) -> ByteString {
        // The frames hold only numbers, strings, bools and lists of them:
        // serialising cannot fail.
        serde_json::to_string(self).unwrap_or_default().into()
    }

    /// The error frame for `error`.
    pub fn error(error: FrameError) -> ServerEvent<'static> {
        ServerEvent::Error {
            code: error,
            message: error.message(),
        }
    }
}

/// Why the server closes a socket (codes of the contract).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Close {
    /// 4000: the session logged out; do not reconnect.
    Logout,
    /// 4001: the session expired or was deleted; reconnect.
    SessionExpired,
    /// 4001: the session's key was renewed at login; reconnect with the new cookie.
    SessionRenewed,
    /// 1001: the server is shutting down; reconnect with backoff.
    ShuttingDown,
    /// 4002: the client did not read its frames; reconnect with backoff.
    TooSlow,
}

impl Close {
    /// The numeric close code.
    pub fn code(self) -> u16 {
        match self {
            Self::Logout => 4000,
            Self::SessionExpired | Self::SessionRenewed => 4001,
            Self::ShuttingDown => 1001,
            Self::TooSlow => 4002,
        }
    }

    /// The close reason text.
    pub fn reason(self) -> &'static str {
        match self {
            Self::Logout => "logout",
            Self::SessionExpired => "session expired",
            Self::SessionRenewed => "session renewed",
            Self::ShuttingDown => "server shutting down",
            Self::TooSlow => "too slow",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_client_frames() {
        assert_eq!(
            ClientEvent::parse(r#"{"event":"incr"}"#),
            Ok(ClientEvent::Incr)
        );
        assert_eq!(
            ClientEvent::parse(r#"{"event":"incr","data":{"x":[1]}}"#),
            Ok(ClientEvent::Incr)
        );
        assert_eq!(
            ClientEvent::parse(r#"{"event":"nope"}"#),
            Err(FrameError::UnknownEvent)
        );
        for bad in [
            "",
            "incr",
            "[]",
            r#"["incr"]"#,
            r#"{"event":1}"#,
            r#"{"data":1}"#,
            "{",
        ] {
            assert_eq!(ClientEvent::parse(bad), Err(FrameError::BadJson), "{bad}");
        }
    }

    #[test]
    fn writes_server_frames() {
        assert_eq!(
            &*ServerEvent::CurrentCount(3).to_text(),
            r#"{"event":"current count","data":3}"#
        );
        let data = SessionData::default();
        assert_eq!(
            &*ServerEvent::Session(&data).to_text(),
            r#"{"event":"session","data":{"count":0,"name":null,"authenticated":false}}"#
        );
        assert_eq!(
            &*ServerEvent::error(FrameError::BadJson).to_text(),
            r#"{"event":"error","data":{"code":"bad_json","message":"frames must be JSON objects with a string \"event\""}}"#
        );
        assert_eq!(
            &*ServerEvent::Presence {
                online: &["bob".into()],
                offline: &["alice".into(), "carol".into()],
            }
            .to_text(),
            r#"{"event":"presence","data":{"online":["bob"],"offline":["alice","carol"]}}"#
        );
        let message = ChatMessage {
            id: "1".into(),
            name: "a".into(),
            text: "<b>".into(),
            at: 5,
        };
        assert_eq!(
            &*ServerEvent::ChatHistory(&[&message]).to_text(),
            r#"{"event":"chat history","data":[{"id":"1","name":"a","text":"<b>","at":5}]}"#
        );
        assert_eq!(
            &*ServerEvent::PresenceState(&["a".to_owned()]).to_text(),
            r#"{"event":"presence state","data":["a"]}"#
        );
    }

    #[test]
    fn parses_chat_frames_keeping_a_bad_text_as_its_error() {
        let chat = |text: &str| ClientEvent::parse(text);
        assert_eq!(
            chat(r#"{"event":"chat","data":{"text":"  hi ","name":"mallory"}}"#),
            Ok(ClientEvent::Chat(Ok(ChatText::parse("hi").expect("valid"))))
        );
        for bad in [
            r#"{"event":"chat"}"#,
            r#"{"event":"chat","data":"hi"}"#,
            r#"{"event":"chat","data":{"text":5}}"#,
            r#"{"event":"chat","data":{"text":" "}}"#,
        ] {
            assert_eq!(
                chat(bad),
                Ok(ClientEvent::Chat(Err(FrameError::BadMessage))),
                "{bad}"
            );
        }
    }
}
