//! What a variable declaration is: a [`Var`] holds a variable's name, its
//! default, the [`Kind`] of value it accepts and what it means. Reading the
//! variable, the error that names it and its row of the README's table all
//! come from that one declaration.

use super::error::ConfigError;

/// A kind of value, such as a whole number in a range: how a set value is
/// parsed into its type, and how the values it accepts are described.
pub trait Kind {
    /// What a value becomes once parsed.
    type Value;

    /// The values accepted, for a human: the README's "accepts" column, and
    /// the words after "expected" in most errors.
    fn accepts(&self) -> String;

    /// Parses a value that is set; the error says what is wrong, for a human.
    fn parse(&self, value: &str) -> Result<Self::Value, String>;

    /// The usual problem: "expected (what is accepted), got (the value)".
    fn expected(&self, value: &str) -> String {
        format!("expected {}, got {value:?}", self.accepts())
    }
}

/// The default of a variable that has one: the text it holds when unset,
/// parsed like a set value (so a default can never disagree with the kind).
pub struct Text(pub &'static str);

/// The default of a variable that has none: what leaving it unset means.
pub struct Unset(pub &'static str);

/// One environment variable, declared once.
pub struct Var<K, D = Text> {
    /// The variable's name in the environment.
    pub name: &'static str,
    /// What it accepts.
    pub kind: K,
    /// Its value when unset ([`Text`]), or what being unset means ([`Unset`]).
    pub default: D,
    /// What it is for, as the README's table says.
    pub meaning: &'static str,
}

/// The environment as the configuration reads it: an empty (or all white
/// space) value counts as unset.
pub struct Env<'a>(pub &'a dyn Fn(&str) -> Option<String>);

impl Env<'_> {
    fn get(&self, name: &str) -> Option<String> {
        (self.0)(name).filter(|value| !value.trim().is_empty())
    }
}

impl<K: Kind, D> Var<K, D> {
    /// Parses a value of this variable; an error names it.
    fn parse(&self, value: &str) -> Result<K::Value, ConfigError> {
        self.kind.parse(value).map_err(|problem| ConfigError {
            var: self.name,
            problem,
        })
    }
}

impl<K: Kind> Var<K> {
    /// The variable's value from `env`, or its default's when unset.
    pub fn read(&self, env: &Env) -> Result<K::Value, ConfigError> {
        match env.get(self.name) {
            Some(value) => self.parse(&value),
            None => self.parse(self.default.0),
        }
    }
}

impl<K: Kind> Var<K, Unset> {
    /// The variable's value from `env`, or `None` when unset.
    pub fn read(&self, env: &Env) -> Result<Option<K::Value>, ConfigError> {
        env.get(self.name)
            .map(|value| self.parse(&value))
            .transpose()
    }
}

/// A declared variable, whatever its kind: what the list of all of them
/// ([`super::vars::ALL`]) and the README's table need.
pub trait Declared: Sync {
    /// The variable's name in the environment.
    fn name(&self) -> &'static str;
    /// Its row of the README's table.
    fn row(&self) -> String;
}

/// How a default reads in the README's table.
pub trait ShownDefault {
    /// The table's "default" cell.
    fn shown(&self) -> String;
}

impl ShownDefault for Text {
    fn shown(&self) -> String {
        format!("`{}`", self.0)
    }
}

impl ShownDefault for Unset {
    fn shown(&self) -> String {
        self.0.to_owned()
    }
}

impl<K: Kind + Sync, D: ShownDefault + Sync> Declared for Var<K, D> {
    fn name(&self) -> &'static str {
        self.name
    }

    fn row(&self) -> String {
        format!(
            "| `{}` | {} | {} | {} |",
            self.name,
            self.default.shown(),
            self.kind.accepts(),
            self.meaning
        )
    }
}

/// The head of the README's table, the two lines above the rows.
pub const TABLE_HEAD: &str = "| variable | default | accepts | meaning |\n|---|---|---|---|";
