#!/usr/bin/env bash
# Fuzzes Gatehouse's parsers of untrusted input with libFuzzer (Swift's -sanitize=fuzzer), each
# target for a bounded time, starting from its committed seeds (Tests/Fuzz/TARGET/seeds).
#
#   scripts/fuzz.sh                 # every target, 60 s each
#   scripts/fuzz.sh 300 json form   # 300 s each, only these targets
#
# The fuzzing build lives in .build-fuzz (the whole dependency graph instrumented; the first build
# takes several minutes). GATEHOUSE_FUZZ_SANITIZERS=fuzzer,address adds AddressSanitizer (in
# .build-fuzz-address). Inputs that crash, hang (5 s) or exceed 2 GiB are written to
# .build-fuzz/findings/TARGET-*; each one, once fixed, belongs in Tests/Fuzz/TARGET/regressions,
# which the test suite replays (FuzzCorpusTests). Exit status 1 when anything was found.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${1:-60}"
shift || true
sanitizers="${GATEHOUSE_FUZZ_SANITIZERS:-fuzzer}"
scratch=.build-fuzz
[ "$sanitizers" = fuzzer ] || scratch=".build-fuzz-${sanitizers#fuzzer,}"
swift build --scratch-path "$scratch" --product gatehouse-fuzz -Xswiftc "-sanitize=$sanitizers" -Xswiftc -DFUZZING >&2
binary="$(swift build --scratch-path "$scratch" --product gatehouse-fuzz --show-bin-path)/gatehouse-fuzz"
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    mapfile -t targets < <(.build/debug/gatehouse-fuzz list 2>/dev/null | cut -f1 || true)
    if [ ${#targets[@]} -eq 0 ]; then mapfile -t targets < <(ls Tests/Fuzz); fi
fi

findings="$scratch/findings"
mkdir -p "$findings"
status=0
for target in "${targets[@]}"; do
    corpus="$scratch/corpus/$target"
    mkdir -p "$corpus"
    log="$scratch/fuzz-$target.log"
    echo "fuzz: $target for ${seconds} s (log: $log)" >&2
    if ! GATEHOUSE_FUZZ_TARGET="$target" timeout $((seconds + 60)) "$binary" "$corpus" "Tests/Fuzz/$target/seeds" \
        -max_total_time="$seconds" -timeout=5 -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 \
        -artifact_prefix="$findings/$target-" >"$log" 2>&1; then
        echo "fuzz: $target FOUND a failing input:" >&2
        grep -E "^==|ERROR|Fatal error|Test unit written" "$log" | head -n 10 >&2 || true
        status=1
    fi
    runs="$(grep -Eo 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -Eo '[0-9]+$' || echo "?")"
    echo "fuzz: $target: $runs inputs, corpus $(ls "$corpus" | wc -l) files" >&2
done
exit "$status"
