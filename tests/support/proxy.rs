//! A TCP proxy the test can cut and restore, to take one instance's Redis
//! connections away while the others keep theirs; or freeze, to make the
//! connections it carries go silent without closing (a path that drops
//! packets) while new connections still work.

use std::{
    net::SocketAddr,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
};

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{
        tcp::{OwnedReadHalf, OwnedWriteHalf},
        TcpListener, TcpStream,
    },
    sync::watch,
};

/// Which of the connections open now [`Proxy::freeze`] silences.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Frozen {
    /// Every connection.
    All,
    /// The connections whose client sent `SUBSCRIBE` (pub/sub).
    Subscriptions,
    /// The other connections (commands).
    Commands,
}

/// Forwards `127.0.0.1:port()` to a target while it is connected.
pub struct Proxy {
    port: u16,
    up: Arc<AtomicBool>,
    generation: watch::Sender<u64>,
    freezes: watch::Sender<Option<Frozen>>,
}

impl Proxy {
    /// Starts forwarding to `target` on the current runtime.
    pub async fn start(target: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a proxy port");
        let port = listener.local_addr().expect("an address").port();
        let up = Arc::new(AtomicBool::new(true));
        let (generation, _) = watch::channel(0u64);
        let (freezes, _) = watch::channel(None);
        let (accepting, cuts, freezing) = (up.clone(), generation.clone(), freezes.clone());
        actix_web::rt::spawn(async move {
            while let Ok((inbound, _)) = listener.accept().await {
                if !accepting.load(Ordering::SeqCst) {
                    continue; // dropped: the client sees the connection close
                }
                let (cut, mut freeze) = (cuts.subscribe(), freezing.subscribe());
                // Only freezes from now on concern this connection.
                freeze.borrow_and_update();
                actix_web::rt::spawn(forward(inbound, target, cut, freeze));
            }
        });
        Self {
            port,
            up,
            generation,
            freezes,
        }
    }

    /// The proxy's port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Closes every forwarded connection and refuses new ones.
    pub fn cut(&self) {
        self.up.store(false, Ordering::SeqCst);
        self.generation.send_modify(|generation| *generation += 1);
    }

    /// Accepts and forwards connections again.
    pub fn restore(&self) {
        self.up.store(true, Ordering::SeqCst);
    }

    /// Stops forwarding on the `which` connections open now, in both
    /// directions, without closing them (the kernel still acknowledges, as
    /// behind a frozen middlebox); new connections are forwarded as usual.
    pub fn freeze(&self, which: Frozen) {
        self.freezes.send_replace(Some(which));
    }
}

/// Forwards one connection until either side ends it or the proxy is cut;
/// once frozen, holds it open and silent until the proxy is cut.
async fn forward(
    inbound: TcpStream,
    target: SocketAddr,
    mut cut: watch::Receiver<u64>,
    mut freeze: watch::Receiver<Option<Frozen>>,
) {
    let Ok(outbound) = TcpStream::connect(target).await else {
        return;
    };
    let (mut in_read, mut in_write) = inbound.into_split();
    let (mut out_read, mut out_write) = outbound.into_split();
    let subscribed = AtomicBool::new(false);
    let frozen = async {
        loop {
            if freeze.changed().await.is_err() {
                return std::future::pending().await;
            }
            let which = *freeze.borrow_and_update();
            let matches = match which {
                Some(Frozen::All) => true,
                Some(Frozen::Subscriptions) => subscribed.load(Ordering::SeqCst),
                Some(Frozen::Commands) => !subscribed.load(Ordering::SeqCst),
                None => false,
            };
            if matches {
                return;
            }
        }
    };
    let outcome = tokio::select! {
        _ = pump(&mut in_read, &mut out_write, Some(&subscribed)) => Outcome::Ended,
        _ = pump(&mut out_read, &mut in_write, None) => Outcome::Ended,
        _ = cut.changed() => Outcome::Ended,
        () = frozen => Outcome::Frozen,
    };
    if outcome == Outcome::Frozen {
        // Both halves stay open and unread until the proxy is cut or dropped.
        let _ = cut.changed().await;
    }
}

#[derive(PartialEq, Eq)]
enum Outcome {
    Ended,
    Frozen,
}

/// Copies `from` to `to` until either fails or ends; notes in `subscribed`
/// when the bytes carry a `SUBSCRIBE` command.
async fn pump(from: &mut OwnedReadHalf, to: &mut OwnedWriteHalf, subscribed: Option<&AtomicBool>) {
    let mut buffer = vec![0u8; 16 * 1024];
    loop {
        let read = match from.read(&mut buffer).await {
            Ok(0) | Err(_) => return,
            Ok(read) => read,
        };
        let chunk = &buffer[..read];
        if let Some(flag) = subscribed {
            if chunk.windows(9).any(|window| window == b"SUBSCRIBE") {
                flag.store(true, Ordering::SeqCst);
            }
        }
        if to.write_all(chunk).await.is_err() {
            return;
        }
    }
}
