//! A WebSocket client by hand, for what a well-behaved client library will
//! not do: stop reading with a tiny receive window, send unsolicited pongs,
//! send a text frame that is not UTF-8. Also tells whether the server still
//! holds a TCP connection, from the kernel's own table.

use std::{net::SocketAddr, time::Duration};

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpSocket, TcpStream},
};

/// The longest a handshake, a frame or a close may take.
const WAIT: Duration = Duration::from_secs(10);

/// Opcodes of the frames these tests send and read.
pub const TEXT: u8 = 0x1;
pub const CLOSE: u8 = 0x8;
pub const PONG: u8 = 0xA;

/// One raw WebSocket connection.
pub struct RawSocket {
    stream: TcpStream,
    /// The client's port: with the server's, it names the connection.
    pub local_port: u16,
}

impl RawSocket {
    /// Connects to `GET /ws` on `port` with `cookie` (a `Cookie` header
    /// value), asking the kernel for a receive buffer of `receive_buffer`
    /// bytes (a small one makes a non-reading client stall the server soon).
    pub async fn open(port: u16, cookie: Option<&str>, receive_buffer: u32) -> Self {
        Self::open_at(port, "/ws", cookie, receive_buffer).await
    }

    /// Connects like [`RawSocket::open`], to `path` (a Socket.IO WebSocket).
    pub async fn open_at(port: u16, path: &str, cookie: Option<&str>, receive_buffer: u32) -> Self {
        let socket = TcpSocket::new_v4().expect("a TCP socket");
        socket
            .set_recv_buffer_size(receive_buffer)
            .expect("SO_RCVBUF");
        let address = SocketAddr::from(([127, 0, 0, 1], port));
        let mut stream = tokio::time::timeout(WAIT, socket.connect(address))
            .await
            .expect("connect in time")
            .expect("connect");
        let local_port = stream.local_addr().expect("local address").port();
        let cookie = cookie.map_or_else(String::new, |cookie| format!("Cookie: {cookie}\r\n"));
        let request = format!(
            "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n\
             Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
             Sec-WebSocket-Version: 13\r\n{cookie}\r\n"
        );
        stream
            .write_all(request.as_bytes())
            .await
            .expect("send the handshake");
        // Byte by byte, so no frame after the head is consumed.
        let mut head = Vec::new();
        while !head.ends_with(b"\r\n\r\n") {
            let byte = tokio::time::timeout(WAIT, stream.read_u8())
                .await
                .expect("the handshake answered in time")
                .expect("read the handshake answer");
            head.push(byte);
        }
        let head = String::from_utf8_lossy(&head);
        assert!(
            head.starts_with("HTTP/1.1 101"),
            "expected an upgrade, got {head}"
        );
        Self { stream, local_port }
    }

    /// Sends one whole, masked frame.
    pub async fn send(&mut self, opcode: u8, payload: &[u8]) {
        self.try_send(opcode, payload).await.expect("send a frame");
    }

    /// Sends one whole, masked frame; an error once the connection ended.
    pub async fn try_send(&mut self, opcode: u8, payload: &[u8]) -> std::io::Result<()> {
        let mut frame = vec![0x80 | opcode];
        match payload.len() {
            len @ 0..=125 => frame.push(0x80 | u8::try_from(len).expect("small")),
            len @ 126..=65535 => {
                frame.push(0x80 | 126);
                frame.extend_from_slice(&u16::try_from(len).expect("fits").to_be_bytes());
            }
            len => {
                frame.push(0x80 | 127);
                frame.extend_from_slice(&(len as u64).to_be_bytes());
            }
        }
        let mask = [0x12, 0x34, 0x56, 0x78];
        frame.extend_from_slice(&mask);
        frame.extend(payload.iter().zip(mask.iter().cycle()).map(|(b, m)| b ^ m));
        self.stream.write_all(&frame).await
    }

    /// Reads the next frame's opcode and payload; `None` at end of stream.
    pub async fn read(&mut self) -> Option<(u8, Vec<u8>)> {
        let mut head = [0_u8; 2];
        self.stream.read_exact(&mut head).await.ok()?;
        let len = match head[1] & 0x7F {
            126 => u64::from(self.stream.read_u16().await.ok()?),
            127 => self.stream.read_u64().await.ok()?,
            len => u64::from(len),
        };
        let mut payload = vec![0; usize::try_from(len).ok()?];
        self.stream.read_exact(&mut payload).await.ok()?;
        Some((head[0] & 0x0F, payload))
    }

    /// Reads frames until a close frame and returns its code.
    pub async fn close_code(&mut self) -> Option<u16> {
        let read = async {
            while let Some((opcode, payload)) = self.read().await {
                if opcode == CLOSE {
                    return payload
                        .get(..2)
                        .map(|code| u16::from_be_bytes([code[0], code[1]]));
                }
            }
            None
        };
        tokio::time::timeout(WAIT, read)
            .await
            .expect("a close frame in time")
    }
}

/// Kernel TCP states in which the server still holds a connection: open
/// (ESTABLISHED, CLOSE_WAIT) or closed but with data it still tries to
/// deliver (FIN_WAIT1). FIN_WAIT2 and TIME_WAIT are the kernel's aftermath
/// of a close the peer acknowledged: nothing is held for it any more.
const HELD: [&str; 3] = ["01", "04", "08"];

/// Whether the server on `server_port` still holds the TCP connection from
/// the client port `client_port`, by the kernel's table.
pub fn server_holds(server_port: u16, client_port: u16) -> bool {
    ["/proc/net/tcp", "/proc/net/tcp6"].iter().any(|table| {
        std::fs::read_to_string(table)
            .unwrap_or_default()
            .lines()
            .skip(1)
            .filter_map(|line| {
                let mut fields = line.split_whitespace().skip(1);
                let local = port_of(fields.next()?)?;
                let remote = port_of(fields.next()?)?;
                Some((local, remote, fields.next()?.to_owned()))
            })
            .any(|(local, remote, state)| {
                local == server_port && remote == client_port && HELD.contains(&state.as_str())
            })
    })
}

fn port_of(address: &str) -> Option<u16> {
    u16::from_str_radix(address.rsplit(':').next()?, 16).ok()
}

/// Waits until the server no longer holds the connection; fails the test
/// after `bound`.
pub async fn wait_until_released(server_port: u16, client_port: u16, bound: Duration) {
    let deadline = tokio::time::Instant::now() + bound;
    while server_holds(server_port, client_port) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the server still held the TCP connection from port {client_port} after {bound:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
