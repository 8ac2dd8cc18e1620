//! [`ConfigError`]: a variable set to something the app cannot use, said in
//! one line that names it.

use std::fmt;

/// A variable that is set to something we cannot use.
#[derive(Debug, PartialEq, Eq)]
pub struct ConfigError {
    /// The environment variable at fault.
    pub var: &'static str,
    /// What is wrong with it, for a human.
    pub problem: String,
}

impl fmt::Display for ConfigError {
    /// One line, whatever the problem's text holds (values are quoted with
    /// `{:?}`; a library's multi-line message is folded).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: ", self.var)?;
        let mut words = self
            .problem
            .split(['\n', '\r'])
            .map(str::trim)
            .filter(|w| !w.is_empty());
        if let Some(first) = words.next() {
            f.write_str(first)?;
        }
        words.try_for_each(|rest| write!(f, " {rest}"))
    }
}

impl std::error::Error for ConfigError {}
