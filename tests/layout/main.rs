//! The check that keeps the layout true (issue 14: "each thing has one
//! obvious home and every import arrow points down"). It reads `src/` and the
//! README at test time and parses the sources with `syn`, so paths in nested
//! `use` groups, types, patterns and macro tokens are all seen, with their
//! lines (`proc-macro2`'s span locations); regular expressions over Rust
//! would miss multi-line groups and macro tokens and misread comments and
//! strings. Each rule is its own test, and each failure says what to change. `cargo nextest run -E 'binary(layout)'
//! --no-capture` also prints the module graphs (`module_graph`).
//!
//! # The rules
//!
//! 1. **No import cycles among `src/`'s top-level modules.** `src/x.rs` or
//!    `src/x/` is module `x` (`lib.rs` and `main.rs` are not modules). There
//!    is an arrow A → B when any file of A names B: `crate::b` in a `use`
//!    tree (nested groups included), in code, a type, a pattern, an
//!    attribute or a macro's tokens (`metrics::counter!(crate::telemetry::X)`,
//!    `$crate::b`), or `super::…::b` climbing out of A. (`crate::T` where
//!    `lib.rs` says `pub use b::T` names b.)
//! 2. **No import cycles among the files of a folder.** In `src/f/` each
//!    `x.rs` is a node `x` (with `x/` beside it, the two are one node), and
//!    the folder's own file (`f/mod.rs`, or `f.rs` beside `f/`) is the node
//!    `mod`. Arrows come from `super::x`, `self::x`, `crate::f::x` and, in a
//!    file that declares `mod x;`, bare `x::…`; a path counts as the node it
//!    names, but the folder's own file is seen through: a name it
//!    re-exports or imports counts as the child it comes from (`super::Gone`
//!    in `store/memory.rs` is an arrow memory → gone when `store/mod.rs`
//!    says `pub use gone::Gone`), or as `mod` when it comes from outside the
//!    folder or only through a glob (`pub use x::*` is not followed).
//!    The folder's own file declaring its children (`mod x;`) and
//!    re-exporting them (`pub use`, any visibility but private) is wiring,
//!    not depending: those make no arrow `mod` → child, so a child may import
//!    a type defined in `mod.rs`. Its private `use`s and the paths in its
//!    code (`x::f()`, `self::x::T`) do make one; a child importing from
//!    `mod.rs` what `mod.rs` needs from that child is then a cycle, as are
//!    two siblings importing each other's items (`gone ↔ memory` in
//!    `store/`). Code in `#[cfg(test)]` modules counts (marked `(test)`).
//!    Not seen: a lone name (`MemoryStore`) in the folder's own file that
//!    its own `pub use` brought in, as lone names are mostly locals.
//! 3. **Files at most 400 lines** unless the file's tour entry holds
//!    `[long: <why>]` (and a marked file must be over 400 lines).
//! 4. **Functions at most 60 lines**, from the line of `fn` to the line of
//!    its closing brace: free functions, methods, trait methods with a body,
//!    nested functions. Functions in `#[cfg(test)]` modules are left out:
//!    those modules are tables of cases.
//! 5. **The README's tour lists exactly the `.rs` files under `src/`**,
//!    `mod.rs`, `lib.rs` and `main.rs` included, and no others.
//!
//! # The tour's format
//!
//! The tour is the first fenced block under `## A tour of the source tree`:
//!
//! ```text
//! src/
//!   main.rs            an entry: its name, two spaces or more, what it owns
//!   store/             a folder: the lines indented 2 spaces more are in it
//!     mod.rs           the folder's own file is listed like any other
//!     redis.rs         a file beside a folder of the same name
//!     redis/link.rs    a path relative to the folder above
//!     memory.rs        a description that goes on: the next line is indented
//!                      at least as far as the description [long: the marker]
//! templates/           a line at the left margin other than `src/` starts an
//!                      entry outside src/, which the check skips
//! ```
//!
//! An entry's name is its first word and ends in `.rs` or `/`. An indented
//! line is a continuation of the entry above when its first word is no such
//! name or when it starts at or beyond that entry's description column.
//! Entries nest by exactly 2 spaces under the folder line above them.

mod graph;
mod lengths;
mod source;
mod synthetic;
mod tokens;
mod tour;

use std::collections::{BTreeMap, BTreeSet};

use source::Tree;

/// The longest a file under `src/` may be without `[long: <why>]`.
const MAX_FILE_LINES: usize = 400;
/// The longest a function may be.
const MAX_FN_LINES: usize = 60;

fn readme() -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/README.md");
    std::fs::read_to_string(path).expect("README.md beside Cargo.toml")
}

/// The tour's entries, or a failure listing what the tour gets wrong.
fn tour_entries() -> Vec<tour::Entry> {
    tour::parse(&readme())
        .unwrap_or_else(|errors| fail("the README's tour does not parse", &errors))
}

fn fail(what: &str, failures: &[String]) -> ! {
    panic!("{what} ({}):\n{}\n", failures.len(), failures.join("\n"))
}

/// Panics listing each cycle of each graph.
fn assert_no_cycles(graphs: &[graph::Graph], what: &str) {
    let mut failures = Vec::new();
    for graph in graphs {
        for cycle in graph::cycles(graph) {
            failures.push(format!(
                "{}:\n{}",
                graph.name,
                graph::describe_cycle(graph, &cycle)
            ));
        }
    }
    if !failures.is_empty() {
        fail(
            &format!(
                "import cycles among {what}. Every arrow must point one way: in each cycle, move what one side \
                 needs from the other into a module both may import (or into the side that needs it) so that one \
                 arrow goes; below each cycle, every line that makes each of its arrows"
            ),
            &failures,
        );
    }
}

#[test]
fn top_level_modules_import_without_cycles() {
    let tree = Tree::load();
    assert_no_cycles(&graph::graphs(&tree)[..1], "src/'s top-level modules");
}

#[test]
fn files_of_each_folder_import_without_cycles() {
    let tree = Tree::load();
    assert_no_cycles(&graph::graphs(&tree)[1..], "the files of a folder");
}

#[test]
fn files_are_at_most_400_lines_unless_marked_long() {
    let tree = Tree::load();
    let marked: BTreeMap<String, tour::Entry> = tour_entries()
        .into_iter()
        .filter(|e| e.long.is_some())
        .map(|e| (e.path.clone(), e))
        .collect();
    let mut failures = Vec::new();
    for file in &tree.files {
        let lines = file.text.lines().count();
        match marked.get(&file.rel) {
            None if lines > MAX_FILE_LINES => failures.push(format!(
                "src/{}: {lines} lines (limit {MAX_FILE_LINES}): split it along its concerns, or mark its entry \
                 in the README's tour `[long: <why>]`",
                file.rel
            )),
            Some(entry) if lines <= MAX_FILE_LINES => failures.push(format!(
                "README.md:{}: `{}` is marked [long] but has {lines} lines: remove the marker",
                entry.line, entry.path
            )),
            _ => {}
        }
    }
    if !failures.is_empty() {
        fail("files over the length limit", &failures);
    }
}

#[test]
fn functions_are_at_most_60_lines() {
    let tree = Tree::load();
    let tests = lengths::test_modules(&tree);
    let mut failures = Vec::new();
    for file in &tree.files {
        // A file that is a `#[cfg(test)] mod x;` is a test module too.
        if file.module.as_ref().is_some_and(|m| tests.contains(m)) {
            continue;
        }
        for function in lengths::functions(&file.ast) {
            if function.lines > MAX_FN_LINES {
                failures.push(format!(
                    "src/{}:{}: fn {} is {} lines (limit {MAX_FN_LINES}): split it into named steps",
                    file.rel, function.line, function.name, function.lines
                ));
            }
        }
    }
    if !failures.is_empty() {
        fail("functions over the length limit", &failures);
    }
}

#[test]
fn readme_tour_lists_exactly_the_files_under_src() {
    let tree = Tree::load();
    let failures = tour_mismatches(&tree, &tour_entries());
    if !failures.is_empty() {
        fail("the README's tour (the fenced block under `## A tour of the source tree`) is out of date", &failures);
    }
}

/// What the tour gets wrong about the tree: files it misses, entries of
/// nothing, entries listed twice.
fn tour_mismatches(tree: &Tree, entries: &[tour::Entry]) -> Vec<String> {
    let files: BTreeSet<&str> = tree.files.iter().map(|f| f.rel.as_str()).collect();
    let folders: BTreeSet<String> = tree
        .dirs
        .iter()
        .map(|d| format!("{}/", d.join("/")))
        .collect();
    let mut failures = Vec::new();
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    for entry in entries {
        if let Some(first) = seen.insert(&entry.path, entry.line) {
            failures.push(format!(
                "README.md:{}: `{}` is listed twice (also line {first})",
                entry.line, entry.path
            ));
        }
        if !files.contains(entry.path.as_str()) && !folders.contains(&entry.path) {
            failures.push(format!(
                "README.md:{}: the tour lists `{}`, which is not under src/: remove the line or rename it",
                entry.line, entry.path
            ));
        }
    }
    for file in files.iter().filter(|f| !seen.contains_key(*f)) {
        let folder = seen
            .keys()
            .filter(|p| p.ends_with('/') && file.starts_with(*p))
            .max_by_key(|p| p.len());
        let (name, under) = match folder {
            Some(folder) => (&file[folder.len()..], format!("`{folder}`")),
            None => (*file, "`src/`".to_string()),
        };
        failures.push(format!(
            "src/{file} is not in the tour: add a line `{name}  <what it owns>` under {under}"
        ));
    }
    failures
}

/// Prints every graph, so a change's before and after can be compared (run
/// with `--no-capture`). Always passes.
#[test]
fn module_graph() {
    let tree = Tree::load();
    let mut text = String::from("module graph (A → B: a file of A names B; sites as file:line)\n");
    for graph in graph::graphs(&tree) {
        text += "\n";
        text += &graph::render(&graph);
    }
    println!("{text}");
}
