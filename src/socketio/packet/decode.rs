//! Reading one Socket.IO packet from a client's text message, as
//! socket.io-parser 4.2.7 reads it, and as strictly as its validation:
//! every number is bounded, the JSON must suit the type, and the text is
//! sliced only at ASCII bytes, so no input can split a multibyte character.

use std::borrow::Cow;

use serde_json::value::RawValue;

use super::{
    limits::{Limits, PacketError, MAX_ACK_ID, MAX_NAMESPACE_BYTES},
    AckId, Packet, PacketType,
};

/// Digits in the largest acknowledgement id; more is refused unread.
const MAX_ACK_DIGITS: usize = 16;

/// Names an event may not have (socket.io-parser's `RESERVED_EVENTS`).
const RESERVED_EVENTS: [&str; 6] = [
    "connect",
    "connect_error",
    "disconnect",
    "disconnecting",
    "newListener",
    "removeListener",
];

/// A decoded packet and the attachments it still waits for.
pub(super) struct Header {
    pub(super) packet: Packet,
    pub(super) attachments: usize,
}

/// Reads `<type>[<N>-][<nsp>,][<id>][<JSON>]`.
pub(super) fn decode(text: &str, limits: &Limits) -> Result<Header, PacketError> {
    if text.len() > limits.max_payload {
        return Err(PacketError::TooLarge);
    }
    let bytes = text.as_bytes();
    let kind = bytes
        .first()
        .and_then(|&digit| PacketType::from_digit(digit))
        .ok_or(PacketError::UnknownType)?;
    let mut pos = 1;
    let attachments = match kind.is_binary() {
        true => attachments(bytes, &mut pos, limits.max_attachments)?,
        false => 0,
    };
    let nsp = namespace(text, &mut pos)?;
    let id = ack_id(bytes, &mut pos)?;
    let data = match &text[pos..] {
        // Only CONNECT and DISCONNECT may come without data.
        "" if matches!(kind, PacketType::Connect | PacketType::Disconnect) => None,
        "" => return Err(PacketError::Payload),
        json => Some(payload(kind, json)?),
    };
    if attachments > 0 {
        super::placeholder::check_placeholders(data.as_deref(), attachments)?;
    }
    Ok(Header {
        packet: Packet::new(kind, nsp, id, data, Vec::new()),
        attachments,
    })
}

/// Decimal digits at `pos`, at most `limit` of them (more: `None`).
fn digits(bytes: &[u8], pos: usize, limit: usize) -> Option<usize> {
    let count = bytes
        .get(pos..)
        .unwrap_or_default()
        .iter()
        .take(limit + 1)
        .take_while(|b| b.is_ascii_digit())
        .count();
    (count <= limit).then_some(count)
}

/// The decimal value of ASCII digits (callers take at most 16: no overflow).
fn value(digits: &[u8]) -> u64 {
    digits.iter().fold(0, |n, d| n * 10 + u64::from(d - b'0'))
}

/// `<N>-`: 1 to `max` attachments. A count without its `-` is refused
/// (socketioxide #357 looped forever on `45`).
fn attachments(bytes: &[u8], pos: &mut usize, max: usize) -> Result<usize, PacketError> {
    let count = digits(bytes, *pos, 4).ok_or(PacketError::TooManyAttachments)?;
    if count == 0 || bytes.get(*pos + count) != Some(&b'-') {
        return Err(PacketError::Attachments);
    }
    let n = value(&bytes[*pos..*pos + count]);
    *pos += count + 1;
    match usize::try_from(n) {
        Ok(0) => Err(PacketError::Attachments),
        Ok(n) if n <= max => Ok(n),
        _ => Err(PacketError::TooManyAttachments),
    }
}

/// `/<name>` up to a `,` (consumed) or the end; `/` when absent. Both ends
/// are ASCII, so the slice is on character boundaries.
fn namespace<'a>(text: &'a str, pos: &mut usize) -> Result<&'a str, PacketError> {
    let bytes = text.as_bytes();
    if bytes.get(*pos) != Some(&b'/') {
        return Ok("/");
    }
    let start = *pos;
    let end = bytes[start..]
        .iter()
        .position(|&b| b == b',')
        .map_or(bytes.len(), |at| start + at);
    if end - start > MAX_NAMESPACE_BYTES {
        return Err(PacketError::Namespace);
    }
    *pos = (end + 1).min(bytes.len());
    Ok(&text[start..end])
}

/// Digits right after the namespace: an id of at most [`MAX_ACK_ID`].
fn ack_id(bytes: &[u8], pos: &mut usize) -> Result<Option<AckId>, PacketError> {
    let count = digits(bytes, *pos, MAX_ACK_DIGITS).ok_or(PacketError::AckId)?;
    if count == 0 {
        return Ok(None);
    }
    let id = value(&bytes[*pos..*pos + count]);
    *pos += count;
    match id <= MAX_ACK_ID {
        true => Ok(Some(id)),
        false => Err(PacketError::AckId),
    }
}

/// The JSON, valid for the packet type (socket.io-parser's
/// `isPayloadValid`).
fn payload(kind: PacketType, json: &str) -> Result<Box<RawValue>, PacketError> {
    let raw: &RawValue = serde_json::from_str(json).map_err(|_| PacketError::Json)?;
    let text = raw.get();
    let valid = match kind {
        PacketType::Connect => text.starts_with('{'),
        PacketType::Disconnect => false,
        PacketType::ConnectError => text.starts_with('{') || text.starts_with('"'),
        PacketType::Event | PacketType::BinaryEvent => event_array(text)?,
        PacketType::Ack | PacketType::BinaryAck => text.starts_with('['),
    };
    match valid {
        true => Ok(raw.to_owned()),
        false => Err(PacketError::Payload),
    }
}

/// Whether `json` is an array whose first element is a number or a name
/// that is not reserved.
fn event_array(json: &str) -> Result<bool, PacketError> {
    if !json.starts_with('[') {
        return Ok(false);
    }
    let items: Vec<&RawValue> = serde_json::from_str(json).map_err(|_| PacketError::Json)?;
    let Some(first) = items.first().map(|item| item.get()) else {
        return Ok(false);
    };
    if first.starts_with('"') {
        let name: Cow<'_, str> = serde_json::from_str(first).map_err(|_| PacketError::Json)?;
        return Ok(!RESERVED_EVENTS.contains(&name.as_ref()));
    }
    Ok(first.starts_with('-') || first.starts_with(|c: char| c.is_ascii_digit()))
}
