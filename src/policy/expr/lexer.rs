//! Tokenizer for Expr source text, following expr-lang/expr v1.16's lexer rules
//! (number syntax, `//` and `/* */` comments, `not in` folding, `?.`/`??`).

use super::ExprError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Identifier,
    Number,
    Str,
    Operator,
    Bracket,
    Eof,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Token {
    pub kind: Kind,
    pub value: String,
    /// 1-based line and column of the token's first character.
    pub line: usize,
    pub col: usize,
}

impl Token {
    pub fn is(&self, kind: Kind, value: &str) -> bool {
        self.kind == kind && self.value == value
    }
}

/// Expr treats `_`, `$`, letters and digits as identifier characters.
fn is_alnum(c: char) -> bool {
    c == '_' || c == '$' || c.is_alphabetic() || c.is_numeric()
}

struct Lexer {
    chars: Vec<char>,
    start: usize,
    pos: usize,
    tokens: Vec<Token>,
    /// (position, line, column) last located: tokens come in order, so locating
    /// the next one walks on from here (a rescan per token is quadratic).
    located: std::cell::Cell<(usize, usize, usize)>,
}

pub fn lex(src: &str) -> Result<Vec<Token>, ExprError> {
    let mut lx = Lexer {
        chars: src.chars().collect(),
        start: 0,
        pos: 0,
        tokens: Vec::new(),
        located: std::cell::Cell::new((0, 1, 1)),
    };
    lx.run()?;
    Ok(lx.tokens)
}

impl Lexer {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }
    fn next(&mut self) -> Option<char> {
        let c = self.peek();
        if c.is_some() {
            self.pos += 1;
        }
        c
    }
    fn accept(&mut self, set: &str) -> bool {
        match self.peek() {
            Some(c) if set.contains(c) => {
                self.pos += 1;
                true
            }
            _ => false,
        }
    }
    fn accept_run(&mut self, set: &str) {
        while self.accept(set) {}
    }
    fn location(&self, at: usize) -> (usize, usize) {
        let at = at.min(self.chars.len());
        let (from, mut line, mut col) = match self.located.get() {
            cached @ (pos, _, _) if pos <= at => cached,
            _ => (0, 1, 1),
        };
        for &c in &self.chars[from..at] {
            if c == '\n' {
                line += 1;
                col = 1;
            } else {
                col += 1;
            }
        }
        self.located.set((at, line, col));
        (line, col)
    }
    fn error_at(&self, at: usize, msg: String) -> ExprError {
        let (line, col) = self.location(at);
        ExprError::Syntax { msg, line, col }
    }
    fn emit_value(&mut self, kind: Kind, value: String) {
        let (line, col) = self.location(self.start);
        self.tokens.push(Token {
            kind,
            value,
            line,
            col,
        });
        self.start = self.pos;
    }
    fn emit(&mut self, kind: Kind) {
        let word: String = self.chars[self.start..self.pos].iter().collect();
        self.emit_value(kind, word);
    }
    fn word(&self) -> String {
        self.chars[self.start..self.pos].iter().collect()
    }

    fn run(&mut self) -> Result<(), ExprError> {
        loop {
            self.start = self.pos;
            let Some(c) = self.next() else {
                self.emit_value(Kind::Eof, String::new());
                return Ok(());
            };
            match c {
                c if c.is_whitespace() => {}
                '\'' | '"' => self.string(c)?,
                '`' => self.raw_string()?,
                '0'..='9' => {
                    self.pos -= 1;
                    self.number()?;
                }
                '?' => {
                    self.accept(".?");
                    self.emit(Kind::Operator);
                }
                '/' => {
                    if self.accept("/") {
                        while let Some(c) = self.next() {
                            if c == '\n' {
                                break;
                            }
                        }
                    } else if self.accept("*") {
                        self.block_comment()?;
                    } else {
                        self.emit(Kind::Operator);
                    }
                }
                '#' => self.emit(Kind::Operator),
                '|' => {
                    self.accept("|");
                    self.emit(Kind::Operator);
                }
                ':' => {
                    self.accept(":");
                    self.emit(Kind::Operator);
                }
                '(' | '[' | '{' | ')' | ']' | '}' => self.emit(Kind::Bracket),
                ',' | ';' | '%' | '+' | '-' | '^' => self.emit(Kind::Operator),
                '&' | '!' | '=' | '*' | '<' | '>' => {
                    self.accept("&=*");
                    self.emit(Kind::Operator);
                }
                '.' => {
                    if matches!(self.peek(), Some('0'..='9')) {
                        self.number()?;
                    } else {
                        self.accept(".");
                        self.emit(Kind::Operator);
                    }
                }
                c if is_alnum(c) => {
                    self.pos -= 1;
                    self.identifier();
                }
                c => {
                    return Err(self.error_at(self.start, format!("unrecognized character: {c:?}")));
                }
            }
        }
    }

    fn number(&mut self) -> Result<(), ExprError> {
        let mut digits = "0123456789_";
        if self.accept("0") {
            if self.accept("xX") {
                digits = "0123456789abcdefABCDEF_";
            } else if self.accept("oO") {
                digits = "01234567_";
            } else if self.accept("bB") {
                digits = "01_";
            }
        }
        self.accept_run(digits);
        let end = self.pos;
        if self.accept(".") {
            if self.peek() == Some('.') {
                // `1..2` is a range: the dot belongs to the `..` operator.
                self.pos = end;
                self.emit(Kind::Number);
                return Ok(());
            }
            self.accept_run(digits);
        }
        if self.accept("eE") {
            self.accept("+-");
            self.accept_run(digits);
        }
        if self.peek().is_some_and(is_alnum) {
            self.next();
            return Err(self.error_at(self.start, format!("bad number syntax: {:?}", self.word())));
        }
        self.emit(Kind::Number);
        Ok(())
    }

    fn identifier(&mut self) {
        while self.peek().is_some_and(is_alnum) {
            self.pos += 1;
        }
        let word = self.word();
        match word.as_str() {
            "not" => self.not(),
            "in" | "or" | "and" | "matches" | "contains" | "startsWith" | "endsWith" | "let" => {
                self.emit(Kind::Operator)
            }
            _ => self.emit(Kind::Identifier),
        }
    }

    /// `not in` and friends become one operator token, as in Expr.
    fn not(&mut self) {
        self.emit(Kind::Operator);
        let save = self.pos;
        while self.peek().is_some_and(char::is_whitespace) {
            self.pos += 1;
        }
        let word_start = self.pos;
        while self.peek().is_some_and(is_alnum) {
            self.pos += 1;
        }
        let word: String = self.chars[word_start..self.pos].iter().collect();
        if matches!(
            word.as_str(),
            "in" | "matches" | "contains" | "startsWith" | "endsWith"
        ) {
            self.start = word_start;
            self.emit(Kind::Operator);
        } else {
            self.pos = save;
            self.start = save;
        }
    }

    fn block_comment(&mut self) -> Result<(), ExprError> {
        loop {
            match self.next() {
                None => return Err(self.error_at(self.start, "unclosed comment".into())),
                Some('*') if self.peek() == Some('/') => {
                    self.pos += 1;
                    return Ok(());
                }
                _ => {}
            }
        }
    }

    fn string(&mut self, quote: char) -> Result<(), ExprError> {
        let mut out = String::new();
        loop {
            match self.next() {
                None | Some('\n') => {
                    return Err(self.error_at(self.start, "literal not terminated".into()))
                }
                Some(c) if c == quote => break,
                Some('\\') => {
                    let e = self.next().ok_or_else(|| {
                        self.error_at(self.start, "literal not terminated".into())
                    })?;
                    out.push(match e {
                        'n' => '\n',
                        't' => '\t',
                        'r' => '\r',
                        'a' => '\u{7}',
                        'b' => '\u{8}',
                        'f' => '\u{c}',
                        'v' => '\u{b}',
                        '\\' | '\'' | '"' | '`' => e,
                        _ => {
                            return Err(
                                self.error_at(self.start, format!("invalid char escape: \\{e}"))
                            )
                        }
                    });
                }
                Some(c) => out.push(c),
            }
        }
        self.emit_value(Kind::Str, out);
        Ok(())
    }

    fn raw_string(&mut self) -> Result<(), ExprError> {
        let mut out = String::new();
        loop {
            match self.next() {
                None => return Err(self.error_at(self.start, "literal not terminated".into())),
                Some('`') => break,
                Some(c) => out.push(c),
            }
        }
        self.emit_value(Kind::Str, out);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(src: &str) -> Vec<(Kind, String)> {
        lex(src)
            .unwrap()
            .into_iter()
            .map(|t| (t.kind, t.value))
            .collect()
    }

    #[test]
    fn numbers_follow_expr_syntax() {
        for (src, want) in [
            ("1_000", "1_000"),
            ("0x1F", "0x1F"),
            (".5", ".5"),
            ("5.", "5."),
            ("1e3", "1e3"),
        ] {
            assert_eq!(kinds(src)[0], (Kind::Number, want.to_string()), "{src}");
        }
        assert_eq!(
            kinds("1..3")
                .iter()
                .map(|t| t.1.as_str())
                .collect::<Vec<_>>(),
            ["1", "..", "3", ""]
        );
        assert!(lex("12abc").is_err());
    }

    #[test]
    fn double_slash_starts_a_comment() {
        assert_eq!(
            kinds("1 // 2"),
            vec![(Kind::Number, "1".into()), (Kind::Eof, "".into())]
        );
        assert_eq!(kinds("1 /* x */ + 2").len(), 4);
    }

    #[test]
    fn not_in_is_one_operator_pair() {
        let toks = kinds("x not in [1]");
        assert_eq!(toks[1], (Kind::Operator, "not".into()));
        assert_eq!(toks[2], (Kind::Operator, "in".into()));
        let toks = kinds("not x");
        assert_eq!(toks[1], (Kind::Identifier, "x".into()));
    }
}
