#!/usr/bin/env bash
# Soak benchmark (not a test): the same load against `scion serve` and llama.cpp's llama-server, one after the other on
# the same GGUF file: STREAMS concurrent streaming completions for DURATION seconds through `scion bench-serve --url`,
# each server's resident memory (VmRSS from /proc/PID/status) sampled every SAMPLE seconds. Prints per server: requests,
# errors, tokens/s, TTFT and ITL p50/p99, and RSS growth from the end of the warm-up to the end of the run.
#
#   bench/soak-serve.sh MODEL.gguf [DURATION_S=600] [STREAMS=32] [THREADS=2]
#   env: WARMUP_S=120 SAMPLE_S=5 PORT=18090 LLAMA_SERVER=../shared/ref/llama.cpp/llama-server OUT=soak-out SKIP_LLAMA=1 SKIP_SCION=1
#   scion listens on PORT, llama-server on PORT+1: the run leaves thousands of closed connections in TIME_WAIT on the
#   first port (one connection per request), and llama-server cannot bind a port in that state.
#
# Issue 12's target: no errors, RSS after warm-up flat within 5%. Results (JSON per server, RSS CSV) land in $OUT.
set -euo pipefail
cd "$(dirname "$0")/.."
MODEL=${1:?usage: bench/soak-serve.sh MODEL.gguf [DURATION_S] [STREAMS] [THREADS]}
DURATION=${2:-600}
STREAMS=${3:-32}
THREADS=${4:-2}
WARMUP_S=${WARMUP_S:-120}
SAMPLE_S=${SAMPLE_S:-5}
PORT=${PORT:-18090}
LLAMA_SERVER=${LLAMA_SERVER:-../shared/ref/llama.cpp/llama-server}
OUT=${OUT:-soak-out}
mkdir -p "$OUT"

# Built once, then run as the binary itself, so the PID sampled is the server (`dotnet run` would put a host process
# in between); this is what `dotnet run --project src/Scion.Cli -c Release -- serve` runs.
dotnet build src/Scion.Cli -c Release -v q -nologo >/dev/null
SCION=src/Scion.Cli/bin/Release/net10.0/scion
KV=$(( STREAMS * 160 ))

wait_healthy() { # PID URL
  for _ in $(seq 1 300); do
    kill -0 "$1" 2>/dev/null || { echo "server $1 exited before it was ready" >&2; return 1; }
    curl -sf "$2/health" >/dev/null 2>&1 && return 0
    sleep 1
  done
  echo "server at $2 not healthy after 300 s" >&2; return 1
}

sample_rss() { # PID CSV: "seconds,rss_kib" every SAMPLE_S until the process ends or the sampler is killed
  local start=$SECONDS
  echo "seconds,rss_kib" > "$2"
  while [ -r "/proc/$1/status" ]; do
    echo "$(( SECONDS - start )),$(awk '/^VmRSS:/ {print $2}' "/proc/$1/status")" >> "$2"
    sleep "$SAMPLE_S"
  done
}

soak() { # NAME PID PORT
  local name=$1 pid=$2 url="http://127.0.0.1:$3"
  wait_healthy "$pid" "$url"
  sample_rss "$pid" "$OUT/$name-rss.csv" & local sampler=$!
  echo "soak: $name (pid $pid), $STREAMS streams for $DURATION s ..." >&2
  "$SCION" bench-serve --url "$url" --concurrency "$STREAMS" --requests 10000000 --duration "$DURATION" \
    --prompt-tokens 80 --output-tokens 64 --ignore-eos --warmup 2 --json --output "$OUT/$name.json" >/dev/null || true
  kill "$sampler" 2>/dev/null || true
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

if [ -z "${SKIP_SCION:-}" ]; then
  "$SCION" serve --model "$MODEL" --port "$PORT" --threads "$THREADS" --kv-tokens "$KV" --max-seqs "$STREAMS" > "$OUT/scion-serve.log" 2>&1 &
  soak scion $! "$PORT"
fi
if [ -z "${SKIP_LLAMA:-}" ]; then
  "$LLAMA_SERVER" -m "$MODEL" -t "$THREADS" -np "$STREAMS" -c "$KV" --host 127.0.0.1 --port "$(( PORT + 1 ))" > "$OUT/llama-server.log" 2>&1 &
  soak llama $! "$(( PORT + 1 ))"
fi

python3 - "$OUT" "$WARMUP_S" <<'PY'
import csv, json, os, sys
out, warm = sys.argv[1], float(sys.argv[2])
print(f"{'server':8} {'requests':>8} {'errors':>6} {'tok/s':>7} {'TTFT p50':>9} {'TTFT p99':>9} {'ITL p50':>8} {'ITL p99':>8} {'RSS warm MiB':>12} {'RSS end MiB':>11} {'growth':>7}")
for name in ("scion", "llama"):
    path = os.path.join(out, name + ".json")
    if not os.path.exists(path): continue
    r = json.load(open(path))
    rows = [(float(s), int(k)) for s, k in (l.values() for l in csv.DictReader(open(os.path.join(out, name + "-rss.csv")))) if k]
    after = [k for s, k in rows if s >= warm] or [k for _, k in rows]
    base, end = after[0], after[-1]
    growth = (max(after) - base) / base * 100
    ms = lambda x: f"{x * 1000:.0f}ms"
    print(f"{name:8} {r['requests_completed']:8} {r['requests_failed']:6} {r['output_tokens_per_s']:7.1f} {ms(r['ttft_s']['p50']):>9} {ms(r['ttft_s']['p99']):>9} "
          f"{ms(r['itl_s']['p50']):>8} {ms(r['itl_s']['p99']):>8} {base / 1024:12.0f} {end / 1024:11.0f} {growth:6.1f}%")
    if r['first_error']: print(f"  first error: {r['first_error']}")
PY
