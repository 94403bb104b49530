// Command expr-oracle answers Expr expressions exactly as fly-autoscaler does: it
// compiles and runs each with github.com/expr-lang/expr v1.16.0, env = metric name ->
// float64 and expr.AsFloat64(), then applies evalInt's rules (math.Round, NaN and Inf
// errors, negatives to 0). It is a tool beside fas's conformance corpus, not part of
// fas's build: see README.md in this folder.
//
// Input on stdin: one expression per line (`\n` inside an expression is written as
// the two characters \n). Output: one JSON object per line, in input order.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"strings"

	"github.com/expr-lang/expr"
)

// Env is the metric set every corpus case runs with. Names that are not identifiers
// can only be read through $env.
var Env = map[string]float64{
	"qdepth":      41,
	"queue_depth": 95,
	"x":           1.2,
	"y":           0.4,
	"zero":        0,
	"neg":         -3.5,
	"big":         1e300,
	"f64":         0.5,
	"f32":         2.5,
	"i":           1,
	"i32":         3,
	"i64":         7,
	"queue-depth": 12,
	"jobs.ready":  8,
}

type Answer struct {
	Expr  string   `json:"expr"`
	N     *int     `json:"n,omitempty"`
	Err   string   `json:"err,omitempty"` // compile | execute | nan | inf
	Raw   *float64 `json:"raw,omitempty"`
	Msg   string   `json:"msg,omitempty"`
	Panic bool     `json:"panic,omitempty"`
}

func evalInt(s string) (a Answer) {
	a.Expr = s
	defer func() {
		// expr v1.16 recovers its own VM panics; a panic escaping here is a bug in
		// expr that would crash fly-autoscaler. Recorded so fas can say it errs.
		if r := recover(); r != nil {
			a = Answer{Expr: s, Err: "execute", Msg: fmt.Sprint(r), Panic: true}
		}
	}()
	env := map[string]any{}
	for k, v := range Env {
		env[k] = v
	}
	program, err := expr.Compile(s, expr.AsFloat64(), expr.Env(env))
	if err != nil {
		return Answer{Expr: s, Err: "compile", Msg: firstLine(err.Error())}
	}
	v, err := expr.Run(program, env)
	if err != nil {
		return Answer{Expr: s, Err: "execute", Msg: firstLine(err.Error())}
	}
	raw := v.(float64)
	f := math.Round(raw)
	if math.IsNaN(f) {
		return Answer{Expr: s, Err: "nan"}
	} else if math.IsInf(f, 0) {
		return Answer{Expr: s, Err: "inf"}
	}
	n := 0
	if f > 0 {
		n = int(f)
	}
	return Answer{Expr: s, N: &n, Raw: &raw}
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

func main() {
	if len(os.Args) == 4 && (os.Args[1] == "random" || os.Args[1] == "kinds") {
		var n int
		var seed int64
		fmt.Sscan(os.Args[2], &n)
		fmt.Sscan(os.Args[3], &seed)
		gen := random
		if os.Args[1] == "kinds" {
			gen = kinds
		}
		for _, e := range gen(n, seed) {
			fmt.Println(e)
		}
		return
	}
	if len(os.Args) > 1 && os.Args[1] == "env" {
		json.NewEncoder(os.Stdout).Encode(Env)
		return
	}
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 1<<20)
	out := bufio.NewWriter(os.Stdout)
	defer out.Flush()
	enc := json.NewEncoder(out)
	enc.SetEscapeHTML(false)
	for in.Scan() {
		line := in.Text()
		if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#") {
			continue
		}
		line = strings.ReplaceAll(line, `\n`, "\n")
		if err := enc.Encode(evalInt(line)); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
}
