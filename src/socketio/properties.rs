//! Property tests of every decoder on input a client controls: arbitrary
//! bytes never panic, what the server encodes decodes to itself, and every
//! bound holds at its edge. The regressions of socketioxide's fixes are
//! named where they are covered: #794 (multibyte and truncated input
//! panicked), #357 (`45` looped forever), GHSA-55mf-67qm-4wpg (unbounded
//! attachments), #811 (text during reassembly), #734 (a batch lost its
//! separators), #815 (a malformed sid opened a new session).

use bytes::Bytes;
use proptest::{collection::vec, prelude::*, string::string_regex};
use serde_json::{value::RawValue, Value};

use super::{
    bridge::{client_call, event_frame},
    engine::{self, decode_payload, encode_payload, verify, Frame, Query, Sid, Verified},
    packet::{placeholder, Decoder, Limits, Packet, PacketType, MAX_ACK_ID},
};

const MAX: usize = 1_000_000;

fn regex(pattern: &str) -> BoxedStrategy<String> {
    match string_regex(pattern) {
        Ok(strategy) => strategy.boxed(),
        Err(err) => panic!("bad regex {pattern}: {err}"),
    }
}

/// Text without the polling separator (any other character, multibyte
/// included).
fn text() -> BoxedStrategy<String> {
    regex("[^\\x1e]{0,24}")
}

/// An Engine.IO packet as it would arrive (its data borrowed from the
/// strategy's own string, so it is built by the test from the parts).
fn engine_parts() -> impl Strategy<Value = (u8, String, Vec<u8>)> {
    (0..8_u8, text(), vec(any::<u8>(), 0..32))
}

fn engine_packet<'a>(kind: u8, text: &'a str, bytes: &[u8]) -> engine::Packet<'a> {
    match kind {
        0 => engine::Packet::Open(text),
        1 => engine::Packet::Close,
        2 => engine::Packet::Ping(text),
        3 => engine::Packet::Pong(text),
        4 => engine::Packet::Message(text),
        5 => engine::Packet::Upgrade,
        6 => engine::Packet::Noop,
        _ => engine::Packet::Binary(Bytes::copy_from_slice(bytes)),
    }
}

/// Any JSON value, a few levels deep, keys that are never `_placeholder`.
fn json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        regex("\\PC{0,8}|[\\x00-\\x1f\"\\\\]{0,4}").prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..4).prop_map(Value::Array),
            vec((regex("[a-z€]{0,4}"), inner), 0..4)
                .prop_map(|entries| Value::Object(entries.into_iter().collect())),
        ]
    })
}

fn raw(value: &Value) -> Box<RawValue> {
    match serde_json::value::to_raw_value(value) {
        Ok(raw) => raw,
        Err(err) => panic!("unserialisable {value}: {err}"),
    }
}

/// A namespace: `/`, or `/` and up to 32 characters other than `,`.
fn namespace() -> BoxedStrategy<String> {
    prop_oneof![Just("/".to_owned()), regex("/[^,]{0,32}")].boxed()
}

/// An event name a client may send (not reserved).
fn name() -> BoxedStrategy<String> {
    regex("\\PC{0,12}")
        .prop_filter("reserved", |name| {
            !["connect", "connect_error", "disconnect", "disconnecting"].contains(&name.as_str())
                && !["newListener", "removeListener"].contains(&name.as_str())
        })
        .boxed()
}

/// Any packet a client may send, its attachments' placeholders first.
fn socketio_packet() -> impl Strategy<Value = Packet> {
    let id = proptest::option::of(0..=MAX_ACK_ID);
    let attachments = vec(vec(any::<u8>(), 0..16).prop_map(Bytes::from), 0..=10);
    (
        0..5_u8,
        namespace(),
        id,
        name(),
        vec(json(), 0..4),
        attachments,
    )
        .prop_map(|(kind, nsp, id, name, args, attachments)| {
            let mut args: Vec<Box<RawValue>> = args.iter().map(raw).collect();
            args.extend((0..attachments.len()).map(placeholder));
            let args: Vec<&RawValue> = args.iter().map(|a| &**a).collect();
            let auth = raw(&serde_json::json!({ "token": name }));
            match kind {
                0 => Packet::new(PacketType::Connect, &nsp, None, Some(auth), Vec::new()),
                1 => Packet::disconnect(&nsp),
                2 => Packet::event(&nsp, id, &name, &args, attachments),
                3 => Packet::ack(&nsp, id.unwrap_or(0), &args, attachments),
                _ => Packet::connect_error(&nsp, &name),
            }
        })
}

/// Feeds `packet`'s frames to a fresh decoder, as a WebSocket would;
/// `None` unless it completes with the last attachment.
fn redecode(packet: &Packet) -> Result<Option<Packet>, super::packet::PacketError> {
    let mut decoder = Decoder::new(Limits::new(MAX));
    let mut decoded = decoder.text(&packet.encode())?;
    for attachment in packet.attachments() {
        if decoded.is_some() {
            return Ok(None);
        }
        decoded = decoder.binary(attachment.clone())?;
    }
    Ok(decoded)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Arbitrary text and bytes: every decoder answers, none panics (#794).
    #[test]
    fn no_input_panics(text in "\\PC{0,40}|.{0,40}", bytes in vec(any::<u8>(), 0..64)) {
        let _ = engine::Packet::decode(&text, MAX);
        let _ = decode_payload(&bytes, MAX);
        let _ = decode_payload(text.as_bytes(), MAX);
        let mut decoder = Decoder::new(Limits::new(MAX));
        let _ = decoder.text(&text);
        let _ = decoder.binary(Bytes::from(bytes));
        let _ = event_frame(&text);
        let _ = Sid::parse(&text);
    }

    /// Text shaped like Socket.IO headers (types, counts with and without
    /// `-` (#357), namespaces, ids of any length, JSON-ish tails) decodes or
    /// is refused, and a waiting decoder waits for at most 10 attachments.
    #[test]
    fn header_like_text_is_decoded_or_refused(
        text in "[0-7b]?[0-9]{0,24}-?(/[^,]{0,6},?)?[0-9]{0,24}(\\[\"[a-z]{0,3}\"(,\\{\"_placeholder\":true,\"num\":-?[0-9]{1,3}\\})*\\]|\\{\\}|\\[\\]|\"x\"|x)?",
        frames in vec(vec(any::<u8>(), 0..4), 0..12),
    ) {
        let mut decoder = Decoder::new(Limits::new(MAX));
        let mut waited = 0;
        if let Ok(None) = decoder.text(&text) {
            for frame in frames {
                waited += 1;
                prop_assert!(waited <= 10, "waits beyond 10 attachments");
                if decoder.binary(Bytes::from(frame)) != Ok(None) {
                    break;
                }
            }
        }
        if let Ok(Some(packet)) = Decoder::new(Limits::new(MAX)).text(&text) {
            let _ = client_call(&packet);
        }
    }

    /// Every prefix of a valid packet, cut at any byte: no panic (#794).
    #[test]
    fn truncated_packets_never_panic(packet in socketio_packet()) {
        let text = packet.encode();
        for cut in 0..=text.len() {
            if let Some(prefix) = text.get(..cut) {
                let _ = Decoder::new(Limits::new(MAX)).text(prefix);
                let _ = engine::Packet::decode(prefix, MAX);
            }
            let _ = decode_payload(&text.as_bytes()[..cut], MAX);
        }
    }

    /// What the server encodes, a decoder reads back unchanged.
    #[test]
    fn socketio_packets_round_trip(packet in socketio_packet()) {
        prop_assert_eq!(redecode(&packet), Ok(Some(packet)));
    }

    /// An Engine.IO packet survives a WebSocket frame and a polling batch.
    #[test]
    fn engine_packets_round_trip((kind, text, bytes) in engine_parts()) {
        let packet = engine_packet(kind, &text, &bytes);
        let frame = packet.to_frame();
        match &frame {
            Frame::Text(encoded) => prop_assert_eq!(engine::Packet::decode(encoded, MAX), Ok(packet.clone())),
            Frame::Binary(data) => prop_assert_eq!(engine::Packet::binary(data.clone(), MAX), Ok(packet.clone())),
        }
        let body = encode_payload([&frame]);
        prop_assert_eq!(decode_payload(body.as_bytes(), MAX), Ok(vec![packet]));
    }

    /// A batch of frames, text and binary, is one body that decodes to the
    /// same frames in order (#734).
    #[test]
    fn polling_batches_keep_every_separator(parts in vec(engine_parts(), 1..12)) {
        let packets: Vec<_> = parts.iter().map(|(k, t, b)| engine_packet(*k, t, b)).collect();
        let frames: Vec<Frame> = packets.iter().map(engine::Packet::to_frame).collect();
        let body = encode_payload(&frames);
        prop_assert_eq!(body.matches('\x1e').count(), frames.len() - 1);
        prop_assert_eq!(decode_payload(body.as_bytes(), MAX), Ok(packets));
    }

    /// Any ack id up to 2^53 − 1 reads back; above it, or more than 16
    /// digits (leading zeros included), is refused, never wrapped.
    #[test]
    fn ack_ids_are_bounded(id in any::<u64>(), zeros in 0..24_usize) {
        let text = format!("2{}{id}[\"x\"]", "0".repeat(zeros));
        let digits = zeros + id.to_string().len();
        let decoded = Decoder::new(Limits::new(MAX)).text(&text).map(|p| p.and_then(|p| p.id()));
        match digits <= 16 && id <= MAX_ACK_ID {
            true => prop_assert_eq!(decoded, Ok(Some(id))),
            false => prop_assert!(decoded.is_err()),
        }
    }

    /// 1 to 10 attachments are awaited; 0, 11 and more, or a count without
    /// its `-`, are refused at once.
    #[test]
    fn attachment_counts_are_bounded(count in any::<u64>(), dash in any::<bool>()) {
        let text = format!("5{count}{}[\"x\"]", if dash { "-" } else { "" });
        let decoded = Decoder::new(Limits::new(MAX)).text(&text);
        match dash && (1..=10).contains(&count) {
            true => prop_assert_eq!(decoded, Ok(None)),
            false => prop_assert!(decoded.is_err()),
        }
    }

    /// A binary packet is accepted exactly when each placeholder points at
    /// one of its attachments.
    #[test]
    fn placeholders_must_point_at_an_attachment(count in 1..=10_usize, nums in vec(-3..14_i64, 0..6)) {
        let placeholders: Vec<String> = nums
            .iter()
            .map(|num| format!(r#"{{"_placeholder":true,"num":{num}}}"#))
            .collect();
        let text = format!("5{count}-[\"x\",[{}]]", placeholders.join(","));
        let valid = nums.iter().all(|&num| (0..count as i64).contains(&num));
        let decoded = Decoder::new(Limits::new(MAX)).text(&text);
        prop_assert_eq!(decoded.is_ok(), valid);
    }

    /// Any namespace without a comma reads back, with or without its comma.
    #[test]
    fn namespaces_read_back(nsp in namespace(), comma in any::<bool>()) {
        let text = format!("0{nsp}{}", if comma { "," } else { "" });
        let decoded = Decoder::new(Limits::new(MAX)).text(&text);
        prop_assert_eq!(decoded.map(|p| p.map(|p| p.nsp().to_owned())), Ok(Some(nsp)));
    }

    /// Each bound admits exactly `max` bytes: one more is refused.
    #[test]
    fn sizes_are_bounded_at_the_edge(max in 2..200_usize, len in 0..220_usize) {
        let message = format!("4{}", "é".repeat(len / 2));
        let fits = message.len() <= max;
        prop_assert_eq!(engine::Packet::decode(&message, max).is_ok(), fits);
        prop_assert_eq!(decode_payload(message.as_bytes(), max).is_ok(), fits);
        let event = format!("2[\"{}\"]", "x".repeat(len));
        let decoded = Decoder::new(Limits::new(max)).text(&event);
        prop_assert_eq!(decoded.is_ok(), event.len() <= max);
        let header = format!("51-[\"x\",{}]", placeholder(0).get());
        let mut binary = Decoder::new(Limits::new(max));
        if header.len() <= max {
            prop_assert_eq!(binary.text(&header), Ok(None));
            prop_assert_eq!(binary.binary(Bytes::from(vec![0; len])).is_ok(), len <= max);
        }
    }

    /// A `sid` is accepted only as 20 ASCII letters and digits; a request
    /// with any other is never a handshake (#815).
    #[test]
    fn malformed_sids_are_unknown(sid in "\\PC{0,24}|[A-Za-z0-9]{19,21}") {
        let well_formed = sid.len() == 20 && sid.bytes().all(|b| b.is_ascii_alphanumeric());
        prop_assert_eq!(Sid::parse(&sid).is_ok(), well_formed);
        let query = Query { eio: Some("4".into()), transport: Some("polling".into()), sid: Some(sid) };
        let verified = verify(&query, true, false);
        prop_assert!(!matches!(verified, Ok(Verified::Handshake(_))));
    }

    /// A server frame re-framed is the event `42[name, data]` exactly as
    /// serialising it would write, and reads back as that event.
    #[test]
    fn server_frames_reframe_exactly(name in name(), data in json()) {
        let frame = serde_json::json!({ "event": name, "data": data }).to_string();
        let args = match data.is_null() {
            true => serde_json::json!([name]),
            false => serde_json::json!([name, data]),
        };
        let expected = format!("42{args}");
        prop_assert_eq!(event_frame(&frame), Some(Frame::Text(expected.as_str().into())));
        let decoded = Decoder::new(Limits::new(MAX)).text(&expected[1..]);
        let name_read = decoded.ok().flatten().and_then(|p| p.event_name().map(|n| n.into_owned()));
        prop_assert_eq!(name_read, Some(name));
    }
}
