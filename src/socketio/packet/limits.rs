//! What a client may send on one connection, and why a message is refused:
//! the bounds every decoder checks and the errors it reports.

use super::AckId;

/// Attachments a binary packet may announce: socket.io-parser's default
/// since GHSA-677m-j7p3-52f9 (socketioxide's 10,000 needed
/// GHSA-55mf-67qm-4wpg).
pub const MAX_ATTACHMENTS: usize = 10;
/// The longest namespace, in bytes.
pub const MAX_NAMESPACE_BYTES: usize = 256;
/// The largest acknowledgement id: 2^53 − 1, beyond which a JavaScript
/// client's number loses precision.
pub const MAX_ACK_ID: AckId = (1 << 53) - 1;
/// What one connection's client may send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The longest text packet, and the most attachment bytes of one binary
    /// packet: the connection's `maxPayload`.
    pub max_payload: usize,
    /// The most attachments one binary packet may announce.
    pub max_attachments: usize,
}

impl Limits {
    /// `max_payload` bytes and [`MAX_ATTACHMENTS`].
    pub fn new(max_payload: usize) -> Self {
        Self {
            max_payload,
            max_attachments: MAX_ATTACHMENTS,
        }
    }
}

/// Why a client's message is not a Socket.IO packet it may send. Any of
/// them ends the Engine.IO connection (socket.io's "parse error").
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PacketError {
    /// Empty, or the first character is not a packet type.
    #[error("unknown packet type")]
    UnknownType,
    /// A binary packet's count missing, not decimal, 0, or without `-`.
    #[error("illegal attachments")]
    Attachments,
    /// More attachments than [`Limits::max_attachments`].
    #[error("too many attachments")]
    TooManyAttachments,
    /// A namespace over [`MAX_NAMESPACE_BYTES`].
    #[error("namespace too long")]
    Namespace,
    /// An acknowledgement id over [`MAX_ACK_ID`].
    #[error("invalid ack id")]
    AckId,
    /// Data that is not JSON.
    #[error("invalid JSON")]
    Json,
    /// JSON that does not suit the packet type (an event that is not an
    /// array starting with a name that is not reserved, data on a
    /// DISCONNECT, …).
    #[error("invalid payload")]
    Payload,
    /// A placeholder whose `num` is not an attachment's index.
    #[error("illegal placeholder")]
    Placeholder,
    /// A text or attachments over [`Limits::max_payload`].
    #[error("packet too large")]
    TooLarge,
    /// A text message while a binary packet waits for attachments
    /// (socketioxide #811).
    #[error("text while reassembling a binary packet")]
    UnexpectedText,
    /// A binary message while no binary packet waits for one.
    #[error("binary data with no binary packet")]
    UnexpectedBinary,
}
