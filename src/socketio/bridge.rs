//! The app's protocol in Socket.IO terms, on namespace `/`: a server frame
//! `{"event":"<name>","data":<json>}` becomes the event `42["<name>",<json>]`
//! (one argument), a client's event becomes a [`ClientEvent`] with its
//! acknowledgement id, and the answers to acknowledged events are ACKs.
//!
//! Binary events need no case of their own: their placeholders stay JSON
//! objects, so `incr` works and a `chat` whose text is one is a bad message.

use std::cell::RefCell;

use bytestring::ByteString;
use serde::{Deserialize, Serialize};
use serde_json::{value::RawValue, Value};

use super::{
    engine::Frame,
    packet::{AckId, Packet, PacketType},
};
use crate::protocol::{ClientEvent, FrameError};

/// The envelope of a server frame, its parts borrowed as written.
#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(borrow)]
    event: &'a RawValue,
    #[serde(borrow, default)]
    data: Option<&'a RawValue>,
}

/// The Socket.IO event (an Engine.IO message) carrying the server frame
/// `frame`, as `protocol::ServerEvent::to_text` writes it: the name and the
/// data are copied as they are, not parsed into values and written again.
/// A frame without data (or with `null`: the app sends neither) gives an
/// event without arguments. `None` when `frame` is not such a frame.
pub fn event_frame(frame: &str) -> Option<Frame> {
    let envelope: Envelope<'_> = serde_json::from_str(frame).ok()?;
    let name = envelope.event.get();
    if !name.starts_with('"') {
        return None;
    }
    let data = envelope.data.map(RawValue::get);
    let mut text = String::with_capacity(5 + name.len() + data.map_or(0, str::len));
    text.push_str("42[");
    text.push_str(name);
    if let Some(data) = data {
        text.push(',');
        text.push_str(data);
    }
    text.push(']');
    Some(Frame::Text(text.into()))
}

/// [`event_frame`] for a frame many sockets send. The registry hands every
/// socket of an audience the same `ByteString`, so the last one re-framed
/// on this thread is kept and handed out again (a clone of its bytes'
/// handle) instead of being parsed once per socket: a fan-out to 1,000
/// sockets re-frames about once per worker thread, not 1,000 times. Holding
/// the source keeps its buffer alive, so an equal pointer and length can
/// only be the same bytes.
pub fn shared_event_frame(frame: &ByteString) -> Option<Frame> {
    thread_local! {
        static LAST: RefCell<Option<(ByteString, Option<Frame>)>> = const { RefCell::new(None) };
    }
    LAST.with(|last| {
        let mut last = last.borrow_mut();
        if let Some((source, reframed)) = last.as_ref() {
            if source.as_bytes().as_ptr() == frame.as_bytes().as_ptr()
                && source.len() == frame.len()
            {
                return reframed.clone();
            }
        }
        let reframed = event_frame(frame);
        *last = Some((frame.clone(), reframed.clone()));
        reframed
    })
}

/// A client's event for the app.
#[derive(Debug, PartialEq, Eq)]
pub struct Call {
    /// The acknowledgement it asks for: answer with [`ack_frame`] or
    /// [`ack_error_frame`] instead of an `error` event.
    pub ack: Option<AckId>,
    /// The event, or why it is refused (a name that is a number, or one the
    /// app does not know, is `unknown_event`).
    pub event: Result<ClientEvent, FrameError>,
}

/// The app's event in an EVENT or BINARY_EVENT `packet`: its name and first
/// argument (further arguments are ignored). `None` for other packet types.
pub fn client_call(packet: &Packet) -> Option<Call> {
    if !matches!(packet.kind(), PacketType::Event | PacketType::BinaryEvent) {
        return None;
    }
    let args = packet.args()?;
    let event = match packet.event_name() {
        Some(name) => {
            let data = args
                .get(1)
                .and_then(|data| serde_json::from_str(data.get()).ok())
                .unwrap_or(Value::Null);
            ClientEvent::from_parts(&name, &data)
        }
        None => Err(FrameError::UnknownEvent),
    };
    Some(Call {
        ack: packet.id(),
        event,
    })
}

/// The acknowledgement `id` with one argument, `value`:
/// `43<id>[<value>]`.
pub fn ack_frame(id: AckId, value: &impl Serialize) -> Frame {
    // The app's answers are numbers and small objects: serialising cannot
    // fail (an empty argument list would be the fallback).
    let args = serde_json::value::to_raw_value(value).ok();
    let args: Vec<&RawValue> = args.as_deref().into_iter().collect();
    Packet::ack("/", id, &args, Vec::new()).frame()
}

/// The acknowledgement `id` refusing its event:
/// `43<id>[{"error":{"code":"<code>","message":"<message>"}}]`.
pub fn ack_error_frame(id: AckId, error: FrameError) -> Frame {
    #[derive(Serialize)]
    struct Refused {
        error: Reason,
    }
    #[derive(Serialize)]
    struct Reason {
        code: FrameError,
        message: &'static str,
    }
    let error = Reason {
        code: error,
        message: error.message(),
    };
    ack_frame(id, &Refused { error })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shared_frame_is_reframed_like_any_other() {
        let one = ServerEvent::CurrentCount(3).to_text();
        let two = ServerEvent::CurrentCount(4).to_text();
        for frame in [&one, &one.clone(), &two, &one] {
            assert_eq!(shared_event_frame(frame), event_frame(frame));
        }
        // Equal bytes in another buffer are parsed, not mistaken for a hit.
        let copy = ByteString::from(one.to_string());
        assert_eq!(shared_event_frame(&copy), event_frame(&one));
    }
    use crate::{
        protocol::{ChatText, ServerEvent},
        session::SessionData,
        socketio::packet::{Decoder, Limits},
    };

    fn text(frame: Option<Frame>) -> String {
        match frame {
            Some(Frame::Text(text)) => text.to_string(),
            other => panic!("not a text frame: {other:?}"),
        }
    }

    #[test]
    fn server_frames_become_events_byte_for_byte() {
        assert_eq!(
            text(event_frame(&ServerEvent::CurrentCount(3).to_text())),
            r#"42["current count",3]"#
        );
        let data = SessionData::default();
        assert_eq!(
            text(event_frame(&ServerEvent::Session(&data).to_text())),
            r#"42["session",{"count":0,"name":null,"authenticated":false}]"#
        );
        assert_eq!(
            text(event_frame(
                &ServerEvent::error(FrameError::BadJson).to_text()
            )),
            r#"42["error",{"code":"bad_json","message":"frames must be JSON objects with a string \"event\""}]"#
        );
        assert_eq!(
            text(event_frame(r#"{"event":"a\u001eb","data":"\u001e"}"#)),
            r#"42["a\u001eb","\u001e"]"#
        );
        assert_eq!(text(event_frame(r#"{"event":"x"}"#)), r#"42["x"]"#);
        for bad in ["", "{", "[]", r#"{"data":1}"#, r#"{"event":1,"data":2}"#] {
            assert_eq!(event_frame(bad), None, "{bad}");
        }
    }

    fn call(text: &str) -> Option<Call> {
        let mut decoder = Decoder::new(Limits::new(1_000));
        client_call(&decoder.text(text).ok()??)
    }

    #[test]
    fn client_events_become_calls_with_their_ack() {
        let hi = ChatText::parse("hi").map(Ok);
        let cases = [
            (r#"2["incr"]"#, None, Ok(ClientEvent::Incr)),
            (r#"27["incr",{"x":1}]"#, Some(7), Ok(ClientEvent::Incr)),
            (
                r#"2["chat",{"text":" hi "}]"#,
                None,
                hi.map(ClientEvent::Chat).ok_or(FrameError::BadJson),
            ),
            (
                r#"212["chat",{"text":5}]"#,
                Some(12),
                Ok(ClientEvent::Chat(Err(FrameError::BadMessage))),
            ),
            (
                r#"2["chat"]"#,
                None,
                Ok(ClientEvent::Chat(Err(FrameError::BadMessage))),
            ),
            (r#"2["nope",1]"#, None, Err(FrameError::UnknownEvent)),
            (r#"20[1,"incr"]"#, Some(0), Err(FrameError::UnknownEvent)),
        ];
        for (packet, ack, event) in cases {
            assert_eq!(call(packet), Some(Call { ack, event }), "{packet}");
        }
        assert_eq!(call(r#"0{"token":"x"}"#), None);
        assert_eq!(call(r#"31["incr"]"#), None);
    }

    #[test]
    fn binary_events_dispatch_by_name_with_placeholders_as_json() {
        let mut decoder = Decoder::new(Limits::new(1_000));
        let header = r#"51-3["chat",{"text":{"_placeholder":true,"num":0}}]"#;
        assert_eq!(decoder.text(header), Ok(None));
        let packet = decoder.binary(bytes::Bytes::from_static(b"hi"));
        let packet = packet.ok().flatten().expect("complete");
        assert_eq!(
            client_call(&packet),
            Some(Call {
                ack: Some(3),
                event: Ok(ClientEvent::Chat(Err(FrameError::BadMessage)))
            })
        );
    }

    #[test]
    fn acks_carry_one_argument() {
        assert_eq!(ack_frame(7, &42), Frame::Text("437[42]".into()));
        assert_eq!(
            ack_frame(0, &serde_json::json!({"id": "m1"})),
            Frame::Text(r#"430[{"id":"m1"}]"#.into())
        );
        assert_eq!(
            ack_error_frame(9, FrameError::UnknownEvent),
            Frame::Text(
                r#"439[{"error":{"code":"unknown_event","message":"unknown event"}}]"#.into()
            )
        );
    }
}
