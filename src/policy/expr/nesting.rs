//! How deep an Expr nests, counted as the parser builds it: the translation nests
//! as deep in Lua, whose parser stops near 200 levels.

use super::parser::{Node, Spanned};

/// The deepest expression fas accepts. The translation nests in Lua up to three
/// parser levels per level here (a unary operator on a call, a closure for `??`),
/// and Lua's parser stops at 200; no recursion over the tree (parse, translate,
/// drop) may come near a thread's stack either. A clear error is better than both.
/// Upstream accepts deeper ones; top-level `let`s do not nest, so a longer sum is
/// written `let a = q1 + … + q50; a + q51 + …`.
pub const MAX_DEPTH: usize = 64;

impl Node {
    pub(super) fn depth(&self, top_level: bool) -> usize {
        let d = |n: &Spanned| n.depth;
        let most = |ns: &[Spanned]| ns.iter().map(d).max().unwrap_or(0);
        match self {
            // Lua parses a unary operator on a parenthesised operand two levels deep.
            Node::Unary(_, a) => d(a).saturating_add(1),
            Node::Binary(_, a, b) | Node::Member(a, b, _) => d(a).max(d(b)),
            Node::Method(a, _, args) => d(a).max(most(args)),
            // A chain and a closure each become a Lua function: two more levels.
            Node::Chain(a) | Node::Closure(a) => d(a).saturating_add(2),
            Node::Slice(a, b, c) => d(a)
                .max(b.as_ref().map_or(0, |b| d(b)))
                .max(c.as_ref().map_or(0, |c| d(c))),
            Node::Map(pairs) => pairs.iter().map(|(k, v)| d(k).max(d(v))).max().unwrap_or(0),
            Node::Cond(a, b, c) => d(a).max(d(b)).max(d(c)),
            // A `let` inside parentheses becomes a closure: three levels.
            Node::Let(_, v, body) if !top_level => d(v).max(d(body)).saturating_add(2),
            // A top-level `let` becomes a Lua local: its value and body do not nest.
            Node::Let(_, v, body) => return d(v).max(d(body)),
            Node::Call(_, args) | Node::Array(args) => most(args),
            _ => 0,
        }
        .saturating_add(1)
    }
}
