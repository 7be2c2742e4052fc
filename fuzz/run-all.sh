#!/usr/bin/env bash
# fuzz/run-all.sh SECONDS: fuzz/run.sh on every target in turn, SECONDS each, building and instrumenting once.
# The figures of each run are printed and appended to fuzz/out/runs.tsv.
set -euo pipefail
if [ $# -ne 1 ]; then echo "usage: fuzz/run-all.sh SECONDS" >&2; exit 2; fi
cd "$(dirname "$0")/.."
# The targets are the folders of the seed corpus Scion.Fuzz writes.
rm -rf fuzz/out/corpus
dotnet run --project fuzz/Scion.Fuzz -c Release -v quiet -- seed fuzz/out/corpus >/dev/null
first=1
for dir in fuzz/out/corpus/*/; do
  target=$(basename "$dir")
  if [ $first = 1 ]; then fuzz/run.sh "$target" "$1"; first=0; else FUZZ_NO_BUILD=1 fuzz/run.sh "$target" "$1"; fi
done
