//! The lobby's chat, as the protocol carries it: the text a client may post
//! (parsed once, at the edge) and the message every socket receives.

use serde::{Deserialize, Serialize};

/// The longest message, in Unicode scalar values, after trimming.
pub const MAX_CHAT_CHARS: usize = 500;

/// Text a client may post: trimmed, 1 to [`MAX_CHAT_CHARS`] characters, no
/// control characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatText(String);

impl ChatText {
    /// Parses the `text` a client sent; `None` when it breaks a rule.
    pub fn parse(text: &str) -> Option<Self> {
        let text = text.trim();
        let chars = text.chars().count();
        let fits = (1..=MAX_CHAT_CHARS).contains(&chars);
        (fits && !text.chars().any(char::is_control)).then(|| Self(text.to_owned()))
    }
}

impl AsRef<str> for ChatText {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// A lobby message, as every socket receives it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatMessage {
    /// Unique among all messages.
    pub id: String,
    /// The sender's login name, from its session.
    pub name: String,
    /// What was said.
    pub text: String,
    /// When the server accepted it, in ms since the Unix epoch.
    pub at: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chat_text_is_trimmed_and_bounded() {
        assert_eq!(ChatText::parse("  hi \n").map(|t| t.0), Some("hi".into()));
        let longest = "é".repeat(MAX_CHAT_CHARS);
        assert!(ChatText::parse(&longest).is_some());
        for bad in [
            "",
            "   ",
            "a\u{7}b",
            "a\nb",
            &"x".repeat(MAX_CHAT_CHARS + 1),
        ] {
            assert_eq!(ChatText::parse(bad), None, "{bad:?}");
        }
    }
}
