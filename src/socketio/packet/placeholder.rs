//! Attachment placeholders: `{"_placeholder":true,"num":N}` in a binary
//! packet's JSON stands for its attachment N. Checked when a header is
//! read, written when a binary packet is built.

use serde_json::{value::RawValue, Value};

use super::limits::PacketError;

/// Checks that every placeholder in `data` (an object whose `_placeholder`
/// is `true`) has an integer `num` below `attachments`, as
/// socket.io-parser's `reconstructPacket` requires. Other objects, however
/// placeholder-like, are the client's data.
pub fn check_placeholders(data: Option<&RawValue>, attachments: usize) -> Result<(), PacketError> {
    let Some(data) = data else {
        return Ok(());
    };
    // serde_json's depth limit (128) bounds the parse; the walk has a
    // stack of its own.
    let value: Value = serde_json::from_str(data.get()).map_err(|_| PacketError::Json)?;
    let mut stack = vec![&value];
    while let Some(value) = stack.pop() {
        match value {
            Value::Array(items) => stack.extend(items),
            Value::Object(map) if map.get("_placeholder") == Some(&Value::Bool(true)) => {
                let num = map.get("num").and_then(Value::as_u64);
                if num.is_none_or(|num| num >= attachments as u64) {
                    return Err(PacketError::Placeholder);
                }
            }
            Value::Object(map) => stack.extend(map.values()),
            _ => {}
        }
    }
    Ok(())
}

/// The placeholder of attachment `num`, exactly as socket.io-parser writes
/// it, for building the JSON of a binary packet.
pub fn placeholder(num: usize) -> Box<RawValue> {
    let text = format!(r#"{{"_placeholder":true,"num":{num}}}"#);
    // Always valid JSON.
    RawValue::from_string(text).unwrap_or_default()
}
