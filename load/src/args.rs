//! Hand-parsed command line: `load <scenario> [--name value]...`.
//!
//! Every option has a default; an option the scenario does not read is an
//! error, so a typo never silently runs the default.

use std::{collections::BTreeMap, str::FromStr, time::Duration};

use crate::Result;

/// The usage text (`load --help`).
pub const USAGE: &str = "\
load: a load program for session-bridge (talks to 127.0.0.1 only)

usage: load <scenario> [--option value]...

common options:
  --port P          server port on 127.0.0.1                 (3000)
  --pid PID         server process id, to read its RSS from /proc/PID/status
  --timeout S       upper bound for any one wait, in seconds  (10)

scenarios:
  connect   open N sockets, each with its own new session (GET / for the
            cookie, then the handshake), C at a time; hold them H seconds
            idle and check every one is still open
              --n 5000  --concurrency 50  --hold 5  --cookie page|handshake
  fanout    K sockets on one session, then M sequential POST /incr; time
            from each request to the LAST socket having the new count
              --k 1000  --m 200  --concurrency 50
  http      POST /incr on one session over C keep-alive connections for D
            seconds; req/s, latency, lost increments
              --concurrency 64  --duration 10  --max-requests 10000000
  mixed     S sessions with W sockets each; R increments per second in all,
            alternately over HTTP and over a socket; delivery latency to
            every socket of the session, and loss
              --sessions 200  --sockets 3  --rate 1000  --duration 10
  lobby     K logged-in users (POST /login, then a socket with that cookie,
            greeted with session, presence state, chat history), then M chat
            messages, one at a time (--rate 0) or R a second, posted by the
            first socket (or the first S taking turns), each sender kept
            under the server's 100 frames/s; time from each post to the LAST
            socket having it, and whether every socket got all M once in one
            same order. --baseline true (the default at --rate 0) first runs
            fanout with the same K and M (needs MAX_SOCKETS_PER_SESSION >= K)
            and reports both and their ratio. Ends when GET /presence no
            longer lists its users (--grace: the server's PRESENCE_GRACE_SECS)
              --k 1000  --m 200  --concurrency 50  --rate 0  --senders 1
              --baseline true|false  --grace 5
  presence  N logged-in users join (POST /login, handshake, greeting), C at a
            time, are held H seconds, then leave; sockets/s and latency.
            --baseline true first does the same with N anonymous visitors
            (GET /, as connect does) and reports the ratio; --watch true adds
            a watcher socket checking each presence frame's shape, that each
            user's events alternate from frame to frame (a frame is a batch
            naming many users) and that each goes offline within --grace
            (the server's PRESENCE_GRACE_SECS) plus --timeout
              --n 1000  --concurrency 50  --hold 1  --baseline true
              --watch true  --grace 5
  churn     R rounds: open N sockets, C at a time, each on its own session
            (round 1's handshakes create them; later rounds reuse those
            cookies, or --sessions fresh makes new ones), then close them
            all, every other one with the close handshake and the rest by
            dropping the TCP connection without a close frame (--drop fin or
            rst); wait at most --drain seconds for /healthz to say 0 sockets
            and 0 sessions, read the server's RSS (--pid). Reports each
            round and the RSS after the last round against the first; fails
            when the counts do not return to 0 (the RSS only with
            --max-rss-growth G, e.g. 0.10). The server needs ulimit -n > N
              --n 19000  --rounds 5  --concurrency 50  --sessions reuse|fresh
              --drop fin|rst  --drain 30  --settle 1  --max-rss-growth G
  flood     N POST /incr without a cookie (each starts a new session) over
            C keep-alive connections, against a server with default settings
            (MAX_SESSIONS bounds the embedded store); req/s, latency,
            answers by status (all must be 200), the server's RSS (--pid)
            sampled every --sample seconds and after, its peak beside the
            250 MiB target (not judged), and whether the session started
            before the flood was evicted
              --n 1000000  --concurrency 64  --duration 600  --sample 0.25
              --settle 1
  slow      N sockets that stop reading (handshake by hand, 4 KiB receive
            buffer, never read) beside K logged-in sockets posting R lobby
            messages a second of --size two-byte characters for D seconds (run the
            server with CHAT_RATE raised); the server's RSS every --sample
            seconds (--pid), when /healthz stopped counting the stalled
            sockets and when the kernel no longer held their connections;
            fails when a healthy socket missed a message or a stalled one
            was never dropped
              --n 100  --k 12  --rate 1000  --duration 60  --size 500
              --sample 1
  storm     N logged-in sockets (each its own user), all dropped at once
            (no close frame, as when their instance dies), every client
            coming back with the demo client's backoff (full jitter, 250 ms
            first step, 10 s cap); time until all are back, handshake
            latency, attempts, presence frames per socket from its return
            until --settle after the last, sockets closed by the server
            (4002: too slow), peak RSS (--pid); ends when GET /presence no
            longer lists its users (--grace: the server's PRESENCE_GRACE_SECS)
              --n 1000  --concurrency 50  --settle 2  --grace 5

Prints one JSON line on stdout and a human table on stderr. Exits 1 when the
run had errors or lost increments or events (figures are never judged, except
by a flag that asks for it, like churn's --max-rss-growth).
";

/// The parsed command line.
pub struct Args {
    /// `connect`, `fanout`, `http`, `mixed`, `lobby`, `presence`, `churn`,
    /// `flood`, `slow` or `storm`.
    pub scenario: String,
    options: BTreeMap<String, String>,
    read: Vec<String>,
}

impl Args {
    /// Parses `argv` without the program name. `None` means: print usage.
    pub fn parse(mut argv: impl Iterator<Item = String>) -> Result<Option<Self>> {
        let Some(scenario) = argv.next() else {
            return Ok(None);
        };
        if scenario == "--help" || scenario == "-h" || scenario == "help" {
            return Ok(None);
        }
        let mut options = BTreeMap::new();
        while let Some(flag) = argv.next() {
            if flag == "--help" || flag == "-h" {
                return Ok(None);
            }
            let Some(name) = flag.strip_prefix("--") else {
                return Err(format!("unexpected argument `{flag}`").into());
            };
            let (name, value) = match name.split_once('=') {
                Some((name, value)) => (name.to_owned(), value.to_owned()),
                None => {
                    let value = argv
                        .next()
                        .ok_or_else(|| format!("--{name} needs a value"))?;
                    (name.to_owned(), value)
                }
            };
            options.insert(name, value);
        }
        Ok(Some(Self {
            scenario,
            options,
            read: Vec::new(),
        }))
    }

    /// The option `name` parsed as `T`, or `default`.
    pub fn get<T: FromStr>(&mut self, name: &str, default: T) -> Result<T> {
        self.read.push(name.to_owned());
        match self.options.get(name) {
            None => Ok(default),
            Some(raw) => raw
                .parse()
                .map_err(|_| format!("--{name}: `{raw}` is not a valid value").into()),
        }
    }

    /// The option `name`, if given.
    pub fn opt<T: FromStr>(&mut self, name: &str) -> Result<Option<T>> {
        self.read.push(name.to_owned());
        match self.options.get(name) {
            None => Ok(None),
            Some(raw) => raw
                .parse()
                .map(Some)
                .map_err(|_| format!("--{name}: `{raw}` is not a valid value").into()),
        }
    }

    /// The option `name` in seconds (fractions allowed), or `default`.
    pub fn secs(&mut self, name: &str, default: f64) -> Result<Duration> {
        let secs: f64 = self.get(name, default)?;
        if !(0.0..=86_400.0).contains(&secs) {
            return Err(format!("--{name}: must be between 0 and 86400 seconds").into());
        }
        Ok(Duration::from_secs_f64(secs))
    }

    /// Fails on any option that was given but never read.
    pub fn finish(&self) -> Result<()> {
        match self.options.keys().find(|name| !self.read.contains(name)) {
            Some(name) => Err(format!("--{name} is not an option of `{}`", self.scenario).into()),
            None => Ok(()),
        }
    }
}
