#!/usr/bin/env bash
# Builds the oracle against expr-lang/expr v1.16.0 (needs Go >= 1.18; Debian's
# golang-go works). EXPR_SRC: a git clone of https://github.com/expr-lang/expr.
# Nothing is downloaded: expr v1.16.0 needs no module outside the standard library
# to build (its go.mod lists testify for its tests only, so that list is dropped).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
: "${EXPR_SRC:?set EXPR_SRC to a git clone of github.com/expr-lang/expr}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
git -C "$EXPR_SRC" archive v1.16.0 | tar -x -C "$work"
printf 'module github.com/expr-lang/expr\n\ngo 1.18\n' > "$work/go.mod"
rm -f "$work/go.sum"
mkdir -p "$work/cmd/expr-oracle"
cp "$here"/*.go "$work/cmd/expr-oracle/"
(cd "$work" && GOFLAGS=-mod=mod GOPROXY=off go build -o "$here/expr-oracle" ./cmd/expr-oracle)
echo "built $here/expr-oracle"
