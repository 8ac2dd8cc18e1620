//! What an Engine.IO request is before any connection state is read: its
//! query checked in engine.io's order ([`verify`]), the connection ids
//! ([`Sid`]), the open packet each new connection gets ([`EngineConfig::open`])
//! and the errors engine.io answers with ([`EngineError`]).

use std::{fmt, time::Duration};

use rand::distr::{Alphanumeric, SampleString};
use serde::{Deserialize, Serialize};

use super::{Frame, PacketType};
use crate::clock::millis;

/// A refused Engine.IO request, with engine.io's code and message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum EngineError {
    /// 0: `transport` missing or not `polling` / `websocket`.
    #[error("Transport unknown")]
    UnknownTransport,
    /// 1: a `sid` that is malformed, unknown, ended or timed out.
    #[error("Session ID unknown")]
    UnknownSid,
    /// 2: a handshake (no `sid`) that is not a GET.
    #[error("Bad handshake method")]
    BadHandshakeMethod,
    /// 3: anything else wrong (a `sid` used with the other transport, a
    /// `transport=websocket` request that is no WebSocket upgrade, …).
    #[error("Bad request")]
    BadRequest,
    /// 4: refused by the app (origin, or a cookie of another session).
    #[error("Forbidden")]
    Forbidden,
    /// 5: `EIO` missing or not `4`.
    #[error("Unsupported protocol version")]
    UnsupportedProtocolVersion,
}

impl EngineError {
    /// engine.io's error code.
    pub fn code(self) -> u8 {
        match self {
            Self::UnknownTransport => 0,
            Self::UnknownSid => 1,
            Self::BadHandshakeMethod => 2,
            Self::BadRequest => 3,
            Self::Forbidden => 4,
            Self::UnsupportedProtocolVersion => 5,
        }
    }

    /// The HTTP status: 403 for [`EngineError::Forbidden`], else 400.
    pub fn status(self) -> u16 {
        match self {
            Self::Forbidden => 403,
            _ => 400,
        }
    }

    /// The JSON body, as engine.io writes it (`Content-Type:
    /// application/json`).
    pub fn body(self) -> &'static str {
        match self {
            Self::UnknownTransport => r#"{"code":0,"message":"Transport unknown"}"#,
            Self::UnknownSid => r#"{"code":1,"message":"Session ID unknown"}"#,
            Self::BadHandshakeMethod => r#"{"code":2,"message":"Bad handshake method"}"#,
            Self::BadRequest => r#"{"code":3,"message":"Bad request"}"#,
            Self::Forbidden => r#"{"code":4,"message":"Forbidden"}"#,
            Self::UnsupportedProtocolVersion => {
                r#"{"code":5,"message":"Unsupported protocol version"}"#
            }
        }
    }
}

/// How the connection's packets travel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// HTTP long-polling.
    Polling,
    /// WebSocket.
    WebSocket,
}

impl Transport {
    /// Its name in the query and in metrics.
    pub fn name(self) -> &'static str {
        match self {
            Self::Polling => "polling",
            Self::WebSocket => "websocket",
        }
    }
}

/// The query of an Engine.IO request (`EIO`, `transport`, `sid`); anything
/// else (`t`, the cache buster) is ignored.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct Query {
    /// The protocol version: only `4` is served.
    #[serde(rename = "EIO")]
    pub eio: Option<String>,
    /// `polling` or `websocket`.
    pub transport: Option<String>,
    /// The connection, except on the handshake.
    pub sid: Option<String>,
}

/// What a request is, by its query alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verified {
    /// A handshake: a new connection on this transport.
    Handshake(Transport),
    /// A request of the connection `sid`: a poll or post, or the WebSocket
    /// of an upgrade. Whether `sid` exists, and on which transport, is for
    /// the caller to check (unknown: [`EngineError::UnknownSid`]; the other
    /// transport, not upgrading: [`EngineError::BadRequest`]).
    Existing(Transport, Sid),
}

/// Checks a request's query in engine.io's order: the transport (0), then,
/// with a `sid`, its syntax (1: a malformed `sid` is unknown, never a new
/// connection; socketioxide #815), else a GET (2) that is a WebSocket
/// upgrade when it asks for one (3); then `EIO` (5).
pub fn verify(query: &Query, is_get: bool, is_upgrade: bool) -> Result<Verified, EngineError> {
    let transport = match query.transport.as_deref() {
        Some("polling") => Transport::Polling,
        Some("websocket") => Transport::WebSocket,
        _ => return Err(EngineError::UnknownTransport),
    };
    let verified = match query.sid.as_deref() {
        Some(sid) => Verified::Existing(transport, Sid::parse(sid)?),
        None if !is_get => return Err(EngineError::BadHandshakeMethod),
        None if transport == Transport::WebSocket && !is_upgrade => {
            return Err(EngineError::BadRequest)
        }
        None => Verified::Handshake(transport),
    };
    if query.eio.as_deref() != Some("4") {
        return Err(EngineError::UnsupportedProtocolVersion);
    }
    Ok(verified)
}

/// Characters in a [`Sid`] (as many as engine.io's, about 119 bits).
pub const SID_LEN: usize = 20;

/// An Engine.IO connection id: whoever knows it can poll the connection,
/// so it is random and its `Debug` is redacted.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Sid(Box<str>);

impl Sid {
    /// A fresh random id.
    pub fn generate() -> Self {
        Self(Alphanumeric.sample_string(&mut rand::rng(), SID_LEN).into())
    }

    /// An id a client sent; anything but [`SID_LEN`] ASCII letters and
    /// digits is [`EngineError::UnknownSid`].
    pub fn parse(sid: &str) -> Result<Self, EngineError> {
        let well_formed = sid.len() == SID_LEN && sid.bytes().all(|b| b.is_ascii_alphanumeric());
        well_formed
            .then(|| Self(sid.into()))
            .ok_or(EngineError::UnknownSid)
    }

    /// The id itself, for the open packet and the Socket.IO CONNECT reply.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Sid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Sid(<redacted>)")
    }
}

/// What an Engine.IO endpoint advertises in its open packet and enforces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EngineConfig {
    /// How long after the open, and after each pong, the server pings.
    pub ping_interval: Duration,
    /// How long after a ping a connection without a pong is dead.
    pub ping_timeout: Duration,
    /// The longest message, and polling body, a client may send (bytes).
    pub max_payload: usize,
}

/// The open packet's JSON: exactly these five keys, in engine.io's order.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Open<'a> {
    sid: &'a str,
    upgrades: &'a [&'a str],
    ping_interval: u64,
    ping_timeout: u64,
    max_payload: usize,
}

impl EngineConfig {
    /// The open packet of connection `sid`, opened on `transport`:
    /// `0{"sid":…,"upgrades":[…],"pingInterval":…,"pingTimeout":…,"maxPayload":…}`,
    /// offering the WebSocket upgrade to a polling connection only.
    pub fn open(&self, sid: &Sid, transport: Transport) -> Frame {
        let upgrades: &[&str] = match transport {
            Transport::Polling => &["websocket"],
            Transport::WebSocket => &[],
        };
        let open = Open {
            sid: sid.as_str(),
            upgrades,
            ping_interval: millis(self.ping_interval),
            ping_timeout: millis(self.ping_timeout),
            max_payload: self.max_payload,
        };
        // Strings and numbers only: serialising cannot fail.
        let json = serde_json::to_string(&open).unwrap_or_default();
        Frame::text(PacketType::Open, &json)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(eio: Option<&str>, transport: Option<&str>, sid: Option<&str>) -> Query {
        Query {
            eio: eio.map(str::to_owned),
            transport: transport.map(str::to_owned),
            sid: sid.map(str::to_owned),
        }
    }

    #[test]
    fn errors_carry_engine_io_codes_and_bodies() {
        for (error, code, status) in [
            (EngineError::UnknownTransport, 0, 400),
            (EngineError::UnknownSid, 1, 400),
            (EngineError::BadHandshakeMethod, 2, 400),
            (EngineError::BadRequest, 3, 400),
            (EngineError::Forbidden, 4, 403),
            (EngineError::UnsupportedProtocolVersion, 5, 400),
        ] {
            assert_eq!((error.code(), error.status()), (code, status));
            let body: serde_json::Value = serde_json::from_str(error.body()).expect("JSON");
            assert_eq!(body["code"], code);
            assert_eq!(body["message"], error.to_string());
            assert_eq!(body.as_object().map(|o| o.len()), Some(2));
        }
    }

    #[test]
    fn verifies_handshakes_as_engine_io_does() {
        let polling = query(Some("4"), Some("polling"), None);
        let websocket = query(Some("4"), Some("websocket"), None);
        assert_eq!(
            verify(&polling, true, false),
            Ok(Verified::Handshake(Transport::Polling))
        );
        assert_eq!(
            verify(&websocket, true, true),
            Ok(Verified::Handshake(Transport::WebSocket))
        );
        assert_eq!(
            verify(&websocket, true, false),
            Err(EngineError::BadRequest)
        );
        assert_eq!(
            verify(&polling, false, false),
            Err(EngineError::BadHandshakeMethod)
        );
        for transport in [None, Some("abc"), Some("webtransport"), Some("Polling")] {
            assert_eq!(
                verify(&query(Some("4"), transport, None), true, false),
                Err(EngineError::UnknownTransport)
            );
        }
        for eio in [None, Some("3"), Some("abc"), Some("4 "), Some("")] {
            assert_eq!(
                verify(&query(eio, Some("polling"), None), true, false),
                Err(EngineError::UnsupportedProtocolVersion)
            );
        }
    }

    #[test]
    fn a_malformed_sid_is_unknown_never_a_new_connection() {
        let sid = Sid::generate();
        assert_eq!(sid.as_str().len(), SID_LEN);
        assert_eq!(
            verify(
                &query(Some("4"), Some("polling"), Some(sid.as_str())),
                false,
                false
            ),
            Ok(Verified::Existing(Transport::Polling, sid.clone()))
        );
        let long = "a".repeat(SID_LEN + 1);
        let multibyte = format!("{}é", "a".repeat(SID_LEN - 2));
        for bad in [
            "",
            "abc",
            &long,
            &multibyte,
            "aaaaaaaaaaaaaaaaaaa-",
            "aaaaaaaaaaaaaaaaaaa\0",
        ] {
            assert_eq!(
                verify(&query(Some("4"), Some("polling"), Some(bad)), true, false),
                Err(EngineError::UnknownSid),
                "{bad:?}"
            );
        }
        assert_eq!(format!("{sid:?}"), "Sid(<redacted>)");
        assert_ne!(Sid::generate(), sid);
    }

    #[test]
    fn the_open_packet_has_exactly_five_keys() {
        let config = EngineConfig {
            ping_interval: Duration::from_millis(300),
            ping_timeout: Duration::from_millis(200),
            max_payload: 1_000_000,
        };
        let sid = Sid::parse("abcdefghij0123456789").expect("well formed");
        assert_eq!(
            config.open(&sid, Transport::Polling),
            Frame::Text(
                r#"0{"sid":"abcdefghij0123456789","upgrades":["websocket"],"pingInterval":300,"pingTimeout":200,"maxPayload":1000000}"#
                    .into()
            )
        );
        assert_eq!(
            config.open(&sid, Transport::WebSocket),
            Frame::Text(
                r#"0{"sid":"abcdefghij0123456789","upgrades":[],"pingInterval":300,"pingTimeout":200,"maxPayload":1000000}"#
                    .into()
            )
        );
    }
}
