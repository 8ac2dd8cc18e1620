//! A private `redis-server` per test, on a free port, that the test can stop
//! and restart (its data survives a restart, as a real Redis with an
//! append-only file would). There is no silent skip: without `redis-server`
//! the test fails and says how to get it (the test command installs it).

use std::{
    io::{Read, Write},
    net::{TcpListener, TcpStream},
    path::PathBuf,
    process::{Child, Command, Stdio},
    sync::atomic::{AtomicU32, Ordering},
    time::{Duration, Instant},
};

/// How long Redis may take to start or stop.
const REDIS_WAIT: Duration = Duration::from_secs(10);

static NEXT_DIR: AtomicU32 = AtomicU32::new(0);

/// A running (or stopped) private Redis.
pub struct RedisServer {
    child: Option<Child>,
    port: u16,
    dir: PathBuf,
}

impl RedisServer {
    /// Starts a Redis on a free port, failing the test if it cannot.
    pub fn start() -> Self {
        let dir = std::env::temp_dir().join(format!(
            "session-bridge-redis-{}-{}",
            std::process::id(),
            NEXT_DIR.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).expect("a directory for Redis");
        for _ in 0..5 {
            let port = free_port();
            let mut server = Self {
                child: None,
                port,
                dir: dir.clone(),
            };
            if server.try_start() {
                return server;
            }
        }
        panic!("could not start redis-server on a free port");
    }

    /// `redis://127.0.0.1:PORT/0`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    /// Stops Redis (it saves its data first) and waits until it is gone.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
            let deadline = Instant::now() + REDIS_WAIT;
            while Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Kills Redis with SIGKILL, as a crash of its process would: it saves
    /// nothing and says goodbye to no client, so only what its append-only
    /// file holds survives (with `appendfsync always`, every write it
    /// acknowledged). Not a power cut: the OS keeps what Redis had written
    /// but not yet fsynced. Waits, bounded, until the process is gone;
    /// `restart` brings it back on the same port with the same directory.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().expect("SIGKILL redis-server");
            let deadline = Instant::now() + REDIS_WAIT;
            loop {
                if let Ok(Some(_)) = child.try_wait() {
                    return;
                }
                assert!(Instant::now() < deadline, "redis-server survived SIGKILL");
                std::thread::sleep(Duration::from_millis(5));
            }
        }
    }

    /// Starts Redis again on the same port, with the same data.
    pub fn restart(&mut self) {
        let deadline = Instant::now() + REDIS_WAIT;
        while !self.try_start() {
            assert!(Instant::now() < deadline, "redis-server did not restart");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn try_start(&mut self) -> bool {
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args([
                "--save",
                "",
                "--appendonly",
                "yes",
                "--appendfsync",
                "always",
            ])
            .arg("--dir")
            .arg(&self.dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
        let mut child = match child {
            Ok(child) => child,
            Err(err) => panic!(
                "cannot run redis-server ({err}): install it (the README's test command does)"
            ),
        };
        let deadline = Instant::now() + REDIS_WAIT;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                return false; // the port was taken meanwhile
            }
            if ping(self.port) {
                self.child = Some(child);
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        let _ = child.wait();
        false
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .expect("a free port")
}

fn ping(port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(1)));
    let mut reply = [0u8; 7];
    stream.write_all(b"PING\r\n").is_ok()
        && stream.read_exact(&mut reply).is_ok()
        && &reply == b"+PONG\r\n"
}
