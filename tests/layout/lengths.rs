//! How long each function is: from the line of its `fn` to the line of its
//! closing brace, both counted.

use std::collections::BTreeSet;

use syn::visit::{self, Visit};

use crate::source::{is_cfg_test, ModPath, Tree};

/// The modules declared `#[cfg(test)] mod x;` in a file of their own
/// (`config/tests.rs`): their functions are tables of cases too.
pub fn test_modules(tree: &Tree) -> BTreeSet<ModPath> {
    let mut found = BTreeSet::new();
    for file in &tree.files {
        let Some(parent) = &file.module else { continue };
        for item in &file.ast.items {
            if let syn::Item::Mod(m) = item {
                if m.content.is_none() && is_cfg_test(&m.attrs) {
                    let mut path = parent.clone();
                    path.push(m.ident.to_string());
                    found.insert(path);
                }
            }
        }
    }
    found
}

/// A function with a body, outside `#[cfg(test)]` modules.
#[derive(Debug, PartialEq, Eq)]
pub struct Function {
    /// `name`, or `Type::name` for a method (`Trait::name` in a trait).
    pub name: String,
    /// The line of its `fn`.
    pub line: usize,
    pub lines: usize,
}

/// Every function with a body in the file, nested ones included (they count
/// towards their outer function as well).
pub fn functions(file: &syn::File) -> Vec<Function> {
    let mut finder = Finder::default();
    finder.visit_file(file);
    finder.found
}

#[derive(Default)]
struct Finder {
    found: Vec<Function>,
    /// The `impl` or `trait` being walked, if any.
    owner: Vec<String>,
}

impl Finder {
    fn add(&mut self, sig: &syn::Signature, block: &syn::Block) {
        let line = sig.fn_token.span.start().line;
        let end = block.brace_token.span.close().end().line;
        let name = match self.owner.last() {
            Some(owner) => format!("{owner}::{}", sig.ident),
            None => sig.ident.to_string(),
        };
        self.found.push(Function {
            name,
            line,
            lines: end + 1 - line,
        });
    }
}

/// The last segment of a type's path: `MemoryStore` for
/// `super::MemoryStore<T>`, `_` for anything else.
fn type_name(ty: &syn::Type) -> String {
    match ty {
        syn::Type::Path(p) => p
            .path
            .segments
            .last()
            .map_or("_".into(), |s| s.ident.to_string()),
        _ => "_".into(),
    }
}

impl<'ast> Visit<'ast> for Finder {
    fn visit_item_mod(&mut self, node: &'ast syn::ItemMod) {
        // Test modules are tables of cases; their length says nothing.
        if !is_cfg_test(&node.attrs) {
            visit::visit_item_mod(self, node);
        }
    }

    fn visit_item_fn(&mut self, node: &'ast syn::ItemFn) {
        self.add(&node.sig, &node.block);
        visit::visit_item_fn(self, node);
    }

    fn visit_item_impl(&mut self, node: &'ast syn::ItemImpl) {
        self.owner.push(type_name(&node.self_ty));
        visit::visit_item_impl(self, node);
        self.owner.pop();
    }

    fn visit_item_trait(&mut self, node: &'ast syn::ItemTrait) {
        self.owner.push(node.ident.to_string());
        visit::visit_item_trait(self, node);
        self.owner.pop();
    }

    fn visit_impl_item_fn(&mut self, node: &'ast syn::ImplItemFn) {
        self.add(&node.sig, &node.block);
        visit::visit_impl_item_fn(self, node);
    }

    fn visit_trait_item_fn(&mut self, node: &'ast syn::TraitItemFn) {
        if let Some(block) = &node.default {
            self.add(&node.sig, block);
        }
        visit::visit_trait_item_fn(self, node);
    }
}
