//! Translation of Expr's ways to reach inside a value: `a[x]`, `a.name`, `a?.name`
//! (with its chain), `$env`, slices, map literals, time.Duration's methods and the `#`
//! pointers of closures. Types follow v1.16.0's checker; run-time behaviour is in
//! runtime_more.lua.

use super::parser::{Node, Spanned};
use super::translate::Translator;
use super::types::{self, Ty};
use super::ExprError;

type Out = Result<(String, Ty), ExprError>;

impl Translator<'_> {
    pub(super) fn member(
        &mut self,
        n: &Spanned,
        base: &Spanned,
        prop: &Spanned,
        optional: bool,
    ) -> Out {
        let env = matches!(&base.node, Node::Ident(b) if b == "$env")
            && !self.scopes.iter().any(|(nm, _, _)| nm == "$env");
        if env {
            if let Node::Str(name) = &prop.node {
                // `$env.x`, `$env["x"]`: the metric itself, checked like a name.
                if let Some(var) = self.metric(name) {
                    return Ok((var, Ty::Float));
                }
                if optional {
                    return Ok(("nil".into(), Ty::Any));
                }
                return Err(Self::type_err(n, format!("unknown name {name}")));
            }
        }
        let (bc, bt) = self.expr(base)?;
        let (pc, pt) = self.expr(prop)?;
        if bt == Ty::Nil {
            let msg = match &prop.node {
                Node::Str(name) => format!("type <nil> has no field {name}"),
                _ => format!("type <nil>[{pt}] is undefined"),
            };
            return Err(Self::type_err(n, msg));
        }
        let ty = match (&bt, &prop.node) {
            (Ty::Duration | Ty::Time | Ty::Named(_), Node::Str(name)) => {
                return Err(Self::type_err(n, format!("type {bt} has no field {name}")))
            }
            _ => types::index(&bt, &pt).map_err(|m| Self::type_err(prop, m))?,
        };
        // A key a map lacks gives nil whatever the map's value type says (`m[k] ?? d`).
        if matches!(bt, Ty::Map(..)) {
            self.maybe_nil = true;
        }
        let f = if optional { "R.OPTMEMBER" } else { "R.MEMBER" };
        Ok((format!("{f}({bc}, {pc})"), ty))
    }

    pub(super) fn method(
        &mut self,
        n: &Spanned,
        base: &Spanned,
        name: &str,
        args: &[Spanned],
    ) -> Out {
        let (bc, bt) = self.expr(base)?;
        let mut codes = vec![bc, super::translate::lua_string(name)];
        let mut tys = Vec::new();
        for a in args {
            let (c, t) = self.expr(a)?;
            codes.push(c);
            tys.push(t);
        }
        let ty = match bt {
            Ty::Any | Ty::Map(..) => Ty::Any,
            Ty::Nil => return Err(Self::type_err(n, format!("type <nil> has no field {name}"))),
            ref t => match super::time_types::method(t, name, &tys) {
                Some(r) => r.map_err(|m| Self::type_err(n, m))?,
                None => return Err(Self::type_err(n, format!("type {t}[string] is undefined"))),
            },
        };
        Ok((format!("R.METHOD({})", codes.join(", ")), ty))
    }

    pub(super) fn slice(
        &mut self,
        n: &Spanned,
        base: &Spanned,
        from: &Option<Box<Spanned>>,
        to: &Option<Box<Spanned>>,
    ) -> Out {
        let (bc, bt) = self.expr(base)?;
        if !matches!(bt, Ty::Any | Ty::Str | Ty::Array(_)) {
            return Err(Self::type_err(n, format!("cannot slice {bt}")));
        }
        let mut bound = |b: &Option<Box<Spanned>>| -> Result<String, ExprError> {
            let Some(b) = b else { return Ok("nil".into()) };
            let (c, t) = self.expr(b)?;
            if !(t.is_integer() || t == Ty::Any) {
                return Err(Self::type_err(b, format!("non-integer slice index {t}")));
            }
            Ok(c)
        };
        let (fc, tc) = (bound(from)?, bound(to)?);
        Ok((format!("R.SLICE({bc}, {fc}, {tc})"), bt))
    }

    pub(super) fn map_literal(&mut self, pairs: &[(Spanned, Spanned)]) -> Out {
        let mut codes = Vec::new();
        for (k, v) in pairs {
            codes.push(self.expr(k)?.0);
            codes.push(self.expr(v)?.0);
        }
        Ok((format!("R.MAPLIT({})", codes.join(", ")), Ty::any_map()))
    }

    pub(super) fn pointer(&mut self, n: &Spanned, name: &str) -> Out {
        let Some(scope) = self.closures.last() else {
            return Err(Self::type_err(
                n,
                "cannot use pointer accessor outside closure".into(),
            ));
        };
        if name.is_empty() {
            return Ok((scope.var.clone(), scope.elem.clone()));
        }
        match scope.extra.iter().find(|(nm, _, _)| *nm == name) {
            Some((_, var, ty)) => Ok((var.clone(), ty.clone())),
            None => Err(Self::type_err(n, format!("unknown pointer #{name}"))),
        }
    }
}
