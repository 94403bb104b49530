#!/usr/bin/env bash
# Re-answers every case file of the corpus with the oracle (build it first with
# build.sh) and rewrites tests/expr_corpus/{answers.jsonl,env.json}.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
corpus="$here/../../tests/expr_corpus"
"$here/expr-oracle" env > "$corpus/env.json"
cat "$corpus"/cases/*.txt | "$here/expr-oracle" > "$corpus/answers.jsonl"
echo "$(wc -l < "$corpus/answers.jsonl") answers in $corpus/answers.jsonl"
