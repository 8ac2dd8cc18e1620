//! Property tests for every parser a client or an operator controls: socket
//! frames, login names and the `POST /login` body, the session cookie, and
//! the configuration variables.
//!
//! The promise checked is the contract's (`shared/contract.md`): whatever
//! arrives, the parser does not panic, and every refusal is the contract's
//! refusal — `bad_json`, `unknown_event` or `bad_message` for a frame, `400
//! {"error": ...}` for a login body, "no session" for a cookie that is not
//! exactly one we sealed, and an error naming the variable for a bad setting.
//! Accepting is checked as strictly as refusing: each property says which
//! inputs must be accepted, and with what.
//!
//! Case counts: `PROPTEST_CASES`, when set, sets every property's count (so
//! `PROPTEST_CASES=100000` runs each property 100,000 times); otherwise each
//! property takes the modest count written beside it, a few thousand cases in
//! all, so the default run stays well under a minute on two cores.
//! Failures print the shrunk, minimal input; nothing is written to disk.

use std::{
    sync::mpsc,
    thread,
    time::{Duration, Instant},
};

use actix_web::{
    cookie::{Cookie, Key},
    http::header::{self, HeaderValue},
    test::TestRequest,
    HttpResponse,
};
use proptest::{prelude::*, sample::Index, test_runner::TestRunner};
use serde::de::{Deserialize, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde_json::{Map, Value};
use session_bridge::{
    config::Config,
    protocol::{ChatText, ClientEvent, FrameError, MAX_CHAT_CHARS},
    session::{DisplayName, SessionCookie, SessionId, COOKIE_NAME, MAX_NAME_CHARS},
    startup::Application,
};

// ---------------------------------------------------------------------------
// Case counts
// ---------------------------------------------------------------------------

/// The runner's settings for a property that runs `default_cases` cases
/// unless `PROPTEST_CASES` says otherwise.
///
/// `ProptestConfig::with_cases(n)` would override `PROPTEST_CASES` (it
/// replaces the count that `ProptestConfig::default()` read from the
/// environment), so the count is only replaced when the variable is unset.
fn cases(default_cases: u32) -> ProptestConfig {
    let mut config = ProptestConfig::default();
    if std::env::var_os("PROPTEST_CASES").is_none() {
        config.cases = default_cases;
    }
    // Regression files would land next to this file in `tests/`; the
    // failure message already carries the minimal input.
    config.failure_persistence = None;
    config
}

// ---------------------------------------------------------------------------
// Shared generators
// ---------------------------------------------------------------------------

/// Any text, control characters and line breaks included (`any::<String>()`
/// leaves out control characters, which are exactly what the rules are about).
fn any_text() -> impl Strategy<Value = String> + Clone {
    "(?s).{0,40}"
}

/// Keys for generated JSON objects: the envelope's own names often, so that
/// generated values look like frames and bodies as often as not.
fn json_key() -> impl Strategy<Value = String> + Clone {
    prop_oneof![
        2 => prop_oneof![
            Just("event"),
            Just("data"),
            Just("text"),
            Just("name"),
        ]
        .prop_map(str::to_owned),
        1 => any_text(),
        1 => "[a-z]{1,6}",
    ]
}

/// Arbitrary JSON values, nested a few levels deep.
fn json_value() -> BoxedStrategy<Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        // Non-finite floats become `null`, as serde_json would write them.
        any::<f64>().prop_map(Value::from),
        any_text().prop_map(Value::String),
        prop_oneof![Just("incr"), Just("chat"), Just("alice")]
            .prop_map(|s| Value::String(s.to_owned())),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((json_key(), inner), 0..6)
                .prop_map(|members| Value::Object(members.into_iter().collect())),
        ]
    })
    .boxed()
}

/// A few extra object members, as a client may send besides the ones that count.
fn extra_members() -> impl Strategy<Value = Map<String, Value>> {
    prop::collection::vec((json_key(), json_value()), 0..3)
        .prop_map(|members| members.into_iter().collect())
}

/// Text that sits around a length limit of `limit` characters: up to three
/// white-space characters (Unicode's, which the parsers trim) on each side of
/// `limit ± 2` characters without control characters.
fn near_limit(limit: usize) -> impl Strategy<Value = String> {
    let body = format!("\\PC{{{},{}}}", limit - 2, limit + 2);
    (
        "\\s{0,3}",
        proptest::string::string_regex(&body).expect("a valid regex"),
        "\\s{0,3}",
    )
        .prop_map(|(a, b, c)| format!("{a}{b}{c}"))
}

/// Text for a rule "1 to `limit` characters after trimming, no control
/// characters": anything, short text, text at the limit, text with one
/// control character, white space only.
fn ruled_text(limit: usize) -> BoxedStrategy<String> {
    prop_oneof![
        2 => any_text(),
        2 => "\\PC{0,8}",
        2 => near_limit(limit),
        1 => ("\\PC{0,20}", "\\p{Cc}", "\\PC{0,20}").prop_map(|(a, b, c)| format!("{a}{b}{c}")),
        1 => "\\s{0,5}",
    ]
    .boxed()
}

/// The contract's rule for chat texts and login names: trimmed of white
/// space at both ends, 1 to `limit` Unicode scalar values, no control
/// character. The accepted value is the trimmed text.
fn contract_text_rule(raw: &str, limit: usize) -> Option<String> {
    let trimmed = raw.trim();
    let chars = trimmed.chars().count();
    ((1..=limit).contains(&chars) && !trimmed.chars().any(char::is_control))
        .then(|| trimmed.to_owned())
}

/// A small deterministic generator, for choices that need no shrinking (how
/// a JSON text is spelled, the filler of a huge value).
struct Dice(u64);

impl Dice {
    fn next(&mut self) -> u64 {
        // splitmix64
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn one_in(&mut self, n: u64) -> bool {
        self.next().is_multiple_of(n)
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        let at = usize::try_from(self.next() % items.len() as u64).unwrap_or(0);
        items[at]
    }
}

/// Writes `value` as JSON text the way some client might: random JSON white
/// space between tokens and `\u` escapes (surrogate pairs included) in
/// strings and keys. The text always parses back to `value`, so a parser
/// must not care how it was spelled.
fn spell(value: &Value, seed: u64) -> String {
    fn space(dice: &mut Dice, out: &mut String) {
        while dice.one_in(4) {
            out.push(dice.pick(&[' ', '\t', '\n', '\r']));
        }
    }
    fn string(dice: &mut Dice, text: &str, out: &mut String) {
        out.push('"');
        for c in text.chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                c if u32::from(c) < 0x20 || dice.one_in(8) => {
                    let mut units = [0u16; 2];
                    for unit in c.encode_utf16(&mut units) {
                        if dice.one_in(2) {
                            out.push_str(&format!("\\u{unit:04x}"));
                        } else {
                            out.push_str(&format!("\\u{unit:04X}"));
                        }
                    }
                }
                '/' if dice.one_in(2) => out.push_str("\\/"),
                c => out.push(c),
            }
        }
        out.push('"');
    }
    fn write(dice: &mut Dice, value: &Value, out: &mut String) {
        space(dice, out);
        match value {
            Value::Object(members) => {
                out.push('{');
                for (at, (key, member)) in members.iter().enumerate() {
                    if at > 0 {
                        out.push(',');
                    }
                    space(dice, out);
                    string(dice, key, out);
                    space(dice, out);
                    out.push(':');
                    write(dice, member, out);
                }
                space(dice, out);
                out.push('}');
            }
            Value::Array(items) => {
                out.push('[');
                for (at, item) in items.iter().enumerate() {
                    if at > 0 {
                        out.push(',');
                    }
                    write(dice, item, out);
                }
                space(dice, out);
                out.push(']');
            }
            Value::String(text) => string(dice, text, out),
            other => out.push_str(&other.to_string()),
        }
        space(dice, out);
    }
    let mut out = String::new();
    write(&mut Dice(seed), value, &mut out);
    out
}

/// `value` as JSON text, spelled some way.
fn spelled(value: impl Strategy<Value = Value>) -> impl Strategy<Value = String> {
    (value, any::<u64>()).prop_map(|(value, seed)| spell(&value, seed))
}

// ---------------------------------------------------------------------------
// 1. Socket frames
// ---------------------------------------------------------------------------

/// What a frame parses to, in a form that can be compared and printed
/// (a `ChatText` can only be made by the parser under test).
#[derive(Debug, PartialEq, Eq)]
enum Answer {
    Incr,
    Chat(Result<String, FrameError>),
    Refused(FrameError),
}

fn answer_of(parsed: Result<ClientEvent, FrameError>) -> Answer {
    match parsed {
        Ok(ClientEvent::Incr) => Answer::Incr,
        Ok(ClientEvent::Chat(text)) => Answer::Chat(text.map(|t| t.as_ref().to_owned())),
        Err(error) => Answer::Refused(error),
    }
}

/// The names of an object's members, in order and with repeats (serde_json's
/// `Map` keeps only the last of repeated names).
struct MemberNames(Vec<String>);

impl<'de> Deserialize<'de> for MemberNames {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Names;
        impl<'de> Visitor<'de> for Names {
            type Value = MemberNames;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<MemberNames, A::Error> {
                let mut names = Vec::new();
                while let Some((name, IgnoredAny)) = map.next_entry::<String, IgnoredAny>()? {
                    names.push(name);
                }
                Ok(MemberNames(names))
            }
        }
        deserializer.deserialize_map(Names)
    }
}

/// The contract's answer to a text frame, worked out from the JSON value the
/// text holds, independently of the parser under test.
fn contract_answer(text: &str) -> Answer {
    let Ok(Value::Object(envelope)) = serde_json::from_str::<Value>(text) else {
        return Answer::Refused(FrameError::BadJson);
    };
    // JSON leaves repeated member names undefined; a frame that says
    // `event` (or `data`) twice is not an envelope the server can trust,
    // and is refused as bad JSON rather than guessed at.
    if let Ok(MemberNames(names)) = serde_json::from_str::<MemberNames>(text) {
        let count = |wanted: &str| names.iter().filter(|name| *name == wanted).count();
        if count("event") > 1 || count("data") > 1 {
            return Answer::Refused(FrameError::BadJson);
        }
    }
    match envelope.get("event") {
        Some(Value::String(event)) => match event.as_str() {
            "incr" => Answer::Incr,
            "chat" => Answer::Chat(
                envelope
                    .get("data")
                    .and_then(|data| data.get("text"))
                    .and_then(Value::as_str)
                    .and_then(|text| contract_text_rule(text, MAX_CHAT_CHARS))
                    .ok_or(FrameError::BadMessage),
            ),
            _ => Answer::Refused(FrameError::UnknownEvent),
        },
        _ => Answer::Refused(FrameError::BadJson),
    }
}

/// A chat `text` member: mostly strings near the rules, sometimes any JSON.
fn chat_text_member() -> impl Strategy<Value = Value> {
    prop_oneof![
        3 => ruled_text(MAX_CHAT_CHARS).prop_map(Value::String),
        1 => json_value(),
    ]
}

/// Objects shaped like frames: `event` known, unknown, not a string or
/// missing; `data` missing, any JSON, or a chat's `{"text": ...}`; extra
/// members besides.
fn envelope() -> BoxedStrategy<Value> {
    let event = prop_oneof![
        2 => prop_oneof![Just("incr"), Just("chat")].prop_map(|e| Some(Value::from(e))),
        1 => any_text().prop_map(|e| Some(Value::String(e))),
        1 => json_value().prop_map(Some),
        1 => Just(None),
    ];
    let data = prop_oneof![
        1 => Just(None),
        1 => json_value().prop_map(Some),
        2 => (chat_text_member(), extra_members()).prop_map(|(text, mut data)| {
            data.insert("text".to_owned(), text);
            Some(Value::Object(data))
        }),
    ];
    (event, data, extra_members())
        .prop_map(|(event, data, mut members)| {
            members.remove("event");
            members.remove("data");
            if let Some(event) = event {
                members.insert("event".to_owned(), event);
            }
            if let Some(data) = data {
                members.insert("data".to_owned(), data);
            }
            Value::Object(members)
        })
        .boxed()
}

/// A frame nested `opens.len()` levels deep inside `data` (arrays and
/// objects mixed), across serde_json's recursion limit of 128.
fn deep_frame() -> impl Strategy<Value = String> {
    (
        prop_oneof![Just("incr"), Just("chat")],
        prop::collection::vec(any::<bool>(), 0..300),
    )
        .prop_map(|(event, opens)| {
            let mut text = format!(r#"{{"event":"{event}","data":"#);
            for &array in &opens {
                text.push_str(if array { "[" } else { r#"{"text":"# });
            }
            text.push_str(r#""hi""#);
            for &array in opens.iter().rev() {
                text.push(if array { ']' } else { '}' });
            }
            text.push('}');
            text
        })
}

/// An object naming `event` or `data` twice.
fn repeated_member_frame() -> impl Strategy<Value = String> {
    (
        prop_oneof![Just("event"), Just("data")],
        json_value(),
        json_value(),
    )
        .prop_map(|(name, first, second)| {
            let event = if name == "data" {
                r#""event":"incr","#
            } else {
                ""
            };
            format!(r#"{{{event}"{name}":{first},"{name}":{second}}}"#)
        })
}

/// Any text a socket might receive: arbitrary strings and bytes, JSON-ish
/// punctuation soup, arbitrary JSON, frame-shaped objects (whole, cut short,
/// nested deep, with repeated members).
fn frame_text() -> impl Strategy<Value = String> {
    prop_oneof![
        2 => any_text(),
        1 => prop::collection::vec(any::<u8>(), 0..256)
            .prop_map(|bytes| String::from_utf8_lossy(&bytes).into_owned()),
        2 => r#"[ {}\[\]":,.0-9a-z\\eE+-]{0,48}"#,
        2 => spelled(json_value()),
        6 => spelled(envelope()),
        2 => (spelled(envelope()), any::<Index>()).prop_map(|(text, cut)| {
            let mut at = cut.index(text.len() + 1);
            while !text.is_char_boundary(at) {
                at -= 1;
            }
            text[..at].to_owned()
        }),
        1 => deep_frame(),
        1 => repeated_member_frame(),
    ]
}

proptest! {
    #![proptest_config(cases(1024))]

    /// The oracle property: for any text at all, the parser gives exactly
    /// the contract's answer, worked out here from the JSON value the text
    /// holds. A panic fails it too.
    #[test]
    fn every_text_frame_gets_the_answer_the_contract_gives(text in frame_text()) {
        prop_assert_eq!(answer_of(ClientEvent::parse(&text)), contract_answer(&text));
    }
}

proptest! {
    #![proptest_config(cases(256))]

    /// `{"event":"incr"}` takes any `data`, or none, and any other members.
    #[test]
    fn incr_is_accepted_whatever_its_data(
        data in proptest::option::of(json_value()),
        mut members in extra_members(),
        seed in any::<u64>(),
    ) {
        members.insert("event".to_owned(), Value::from("incr"));
        match data {
            Some(data) => members.insert("data".to_owned(), data),
            None => members.remove("data"),
        };
        let text = spell(&Value::Object(members), seed);
        prop_assert_eq!(ClientEvent::parse(&text), Ok(ClientEvent::Incr), "{}", text);
    }

    /// A chat posts the trimmed text exactly when, trimmed, it is 1 to 500
    /// Unicode scalar values without a control character; any other string
    /// is `bad_message`. `ChatText::parse`, which the frame parser uses, is
    /// held to the same rule directly.
    #[test]
    fn chat_text_is_posted_exactly_when_the_contract_allows_it(
        text in ruled_text(MAX_CHAT_CHARS),
        mut data in extra_members(),
        seed in any::<u64>(),
    ) {
        let expected = contract_text_rule(&text, MAX_CHAT_CHARS);
        prop_assert_eq!(
            ChatText::parse(&text).map(|t| t.as_ref().to_owned()),
            expected.clone()
        );
        data.insert("text".to_owned(), Value::String(text));
        let frame = serde_json::json!({"event": "chat", "data": data});
        let frame = spell(&frame, seed);
        prop_assert_eq!(
            answer_of(ClientEvent::parse(&frame)),
            Answer::Chat(expected.ok_or(FrameError::BadMessage)),
            "{}", frame
        );
    }

    /// A chat whose `data` has no string `text` (missing, not an object, or
    /// a `text` that is a number, null, an array...) is `bad_message`, not
    /// `bad_json`: the envelope itself is fine.
    #[test]
    fn chat_without_a_string_text_is_a_bad_message(
        data in prop_oneof![
            // Anything but an object with a string `text`.
            json_value().prop_map(|data| match data {
                Value::Object(mut members) if members.get("text").is_some_and(Value::is_string) => {
                    members.remove("text");
                    Value::Object(members)
                }
                other => other,
            }),
            // An object whose `text` is not a string.
            (json_value(), extra_members()).prop_map(|(text, mut members)| {
                let text = if text.is_string() { Value::Array(vec![text]) } else { text };
                members.insert("text".to_owned(), text);
                Value::Object(members)
            }),
        ],
        with_data in any::<bool>(),
        seed in any::<u64>(),
    ) {
        let mut frame = serde_json::json!({"event": "chat"});
        if with_data {
            frame["data"] = data;
        }
        let frame = spell(&frame, seed);
        prop_assert_eq!(
            ClientEvent::parse(&frame),
            Ok(ClientEvent::Chat(Err(FrameError::BadMessage))),
            "{}", frame
        );
    }

    /// An object with a string `event` the server does not know is
    /// `unknown_event`, whatever else it holds; events match exactly (no
    /// case folding, no trimming).
    #[test]
    fn unknown_string_events_are_unknown_events(
        event in prop_oneof![
            3 => any_text(),
            1 => prop_oneof![
                Just("Incr"), Just("INCR"), Just(" incr"), Just("incr "), Just("chat\u{0}"),
                Just("Chat"), Just("incr\n"), Just("\u{feff}chat"), Just(""),
            ].prop_map(str::to_owned),
        ],
        data in proptest::option::of(json_value()),
        mut members in extra_members(),
        seed in any::<u64>(),
    ) {
        // The two known events have their own properties.
        let event = if event == "incr" || event == "chat" { format!("{event}!") } else { event };
        members.insert("event".to_owned(), Value::String(event));
        match data {
            Some(data) => members.insert("data".to_owned(), data),
            None => members.remove("data"),
        };
        let frame = spell(&Value::Object(members), seed);
        prop_assert_eq!(ClientEvent::parse(&frame), Err(FrameError::UnknownEvent), "{}", frame);
    }

    /// JSON that is not an object with a string `event` — any other value,
    /// an array such as `["incr"]`, an object without `event` or with one
    /// that is not a string — is `bad_json`.
    #[test]
    fn json_that_is_not_an_object_with_a_string_event_is_bad_json(
        value in prop_oneof![
            // Not an object: objects are wrapped in an array.
            json_value().prop_map(|value| match value {
                Value::Object(_) => Value::Array(vec![value]),
                other => other,
            }),
            // An object whose `event` is missing or not a string.
            (proptest::option::of(json_value()), extra_members()).prop_map(|(event, mut members)| {
                members.remove("event");
                if let Some(event) = event {
                    let event = if event.is_string() { Value::Array(vec![event]) } else { event };
                    members.insert("event".to_owned(), event);
                }
                Value::Object(members)
            }),
            // What serde would also read into a struct: the fields as a list.
            prop_oneof![Just("incr"), Just("chat")].prop_map(|e| serde_json::json!([e])),
        ],
        seed in any::<u64>(),
    ) {
        let frame = spell(&value, seed);
        prop_assert_eq!(ClientEvent::parse(&frame), Err(FrameError::BadJson), "{}", frame);
    }

    /// However deep the nesting, the parser answers (at most it refuses the
    /// frame as `bad_json` past serde_json's recursion limit) instead of
    /// overflowing the stack.
    #[test]
    fn deeply_nested_frames_are_answered_without_overflowing_the_stack(text in deep_frame()) {
        prop_assert_eq!(answer_of(ClientEvent::parse(&text)), contract_answer(&text));
    }
}

// ---------------------------------------------------------------------------
// 2. Login names and the `POST /login` body
// ---------------------------------------------------------------------------

proptest! {
    #![proptest_config(cases(512))]

    /// A name is accepted, trimmed, exactly when it is 1 to 32 characters
    /// after trimming, without control characters; a refusal says why.
    #[test]
    fn names_are_accepted_exactly_when_the_contract_allows_them(name in ruled_text(MAX_NAME_CHARS)) {
        match (DisplayName::parse(&name), contract_text_rule(&name, MAX_NAME_CHARS)) {
            (Ok(parsed), Some(expected)) => prop_assert_eq!(parsed.as_ref(), expected.as_str()),
            (Err(why), None) => prop_assert!(!why.trim().is_empty(), "an empty reason"),
            (parsed, expected) => prop_assert!(
                false,
                "DisplayName::parse gave {:?}, the contract says {:?}",
                parsed,
                expected
            ),
        }
    }
}

/// The app's JSON body limit (`routes::json_config`). The contract names no
/// body limit; a bigger body is refused as a bad body (400), which is what
/// the contract says of every body it does not accept.
const BODY_LIMIT: usize = 4096;

/// A `POST /login` body. Its `Debug` shows the text (lossily) rather than
/// a list of byte values, so a failing case reads as what was sent.
#[derive(Clone)]
struct Body(Vec<u8>);

impl std::fmt::Debug for Body {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Body({} bytes: {:?})",
            self.0.len(),
            String::from_utf8_lossy(&self.0)
        )
    }
}

/// A `name` member: mostly strings near the rules, sometimes any JSON.
fn name_member() -> impl Strategy<Value = Value> {
    prop_oneof![
        3 => ruled_text(MAX_NAME_CHARS).prop_map(Value::String),
        1 => json_value(),
    ]
}

/// Bodies a client might send: objects with a `name` (valid or not, any
/// type, with extra members), arbitrary JSON, arrays of names, arbitrary
/// bytes, huge names, and valid objects padded to around the body limit.
fn login_body() -> impl Strategy<Value = Body> {
    prop_oneof![
        4 => spelled((name_member(), extra_members()).prop_map(|(name, mut members)| {
            members.insert("name".to_owned(), name);
            Value::Object(members)
        }))
        .prop_map(|text| Body(text.into_bytes())),
        1 => spelled(json_value()).prop_map(|text| Body(text.into_bytes())),
        1 => prop::collection::vec(name_member(), 0..3)
            .prop_map(|names| Body(Value::Array(names).to_string().into_bytes())),
        1 => prop::collection::vec(any::<u8>(), 0..128).prop_map(Body),
        1 => (0usize..16 * 1024, "\\PC").prop_map(|(len, c)| {
            Body(serde_json::json!({"name": c.repeat(len)}).to_string().into_bytes())
        }),
        1 => (BODY_LIMIT - 8..=BODY_LIMIT + 8).prop_map(|len| {
            let body = r#"{"name":"alice"}"#;
            Body(format!("{}{body}", " ".repeat(len - body.len())).into_bytes())
        }),
    ]
}

/// The contract's answer to a login body: 204 for a JSON object whose
/// `name` is a string the name rule accepts (within the body limit), else 400.
fn contract_login_status(body: &[u8]) -> u16 {
    if body.len() > BODY_LIMIT {
        return 400;
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(members)) => match members.get("name") {
            Some(Value::String(name)) if contract_text_rule(name, MAX_NAME_CHARS).is_some() => 204,
            _ => 400,
        },
        _ => 400,
    }
}

/// The real application on its own thread (its own actix system), and a
/// runtime for the HTTP client, shared by all cases of a property.
struct LiveApp {
    login_url: String,
    runtime: tokio::runtime::Runtime,
    client: reqwest::Client,
}

impl LiveApp {
    fn start() -> Self {
        let config = Config::from_lookup(|name| match name {
            "PORT" => Some("0".to_owned()),
            "SESSION_SECRET" => Some("property-tests-secret-".repeat(4)),
            _ => None,
        })
        .expect("the test configuration is valid");
        let (port_tx, port_rx) = mpsc::channel();
        // The server outlives the test function; the process (one per test
        // under nextest) ends it.
        thread::spawn(move || {
            actix_web::rt::System::new().block_on(async move {
                let app = Application::build(config)
                    .await
                    .expect("the application starts");
                port_tx
                    .send(app.port())
                    .expect("the test waits for the port");
                app.run_until_stopped().await
            })
        });
        let port = port_rx
            .recv_timeout(Duration::from_secs(30))
            .expect("the application reports its port");
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime for the client");
        let client = runtime.block_on(async {
            reqwest::Client::builder()
                // No cookie store: each case is a new visitor, so no case
                // depends on what an earlier one did to its session.
                .timeout(Duration::from_secs(10))
                .build()
                .expect("an HTTP client")
        });
        Self {
            login_url: format!("http://127.0.0.1:{port}/login"),
            runtime,
            client,
        }
    }

    /// `POST /login` with `body` as JSON: the status, the JSON body (if
    /// any) and whether a session cookie was set.
    fn login(&self, body: &[u8]) -> (u16, Option<Value>, bool) {
        self.runtime.block_on(async {
            let response = self
                .client
                .post(&self.login_url)
                .header("content-type", "application/json")
                .body(body.to_vec())
                .send()
                .await
                .expect("the app answers");
            let status = response.status().as_u16();
            let sets_cookie = response
                .headers()
                .get_all(reqwest::header::SET_COOKIE)
                .iter()
                .any(|value| value.as_bytes().starts_with(COOKIE_NAME.as_bytes()));
            let bytes = response.bytes().await.expect("the whole answer");
            (status, serde_json::from_slice(&bytes).ok(), sets_cookie)
        })
    }
}

/// Through the real route, served by the real application: 204 (with a
/// session cookie) exactly for a JSON object with a valid string `name`,
/// else 400 with JSON `{"error": "<string>"}`; never anything else, never 5xx.
///
/// Each case is a real HTTP round trip through the whole app (about a
/// millisecond, against microseconds for the pure parsers), so by default
/// this property runs fewer cases than the others; `PROPTEST_CASES` raises
/// it like the rest. It uses its own runner rather than `proptest!` so that
/// one app and one client serve every case.
#[test]
fn login_answers_204_for_exactly_the_valid_bodies_and_400_json_otherwise() {
    let app = LiveApp::start();
    let started = Instant::now();
    let mut runner = TestRunner::new(cases(192));
    let total = runner.config().cases;
    // How many bodies were accepted: a property that only ever saw 400s
    // would prove little about the 204 side.
    let accepted = std::cell::Cell::new(0u32);
    let result = runner.run(&login_body(), |Body(body)| {
        let expected = contract_login_status(&body);
        let (status, answer, sets_cookie) = app.login(&body);
        prop_assert_eq!(status, expected, "answer: {:?}", answer);
        if status == 204 {
            accepted.set(accepted.get() + 1);
            prop_assert!(sets_cookie, "a login sets the session cookie");
        } else {
            let error = answer.as_ref().and_then(|a| a.get("error"));
            prop_assert!(
                error.is_some_and(Value::is_string),
                "a 400 carries JSON {{\"error\": \"...\"}}, got {:?}",
                answer
            );
        }
        Ok(())
    });
    if let Err(failure) = result {
        panic!("{failure}");
    }
    // Shown with `--no-capture`: how many round trips ran and how fast.
    println!(
        "{total} login cases ({} accepted) in {:?}",
        accepted.get(),
        started.elapsed()
    );
}

// ---------------------------------------------------------------------------
// 3. The session cookie
// ---------------------------------------------------------------------------

/// The session key a request with these `Cookie` header values carries, as
/// the app decodes it.
fn session_in(cookie: &SessionCookie, headers: Vec<HeaderValue>) -> Option<String> {
    let mut request = TestRequest::default();
    for value in headers {
        request = request.append_header((header::COOKIE, value));
    }
    cookie
        .session_id(&request.to_http_request())
        .map(|id| id.as_str().to_owned())
}

fn cookie_header(value: &[u8]) -> HeaderValue {
    let mut header = format!("{COOKIE_NAME}=").into_bytes();
    header.extend_from_slice(value);
    HeaderValue::from_bytes(&header).expect("a valid header value")
}

/// The value of the `Set-Cookie` that `SessionCookie::set` writes for `id`.
fn sealed(cookie: &SessionCookie, id: &str) -> String {
    let mut response = HttpResponse::NoContent().finish();
    cookie
        .set(&mut response, &SessionId::from_stored(id.to_owned()))
        .expect("the cookie is set");
    let set_cookie = response
        .headers()
        .get(header::SET_COOKIE)
        .expect("a Set-Cookie header")
        .to_str()
        .expect("an ASCII Set-Cookie");
    Cookie::parse(set_cookie.to_owned())
        .expect("a well-formed Set-Cookie")
        .value()
        .to_owned()
}

/// 64 bytes of key material (a `Key` has no `Debug`, so cases hold bytes).
fn key_bytes() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>(), 64)
}

fn session_cookie(key: &[u8]) -> SessionCookie {
    SessionCookie::new(Key::from(key), false)
}

/// Session keys: the app's own shape (64 alphanumerics) mostly, and any
/// text, since the cookie must carry whatever key the store uses.
fn session_key() -> impl Strategy<Value = String> {
    prop_oneof![3 => "[A-Za-z0-9]{64}", 1 => any_text()]
}

/// Whether a byte may stand in a header value (what an HTTP parser lets
/// through to the app: visible ASCII, space, tab and obs-text).
fn header_byte(byte: u8) -> bool {
    byte == b'\t' || (0x20..0x7f).contains(&byte) || byte >= 0x80
}

/// `len` bytes (up to 16 KiB) from `alphabet`, filled from `seed`: huge
/// values without a value tree per byte.
fn filler(alphabet: &'static [u8]) -> impl Strategy<Value = String> {
    (0usize..=16 * 1024, any::<u64>()).prop_map(move |(len, seed)| {
        let mut dice = Dice(seed);
        (0..len).map(|_| char::from(dice.pick(alphabet))).collect()
    })
}

const BASE64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=";
const VISIBLE: &[u8] =
    b" !\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~";

/// Another cookie a browser may send beside ours: well-formed with another
/// name, or junk that is no cookie at all (no `=`).
fn neighbour_cookie() -> impl Strategy<Value = String> {
    prop_oneof![
        ("[A-Za-z0-9_.!#$&'*+^`|~-]{1,12}", "[ -:<-~]{0,30}").prop_map(|(name, value)| {
            let name = if name == COOKIE_NAME {
                format!("{name}_")
            } else {
                name
            };
            format!("{name}={value}")
        }),
        "[ -<>-~]{0,30}",
    ]
}

proptest! {
    #![proptest_config(cases(256))]

    /// The cookie `set` writes for a key hands back exactly that key.
    #[test]
    fn the_cookie_set_for_a_session_names_that_session(key in key_bytes(), id in session_key()) {
        let cookie = session_cookie(&key);
        let value = sealed(&cookie, &id);
        prop_assert_eq!(session_in(&cookie, vec![cookie_header(value.as_bytes())]), Some(id));
    }

    /// A real cookie with bits flipped is no session. Flips that would make
    /// a byte no HTTP parser lets through are moved to another bit of the
    /// same byte; flipping bit 7 makes the header non-UTF-8, which must be
    /// no session too. (Flips that cancel out leave the real cookie.)
    #[test]
    fn a_cookie_with_flipped_bits_is_no_session(
        key in key_bytes(),
        id in session_key(),
        flips in prop::collection::vec((any::<Index>(), 0u32..8), 1..=4),
    ) {
        let cookie = session_cookie(&key);
        let real = sealed(&cookie, &id).into_bytes();
        let mut tampered = real.clone();
        for (at, bit) in flips {
            let at = at.index(tampered.len());
            let byte = tampered[at];
            let flipped = (0..8)
                .map(|step| byte ^ (1 << ((bit + step) % 8)))
                .find(|&flipped| header_byte(flipped))
                .expect("flipping bit 7 always gives a header byte");
            tampered[at] = flipped;
        }
        let expected = (tampered == real).then_some(id);
        prop_assert_eq!(session_in(&cookie, vec![cookie_header(&tampered)]), expected);
    }

    /// A real cookie cut short (down to empty) is no session.
    #[test]
    fn a_truncated_cookie_is_no_session(key in key_bytes(), id in session_key(), cut in any::<Index>()) {
        let cookie = session_cookie(&key);
        let real = sealed(&cookie, &id);
        let cut = cut.index(real.len());
        prop_assert_eq!(session_in(&cookie, vec![cookie_header(&real.as_bytes()[..cut])]), None);
    }

    /// A cookie sealed with another key (another deployment's secret) is no
    /// session.
    #[test]
    fn a_cookie_sealed_with_another_key_is_no_session(
        key in key_bytes(),
        other in key_bytes(),
        id in session_key(),
    ) {
        prop_assume!(key != other);
        let value = sealed(&session_cookie(&other), &id);
        prop_assert_eq!(session_in(&session_cookie(&key), vec![cookie_header(value.as_bytes())]), None);
    }

    /// Random base64 and random visible text, up to 16 KiB, as the session
    /// cookie's value: no session, no panic.
    #[test]
    fn random_and_huge_cookie_values_are_no_session(
        key in key_bytes(),
        value in prop_oneof![
            2 => "[A-Za-z0-9+/]{0,64}={0,2}",
            1 => filler(BASE64),
            1 => filler(VISIBLE),
        ],
    ) {
        prop_assert_eq!(session_in(&session_cookie(&key), vec![cookie_header(value.as_bytes())]), None);
    }

    /// The real cookie is found among other cookies, well-formed or junk,
    /// before and after it, in one `Cookie` header or spread over several
    /// (as HTTP/2 clients send them).
    #[test]
    fn the_session_cookie_is_found_among_other_cookies(
        key in key_bytes(),
        id in session_key(),
        before in prop::collection::vec(neighbour_cookie(), 0..4),
        after in prop::collection::vec(neighbour_cookie(), 0..4),
        split in any::<bool>(),
    ) {
        let cookie = session_cookie(&key);
        let ours = format!("{COOKIE_NAME}={}", sealed(&cookie, &id));
        let all: Vec<String> = before.into_iter().chain([ours]).chain(after).collect();
        let headers = if split {
            all.iter()
                .map(|one| HeaderValue::from_str(one).expect("a valid header value"))
                .collect()
        } else {
            vec![HeaderValue::from_str(&all.join("; ")).expect("a valid header value")]
        };
        prop_assert_eq!(session_in(&cookie, headers), Some(id));
    }

    /// Any `Cookie` headers at all (any bytes an HTTP parser lets through,
    /// with or without a `session=` in front, several headers, up to 16 KiB)
    /// are no session and no panic: nothing random opens a session.
    #[test]
    fn arbitrary_cookie_headers_are_no_session(
        key in key_bytes(),
        headers in prop::collection::vec(
            prop_oneof![
                2 => prop::collection::vec(any::<u8>(), 0..256),
                1 => prop::collection::vec(any::<u8>(), 0..256).prop_map(|bytes| {
                    let mut header = format!("{COOKIE_NAME}=").into_bytes();
                    header.extend(bytes);
                    header
                }),
                1 => filler(VISIBLE).prop_map(String::into_bytes),
            ],
            1..4,
        ),
    ) {
        let headers = headers
            .into_iter()
            .map(|bytes| {
                // Bytes no HTTP parser lets through are moved to visible ones.
                let bytes: Vec<u8> = bytes
                    .into_iter()
                    .map(|b| if header_byte(b) { b } else { b ^ 0x40 })
                    .collect();
                HeaderValue::from_bytes(&bytes).expect("a valid header value")
            })
            .collect();
        prop_assert_eq!(session_in(&session_cookie(&key), headers), None);
    }
}

// ---------------------------------------------------------------------------
// 4. Configuration
// ---------------------------------------------------------------------------

/// Every variable of the contract's table.
use session_bridge::config::VARIABLES as VARS;

/// The numeric variables and the values they accept. The ranges are the
/// contract's; it gives none for `PORT` (a TCP port: 0 to 65535) and the two
/// second counts, whose range is the one `src/config/kinds.rs` documents (a whole
/// number of seconds, at least 1, at most `u32::MAX`).
const NUMERIC: [(&str, u64, u64); 11] = [
    ("PORT", 0, 65_535),
    ("SESSION_TTL_SECS", 1, u32::MAX as u64),
    ("SESSION_RELOAD_INTERVAL_SECS", 1, u32::MAX as u64),
    ("CHAT_HISTORY", 0, 1_000),
    ("PRESENCE_GRACE_SECS", 0, 300),
    ("INSTANCE_TTL_SECS", 3, 3_600),
    ("PRESENCE_BATCH_MS", 0, 5_000),
    ("MAX_SOCKETS_PER_SESSION", 1, 10_000),
    ("MAX_SESSIONS", 100, 100_000_000),
    ("SOCKET_QUEUE_BYTES", 65_536, 67_108_864),
    ("CHAT_RATE", 1, 10_000),
];

/// The value the parsed configuration holds for a numeric variable.
fn numeric_field(config: &Config, var: &str) -> u64 {
    let wide = |n: usize| u64::try_from(n).expect("usize fits u64");
    match var {
        "PORT" => u64::from(config.port),
        "SESSION_TTL_SECS" => config.session_ttl.as_secs(),
        "SESSION_RELOAD_INTERVAL_SECS" => config.reload_interval.as_secs(),
        "CHAT_HISTORY" => wide(config.chat_history),
        "PRESENCE_GRACE_SECS" => config.presence_grace.as_secs(),
        "INSTANCE_TTL_SECS" => config.instance_ttl.as_secs(),
        "PRESENCE_BATCH_MS" => u64::try_from(config.presence_batch.as_millis()).expect("small"),
        "MAX_SOCKETS_PER_SESSION" => wide(config.max_sockets_per_session),
        "MAX_SESSIONS" => wide(config.max_sessions),
        "SOCKET_QUEUE_BYTES" => wide(config.socket_queue_bytes),
        "CHAT_RATE" => u64::from(config.chat_rate),
        other => unreachable!("{other} is not numeric"),
    }
}

/// A value an operator might well mean for `var`, so that generated
/// environments get past the first variables often enough to test the rest.
fn plausible(var: &'static str) -> BoxedStrategy<String> {
    let one_of = |values: &'static [&'static str]| {
        proptest::sample::select(values)
            .prop_map(str::to_owned)
            .boxed()
    };
    if let Some(&(_, low, high)) = NUMERIC.iter().find(|(name, _, _)| *name == var) {
        return (low..=high).prop_map(|n| n.to_string()).boxed();
    }
    match var {
        "HOST" => one_of(&["127.0.0.1", "0.0.0.0", "::1", "::"]),
        "SESSION_SECRET" => "[ -~]{64,80}".boxed(),
        "REDIS_URL" => one_of(&[
            "redis://127.0.0.1:6379/0",
            "redis://:password@localhost/1",
            "rediss://example.com:6380",
            "unix:///tmp/redis.sock",
        ]),
        "SOCKET_AUTH" => one_of(&["session", "login"]),
        "ALLOWED_ORIGINS" => one_of(&[
            "http://localhost:4200",
            "http://localhost:4200, HTTPS://Example.com",
            "https://[::1]:8443,",
        ]),
        "COOKIE_SECURE" => one_of(&["true", "false", "1", "0", "yes", "no", "TRUE"]),
        "RUST_LOG" => one_of(&[
            "info",
            "debug,actix_web=warn",
            "session_bridge=trace",
            "off",
        ]),
        "REDIS_KEY_PREFIX" => "[a-z:-]{1,12}".boxed(),
        other => unreachable!("no plausible value for {other}"),
    }
}

/// An environment: the value of each variable, if set. Its `Debug` lists
/// only the variables that are set, so a failing case reads like a shell line.
#[derive(Clone)]
struct Env(Vec<(&'static str, Option<String>)>);

impl std::fmt::Debug for Env {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut set = f.debug_map();
        for (var, value) in &self.0 {
            if let Some(value) = value {
                set.entry(var, value);
            }
        }
        set.finish()
    }
}

/// An environment: each variable unset, plausible, arbitrary text, or
/// number-like text.
fn environment() -> impl Strategy<Value = Env> {
    VARS.iter()
        .map(|&var| {
            prop_oneof![
                3 => Just(None),
                3 => plausible(var).prop_map(Some),
                1 => any_text().prop_map(Some),
                1 => "[ \t]{0,2}[+-]?[0-9]{1,22}[ \t]{0,2}".prop_map(Some),
            ]
            .prop_map(move |value| (var, value))
        })
        .collect::<Vec<_>>()
        .prop_map(Env)
}

/// The configuration from `env`; an error as the variable it blames and its
/// `Display` (what `main` prints).
fn configure(env: &Env) -> Result<Config, (&'static str, String)> {
    Config::from_lookup(|name| {
        env.0
            .iter()
            .find(|(var, _)| *var == name)
            .and_then(|(_, value)| value.clone())
    })
    .map_err(|err| (err.var, err.to_string()))
}

proptest! {
    #![proptest_config(cases(512))]

    /// Any values for every variable: the configuration parses, or the
    /// error names (in its `Display`) a variable that is set — or
    /// `SESSION_SECRET` when `REDIS_URL` is set without it.
    #[test]
    fn any_environment_configures_or_names_a_variable_that_is_set(env in environment()) {
        if let Err((var, message)) = configure(&env) {
            prop_assert!(VARS.contains(&var), "unknown variable {}", var);
            prop_assert!(message.contains(var), "{:?} does not name {}", message, var);
            let set = |name: &str| {
                env.0.iter().any(|(v, value)| *v == name && value.as_ref().is_some_and(|x| !x.trim().is_empty()))
            };
            prop_assert!(
                set(var) || (var == "SESSION_SECRET" && set("REDIS_URL")),
                "{} is blamed but unset: {:?}", var, message
            );
        }
    }

    /// A bad value is "one clear line" (contract): the message has no line
    /// break, whatever the operator typed.
    #[test]
    fn configuration_errors_are_one_line(env in environment()) {
        if let Err((_, message)) = configure(&env) {
            prop_assert!(!message.contains(['\n', '\r']), "{:?}", message);
        }
    }

    /// Each numeric variable accepts exactly the whole numbers of its range
    /// (and the configuration then holds that number); a number outside it,
    /// a negative or overflowing number, or text that is no number is an
    /// error naming the variable.
    #[test]
    fn numeric_variables_accept_exactly_their_range(
        (var, value, expected) in proptest::sample::select(NUMERIC.to_vec()).prop_flat_map(|(var, low, high)| {
            let number = prop_oneof![
                4 => low..=high,
                1 => Just(low),
                1 => Just(high),
                1 => Just(low.saturating_sub(1)),
                1 => Just(high + 1),
                1 => (high + 1)..=u64::MAX,
                1 => 0..low.max(1),
            ]
            .prop_map(move |n| (n.to_string(), (low..=high).contains(&n).then_some(n)));
            let bad = prop_oneof![
                "[1-9][0-9]{20,29}",
                "-[0-9]{1,6}",
                "[0-9]{0,3}[a-zA-Z.,_:/-][ -~]{0,6}",
                "[0-9]{1,3}\\.[0-9]{1,3}",
                "[0-9]e[0-9]",
            ]
            .prop_map(|text| (text, None));
            (Just(var), prop_oneof![3 => number, 1 => bad])
                .prop_map(|(var, (value, expected))| (var, value, expected))
        }),
    ) {
        let env = Env(vec![(var, Some(value.clone()))]);
        match (configure(&env), expected) {
            (Ok(config), Some(n)) => prop_assert_eq!(numeric_field(&config, var), n),
            (Err((blamed, message)), None) => {
                prop_assert_eq!(blamed, var);
                prop_assert!(message.contains(var), "{:?} does not name {}", message, var);
            }
            (Ok(config), None) => prop_assert!(
                false,
                "{}={:?} was accepted as {}",
                var,
                value,
                numeric_field(&config, var)
            ),
            (Err((_, message)), Some(_)) => prop_assert!(false, "{}={:?} was refused: {}", var, value, message),
        }
    }
}
