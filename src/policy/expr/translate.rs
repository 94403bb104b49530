//! Type-checks a parsed Expr and emits an equivalent Lua expression. Every place where
//! Lua and Go differ (`%` on negatives, `and`/`or` returning operands, truthiness of 0,
//! string coercion, `math.ceil` returning integers, C `pow`) goes through a helper of
//! `runtime.lua` or is ruled out by the types, so the Lua computes what Go computes.

use std::collections::BTreeMap;

use super::fold;
use super::parser::{Node, Spanned};
use super::types::{self, Ty};
use super::ExprError;

/// Translation state shared by the expressions of one policy.
pub struct Translator<'a> {
    /// Metric names the expressions may read (Expr's env), all float64.
    pub(super) metrics: &'a [String],
    /// Metric name -> Lua local holding it, for the metrics actually read.
    pub used_metrics: BTreeMap<String, String>,
    pub(super) scopes: Vec<(String, String, Ty)>,
    /// Closures being translated, innermost last: what `#`, `#index`, `#acc` are.
    pub(super) closures: Vec<ClosureScope>,
    pub(super) next_var: usize,
    /// Some value typed as a number or bool may be nil at run time (a nil branch of
    /// `?:`, a findIndex that found nothing): the result must then be checked.
    pub maybe_nil: bool,
    /// The code loops (ranges, closures, string and collection builtins), so it must
    /// run under the instruction budget like a Lua policy.
    pub loops: bool,
}

/// One closure's pointers: the element's type and the Lua names of its parameters.
pub(super) struct ClosureScope {
    pub elem: Ty,
    pub var: String,
    /// `#index`, `#acc` where the predicate offers them: (name, Lua name, type).
    pub extra: Vec<(&'static str, String, Ty)>,
}

pub struct Emitted {
    /// Statements to run before `expr` (hoisted top-level `let`s).
    pub prelude: Vec<String>,
    pub expr: String,
    pub ty: Ty,
}

fn paren(s: String) -> String {
    format!("({s})")
}

impl<'a> Translator<'a> {
    pub fn new(metrics: &'a [String]) -> Self {
        Translator {
            metrics,
            used_metrics: BTreeMap::new(),
            scopes: Vec::new(),
            closures: Vec::new(),
            next_var: 0,
            maybe_nil: false,
            loops: false,
        }
    }

    pub(super) fn fresh(&mut self, prefix: &str) -> String {
        self.next_var += 1;
        format!("{prefix}{}", self.next_var)
    }

    /// Translates one whole expression: top-level `let`s become Lua locals.
    pub fn translate(&mut self, root: &Spanned) -> Result<Emitted, ExprError> {
        let mut prelude = Vec::new();
        let mut node = root;
        let depth = self.scopes.len();
        while let Node::Let(name, value, body) = &node.node {
            self.check_redeclare(node, name)?;
            let (code, ty) = self.expr(value)?;
            let var = self.fresh("l");
            prelude.push(format!("local {var} = {code}"));
            self.scopes.push((name.clone(), var, ty));
            node = body;
        }
        let result = self.expr(node);
        self.scopes.truncate(depth);
        let (expr, ty) = result?;
        Ok(Emitted { prelude, expr, ty })
    }

    /// Expr refuses a `let` that would hide a variable, a builtin or another `let`.
    fn check_redeclare(&self, n: &Spanned, name: &str) -> Result<(), ExprError> {
        let msg = if self.metrics.iter().any(|m| m == name) {
            format!("cannot redeclare {name}")
        } else if types::is_builtin(name) {
            format!("cannot redeclare builtin {name}")
        } else if self.scopes.iter().any(|(nm, _, _)| nm == name) {
            format!("cannot redeclare variable {name}")
        } else {
            return Ok(());
        };
        Err(Self::type_err(n, msg))
    }

    pub(super) fn type_err(n: &Spanned, msg: String) -> ExprError {
        ExprError::Type {
            msg,
            line: n.line,
            col: n.col,
        }
    }

    pub(super) fn expr(&mut self, n: &Spanned) -> Result<(String, Ty), ExprError> {
        let err = |msg: String| Self::type_err(n, msg);
        Ok(match &n.node {
            Node::Int(i) => (i.to_string(), Ty::Int),
            Node::Float(f) => (format!("{f:?}"), Ty::Float),
            Node::Bool(b) => (b.to_string(), Ty::Bool),
            Node::Nil => ("nil".into(), Ty::Nil),
            Node::Str(s) => (lua_string(s), Ty::Str),
            Node::Ident(name) => self.ident(n, name)?,
            Node::Unary(op, operand) => {
                let (code, ty) = self.expr(operand)?;
                let out = types::unary(op, &ty).map_err(err)?;
                let code = match (op.as_str(), ty.is_unknown()) {
                    ("not" | "!", false) => paren(format!("not {code}")),
                    ("not" | "!", true) => format!("(not B({code}))"),
                    ("-", false) => paren(format!("- {code}")),
                    ("-", true) => format!("NEG({code})"),
                    (_, false) => code,
                    (_, true) => format!("NUM({code})"),
                };
                (code, out)
            }
            Node::Binary(op, l, r) => self.binary(n, op, l, r)?,
            Node::Cond(c, a, b) => {
                let (cc, ct) = self.expr(c)?;
                if !(ct == Ty::Bool || ct.is_any()) {
                    return Err(err(format!(
                        "non-bool expression (type {ct}) used as condition"
                    )));
                }
                let cc = if ct.is_unknown() {
                    format!("B({cc})")
                } else {
                    cc
                };
                let (ac, at) = self.expr(a)?;
                let (bc, bt) = self.expr(b)?;
                let ty = types::conditional(&at, &bt);
                if (at == Ty::Nil) != (bt == Ty::Nil) {
                    self.maybe_nil = true;
                }
                let code = if at.always_truthy() {
                    format!("({cc} and {ac} or {bc})")
                } else if at == Ty::Bool && bt == Ty::Bool {
                    format!("({cc} and {ac} or not {cc} and {bc})")
                } else {
                    format!("(({cc}) and {{{ac}}} or {{{bc}}})[1]")
                };
                (code, ty)
            }
            Node::Let(..) => {
                // A `let` below the top level: a closure keeps it lazy, as in Expr.
                let inner = self.translate(n)?;
                let mut body = inner.prelude.join(" ");
                body.push_str(&format!(" return {}", inner.expr));
                (format!("(function() {body} end)()"), inner.ty)
            }
            Node::Call(name, args) => self.call(n, name, args)?,
            Node::Array(items) => {
                let mut codes = Vec::new();
                let mut tys = Vec::new();
                for item in items {
                    let (c, t) = self.expr(item)?;
                    codes.push(c);
                    tys.push(t);
                }
                let ty = types::array_of(&tys);
                codes.push(format!("n = {}", items.len()));
                (format!("{{{}}}", codes.join(", ")), ty)
            }
            Node::Member(base, prop, optional) => self.member(n, base, prop, *optional)?,
            Node::Chain(inner) => {
                let (code, ty) = self.expr(inner)?;
                (format!("R.UNCHAIN({code})"), ty)
            }
            Node::Method(base, name, args) => self.method(n, base, name, args)?,
            Node::Slice(base, from, to) => self.slice(n, base, from, to)?,
            Node::Map(pairs) => self.map_literal(pairs)?,
            Node::Pointer(name) => self.pointer(n, name)?,
            Node::Closure(_) => return Err(err("closure outside a predicate".into())),
        })
    }

    fn ident(&mut self, n: &Spanned, name: &str) -> Result<(String, Ty), ExprError> {
        if let Some((_, var, ty)) = self.scopes.iter().rev().find(|(nm, _, _)| nm == name) {
            return Ok((var.clone(), ty.clone()));
        }
        if name == "$env" {
            return Ok(("R.ENVMAP(metrics)".into(), Ty::any_map()));
        }
        if let Some(var) = self.metric(name) {
            return Ok((var, Ty::Float));
        }
        if types::is_builtin(name) {
            return Ok(("nil".into(), Ty::Func));
        }
        Err(Self::type_err(n, format!("unknown name {name}")))
    }

    /// The Lua local holding metric `name`, if the env has it.
    pub(super) fn metric(&mut self, name: &str) -> Option<String> {
        if !self.metrics.iter().any(|m| m == name) {
            return None;
        }
        let next = self.used_metrics.len() + 1;
        Some(
            self.used_metrics
                .entry(name.to_string())
                .or_insert_with(|| format!("m{next}"))
                .clone(),
        )
    }

    fn binary(
        &mut self,
        n: &Spanned,
        op: &str,
        l: &Spanned,
        r: &Spanned,
    ) -> Result<(String, Ty), ExprError> {
        let outer_nil = std::mem::take(&mut self.maybe_nil);
        let (lc, lt) = self.expr(l)?;
        let left_nil = self.maybe_nil;
        self.maybe_nil |= outer_nil;
        let (rc, rt) = self.expr(r)?;
        let ty = types::binary(op, &lt, &rt).map_err(|m| Self::type_err(n, m))?;
        // v1.16.0's optimizer folds integer constants before the program runs, and
        // refuses a constant `%` by zero then: a compile error, not a run-time one.
        if op == "%" && fold::const_int(l).is_some() && fold::const_int(r) == Some(0) {
            return Err(Self::type_err(n, "integer divide by zero".into()));
        }
        let time_kind = |t: &Ty| matches!(t, Ty::Duration | Ty::Time | Ty::Named(_));
        let durations = time_kind(&lt) || time_kind(&rt);
        let unknown = lt.is_unknown() || rt.is_unknown() || durations;
        let numbers = lt.is_number() && rt.is_number();
        let call = |f: &str| format!("{f}({lc}, {rc})");
        let code = match op {
            "+" if lt == Ty::Str && rt == Ty::Str => format!("({lc} .. {rc})"),
            "+" | "-" | "*" if numbers => format!("({lc} {op} {rc})"),
            "+" => call("ADD"),
            "-" => call("SUB"),
            "*" => call("MUL"),
            "/" if numbers => format!("({lc} / {rc})"),
            "/" => call("DIV"),
            "%" => call("MOD"),
            "**" | "^" if numbers => call("GOPOW"),
            "**" | "^" => call("POW"),
            "<" | ">" | "<=" | ">=" if !unknown => format!("({lc} {op} {rc})"),
            "<" => call("LT"),
            ">" => format!("LT({rc}, {lc})"),
            "<=" => call("LE"),
            ">=" => format!("LE({rc}, {lc})"),
            "==" | "!=" => {
                let tables = |t: &Ty| matches!(t, Ty::Array(_) | Ty::Map(..)) || time_kind(t);
                let arrays = tables(&lt) || tables(&rt) || unknown;
                let eq = if arrays {
                    call("EQ")
                } else {
                    format!("({lc} == {rc})")
                };
                if op == "==" {
                    eq
                } else {
                    format!("(not {eq})")
                }
            }
            "and" | "&&" | "or" | "||" => {
                let lua_op = if op.starts_with('a') || op == "&&" {
                    "and"
                } else {
                    "or"
                };
                let wrap = |c: String, t: &Ty| if t.is_unknown() { format!("B({c})") } else { c };
                format!("({} {lua_op} {})", wrap(lc, &lt), wrap(rc, &rt))
            }
            ".." => {
                self.loops = true;
                call("RANGE")
            }
            "in" => call("IN"),
            "contains" => call("CONTAINS"),
            "startsWith" => call("STARTS"),
            "endsWith" => call("ENDS"),
            "matches" => {
                // A constant pattern is checked at load, as upstream's checker does.
                if let Node::Str(pattern) = &r.node {
                    super::goregex::compile(pattern).map_err(|m| Self::type_err(n, m))?;
                }
                self.loops = true;
                format!("R.MATCHES({lc}, {rc})")
            }
            "??" => {
                if (lt.always_truthy() || lt == Ty::Bool) && !left_nil {
                    lc
                } else {
                    format!("COALESCE({lc}, function() return {rc} end)")
                }
            }
            _ => {
                return Err(Self::type_err(
                    n,
                    format!("unsupported Expr feature: operator `{op}`"),
                ))
            }
        };
        Ok((code, ty))
    }

    fn call(
        &mut self,
        n: &Spanned,
        name: &str,
        args: &[Spanned],
    ) -> Result<(String, Ty), ExprError> {
        if let Some(out) = self.call_of_let(name, args)? {
            return Ok(out);
        }
        if let Some(out) = self.more_builtins(n, name, args)? {
            return Ok(out);
        }
        if types::UNSUPPORTED_BUILTINS.contains(&name) {
            return Err(Self::type_err(
                n,
                format!("unsupported Expr feature: builtin {name}()"),
            ));
        }
        let mut codes = Vec::new();
        let mut tys = Vec::new();
        for a in args {
            let (c, t) = self.expr(a)?;
            codes.push(c);
            tys.push(t);
        }
        if !matches!(
            name,
            "abs"
                | "ceil"
                | "floor"
                | "round"
                | "int"
                | "float"
                | "len"
                | "min"
                | "max"
                | "mean"
                | "median"
                | "sum"
        ) {
            if self.metrics.iter().any(|m| m == name)
                || self.scopes.iter().any(|(nm, _, _)| nm == name)
            {
                return Err(Self::type_err(n, format!("{name} is not callable")));
            }
            return Err(Self::type_err(n, format!("unknown func {name}")));
        }
        let ty = types::builtin(name, &tys).map_err(|m| Self::type_err(n, m))?;
        let all_numbers = tys.iter().all(Ty::is_number);
        let joined = codes.join(", ");
        let code = match name {
            "abs" if all_numbers => format!("math.abs({joined})"),
            "float" if all_numbers => format!("({joined} + 0.0)"),
            "min" | "max" if all_numbers && codes.len() == 2 => {
                min_max2(name, &codes[0], &codes[1])
            }
            _ => format!("{}({joined})", name.to_uppercase()),
        };
        Ok((code, ty))
    }
}

/// `min(a, b)`/`max(a, b)` of two numbers. Short call-free operands are inlined
/// (evaluated twice: they are pure arithmetic); others go through MIN2/MAX2. Either
/// way the first argument wins ties and NaN comparisons, as in Go's runtime.
fn min_max2(name: &str, a: &str, b: &str) -> String {
    // Helper calls are upper case; `math.`, closures and tables are not cheap either.
    let cheap = |s: &str| {
        s.len() <= 48
            && !s.contains(|c: char| c.is_ascii_uppercase() || c == '{')
            && !s.contains("math.")
            && !s.contains("function")
    };
    if cheap(a) && cheap(b) {
        let cmp = if name == "min" { ">" } else { "<" };
        format!("({a} {cmp} {b} and {b} or {a})")
    } else {
        format!("{}2({a}, {b})", name.to_uppercase())
    }
}

/// A Lua string literal for any text (decimal escapes, so no byte is special).
pub(super) fn lua_string(s: &str) -> String {
    let mut out = String::from("\"");
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b == b' ' || b == b'_' {
            out.push(b as char);
        } else {
            out.push_str(&format!("\\{b:03}"));
        }
    }
    out.push('"');
    out
}
