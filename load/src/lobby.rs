//! The lobby as a client sees it: joining (a login or an anonymous page
//! visit, then the handshake and the three greeting frames `session`,
//! `presence state`, `chat history`), and reading the live `chat` and
//! `presence` frames, the hot ones without a JSON tree.

use std::{
    borrow::Cow,
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use futures_util::StreamExt;
use hyper::Method;
use serde_json::Value;
use tokio_tungstenite::tungstenite::Message;

use crate::{
    client::{open_socket, Http, Ws},
    Result,
};

/// A short tag unique to this run (lowercase hex), so names and message
/// texts of one run never meet another's.
pub fn run_tag() -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_nanos());
    let mixed = (nanos as u64) ^ (u64::from(std::process::id()) << 40);
    format!("{:07x}", mixed & 0xfff_ffff)
}

/// The three frames a socket receives on open.
pub struct Greeting {
    /// `session`'s `name`.
    pub name: Option<String>,
    /// `session`'s `authenticated`.
    pub authenticated: bool,
    /// `presence state`: the users online, as sent.
    pub online: Vec<String>,
    /// How many messages `chat history` held.
    pub history: usize,
}

/// Who joins the lobby.
#[derive(Clone, Copy)]
pub enum Who<'a> {
    /// A visitor: `GET /` for the cookie, as a browser loading the page.
    Anonymous,
    /// A user: `POST /login` with this name (a new session), then its cookie.
    User(&'a str),
}

/// A socket that has joined the lobby.
pub struct Joined {
    /// The socket, its greeting read.
    pub ws: Ws,
    /// What the greeting said.
    pub greeting: Greeting,
    /// When the handshake began (after the HTTP request for the cookie).
    pub handshake_began: Instant,
}

/// Gets a cookie as `who`, opens `/ws` with it and reads the greeting,
/// checking it: the session's name and state, the user itself in a sorted
/// `presence state`.
pub async fn join(http: &mut Http, who: Who<'_>, timeout: Duration) -> Result<Joined> {
    let cookie = match who {
        Who::User(name) => tokio::time::timeout(timeout, http.login(name, None))
            .await
            .map_err(|_| "POST /login timed out")??,
        Who::Anonymous => {
            let reply = tokio::time::timeout(timeout, http.request(Method::GET, "/", None))
                .await
                .map_err(|_| "GET / timed out")??;
            if reply.status != 200 {
                return Err(format!("GET / answered {}", reply.status).into());
            }
            reply.cookie.ok_or("GET / set no session cookie")?
        }
    };
    let handshake_began = Instant::now();
    let mut ws = open_socket(http.port(), Some(&cookie), timeout).await?.ws;
    let greeting = greeting(&mut ws, timeout).await?;
    check_greeting(&greeting, who)?;
    Ok(Joined {
        ws,
        greeting,
        handshake_began,
    })
}

fn check_greeting(greeting: &Greeting, who: Who<'_>) -> Result<()> {
    if !greeting.online.windows(2).all(|pair| pair[0] < pair[1]) {
        return Err(format!(
            "presence state is not sorted, each name once: {:?}",
            greeting.online
        )
        .into());
    }
    match who {
        Who::User(name) => {
            if !greeting.authenticated || greeting.name.as_deref() != Some(name) {
                return Err(format!(
                    "the session frame after logging in as {name:?} says name {:?}, authenticated {}",
                    greeting.name, greeting.authenticated
                )
                .into());
            }
            if greeting
                .online
                .binary_search_by(|n| n.as_str().cmp(name))
                .is_err()
            {
                return Err(format!("presence state lacks the socket's own user {name:?}").into());
            }
        }
        Who::Anonymous => {
            if greeting.authenticated {
                return Err("an anonymous session's socket says authenticated".into());
            }
        }
    }
    Ok(())
}

/// Polls `GET /presence` until no name starting with `prefix` is listed, at
/// most until `limit`; whether none was.
pub async fn wait_offline(port: u16, prefix: &str, limit: Instant) -> Result<bool> {
    let mut http = Http::connect(port).await?;
    loop {
        let left = limit.saturating_duration_since(Instant::now());
        let reply = tokio::time::timeout(left, http.request(Method::GET, "/presence", None))
            .await
            .map_err(|_| "GET /presence timed out")??;
        if reply.status != 200 {
            return Err(format!("GET /presence answered {}", reply.status).into());
        }
        let value: Value =
            serde_json::from_slice(&reply.body).map_err(|_| "GET /presence answered no JSON")?;
        let online = value["online"]
            .as_array()
            .ok_or("GET /presence has no online list")?;
        if !online
            .iter()
            .any(|name| name.as_str().is_some_and(|name| name.starts_with(prefix)))
        {
            return Ok(true);
        }
        if Instant::now() >= limit {
            return Ok(false);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Reads the greeting, within `timeout`: `session`, `presence state` and
/// `chat history`, in this order with nothing between them.
pub async fn greeting(ws: &mut Ws, timeout: Duration) -> Result<Greeting> {
    let read = async {
        let session = event_data(&next_text(ws, "session").await?, "session")?;
        let authenticated = session["authenticated"]
            .as_bool()
            .ok_or("the session frame has no boolean authenticated")?;
        let name = session["name"].as_str().map(str::to_owned);
        let state = event_data(&next_text(ws, "presence state").await?, "presence state")?;
        let online = state
            .as_array()
            .and_then(|names| {
                names
                    .iter()
                    .map(|name| name.as_str().map(str::to_owned))
                    .collect::<Option<Vec<_>>>()
            })
            .ok_or("presence state is not a list of names")?;
        let history = event_data(&next_text(ws, "chat history").await?, "chat history")?;
        let history = history
            .as_array()
            .ok_or("chat history is not a list")?
            .len();
        Ok::<_, crate::Error>(Greeting {
            name,
            authenticated,
            online,
            history,
        })
    };
    tokio::time::timeout(timeout, read)
        .await
        .map_err(|_| "timed out waiting for the greeting (session, presence state, chat history)")?
}

/// The next text frame (skipping a few control frames).
async fn next_text(ws: &mut Ws, what: &str) -> Result<String> {
    for _ in 0..8 {
        match ws.next().await {
            Some(Ok(Message::Text(text))) => return Ok(text.as_str().to_owned()),
            Some(Ok(Message::Close(close))) => {
                return Err(format!("closed before the {what} frame: {close:?}").into())
            }
            Some(Ok(_)) => {}
            Some(Err(err)) => return Err(err.into()),
            None => return Err(format!("closed before the {what} frame").into()),
        }
    }
    Err(format!("no {what} frame").into())
}

/// The `data` of `text`, which must be the event `event`.
fn event_data(text: &str, event: &str) -> Result<Value> {
    let mut value: Value = serde_json::from_str(text)
        .map_err(|_| format!("expected the {event} frame, got {text}"))?;
    if value["event"].as_str() != Some(event) {
        return Err(format!("expected the {event} frame, got {text}").into());
    }
    Ok(value["data"].take())
}

/// A live lobby frame, as far as the load program cares.
pub enum Frame<'a> {
    /// `{"event":"chat","data":{"id":..,"name":..,"text":..,"at":..}}`.
    Chat {
        /// The message's id.
        id: Cow<'a, str>,
        /// What was said.
        text: Cow<'a, str>,
    },
    /// `{"event":"presence","data":{"online":[..],"offline":[..]}}`: the
    /// users who came online and those who went offline since the socket's
    /// last presence, a batch of `PRESENCE_BATCH_MS`. Only a frame as the
    /// contract has it: both lists sorted by code point, each name once, no
    /// name in both, not both empty (anything else is [`Frame::Malformed`]).
    Presence {
        /// The users who came online, sorted.
        online: Vec<Cow<'a, str>>,
        /// The users who went offline, sorted.
        offline: Vec<Cow<'a, str>>,
    },
    /// `{"event":"error","data":{"code":..,..}}`: its code.
    Error(String),
    /// A `chat` or `presence` frame without the fields the contract gives it.
    Malformed,
    /// Anything else.
    Other,
}

const CHAT: &str = r#"{"event":"chat","data":{"id":""#;
const PRESENCE: &str = r#"{"event":"presence","data":{"online":["#;

/// Reads one text frame; `chat` and `presence` as the server writes them
/// without a JSON tree, anything else (escapes, another field order) with one.
pub fn frame(text: &str) -> Frame<'_> {
    fast_chat(text)
        .or_else(|| fast_presence(text))
        .unwrap_or_else(|| slow(text))
}

/// Whether `text` is a live `presence` frame, looking at its start only.
pub fn is_presence(text: &str) -> bool {
    text.starts_with(r#"{"event":"presence","#)
}

fn fast_chat(text: &str) -> Option<Frame<'_>> {
    let rest = text.strip_prefix(CHAT)?;
    let (id, rest) = rest.split_once('"')?;
    // Inside a JSON string every `"` is escaped, so this is the key.
    let start = rest.find(r#""text":""#)? + r#""text":""#.len();
    let (said, _) = rest[start..].split_once('"')?;
    (!id.contains('\\') && !said.contains('\\')).then_some(Frame::Chat {
        id: Cow::Borrowed(id),
        text: Cow::Borrowed(said),
    })
}

fn fast_presence(text: &str) -> Option<Frame<'_>> {
    let rest = text.strip_prefix(PRESENCE)?;
    let (online, rest) = fast_names(rest)?;
    let rest = rest.strip_prefix(r#","offline":["#)?;
    let (offline, rest) = fast_names(rest)?;
    (rest == "}}").then(|| presence(online, offline))
}

/// The names of a JSON list whose `[` is already read, without escapes,
/// through its `]`; and what follows it.
fn fast_names(mut rest: &str) -> Option<(Vec<Cow<'_, str>>, &str)> {
    let mut names = Vec::new();
    if let Some(after) = rest.strip_prefix(']') {
        return Some((names, after));
    }
    loop {
        let (name, after) = rest.strip_prefix('"')?.split_once('"')?;
        if name.contains('\\') {
            return None;
        }
        names.push(Cow::Borrowed(name));
        if let Some(after) = after.strip_prefix(']') {
            return Some((names, after));
        }
        rest = after.strip_prefix(',')?;
    }
}

/// A `presence` frame from its two lists, if they are as the contract has
/// them: each sorted by code point (UTF-8 byte order is code point order),
/// each name once, no name in both, not both empty.
fn presence<'a>(online: Vec<Cow<'a, str>>, offline: Vec<Cow<'a, str>>) -> Frame<'a> {
    let sorted = |names: &[Cow<'_, str>]| names.windows(2).all(|pair| pair[0] < pair[1]);
    let disjoint = || {
        let (mut i, mut j) = (0, 0);
        while let (Some(a), Some(b)) = (online.get(i), offline.get(j)) {
            match a.cmp(b) {
                std::cmp::Ordering::Less => i += 1,
                std::cmp::Ordering::Greater => j += 1,
                std::cmp::Ordering::Equal => return false,
            }
        }
        true
    };
    if sorted(&online)
        && sorted(&offline)
        && !(online.is_empty() && offline.is_empty())
        && disjoint()
    {
        Frame::Presence { online, offline }
    } else {
        Frame::Malformed
    }
}

fn slow(text: &str) -> Frame<'static> {
    let Ok(value) = serde_json::from_str::<Value>(text) else {
        return Frame::Other;
    };
    let data = &value["data"];
    match value["event"].as_str() {
        Some("chat") => match (data["id"].as_str(), data["text"].as_str()) {
            (Some(id), Some(said)) => Frame::Chat {
                id: Cow::Owned(id.to_owned()),
                text: Cow::Owned(said.to_owned()),
            },
            _ => Frame::Malformed,
        },
        Some("presence") => {
            let names = |key: &str| {
                data[key]
                    .as_array()?
                    .iter()
                    .map(|name| name.as_str().map(|name| Cow::Owned(name.to_owned())))
                    .collect::<Option<Vec<_>>>()
            };
            let only_both = data.as_object().is_some_and(|data| data.len() == 2);
            match (names("online"), names("offline")) {
                (Some(online), Some(offline)) if only_both => presence(online, offline),
                _ => Frame::Malformed,
            }
        }
        Some("error") => Frame::Error(data["code"].as_str().unwrap_or("?").to_owned()),
        _ => Frame::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_chat_frames_fast_and_slow() {
        let fast = r#"{"event":"chat","data":{"id":"17","name":"a","text":"t1 3","at":5}}"#;
        let Frame::Chat { id, text } = frame(fast) else {
            panic!("not chat")
        };
        assert!(matches!(
            (id, text),
            (Cow::Borrowed("17"), Cow::Borrowed("t1 3"))
        ));
        // A name holding the key as text, and an escaped text: still right.
        let tricky =
            r#"{"event":"chat","data":{"id":"9","name":"x\",\"text\":\"y","text":"a\"b","at":1}}"#;
        let Frame::Chat { id, text } = frame(tricky) else {
            panic!("not chat")
        };
        assert_eq!((id.as_ref(), text.as_ref()), ("9", "a\"b"));
        assert!(matches!(
            frame(r#"{"event":"chat","data":{"id":"9"}}"#),
            Frame::Malformed
        ));
    }

    /// The names of a `presence` frame, or `None` if it is not one.
    fn names(text: &str) -> Option<(Vec<String>, Vec<String>)> {
        let Frame::Presence { online, offline } = frame(text) else {
            return None;
        };
        let owned = |names: Vec<Cow<'_, str>>| names.into_iter().map(String::from).collect();
        Some((owned(online), owned(offline)))
    }

    #[test]
    fn reads_presence_and_errors() {
        let batch = r#"{"event":"presence","data":{"online":["ann","bob"],"offline":["al"]}}"#;
        assert!(is_presence(batch));
        let Frame::Presence { online, offline } = frame(batch) else {
            panic!("not presence")
        };
        // As the server writes it: read without a JSON tree.
        assert!(matches!(
            (&online[..], &offline[..]),
            (
                [Cow::Borrowed("ann"), Cow::Borrowed("bob")],
                [Cow::Borrowed("al")]
            )
        ));
        let empty = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            names(r#"{"event":"presence","data":{"online":[],"offline":["bob"]}}"#),
            Some((empty(&[]), empty(&["bob"])))
        );
        assert_eq!(
            names(r#"{"event":"presence","data":{"online":["x"],"offline":[]}}"#),
            Some((empty(&["x"]), empty(&[])))
        );
        // Escapes, another key order, spaces: read with a tree, the same.
        assert_eq!(
            names(r#"{"event":"presence","data":{"offline":["b\u00e9","q\""], "online":["a"]}}"#),
            Some((empty(&["a"]), empty(&["bé", "q\""])))
        );
        // Code point order: U+FFFD before U+1F600 (UTF-16 would say otherwise).
        assert!(
            names(r#"{"event":"presence","data":{"online":["\ufffd","😀"],"offline":[]}}"#)
                .is_some()
        );
        for bad in [
            r#"{"event":"presence","data":{"name":"bob","online":true}}"#,
            r#"{"event":"presence","data":{"online":[],"offline":[]}}"#,
            r#"{"event":"presence","data":{"online":["b","a"],"offline":[]}}"#,
            r#"{"event":"presence","data":{"online":["a","a"],"offline":[]}}"#,
            r#"{"event":"presence","data":{"online":["😀","\ufffd"],"offline":[]}}"#,
            r#"{"event":"presence","data":{"online":["a","c"],"offline":["b","c"]}}"#,
            r#"{"event":"presence","data":{"online":["a"]}}"#,
            r#"{"event":"presence","data":{"online":["a"],"offline":[],"name":"a"}}"#,
            r#"{"event":"presence","data":{"online":["a",1],"offline":[]}}"#,
            r#"{"event":"presence","data":{"online":"a","offline":[]}}"#,
        ] {
            assert!(matches!(frame(bad), Frame::Malformed), "{bad}");
        }
        assert!(!is_presence(r#"{"event":"presence state","data":[]}"#));
        let error = r#"{"event":"error","data":{"code":"rate_limited","message":"x"}}"#;
        assert!(matches!(frame(error), Frame::Error(code) if code == "rate_limited"));
        assert!(matches!(
            frame(r#"{"event":"current count","data":3}"#),
            Frame::Other
        ));
    }
}
