//! The Expr shim: fly-autoscaler's `FAS_*_MACHINE_COUNT` expressions (expr-lang/expr
//! v1.16, as fly-autoscaler pins it) parsed, type-checked and translated once, at
//! start-up, into a Lua policy. From then on they run on the same path as any policy.

mod builtin_types;
mod fold;
mod gomath;
pub mod goregex;
mod lexer;
mod nesting;
mod parser;
mod postfix;
mod time_types;
mod translate;
mod translate_access;
mod translate_builtins;
mod types;

use std::fmt;

pub use gomath::pow as go_pow;

/// Lua helpers the translated code calls (see runtime.lua).
pub const RUNTIME_LUA: &str = include_str!("runtime.lua");
/// More helpers, each called with the table runtime.lua returns and adding to it.
pub const RUNTIME_MORE_LUA: &[(&str, &str)] = &[
    ("=fas-expr-runtime-more", include_str!("runtime_more.lua")),
    ("=fas-expr-runtime-text", include_str!("runtime_text.lua")),
    (
        "=fas-expr-runtime-strings",
        include_str!("runtime_strings.lua"),
    ),
    ("=fas-expr-runtime-time", include_str!("runtime_time.lua")),
];

/// The helper names runtime.lua exports, bound as locals of each generated chunk.
const HELPERS: &[&str] = &[
    "ADD", "SUB", "MUL", "DIV", "MOD", "POW", "GOPOW", "NEG", "NUM", "B", "LT", "LE", "EQ",
    "RANGE", "IN", "CONTAINS", "STARTS", "ENDS", "COALESCE", "INDEX", "ABS", "CEIL", "FLOOR",
    "ROUND", "INT", "FLOAT", "LEN", "MAX", "MIN", "MAX2", "MIN2", "SUM", "MEAN", "MEDIAN",
    "RESULT",
];

/// A compile-time error, shown as Expr shows it: `message (line:column)`.
#[derive(Debug, Clone, PartialEq)]
pub enum ExprError {
    Syntax {
        msg: String,
        line: usize,
        col: usize,
    },
    Type {
        msg: String,
        line: usize,
        col: usize,
    },
}

impl fmt::Display for ExprError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExprError::Syntax { msg, line, col } | ExprError::Type { msg, line, col } => {
                write!(f, "{msg} ({line}:{col})")
            }
        }
    }
}

impl std::error::Error for ExprError {}

/// Which of upstream's four expressions a piece of code computes; the order is the
/// order upstream evaluates (and reports errors) in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slot {
    MinCreated,
    MaxCreated,
    MinStarted,
    MaxStarted,
}

impl Slot {
    pub const ALL: [Slot; 4] = [
        Slot::MinCreated,
        Slot::MaxCreated,
        Slot::MinStarted,
        Slot::MaxStarted,
    ];

    /// Upstream's wording, e.g. in `cannot calculate min created machine count: …`.
    pub fn describe(self) -> &'static str {
        match self {
            Slot::MinCreated => "min created machine count",
            Slot::MaxCreated => "max created machine count",
            Slot::MinStarted => "min started machine count",
            Slot::MaxStarted => "max started machine count",
        }
    }
}

/// A compile error tagged with the expression it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct SlotError {
    pub slot: Slot,
    pub error: ExprError,
}

impl fmt::Display for SlotError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "cannot calculate {}: compile expression: {}",
            self.slot.describe(),
            self.error
        )
    }
}

impl std::error::Error for SlotError {}

/// The four expressions as upstream resolves them (a single count fills min and max).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CountExprs {
    pub min_created: Option<String>,
    pub max_created: Option<String>,
    pub min_started: Option<String>,
    pub max_started: Option<String>,
}

impl CountExprs {
    pub fn get(&self, slot: Slot) -> Option<&str> {
        match slot {
            Slot::MinCreated => self.min_created.as_deref(),
            Slot::MaxCreated => self.max_created.as_deref(),
            Slot::MinStarted => self.min_started.as_deref(),
            Slot::MaxStarted => self.max_started.as_deref(),
        }
    }
}

/// One expression's Lua: statements (hoisted `let`s), then the value, converted to a
/// number; a bool or string result is Expr's compile error.
fn finish(
    tr: &mut translate::Translator,
    ast: &parser::Spanned,
) -> Result<(Vec<String>, String), ExprError> {
    tr.maybe_nil = false;
    let out = tr.translate(ast)?;
    let expr = match out.ty {
        types::Ty::Int | types::Ty::Float if tr.maybe_nil => format!("RESULT({})", out.expr),
        types::Ty::Int | types::Ty::Float => out.expr,
        types::Ty::Any | types::Ty::Duration | types::Ty::Named(_) => {
            format!("RESULT({})", out.expr)
        }
        t => {
            return Err(ExprError::Type {
                msg: format!("expected float64, but got {t}"),
                line: ast.line,
                col: ast.col,
            })
        }
    };
    Ok((out.prelude, expr))
}

/// Translates the configured expressions into one Lua policy chunk. The chunk expects
/// the runtime helper table as its argument, defines `scale(metrics, app)` returning
/// `{created = …, started = …}` (a number when min and max are one expression), and
/// keeps in `stage` (read by `fas_expr_stage()`) which
/// expression is being evaluated, so a run-time error can name it as upstream does.
pub fn translate_policy(exprs: &CountExprs, metrics: &[String]) -> Result<String, SlotError> {
    let mut tr = translate::Translator::new(metrics);
    let mut body = Vec::new();
    let mut slot_vars: Vec<(Slot, String)> = Vec::new();
    let mut seen: Vec<(&str, String)> = Vec::new();
    for (i, slot) in Slot::ALL.into_iter().enumerate() {
        let Some(src) = exprs.get(slot) else { continue };
        if let Some((_, var)) = seen.iter().find(|(s, _)| *s == src) {
            // The same text (a single count): evaluate once.
            slot_vars.push((slot, var.clone()));
            continue;
        }
        let err = |error| SlotError { slot, error };
        let ast = parser::parse(lexer::lex(src).map_err(err)?).map_err(err)?;
        let (prelude, expr) = finish(&mut tr, &ast).map_err(err)?;
        let var = format!("e{i}");
        body.push(format!("  stage = {i}"));
        if prelude.is_empty() {
            body.push(format!("  local {var} = {expr}"));
        } else {
            body.push(format!(
                "  local {var} = (function() {} return {expr} end)()",
                prelude.join(" ")
            ));
        }
        seen.push((src, var.clone()));
        slot_vars.push((slot, var));
    }
    let field = |min: Slot, max: Slot| {
        let get = |s: Slot| {
            slot_vars
                .iter()
                .find(|(x, _)| *x == s)
                .map(|(_, v)| v.clone())
        };
        match (get(min), get(max)) {
            (None, None) => None,
            (Some(a), Some(b)) if a == b => Some(a),
            (a, b) => Some(format!(
                "{{ min = {}, max = {} }}",
                a.unwrap_or_else(|| "nil".into()),
                b.unwrap_or_else(|| "nil".into())
            )),
        }
    };
    let mut fields = Vec::new();
    // fas_pack(r) unpacks what scale returns into driver.lua's answer, knowing the
    // shape it generated, so translated policies skip the driver's type checks.
    let mut mask = 0;
    let mut pack_locals = Vec::new();
    let mut pack_values = Vec::new();
    for (name, min, max, bits) in [
        ("created", Slot::MinCreated, Slot::MaxCreated, 3),
        ("started", Slot::MinStarted, Slot::MaxStarted, 12),
    ] {
        match field(min, max) {
            None => pack_values.extend(["0".to_string(), "0".to_string()]),
            Some(f) => {
                mask |= bits;
                let single = !f.starts_with('{');
                fields.push(format!("{name} = {f}"));
                pack_locals.push(format!("local {name} = r.{name}"));
                if single {
                    pack_values.extend([name.to_string(), name.to_string()]);
                } else {
                    pack_values.extend([format!("{name}.min"), format!("{name}.max")]);
                }
            }
        }
    }
    let mut src =
        String::from("-- Generated by fas from FAS_*_MACHINE_COUNT (Expr v1.16 semantics).\n");
    if tr.loops {
        src.push_str(LOOPS_MARK);
    }
    src.push_str("local R = ...\n");
    src.push_str(&format!("local {} = ", HELPERS.join(", ")));
    src.push_str(
        &HELPERS
            .iter()
            .map(|h| format!("R.{h}"))
            .collect::<Vec<_>>()
            .join(", "),
    );
    // `stage` names the expression being evaluated, so a run-time error can say which.
    src.push_str("\nlocal stage = -1\nlocal out = {}\nfunction fas_expr_stage() return stage end\nfunction scale(metrics, clock)\n");
    for (name, var) in &tr.used_metrics {
        src.push_str(&format!(
            "  local {var} = metrics[\"{}\"]\n",
            name.escape_default()
        ));
    }
    for line in body {
        src.push_str(&line);
        src.push('\n');
    }
    // One result table, refilled each call: the driver reads it at once.
    let fill: Vec<String> = fields.iter().map(|f| format!("out.{f}")).collect();
    src.push_str(&format!(
        "  stage = -1\n  {}\n  return out\nend\n",
        fill.join("; ")
    ));
    src.push_str(&format!(
        "function fas_pack(r)\n  {}\n  return {mask}, {}\nend\n",
        pack_locals.join("; "),
        pack_values.join(", ")
    ));
    Ok(src)
}

/// The line a translation starts with when its code loops (see `Translator::loops`).
pub const LOOPS_MARK: &str = "-- fas: loops, so it runs under the instruction budget\n";

/// Which expression `stage` names, for run-time errors.
pub fn stage_slot(stage: i64) -> Option<Slot> {
    Slot::ALL.get(usize::try_from(stage).ok()?).copied()
}
