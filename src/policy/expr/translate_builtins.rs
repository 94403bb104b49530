//! Translation of the builtins beyond the numeric ones: the predicates with their
//! closures (`filter(xs, # > 1)`, `reduce(xs, #acc + #)`), `get`, and the string,
//! collection, encoding and bit builtins typed in builtin_types.rs. Each runs as a
//! helper of runtime_more.lua.

use super::builtin_types::{self, PREDICATES};
use super::parser::{Node, Spanned};
use super::translate::{ClosureScope, Translator};
use super::types::Ty;
use super::ExprError;

type Out = Result<Option<(String, Ty)>, ExprError>;

impl Translator<'_> {
    /// A call of a `let` holding a builtin (nil at run time, as in v1.16.0): it
    /// compiles and fails when it runs. None when `name` is no such `let`.
    pub(super) fn call_of_let(
        &mut self,
        name: &str,
        args: &[Spanned],
    ) -> Result<Option<(String, Ty)>, ExprError> {
        let bound = self.scopes.iter().rev().find(|(nm, _, _)| nm == name);
        if !matches!(bound, Some((_, _, Ty::Func))) {
            return Ok(None);
        }
        for a in args {
            self.expr(a)?;
        }
        let msg = super::translate::lua_string("reflect: call of reflect.Value.Call on zero Value");
        Ok(Some((format!("R.fail({msg})"), Ty::Any)))
    }

    pub(super) fn more_builtins(&mut self, n: &Spanned, name: &str, args: &[Spanned]) -> Out {
        if PREDICATES.contains(&name) || builtin_types::NAMES.contains(&name) {
            self.loops = true;
        }
        if PREDICATES.contains(&name) {
            return self.predicate(name, args).map(Some);
        }
        if name == "get" {
            return self.get(n, args).map(Some);
        }
        if !builtin_types::NAMES.contains(&name) {
            return Ok(None);
        }
        let mut codes = Vec::new();
        let mut tys = Vec::new();
        for a in args {
            let (c, t) = self.expr(a)?;
            codes.push(c);
            tys.push(t);
        }
        let ty = match builtin_types::builtin(name, &tys) {
            Some(r) => r.map_err(|m| Self::type_err(n, m))?,
            None => return Ok(None),
        };
        let code = if name == "now" {
            // The clock passed in (app.now), so `fas simulate` replays it.
            "R.NOW(clock)".to_string()
        } else {
            format!("R.{}({})", name.to_uppercase(), codes.join(", "))
        };
        Ok(Some((code, ty)))
    }

    fn get(&mut self, n: &Spanned, args: &[Spanned]) -> Result<(String, Ty), ExprError> {
        if args.len() != 2 {
            return Err(Self::type_err(
                n,
                format!(
                    "invalid number of arguments (expected 2, got {})",
                    args.len()
                ),
            ));
        }
        if matches!(&args[0].node, Node::Ident(e) if e == "$env") {
            if let Node::Str(key) = &args[1].node {
                // Typed by the env: a missing metric is Go's nil type, not an error.
                return Ok(match self.metric(key) {
                    Some(var) => (var, Ty::Float),
                    None => ("nil".into(), Ty::Nil),
                });
            }
        }
        let (bc, bt) = self.expr(&args[0])?;
        if bt == Ty::Any {
            // The checker stops at an interface{} base: the key is never checked,
            // and an unknown name there reads as nil.
            let kc = self
                .expr(&args[1])
                .map(|(c, _)| c)
                .unwrap_or_else(|_| "nil".into());
            return Ok((format!("R.GET({bc}, {kc})"), Ty::Any));
        }
        let (kc, kt) = self.expr(&args[1])?;
        let ty = builtin_types::get(&bt, &kt).map_err(|m| Self::type_err(n, m))?;
        Ok((format!("R.GET({bc}, {kc})"), ty))
    }

    fn predicate(&mut self, name: &str, args: &[Spanned]) -> Result<(String, Ty), ExprError> {
        let (cc, ct) = self.expr(&args[0])?;
        let elem = match &ct {
            Ty::Array(e) => (**e).clone(),
            Ty::Any => Ty::Any,
            t => {
                return Err(Self::type_err(
                    &args[0],
                    format!("builtin {name} takes only array (got {t})"),
                ))
            }
        };
        let Node::Closure(body) = &args[1].node else {
            return Err(Self::type_err(
                &args[1],
                "predicate should has one input and one output param".into(),
            ));
        };
        let k = self.fresh("");
        let var = format!("it{k}");
        let mut extra = Vec::new();
        if matches!(name, "map" | "reduce") {
            extra.push(("index", format!("ix{k}"), Ty::Int));
        }
        if name == "reduce" {
            extra.push(("acc", format!("acc{k}"), Ty::Any));
        }
        self.closures.push(ClosureScope {
            elem: elem.clone(),
            var: var.clone(),
            extra,
        });
        let result = self.expr(body);
        self.closures.pop();
        let (bc, bt) = result?;
        if bt == Ty::Nil {
            return Err(Self::type_err(body, "closure cannot be nil".into()));
        }
        let boolean = !matches!(name, "map" | "groupBy" | "reduce");
        if boolean && !matches!(bt, Ty::Bool | Ty::Any) {
            return Err(Self::type_err(
                &args[1],
                format!("predicate should return boolean (got {bt})"),
            ));
        }
        let body = if boolean && bt == Ty::Any {
            format!("B({bc})")
        } else {
            bc
        };
        let func = format!("function({var}, ix{k}, acc{k}) return {body} end");
        let ty = match name {
            "all" | "none" | "any" | "one" => Ty::Bool,
            "filter" => Ty::Array(Box::new(elem)),
            "map" => Ty::Array(Box::new(bt)),
            "count" | "findIndex" | "findLastIndex" => Ty::Int,
            "find" | "findLast" => elem,
            "groupBy" => Ty::Map(Box::new(Ty::Any), Box::new(Ty::any_array())),
            _ => bt, // reduce: what the closure gives
        };
        if matches!(name, "findIndex" | "findLastIndex" | "find" | "findLast") {
            // v1.16.0 gives nil, typed int, when nothing matches.
            self.maybe_nil = true;
        }
        let mut code = format!("R.{}({cc}, {func}", name.to_uppercase());
        if let Some(init) = args.get(2) {
            let (ic, _) = self.expr(init)?;
            code.push_str(&format!(", true, {ic}"));
        }
        code.push(')');
        Ok((code, ty))
    }
}
