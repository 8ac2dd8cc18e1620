//! `session-bridge healthcheck`: asks the running server's `/healthz` and
//! exits 0 when it answers 200. The Docker image's health check runs this,
//! so the slim image needs no curl or wget.

use std::{
    io::{Read, Write},
    net::{Ipv4Addr, SocketAddr, TcpStream},
    time::Duration,
};

/// How long the check waits for the server.
const TIMEOUT: Duration = Duration::from_secs(3);

/// Checks `http://127.0.0.1:{port}/healthz`; `Err` says why it is unhealthy.
pub fn check(port: u16) -> Result<(), String> {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let mut stream = TcpStream::connect_timeout(&addr, TIMEOUT).map_err(|err| err.to_string())?;
    stream
        .set_read_timeout(Some(TIMEOUT))
        .and_then(|()| stream.set_write_timeout(Some(TIMEOUT)))
        .map_err(|err| err.to_string())?;
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        .map_err(|err| err.to_string())?;
    let mut head = [0u8; 12];
    stream
        .read_exact(&mut head)
        .map_err(|err| err.to_string())?;
    match &head[..] {
        b"HTTP/1.1 200" => Ok(()),
        other => Err(format!(
            "/healthz answered {}",
            String::from_utf8_lossy(other)
        )),
    }
}
