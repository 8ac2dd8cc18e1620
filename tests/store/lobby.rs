//! The lobby's message log, on every store: positions, the kept history,
//! concurrent appends; and how each backend has an append delivered.

use std::sync::{Arc, Mutex};

use futures_util::{future::join_all, StreamExt};
use serde_json::{json, Value};
use session_bridge::store::{MemoryStore, RedisStore, Spliced, Store};

use crate::PREFIX;

fn message(n: usize) -> String {
    json!({ "id": n.to_string(), "name": "alice", "text": format!("m{n}"), "at": 1 }).to_string()
}

/// What the checks publish: the position in brackets.
fn brackets() -> Spliced {
    Spliced {
        before: "[".to_owned(),
        after: "]".to_owned(),
    }
}

/// The positions an append hands to its caller's delivery.
type Delivered = Arc<Mutex<Vec<u64>>>;

/// Appends message `n`, keeping `keep`, recording what is delivered through
/// the caller into `delivered`; the position.
async fn append_to(store: &Store, n: usize, keep: usize, delivered: &Delivered) -> u64 {
    let delivered = delivered.clone();
    let deliver = |seq| async move {
        delivered.lock().expect("not poisoned").push(seq);
    };
    store
        .append_chat(&message(n), &brackets(), keep, deliver)
        .await
        .expect("the store appends")
}

async fn append(store: &Store, n: usize, keep: usize) -> u64 {
    append_to(store, n, keep, &Delivered::default()).await
}

async fn history(store: &Store) -> (u64, Vec<(u64, Value)>) {
    let history = store
        .chat_history()
        .await
        .expect("the store reads the lobby");
    let entries = history
        .entries
        .iter()
        .map(|entry| {
            let message = serde_json::from_str(entry.message.get()).expect("JSON as written");
            (entry.seq, message)
        })
        .collect();
    (history.head, entries)
}

pub async fn appends_get_increasing_positions_and_the_last_n_are_kept(store: Store) {
    assert_eq!(history(&store).await, (0, vec![]));
    for n in 1..=5 {
        assert_eq!(append(&store, n, 3).await, n as u64);
    }
    let (head, entries) = history(&store).await;
    assert_eq!(head, 5);
    let kept: Vec<(u64, Value)> = (3..=5)
        .map(|n| (n as u64, serde_json::from_str(&message(n)).expect("JSON")))
        .collect();
    assert_eq!(entries, kept);
}

pub async fn with_nothing_to_keep_the_history_is_empty_but_positions_go_on(store: Store) {
    for n in 1..=3 {
        append(&store, n, 0).await;
    }
    assert_eq!(history(&store).await, (3, vec![]));
}

pub async fn concurrent_appends_get_distinct_positions_in_history_order(store: Store) {
    let appends = (1..=40).map(|n| {
        let store = store.clone();
        async move { append(&store, n, 100).await }
    });
    let mut positions: Vec<u64> = join_all(appends).await;
    positions.sort_unstable();
    assert_eq!(positions, (1..=40).collect::<Vec<u64>>());
    let (head, entries) = history(&store).await;
    assert_eq!(head, 40);
    let seqs: Vec<u64> = entries.iter().map(|(seq, _)| *seq).collect();
    assert_eq!(seqs, (1..=40).collect::<Vec<u64>>(), "oldest first");
}

/// The embedded store calls the caller's delivery once per append, in the
/// log's order even when appends race.
pub async fn memory_appends_deliver(memory: MemoryStore) {
    let store = Store::Memory(memory);
    let delivered = Delivered::default();
    let appends = (1..=40).map(|n| {
        let (store, delivered) = (store.clone(), delivered.clone());
        async move { append_to(&store, n, 100, &delivered).await }
    });
    join_all(appends).await;
    let delivered = delivered.lock().expect("not poisoned").clone();
    assert_eq!(delivered, (1..=40).collect::<Vec<u64>>());
}

/// With Redis the append publishes what it was given, the position spliced
/// in, on the events channel, and leaves the caller's delivery alone (every
/// instance delivers from the channel).
pub async fn redis_appends_publish(redis: RedisStore, url: &str) {
    let client = ::redis::Client::open(url).expect("a Redis URL");
    let mut pubsub = client.get_async_pubsub().await.expect("a subscription");
    let channel = redis.events_channel();
    assert_eq!(channel, format!("{PREFIX}events"));
    pubsub.subscribe(&channel).await.expect("subscribed");
    let store = Store::Redis(redis);
    let delivered = Delivered::default();
    for n in 1..=3 {
        append_to(&store, n, 10, &delivered).await;
    }
    let mut messages = pubsub.into_on_message();
    let mut published = Vec::new();
    for _ in 1..=3 {
        let message = tokio::time::timeout(crate::WAIT, messages.next())
            .await
            .expect("published in time")
            .expect("the subscription lasts");
        published.push(message.get_payload::<String>().expect("text"));
    }
    assert_eq!(published, ["[1]", "[2]", "[3]"]);
    assert!(delivered.lock().expect("not poisoned").is_empty());
}
