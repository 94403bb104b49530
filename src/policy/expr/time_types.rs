//! The checker's view of Go's time values in Expr v1.16.0: time.Time (from `now()` and
//! `date()`), time.Duration (an int64 kind) and the named ints time.Month and
//! time.Weekday, which the checker treats as numbers but the run time compares with
//! nothing but their own kind.

use super::types::Ty;

fn is_time_kind(t: &Ty) -> bool {
    matches!(t, Ty::Time | Ty::Duration | Ty::Named(_))
}

/// Numbers as the checker sees them: time.Duration, Month and Weekday included.
fn numeric(t: &Ty) -> bool {
    t.is_number() || matches!(t, Ty::Duration | Ty::Named(_))
}

/// Go's `combined`: the same kind stays, a float wins, else int.
fn combined(a: &Ty, b: &Ty) -> Ty {
    if a == b {
        a.clone()
    } else if *a == Ty::Float || *b == Ty::Float {
        Ty::Float
    } else {
        Ty::Int
    }
}

/// The type of a binary operator with a time value on either side (None: no time
/// value, the usual rules apply).
pub fn binary(op: &str, l: &Ty, r: &Ty) -> Option<Result<Ty, String>> {
    if !is_time_kind(l) && !is_time_kind(r) {
        return None;
    }
    let any = *l == Ty::Any || *r == Ty::Any;
    let mismatched = || {
        Err(format!(
            "invalid operation: {op} (mismatched types {l} and {r})"
        ))
    };
    Some(match op {
        "==" | "!=" => Ok(Ty::Bool),
        "<" | ">" | "<=" | ">=" => match (l, r) {
            (Ty::Time, Ty::Time) => Ok(Ty::Bool),
            _ if numeric(l) && numeric(r) || any => Ok(Ty::Bool),
            _ => mismatched(),
        },
        "+" => match (l, r) {
            (Ty::Time, Ty::Duration) | (Ty::Duration, Ty::Time) => Ok(Ty::Time),
            _ if numeric(l) && numeric(r) => Ok(combined(l, r)),
            _ if any => Ok(Ty::Any),
            _ => mismatched(),
        },
        "-" => match (l, r) {
            (Ty::Time, Ty::Time) => Ok(Ty::Duration),
            (Ty::Time, Ty::Duration) => Ok(Ty::Time),
            _ if numeric(l) && numeric(r) => Ok(combined(l, r)),
            _ if any => Ok(Ty::Any),
            _ => mismatched(),
        },
        "*" | "%" => match (l, r) {
            _ if numeric(l) && numeric(r) => Ok(combined(l, r)),
            _ if any && (numeric(l) || numeric(r)) => Ok(Ty::Any),
            _ => mismatched(),
        },
        "/" | "**" | "^" if numeric(l) && numeric(r) || any => Ok(Ty::Float),
        ".." if any || l.is_integer() && r.is_integer() => Ok(Ty::Array(Box::new(Ty::Int))),
        _ => mismatched(),
    })
}

fn arity(name: &str, args: &[Ty], want: usize) -> Result<(), String> {
    match args.len().cmp(&want) {
        std::cmp::Ordering::Less => Err(format!("not enough arguments to call {name}")),
        std::cmp::Ordering::Greater => Err(format!("too many arguments to call {name}")),
        std::cmp::Ordering::Equal => Ok(()),
    }
}

fn argument(name: &str, got: &Ty, want: Ty) -> Result<(), String> {
    if *got == want || matches!(got, Ty::Any | Ty::Nil) {
        Ok(())
    } else {
        Err(format!(
            "cannot use {got} as argument (type {want}) to call {name} "
        ))
    }
}

/// The type of a method call on a time value (None: not a time value).
pub fn method(base: &Ty, name: &str, args: &[Ty]) -> Option<Result<Ty, String>> {
    let with = |n: usize, arg: Option<Ty>, out: Ty| -> Result<Ty, String> {
        arity(name, args, n)?;
        if let (Some(want), Some(got)) = (arg, args.first()) {
            argument(name, got, want)?;
        }
        Ok(out)
    };
    let no_method = || Err(format!("type {base} has no method {name}"));
    Some(match base {
        Ty::Time => match name {
            "Year" | "Day" | "Hour" | "Minute" | "Second" | "Nanosecond" | "YearDay" | "Unix"
            | "UnixMilli" | "UnixMicro" | "UnixNano" => with(0, None, Ty::Int),
            "Month" => with(0, None, Ty::Named("time.Month")),
            "Weekday" => with(0, None, Ty::Named("time.Weekday")),
            "UTC" | "Local" => with(0, None, Ty::Time),
            "IsZero" => with(0, None, Ty::Bool),
            "String" => with(0, None, Ty::Str),
            "Format" => with(1, Some(Ty::Str), Ty::Str),
            "Sub" => with(1, Some(Ty::Time), Ty::Duration),
            "Add" | "Truncate" | "Round" => with(1, Some(Ty::Duration), Ty::Time),
            "Before" | "After" | "Equal" => with(1, Some(Ty::Time), Ty::Bool),
            _ => no_method(),
        },
        Ty::Duration => match name {
            "Hours" | "Minutes" | "Seconds" => with(0, None, Ty::Float),
            "Milliseconds" | "Microseconds" | "Nanoseconds" => with(0, None, Ty::Int),
            "String" => with(0, None, Ty::Str),
            "Abs" => with(0, None, Ty::Duration),
            "Truncate" | "Round" => with(1, Some(Ty::Duration), Ty::Duration),
            _ => no_method(),
        },
        Ty::Named(_) => match name {
            "String" => with(0, None, Ty::Str),
            _ => no_method(),
        },
        _ => return None,
    })
}
