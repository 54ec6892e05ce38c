#!/usr/bin/env bash
# The Chroma persistent directory (issue: train straight into the app's default store):
#   1. `vannactl train` of 1,000 DDL items (a synthetic SQLite target of 1,000 tables) into an
#      empty directory: schema read, embedding and the write, end to end;
#   2. the same 1,000 documents and vectors added by chromadb itself (`collection.add`, what the
#      app's own `train(ddl=...)` does after embedding), the storage half only;
#   3. the app's first query (fresh process: PersistentClient, get the `ddl` collection, one
#      10-nearest query) on the directory vannactl wrote -- Chroma applies the log here -- and on
#      the one chromadb wrote, median of 5 runs each, every run on a fresh copy.
#
#   source scripts/test-env.sh && scripts/bench-chroma-dir.sh [--release]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
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
py="$VANNACTL_TEST_PYTHON"

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
"$py" - "$tmp/target.db" <<'PY'
import sqlite3, sys
con = sqlite3.connect(sys.argv[1])
words = ["customer", "order", "invoice", "product", "shipment", "payment", "account", "region", "supplier", "employee"]
for i in range(1000):
    a, b = words[i % 10], words[(i // 10) % 10]
    con.execute(f"CREATE TABLE {a}_{b}_{i} (id INTEGER PRIMARY KEY, {b}_id INTEGER, {a}_name TEXT NOT NULL, amount_{i % 7} REAL, created_at TEXT)")
con.commit()
PY
export TARGET_DB_PATH="$tmp/target.db" CHROMA_PATH="$tmp/vannactl-dir" EMBEDDING_MODEL_DIR="$VANNACTL_TEST_MODEL_DIR" \
       DATABASE_URL="sqlite://$tmp/system.db" LOG_DIR="$tmp/logs" LOCK_PATH="$tmp/lock" ONTOLOGY_DIR="$tmp/ontology" \
       TRAIN_SAMPLE_VALUES=false ANONYMIZED_TELEMETRY=False
unset CHROMA_URL

echo "cores: $(nproc), profile: $profile, chromadb $("$py" -c 'import chromadb; print(chromadb.__version__)')"
start=$(date +%s.%N)
"$bin" --no-dotenv --json train > "$tmp/train.json"
end=$(date +%s.%N)
"$py" - "$tmp/train.json" "$start" "$end" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
wall = float(sys.argv[3]) - float(sys.argv[2])
print(f"vannactl train, 1,000 DDL items: {wall:.2f} s wall ({r['embedded']} texts embedded in {r['embed_ms'] / 1000:.2f} s)")
PY

# chromadb writes the same documents and vectors itself (vectors read back from vannactl's
# directory through chromadb, on a copy).
cp -r "$tmp/vannactl-dir" "$tmp/source-copy"
"$py" - "$tmp/source-copy" "$tmp/chroma-dir" <<'PY'
import sys, time, chromadb
from chromadb.config import Settings
src = chromadb.PersistentClient(path=sys.argv[1], settings=Settings(anonymized_telemetry=False)).get_collection("ddl")
got = src.get(include=["documents", "embeddings", "metadatas"])
dst = chromadb.PersistentClient(path=sys.argv[2], settings=Settings(anonymized_telemetry=False)).get_or_create_collection("ddl", embedding_function=None)
t = time.time()
for s in range(0, len(got["ids"]), 500):
    dst.add(ids=got["ids"][s:s + 500], documents=got["documents"][s:s + 500],
            embeddings=[list(e) for e in got["embeddings"][s:s + 500]], metadatas=got["metadatas"][s:s + 500])
print(f"chromadb collection.add of the same 1,000 documents and vectors: {time.time() - t:.2f} s (storage only, no embedding)")
PY

first_query() {
    local dir="$1" label="$2" times=()
    for _ in 1 2 3 4 5; do
        rm -rf "$tmp/q" && cp -r "$dir" "$tmp/q"
        times+=("$("$py" - "$tmp/q" <<'PY'
import sys, time
t = time.time()
import chromadb
from chromadb.config import Settings
c = chromadb.PersistentClient(path=sys.argv[1], settings=Settings(anonymized_telemetry=False))
col = c.get_collection("ddl")
r = col.query(query_embeddings=[[0.05] * 384], n_results=10)
assert len(r["ids"][0]) == 10
print(f"{time.time() - t:.3f}")
PY
)")
    done
    printf '%s\n' "${times[@]}" | sort -n | sed -n 3p | xargs printf "app's first query on the directory %s: %s s (median of 5, import included)\n" "$label"
}
first_query "$tmp/vannactl-dir" "vannactl wrote"
first_query "$tmp/chroma-dir" "chromadb wrote"
