//! The lobby's message log, on every store: positions, the kept history,
//! and concurrent appends.

use futures_util::future::join_all;
use serde_json::{json, Value};
use session_bridge::store::Store;

fn message(n: usize) -> String {
    json!({ "id": n.to_string(), "name": "alice", "text": format!("m{n}"), "at": 1 }).to_string()
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
        let seq = store
            .append_chat(&message(n), "{}", 3)
            .await
            .expect("the store appends");
        assert_eq!(seq, n as u64);
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
        store
            .append_chat(&message(n), "{}", 0)
            .await
            .expect("the store appends");
    }
    assert_eq!(history(&store).await, (3, vec![]));
}

pub async fn concurrent_appends_get_distinct_positions_in_history_order(store: Store) {
    let appends = (1..=40).map(|n| {
        let (store, message) = (store.clone(), message(n));
        async move { store.append_chat(&message, "{}", 100).await }
    });
    let mut positions: Vec<u64> = join_all(appends)
        .await
        .into_iter()
        .map(|seq| seq.expect("the store appends"))
        .collect();
    positions.sort_unstable();
    assert_eq!(positions, (1..=40).collect::<Vec<u64>>());
    let (head, entries) = history(&store).await;
    assert_eq!(head, 40);
    let seqs: Vec<u64> = entries.iter().map(|(seq, _)| *seq).collect();
    assert_eq!(seqs, (1..=40).collect::<Vec<u64>>(), "oldest first");
}
