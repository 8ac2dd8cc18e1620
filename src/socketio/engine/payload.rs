//! HTTP long-polling bodies: several Engine.IO packets joined by the record
//! separator `\x1e`, binary ones as `b` + base64.
//!
//! Splitting on the raw byte is safe: it is ASCII (never inside a multibyte
//! character) and a JSON text cannot hold it unescaped, so no Socket.IO
//! packet contains one. Every body, immediate or held, is written by
//! [`encode_payload`] alone, so a batch cannot lose a separator
//! (socketioxide #734).

use base64::Engine as _;

use super::{check_len, DecodeError, Frame, Packet, BASE64};

/// The separator between the packets of a polling body.
pub const SEPARATOR: char = '\x1e';

/// Decodes a polling POST body of at most `max` bytes (the connection's
/// `maxPayload`; engine.io answers 413 beyond it) into its packets, in
/// order. Any bad packet refuses the whole body: the connection ends.
pub fn decode_payload(body: &[u8], max: usize) -> Result<Vec<Packet<'_>>, DecodeError> {
    check_len(body.len(), max)?;
    let text = std::str::from_utf8(body).map_err(|_| DecodeError::NotUtf8)?;
    // Every packet is at least one byte, so there are at most `max` of them.
    text.split(SEPARATOR)
        .map(|packet| Packet::decode(packet, max))
        .collect()
}

/// Writes the body of a polling GET: every frame, in order, joined by
/// [`SEPARATOR`], binary frames as `b` + base64.
pub fn encode_payload<'a, I>(frames: I) -> String
where
    I: IntoIterator<Item = &'a Frame>,
    I::IntoIter: Clone,
{
    let frames = frames.into_iter();
    let size: usize = frames
        .clone()
        .map(|frame| match frame {
            Frame::Text(text) => text.len() + 1,
            Frame::Binary(data) => 2 + data.len().div_ceil(3) * 4,
        })
        .sum();
    let mut body = String::with_capacity(size);
    for (index, frame) in frames.enumerate() {
        if index > 0 {
            body.push(SEPARATOR);
        }
        match frame {
            Frame::Text(text) => body.push_str(text),
            Frame::Binary(data) => {
                body.push('b');
                BASE64.encode_string(data, &mut body);
            }
        }
    }
    body
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;

    const MAX: usize = 1_000_000;

    #[test]
    fn decodes_the_conformance_bodies() {
        assert_eq!(
            decode_payload(b"4hello", MAX),
            Ok(vec![Packet::Message("hello")])
        );
        assert_eq!(
            decode_payload(b"4test1\x1e4test2\x1e4test3", MAX),
            Ok(vec![
                Packet::Message("test1"),
                Packet::Message("test2"),
                Packet::Message("test3")
            ])
        );
        assert_eq!(
            decode_payload(b"4hello\x1ebAQIDBA==", MAX),
            Ok(vec![
                Packet::Message("hello"),
                Packet::Binary(Bytes::from_static(&[1, 2, 3, 4]))
            ])
        );
        assert_eq!(decode_payload(b"3", MAX), Ok(vec![Packet::Pong("")]));
        assert_eq!(decode_payload(b"1", MAX), Ok(vec![Packet::Close]));
    }

    #[test]
    fn refuses_bad_bodies_whole() {
        for body in [
            &b"abc"[..],
            b"",
            b"4a\x1e",
            b"\x1e4a",
            b"4a\x1e\x1e4b",
            b"4a\x1eabc",
        ] {
            assert!(decode_payload(body, MAX).is_err(), "{body:?}");
        }
        assert_eq!(decode_payload(b"4\xff", MAX), Err(DecodeError::NotUtf8));
    }

    #[test]
    fn bounds_the_body_by_max_payload() {
        let body = format!("4{}", "x".repeat(99));
        assert!(decode_payload(body.as_bytes(), 100).is_ok());
        assert_eq!(
            decode_payload(format!("{body}x").as_bytes(), 100),
            Err(DecodeError::TooLarge { len: 101, max: 100 })
        );
    }

    #[test]
    fn encodes_what_a_poll_returns() {
        let frames = [
            Frame::message("test1"),
            Frame::message("test2"),
            Frame::message("test3"),
        ];
        assert_eq!(encode_payload(&frames), "4test1\x1e4test2\x1e4test3");
        let frames = [
            Frame::message("hello"),
            Frame::Binary(Bytes::from_static(&[1, 2, 3, 4])),
        ];
        assert_eq!(encode_payload(&frames), "4hello\x1ebAQIDBA==");
        assert_eq!(encode_payload(&[Frame::ping()]), "2");
        assert_eq!(encode_payload(&[]), "");
    }
}
