//! The parts of Expr's grammar after a primary value: calls (with predicates' closure
//! arguments and the pipe `a | f(…)`), member access `.name`/`?.name`/`[x]`, slices
//! `[i:j]`, methods, map literals and the `#` pointers of closures — as v1.16.0's
//! parser reads them.

use super::lexer::Kind;
use super::lexer::Token;
use super::parser::{Node, Parser, Spanned};
use super::ExprError;

/// Builtins whose second argument is a closure (`reduce` takes an optional third).
fn predicate_arity(name: &str) -> Option<usize> {
    match name {
        "all" | "none" | "any" | "one" | "filter" | "map" | "count" | "find" | "findIndex"
        | "findLast" | "findLastIndex" | "groupBy" => Some(2),
        "reduce" => Some(3),
        _ => None,
    }
}

impl Parser {
    /// `name(…)` with `piped` already-parsed first arguments (the left of `|`).
    pub(super) fn call(&mut self, name: &Token, piped: Vec<Spanned>) -> Result<Spanned, ExprError> {
        let args = match predicate_arity(&name.value) {
            Some(arity) => self.predicate_arguments(arity, piped)?,
            None => self.arguments(piped)?,
        };
        let node = Self::spanned(name, Node::Call(name.value.clone(), args));
        self.checked(name, node)
    }

    fn checked(&self, tok: &Token, node: Spanned) -> Result<Spanned, ExprError> {
        if node.depth > super::parser::MAX_DEPTH {
            return Err(Self::too_deep(tok));
        }
        Ok(node)
    }

    fn arguments(&mut self, mut args: Vec<Spanned>) -> Result<Vec<Spanned>, ExprError> {
        let offset = args.len();
        self.expect(Kind::Bracket, "(")?;
        while !self.cur().is(Kind::Bracket, ")") {
            if args.len() > offset {
                self.expect(Kind::Operator, ",")?;
            }
            if self.cur().kind == Kind::Eof {
                return Err(self.unexpected());
            }
            args.push(self.expression(0)?);
        }
        self.expect(Kind::Bracket, ")")?;
        Ok(args)
    }

    /// A predicate's arguments: the collection (unless piped), the closure, and for
    /// `reduce` an optional initial value.
    fn predicate_arguments(
        &mut self,
        arity: usize,
        mut args: Vec<Spanned>,
    ) -> Result<Vec<Spanned>, ExprError> {
        self.expect(Kind::Bracket, "(")?;
        let first = args.len();
        for i in first..arity {
            let optional = i == 2;
            if self.cur().is(Kind::Bracket, ")") {
                if optional {
                    break;
                }
                let tok = self.cur().clone();
                return Err(Self::err_at(
                    &tok,
                    format!("expected at least {} arguments", 2 - first),
                ));
            }
            if i > first {
                self.expect(Kind::Operator, ",")?;
            }
            let arg = if i == 1 {
                self.closure()?
            } else {
                self.expression(0)?
            };
            args.push(arg);
        }
        self.expect(Kind::Bracket, ")")?;
        Ok(args)
    }

    /// A closure: an expression (optionally in braces) where `#` is the element.
    fn closure(&mut self) -> Result<Spanned, ExprError> {
        let tok = self.cur().clone();
        let braces = tok.is(Kind::Bracket, "{");
        if braces {
            self.advance();
        }
        self.closures += 1;
        let body = self.expression(0);
        self.closures -= 1;
        let body = body?;
        if braces {
            self.expect(Kind::Bracket, "}")?;
        }
        let node = Self::spanned(&tok, Node::Closure(Box::new(body)));
        self.checked(&tok, node)
    }

    /// `left | name(args)`: `left` becomes the first argument.
    pub(super) fn pipe(&mut self, left: Spanned) -> Result<Spanned, ExprError> {
        let name = self.cur().clone();
        if name.kind != Kind::Identifier {
            return Err(self.unexpected());
        }
        self.advance();
        self.call(&name, vec![left])
    }

    /// `#`, `#index`, `#acc`, or `.name` on the closure's element.
    pub(super) fn pointer(&mut self) -> Result<Spanned, ExprError> {
        let tok = self.cur().clone();
        if self.closures == 0 {
            return Err(Self::err_at(
                &tok,
                "cannot use pointer accessor outside closure".into(),
            ));
        }
        let mut name = String::new();
        if tok.value == "#" {
            self.advance();
            if self.cur().kind == Kind::Identifier {
                name = self.cur().value.clone();
                self.advance();
            }
        }
        let node = Self::spanned(&tok, Node::Pointer(name));
        self.postfix(node)
    }

    pub(super) fn map_literal(&mut self) -> Result<Spanned, ExprError> {
        let open = self.cur().clone();
        self.expect(Kind::Bracket, "{")?;
        let mut pairs = Vec::new();
        while !self.cur().is(Kind::Bracket, "}") {
            if !pairs.is_empty() {
                self.expect(Kind::Operator, ",")?;
                if self.cur().is(Kind::Bracket, "}") {
                    break;
                }
            }
            let tok = self.cur().clone();
            let key = match tok.kind {
                Kind::Number | Kind::Str | Kind::Identifier => {
                    self.advance();
                    Self::spanned(&tok, Node::Str(tok.value.clone()))
                }
                Kind::Bracket if tok.value == "(" => self.expression(0)?,
                _ => {
                    return Err(Self::err_at(
                        &tok,
                        format!("a map key must be a quoted string, a number, a identifier, or an expression enclosed in parentheses (unexpected token {:?}({:?}))", tok.kind, tok.value),
                    ))
                }
            };
            self.expect(Kind::Operator, ":")?;
            let value = self.expression(0)?;
            pairs.push((key, value));
        }
        self.expect(Kind::Bracket, "}")?;
        let node = Self::spanned(&open, Node::Map(pairs));
        self.checked(&open, node)
    }

    pub(super) fn postfix(&mut self, mut node: Spanned) -> Result<Spanned, ExprError> {
        loop {
            let tok = self.cur().clone();
            node = match (tok.kind, tok.value.as_str()) {
                (Kind::Operator, "." | "?.") => {
                    self.advance();
                    let prop = self.cur().clone();
                    let word = prop.value.chars().all(|c| c.is_alphanumeric() || c == '_')
                        && !prop.value.is_empty();
                    if !(prop.kind == Kind::Identifier || prop.kind == Kind::Operator && word) {
                        return Err(Self::err_at(&prop, "expected name".into()));
                    }
                    self.advance();
                    let optional = tok.value == "?.";
                    let (base, chained) = match node.node {
                        Node::Chain(inner) => (*inner, true),
                        _ => (node, false),
                    };
                    let mut out = if self.cur().is(Kind::Bracket, "(") {
                        let args = self.arguments(Vec::new())?;
                        Self::spanned(
                            &prop,
                            Node::Method(Box::new(base), prop.value.clone(), args),
                        )
                    } else {
                        let name = Self::spanned(&prop, Node::Str(prop.value.clone()));
                        Self::spanned(&tok, Node::Member(Box::new(base), Box::new(name), optional))
                    };
                    if chained || optional {
                        out = Self::spanned(&tok, Node::Chain(Box::new(out)));
                    }
                    out
                }
                (Kind::Bracket, "[") => {
                    self.advance();
                    let from = if self.cur().is(Kind::Operator, ":") {
                        None
                    } else {
                        Some(Box::new(self.expression(0)?))
                    };
                    if self.cur().is(Kind::Operator, ":") {
                        self.advance();
                        let to = if self.cur().is(Kind::Bracket, "]") {
                            None
                        } else {
                            Some(Box::new(self.expression(0)?))
                        };
                        self.expect(Kind::Bracket, "]")?;
                        Self::spanned(&tok, Node::Slice(Box::new(node), from, to))
                    } else {
                        self.expect(Kind::Bracket, "]")?;
                        let from = from.expect("an index unless `[:`");
                        Self::spanned(&tok, Node::Member(Box::new(node), from, false))
                    }
                }
                _ => return Ok(node),
            };
            node = self.checked(&tok, node)?;
        }
    }
}
