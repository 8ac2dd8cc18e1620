//! Engine.IO v4 packets, one at a time: what a client's text or binary
//! message decodes to ([`Packet`]), and what the server sends ([`Frame`]),
//! ready for either transport.
//!
//! A text packet is its type's digit then its data (`4hello`, `2probe`);
//! `b` then base64 is a binary message in text (long-polling). Over a
//! WebSocket a binary message is a binary frame of the raw bytes. Decoding
//! looks at the first byte only and slices at nothing else, so no input can
//! split a multibyte character (socketioxide #794), and a packet longer than
//! the connection's `maxPayload` is refused before anything is decoded.
//!
//! The rest of the Engine.IO layer: polling bodies ([`decode_payload`],
//! [`encode_payload`]), and the request checks ([`verify`]), connection ids
//! ([`Sid`]), open packet ([`EngineConfig::open`]) and errors
//! ([`EngineError`]).

mod handshake;
mod payload;

pub use handshake::{verify, EngineConfig, EngineError, Query, Sid, Transport, Verified, SID_LEN};
pub use payload::{decode_payload, encode_payload, SEPARATOR};

use base64::{
    alphabet,
    engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig},
    Engine as _,
};
use bytes::Bytes;
use bytestring::ByteString;

/// Standard base64, padding optional on input (engine.io-client pads, Node's
/// decoder accepts both), always padded on output.
pub(super) const BASE64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// An Engine.IO packet type: the digit that starts a text packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PacketType {
    /// `0`: the server's handshake, with the [`EngineConfig::open`] JSON.
    Open,
    /// `1`: ends the connection.
    Close,
    /// `2`: the heartbeat's ping (server to client in v4), or `2probe`.
    Ping,
    /// `3`: the answer to a ping (or `3probe`).
    Pong,
    /// `4`: a message (here: a Socket.IO packet).
    Message,
    /// `5`: completes the upgrade to WebSocket.
    Upgrade,
    /// `6`: nothing; ends a held poll during the upgrade or a close.
    Noop,
}

impl PacketType {
    /// The type's digit.
    pub fn digit(self) -> u8 {
        match self {
            Self::Open => b'0',
            Self::Close => b'1',
            Self::Ping => b'2',
            Self::Pong => b'3',
            Self::Message => b'4',
            Self::Upgrade => b'5',
            Self::Noop => b'6',
        }
    }

    fn from_digit(digit: u8) -> Option<Self> {
        Some(match digit {
            b'0' => Self::Open,
            b'1' => Self::Close,
            b'2' => Self::Ping,
            b'3' => Self::Pong,
            b'4' => Self::Message,
            b'5' => Self::Upgrade,
            b'6' => Self::Noop,
            _ => return None,
        })
    }
}

/// One decoded Engine.IO packet, its text borrowed from the message it came
/// in. Data after `1`, `5` and `6` is ignored, as engine.io ignores it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Packet<'a> {
    /// `0…`: a client never sends it; the transports ignore it.
    Open(&'a str),
    /// `1`.
    Close,
    /// `2…`, with its data (`probe` during an upgrade).
    Ping(&'a str),
    /// `3…`, with its data (`probe` during an upgrade).
    Pong(&'a str),
    /// `4…`: a text message.
    Message(&'a str),
    /// A binary message: a WebSocket binary frame, or `b<base64>` in text.
    Binary(Bytes),
    /// `5`.
    Upgrade,
    /// `6`.
    Noop,
}

/// Why a client's message is not an Engine.IO packet. Any of them ends the
/// connection (engine.io's "parse error").
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// An empty packet (an empty message, or two separators in a row).
    #[error("empty packet")]
    Empty,
    /// The first character is not a packet type nor `b`.
    #[error("unknown packet type")]
    UnknownType,
    /// `b` followed by something that is not base64.
    #[error("invalid base64")]
    Base64,
    /// A polling body that is not UTF-8 text.
    #[error("not UTF-8")]
    NotUtf8,
    /// Longer than the connection's `maxPayload`.
    #[error("{len} bytes over the maximum of {max}")]
    TooLarge {
        /// The length received, in bytes.
        len: usize,
        /// The connection's `maxPayload`.
        max: usize,
    },
}

impl DecodeError {
    /// The HTTP status a polling POST gets for it: 413 when too large (as
    /// engine.io answers), 400 otherwise.
    pub fn status(&self) -> u16 {
        match self {
            Self::TooLarge { .. } => 413,
            _ => 400,
        }
    }
}

/// Refuses `len` bytes beyond `max`.
pub(super) fn check_len(len: usize, max: usize) -> Result<(), DecodeError> {
    if len > max {
        return Err(DecodeError::TooLarge { len, max });
    }
    Ok(())
}

impl<'a> Packet<'a> {
    /// Decodes one text packet (a WebSocket text frame, or one packet of a
    /// polling payload) of at most `max` bytes.
    pub fn decode(text: &'a str, max: usize) -> Result<Self, DecodeError> {
        check_len(text.len(), max)?;
        let (&first, _) = text.as_bytes().split_first().ok_or(DecodeError::Empty)?;
        // The first byte is ASCII whenever it matches, so slicing after it
        // is on a character boundary; anything else is refused before.
        if first == b'b' {
            let data = BASE64
                .decode(&text.as_bytes()[1..])
                .map_err(|_| DecodeError::Base64)?;
            return Ok(Self::Binary(Bytes::from(data)));
        }
        let kind = PacketType::from_digit(first).ok_or(DecodeError::UnknownType)?;
        let data = &text[1..];
        Ok(match kind {
            PacketType::Open => Self::Open(data),
            PacketType::Close => Self::Close,
            PacketType::Ping => Self::Ping(data),
            PacketType::Pong => Self::Pong(data),
            PacketType::Message => Self::Message(data),
            PacketType::Upgrade => Self::Upgrade,
            PacketType::Noop => Self::Noop,
        })
    }

    /// A WebSocket binary frame of at most `max` bytes, as a packet.
    pub fn binary(data: Bytes, max: usize) -> Result<Self, DecodeError> {
        check_len(data.len(), max)?;
        Ok(Self::Binary(data))
    }

    /// The packet encoded again (what a client would have sent).
    pub fn to_frame(&self) -> Frame {
        match self {
            Self::Open(data) => Frame::text(PacketType::Open, data),
            Self::Close => Frame::text(PacketType::Close, ""),
            Self::Ping(data) => Frame::text(PacketType::Ping, data),
            Self::Pong(data) => Frame::text(PacketType::Pong, data),
            Self::Message(data) => Frame::text(PacketType::Message, data),
            Self::Binary(data) => Frame::Binary(data.clone()),
            Self::Upgrade => Frame::text(PacketType::Upgrade, ""),
            Self::Noop => Frame::text(PacketType::Noop, ""),
        }
    }
}

/// An encoded Engine.IO packet from the server: one WebSocket frame as is,
/// or one packet of a polling payload ([`encode_payload`]). Cheap to
/// clone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// A text packet, its type's digit first (`2`, `6`, `42[…]`).
    Text(ByteString),
    /// A binary message: the raw bytes (`b` + base64 over polling).
    Binary(Bytes),
}

impl Frame {
    /// The text packet of type `kind` carrying `data`.
    pub fn text(kind: PacketType, data: &str) -> Self {
        let mut text = String::with_capacity(1 + data.len());
        text.push(char::from(kind.digit()));
        text.push_str(data);
        Self::Text(text.into())
    }

    /// `4<data>`: a text message.
    pub fn message(data: &str) -> Self {
        Self::text(PacketType::Message, data)
    }

    /// `2`: the heartbeat's ping.
    pub fn ping() -> Self {
        Self::Text(ByteString::from_static("2"))
    }

    /// `3probe`: the answer to an upgrade's `2probe`.
    pub fn probe_pong() -> Self {
        Self::Text(ByteString::from_static("3probe"))
    }

    /// `6`: ends a held poll with nothing.
    pub fn noop() -> Self {
        Self::Text(ByteString::from_static("6"))
    }

    /// `1`: ends the connection.
    pub fn close() -> Self {
        Self::Text(ByteString::from_static("1"))
    }

    /// Its bytes as a WebSocket carries them (the weight a queue counts).
    pub fn len(&self) -> usize {
        match self {
            Self::Text(text) => text.len(),
            Self::Binary(data) => data.len(),
        }
    }

    /// Whether it has no bytes (never, for a frame this module writes).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAX: usize = 1_000_000;

    #[test]
    fn decodes_each_type() {
        let cases = [
            ("0{}", Packet::Open("{}")),
            ("1", Packet::Close),
            ("2probe", Packet::Ping("probe")),
            ("3", Packet::Pong("")),
            ("3probe", Packet::Pong("probe")),
            ("4hello", Packet::Message("hello")),
            ("4", Packet::Message("")),
            ("5", Packet::Upgrade),
            ("6", Packet::Noop),
            (
                "bAQIDBA==",
                Packet::Binary(Bytes::from_static(&[1, 2, 3, 4])),
            ),
            ("bAQIDBA", Packet::Binary(Bytes::from_static(&[1, 2, 3, 4]))),
            ("b", Packet::Binary(Bytes::new())),
            ("4€", Packet::Message("€")),
        ];
        for (text, packet) in cases {
            assert_eq!(Packet::decode(text, MAX), Ok(packet), "{text}");
        }
    }

    #[test]
    fn refuses_what_engine_io_calls_a_parse_error() {
        let cases = [
            ("", DecodeError::Empty),
            ("abc", DecodeError::UnknownType),
            ("7", DecodeError::UnknownType),
            ("€4", DecodeError::UnknownType),
            (" 4", DecodeError::UnknownType),
            ("b!!", DecodeError::Base64),
            ("bA", DecodeError::Base64),
        ];
        for (text, error) in cases {
            assert_eq!(Packet::decode(text, MAX), Err(error), "{text}");
        }
    }

    #[test]
    fn bounds_each_packet_by_max_payload() {
        assert_eq!(Packet::decode("4abc", 4), Ok(Packet::Message("abc")));
        assert_eq!(
            Packet::decode("4abcd", 4),
            Err(DecodeError::TooLarge { len: 5, max: 4 })
        );
        assert_eq!(DecodeError::TooLarge { len: 5, max: 4 }.status(), 413);
        assert_eq!(DecodeError::UnknownType.status(), 400);
        let frame = Bytes::from_static(&[0; 5]);
        assert!(Packet::binary(frame.clone(), 5).is_ok());
        assert!(Packet::binary(frame, 4).is_err());
    }

    #[test]
    fn writes_the_server_packets() {
        assert_eq!(Frame::ping(), Frame::Text("2".into()));
        assert_eq!(Frame::probe_pong(), Frame::Text("3probe".into()));
        assert_eq!(Frame::noop(), Frame::Text("6".into()));
        assert_eq!(Frame::close(), Frame::Text("1".into()));
        assert_eq!(Frame::message("hello"), Frame::Text("4hello".into()));
        assert_eq!(Frame::message("hello").len(), 6);
        assert_eq!(Packet::Upgrade.to_frame(), Frame::Text("5".into()));
    }
}
