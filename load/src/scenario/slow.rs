//! `slow`: N sockets that stop reading, beside K healthy logged-in sockets
//! that post to the lobby at R messages a second for D seconds. The stalled
//! sockets do the WebSocket handshake by hand with a 4 KiB receive buffer and
//! then never read again, so the server's write path to them fills within a
//! few hundred KiB; the server must drop each as too slow (or as dead: it
//! never answers a ping) and end its TCP connection, while its memory stays
//! flat and every healthy socket keeps getting every message.
//!
//! Reports the server's RSS (with `--pid`) every `--sample` seconds, how
//! long after the start `/healthz` no longer counted the stalled sockets and
//! the kernel no longer held their connections (from its TCP table, as the
//! server's side sees them), and the messages each healthy socket received.
//! Fails when a healthy socket missed a message or the stalled ones were
//! not dropped within the run plus `--timeout` and 5 s.

use std::{
    net::SocketAddr,
    sync::{
        atomic::{AtomicU64, Ordering::Relaxed},
        Arc,
    },
    time::{Duration, Instant},
};

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpSocket, TcpStream},
};
use tokio_tungstenite::tungstenite::Message;

use super::{Outcome, Target};
use crate::{
    args::Args,
    client::Http,
    lobby::{join, run_tag, Who},
    stats::{round, rss_kib},
    Result,
};

/// The receive buffer a stalled socket asks for.
const STALLED_WINDOW: u32 = 4096;

/// Runs the scenario.
pub async fn run(args: &mut Args, target: &Target) -> Result<Outcome> {
    let n: usize = args.get("n", 100)?;
    let k: usize = args.get("k", 12)?;
    let rate: u64 = args.get("rate", 1000)?;
    let duration = args.secs("duration", 60.0)?;
    let size: usize = args.get("size", 500)?;
    let every = args.secs("sample", 1.0)?;
    args.finish()?;
    if k == 0 || rate == 0 || every.is_zero() || !(1..=500).contains(&size) {
        return Err("--k and --rate must be at least 1, --sample above 0, --size 1 to 500".into());
    }
    // Each sender stays under the server's 100 frames a second per socket.
    let per_sender = rate.div_ceil(u64::try_from(k).unwrap_or(u64::MAX));
    if per_sender > 90 {
        return Err(format!("--rate {rate} over --k {k} senders passes 90 a second each").into());
    }

    let tag = run_tag();
    let mut http = Http::connect(target.port).await?;
    let mut healthy = Vec::with_capacity(k);
    for i in 0..k {
        let name = format!("slow-{tag}-{i}");
        healthy.push(join(&mut http, Who::User(&name), target.timeout).await?.ws);
    }
    let base = sockets_counted(target.port).await?;
    let mut stalled = Vec::with_capacity(n);
    for _ in 0..n {
        stalled.push(Stalled::open(target.port, target.timeout).await?);
    }
    let rss_idle = target.pid.and_then(rss_kib);

    let received: Vec<Arc<AtomicU64>> = (0..k).map(|_| Arc::new(AtomicU64::new(0))).collect();
    let posted = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let until = started + duration;
    // Two bytes a character: 500 characters make a frame of about 1 KiB.
    let text = "é".repeat(size);
    let mut tasks = Vec::new();
    for (ws, seen) in healthy.into_iter().zip(&received) {
        let (mut sink, mut stream) = ws.split();
        let seen = seen.clone();
        tasks.push(tokio::spawn(async move {
            while let Some(Ok(message)) = stream.next().await {
                if let Message::Text(text) = message {
                    if text.starts_with(r#"{"event":"chat""#) {
                        seen.fetch_add(1, Relaxed);
                    }
                }
            }
        }));
        let (posted, frame) = (
            posted.clone(),
            json!({"event": "chat", "data": {"text": text}}).to_string(),
        );
        let gap = Duration::from_secs_f64(1.0 / per_sender as f64);
        tasks.push(tokio::spawn(async move {
            let mut tick = tokio::time::interval(gap);
            while Instant::now() < until {
                tick.tick().await;
                if sink.send(Message::text(frame.clone())).await.is_err() {
                    break;
                }
                posted.fetch_add(1, Relaxed);
            }
            // Keep the sink (and so the socket) open for the final count.
            tokio::time::sleep(Duration::from_secs(3600)).await;
            drop(sink);
        }));
    }

    let (mut curve, mut peak) = (Vec::new(), rss_idle.unwrap_or(0));
    let (mut dropped_after, mut released_after) = (None, None);
    // After the posting ends, the stalled sockets may still be waiting for
    // their drop (a short run may not fill their queues: then the heartbeat
    // drops them, 10 s after they opened): wait for it, bounded.
    let wait_until = until + target.timeout + Duration::from_secs(5);
    while Instant::now() < until
        || (Instant::now() < wait_until && (dropped_after.is_none() || released_after.is_none()))
    {
        tokio::time::sleep(every).await;
        let at = started.elapsed().as_secs_f64();
        if let Some(rss) = target.pid.and_then(rss_kib) {
            peak = peak.max(rss);
            curve.push(json!([round(at, 1), rss]));
        }
        if dropped_after.is_none() && sockets_counted(target.port).await? <= base {
            dropped_after = Some(round(at, 2));
        }
        if released_after.is_none() && stalled.iter().all(|s| !s.held(target.port)) {
            released_after = Some(round(at, 2));
        }
    }
    let sent = posted.load(Relaxed);
    // Every healthy socket must get every message, at most `timeout` late.
    let deadline = Instant::now() + target.timeout;
    while received.iter().any(|seen| seen.load(Relaxed) < sent) && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let short: u64 = received
        .iter()
        .map(|seen| sent.saturating_sub(seen.load(Relaxed)))
        .sum();
    for task in tasks {
        task.abort();
    }

    let mut outcome = Outcome::default();
    outcome.set("stalled", n);
    outcome.set("healthy", k);
    outcome.set("messages_posted", sent);
    outcome.set(
        "messages_per_s",
        round(sent as f64 / duration.as_secs_f64(), 0),
    );
    outcome.set("frame_bytes", 2 * size + 90);
    outcome.set("stalled_dropped_after_s", json!(dropped_after));
    outcome.set("stalled_released_after_s", json!(released_after));
    outcome.set("rss_idle_kib", json!(rss_idle));
    outcome.set("rss_peak_kib", json!(target.pid.map(|_| peak)));
    outcome.set("rss_curve", Value::from(curve));
    outcome.fail_if(short, "messages missing at the healthy sockets");
    if n > 0 && dropped_after.is_none() {
        outcome
            .failures
            .push("the stalled sockets were still counted after the wait".to_owned());
    }
    if n > 0 && released_after.is_none() {
        outcome
            .failures
            .push("the server still held stalled connections after the wait".to_owned());
    }
    Ok(outcome)
}

/// `/healthz`'s socket count, on a connection of its own (samples may be
/// further apart than the server's keep-alive).
async fn sockets_counted(port: u16) -> Result<u64> {
    let reply = Http::connect(port)
        .await?
        .request(hyper::Method::GET, "/healthz", None)
        .await?;
    let health: Value = serde_json::from_slice(&reply.body)?;
    health["sockets"]
        .as_u64()
        .ok_or_else(|| "/healthz has no socket count".into())
}

/// A socket that did its handshake and will never read again.
struct Stalled {
    /// Kept open, never read.
    _stream: TcpStream,
    local_port: u16,
}

impl Stalled {
    async fn open(port: u16, timeout: Duration) -> Result<Self> {
        let socket = TcpSocket::new_v4()?;
        socket.set_recv_buffer_size(STALLED_WINDOW)?;
        let address = SocketAddr::from(([127, 0, 0, 1], port));
        let mut stream = tokio::time::timeout(timeout, socket.connect(address))
            .await
            .map_err(|_| "connect timed out")??;
        let request = format!(
            "GET /ws HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n\
             Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
             Sec-WebSocket-Version: 13\r\n\r\n"
        );
        stream.write_all(request.as_bytes()).await?;
        // Byte by byte up to the end of the head: the frames stay unread.
        let mut head = Vec::new();
        while !head.ends_with(b"\r\n\r\n") {
            let byte = tokio::time::timeout(timeout, stream.read_u8())
                .await
                .map_err(|_| "the handshake was not answered in time")??;
            head.push(byte);
        }
        if !head.starts_with(b"HTTP/1.1 101") {
            return Err(format!("no upgrade: {}", String::from_utf8_lossy(&head)).into());
        }
        Ok(Self {
            local_port: stream.local_addr()?.port(),
            _stream: stream,
        })
    }

    /// Whether the server on `server_port` still holds this connection open
    /// (ESTABLISHED, CLOSE_WAIT) or with data it still tries to send
    /// (FIN_WAIT1), by the kernel's TCP table.
    fn held(&self, server_port: u16) -> bool {
        let port = |field: &str| {
            field
                .rsplit(':')
                .next()
                .and_then(|hex| u16::from_str_radix(hex, 16).ok())
        };
        ["/proc/net/tcp", "/proc/net/tcp6"].iter().any(|table| {
            std::fs::read_to_string(table)
                .unwrap_or_default()
                .lines()
                .skip(1)
                .any(|line| {
                    let fields: Vec<&str> = line.split_whitespace().collect();
                    fields.len() > 3
                        && port(fields[1]) == Some(server_port)
                        && port(fields[2]) == Some(self.local_port)
                        && ["01", "04", "08"].contains(&fields[3])
                })
        })
    }
}
