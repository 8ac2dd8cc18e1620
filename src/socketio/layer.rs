//! The Socket.IO v5 layer on an Engine.IO connection ([`Sio`]): it decodes
//! the client's packets (binary attachments reassembled), keeps which
//! namespaces the client joined, answers CONNECT (the reply, or
//! CONNECT_ERROR) and DISCONNECT, closes the connection on anything out of
//! the protocol (a decode error, a packet for a namespace not joined, a
//! duplicate CONNECT, a client's CONNECT_ERROR, no CONNECT within
//! `connectTimeout`), and hands events and acknowledgements to what serves
//! the namespaces: a [`Namespaces`] (the app's `/`, or the conformance
//! binary's test namespaces).

use std::time::Duration;

use serde_json::value::RawValue;

use super::{
    conn::{Data, Ending, Io, Layer},
    packet::{Decoder, Limits, Packet, PacketType},
};

/// What a Socket.IO layer's connection has to write with.
pub type SioIo<'a, N> = Io<'a, Sio<N>>;

/// What serves the namespaces of a Socket.IO connection.
pub trait Namespaces: Sized + Unpin + 'static {
    /// Whether a CONNECT to `nsp` (with its `auth` payload) is accepted;
    /// the refusal's message otherwise (`Invalid namespace`).
    fn admit(&mut self, nsp: &str, auth: Option<&RawValue>) -> Result<(), String>;
    /// The client joined `nsp` (its CONNECT reply is sent).
    fn joined(&mut self, nsp: &str, auth: Option<&RawValue>, io: &mut SioIo<'_, Self>);
    /// An EVENT or BINARY_EVENT on a joined namespace.
    fn event(&mut self, packet: Packet, io: &mut SioIo<'_, Self>);
    /// An ACK or BINARY_ACK on a joined namespace.
    fn ack(&mut self, packet: Packet, io: &mut SioIo<'_, Self>) {
        let _ = (packet, io);
    }
    /// The client left `nsp` (a DISCONNECT).
    fn left(&mut self, nsp: &str, io: &mut SioIo<'_, Self>) {
        let _ = (nsp, io);
    }
    /// The connection ended.
    fn closed(&mut self, ending: Ending) {
        let _ = ending;
    }
    /// The connection moved to a WebSocket.
    fn upgraded(&mut self) {}
}

/// The Socket.IO layer of one connection.
pub struct Sio<N: Namespaces> {
    /// What serves its namespaces.
    pub namespaces: N,
    decoder: Decoder,
    joined: Vec<Box<str>>,
    connect_timeout: Duration,
}

impl<N: Namespaces> Sio<N> {
    /// The layer for a connection whose client may send `max_payload`
    /// bytes a message and must join a namespace within `connect_timeout`.
    pub fn new(namespaces: N, max_payload: usize, connect_timeout: Duration) -> Self {
        Self {
            namespaces,
            decoder: Decoder::new(Limits::new(max_payload)),
            joined: Vec::new(),
            connect_timeout,
        }
    }

    /// Whether the client is in `nsp`.
    pub fn has_joined(&self, nsp: &str) -> bool {
        self.joined.iter().any(|joined| &**joined == nsp)
    }

    fn dispatch(&mut self, packet: Packet, io: &mut SioIo<'_, N>) {
        let joined = self.has_joined(packet.nsp());
        match packet.kind() {
            PacketType::Connect if !joined => self.connect(&packet, io),
            PacketType::Disconnect if joined => {
                self.joined.retain(|nsp| **nsp != *packet.nsp());
                self.namespaces.left(packet.nsp(), io);
            }
            PacketType::Event | PacketType::BinaryEvent if joined => {
                self.namespaces.event(packet, io);
            }
            PacketType::Ack | PacketType::BinaryAck if joined => self.namespaces.ack(packet, io),
            // A duplicate CONNECT (socketioxide #801), a packet for a
            // namespace not joined, a client's CONNECT_ERROR.
            kind => {
                log::debug!("socket.io packet out of turn: {kind:?}");
                io.close(Ending::ParseError);
            }
        }
    }

    fn connect(&mut self, packet: &Packet, io: &mut SioIo<'_, N>) {
        let (nsp, auth) = (packet.nsp(), packet.data());
        match self.namespaces.admit(nsp, auth) {
            Ok(()) => {
                self.joined.push(nsp.into());
                let sid = io.sid().to_owned();
                io.send(Packet::connect(nsp, &sid).to_frames());
                self.namespaces.joined(nsp, auth, io);
            }
            Err(message) => io.send(Packet::connect_error(nsp, &message).to_frames()),
        }
    }
}

impl<N: Namespaces> Layer for Sio<N> {
    fn opened(&mut self, io: &mut SioIo<'_, N>) {
        io.later(self.connect_timeout, |sio, io| {
            if sio.joined.is_empty() {
                io.close(Ending::ParseError);
            }
        });
    }

    fn message(&mut self, data: Data, io: &mut SioIo<'_, N>) {
        let decoded = match data {
            Data::Text(text) => self.decoder.text(&text),
            Data::Binary(data) => self.decoder.binary(data),
        };
        match decoded {
            Ok(Some(packet)) => self.dispatch(packet, io),
            Ok(None) => {}
            Err(err) => {
                log::debug!("socket.io packet refused: {err}");
                io.close(Ending::ParseError);
            }
        }
    }

    fn closed(&mut self, ending: Ending) {
        self.namespaces.closed(ending);
    }

    fn upgraded(&mut self) {
        self.namespaces.upgraded();
    }
}
