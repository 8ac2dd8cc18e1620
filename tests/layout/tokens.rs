//! Paths among raw tokens: a macro's arguments (`counter!(crate::a::B)`) or
//! a `macro_rules!` body (`$crate::a::f()`), which syn does not parse.

use proc_macro2::{Spacing, TokenStream, TokenTree};

/// Every path of two segments or more (`a::b`, `crate::a::B`; not the `b::c`
/// inside `a::b::c`), with the line it starts on. A lone name is left out:
/// among tokens it is a local as often as a module.
pub fn paths(tokens: TokenStream) -> Vec<(Vec<String>, usize)> {
    let mut flat = Vec::new();
    flatten(tokens, &mut flat);
    let mut found = Vec::new();
    let mut at = 0;
    while at < flat.len() {
        let Tok::Ident(first, line) = &flat[at] else {
            at += 1;
            continue;
        };
        let after_colons = at > 0 && matches!(flat[at - 1], Tok::Colons);
        let mut segs = vec![first.clone()];
        let mut next = at + 1;
        while let (Some(Tok::Colons), Some(Tok::Ident(seg, _))) =
            (flat.get(next), flat.get(next + 1))
        {
            segs.push(seg.clone());
            next += 2;
        }
        if !after_colons && segs.len() > 1 {
            found.push((segs, *line));
        }
        at = next;
    }
    found
}

/// A token as the path scan needs it.
enum Tok {
    /// A name (`crate` and `self` included) and its line.
    Ident(String, usize),
    /// `::`
    Colons,
    Other,
}

/// The tokens in order, groups opened in place (their delimiters become
/// `Other`, so no path runs across one).
fn flatten(tokens: TokenStream, out: &mut Vec<Tok>) {
    let mut iter = tokens.into_iter().peekable();
    while let Some(token) = iter.next() {
        match token {
            TokenTree::Ident(i) => out.push(Tok::Ident(i.to_string(), i.span().start().line)),
            TokenTree::Punct(p) if p.as_char() == ':' && p.spacing() == Spacing::Joint => {
                if matches!(iter.peek(), Some(TokenTree::Punct(q)) if q.as_char() == ':') {
                    iter.next();
                    out.push(Tok::Colons);
                } else {
                    out.push(Tok::Other);
                }
            }
            TokenTree::Group(g) => {
                out.push(Tok::Other);
                flatten(g.stream(), out);
                out.push(Tok::Other);
            }
            _ => out.push(Tok::Other),
        }
    }
}
