//! The README's tour of the source tree: the fenced block under
//! `## A tour of the source tree`, read by the format in main.rs's `//!`.

/// The heading the tour sits under.
pub const HEADING: &str = "## A tour of the source tree";

/// One line of the tour naming a file or folder under `src/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Under `src/`: `store/redis/link.rs`, or `store/` for a folder.
    pub path: String,
    /// Its line in the README (from 1).
    pub line: usize,
    /// The `<why>` of a `[long: <why>]` in its description.
    pub long: Option<String>,
}

/// The entries under `src/`, or every line the parser could not read.
pub fn parse(readme: &str) -> Result<Vec<Entry>, Vec<String>> {
    let lines: Vec<&str> = readme.lines().collect();
    let Some(heading) = lines.iter().position(|l| l.trim_end() == HEADING) else {
        return Err(vec![format!("README.md has no `{HEADING}` heading")]);
    };
    let fence = |from: usize| (from..lines.len()).find(|&n| lines[n].starts_with("```"));
    let (Some(open), Some(close)) = (
        fence(heading + 1),
        fence(heading + 1).and_then(|n| fence(n + 1)),
    ) else {
        return Err(vec![format!(
            "README.md: no fenced block (```) under `{HEADING}`"
        )]);
    };
    let mut parser = Parser::default();
    for (n, line) in lines.iter().enumerate().take(close).skip(open + 1) {
        parser.line(n + 1, line);
    }
    let Parser {
        entries,
        mut errors,
        saw_src,
        ..
    } = parser;
    if !saw_src {
        errors.push(format!(
            "README.md:{}: the tour has no `src/` line at the left margin",
            open + 1
        ));
    }
    let mut described = Vec::new();
    for (entry, description) in entries {
        match long_marker(&description) {
            Ok(long) => described.push(Entry { long, ..entry }),
            Err(why) => errors.push(format!("README.md:{}: `{}`: {why}", entry.line, entry.path)),
        }
    }
    if errors.is_empty() {
        Ok(described)
    } else {
        Err(errors)
    }
}

/// `[long: <why>]` → `Some(why)`; a marker without a reason is an error.
fn long_marker(description: &str) -> Result<Option<String>, String> {
    let Some(start) = description.find("[long:") else {
        return Ok(None);
    };
    let rest = &description[start + "[long:".len()..];
    match rest.find(']').map(|end| rest[..end].trim()) {
        Some(why) if !why.is_empty() => Ok(Some(why.to_string())),
        _ => Err("write the marker as `[long: <why it stays over 400 lines>]`".into()),
    }
}

#[derive(Default)]
struct Parser {
    /// Each entry with its description (continuation lines joined).
    entries: Vec<(Entry, String)>,
    errors: Vec<String>,
    /// Inside the `src/` subtree.
    in_src: bool,
    saw_src: bool,
    /// The open folders' paths under `src/`, one per level (`""` is `src/`).
    folders: Vec<String>,
    /// Whether a continuation line would extend the last entry (no
    /// top-level line since).
    open: bool,
    /// Where the last entry's description starts, if it has one: a line
    /// indented that far or further continues it.
    description_column: Option<usize>,
}

impl Parser {
    fn line(&mut self, number: usize, line: &str) {
        let Some(name) = line.split_whitespace().next() else {
            return;
        };
        let indent = line.len() - line.trim_start().len();
        let after = &line[indent + name.len()..];
        let column = (!after.trim().is_empty()).then(|| line.len() - after.trim_start().len());
        let is_name = name.ends_with(".rs") || name.ends_with('/');
        if indent > 0 && (!is_name || self.description_column.is_some_and(|c| indent >= c)) {
            if let (true, Some((_, description))) = (self.open, self.entries.last_mut()) {
                *description += " ";
                *description += line.trim();
            }
            return;
        }
        self.description_column = column;
        self.open = false;
        if indent == 0 {
            self.in_src = name == "src/";
            self.saw_src |= self.in_src;
            self.folders = vec![String::new()];
            return;
        }
        if !self.in_src {
            return;
        }
        let level = indent / 2;
        if !indent.is_multiple_of(2) || level > self.folders.len() {
            let above = self.folders.len() * 2 - 2;
            self.errors.push(format!(
                "README.md:{number}: `{name}` is indented {indent} spaces; an entry is indented 2 spaces more than the \
                 folder line it belongs to (here at most {above} + 2)"
            ));
            return;
        }
        self.folders.truncate(level);
        let path = format!("{}{name}", self.folders[level - 1]);
        if name.ends_with('/') {
            self.folders.push(path.clone());
        }
        let description = column
            .map(|c| line[c..].trim().to_string())
            .unwrap_or_default();
        self.entries.push((
            Entry {
                path,
                line: number,
                long: None,
            },
            description,
        ));
        self.open = true;
    }
}
