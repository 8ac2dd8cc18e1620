//! The WebSocket framing rules of `GET /ws`: text frames only, fragments
//! reassembled up to [`MAX_MESSAGE_BYTES`], valid UTF-8, and the close
//! frames of the contract.

use std::io;

use actix_http::ws::Item;
use actix_web_actors::ws::{CloseCode, CloseReason};

use crate::protocol::Close;

/// The largest message accepted, per frame and reassembled.
pub const MAX_MESSAGE_BYTES: usize = 64 * 1024;

/// The close frame for each of the contract's closes.
pub fn close_reason(close: Close) -> CloseReason {
    CloseReason {
        code: CloseCode::from(close.code()),
        description: Some(close.reason().to_owned()),
    }
}

/// 1003: a binary frame.
pub fn binary_refused() -> CloseReason {
    CloseReason::from((CloseCode::Unsupported, "binary frames are not accepted"))
}

/// 1009: a message over [`MAX_MESSAGE_BYTES`].
pub fn too_big() -> CloseReason {
    CloseReason::from((CloseCode::Size, "message larger than 64 KiB"))
}

/// 1007: a text message that is not UTF-8.
pub fn not_utf8() -> CloseReason {
    CloseReason::from((CloseCode::Invalid, "text must be UTF-8"))
}

/// 1002: frames out of order, or a protocol error.
pub fn protocol_error(why: &'static str) -> CloseReason {
    CloseReason::from((CloseCode::Protocol, why))
}

/// actix-web-actors reports a text frame that is not UTF-8 as an I/O error
/// of kind `Other` carrying the `Utf8Error`'s text (its `ws.rs`), not as a
/// protocol error of its own; a broken connection's errors never mention
/// UTF-8. `tests/api/hostile.rs` pins this down.
pub fn is_invalid_utf8(err: &io::Error) -> bool {
    err.kind() == io::ErrorKind::Other && err.to_string().contains("utf-8")
}

/// A fragmented text message being reassembled.
#[derive(Default)]
pub struct Fragments(Option<Vec<u8>>);

impl Fragments {
    /// Whether a message is half-way through.
    pub fn pending(&self) -> bool {
        self.0.is_some()
    }

    /// Adds a fragment: `Ok(Some(text))` once the message is whole,
    /// `Ok(None)` while it is not, and the close frame for a broken rule.
    pub fn add(&mut self, item: Item) -> Result<Option<String>, CloseReason> {
        let (bytes, last) = match item {
            Item::FirstBinary(_) => return Err(binary_refused()),
            Item::FirstText(bytes) => {
                self.0 = Some(Vec::new());
                (bytes, false)
            }
            Item::Continue(bytes) => (bytes, false),
            Item::Last(bytes) => (bytes, true),
        };
        let Some(partial) = self.0.as_mut() else {
            return Err(protocol_error("unexpected continuation"));
        };
        if partial.len() + bytes.len() > MAX_MESSAGE_BYTES {
            return Err(too_big());
        }
        partial.extend_from_slice(&bytes);
        if !last {
            return Ok(None);
        }
        let message = self.0.take().unwrap_or_default();
        String::from_utf8(message).map(Some).map_err(|_| not_utf8())
    }
}
