#!/usr/bin/env bash
# Mutation testing with Stryker.NET (pinned in .config/dotnet-tools.json), scoped so one run fits a 2-core machine:
# one source project, optionally one folder of it, against its own test project.
#
#   tests/mutation.sh PROJECT [FOLDER] [OUT=mutation-out]
#   env: TESTS=FILTER  run only the tests matching this dotnet test filter against each mutant (the score then
#        counts only what those tests kill), e.g. TESTS='FullyQualifiedName~Scheduler'
#        EXCLUDE='GLOB'   leave these files of the folder unmutated, e.g. EXCLUDE='Jinja/**'
#   Runs on the Microsoft Testing Platform runner (-t mtp): our xunit.v3 projects are MTP executables, and Stryker's
#   per-test coverage capture works there (on its VSTest runner it fails and every mutant runs the whole project).
#   e.g. tests/mutation.sh Scion.Models Sampling
#        tests/mutation.sh Scion.Serving Scheduling
# Prints the mutation score and writes the HTML and JSON reports to OUT/PROJECT[-FOLDER]/. Not part of .ci/run.
set -euo pipefail
cd "$(dirname "$0")/.."
PROJECT=${1:?usage: tests/mutation.sh PROJECT [FOLDER] [OUT]}
FOLDER=${2:-}
OUT=${3:-mutation-out}
[ -d "src/$PROJECT" ] || { echo "no project src/$PROJECT" >&2; exit 2; }
[ -z "$FOLDER" ] || [ -d "src/$PROJECT/$FOLDER" ] || { echo "no folder src/$PROJECT/$FOLDER" >&2; exit 2; }
dotnet tool restore >/dev/null
name=$PROJECT${FOLDER:+-$FOLDER}
mutate=("--mutate" "**/${FOLDER:+$FOLDER/}*.cs")
[ -z "${EXCLUDE:-}" ] || mutate+=("--mutate" "!**/${FOLDER:+$FOLDER/}$EXCLUDE")
[ -z "${TESTS:-}" ] || mutate+=("--test-case-filter" "$TESTS")
cd "tests/$PROJECT.Tests"
dotnet tool run dotnet-stryker --project "$PROJECT.csproj" --configuration Release --concurrency 2 -t mtp --skip-version-check \
  --reporter html --reporter json --reporter progress --output "../../$OUT/$name" "${mutate[@]}"
