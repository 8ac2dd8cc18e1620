//! Socket.IO v5 packets, carried in Engine.IO messages:
//! `<type>[<attachments>-][<namespace>,][<ack id>][<JSON>]`, a binary packet
//! followed by its attachments as that many binary messages.
//!
//! A [`Packet`] keeps its JSON as the client wrote it (validated, never
//! re-serialised) and its attachments as bytes beside it: placeholders
//! `{"_placeholder":true,"num":N}` stay in the JSON, checked to point at an
//! attachment. Client input goes through a [`Decoder`] (one per
//! connection), which reassembles binary packets within [`Limits`]; the
//! server builds packets with the constructors here and sends
//! [`Packet::to_frames`].

mod binary;
mod decode;
mod limits;
mod placeholder;

use std::{borrow::Cow, fmt::Write as _};

use bytes::Bytes;
use serde::Serialize;
use serde_json::value::RawValue;

pub use binary::Decoder;
pub use limits::{Limits, PacketError, MAX_ACK_ID, MAX_ATTACHMENTS, MAX_NAMESPACE_BYTES};
pub use placeholder::placeholder;

use super::engine::{Frame, PacketType as EngineType};

/// An acknowledgement id: at most [`MAX_ACK_ID`], JavaScript's largest
/// exact integer.
pub type AckId = u64;

/// A Socket.IO packet type: the digit that starts a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PacketType {
    /// `0`: join a namespace (client, with an optional auth object), or the
    /// server's reply `{"sid":…}`.
    Connect = 0,
    /// `1`: leave a namespace.
    Disconnect = 1,
    /// `2`: an event, `["name", args…]`.
    Event = 2,
    /// `3`: an acknowledgement, `[args…]`.
    Ack = 3,
    /// `4`: the server refused a CONNECT, `{"message":…}`.
    ConnectError = 4,
    /// `5`: an event with binary attachments.
    BinaryEvent = 5,
    /// `6`: an acknowledgement with binary attachments.
    BinaryAck = 6,
}

impl PacketType {
    /// The type's digit.
    pub fn digit(self) -> u8 {
        b'0' + self as u8
    }

    /// Whether its attachments count and binary messages follow.
    pub fn is_binary(self) -> bool {
        matches!(self, Self::BinaryEvent | Self::BinaryAck)
    }

    pub(super) fn from_digit(digit: u8) -> Option<Self> {
        Some(match digit {
            b'0' => Self::Connect,
            b'1' => Self::Disconnect,
            b'2' => Self::Event,
            b'3' => Self::Ack,
            b'4' => Self::ConnectError,
            b'5' => Self::BinaryEvent,
            b'6' => Self::BinaryAck,
            _ => return None,
        })
    }
}

/// One Socket.IO packet, complete with its attachments. Its type is binary
/// exactly when it has attachments (the constructors see to it).
#[derive(Debug, Clone)]
pub struct Packet {
    kind: PacketType,
    nsp: Box<str>,
    id: Option<AckId>,
    data: Option<Box<RawValue>>,
    attachments: Vec<Bytes>,
}

/// Equal when they would encode alike (`RawValue` has no `PartialEq`).
impl PartialEq for Packet {
    fn eq(&self, other: &Self) -> bool {
        (self.kind, &self.nsp, self.id, &self.attachments)
            == (other.kind, &other.nsp, other.id, &other.attachments)
            && self.data().map(RawValue::get) == other.data().map(RawValue::get)
    }
}

impl Eq for Packet {}

impl Packet {
    /// The server's CONNECT reply: `0[<nsp>,]{"sid":"<sid>"}`.
    pub fn connect(nsp: &str, sid: &str) -> Self {
        let data = raw(&ConnectReply { sid });
        Self::new(PacketType::Connect, nsp, None, Some(data), Vec::new())
    }

    /// A refused CONNECT: `4[<nsp>,]{"message":"<message>"}`.
    pub fn connect_error(nsp: &str, message: &str) -> Self {
        let data = raw(&ConnectError { message });
        Self::new(PacketType::ConnectError, nsp, None, Some(data), Vec::new())
    }

    /// Leaving `nsp`: `1[<nsp>,]`.
    pub fn disconnect(nsp: &str) -> Self {
        Self::new(PacketType::Disconnect, nsp, None, None, Vec::new())
    }

    /// The event `name` with `args` (JSON, placeholders for `attachments`
    /// included): `2[<nsp>,][<id>]["<name>",<args>…]`, or `5<N>-…` with
    /// attachments.
    pub fn event(
        nsp: &str,
        id: Option<AckId>,
        name: &str,
        args: &[&RawValue],
        attachments: Vec<Bytes>,
    ) -> Self {
        let name = serde_json::to_string(name).unwrap_or_default();
        let data = json_array(std::iter::once(name.as_str()).chain(args.iter().map(|a| a.get())));
        let kind = match attachments.is_empty() {
            true => PacketType::Event,
            false => PacketType::BinaryEvent,
        };
        Self::new(kind, nsp, id, Some(data), attachments)
    }

    /// The acknowledgement `id` with `args`: `3[<nsp>,]<id>[<args>…]`, or
    /// `6<N>-…` with attachments.
    pub fn ack(nsp: &str, id: AckId, args: &[&RawValue], attachments: Vec<Bytes>) -> Self {
        let data = json_array(args.iter().map(|a| a.get()));
        let kind = match attachments.is_empty() {
            true => PacketType::Ack,
            false => PacketType::BinaryAck,
        };
        Self::new(kind, nsp, Some(id), Some(data), attachments)
    }

    pub(super) fn new(
        kind: PacketType,
        nsp: &str,
        id: Option<AckId>,
        data: Option<Box<RawValue>>,
        attachments: Vec<Bytes>,
    ) -> Self {
        Self {
            kind,
            nsp: nsp.into(),
            id,
            data,
            attachments,
        }
    }

    /// Its type.
    pub fn kind(&self) -> PacketType {
        self.kind
    }

    /// Its namespace (`/` when the packet names none).
    pub fn nsp(&self) -> &str {
        &self.nsp
    }

    /// Its acknowledgement id, if it asks for one (or answers one).
    pub fn id(&self) -> Option<AckId> {
        self.id
    }

    /// Its JSON, as sent.
    pub fn data(&self) -> Option<&RawValue> {
        self.data.as_deref()
    }

    /// Its binary attachments, in order (placeholder `num` is the index).
    pub fn attachments(&self) -> &[Bytes] {
        &self.attachments
    }

    /// Takes its attachments (to send them on without copying).
    pub fn into_attachments(self) -> Vec<Bytes> {
        self.attachments
    }

    /// The elements of an event's or acknowledgement's array, as sent: for
    /// an event, the name first. `None` for the other types.
    pub fn args(&self) -> Option<Vec<&RawValue>> {
        match self.kind {
            PacketType::Event
            | PacketType::BinaryEvent
            | PacketType::Ack
            | PacketType::BinaryAck => serde_json::from_str(self.data.as_deref()?.get()).ok(),
            _ => None,
        }
    }

    /// An event's name, when it is a string (Socket.IO also allows numbers).
    pub fn event_name(&self) -> Option<Cow<'_, str>> {
        if !matches!(self.kind, PacketType::Event | PacketType::BinaryEvent) {
            return None;
        }
        let first = *self.args()?.first()?;
        serde_json::from_str(first.get()).ok()
    }

    /// The packet's text, without the Engine.IO message type.
    pub fn encode(&self) -> String {
        let mut text = String::new();
        self.write(&mut text);
        text
    }

    /// What the server sends: [`Packet::frame`], then each attachment as a
    /// binary message.
    pub fn to_frames(&self) -> Vec<Frame> {
        let mut frames = Vec::with_capacity(1 + self.attachments.len());
        frames.push(self.frame());
        frames.extend(self.attachments.iter().cloned().map(Frame::Binary));
        frames
    }

    /// The Engine.IO message `4<packet>` (attachments not included).
    pub fn frame(&self) -> Frame {
        let mut text = String::from(char::from(EngineType::Message.digit()));
        self.write(&mut text);
        Frame::Text(text.into())
    }

    /// Writes `<type>[<N>-][<nsp>,][<id>][<JSON>]` as socket.io-parser does.
    fn write(&self, out: &mut String) {
        let data = self.data.as_deref().map_or("", RawValue::get);
        out.reserve(8 + self.nsp.len() + data.len());
        out.push(char::from(self.kind.digit()));
        // Writing to a String cannot fail.
        if self.kind.is_binary() {
            let _ = write!(out, "{}-", self.attachments.len());
        }
        if &*self.nsp != "/" {
            out.push_str(&self.nsp);
            out.push(',');
        }
        if let Some(id) = self.id {
            let _ = write!(out, "{id}");
        }
        out.push_str(data);
    }
}

/// A CONNECT reply's data: the socket's id alone (no `pid`: no
/// connection-state recovery).
#[derive(Serialize)]
struct ConnectReply<'a> {
    sid: &'a str,
}

/// A CONNECT_ERROR's data.
#[derive(Serialize)]
struct ConnectError<'a> {
    message: &'a str,
}

/// `value` as raw JSON (values the server builds: serialising cannot fail).
fn raw(value: &impl Serialize) -> Box<RawValue> {
    serde_json::value::to_raw_value(value).unwrap_or_default()
}

/// `[a,b,…]` from JSON texts that are each valid.
fn json_array<'a>(items: impl Iterator<Item = &'a str>) -> Box<RawValue> {
    let mut text = String::from("[");
    for (index, item) in items.enumerate() {
        if index > 0 {
            text.push(',');
        }
        text.push_str(item);
    }
    text.push(']');
    // Valid elements make a valid array (`null` would be the fallback).
    RawValue::from_string(text).unwrap_or_default()
}

#[cfg(test)]
mod tests;
