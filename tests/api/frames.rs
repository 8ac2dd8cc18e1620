//! Client frames: bad ones are answered with an error and the socket stays
//! open; floods are rate-limited; binary and oversized messages close it.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio_tungstenite::tungstenite::{
    protocol::frame::{
        coding::{Data, OpCode},
        Frame,
    },
    Message,
};

use crate::helpers::{spawn_app, Socket, Visitor, WAIT};

/// The largest message the contract accepts, in bytes.
const LIMIT: usize = 65_536;

const INCR: &str = r#"{"event":"incr"}"#;

/// Sends `frame`, expects an `error` frame with `code`, then checks the socket
/// still works: an `incr` afterwards brings `next_count`.
async fn expect_error_then_still_open(
    socket: &mut Socket,
    frame: &str,
    code: &str,
    next_count: u64,
) {
    socket.send_text(frame).await;
    let error = socket.expect_event("error").await;
    assert_eq!(error["code"], code, "error for {frame:?}: {error}");
    assert!(
        error["message"].is_string(),
        "the error carries a message: {error}"
    );
    socket.send_incr().await;
    socket.wait_for_count(next_count).await;
}

async fn greeted_socket(visitor: &Visitor) -> Socket {
    let (socket, _) = visitor.connect_and_greet().await;
    socket
}

/// Sends one raw data frame (a fragment when `is_final` is false).
async fn send_fragment(socket: &mut Socket, payload: Vec<u8>, first: bool, is_final: bool) {
    let opcode = if first {
        OpCode::Data(Data::Text)
    } else {
        OpCode::Data(Data::Continue)
    };
    socket
        .stream
        .send(Message::Frame(Frame::message(payload, opcode, is_final)))
        .await
        .expect("send a fragment");
}

#[actix_web::test]
async fn a_frame_that_is_not_json_gets_bad_json_and_the_socket_stays_open() {
    let app = spawn_app().await;
    let mut socket = greeted_socket(&app.visitor()).await;

    expect_error_then_still_open(&mut socket, "incr", "bad_json", 1).await;
    expect_error_then_still_open(&mut socket, "{", "bad_json", 2).await;
    expect_error_then_still_open(&mut socket, "", "bad_json", 3).await;
}

#[actix_web::test]
async fn a_json_array_gets_bad_json_and_the_socket_stays_open() {
    let app = spawn_app().await;
    let mut socket = greeted_socket(&app.visitor()).await;

    expect_error_then_still_open(&mut socket, "[]", "bad_json", 1).await;
    expect_error_then_still_open(&mut socket, r#"[1,"two",{}]"#, "bad_json", 2).await;
}

#[actix_web::test]
async fn a_json_array_holding_an_event_name_gets_bad_json_and_is_not_processed() {
    let app = spawn_app().await;
    let mut socket = greeted_socket(&app.visitor()).await;

    // Not an object: it must not be read as `{"event":"incr"}` (nor as an
    // unknown event), and the count must not move.
    expect_error_then_still_open(&mut socket, r#"["incr"]"#, "bad_json", 1).await;
    expect_error_then_still_open(&mut socket, r#"["incr",null]"#, "bad_json", 2).await;
    expect_error_then_still_open(&mut socket, r#"["decr"]"#, "bad_json", 3).await;
}

#[actix_web::test]
async fn a_json_value_that_is_not_an_object_gets_bad_json() {
    let app = spawn_app().await;
    let mut socket = greeted_socket(&app.visitor()).await;

    expect_error_then_still_open(&mut socket, r#""incr""#, "bad_json", 1).await;
    expect_error_then_still_open(&mut socket, "42", "bad_json", 2).await;
    expect_error_then_still_open(&mut socket, "null", "bad_json", 3).await;
}

#[actix_web::test]
async fn an_object_without_a_string_event_gets_bad_json_and_the_socket_stays_open() {
    let app = spawn_app().await;
    let mut socket = greeted_socket(&app.visitor()).await;

    expect_error_then_still_open(&mut socket, r#"{"data":1}"#, "bad_json", 1).await;
    expect_error_then_still_open(&mut socket, r#"{"event":1}"#, "bad_json", 2).await;
    expect_error_then_still_open(&mut socket, r#"{"event":null}"#, "bad_json", 3).await;
    expect_error_then_still_open(&mut socket, r#"{"event":["incr"]}"#, "bad_json", 4).await;
    expect_error_then_still_open(&mut socket, "{}", "bad_json", 5).await;
}

#[actix_web::test]
async fn an_unknown_event_gets_unknown_event_and_the_socket_stays_open() {
    let app = spawn_app().await;
    let mut socket = greeted_socket(&app.visitor()).await;

    expect_error_then_still_open(&mut socket, r#"{"event":"decr"}"#, "unknown_event", 1).await;
    expect_error_then_still_open(
        &mut socket,
        r#"{"event":"INCR","data":null}"#,
        "unknown_event",
        2,
    )
    .await;
}

#[actix_web::test]
async fn an_incr_with_data_is_processed() {
    let app = spawn_app().await;
    let visitor = app.visitor();
    let mut socket = greeted_socket(&visitor).await;

    socket
        .send_text(r#"{"event":"incr","data":{"any":["json",1,null]}}"#)
        .await;

    socket.wait_for_count(1).await;
    assert_eq!(visitor.incr().await, 2);
}

#[actix_web::test]
async fn a_burst_over_the_frame_budget_is_rate_limited_and_the_dropped_frames_are_not_processed() {
    let app = spawn_app().await;
    let visitor = app.visitor();
    let mut socket = greeted_socket(&visitor).await;

    // 300 frames in one burst, without reading in between.
    for _ in 0..300 {
        socket
            .stream
            .feed(Message::text(INCR))
            .await
            .expect("queue a frame");
    }
    socket.stream.flush().await.expect("send the burst");

    // Frames are handled in order: once a later frame is answered, the whole
    // burst has been through the limiter. That later frame may itself be
    // over budget (dropped), so it is resent until it is answered.
    let mut rate_limited = 0;
    let mut highest = 0;
    let deadline = tokio::time::Instant::now() + WAIT;
    'answered: loop {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the socket never answered a frame after the burst"
        );
        socket.send_text(r#"{"event":"after the burst"}"#).await;
        let retry = (tokio::time::Instant::now() + Duration::from_millis(100)).min(deadline);
        while let Ok(next) = tokio::time::timeout_at(retry, socket.stream.next()).await {
            let frame = match next {
                Some(Ok(Message::Text(text))) => {
                    serde_json::from_str::<Value>(&text).expect("frames are JSON")
                }
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                other => panic!("the socket must stay open, got {other:?}"),
            };
            match (frame["event"].as_str(), frame["data"]["code"].as_str()) {
                (Some("current count"), _) => {
                    let count = frame["data"].as_u64().expect("a count");
                    assert!(count > highest, "counts went from {highest} to {count}");
                    highest = count;
                }
                (Some("error"), Some("rate_limited")) => {
                    assert!(frame["data"]["message"].is_string(), "{frame}");
                    rate_limited += 1;
                }
                (Some("error"), Some("unknown_event")) => break 'answered,
                _ => panic!("unexpected frame {frame}"),
            }
        }
    }
    assert!(rate_limited >= 1, "no rate_limited error arrived");

    // The socket is still open and HTTP shares the count: the dropped frames
    // were not processed, the first 100 (a full budget) were.
    let count = visitor.incr().await;
    assert!(
        count <= 300,
        "{count}: some of the 300 frames should have been dropped"
    );
    assert!(
        count > 100,
        "{count}: at least a full budget of 100 frames should have been processed"
    );
    // The HTTP increment reaches the socket too. Answers to the resent
    // frames after the burst may still arrive: they are errors, not counts.
    loop {
        let frame = socket.next_event().await;
        if frame["event"] == "error" {
            let code = &frame["data"]["code"];
            assert!(
                code == "unknown_event" || code == "rate_limited",
                "unexpected frame {frame}"
            );
            continue;
        }
        assert_eq!(frame["event"], "current count", "unexpected frame {frame}");
        let shown = frame["data"].as_u64().expect("a count");
        assert!(shown > highest, "counts went from {highest} to {shown}");
        highest = shown;
        if shown >= count {
            assert_eq!(shown, count);
            break;
        }
    }
}

#[actix_web::test]
async fn a_binary_frame_closes_the_socket_with_1003() {
    let app = spawn_app().await;
    let mut socket = greeted_socket(&app.visitor()).await;

    socket
        .stream
        .send(Message::binary(INCR.as_bytes().to_vec()))
        .await
        .expect("send a binary frame");

    socket.expect_close(1003).await;
    app.wait_for_counts(0, 0).await;
}

#[actix_web::test]
async fn a_fragmented_binary_message_closes_the_socket_with_1003() {
    let app = spawn_app().await;
    let mut socket = greeted_socket(&app.visitor()).await;

    socket
        .stream
        .send(Message::Frame(Frame::message(
            INCR.as_bytes().to_vec(),
            OpCode::Data(Data::Binary),
            false,
        )))
        .await
        .expect("send a binary fragment");

    socket.expect_close(1003).await;
    app.wait_for_counts(0, 0).await;
}

#[actix_web::test]
async fn a_text_frame_over_64_kib_closes_the_socket_with_1009() {
    let app = spawn_app().await;
    let mut socket = greeted_socket(&app.visitor()).await;

    let big = format!("{INCR}{}", " ".repeat(LIMIT + 1 - INCR.len()));
    assert_eq!(big.len(), LIMIT + 1);
    socket.send_text(&big).await;

    socket.expect_close(1009).await;
    app.wait_for_counts(0, 0).await;
}

#[actix_web::test]
async fn a_valid_message_of_exactly_64_kib_is_processed() {
    let app = spawn_app().await;
    let visitor = app.visitor();
    let mut socket = greeted_socket(&visitor).await;

    let exact = format!("{INCR}{}", " ".repeat(LIMIT - INCR.len()));
    assert_eq!(exact.len(), LIMIT);
    socket.send_text(&exact).await;

    socket.wait_for_count(1).await;
    assert_eq!(visitor.incr().await, 2);
}

#[actix_web::test]
async fn a_non_json_message_of_exactly_64_kib_gets_bad_json_not_a_close() {
    let app = spawn_app().await;
    let mut socket = greeted_socket(&app.visitor()).await;

    let exact = "x".repeat(LIMIT);
    expect_error_then_still_open(&mut socket, &exact, "bad_json", 1).await;
}

#[actix_web::test]
async fn a_fragmented_message_over_64_kib_in_total_closes_the_socket_with_1009() {
    let app = spawn_app().await;
    let mut socket = greeted_socket(&app.visitor()).await;

    // Four fragments of 16 KiB reach the limit exactly; one more byte is over.
    let quarter = LIMIT / 4;
    send_fragment(&mut socket, vec![b' '; quarter], true, false).await;
    for _ in 0..3 {
        send_fragment(&mut socket, vec![b' '; quarter], false, false).await;
    }
    send_fragment(&mut socket, vec![b' '], false, false).await;

    socket.expect_close(1009).await;
    app.wait_for_counts(0, 0).await;
}

#[actix_web::test]
async fn a_fragmented_message_of_exactly_64_kib_is_processed() {
    let app = spawn_app().await;
    let visitor = app.visitor();
    let mut socket = greeted_socket(&visitor).await;

    let message = format!("{INCR}{}", " ".repeat(LIMIT - INCR.len())).into_bytes();
    let mut chunks = message.chunks(LIMIT / 4).peekable();
    let mut first = true;
    while let Some(chunk) = chunks.next() {
        let last = chunks.peek().is_none();
        send_fragment(&mut socket, chunk.to_vec(), first, last).await;
        first = false;
    }

    socket.wait_for_count(1).await;
    assert_eq!(visitor.incr().await, 2);
}

#[actix_web::test]
async fn a_valid_incr_split_into_three_fragments_is_processed() {
    let app = spawn_app().await;
    let visitor = app.visitor();
    let mut socket = greeted_socket(&visitor).await;

    send_fragment(&mut socket, br#"{"event""#.to_vec(), true, false).await;
    send_fragment(&mut socket, br#":"in"#.to_vec(), false, false).await;
    send_fragment(&mut socket, br#"cr"}"#.to_vec(), false, true).await;

    socket.wait_for_count(1).await;
    assert_eq!(visitor.incr().await, 2);
}

#[actix_web::test]
async fn a_fragmented_bad_message_gets_bad_json_and_the_socket_stays_open() {
    let app = spawn_app().await;
    let mut socket = greeted_socket(&app.visitor()).await;

    send_fragment(&mut socket, b"[1,".to_vec(), true, false).await;
    send_fragment(&mut socket, b"2]".to_vec(), false, true).await;

    let error = socket.expect_event("error").await;
    assert_eq!(error["code"], "bad_json");
    socket.send_incr().await;
    socket.wait_for_count(1).await;
}
