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
    /// `map[key]value`: `map[string]interface {}` for literals and `$env`.
    Map(Box<Ty>, Box<Ty>),
    /// Go's time.Duration (an int64 kind, so a number to the checker).
    Duration,
    /// Go's time.Time.
    Time,
    /// A named int of Go's time package (time.Month, time.Weekday): a number to the
    /// checker, equal to nothing but its own kind at run time.
    Named(&'static str),
    /// A builtin named as a value (`let f = len`): v1.16.0 types it as the function and
    /// gives nil at run time; it compares, it cannot be called or computed with.
    Func,
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
            Ty::Nil => write!(f, "<nil>"),
            Ty::Array(t) => write!(
                f,
                "[]{}",
                if **t == Ty::Any {
                    "interface {}".to_string()
                } else {
                    t.to_string()
                }
            ),
            Ty::Map(k, v) => write!(f, "map[{k}]{v}"),
            Ty::Duration => write!(f, "time.Duration"),
            Ty::Time => write!(f, "time.Time"),
            Ty::Named(n) => write!(f, "{n}"),
            Ty::Func => write!(f, "func(...interface {{}}) (interface {{}}, error)"),
            Ty::Any => write!(f, "interface {{}}"),
        }
    }
}

impl Ty {
    pub fn is_number(&self) -> bool {
        matches!(self, Ty::Int | Ty::Float)
    }
    /// Upstream's isInteger: every integer kind, time.Duration included.
    pub fn is_integer(&self) -> bool {
        matches!(self, Ty::Int | Ty::Duration | Ty::Named(_))
    }
    /// The `[]interface {}` every array literal and most array builtins give.
    pub fn any_array() -> Ty {
        Ty::Array(Box::new(Ty::Any))
    }
    /// `map[string]interface {}`: map literals, `$env`, fromPairs.
    pub fn any_map() -> Ty {
        Ty::Map(Box::new(Ty::Str), Box::new(Ty::Any))
    }
    /// Unknown until run time: Go's interface{} and the untyped nil.
    pub fn is_unknown(&self) -> bool {
        matches!(self, Ty::Any | Ty::Nil)
    }
    /// Go's interface{} only: the operators' checks let it through, but not the
    /// untyped nil (`nil + 1`, `!nil`, `nil ? a : b` are compile errors in v1.16.0).
    pub fn is_any(&self) -> bool {
        *self == Ty::Any
    }
    fn number_or_unknown(&self) -> bool {
        self.is_number() || self.is_any()
    }
    fn bool_or_unknown(&self) -> bool {
        *self == Ty::Bool || self.is_any()
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
    if let Some(t) = super::time_types::binary(op, l, r) {
        return t;
    }
    let unknown = l.is_any() || r.is_any();
    match op {
        "==" | "!=" => {
            if l.is_unknown()
                || r.is_unknown()
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
            let strings = (*l == Ty::Str || l.is_any()) && (*r == Ty::Str || r.is_any());
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
            let int_or_unknown = |t: &Ty| *t == Ty::Int || t.is_any();
            if int_or_unknown(l) && int_or_unknown(r) {
                Ok(Ty::Int)
            } else {
                Err(mismatched(op, l, r))
            }
        }
        ".." => {
            let int_or_unknown = |t: &Ty| *t == Ty::Int || t.is_any();
            if int_or_unknown(l) && int_or_unknown(r) {
                Ok(Ty::Array(Box::new(Ty::Int)))
            } else {
                Err(mismatched(op, l, r))
            }
        }
        "in" => match r {
            Ty::Array(_) | Ty::Map(..) | Ty::Any => Ok(Ty::Bool),
            _ => Err(mismatched(op, l, r)),
        },
        "contains" | "startsWith" | "endsWith" | "matches" => {
            let str_or_unknown = |t: &Ty| *t == Ty::Str || t.is_any();
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

        _ => Err(format!("unsupported Expr feature: operator `{op}`")),
    }
}

pub fn unary(op: &str, t: &Ty) -> Result<Ty, String> {
    match op {
        "not" | "!" if t.bool_or_unknown() => Ok(Ty::Bool),
        "-" | "+" if t.is_number() => Ok(t.clone()),
        "-" | "+" if t.is_any() => Ok(Ty::Any),
        _ => Err(format!("invalid operation: {op} (mismatched type {t})")),
    }
}

/// Type of `c ? a : b` once `c` is known to be a bool.
/// A nil branch takes the other branch's type (so the value may be nil at run time).
pub fn conditional(a: &Ty, b: &Ty) -> Ty {
    match (a, b) {
        (Ty::Nil, t) | (t, Ty::Nil) => t.clone(),
        (a, b) if a == b => a.clone(),
        _ => Ty::Any,
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
        Ty::Any => Ok(Ty::Any),
        Ty::Map(key, value) => {
            if idx == &**key || idx.is_unknown() || **key == Ty::Any {
                Ok((**value).clone())
            } else {
                Err(format!("cannot use {idx} to get an element from {base}"))
            }
        }
        other => Err(format!("type {other}[{idx}] is undefined")),
    }
}

/// An array literal is a `[]interface {}` whatever its items, as in v1.16.0.
pub fn array_of(_items: &[Ty]) -> Ty {
    Ty::any_array()
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
    // Go prints the untyped nil's type with %s as `%!s(<nil>)`.
    let shown = |t: &Ty| {
        if *t == Ty::Nil {
            "%!s(<nil>)".to_string()
        } else {
            t.to_string()
        }
    };
    let invalid = |t: &Ty| format!("invalid argument for {name} (type {})", shown(t));
    match name {
        "abs" => {
            let t = one()?;
            if t.is_number() {
                Ok(t.clone())
            } else if t.is_any() {
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
            if t.number_or_unknown() || t.is_integer() || *t == Ty::Str {
                Ok(if name == "int" { Ty::Int } else { Ty::Float })
            } else {
                Err(invalid(t))
            }
        }
        "len" => {
            let t = one()?;
            match t {
                Ty::Array(_) | Ty::Map(..) | Ty::Str | Ty::Any => Ok(Ty::Int),
                _ => Err(invalid(t)),
            }
        }
        // v1.16.0's min/max take numbers only; mean/median one array.
        "min" | "max" => {
            if args.is_empty() {
                return Err(format!("not enough arguments to call {name}"));
            }
            for t in args {
                match t {
                    Ty::Any => return Ok(Ty::Any),
                    t if t.is_number() => {}
                    Ty::Nil => {
                        return Err(format!("invalid argument for {name} (type %!s(<nil>))"))
                    }
                    t => return Err(invalid(t)),
                }
            }
            // Expr types min/max by their first argument, whatever the others are.
            Ok(args[0].clone())
        }
        "mean" | "median" => match one()? {
            Ty::Array(_) | Ty::Any => Ok(Ty::Float),
            t => Err(format!(
                "cannot {} {}",
                if name == "mean" { "avg" } else { name },
                shown(t)
            )),
        },
        "sum" => match one()? {
            Ty::Array(elem) if **elem == Ty::Int => Ok(Ty::Int),
            Ty::Array(elem) if **elem == Ty::Float => Ok(Ty::Float),
            Ty::Array(_) | Ty::Any => Ok(Ty::Any),
            t => Err(format!("cannot sum {}", shown(t))),
        },
        _ => Err(format!("unsupported Expr feature: builtin {name}()")),
    }
}

/// The builtins fas translates.
pub const TRANSLATED_BUILTINS: &[&str] = &[
    "abs", "ceil", "floor", "round", "int", "float", "len", "min", "max", "mean", "median", "sum",
];

pub fn is_builtin(name: &str) -> bool {
    TRANSLATED_BUILTINS.contains(&name)
        || UNSUPPORTED_BUILTINS.contains(&name)
        || super::builtin_types::NAMES.contains(&name)
        || super::builtin_types::PREDICATES.contains(&name)
        || name == "get"
}

/// Builtins of Expr v1.16 that fas does not translate (rejected with a clear message).
pub const UNSUPPORTED_BUILTINS: &[&str] = &[];
