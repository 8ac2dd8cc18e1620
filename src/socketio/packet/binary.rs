//! Binary packets: a BINARY_EVENT or BINARY_ACK header announces N
//! attachments, and the next N messages of the connection are their bytes.
//! The [`Decoder`] holds at most one such packet, refuses anything out of
//! turn (a text before the last attachment, a binary with nothing
//! waiting), and bounds the attachments' bytes; its caller bounds how long
//! it waits ([`Decoder::is_waiting`]).

use bytes::Bytes;

use super::{
    decode::decode,
    limits::{Limits, PacketError},
    Packet,
};

/// One connection's Socket.IO decoding state: the binary packet waiting for
/// its attachments, if any.
#[derive(Debug)]
pub struct Decoder {
    limits: Limits,
    waiting: Option<Waiting>,
}

#[derive(Debug)]
struct Waiting {
    packet: Packet,
    attachments: usize,
    bytes: usize,
}

impl Decoder {
    /// A decoder for a connection whose client may send within `limits`.
    pub fn new(limits: Limits) -> Self {
        Self {
            limits,
            waiting: None,
        }
    }

    /// Reads a text message (an Engine.IO message's data): the packet, or
    /// `None` when it is a binary packet's header, whose attachments follow.
    pub fn text(&mut self, text: &str) -> Result<Option<Packet>, PacketError> {
        if self.waiting.take().is_some() {
            return Err(PacketError::UnexpectedText);
        }
        let header = decode(text, &self.limits)?;
        if header.attachments == 0 {
            return Ok(Some(header.packet));
        }
        self.waiting = Some(Waiting {
            packet: header.packet,
            attachments: header.attachments,
            bytes: 0,
        });
        Ok(None)
    }

    /// Reads a binary message: the packet once it was the last attachment.
    pub fn binary(&mut self, data: Bytes) -> Result<Option<Packet>, PacketError> {
        let mut waiting = self.waiting.take().ok_or(PacketError::UnexpectedBinary)?;
        waiting.bytes = waiting.bytes.saturating_add(data.len());
        if waiting.bytes > self.limits.max_payload {
            return Err(PacketError::TooLarge);
        }
        waiting.packet.attachments.push(data);
        if waiting.packet.attachments.len() == waiting.attachments {
            return Ok(Some(waiting.packet));
        }
        self.waiting = Some(waiting);
        Ok(None)
    }

    /// Whether a binary packet waits for attachments.
    pub fn is_waiting(&self) -> bool {
        self.waiting.is_some()
    }
}
