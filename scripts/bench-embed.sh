#!/usr/bin/env bash
# Embedding throughput of `vannactl train` (candle, batched, sorted by length, all cores) against the
# Python numpy reference (../shared/tools/minilm_reference.py) on the same texts: the 6 DDLs of the
# Spider car_1 database and its 92 question/SQL pairs (98 texts).
#
#   source scripts/test-env.sh && scripts/bench-embed.sh [--release]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
shared="${VANNACTL_SHARED:-$root/../shared}"
data="${VANNACTL_TESTDATA:-$shared/testdata/targets}"
: "${VANNACTL_TEST_PYTHON:?source scripts/test-env.sh first}"
: "${VANNACTL_TEST_MODEL_DIR:?source scripts/test-env.sh first}"

profile=debug
if [ "${1:-}" = "--release" ]; then
    profile=release
    cargo build --release --quiet --manifest-path "$root/Cargo.toml"
else
    cargo build --quiet --manifest-path "$root/Cargo.toml"
fi
bin="${CARGO_TARGET_DIR:-$root/target}/$profile/vannactl"

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
cp "$data/car_1.sqlite" "$tmp/target.db"
export TARGET_DB_PATH="$tmp/target.db" CHROMA_PATH="$tmp/chroma" EMBEDDING_MODEL_DIR="$VANNACTL_TEST_MODEL_DIR" \
       DATABASE_URL="sqlite://$tmp/system.db" LOG_DIR="$tmp/logs" LOCK_PATH="$tmp/lock" ONTOLOGY_DIR="$tmp/ontology"
unset CHROMA_URL

echo "cores: $(nproc), profile: $profile"
"$bin" --no-dotenv --json train --pairs "$data/car_1.dev.json" > "$tmp/train.json"
"$VANNACTL_TEST_PYTHON" - "$tmp/train.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
print(f"vannactl (candle):      {r['embedded']} texts in {r['embed_ms'] / 1000:.2f} s = {r['texts_per_sec']:.1f} texts/s (model load excluded)")
PY

"$bin" --no-dotenv --json train list > "$tmp/list.json"
"$VANNACTL_TEST_PYTHON" -c 'import json,sys; print(json.dumps([i["document"] for i in json.load(open(sys.argv[1]))["items"]]))' \
    "$tmp/list.json" > "$tmp/texts.json"
"$VANNACTL_TEST_PYTHON" - "$shared/tools" "$VANNACTL_TEST_MODEL_DIR" "$tmp/texts.json" <<'PY'
import json, sys, time
sys.path.insert(0, sys.argv[1])
from minilm_reference import MiniLM
m = MiniLM(sys.argv[2])
texts = json.load(open(sys.argv[3]))
t = time.perf_counter()
for x in texts:
    m.embed(x)
s = time.perf_counter() - t
print(f"python numpy reference: {len(texts)} texts in {s:.2f} s = {len(texts) / s:.1f} texts/s (model load excluded)")
PY
