#!/usr/bin/env bash
# fuzz/run.sh TARGET SECONDS: coverage-guided fuzzing of one parser (fuzz/Scion.Fuzz --list names them).
# Publishes fuzz/Scion.Fuzz, instruments the Scion assemblies with SharpFuzz, runs afl-fuzz (Debian's afl++) on
# a seed corpus written fresh by `Scion.Fuzz seed` (fuzz/out/corpus/TARGET: model-shaped files are built, not
# committed) for SECONDS, then copies every new crash and hang into fuzz/regressions/TARGET/ (model-shaped targets: fuzz/out/regressions/TARGET) (named by content
# hash, so a rerun adds only new ones) and prints the run's figures. Work files go to fuzz/out/ (ignored by git).
# FUZZ_NO_BUILD=1 reuses fuzz/out/bin (run-all.sh builds once); FUZZ_TIMEOUT_MS sets afl's per-input limit.
set -euo pipefail
if [ $# -ne 2 ]; then echo "usage: fuzz/run.sh TARGET SECONDS" >&2; exit 2; fi
target=$1 seconds=$2
cd "$(dirname "$0")/.."
root=$PWD out=$PWD/fuzz/out bin=$PWD/fuzz/out/bin
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

if ! command -v afl-fuzz >/dev/null; then
  echo "afl-fuzz not found: installing Debian's afl++" >&2
  apt-get update -qq && apt-get install -y -qq afl++ >/dev/null
fi
corpus=$out/corpus
# Seeds come from the uninstrumented project (the instrumented assemblies only run under afl).
if [ "${FUZZ_NO_BUILD:-0}" != 1 ] || [ ! -d "$corpus/$target" ]; then
  rm -rf "$corpus"
  dotnet run --project fuzz/Scion.Fuzz -c Release -v quiet -- seed "$corpus" >/dev/null
fi
if [ ! -d "$corpus/$target" ]; then echo "error: no fuzz target '$target' (targets: $(ls "$corpus" | tr '\n' ' '))" >&2; exit 2; fi

if [ "${FUZZ_NO_BUILD:-0}" != 1 ] || [ ! -f "$bin/Scion.Fuzz.dll" ]; then
  dotnet tool restore >/dev/null
  rm -rf "$bin"
  dotnet publish fuzz/Scion.Fuzz/Scion.Fuzz.csproj -c Release -o "$bin" -v quiet -nologo
  # Only the parsers' assemblies: instrumenting the tensor kernels would slow every execution for no parser coverage.
  for dll in Scion.Models Scion.Training Scion.Server; do dotnet sharpfuzz "$bin/$dll.dll" >/dev/null; done
fi

findings=$out/findings/$target
rm -rf "$findings"
mkdir -p "$findings"
dict=()
case $target in
  chat-template) dict=(-x fuzz/dict/jinja.dict) ;;
  gguf) dict=(-x fuzz/dict/gguf.dict) ;;
  encode) ;;
  *) dict=(-x fuzz/dict/json.dict) ;;
esac
# The child's heap is capped (1 GiB) so an unbounded allocation fails as OutOfMemoryException, which the target counts
# as a finding, instead of swapping the machine; the stack keeps .NET's default so a deep recursion still crashes.
export DOTNET_GCHeapHardLimit=0x40000000
export AFL_SKIP_BIN_CHECK=1 AFL_NO_UI=1 AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_AFFINITY=1 AFL_FORKSRV_INIT_TMOUT=60000
start=$(date +%s)
afl-fuzz -i "$corpus/$target" -o "$findings" -t "${FUZZ_TIMEOUT_MS:-5000}" -m none -V "$seconds" "${dict[@]}" \
  -- dotnet "$bin/Scion.Fuzz.dll" "$target" >"$out/afl-$target.log" 2>&1 || {
  echo "error: afl-fuzz failed; the last lines of $out/afl-$target.log:" >&2; tail -20 "$out/afl-$target.log" >&2; exit 1; }

new=0
# Model-shaped inputs (GGUF, safetensors, adapters) are not committed: only the bundled model is a model file in the
# repository. Their findings stay in fuzz/out/regressions/TARGET, to be rebuilt in code in the target's Regressions().
case $target in
  adapter|safetensors|gguf) keep=fuzz/out/regressions/$target
    echo "note: $target inputs are model-shaped: new findings go to $keep; rebuild each in code (FuzzTarget.Regressions)" >&2 ;;
  *) keep=fuzz/regressions/$target ;;
esac
mkdir -p "$keep"
for kind in crashes hangs; do
  for f in "$findings"/default/$kind/id:*; do
    [ -f "$f" ] || continue
    name="$kind-$(sha1sum "$f" | cut -c1-16).input"
    if [ ! -f "$keep/$name" ]; then cp "$f" "$keep/$name"; new=$((new + 1)); fi
  done
done

stats=$findings/default/fuzzer_stats
stat() { awk -F' *: *' -v k="$1" '$1 == k { print $2 }' "$stats"; }
line="$(date -u +%Y-%m-%dT%H:%MZ)	$target	$(( $(date +%s) - start ))s	execs=$(stat execs_done)	execs/s=$(stat execs_per_sec)	paths=$(stat corpus_count)	edges=$(stat edges_found)/$(stat total_edges)	coverage=$(stat bitmap_cvg)	crashes=$(stat saved_crashes)	hangs=$(stat saved_hangs)	new-regressions=$new"
echo "$line"
echo "$line" >>"$out/runs.tsv"
