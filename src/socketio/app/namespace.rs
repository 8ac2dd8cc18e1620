//! The app's namespace `/` over Socket.IO: one socket of the socket core
//! ([`Socket`]) per joined connection, its frames sent as Socket.IO events
//! with one argument (`bridge::event_frame`), the client's `incr` and
//! `chat` events run as the core's commands and answered through their
//! acknowledgement when the client asked for one. The frame budget counts
//! Socket.IO packets (events and acks), not polls or pings.
//!
//! Endings: a logout sends DISCONNECT (`41`: the client does not reconnect)
//! and closes the connection; an expired or renewed session, a slow client
//! and shutdown close the Engine.IO connection (the client reconnects).

use std::time::Duration;

use bytestring::ByteString;

use super::super::{
    bridge::{self, Call},
    conn::{Conn, Ending, Invoke, Task},
    engine::Transport,
    layer::{Namespaces, Sio, SioIo},
    packet::Packet,
};
use crate::{
    events::{Mailbox, Push},
    protocol::{Close, FrameError},
    services::Services,
    session::{SessionData, SessionId},
    socket::{Answer, Outlet, Settings, Socket},
    state::AppState,
};

/// How often a joined socket tells the registry's watchdog it is alive:
/// the Engine.IO heartbeat judges the connection, and ends it when the
/// client stops answering.
const ALIVE_TICK: Duration = Duration::from_secs(2);

/// The namespace `/` of one connection.
pub struct AppNamespace {
    services: Services,
    settings: Settings,
    session: Option<(SessionId, SessionData)>,
    socket: Option<Socket>,
    /// The close the socket asked for, to run once it returns.
    closing: Option<Close>,
}

/// The app's connection, as the registry reaches it.
struct SioMailbox(actix::Addr<Conn<Sio<AppNamespace>>>);

impl Mailbox for SioMailbox {
    fn push(&self, push: Push) {
        let task: Task<Sio<AppNamespace>> = Box::new(move |sio, io| {
            sio.namespaces.deliver(push, io);
        });
        self.0.do_send(Invoke(task));
    }
}

/// The socket's output as Socket.IO packets.
struct Events<'a, 'b> {
    io: &'a mut SioIo<'b, AppNamespace>,
    closing: &'a mut Option<Close>,
}

impl Outlet for Events<'_, '_> {
    fn send(&mut self, frame: ByteString) {
        if let Some(event) = bridge::shared_event_frame(&frame) {
            self.io.send(vec![event]);
        }
    }

    fn close(&mut self, close: Close) {
        if self.closing.is_none() {
            *self.closing = Some(close);
        }
    }

    fn abandon(&mut self) {
        self.io.close(Ending::TransportClosed);
    }
}

impl AppNamespace {
    /// The namespace of a connection with `session` (`None`: no session,
    /// its CONNECT is refused).
    pub fn new(state: &AppState, session: Option<(SessionId, SessionData)>) -> Self {
        Self {
            services: state.services.clone(),
            settings: state.sockets.clone(),
            session,
            socket: None,
            closing: None,
        }
    }

    /// Runs `f` on the socket with its outlet, then any close it asked for.
    fn with_socket(
        &mut self,
        io: &mut SioIo<'_, Self>,
        f: impl FnOnce(&mut Socket, &mut Events<'_, '_>),
    ) {
        let Some(socket) = self.socket.as_mut() else {
            return;
        };
        let mut out = Events {
            io,
            closing: &mut self.closing,
        };
        f(socket, &mut out);
        if let Some(close) = self.closing.take() {
            self.end(close, io);
        }
    }

    /// Ends the socket for `close`: a logout leaves the namespace
    /// (DISCONNECT) first, then the connection closes either way.
    fn end(&mut self, close: Close, io: &mut SioIo<'_, Self>) {
        if close == Close::Logout {
            io.send(Packet::disconnect("/").to_frames());
        }
        if let Some(mut socket) = self.socket.take() {
            socket.closed(Some(close.code()));
        }
        io.close(Ending::Server(close.code()));
    }

    fn deliver(&mut self, push: Push, io: &mut SioIo<'_, Self>) {
        let mut resync = false;
        self.with_socket(io, |socket, out| resync = socket.deliver(push, out));
        if resync {
            self.snapshot(io);
        }
    }

    fn snapshot(&mut self, io: &mut SioIo<'_, Self>) {
        let Some(socket) = self.socket.as_ref() else {
            return;
        };
        io.run(socket.read_snapshot(), true, |sio, opening, io| {
            let namespace = &mut sio.namespaces;
            namespace.with_socket(io, |socket, out| socket.show_snapshot(opening, out));
        });
    }

    fn reload(&mut self, io: &mut SioIo<'_, Self>) {
        let Some(socket) = self.socket.as_ref() else {
            return;
        };
        if !socket.greeted() {
            return self.snapshot(io);
        }
        io.run(socket.reload(), false, |sio, reloaded, io| {
            let namespace = &mut sio.namespaces;
            namespace.with_socket(io, |socket, out| socket.show_reload(reloaded, out));
        });
    }

    /// Answers a client event: through its acknowledgement when it asked
    /// for one, else an error as an `error` event (a value is dropped).
    fn answer(&mut self, ack: Option<u64>, answer: Answer, io: &mut SioIo<'_, Self>) {
        match (ack, answer) {
            (Some(id), Ok(value)) => io.send(vec![bridge::ack_frame(id, &value)]),
            (Some(id), Err(error)) => io.send(vec![bridge::ack_error_frame(id, error)]),
            (None, Err(error)) => self.with_socket(io, |socket, out| socket.notify(error, out)),
            (None, Ok(_)) => {}
        }
    }

    fn call(&mut self, call: Call, io: &mut SioIo<'_, Self>) {
        let Some(socket) = self.socket.as_mut() else {
            return;
        };
        let command = call.event.and_then(|event| socket.command(event));
        let command = match command {
            Ok(command) => command,
            Err(error) => return self.answer(call.ack, Err(error), io),
        };
        let ack = call.ack;
        io.run(command.work, command.in_order, move |sio, outcome, io| {
            let namespace = &mut sio.namespaces;
            let mut answer = None;
            namespace.with_socket(io, |socket, out| answer = socket.finish(outcome, out));
            if let Some(answer) = answer {
                namespace.answer(ack, answer, io);
            }
        });
    }
}

impl Namespaces for AppNamespace {
    fn admit(&mut self, nsp: &str, _: Option<&serde_json::value::RawValue>) -> Result<(), String> {
        match (nsp, &self.session) {
            ("/", Some(_)) => Ok(()),
            ("/", None) => Err("login required".to_owned()),
            _ => Err("Invalid namespace".to_owned()),
        }
    }

    fn joined(
        &mut self,
        _: &str,
        _: Option<&serde_json::value::RawValue>,
        io: &mut SioIo<'_, Self>,
    ) {
        let Some((id, data)) = &self.session else {
            return;
        };
        let name = io.transport().name();
        let mut socket = Socket::new(
            self.services.clone(),
            self.settings.clone(),
            name,
            (id.clone(), data),
            None,
        );
        socket.open(Box::new(SioMailbox(io.addr())));
        let reload = socket.reload_interval();
        self.socket = Some(socket);
        io.every(reload, |sio, io| sio.namespaces.reload(io));
        io.every(ALIVE_TICK, |sio, _| {
            if let Some(socket) = &sio.namespaces.socket {
                socket.alive();
            }
        });
        // Joined first, read second, as on `GET /ws`.
        self.snapshot(io);
    }

    fn event(&mut self, packet: Packet, io: &mut SioIo<'_, Self>) {
        let Some(socket) = self.socket.as_mut() else {
            return;
        };
        let call = bridge::client_call(&packet);
        if let Err(error) = socket.admit() {
            return self.answer(packet.id(), Err(error), io);
        }
        match call {
            Some(call) => self.call(call, io),
            None => self.answer(packet.id(), Err(FrameError::UnknownEvent), io),
        }
    }

    fn ack(&mut self, _: Packet, io: &mut SioIo<'_, Self>) {
        // The server asks for no acknowledgement; one still counts.
        if let Some(Err(error)) = self.socket.as_mut().map(Socket::admit) {
            self.answer(None, Err(error), io);
        }
    }

    fn left(&mut self, _: &str, _: &mut SioIo<'_, Self>) {
        if let Some(mut socket) = self.socket.take() {
            socket.closed(Some(1000));
        }
    }

    fn closed(&mut self, ending: Ending) {
        let Some(mut socket) = self.socket.take() else {
            return;
        };
        match ending {
            Ending::Heartbeat => socket.timed_out(),
            Ending::Server(code) => socket.closed(Some(code)),
            Ending::TooSlow => socket.closed(Some(Close::TooSlow.code())),
            Ending::ClientClosed => socket.closed(Some(1000)),
            _ => socket.closed(None),
        }
    }

    fn upgraded(&mut self) {
        if let Some(socket) = self.socket.as_mut() {
            socket.moved_to(Transport::WebSocket.name());
        }
    }
}
