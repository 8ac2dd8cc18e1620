//! The import graphs: one among `src/`'s top-level modules and one among the
//! files of each folder; their cycles; and how both are printed.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use crate::source::{RefKind, Tree};

/// Where an import arrow is made.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Site {
    /// `src/store/gone.rs`
    pub file: String,
    pub line: usize,
    /// Inside a `#[cfg(test)]` module.
    pub in_test: bool,
}

/// The arrows among the nodes of one folder.
pub struct Graph {
    /// `src/` or `src/store/`.
    pub name: String,
    /// Child modules by name (`memory`, or `redis` for `redis.rs` with
    /// `redis/`), and `mod` for the folder's own file.
    pub nodes: BTreeSet<String>,
    /// `(from, to)` → every place that makes the arrow.
    pub edges: BTreeMap<(String, String), BTreeSet<Site>>,
}

/// The root's graph first, then every folder's, by path.
pub fn graphs(tree: &Tree) -> Vec<Graph> {
    let mut folders = vec![Vec::new()];
    folders.extend(tree.dirs.iter().cloned());
    folders.iter().map(|folder| graph(tree, folder)).collect()
}

fn graph(tree: &Tree, folder: &[String]) -> Graph {
    let depth = folder.len();
    let children: BTreeSet<String> = tree
        .modules
        .iter()
        .filter(|m| m.len() > depth && m.starts_with(folder))
        .map(|m| m[depth].clone())
        .collect();
    let mut nodes = children.clone();
    if depth > 0 && tree.modules.contains(folder) {
        nodes.insert("mod".into());
    }
    let mut edges: BTreeMap<_, BTreeSet<Site>> = BTreeMap::new();
    for file in &tree.files {
        let Some(module) = file.module.as_ref().filter(|m| m.starts_with(folder)) else {
            continue;
        };
        let from = match module.get(depth) {
            Some(child) => child.clone(),
            None if depth > 0 => "mod".to_string(),
            None => continue, // lib.rs
        };
        for r in &file.refs {
            // The folder's own file declaring and re-exporting its children
            // is wiring, not depending on them (see the rules in main.rs).
            if from == "mod" && matches!(r.kind, RefKind::ModDecl | RefKind::Use { public: true }) {
                continue;
            }
            let Some(to) = node_of(tree, folder, &children, &r.target) else {
                continue;
            };
            if to != from {
                let site = Site {
                    file: format!("src/{}", file.rel),
                    line: r.line,
                    in_test: r.in_test,
                };
                edges.entry((from.clone(), to)).or_default().insert(site);
            }
        }
    }
    let name = folder
        .iter()
        .fold("src/".to_string(), |name, part| format!("{name}{part}/"));
    Graph { name, nodes, edges }
}

/// The node of `folder` that `target` names: the child it goes through, or
/// `mod` for the folder's own file. A name the folder's own file imports or
/// re-exports counts as what it stands for (`store::Gone` is `gone` when
/// `store/mod.rs` says `pub use gone::Gone`), and as `mod` when that is
/// outside the folder. `None` when the target is outside the folder, or an
/// item of `lib.rs`.
fn node_of(
    tree: &Tree,
    folder: &[String],
    children: &BTreeSet<String>,
    target: &[String],
) -> Option<String> {
    if !target.starts_with(folder) {
        return None;
    }
    let depth = folder.len();
    let facade = tree
        .files
        .iter()
        .find(|f| f.module.as_deref() == Some(folder));
    let mut target = target.to_vec();
    for _ in 0..16 {
        let Some(name) = target.get(depth).filter(|_| target.starts_with(folder)) else {
            break;
        };
        if children.contains(name) {
            return Some(name.clone());
        }
        match facade.and_then(|f| f.uses.get(name)) {
            Some(Some(to)) => target = to.iter().chain(&target[depth + 1..]).cloned().collect(),
            _ => break,
        }
    }
    (depth > 0).then(|| "mod".to_string())
}

/// The cycles, each as its nodes in order (`[a, b]` is a → b → a), starting
/// at its smallest node. Every arrow that lies on a cycle is in at least one:
/// the shortest cycle through it.
pub fn cycles(graph: &Graph) -> Vec<Vec<String>> {
    let mut found = BTreeSet::new();
    for (from, to) in graph.edges.keys() {
        if let Some(back) = shortest_path(graph, to, from) {
            let mut cycle = vec![from.clone()];
            cycle.extend(back);
            cycle.pop();
            let start = cycle
                .iter()
                .enumerate()
                .min_by_key(|(_, n)| *n)
                .map_or(0, |(i, _)| i);
            cycle.rotate_left(start);
            found.insert(cycle);
        }
    }
    found.into_iter().collect()
}

/// The nodes from `start` to `goal`, both included (breadth first, so the
/// same graph always gives the same path).
fn shortest_path(graph: &Graph, start: &str, goal: &str) -> Option<Vec<String>> {
    let mut came_from: BTreeMap<&str, &str> = BTreeMap::new();
    let mut queue = VecDeque::from([start]);
    while let Some(node) = queue.pop_front() {
        if node == goal {
            let mut path = vec![goal.to_string()];
            let mut at = goal;
            while at != start {
                at = came_from[at];
                path.push(at.to_string());
            }
            path.reverse();
            return Some(path);
        }
        for (from, to) in graph.edges.keys() {
            if from == node && to != start && !came_from.contains_key(to.as_str()) {
                came_from.insert(to, node);
                queue.push_back(to);
            }
        }
    }
    None
}

/// `src/store/gone.rs:24,26 src/store/mod.rs:3(test)`, at most `limit` sites.
pub fn sites(sites: &BTreeSet<Site>, limit: usize) -> String {
    let mut by_file: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for site in sites.iter().take(limit) {
        let test = if site.in_test { "(test)" } else { "" };
        by_file
            .entry(&site.file)
            .or_default()
            .push(format!("{}{test}", site.line));
    }
    let mut text: Vec<String> = by_file
        .iter()
        .map(|(f, lines)| format!("{f}:{}", lines.join(",")))
        .collect();
    if sites.len() > limit {
        text.push(format!("(+{} more)", sites.len() - limit));
    }
    text.join(" ")
}

/// One cycle, then every site of each of its arrows.
pub fn describe_cycle(graph: &Graph, cycle: &[String]) -> String {
    let mut ring = cycle.to_vec();
    ring.extend(cycle.first().cloned());
    let mut text = format!("  {}\n", ring.join(" → "));
    for pair in ring.windows(2) {
        let at = &graph.edges[&(pair[0].clone(), pair[1].clone())];
        text += &format!(
            "      {} → {}: {}\n",
            pair[0],
            pair[1],
            sites(at, usize::MAX)
        );
    }
    text
}

/// The whole graph: nodes, arrows with (a few of) their sites, cycles.
pub fn render(graph: &Graph) -> String {
    let mut text = format!(
        "{}\n  nodes: {}\n",
        graph.name,
        graph.nodes.iter().cloned().collect::<Vec<_>>().join(" ")
    );
    let width = graph
        .edges
        .keys()
        .map(|(a, b)| a.chars().count() + b.chars().count())
        .max()
        .unwrap_or(0);
    for ((from, to), at) in &graph.edges {
        let pad = " ".repeat(width - from.chars().count() - to.chars().count());
        text += &format!("  {from} → {to}{pad}  {}\n", sites(at, 3));
    }
    let cycles = cycles(graph);
    if cycles.is_empty() {
        text += "  cycles: none\n";
    } else {
        text += "  cycles:\n";
        for cycle in cycles {
            let mut ring = cycle.clone();
            ring.extend(cycle.first().cloned());
            text += &format!("    {}\n", ring.join(" → "));
        }
    }
    text
}
