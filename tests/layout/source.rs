//! The source tree as the checks see it: every `.rs` file under `src/`, its
//! module path, its syntax tree, and every path in it that names a module of
//! this crate (with the file and line where it does).

use std::{
    collections::{BTreeMap, BTreeSet},
    fs,
    path::Path,
};

use proc_macro2::TokenStream;
use syn::visit::{self, Visit};

use crate::tokens;

/// A module path from the crate root: `["store", "memory"]`.
pub type ModPath = Vec<String>;

/// One file under `src/`.
pub struct Source {
    /// Its path under `src/`, with `/`: `store/memory.rs`.
    pub rel: String,
    pub text: String,
    pub ast: syn::File,
    /// Its module; `None` for `main.rs`, the binary's own crate root.
    pub module: Option<ModPath>,
    /// Every path in it that names something of this crate.
    pub refs: Vec<Ref>,
    /// What each name imported at the file's top scope stands for:
    /// `Some(path)` inside this crate, `None` outside it.
    pub uses: BTreeMap<String, Option<ModPath>>,
}

/// A path naming something of this crate, resolved to start at the root
/// (`super::gone::Gone` in `store/memory.rs` is `store::gone::Gone`).
#[derive(Debug, Clone)]
pub struct Ref {
    pub target: ModPath,
    pub line: usize,
    pub kind: RefKind,
    /// Inside a `#[cfg(test)]` module.
    pub in_test: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefKind {
    /// `mod x;`
    ModDecl,
    /// A leaf of a `use` tree; `public` for any visibility but private (a
    /// re-export).
    Use { public: bool },
    /// A path in code, a type, a pattern, an attribute or a macro's tokens.
    Code,
}

/// All of `src/`.
pub struct Tree {
    /// Sorted by path.
    pub files: Vec<Source>,
    /// Every folder under `src/` holding a file, as a module path.
    pub dirs: BTreeSet<ModPath>,
    /// The module paths that have a file.
    pub modules: BTreeSet<ModPath>,
}

impl Tree {
    /// Reads `src/` of this package.
    pub fn load() -> Tree {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut found = Vec::new();
        walk(&root, "", &mut found);
        Tree::from_sources(found)
    }

    /// Builds the tree from `(path under src/, text)` pairs.
    pub fn from_sources<S: Into<String>>(sources: impl IntoIterator<Item = (S, S)>) -> Tree {
        let mut files: Vec<Source> = sources
            .into_iter()
            .map(|(rel, text)| parse(rel.into(), text.into()))
            .collect();
        files.sort_by(|a, b| a.rel.cmp(&b.rel));
        let dirs = files
            .iter()
            .flat_map(|f| {
                let parts: Vec<String> = f.rel.split('/').map(String::from).collect();
                (1..parts.len()).map(move |n| parts[..n].to_vec())
            })
            .collect();
        let modules = files.iter().filter_map(|f| f.module.clone()).collect();
        Tree {
            files,
            dirs,
            modules,
        }
    }
}

fn walk(dir: &Path, prefix: &str, found: &mut Vec<(String, String)>) {
    let mut entries: Vec<_> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|e| e.expect("a readable directory entry").path())
        .collect();
    entries.sort();
    for path in entries {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        let rel = format!("{prefix}{name}");
        if path.is_dir() {
            walk(&path, &format!("{rel}/"), found);
        } else if name.ends_with(".rs") {
            let text = fs::read_to_string(&path).expect("a UTF-8 source file");
            found.push((rel, text));
        }
    }
}

/// `store/mod.rs` → `store`, `store/redis/link.rs` → `store::redis::link`,
/// `lib.rs` → the root; `main.rs` is another crate.
pub fn module_of(rel: &str) -> Option<ModPath> {
    if rel == "main.rs" {
        return None;
    }
    let mut parts: Vec<String> = rel
        .trim_end_matches(".rs")
        .split('/')
        .map(String::from)
        .collect();
    if parts.last().is_some_and(|p| p == "mod") || parts == ["lib"] {
        parts.pop();
    }
    Some(parts)
}

fn parse(rel: String, text: String) -> Source {
    let ast = syn::parse_file(&text).unwrap_or_else(|e| {
        let at = e.span().start();
        panic!("src/{rel}:{}:{} does not parse: {e}", at.line, at.column)
    });
    let module = module_of(&rel);
    let (mut refs, mut uses) = (Vec::new(), BTreeMap::new());
    if let Some(module) = &module {
        let children = ast
            .items
            .iter()
            .filter_map(|item| match item {
                syn::Item::Mod(m) => Some(m.ident.to_string()),
                _ => None,
            })
            .collect();
        let mut collector = Collector {
            module,
            children,
            scope: Vec::new(),
            tests: 0,
            refs: &mut refs,
            uses: &mut uses,
        };
        collector.visit_file(&ast);
    }
    Source {
        rel,
        text,
        ast,
        module,
        refs,
        uses,
    }
}

/// Whether the attributes hold `#[cfg(test)]` (exactly that).
pub fn is_cfg_test(attrs: &[syn::Attribute]) -> bool {
    attrs.iter().any(|a| {
        a.path().is_ident("cfg")
            && a.meta
                .require_list()
                .is_ok_and(|l| l.tokens.to_string() == "test")
    })
}

/// Walks one file, collecting its references and its top scope's imports.
struct Collector<'a> {
    module: &'a ModPath,
    /// Modules declared at the file's top scope (`mod x;` or `mod x {}`):
    /// there a path may start with their bare name.
    children: BTreeSet<String>,
    /// Inline modules entered, inside the file's module.
    scope: Vec<String>,
    /// How many `#[cfg(test)]` modules enclose the walk.
    tests: usize,
    refs: &'a mut Vec<Ref>,
    uses: &'a mut BTreeMap<String, Option<ModPath>>,
}

impl Collector<'_> {
    /// Resolves a path to start at the crate root, or `None` when it does not
    /// name this crate's modules (an extern crate, a local, an item in scope).
    fn resolve(&self, segs: &[String]) -> Option<ModPath> {
        let here: ModPath = self.module.iter().chain(&self.scope).cloned().collect();
        let first = segs.first()?.as_str();
        let supers = segs.iter().take_while(|s| *s == "super").count();
        let (mut base, rest) = match first {
            "crate" => (Vec::new(), &segs[1..]),
            "self" => (here, &segs[1..]),
            "super" if supers <= here.len() => {
                (here[..here.len() - supers].to_vec(), &segs[supers..])
            }
            name if self.scope.is_empty() && self.children.contains(name) => (here, segs),
            _ => return None,
        };
        base.extend(rest.iter().cloned());
        Some(base)
    }

    fn add(&mut self, target: ModPath, line: usize, kind: RefKind) {
        let in_test = self.tests > 0;
        self.refs.push(Ref {
            target,
            line,
            kind,
            in_test,
        });
    }

    /// One leaf of a `use` tree: `prefix` then `name` (`self` names the
    /// prefix itself), imported as `alias`.
    fn use_leaf(
        &mut self,
        prefix: &[String],
        name: Option<&syn::Ident>,
        alias: Option<String>,
        public: bool,
        line: usize,
    ) {
        let mut full = prefix.to_vec();
        if let Some(name) = name.filter(|n| *n != "self") {
            full.push(name.to_string());
        }
        let target = self.resolve(&full);
        if let Some(target) = &target {
            self.add(target.clone(), line, RefKind::Use { public });
        }
        if let Some(alias) = alias.filter(|a| a != "_" && self.scope.is_empty()) {
            self.uses.insert(alias, target);
        }
    }

    fn use_tree(&mut self, tree: &syn::UseTree, prefix: &mut Vec<String>, public: bool) {
        let line = |ident: &syn::Ident| ident.span().start().line;
        match tree {
            syn::UseTree::Path(p) => {
                prefix.push(p.ident.to_string());
                self.use_tree(&p.tree, prefix, public);
                prefix.pop();
            }
            syn::UseTree::Name(n) => {
                let alias = if n.ident == "self" {
                    prefix.last().cloned()
                } else {
                    Some(n.ident.to_string())
                };
                self.use_leaf(prefix, Some(&n.ident), alias, public, line(&n.ident));
            }
            syn::UseTree::Rename(r) => {
                self.use_leaf(
                    prefix,
                    Some(&r.ident),
                    Some(r.rename.to_string()),
                    public,
                    line(&r.ident),
                );
            }
            syn::UseTree::Glob(g) => {
                self.use_leaf(prefix, None, None, public, g.star_token.span.start().line);
            }
            syn::UseTree::Group(g) => {
                for tree in &g.items {
                    self.use_tree(tree, prefix, public);
                }
            }
        }
    }

    /// The paths among a macro's or attribute's tokens, which syn leaves
    /// unparsed.
    fn scan_tokens(&mut self, tokens: TokenStream) {
        for (segs, line) in tokens::paths(tokens) {
            if let Some(target) = self.resolve(&segs) {
                self.add(target, line, RefKind::Code);
            }
        }
    }
}

impl<'ast> Visit<'ast> for Collector<'_> {
    fn visit_item_use(&mut self, node: &'ast syn::ItemUse) {
        if node.leading_colon.is_none() {
            let public = !matches!(node.vis, syn::Visibility::Inherited);
            self.use_tree(&node.tree, &mut Vec::new(), public);
        }
    }

    fn visit_item_mod(&mut self, node: &'ast syn::ItemMod) {
        if node.content.is_none() {
            if let Some(target) = self.resolve(&["self".into(), node.ident.to_string()]) {
                self.add(target, node.ident.span().start().line, RefKind::ModDecl);
            }
            return;
        }
        let test = is_cfg_test(&node.attrs);
        self.tests += usize::from(test);
        self.scope.push(node.ident.to_string());
        visit::visit_item_mod(self, node);
        self.scope.pop();
        self.tests -= usize::from(test);
    }

    fn visit_path(&mut self, node: &'ast syn::Path) {
        let segs: Vec<String> = node.segments.iter().map(|s| s.ident.to_string()).collect();
        // A lone name is a local or an item in scope, never a module.
        if node.leading_colon.is_none() && segs.len() > 1 {
            if let Some(target) = self.resolve(&segs) {
                let line = node.segments[0].ident.span().start().line;
                self.add(target, line, RefKind::Code);
            }
        }
        visit::visit_path(self, node);
    }

    fn visit_macro(&mut self, node: &'ast syn::Macro) {
        self.scan_tokens(node.tokens.clone());
        visit::visit_macro(self, node);
    }

    fn visit_meta_list(&mut self, node: &'ast syn::MetaList) {
        self.scan_tokens(node.tokens.clone());
        visit::visit_meta_list(self, node);
    }
}
