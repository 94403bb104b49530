//! What v1.16.0's optimizer computes before a program runs (optimizer/fold.go), where
//! fas must answer as it does: a constant `%` by zero is a compile error there.

use super::parser::{Node, Spanned};

/// The value an integer constant folds to, as v1.16.0's optimizer folds it (literals,
/// unary signs, `+ - * %` of folded integers, Go's wrapping arithmetic); None for
/// anything it leaves to run time.
pub(super) fn const_int(n: &Spanned) -> Option<i64> {
    match &n.node {
        Node::Int(i) => Some(*i),
        Node::Unary(op, x) if op == "-" => const_int(x).map(i64::wrapping_neg),
        Node::Unary(op, x) if op == "+" => const_int(x),
        Node::Binary(op, l, r) => {
            let (a, b) = (const_int(l)?, const_int(r)?);
            match op.as_str() {
                "+" => Some(a.wrapping_add(b)),
                "-" => Some(a.wrapping_sub(b)),
                "*" => Some(a.wrapping_mul(b)),
                "%" if b != 0 => Some(a.wrapping_rem(b)),
                _ => None,
            }
        }
        _ => None,
    }
}
