//! Static types of Expr values and the typing rules of its operators and builtins, as
//! expr-lang/expr v1.16's checker applies them. Metrics are float64; integer literals are
//! int; `/` and `**` always give float; `%` wants ints; conditions want bools.

use std::fmt;

#[derive(Debug, Clone, PartialEq)]
pub enum Ty {
    Int,
    Float,
    Bool,
    Str,
    Nil,
    Array(Box<Ty>),
    /// Go's `interface{}`: the type is only known when the expression runs.
    Any,
}

impl fmt::Display for Ty {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Ty::Int => write!(f, "int"),
            Ty::Float => write!(f, "float64"),
            Ty::Bool => write!(f, "bool"),
            Ty::Str => write!(f, "string"),
            Ty::Nil => write!(f, "nil"),
            Ty::Array(t) => write!(
                f,
                "[]{}",
                if **t == Ty::Any {
                    "interface {}".to_string()
                } else {
                    t.to_string()
                }
            ),
            Ty::Any => write!(f, "interface {{}}"),
        }
    }
}

impl Ty {
    pub fn is_number(&self) -> bool {
        matches!(self, Ty::Int | Ty::Float)
    }
    /// Unknown until run time: Go's interface{} and the untyped nil.
    pub fn is_unknown(&self) -> bool {
        matches!(self, Ty::Any | Ty::Nil)
    }
    fn number_or_unknown(&self) -> bool {
        self.is_number() || self.is_unknown()
    }
    fn bool_or_unknown(&self) -> bool {
        *self == Ty::Bool || self.is_unknown()
    }
    /// A value of this type is never Lua's `nil` or `false`, so `c and a or b` is safe.
    pub fn always_truthy(&self) -> bool {
        matches!(self, Ty::Int | Ty::Float | Ty::Str | Ty::Array(_))
    }
}

fn mismatched(op: &str, l: &Ty, r: &Ty) -> String {
    format!("invalid operation: {op} (mismatched types {l} and {r})")
}

/// Result type of a binary operator, or the checker's error message.
pub fn binary(op: &str, l: &Ty, r: &Ty) -> Result<Ty, String> {
    let unknown = l.is_unknown() || r.is_unknown();
    match op {
        "==" | "!=" => {
            if unknown
                || (l.is_number() && r.is_number())
                || l == r
                || matches!((l, r), (Ty::Array(_), Ty::Array(_)))
            {
                Ok(Ty::Bool)
            } else {
                Err(mismatched(op, l, r))
            }
        }
        "or" | "||" | "and" | "&&" => {
            if l.bool_or_unknown() && r.bool_or_unknown() {
                Ok(Ty::Bool)
            } else {
                Err(mismatched(op, l, r))
            }
        }
        "<" | ">" | "<=" | ">=" => {
            let strings = (*l == Ty::Str || l.is_unknown()) && (*r == Ty::Str || r.is_unknown());
            if (l.number_or_unknown() && r.number_or_unknown()) || strings {
                Ok(Ty::Bool)
            } else {
                Err(mismatched(op, l, r))
            }
        }
        "-" | "*" | "+" => {
            if *l == Ty::Int && *r == Ty::Int {
                Ok(Ty::Int)
            } else if l.is_number() && r.is_number() {
                Ok(Ty::Float)
            } else if op == "+" && *l == Ty::Str && *r == Ty::Str {
                Ok(Ty::Str)
            } else if unknown
                && (l.number_or_unknown() || *l == Ty::Str)
                && (r.number_or_unknown() || *r == Ty::Str)
            {
                Ok(Ty::Any)
            } else {
                Err(mismatched(op, l, r))
            }
        }
        "/" | "**" | "^" => {
            if l.number_or_unknown() && r.number_or_unknown() {
                Ok(Ty::Float)
            } else {
                Err(mismatched(op, l, r))
            }
        }
        "%" => {
            let int_or_unknown = |t: &Ty| *t == Ty::Int || t.is_unknown();
            if int_or_unknown(l) && int_or_unknown(r) {
                Ok(Ty::Int)
            } else {
                Err(mismatched(op, l, r))
            }
        }
        ".." => {
            let int_or_unknown = |t: &Ty| *t == Ty::Int || t.is_unknown();
            if int_or_unknown(l) && int_or_unknown(r) {
                Ok(Ty::Array(Box::new(Ty::Int)))
            } else {
                Err(mismatched(op, l, r))
            }
        }
        "in" => match r {
            Ty::Array(_) | Ty::Any => Ok(Ty::Bool),
            _ => Err(mismatched(op, l, r)),
        },
        "contains" | "startsWith" | "endsWith" => {
            let str_or_unknown = |t: &Ty| *t == Ty::Str || t.is_unknown();
            if str_or_unknown(l) && str_or_unknown(r) {
                Ok(Ty::Bool)
            } else {
                Err(mismatched(op, l, r))
            }
        }
        "??" => Ok(match (l, r) {
            (Ty::Nil, r) => r.clone(),
            (l, Ty::Nil) => l.clone(),
            (l, r) if l == r => l.clone(),
            _ => Ty::Any,
        }),
        "matches" => Err("unsupported Expr feature: `matches` (regular expressions)".into()),
        _ => Err(format!("unsupported Expr feature: operator `{op}`")),
    }
}

pub fn unary(op: &str, t: &Ty) -> Result<Ty, String> {
    match op {
        "not" | "!" if t.bool_or_unknown() => Ok(Ty::Bool),
        "-" | "+" if t.is_number() => Ok(t.clone()),
        "-" | "+" if t.is_unknown() => Ok(Ty::Any),
        _ => Err(format!("invalid operation: {op} (mismatched type {t})")),
    }
}

/// Type of `c ? a : b` once `c` is known to be a bool.
pub fn conditional(a: &Ty, b: &Ty) -> Ty {
    if a == b {
        a.clone()
    } else {
        Ty::Any
    }
}

pub fn index(base: &Ty, idx: &Ty) -> Result<Ty, String> {
    match base {
        Ty::Array(elem) => {
            if *idx == Ty::Int || idx.is_unknown() {
                Ok((**elem).clone())
            } else {
                Err(format!(
                    "array elements can only be selected using an integer (got {idx})"
                ))
            }
        }
        Ty::Any | Ty::Nil => Ok(Ty::Any),
        Ty::Str => Err("unsupported Expr feature: indexing a string".into()),
        other => Err(format!("type {other}[{idx}] is undefined")),
    }
}

/// Element type shared by every item of an array literal, else `Any`.
pub fn array_of(items: &[Ty]) -> Ty {
    let elem = match items.split_first() {
        Some((first, rest)) if rest.iter().all(|t| t == first) => first.clone(),
        _ => Ty::Any,
    };
    Ty::Array(Box::new(elem))
}

/// The numeric builtins fas translates. Returns the result type.
pub fn builtin(name: &str, args: &[Ty]) -> Result<Ty, String> {
    let one = || {
        if args.len() == 1 {
            Ok(&args[0])
        } else {
            Err(format!(
                "invalid number of arguments (expected 1, got {})",
                args.len()
            ))
        }
    };
    let invalid = |t: &Ty| format!("invalid argument for {name} (type {t})");
    match name {
        "abs" => {
            let t = one()?;
            if t.is_number() {
                Ok(t.clone())
            } else if t.is_unknown() {
                Ok(Ty::Any)
            } else {
                Err(invalid(t))
            }
        }
        "ceil" | "floor" | "round" => {
            let t = one()?;
            if t.number_or_unknown() {
                Ok(Ty::Float)
            } else {
                Err(invalid(t))
            }
        }
        "int" | "float" => {
            let t = one()?;
            if t.number_or_unknown() || *t == Ty::Str {
                Ok(if name == "int" { Ty::Int } else { Ty::Float })
            } else {
                Err(invalid(t))
            }
        }
        "len" => {
            let t = one()?;
            match t {
                Ty::Array(_) | Ty::Str | Ty::Any | Ty::Nil => Ok(Ty::Int),
                _ => Err(invalid(t)),
            }
        }
        "min" | "max" | "mean" | "median" => {
            if args.is_empty() {
                return Err(format!("not enough arguments to call {name}"));
            }
            let mut aggregate = false;
            for t in args {
                match t {
                    Ty::Array(_) | Ty::Any | Ty::Nil => aggregate = true,
                    t if t.is_number() => {}
                    t => return Err(invalid(t)),
                }
            }
            if matches!(name, "mean" | "median") {
                Ok(Ty::Float)
            } else if aggregate {
                Ok(Ty::Any)
            } else {
                // Expr types min/max by their first argument, whatever the others are.
                Ok(args[0].clone())
            }
        }
        "sum" => match one()? {
            Ty::Array(elem) if **elem == Ty::Int => Ok(Ty::Int),
            Ty::Array(elem) if **elem == Ty::Float => Ok(Ty::Float),
            Ty::Array(_) | Ty::Any | Ty::Nil => Ok(Ty::Any),
            t => Err(invalid(t)),
        },
        _ => Err(format!("unsupported Expr feature: builtin {name}()")),
    }
}

/// The builtins fas translates.
pub const TRANSLATED_BUILTINS: &[&str] = &[
    "abs", "ceil", "floor", "round", "int", "float", "len", "min", "max", "mean", "median", "sum",
];

pub fn is_builtin(name: &str) -> bool {
    TRANSLATED_BUILTINS.contains(&name) || UNSUPPORTED_BUILTINS.contains(&name)
}

/// Builtins of Expr v1.16 that fas does not translate (rejected with a clear message).
pub const UNSUPPORTED_BUILTINS: &[&str] = &[
    "all",
    "none",
    "any",
    "one",
    "filter",
    "map",
    "find",
    "findIndex",
    "findLast",
    "findLastIndex",
    "count",
    "groupBy",
    "sortBy",
    "reduce",
    "type",
    "string",
    "trim",
    "trimPrefix",
    "trimSuffix",
    "upper",
    "lower",
    "split",
    "splitAfter",
    "replace",
    "repeat",
    "join",
    "indexOf",
    "lastIndexOf",
    "hasPrefix",
    "hasSuffix",
    "toJSON",
    "fromJSON",
    "toBase64",
    "fromBase64",
    "now",
    "duration",
    "date",
    "first",
    "last",
    "get",
    "take",
    "keys",
    "values",
    "toPairs",
    "fromPairs",
    "sort",
    "bitand",
    "bitor",
    "bitxor",
    "bitnand",
    "bitnot",
    "bitshl",
    "bitshr",
    "bitushr",
];
