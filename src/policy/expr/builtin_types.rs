//! Typing of Expr v1.16.0's collection, string, encoding and bit builtins, as its
//! checker applies them: either a `Validate` rule of builtin.go or Go signatures
//! ("overloads") checked argument by argument.

use super::types::Ty;

/// A Go parameter type of an overload.
#[derive(Clone, Copy)]
enum P {
    S,
    I,
    Any,
    AnyArr,
}

fn signatures(name: &str) -> Option<(&'static [&'static [P]], Ty)> {
    use P::*;
    let str_ty = Ty::Str;
    Some(match name {
        "type" | "string" | "toJSON" => (&[&[Any]], str_ty),
        "trim" | "trimPrefix" | "trimSuffix" => (&[&[S], &[S, S]], str_ty),
        "upper" | "lower" | "toBase64" | "fromBase64" => (&[&[S]], str_ty),
        "split" | "splitAfter" => (&[&[S, S], &[S, S, I]], Ty::Array(Box::new(Ty::Str))),
        "replace" => (&[&[S, S, S], &[S, S, S, I]], str_ty),
        "repeat" => (&[&[S, I]], str_ty),
        "join" => (&[&[AnyArr, S], &[AnyArr]], str_ty),
        "indexOf" | "lastIndexOf" => (&[&[S, S]], Ty::Int),
        "hasPrefix" | "hasSuffix" => (&[&[S, S]], Ty::Bool),
        "fromJSON" => (&[&[S]], Ty::Any),
        "duration" => (&[&[S]], Ty::Duration),
        "date" => (&[&[S], &[S, S], &[S, S, S]], Ty::Time),
        "now" => (&[&[]], Ty::Time),
        "bitand" | "bitor" | "bitxor" | "bitnand" | "bitshl" | "bitshr" | "bitushr" => {
            (&[&[I, I]], Ty::Int)
        }
        "bitnot" => (&[&[I]], Ty::Int),
        _ => return None,
    })
}

/// Whether an argument of type `t` may be passed as `p` (checkArguments' rules: ints
/// widen, nil and interface{} pass, otherwise Go assignability).
fn accepts(p: P, t: &Ty) -> bool {
    if matches!(t, Ty::Nil | Ty::Any) {
        return true;
    }
    match p {
        P::S => *t == Ty::Str,
        P::I => t.is_integer(),
        P::Any => true,
        P::AnyArr => matches!(t, Ty::Array(_)),
    }
}

fn param_name(p: P) -> &'static str {
    match p {
        P::S => "string",
        P::I => "int",
        P::Any => "interface {}",
        P::AnyArr => "[]interface {}",
    }
}

fn count_error(name: &str, want: &[&[P]], got: usize) -> String {
    let most = want.iter().map(|o| o.len()).max().unwrap_or(0);
    if got > most {
        format!("too many arguments to call {name}")
    } else {
        format!("not enough arguments to call {name}")
    }
}

/// The result type of a builtin handled here, `None` when `name` is not one of them.
pub fn builtin(name: &str, args: &[Ty]) -> Option<Result<Ty, String>> {
    if let Some((overloads, out)) = signatures(name) {
        let mut last = count_error(name, overloads, args.len());
        for params in overloads {
            if params.len() != args.len() {
                continue;
            }
            match params.iter().zip(args).find(|(p, t)| !accepts(**p, t)) {
                None => return Some(Ok(out)),
                Some((p, t)) => {
                    last = format!(
                        "cannot use {t} as argument (type {}) to call {name} ",
                        param_name(*p)
                    )
                }
            }
        }
        return Some(Err(last));
    }
    let one = || match args {
        [t] => Ok(t),
        _ => Err(format!(
            "invalid number of arguments (expected 1, got {})",
            args.len()
        )),
    };
    let arrayish = |t: &Ty| matches!(t, Ty::Array(_) | Ty::Any);
    // Ok(None): not a builtin typed here.
    let validated = || -> Result<Option<Ty>, String> {
        let ty = match name {
            "first" | "last" => {
                let t = one()?;
                if arrayish(t) {
                    Ok(Ty::Any)
                } else {
                    Err(format!("cannot get {name} element from {t}"))
                }
            }
            "keys" | "values" | "toPairs" => {
                let t = one()?;
                if matches!(t, Ty::Map(..) | Ty::Any) {
                    Ok(Ty::any_array())
                } else {
                    Err(format!("cannot get {name} from {t}"))
                }
            }
            "fromPairs" => {
                let t = one()?;
                if arrayish(t) {
                    Ok(Ty::any_map())
                } else {
                    Err(format!("cannot transform {t} from pairs"))
                }
            }
            "take" => match args {
                [a, _] if !arrayish(a) => Err(format!("cannot take from {a}")),
                [_, n] if !(n.is_integer() || *n == Ty::Any) => {
                    Err(format!("cannot take {n} elements"))
                }
                [a, _] => Ok(a.clone()),
                _ => Err(format!(
                    "invalid number of arguments (expected 2, got {})",
                    args.len()
                )),
            },
            "sort" | "sortBy" => {
                let (lo, hi) = if name == "sort" { (1, 2) } else { (2, 3) };
                if args.len() < lo || args.len() > hi {
                    return Err(format!(
                        "invalid number of arguments (expected {lo} or {hi}, got {})",
                        args.len()
                    ));
                }
                if !arrayish(&args[0]) {
                    return Err(format!("cannot sort {}", args[0]));
                }
                for t in &args[1..] {
                    if !matches!(t, Ty::Str | Ty::Any) {
                        return Err(format!(
                            "invalid argument for sort (expected string, got {t})"
                        ));
                    }
                }
                Ok(Ty::any_array())
            }
            _ => return Ok(None),
        };
        ty.map(Some)
    };
    validated().transpose()
}

/// `get(value, key)`: a missing element is nil instead of an error.
pub fn get(base: &Ty, key: &Ty) -> Result<Ty, String> {
    match base {
        Ty::Any => Ok(Ty::Any),
        Ty::Array(elem) => match key {
            Ty::Nil => Err("cannot use nil as slice index".into()),
            k if k.is_integer() || *k == Ty::Any => Ok((**elem).clone()),
            k => Err(format!("non-integer slice index {k}")),
        },
        Ty::Map(k, v) => match key {
            Ty::Nil => Err("cannot use nil as map index".into()),
            t if t == &**k || *t == Ty::Any => Ok((**v).clone()),
            t => Err(format!("cannot use {t} to get an element from {base}")),
        },
        t => Err(format!("type {t} does not support indexing")),
    }
}

/// Builtins this module types (besides the predicates and `get`).
pub const NAMES: &[&str] = &[
    "now",
    "date",
    "type",
    "string",
    "toJSON",
    "trim",
    "trimPrefix",
    "trimSuffix",
    "upper",
    "lower",
    "toBase64",
    "fromBase64",
    "split",
    "splitAfter",
    "replace",
    "repeat",
    "join",
    "indexOf",
    "lastIndexOf",
    "hasPrefix",
    "hasSuffix",
    "fromJSON",
    "duration",
    "bitand",
    "bitor",
    "bitxor",
    "bitnand",
    "bitshl",
    "bitshr",
    "bitushr",
    "bitnot",
    "first",
    "last",
    "keys",
    "values",
    "toPairs",
    "fromPairs",
    "take",
    "sort",
    "sortBy",
];

/// Builtins that take a closure.
pub const PREDICATES: &[&str] = &[
    "all",
    "none",
    "any",
    "one",
    "filter",
    "map",
    "count",
    "find",
    "findIndex",
    "findLast",
    "findLastIndex",
    "groupBy",
    "reduce",
];
