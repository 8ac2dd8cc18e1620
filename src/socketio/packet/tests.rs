//! The packets of the Socket.IO v5 conformance suite, byte for byte, and
//! vectors from socketioxide's parser-common tests (MIT, Totodore and
//! contributors), with the regressions its fixes name.

use bytes::Bytes;
use serde_json::value::RawValue;

use super::*;

fn decoder() -> Decoder {
    Decoder::new(Limits::new(1_000_000))
}

/// Decodes one text packet that needs no attachments.
fn decode(text: &str) -> Result<Packet, PacketError> {
    decoder()
        .text(text)
        .map(|packet| packet.expect("no attachments"))
}

fn raw(json: &str) -> Box<RawValue> {
    RawValue::from_string(json.to_owned()).expect("valid JSON")
}

fn p0() -> Box<RawValue> {
    placeholder(0)
}

fn p1() -> Box<RawValue> {
    placeholder(1)
}

#[test]
fn decodes_the_conformance_connects() {
    for (text, nsp, data) in [
        ("0", "/", None),
        (r#"0{"token":"123"}"#, "/", Some(r#"{"token":"123"}"#)),
        ("0/custom,", "/custom", None),
        ("0/custom", "/custom", None),
        (
            r#"0/custom,{"token":"abc"}"#,
            "/custom",
            Some(r#"{"token":"abc"}"#),
        ),
        ("0/random", "/random", None),
        ("1", "/", None),
        ("1/custom", "/custom", None),
        ("0/admin™,", "/admin™", None),
    ] {
        let packet = decode(text).expect(text);
        assert_eq!(packet.nsp(), nsp, "{text}");
        assert_eq!(packet.data().map(RawValue::get), data, "{text}");
        assert_eq!(packet.id(), None);
    }
}

#[test]
fn decodes_events_and_acks_with_their_ids() {
    let packet = decode(r#"2456["message-with-ack",1,"2",{"3":[false]}]"#).expect("event");
    assert_eq!(packet.kind(), PacketType::Event);
    assert_eq!(packet.id(), Some(456));
    assert_eq!(packet.event_name().as_deref(), Some("message-with-ack"));
    let args: Vec<&str> = packet
        .args()
        .expect("args")
        .iter()
        .map(|a| a.get())
        .collect();
    assert_eq!(
        args,
        [r#""message-with-ack""#, "1", r#""2""#, r#"{"3":[false]}"#]
    );
    let packet = decode(r#"354["data"]"#).expect("ack");
    assert_eq!((packet.kind(), packet.id()), (PacketType::Ack, Some(54)));
    let packet = decode(r#"3/admin™,54["data"]"#).expect("ack");
    assert_eq!((packet.nsp(), packet.id()), ("/admin™", Some(54)));
    let packet = decode(r#"2/admin™,1["event",{"data":"value™"}]"#).expect("event");
    assert_eq!((packet.nsp(), packet.id()), ("/admin™", Some(1)));
    // Numbers are names too; leading zeros are the number's.
    assert!(decode(r#"2[1,"x"]"#).is_ok());
    assert_eq!(decode(r#"2007["x"]"#).map(|p| p.id()), Ok(Some(7)));
    assert_eq!(
        decode(r#"2 ["x"] "#).map(|p| p.encode()),
        Ok(r#"2["x"]"#.into())
    );
}

#[test]
fn refuses_the_conformance_malformed_packets() {
    for (text, error) in [
        ("abc", PacketError::UnknownType),
        ("", PacketError::UnknownType),
        ("7", PacketError::UnknownType),
        ("2{}", PacketError::Payload),
        (
            r#"2abc["message-with-ack",1,"2",{"3":[false]}]"#,
            PacketError::Json,
        ),
        ("2[]", PacketError::Payload),
        ("2", PacketError::Payload),
        ("3", PacketError::Payload),
        (r#"2["disconnect"]"#, PacketError::Payload),
        (r#"2["newListener",1]"#, PacketError::Payload),
        (r#"2[null]"#, PacketError::Payload),
        ("0[]", PacketError::Payload),
        ("0\"x\"", PacketError::Payload),
        ("1{}", PacketError::Payload),
        (r#"1/custom,{}"#, PacketError::Payload),
        (r#"3{"a":1}"#, PacketError::Payload),
        (r#"2["x"] x"#, PacketError::Json),
    ] {
        assert_eq!(decode(text).err(), Some(error), "{text:?}");
    }
    // Without its comma, a namespace runs to the end (the router refuses it).
    let packet = decode(r#"0/custom{"token":1}"#).expect("a namespace");
    assert_eq!(
        (packet.nsp(), packet.data().is_none()),
        (r#"/custom{"token":1}"#, true)
    );
    // A CONNECT_ERROR decodes (the router refuses it from a client).
    assert!(decode(r#"4{"message":"x"}"#).is_ok() && decode(r#"4"x""#).is_ok());
}

#[test]
fn bounds_attachments_ack_ids_and_namespaces() {
    for (text, error) in [
        ("5", PacketError::Attachments),
        ("5-", PacketError::Attachments),
        ("52", PacketError::Attachments),
        (r#"52["x"]"#, PacketError::Attachments),
        ("50-[\"x\"]", PacketError::Attachments),
        ("5x-[\"x\"]", PacketError::Attachments),
        ("511-[\"x\"]", PacketError::TooManyAttachments),
        (
            "599999999999999999999999-[\"x\"]",
            PacketError::TooManyAttachments,
        ),
        ("6", PacketError::Attachments),
        ("29007199254740992[\"x\"]", PacketError::AckId),
        ("299999999999999999999[\"x\"]", PacketError::AckId),
    ] {
        assert_eq!(decode(text).err(), Some(error), "{text:?}");
    }
    let largest = format!("2{MAX_ACK_ID}[\"x\"]");
    assert_eq!(decode(&largest).map(|p| p.id()), Ok(Some(MAX_ACK_ID)));
    let at_limit = format!("0/{},", "n".repeat(MAX_NAMESPACE_BYTES - 1));
    assert!(decode(&at_limit).is_ok());
    let over = format!("0/{},", "n".repeat(MAX_NAMESPACE_BYTES));
    assert_eq!(decode(&over).err(), Some(PacketError::Namespace));
    let mut ten = decoder();
    assert_eq!(ten.text(&format!("510-[\"x\",{}]", p0().get())), Ok(None));
    let mut few = Decoder::new(Limits {
        max_payload: 100,
        max_attachments: 1,
    });
    assert_eq!(few.text("52-[\"x\"]"), Err(PacketError::TooManyAttachments));
    assert_eq!(
        few.text(&format!("2[\"{}\"]", "x".repeat(100))),
        Err(PacketError::TooLarge)
    );
}

/// The conformance suite's two attachments.
fn two_attachments() -> [Bytes; 2] {
    [
        Bytes::from_static(&[1, 2, 3]),
        Bytes::from_static(&[4, 5, 6]),
    ]
}

/// Feeds `header` then [`two_attachments`], as the suite sends them.
fn reassemble(header: &str) -> Packet {
    let mut decoder = decoder();
    let [first, second] = two_attachments();
    assert_eq!(decoder.text(header), Ok(None));
    assert!(decoder.is_waiting());
    assert_eq!(decoder.binary(first), Ok(None));
    let packet = decoder.binary(second).ok().flatten().expect("complete");
    assert!(!decoder.is_waiting());
    packet
}

#[test]
fn reassembles_and_echoes_the_conformance_binary_event() {
    let packet =
        reassemble(r#"52-["message",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#);
    assert_eq!(packet.kind(), PacketType::BinaryEvent);
    assert_eq!(packet.attachments(), two_attachments());
    // The echo: the same arguments after another name, the same bytes.
    let args = packet.args().expect("args");
    let attachments = packet.attachments().to_vec();
    let frames = Packet::event("/", None, "message-back", &args[1..], attachments).to_frames();
    assert_eq!(
        frames[0],
        Frame::message(
            r#"52-["message-back",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#
        )
    );
    assert_eq!(frames[1..], two_attachments().map(Frame::Binary));
}

#[test]
fn reassembles_and_acknowledges_the_conformance_binary_ack() {
    let packet = reassemble(
        r#"52-789["message-with-ack",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#,
    );
    let args = packet.args().expect("args");
    let id = packet.id().expect("an ack id");
    let ack = Packet::ack("/", id, &args[1..], packet.attachments().to_vec());
    assert_eq!(ack.kind(), PacketType::BinaryAck);
    assert_eq!(
        ack.frame(),
        Frame::message(r#"62-789[{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#)
    );
}

#[test]
fn refuses_attachments_out_of_turn_and_bad_placeholders() {
    let mut decoder = decoder();
    assert_eq!(
        decoder.binary(Bytes::from_static(b"x")),
        Err(PacketError::UnexpectedBinary)
    );
    assert_eq!(
        decoder.text(&format!("51-[\"x\",{}]", p0().get())),
        Ok(None)
    );
    // A text before the last attachment ends the wait (socketioxide #811).
    assert_eq!(decoder.text(r#"2["x"]"#), Err(PacketError::UnexpectedText));
    assert!(!decoder.is_waiting());
    for data in [
        r#"["x",{"_placeholder":true,"num":1}]"#,
        r#"["x",{"_placeholder":true,"num":-1}]"#,
        r#"["x",{"_placeholder":true,"num":0.5}]"#,
        r#"["x",{"_placeholder":true,"num":"0"}]"#,
        r#"["x",{"_placeholder":true}]"#,
        r#"["x",[{"a":{"_placeholder":true,"num":9}}]]"#,
    ] {
        assert_eq!(
            decoder.text(&format!("51-{data}")),
            Err(PacketError::Placeholder),
            "{data}"
        );
    }
    // Objects that only look like placeholders are data.
    for data in [
        r#"["x",{"_placeholder":"true","num":7}]"#,
        r#"["x",{"_placeholder":false,"num":7}]"#,
    ] {
        assert_eq!(decoder.text(&format!("51-{data}")), Ok(None), "{data}");
        assert!(decoder.binary(Bytes::new()).is_ok());
    }
    // Attachment bytes count against maxPayload.
    let mut small = Decoder::new(Limits::new(100));
    assert_eq!(
        small.text(&format!("52-[\"x\",{},{}]", p0().get(), p1().get())),
        Ok(None)
    );
    assert_eq!(small.binary(Bytes::from(vec![0; 60])), Ok(None));
    assert_eq!(
        small.binary(Bytes::from(vec![0; 41])),
        Err(PacketError::TooLarge)
    );
    assert!(!small.is_waiting());
}

/// Each packet's Engine.IO message is `text`; a text packet reads back.
fn assert_encodes(cases: Vec<(Packet, &str)>) {
    for (packet, text) in cases {
        assert_eq!(packet.frame(), Frame::message(&text[1..]), "{text}");
        if !packet.kind().is_binary() {
            assert_eq!(decode(&packet.encode()), Ok(packet), "{text}");
        }
    }
}

#[test]
fn encodes_the_namespace_packets_exactly() {
    assert_encodes(vec![
        (Packet::connect("/", "abc"), r#"40{"sid":"abc"}"#),
        (Packet::connect("/custom", "a"), r#"40/custom,{"sid":"a"}"#),
        (
            Packet::connect_error("/random", "Invalid namespace"),
            r#"44/random,{"message":"Invalid namespace"}"#,
        ),
        (
            Packet::connect_error("/", "login required"),
            r#"44{"message":"login required"}"#,
        ),
        (Packet::disconnect("/"), "41"),
        (Packet::disconnect("/custom"), "41/custom,"),
    ]);
}

#[test]
fn encodes_events_and_acks_exactly() {
    let token = raw(r#"{"token":"abc"}"#);
    let args = [raw("1"), raw(r#""2""#), raw(r#"{"3":[false]}"#)];
    let args: Vec<&RawValue> = args.iter().map(|a| &**a).collect();
    let x = vec![Bytes::from_static(b"x")];
    assert_encodes(vec![
        (
            Packet::event("/", None, "auth", &[&*raw("{}")], vec![]),
            r#"42["auth",{}]"#,
        ),
        (
            Packet::event("/custom", None, "auth", &[&*token], vec![]),
            r#"42/custom,["auth",{"token":"abc"}]"#,
        ),
        (
            Packet::ack("/", 456, &args, vec![]),
            r#"43456[1,"2",{"3":[false]}]"#,
        ),
        (
            Packet::ack("/admin™", 54, &[&*raw(r#""data""#)], vec![]),
            r#"43/admin™,54["data"]"#,
        ),
        (
            Packet::event("/admin™", Some(254), "event", &[&*p0()], x),
            r#"451-/admin™,254["event",{"_placeholder":true,"num":0}]"#,
        ),
        (
            Packet::event("/", None, "a\"\u{1e}", &[], vec![]),
            r#"42["a\"\u001e"]"#,
        ),
    ]);
}

/// Deep JSON is skimmed without recursion (serde_json skips raw values
/// iteratively), as Node accepts it; only a binary packet's placeholder
/// check builds values, and serde_json's depth limit refuses it there.
#[test]
fn deep_nesting_is_bounded_not_a_stack_overflow() {
    let depth = 100_000;
    let deep = format!("[{}{}]", "[".repeat(depth), "]".repeat(depth));
    let event = decode(&format!("2[\"x\",{deep}]")).expect("an event");
    assert_eq!(event.event_name().as_deref(), Some("x"));
    assert_eq!(event.args().map(|args| args.len()), Some(2));
    assert!(decode(&format!("0{{\"a\":{deep}}}")).is_ok());
    assert_eq!(
        decoder().text(&format!("51-[\"x\",{deep}]")),
        Err(PacketError::Json)
    );
}
