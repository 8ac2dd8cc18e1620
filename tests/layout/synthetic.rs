//! The checks themselves, on small trees held in strings.

use crate::{graph, lengths, source::Tree, tour, tour_mismatches};

/// `(file, text)` pairs: a tree with a `lib.rs` that declares nothing.
fn tree(files: &[(&str, &str)]) -> Tree {
    Tree::from_sources(std::iter::once(("lib.rs", "")).chain(files.iter().copied()))
}

/// Each arrow of the graph named `name`, as `from → to @lines`.
fn edges(tree: &Tree, name: &str) -> Vec<String> {
    let graphs = graph::graphs(tree);
    let graph = graphs
        .iter()
        .find(|g| g.name == name)
        .expect("a graph of that name");
    let arrow =
        |((from, to), sites): (&(String, String), &std::collections::BTreeSet<graph::Site>)| {
            let lines: Vec<String> = sites.iter().map(|s| s.line.to_string()).collect();
            format!("{from} → {to} @{}", lines.join(","))
        };
    graph.edges.iter().map(arrow).collect()
}

fn cycles(tree: &Tree, name: &str) -> Vec<String> {
    let graphs = graph::graphs(tree);
    let graph = graphs
        .iter()
        .find(|g| g.name == name)
        .expect("a graph of that name");
    graph::cycles(graph).iter().map(|c| c.join(" → ")).collect()
}

#[test]
fn nested_use_groups_each_make_an_arrow() {
    let t = tree(&[
        (
            "a.rs",
            "use crate::{\n    b::{C, D as E},\n    c,\n};\nuse crate::d::{self};\n",
        ),
        ("b.rs", ""),
        ("c.rs", ""),
        ("d.rs", "use std::fmt;\nuse ::e::F;\n"),
        ("e.rs", ""),
    ]);
    assert_eq!(edges(&t, "src/"), ["a → b @2", "a → c @3", "a → d @5"]);
}

#[test]
fn paths_in_code_types_and_macro_tokens_make_arrows() {
    let code = "fn f(x: crate::b::T) -> Vec<crate::c::U> {\n\
                    metrics::counter!(crate::d::NAME).increment(1);\n\
                    let e = 1;\n    format!(\"{e}\")\n}\n\
                macro_rules! m { () => { $crate::e::g() }; }\n";
    let t = tree(&[
        ("a.rs", code),
        ("b.rs", ""),
        ("c.rs", ""),
        ("d.rs", ""),
        ("e.rs", ""),
    ]);
    assert_eq!(
        edges(&t, "src/"),
        ["a → b @1", "a → c @1", "a → d @2", "a → e @6"]
    );
}

#[test]
fn super_climbing_out_of_a_folder_names_a_top_level_module() {
    let t = tree(&[
        ("f/mod.rs", "mod x;\n"),
        (
            "f/x.rs",
            "use super::super::g::H;\nmod tests { use super::*; }\n",
        ),
        ("g.rs", ""),
    ]);
    assert_eq!(edges(&t, "src/"), ["f → g @1"]);
    assert_eq!(edges(&t, "src/f/"), Vec::<String>::new());
}

#[test]
fn siblings_importing_each_others_items_are_a_cycle_through_re_exports() {
    // The shape of store/'s gone ↔ memory: each names the other, once
    // through the folder's re-export.
    let t = tree(&[
        (
            "store/mod.rs",
            "mod gone;\nmod memory;\npub use gone::Gone;\npub use memory::lock;\n",
        ),
        (
            "store/gone.rs",
            "use super::{memory::lock, Shared};\npub enum Gone {}\n",
        ),
        ("store/memory.rs", "use super::Gone;\npub fn lock() {}\n"),
    ]);
    assert_eq!(
        edges(&t, "src/store/"),
        ["gone → memory @1", "gone → mod @1", "memory → gone @1"]
    );
    assert_eq!(cycles(&t, "src/store/"), ["gone → memory"]);
}

#[test]
fn re_exports_and_mod_lines_make_no_arrow_from_mod() {
    let t = tree(&[
        (
            "f/mod.rs",
            "mod x;\npub use x::X;\npub(crate) use self::x::Y;\npub struct Shared;\n",
        ),
        (
            "f/x.rs",
            "use super::Shared;\npub struct X;\npub struct Y;\n",
        ),
    ]);
    assert_eq!(edges(&t, "src/f/"), ["x → mod @1"]);
    assert!(cycles(&t, "src/f/").is_empty());
}

#[test]
fn private_uses_and_code_in_mod_make_arrows() {
    let t = tree(&[
        ("f/mod.rs", "mod x;\nmod y;\nuse self::x::X;\npub struct Shared;\nfn go() { let y = 1; y::run(y); }\n"),
        ("f/x.rs", "use super::Shared;\npub struct X;\n"),
        ("f/y.rs", "pub fn run(_: u8) {}\n"),
    ]);
    assert_eq!(
        edges(&t, "src/f/"),
        ["mod → x @3", "mod → y @5", "x → mod @1"]
    );
    assert_eq!(cycles(&t, "src/f/"), ["mod → x"]);
}

#[test]
fn a_file_with_its_folder_is_one_node() {
    let t = tree(&[
        ("f/mod.rs", "mod m;\nmod r;\npub struct Q;\n"),
        ("f/m.rs", "use crate::f::r::l::L;\n"),
        ("f/r.rs", "mod l;\npub use l::L;\n"),
        (
            "f/r/l.rs",
            "use super::super::Q;\nuse super::Z;\npub struct L;\n",
        ),
    ]);
    assert_eq!(edges(&t, "src/f/"), ["m → r @1", "r → mod @1"]);
    assert_eq!(edges(&t, "src/f/r/"), ["l → mod @2"]);
}

#[test]
fn a_top_level_cycle_names_every_site() {
    let t = tree(&[
        ("a.rs", "pub struct S;\nfn f(_: crate::b::T) {}\n#[cfg(test)]\nmod tests { use crate::b::T; }\n"),
        ("b.rs", "pub struct T;\nimpl crate::a::S {}\n"),
    ]);
    let graphs = graph::graphs(&t);
    let cycle = &graph::cycles(&graphs[0])[0];
    let text = graph::describe_cycle(&graphs[0], cycle);
    assert_eq!(
        text,
        "  a → b → a\n      a → b: src/a.rs:2,4(test)\n      b → a: src/b.rs:2\n"
    );
}

#[test]
fn long_functions_are_measured_from_fn_to_the_closing_brace() {
    let body = "    let _ = 1;\n".repeat(59);
    let code = format!(
        "fn long() {{\n{body}}}\nstruct S;\nimpl S {{\n    /// doc\n    fn m(&self) {{\n{body}    }}\n}}\n\
         trait T {{ fn t() {{\n{body}}} fn decl(); }}\n#[cfg(test)]\nmod tests {{ fn case() {{\n{body}}} }}\n"
    );
    let file = syn::parse_file(&code).expect("valid Rust");
    let found: Vec<(String, usize, usize)> = lengths::functions(&file)
        .into_iter()
        .map(|f| (f.name, f.line, f.lines))
        .collect();
    assert_eq!(
        found,
        [
            ("long".into(), 1, 61),
            ("S::m".into(), 65, 61),
            ("T::t".into(), 127, 61)
        ]
    );
}

const README: &str = "# x\n\n## A tour of the source tree\n\n```\nsrc/\n  lib.rs       the crate\n  \
                      store/       the store: a long description that\n               \
                      goes on [long: tables]\n    mod.rs     its face\n    redis/link.rs  a path\n  \
                      a.rs\n  gone.rs  nothing\ntemplates/x.html  skipped\n  y.rs  under templates/: skipped\n```\n";

#[test]
fn the_tour_reads_nesting_paths_continuations_and_markers() {
    let entries = tour::parse(README).expect("a valid tour");
    let read: Vec<(&str, usize, Option<&str>)> = entries
        .iter()
        .map(|e| (e.path.as_str(), e.line, e.long.as_deref()))
        .collect();
    assert_eq!(
        read,
        [
            ("lib.rs", 7, None),
            ("store/", 8, Some("tables")),
            ("store/mod.rs", 10, None),
            ("store/redis/link.rs", 11, None),
            ("a.rs", 12, None),
            ("gone.rs", 13, None),
        ]
    );
    let t = tree(&[
        ("a.rs", ""),
        ("b.rs", ""),
        ("store/mod.rs", ""),
        ("store/redis/link.rs", ""),
    ]);
    assert_eq!(
        tour_mismatches(&t, &entries),
        [
            "README.md:13: the tour lists `gone.rs`, which is not under src/: remove the line or rename it",
            "src/b.rs is not in the tour: add a line `b.rs  <what it owns>` under `src/`",
        ]
    );
}

#[test]
fn the_tour_rejects_bad_indentation_and_empty_markers() {
    let bad =
        "## A tour of the source tree\n```\nsrc/\n  a/\n       b.rs  too deep\n   c.rs  odd\n  \
               d.rs  x [long: ]\n```\n";
    let errors = tour::parse(bad).expect_err("an invalid tour");
    assert_eq!(errors.len(), 3, "{errors:#?}");
    assert!(
        errors[0].starts_with("README.md:5: `b.rs` is indented 7 spaces"),
        "{errors:#?}"
    );
    assert!(
        errors[1].starts_with("README.md:6: `c.rs` is indented 3 spaces"),
        "{errors:#?}"
    );
    assert!(
        errors[2].starts_with("README.md:7: `d.rs`: write the marker"),
        "{errors:#?}"
    );
}

#[test]
fn only_the_folders_own_file_is_seen_through() {
    let t = Tree::from_sources([
        (
            "lib.rs",
            "pub mod a;\npub mod b;\npub mod f;\npub mod g;\npub use b::T;\n",
        ),
        ("a.rs", "use crate::T;\n"),
        ("b.rs", "pub struct T;\n"),
        ("g.rs", "pub struct G;\n"),
        ("f/mod.rs", "mod p;\nmod q;\nmod r;\nuse crate::g::G;\n"),
        ("f/p.rs", "pub use super::r::R;\n"),
        ("f/q.rs", "use super::p::R;\nuse super::G;\n"),
        ("f/r.rs", "pub struct R;\n"),
    ]);
    // lib.rs re-exports `T` from b: naming `crate::T` is an arrow to b.
    assert_eq!(edges(&t, "src/"), ["a → b @1", "f → g @4"]);
    // p re-exports r's `R`, but p is no folder's own file: q names p.
    // `super::G` is mod.rs's import from outside the folder: q names mod.
    assert_eq!(edges(&t, "src/f/"), ["p → r @1", "q → mod @2", "q → p @1"]);
}
