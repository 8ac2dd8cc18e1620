//! Binary packets: a BINARY_EVENT or BINARY_ACK header announces N
//! attachments, and the next N messages of the connection are their bytes.
//! The [`Decoder`] holds at most one such packet, refuses anything out of
//! turn (a text before the last attachment, a binary with nothing
//! waiting), and bounds the attachments' bytes; its caller bounds how long
//! it waits ([`Decoder::is_waiting`]).

use bytes::Bytes;
use serde_json::{value::RawValue, Value};

use super::{
    decode::{decode, Limits, PacketError},
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

/// Checks that every placeholder in `data` (an object whose `_placeholder`
/// is `true`) has an integer `num` below `attachments`, as
/// socket.io-parser's `reconstructPacket` requires. Other objects, however
/// placeholder-like, are the client's data.
pub(super) fn check_placeholders(
    data: Option<&RawValue>,
    attachments: usize,
) -> Result<(), PacketError> {
    let Some(data) = data else {
        return Ok(());
    };
    // serde_json's depth limit (128) bounds the parse; the walk has a
    // stack of its own.
    let value: Value = serde_json::from_str(data.get()).map_err(|_| PacketError::Json)?;
    let mut stack = vec![&value];
    while let Some(value) = stack.pop() {
        match value {
            Value::Array(items) => stack.extend(items),
            Value::Object(map) if map.get("_placeholder") == Some(&Value::Bool(true)) => {
                let num = map.get("num").and_then(Value::as_u64);
                if num.is_none_or(|num| num >= attachments as u64) {
                    return Err(PacketError::Placeholder);
                }
            }
            Value::Object(map) => stack.extend(map.values()),
            _ => {}
        }
    }
    Ok(())
}

/// The placeholder of attachment `num`, exactly as socket.io-parser writes
/// it, for building the JSON of a binary packet.
pub fn placeholder(num: usize) -> Box<RawValue> {
    let text = format!(r#"{{"_placeholder":true,"num":{num}}}"#);
    // Always valid JSON.
    RawValue::from_string(text).unwrap_or_default()
}
