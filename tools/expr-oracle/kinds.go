package main

// Random expressions of the shapes v1.16.0 decides before a program runs, and their
// neighbours, for `expr-oracle kinds N SEED`: integer constants its optimizer folds
// (and refuses: a % by a constant zero), the untyped nil its checker refuses (as a
// condition, an operand, an argument), builtins named as values, and groupBy over
// non-arrays and with nil keys. Answers never depend on Go's map order (len and count
// only, never keys()[i]).

import (
	"fmt"
	"math/rand"
)

var (
	nilish   = []string{"nil", "(nil)", "(nil ?? nil)", "(true ? nil : nil)", "$env?.missing", `get($env, "nope")`}
	builtins = []string{"len", "max", "min", "abs", "sum", "int", "float", "ceil", "filter", "map", "groupBy", "now", "duration"}
)

// An integer constant expression the optimizer folds, or (sometimes) one it cannot.
func (g gen) intConst(d int) string {
	if d <= 0 {
		switch g.r.Intn(6) {
		case 0:
			return "int(x)"
		case 1:
			k := g.r.Intn(5)
			return fmt.Sprintf("(%d - %d)", k, k)
		default:
			return fmt.Sprint(g.r.Intn(9) - 2)
		}
	}
	switch g.r.Intn(5) {
	case 0:
		return "-" + g.intConst(d-1)
	case 1:
		return fmt.Sprintf("let c = %s; c", g.intConst(d-1))
	default:
		return "(" + g.intConst(d-1) + " " + g.pick([]string{"+", "-", "*", "%"}) + " " + g.intConst(d-1) + ")"
	}
}

func (g gen) kind(d int) string {
	switch g.r.Intn(12) {
	case 0, 1:
		return g.intConst(d) + " % " + g.intConst(d-1)
	case 2:
		return fmt.Sprintf("(%s ? %s : %s)", g.pick(nilish), g.num(0), g.num(0))
	case 3:
		return fmt.Sprintf("(%s ?: %s)", g.pick(nilish), g.num(0))
	case 4:
		return fmt.Sprintf("(!%s ? 1 : 2)", g.pick(nilish))
	case 5:
		op := g.pick(append(append([]string{}, numOps...), cmpOps...))
		if g.r.Intn(2) == 0 {
			return fmt.Sprintf("(%s %s %s) ?? 3", g.pick(nilish), op, g.num(0))
		}
		return fmt.Sprintf("(%s %s %s) ?? 3", g.num(0), op, g.pick(nilish))
	case 6:
		return fmt.Sprintf("%s(%s)", g.pick(append(append([]string{}, numFns...), arrFns...)), g.pick(nilish))
	case 7:
		b := g.pick(builtins)
		switch g.r.Intn(5) {
		case 0:
			return fmt.Sprintf("let f = %s; %s", b, g.num(0))
		case 1:
			return fmt.Sprintf("(%s %s %s) ? 1 : 2", b, g.pick([]string{"==", "!="}), g.pick(append([]string{"nil"}, builtins...)))
		case 2:
			return fmt.Sprintf("%s ?? %s", b, g.num(0))
		case 3:
			return fmt.Sprintf("(%s in [%s, %s]) ? 1 : 2", b, g.pick(builtins), g.num(0))
		default:
			return fmt.Sprintf("%s %s %s", b, g.pick(numOps), g.num(0))
		}
	default:
		base := g.arr(d - 1)
		switch g.r.Intn(4) {
		case 0:
			base = g.pick([]string{g.num(0), `"abc"`, "nil", `{"a": 1}`, "$env?.missing"})
		case 1:
			base = fmt.Sprintf("[%s, nil, %s]", g.num(0), g.num(0))
		}
		key := g.pick([]string{"#", "# > 2", "(# > 2 ? nil : #)", "nil", "(# ?? 0) % 2", "string(#)", "#index % 2"})
		if g.r.Intn(2) == 0 {
			return fmt.Sprintf("len(groupBy(%s, %s))", base, key)
		}
		return fmt.Sprintf("count(groupBy(%s, %s)[nil] ?? [], true)", base, key)
	}
}

func kinds(n int, seed int64) []string {
	g := gen{rand.New(rand.NewSource(seed))}
	out := make([]string, 0, n)
	for i := 0; i < n; i++ {
		out = append(out, g.kind(1+g.r.Intn(2)))
	}
	return out
}
