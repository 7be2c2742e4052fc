#!/usr/bin/env bash
# Line and branch coverage of the whole suite with coverlet (the XPlat Code Coverage collector every test project
# references), summarised per assembly by ReportGenerator (pinned in .config/dotnet-tools.json).
#
#   tests/coverage.sh [OUT=coverage-out]
# Writes OUT/Summary.txt (per assembly and class) and prints the per-assembly lines. Not part of .ci/run: it reruns
# the suite under instrumentation, which takes about twice as long.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-coverage-out}
rm -rf "$OUT"
mkdir -p "$OUT"
dotnet tool restore >/dev/null
# A test that fails under instrumentation (slower code) is reported, not fatal: the coverage is still wanted.
dotnet test Scion.slnx -c Release --collect:"XPlat Code Coverage" --results-directory "$OUT/raw" \
  -- DataCollectionRunSettings.DataCollectors.DataCollector.Configuration.Format=cobertura > "$OUT/test.log" 2>&1 \
  || echo "coverage.sh: some tests failed under coverage; see $OUT/test.log" >&2
dotnet tool run reportgenerator -reports:"$OUT/raw/**/coverage.cobertura.xml" -targetdir:"$OUT" \
  -reporttypes:"TextSummary;JsonSummary" -assemblyfilters:"+Scion.*;+scion;-Scion.*.Tests;-Scion.Fuzz" >/dev/null
grep -E "^(Line coverage|Branch coverage|Method coverage|Scion\.[A-Za-z]+ )" "$OUT/Summary.txt"
