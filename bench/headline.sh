#!/usr/bin/env bash
# The headline table of local inference for one model at several quantizations: file size, peak
# RAM, prompt and generation speed, and perplexity on a text.
#
#   bench/headline.sh PREFIX TEXT
#
# reads PREFIX-F16.gguf, PREFIX-Q8_0.gguf, PREFIX-Q4_K_M.gguf and PREFIX-Q2_K.gguf (those that
# exist; TYPES overrides the list) and, per file, runs
#   /usr/bin/time -f %M  ember bench -m FILE -t T -p P -n N -r R -o json    (speed, peak RSS)
#   ember perplexity -m FILE -f TEXT -c CTX -t T                            (perplexity)
# Example (the shared small model; its context is 256 tokens):
#   CTX=256 P=256 bench/headline.sh ../shared/models/shakespeare-19m ../shared/text/shakespeare-eval.txt
#
# Environment: EMBER (default build/examples/ember/ember), T=2 P=512 N=128 R=3 CTX=512,
# TYPES="F16 Q8_0 Q4_K_M Q2_K", CHUNKS (perplexity chunks, default all), OUT=/tmp/ember-headline
# (raw outputs). Needs jq and /usr/bin/time.
set -euo pipefail

if [[ $# -ne 2 ]]; then
    sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
fi
PREFIX=$1 TEXT=$2
EMBER=${EMBER:-build/examples/ember/ember}
T=${T:-2} P=${P:-512} N=${N:-128} R=${R:-3} CTX=${CTX:-512}
TYPES=${TYPES:-F16 Q8_0 Q4_K_M Q2_K}
OUT=${OUT:-/tmp/ember-headline}
mkdir -p "$OUT"
[[ -x $EMBER ]] || { echo "not executable: $EMBER" >&2; exit 1; }
command -v jq > /dev/null || { echo "jq is needed" >&2; exit 1; }
chunks=()
[[ -n ${CHUNKS:-} ]] && chunks=(--chunks "$CHUNKS")

echo "$(basename "$PREFIX"): $T threads, pp$P / tg$N ($R repetitions), perplexity on $(basename "$TEXT") with $CTX-token chunks"
echo
printf '| %-8s | %10s | %10s | %12s | %12s | %18s |\n' type "file" "peak RAM" "pp$P tok/s" "tg$N tok/s" perplexity
echo "|---|---:|---:|---:|---:|---:|"
for type in $TYPES; do
    f="$PREFIX-$type.gguf"
    [[ -f $f ]] || { echo "| $type | (no $f) | | | | |"; continue; }
    size=$(stat -c %s "$f")
    /usr/bin/time -f %M -o "$OUT/$type.rss" "$EMBER" bench -m "$f" -t "$T" -p "$P" -n "$N" -r "$R" -o json > "$OUT/$type.json"
    "$EMBER" perplexity -m "$f" -f "$TEXT" -c "$CTX" -t "$T" "${chunks[@]}" > "$OUT/$type.ppl" 2>&1
    pp=$(jq -r --argjson p "$P" '[.[] | select(.n_prompt == $p)][0].avg_ts' "$OUT/$type.json")
    tg=$(jq -r --argjson n "$N" '[.[] | select(.n_gen == $n)][0].avg_ts' "$OUT/$type.json")
    ppl=$(sed -n 's/.*Final estimate: PPL = \([0-9.]*\) +\/- \([0-9.]*\).*/\1 ± \2/p' "$OUT/$type.ppl" | tail -1)
    rss_kb=$(tail -1 "$OUT/$type.rss")
    printf '| %-8s | %7.1f MiB | %7.1f MiB | %12.2f | %12.2f | %18s |\n' "$type" "$(awk -v b="$size" 'BEGIN { print b / 1048576 }')" \
        "$(awk -v k="$rss_kb" 'BEGIN { print k / 1024 }')" "$pp" "$tg" "${ppl:-?}"
done
echo
echo "raw outputs: $OUT"
