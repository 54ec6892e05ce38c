#!/usr/bin/env bash
# Golden-copy throughput on a ~1 GB SQLite database versus what an operator would do by hand:
# `cp` followed by `sha256sum` of the copy. Same file, same run, warm page cache for both.
# Usage: scripts/bench-golden-copy.sh [SIZE_MB] [RUNS]     (default 1024 MB, 3 runs)
set -euo pipefail
cd "$(dirname "$0")/.."
size_mb="${1:-1024}"
runs="${2:-3}"
work="$(mktemp -d "${TMPDIR:-/tmp}/vannactl-bench.XXXXXX")"
trap 'chmod -R u+w "$work"; rm -rf "$work"' EXIT

# VANNACTL_BIN overrides the binary; default: the release build.
if [ -z "${VANNACTL_BIN:-}" ]; then cargo build --release --quiet; fi
bin="${VANNACTL_BIN:-${CARGO_TARGET_DIR:-target}/release/vannactl}"

echo "building a ${size_mb} MB SQLite database (random blobs, so nothing is sparse)" >&2
python3 - "$work/src.db" "$size_mb" <<'PY'
import sqlite3, sys
con = sqlite3.connect(sys.argv[1])
con.execute("CREATE TABLE blobs(id INTEGER PRIMARY KEY, b BLOB)")
con.executemany("INSERT INTO blobs(b) VALUES (randomblob(1048576))", ([] for _ in range(int(sys.argv[2]))))
con.commit()
PY
bytes=$(stat -c %s "$work/src.db")
cat "$work/src.db" > /dev/null  # warm the cache for every contender alike

now() { date +%s.%N; }
report() { # name seconds
    awk -v n="$1" -v s="$2" -v b="$bytes" 'BEGIN { printf "%-34s %7.3f s  %8.1f MB/s\n", n, s, b / s / 1e6 }'
}
median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

echo "file: $bytes bytes; $runs runs each; median shown" >&2
cp_times=(); vc_times=(); noop_times=(); verify_times=()
for _ in $(seq "$runs"); do
    rm -f "$work/cp.db"
    t0=$(now); cp "$work/src.db" "$work/cp.db" && sha256sum "$work/cp.db" > /dev/null; t1=$(now)
    cp_times+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')")

    chmod -R u+w "$work"; rm -rf "$work/data"
    t0=$(now); "$bin" --no-dotenv -q golden-copy --source "$work/src.db" --dest "$work/data/copy.db"; t1=$(now)
    vc_times+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')")

    t0=$(now); "$bin" --no-dotenv -q golden-copy --source "$work/src.db" --dest "$work/data/copy.db"; t1=$(now)
    noop_times+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')")

    t0=$(now); "$bin" --no-dotenv -q golden-copy --verify --source "$work/src.db" --dest "$work/data/copy.db"; t1=$(now)
    verify_times+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')")
done
report "cp + sha256sum" "$(printf '%s\n' "${cp_times[@]}" | median)"
report "vannactl golden-copy (copy)" "$(printf '%s\n' "${vc_times[@]}" | median)"
report "vannactl golden-copy --verify" "$(printf '%s\n' "${verify_times[@]}" | median)"
awk -v s="$(printf '%s\n' "${noop_times[@]}" | median)" 'BEGIN { printf "%-34s %7.3f s  (stat only)\n", "vannactl golden-copy (no-op)", s }'
