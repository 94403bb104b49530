//! Pratt parser for Expr with expr-lang/expr v1.16's precedence table, including its
//! quirks: right-associative `**`/`^` binding tighter than unary minus, `not` binding
//! tighter than comparisons, and the rule that `??` cannot be mixed with another operator
//! without parentheses. Comparisons do not chain in v1.16.0 (`1 < x < 3` is
//! `(1 < x) < 3`, a type error); chaining arrived in v1.16.2.

use super::lexer::{Kind, Token};
pub use super::nesting::MAX_DEPTH;
use super::ExprError;

#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    Int(i64),
    Float(f64),
    Bool(bool),
    Str(String),
    Nil,
    Ident(String),
    Unary(String, Box<Spanned>),
    Binary(String, Box<Spanned>, Box<Spanned>),
    Cond(Box<Spanned>, Box<Spanned>, Box<Spanned>),
    Let(String, Box<Spanned>, Box<Spanned>),
    Call(String, Vec<Spanned>),
    Array(Vec<Spanned>),
    /// `a[x]`, `a.name` (the name as a `Str`), `a?.name` (optional: true).
    Member(Box<Spanned>, Box<Spanned>, bool),
    /// `a.name(args)`: a method (only time.Duration's exist in fas's env).
    Method(Box<Spanned>, String, Vec<Spanned>),
    /// A member chain holding a `?.`: nil as soon as an optional base is nil.
    Chain(Box<Spanned>),
    /// `a[from:to]`, either bound optional.
    Slice(Box<Spanned>, Option<Box<Spanned>>, Option<Box<Spanned>>),
    /// `{key: value, …}`; keys written as names or numbers are strings.
    Map(Vec<(Spanned, Spanned)>),
    /// A predicate's closure argument.
    Closure(Box<Spanned>),
    /// `#` (empty name), `#index`, `#acc`, and the base of `.name` inside a closure.
    Pointer(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Spanned {
    pub node: Node,
    pub line: usize,
    pub col: usize,
    /// Levels of nesting below and including this node (a leaf is 1).
    pub depth: usize,
}

fn binary_op(op: &str) -> Option<(u8, bool)> {
    // (precedence, right-associative)
    Some(match op {
        "|" => (0, false),
        "or" | "||" => (10, false),
        "and" | "&&" => (15, false),
        "==" | "!=" | "<" | ">" | ">=" | "<=" | "in" | "matches" | "contains" | "startsWith"
        | "endsWith" => (20, false),
        ".." => (25, false),
        "+" | "-" => (30, false),
        "*" | "/" | "%" => (60, false),
        "**" | "^" => (100, true),
        "??" => (200, false),
        _ => return None,
    })
}

fn unary_op(op: &str) -> Option<u8> {
    match op {
        "not" | "!" => Some(50),
        "-" | "+" => Some(90),
        _ => None,
    }
}

pub struct Parser {
    pub(super) tokens: Vec<Token>,
    pub(super) pos: usize,
    /// Closures being parsed: `#` and `.name` are pointers only inside one.
    pub(super) closures: usize,
    /// `expression` calls in progress: the parser's own recursion.
    nesting: usize,
    /// The nesting at which a `let` is top-level (hoisted to a Lua local): the whole
    /// expression, and the body of a top-level `let`.
    top_nesting: usize,
}

pub fn parse(tokens: Vec<Token>) -> Result<Spanned, ExprError> {
    let mut p = Parser {
        tokens,
        pos: 0,
        closures: 0,
        nesting: 0,
        top_nesting: 1,
    };
    let node = p.expression(0)?;
    if p.cur().kind != Kind::Eof {
        return Err(p.unexpected());
    }
    Ok(node)
}

impl Parser {
    pub(super) fn cur(&self) -> &Token {
        &self.tokens[self.pos.min(self.tokens.len() - 1)]
    }
    pub(super) fn advance(&mut self) {
        if self.pos < self.tokens.len() - 1 {
            self.pos += 1;
        }
    }
    pub(super) fn err_at(tok: &Token, msg: String) -> ExprError {
        ExprError::Syntax {
            msg,
            line: tok.line,
            col: tok.col,
        }
    }
    pub(super) fn unexpected(&self) -> ExprError {
        let t = self.cur();
        if t.kind == Kind::Eof {
            Self::err_at(t, "unexpected end of expression".into())
        } else {
            Self::err_at(t, format!("unexpected token {:?}({:?})", t.kind, t.value))
        }
    }
    pub(super) fn expect(&mut self, kind: Kind, value: &str) -> Result<(), ExprError> {
        if self.cur().is(kind, value) {
            self.advance();
            Ok(())
        } else {
            Err(self.unexpected())
        }
    }
    pub(super) fn spanned(tok: &Token, node: Node) -> Spanned {
        Spanned {
            depth: node.depth(false),
            node,
            line: tok.line,
            col: tok.col,
        }
    }

    pub(super) fn too_deep(tok: &Token) -> ExprError {
        Self::err_at(
            tok,
            format!("expression nested too deeply: more than {MAX_DEPTH} levels of operators, parentheses or calls; split it with `let` or simplify it"),
        )
    }

    /// Parses an expression, counting its own recursion: every way to nest
    /// (parentheses, unary operators, right operands, arguments) comes through here.
    pub(super) fn expression(&mut self, precedence: u8) -> Result<Spanned, ExprError> {
        if self.nesting >= MAX_DEPTH {
            return Err(Self::too_deep(self.cur()));
        }
        self.nesting += 1;
        let result = self.expression_inner(precedence);
        self.nesting -= 1;
        result
    }

    fn expression_inner(&mut self, precedence: u8) -> Result<Spanned, ExprError> {
        if precedence == 0 && self.cur().is(Kind::Operator, "let") {
            return self.let_declaration();
        }
        let mut left = self.primary()?;
        let mut prev_op = String::new();
        loop {
            let mut op_tok = self.cur().clone();
            if op_tok.kind != Kind::Operator {
                break;
            }
            let mut negate = false;
            if op_tok.value == "not" {
                let save = self.pos;
                self.advance();
                let next = self.cur().clone();
                let allowed = matches!(
                    next.value.as_str(),
                    "in" | "matches" | "contains" | "startsWith" | "endsWith"
                );
                if next.kind == Kind::Operator
                    && allowed
                    && binary_op(&next.value).is_some_and(|(p, _)| p >= precedence)
                {
                    negate = true;
                    op_tok = next;
                } else if allowed {
                    self.pos = save;
                    break;
                } else {
                    return Err(self.unexpected());
                }
            }
            let Some((op_prec, right_assoc)) = binary_op(&op_tok.value) else {
                break;
            };
            if op_prec < precedence {
                break;
            }
            self.advance();
            if op_tok.value == "|" {
                left = self.pipe(left)?;
                continue;
            }
            if prev_op == "??" && op_tok.value != "??" {
                return Err(Self::err_at(
                    &op_tok,
                    format!(
                        "Operator ({}) and coalesce expressions (??) cannot be mixed. Wrap either by parentheses.",
                        op_tok.value
                    ),
                ));
            }
            let right = self.expression(if right_assoc { op_prec } else { op_prec + 1 })?;
            left = Self::spanned(
                &op_tok,
                Node::Binary(op_tok.value.clone(), Box::new(left), Box::new(right)),
            );
            // A chain (`a + b + c …`) is a loop here but a tree as deep as it is long.
            if left.depth > MAX_DEPTH {
                return Err(Self::too_deep(&op_tok));
            }
            if negate {
                left = Self::spanned(&op_tok, Node::Unary("not".into(), Box::new(left)));
            }
            prev_op = op_tok.value.clone();
        }
        if precedence == 0 {
            left = self.conditional(left)?;
        }
        Ok(left)
    }

    fn let_declaration(&mut self) -> Result<Spanned, ExprError> {
        self.expect(Kind::Operator, "let")?;
        let name_tok = self.cur().clone();
        if name_tok.kind != Kind::Identifier {
            return Err(self.unexpected());
        }
        self.advance();
        self.expect(Kind::Operator, "=")?;
        let top = self.nesting == self.top_nesting;
        let value = self.expression(0)?;
        self.expect(Kind::Operator, ";")?;
        if top {
            self.top_nesting += 1;
        }
        let body = self.expression(0);
        if top {
            self.top_nesting -= 1;
        }
        let node = Node::Let(name_tok.value.clone(), Box::new(value), Box::new(body?));
        let mut let_node = Self::spanned(&name_tok, node);
        let_node.depth = let_node.node.depth(top);
        if let_node.depth > MAX_DEPTH {
            return Err(Self::too_deep(&name_tok));
        }
        Ok(let_node)
    }

    fn conditional(&mut self, mut node: Spanned) -> Result<Spanned, ExprError> {
        while self.cur().is(Kind::Operator, "?") {
            let tok = self.cur().clone();
            self.advance();
            let (a, b) = if self.cur().is(Kind::Operator, ":") {
                // v1.16.0 reads `c ?: b` as `c ? c : b` (so `c` must be a bool).
                self.advance();
                (node.clone(), self.expression(0)?)
            } else {
                let a = self.expression(0)?;
                self.expect(Kind::Operator, ":")?;
                let b = self.expression(0)?;
                (a, b)
            };
            node = Self::spanned(&tok, Node::Cond(Box::new(node), Box::new(a), Box::new(b)));
            if node.depth > MAX_DEPTH {
                return Err(Self::too_deep(&tok));
            }
        }
        Ok(node)
    }

    fn primary(&mut self) -> Result<Spanned, ExprError> {
        let tok = self.cur().clone();
        if tok.kind == Kind::Operator {
            if let Some(prec) = unary_op(&tok.value) {
                self.advance();
                let operand = self.expression(prec)?;
                let node = Self::spanned(&tok, Node::Unary(tok.value.clone(), Box::new(operand)));
                if node.depth > MAX_DEPTH {
                    return Err(Self::too_deep(&tok));
                }
                return self.postfix(node);
            }
            if matches!(tok.value.as_str(), "#" | ".") {
                return self.pointer();
            }
            if tok.value == "::" {
                self.advance();
                let name = self.cur().clone();
                if name.kind != Kind::Identifier {
                    return Err(self.unexpected());
                }
                self.advance();
                let node = self.call(&name, Vec::new())?;
                return self.postfix(node);
            }
        }
        if tok.is(Kind::Bracket, "(") {
            self.advance();
            let inner = self.expression(0)?;
            self.expect(Kind::Bracket, ")")?;
            return self.postfix(inner);
        }
        self.secondary()
    }

    fn secondary(&mut self) -> Result<Spanned, ExprError> {
        let tok = self.cur().clone();
        let node = match tok.kind {
            Kind::Identifier => {
                self.advance();
                match tok.value.as_str() {
                    "true" => return Ok(Self::spanned(&tok, Node::Bool(true))),
                    "false" => return Ok(Self::spanned(&tok, Node::Bool(false))),
                    "nil" => return Ok(Self::spanned(&tok, Node::Nil)),
                    _ if self.cur().is(Kind::Bracket, "(") => self.call(&tok, Vec::new())?,
                    _ => Self::spanned(&tok, Node::Ident(tok.value.clone())),
                }
            }
            Kind::Number => {
                self.advance();
                let node = number_literal(&tok.value).map_err(|m| Self::err_at(&tok, m))?;
                return Ok(Self::spanned(&tok, node));
            }
            // v1.16.0 reads no postfix after a string literal (`"ab"[0]` is an error).
            Kind::Str => {
                self.advance();
                return Ok(Self::spanned(&tok, Node::Str(tok.value.clone())));
            }
            Kind::Bracket if tok.value == "[" => {
                self.advance();
                let mut items = Vec::new();
                while !self.cur().is(Kind::Bracket, "]") {
                    if !items.is_empty() {
                        self.expect(Kind::Operator, ",")?;
                        if self.cur().is(Kind::Bracket, "]") {
                            break;
                        }
                    }
                    items.push(self.expression(0)?);
                }
                self.expect(Kind::Bracket, "]")?;
                Self::spanned(&tok, Node::Array(items))
            }
            Kind::Bracket if tok.value == "{" => self.map_literal()?,
            _ => return Err(self.unexpected()),
        };
        self.postfix(node)
    }
}

/// Number literal rules of Expr: underscores ignored, hex/octal/binary ints, anything
/// with `.` or `e` a float; ints must fit in int64.
fn number_literal(text: &str) -> Result<Node, String> {
    let value = text.replace('_', "");
    let lower = value.to_ascii_lowercase();
    let radix_int = |digits: &str, radix: u32, what: &str| {
        i64::from_str_radix(digits, radix)
            .map(Node::Int)
            .map_err(|_| format!("invalid {what} literal: {text}"))
    };
    if let Some(d) = lower.strip_prefix("0x") {
        radix_int(d, 16, "hex")
    } else if lower.contains('.') || lower.contains('e') {
        match lower.parse::<f64>() {
            Ok(f) if f.is_finite() => Ok(Node::Float(f)),
            _ => Err(format!("invalid float literal: {text}")),
        }
    } else if let Some(d) = lower.strip_prefix("0b") {
        radix_int(d, 2, "binary")
    } else if let Some(d) = lower.strip_prefix("0o") {
        radix_int(d, 8, "octal")
    } else {
        radix_int(&lower, 10, "integer")
    }
}
