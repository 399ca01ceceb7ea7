#!/usr/bin/env bash
# ember vs llama.cpp, side by side on the same files and threads (issue 6, acceptance 1-3).
#
#   bench/compare_llamacpp.sh LLAMA_BENCH MODEL.gguf [MODEL.gguf ...]
#
# For each round and each model, runs back to back:
#   ember bench  -t T -p P -n N -r R        (pp and tg, T threads)
#   llama-bench  -t T -p P -n N -r R        (the same test on llama.cpp)
#   ember bench  -t 1 -p P -n 0 -r R        (pp on one thread, for the 2-vs-1 thread scaling)
# and the memory-bandwidth probe (build/bench/bench_bandwidth) once before and after, then prints
# one table per round plus the raw JSON of every run under OUT (default /tmp/ember-compare).
# On a shared machine the absolute figures drift; the ratios of runs made back to back are what
# to compare, and more rounds show how much they move.
#
# Environment: EMBER (default build/examples/ember/ember), BW (default build/bench/bench_bandwidth),
# T=2 P=512 N=128 R=3 ROUNDS=2 OUT=/tmp/ember-compare, EMBER_FLAGS and LLAMA_FLAGS (extra options
# for each tool, e.g. EMBER_FLAGS="-mmp 0"). Needs jq. Never builds llama.cpp.
set -euo pipefail

if [[ $# -lt 2 ]]; then
    sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
fi
LLAMA_BENCH=$1
shift
EMBER=${EMBER:-build/examples/ember/ember}
BW=${BW:-build/bench/bench_bandwidth}
T=${T:-2} P=${P:-512} N=${N:-128} R=${R:-3} ROUNDS=${ROUNDS:-2}
OUT=${OUT:-/tmp/ember-compare}
read -r -a ember_flags <<< "${EMBER_FLAGS:-}"
read -r -a llama_flags <<< "${LLAMA_FLAGS:-}"
mkdir -p "$OUT"
for tool in "$EMBER" "$LLAMA_BENCH"; do
    [[ -x $tool ]] || { echo "not executable: $tool" >&2; exit 1; }
done
command -v jq > /dev/null || { echo "jq is needed" >&2; exit 1; }

probe() {  # GB/s of the streaming-read probe on 1 and 2 threads
    if [[ -x $BW ]]; then
        "$BW" --benchmark_format=json --benchmark_min_time=0.5 2> /dev/null > "$OUT/bandwidth-$1.json" || true
        jq -r '[.benchmarks[] | select(.run_type == "iteration") | "\(.name): \((.bytes_per_second / 1e9 * 10 | round) / 10) GB/s"] | join(", ")' \
            "$OUT/bandwidth-$1.json" 2> /dev/null || echo "(bandwidth probe failed)"
    else
        echo "(no $BW: build the benchmarks to get the bandwidth probe)"
    fi
}

# avg t/s of the test with n_prompt = $2 / n_gen = $3 in JSON file $1 (llama-bench and ember bench share the fields)
ts() { jq -r --argjson p "$2" --argjson n "$3" '[.[] | select(.n_prompt == $p and .n_gen == $n)][0] | if . == null then "nan" else .avg_ts end' "$1"; }
field() { jq -r --argjson p "$2" --argjson n "$3" "[.[] | select(.n_prompt == \$p and .n_gen == \$n)][0].$4 // \"nan\"" "$1"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 > 0 && a != "nan") printf "%.2f", a / b; else printf "-" }'; }
fmt() { awk -v a="$1" 'BEGIN { if (a == "nan") printf "-"; else printf "%.2f", a }'; }

echo "bandwidth probe (before): $(probe before)"
echo "ember: $EMBER ${EMBER_FLAGS:-}   llama-bench: $LLAMA_BENCH ${LLAMA_FLAGS:-}   threads $T, pp$P, tg$N, $R repetitions, $ROUNDS rounds"
for round in $(seq 1 "$ROUNDS"); do
    echo
    echo "round $round ($(date -u +%H:%M:%S), load average $(cut -d' ' -f1-3 /proc/loadavg))"
    printf '| %-28s | %12s | %12s | %6s | %12s | %12s | %6s | %9s | %12s | %8s | %10s |\n' model "ember pp$P" "llama pp$P" ratio \
        "ember tg$N" "llama tg$N" ratio "tg GB/s" "ember pp 1t" "pp 2t/1t" "peak RSS"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    for m in "$@"; do
        base=$(basename "$m" .gguf)
        e="$OUT/ember-$base-r$round.json" l="$OUT/llama-$base-r$round.json" e1="$OUT/ember1t-$base-r$round.json"
        "$EMBER" bench -m "$m" -t "$T" -p "$P" -n "$N" -r "$R" "${ember_flags[@]}" -o json > "$e"
        "$LLAMA_BENCH" -m "$m" -t "$T" -p "$P" -n "$N" -r "$R" "${llama_flags[@]}" -o json > "$l" 2> "$OUT/llama-$base-r$round.log"
        "$EMBER" bench -m "$m" -t 1 -p "$P" -n 0 -r "$R" "${ember_flags[@]}" -o json > "$e1"
        epp=$(ts "$e" "$P" 0) etg=$(ts "$e" 0 "$N") lpp=$(ts "$l" "$P" 0) ltg=$(ts "$l" 0 "$N") e1pp=$(ts "$e1" "$P" 0)
        bw=$(field "$e" 0 "$N" gen_bandwidth_gbs)
        rss=$(jq -r '[.[].peak_rss_bytes] | max / 1e9 * 100 | round / 100' "$e")
        printf '| %-28s | %12s | %12s | %6s | %12s | %12s | %6s | %9s | %12s | %8s | %8s GB |\n' "$base" "$(fmt "$epp")" "$(fmt "$lpp")" \
            "$(ratio "$epp" "$lpp")" "$(fmt "$etg")" "$(fmt "$ltg")" "$(ratio "$etg" "$ltg")" "$(fmt "$bw")" "$(fmt "$e1pp")" \
            "$(ratio "$epp" "$e1pp")" "$rss"
    done
done
echo
echo "bandwidth probe (after): $(probe after)"
echo "raw JSON: $OUT"
