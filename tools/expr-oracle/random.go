package main

// Random Expr expressions over the corpus env and the builtins fas translates, for
// `expr-oracle random N SEED`. Not all of them compile: a checker's refusals are
// part of what fas must agree with.

import (
	"fmt"
	"math/rand"
	"strings"
)

type gen struct{ r *rand.Rand }

var (
	names   = []string{"qdepth", "queue_depth", "x", "y", "zero", "neg", "big", "f64", "i32", `$env["queue-depth"]`, `$env?.missing`}
	numOps  = []string{"+", "-", "*", "/", "%", "**", "^"}
	cmpOps  = []string{"<", ">", "<=", ">=", "==", "!="}
	logOps  = []string{"and", "or", "&&", "||"}
	numFns  = []string{"abs", "ceil", "floor", "round", "int", "float"}
	arrFns  = []string{"sum", "mean", "median", "len", "first", "last"}
	preds   = []string{"all", "any", "none", "one"}
	strs    = []string{`"a,b,c"`, `"  pad  "`, `"queue"`, `""`, `"1.5"`, `"42"`}
	strFns1 = []string{"trim", "upper", "lower", "toBase64", "string", "type", "toJSON"}
)

func (g gen) pick(xs []string) string { return xs[g.r.Intn(len(xs))] }

func (g gen) num(d int) string {
	if d <= 0 {
		switch g.r.Intn(4) {
		case 0:
			return fmt.Sprint(g.r.Intn(20) - 3)
		case 1:
			return fmt.Sprintf("%.2f", g.r.Float64()*10)
		default:
			return g.pick(names)
		}
	}
	switch g.r.Intn(13) {
	case 0, 1, 2:
		return "(" + g.num(d-1) + " " + g.pick(numOps) + " " + g.num(d-1) + ")"
	case 3:
		return g.pick(numFns) + "(" + g.num(d-1) + ")"
	case 4:
		return fmt.Sprintf("%s(%s, %s)", g.pick([]string{"min", "max"}), g.num(d-1), g.num(d-1))
	case 5:
		return g.pick(arrFns) + "(" + g.arr(d-1) + ")"
	case 6:
		return "(" + g.cond(d-1) + " ? " + g.num(d-1) + " : " + g.num(d-1) + ")"
	case 7:
		return fmt.Sprintf("count(%s, %s)", g.arr(d-1), g.closure(d-1))
	case 8:
		return fmt.Sprintf("reduce(%s, #acc + %s, %s)", g.arr(d-1), g.elem(), g.num(0))
	case 9:
		return g.arr(d-1) + "[" + fmt.Sprint(g.r.Intn(5)-2) + "]"
	case 10:
		return fmt.Sprintf("len(%s)", g.str(d-1))
	case 11:
		return fmt.Sprintf("(%s ?? %s)", g.pick([]string{`$env?.missing`, `get($env, "x")`, "find(" + g.arr(0) + ", # > 3)"}), g.num(d-1))
	default:
		return fmt.Sprintf("let v = %s; v %s %s", g.num(d-1), g.pick(numOps), g.num(d-1))
	}
}

func (g gen) elem() string { return g.pick([]string{"#", "#", "(# * 2)", "#index"}) }

func (g gen) closure(d int) string {
	return g.elem() + " " + g.pick(cmpOps) + " " + g.num(0)
}

func (g gen) arr(d int) string {
	switch g.r.Intn(6) {
	case 0:
		return fmt.Sprintf("%d..%d", g.r.Intn(4), g.r.Intn(8))
	case 1:
		items := []string{}
		for i := g.r.Intn(4); i >= 0; i-- {
			items = append(items, g.num(d-1))
		}
		return "[" + strings.Join(items, ", ") + "]"
	case 2:
		return fmt.Sprintf("filter(%s, %s)", g.arr(d-1), g.closure(d-1))
	case 3:
		return fmt.Sprintf("map(%s, %s)", g.arr(d-1), g.elem())
	case 4:
		return fmt.Sprintf("sort(%s)", g.arr(d-1))
	default:
		return fmt.Sprintf("%s[%d:%d]", g.arr(d-1), g.r.Intn(3)-1, g.r.Intn(5))
	}
}

func (g gen) str(d int) string {
	if d <= 0 {
		return g.pick(strs)
	}
	switch g.r.Intn(5) {
	case 0:
		return g.pick(strFns1) + "(" + g.str(d-1) + ")"
	case 1:
		return fmt.Sprintf("join(split(%s, \",\"), \"-\")", g.str(d-1))
	case 2:
		return fmt.Sprintf("replace(%s, \"a\", \"xy\")", g.str(d-1))
	case 3:
		return "string(" + g.num(d-1) + ")"
	default:
		return g.str(d-1) + " + " + g.str(d-1)
	}
}

func (g gen) cond(d int) string {
	switch g.r.Intn(5) {
	case 0:
		return g.num(d) + " " + g.pick(cmpOps) + " " + g.num(d)
	case 1:
		return "(" + g.cond(d-1) + " " + g.pick(logOps) + " " + g.cond(d-1) + ")"
	case 2:
		return fmt.Sprintf("%s(%s, %s)", g.pick(preds), g.arr(d-1), g.closure(d-1))
	case 3:
		return fmt.Sprintf("%s in %s", g.num(0), g.arr(d-1))
	default:
		return fmt.Sprintf("hasPrefix(%s, \"q\")", g.str(d-1))
	}
}

func random(n int, seed int64) []string {
	g := gen{rand.New(rand.NewSource(seed))}
	out := make([]string, 0, n)
	for i := 0; i < n; i++ {
		out = append(out, g.num(1+g.r.Intn(3)))
	}
	return out
}
