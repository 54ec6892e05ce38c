#!/usr/bin/env bash
# Seeding benchmark: `vannactl seed --rows N` (COPY into PostgreSQL, keys built after the load)
# against `pgbench -i` (the stock PostgreSQL bulk loader) on the same server, in the same run.
#
#   scripts/bench-seed.sh                  # 1,000,000 rows against postgres://postgres@127.0.0.1:5432
#   ROWS=2000000 PG_URL=postgres://u:p@host:5432 scripts/bench-seed.sh
#   VANNACTL_BIN=target/debug/vannactl scripts/bench-seed.sh   # skip the release build
#
# Both figures are wall-clock rows per second including index/key creation; each tool gets a fresh
# database that is dropped afterwards. Also reports the embedded SQLite backend for reference.
set -euo pipefail

ROWS="${ROWS:-1000000}"
PG_URL="${PG_URL:-postgres://postgres@127.0.0.1:5432}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PGBIN="$(pg_config --bindir 2>/dev/null || echo /usr/lib/postgresql/15/bin)"
PGBENCH="$(command -v pgbench || echo "$PGBIN/pgbench")"
PSQL="$(command -v psql || echo "$PGBIN/psql")"

# VANNACTL_BIN overrides the binary (e.g. a debug build); default: the release build.
if [ -z "${VANNACTL_BIN:-}" ]; then
    (cd "$root" && cargo build --release --quiet)
fi
BIN="${VANNACTL_BIN:-${CARGO_TARGET_DIR:-$root/target}/release/vannactl}"

suffix="$$"
db_v="vannactl_bench_seed_$suffix"
db_p="vannactl_bench_pgbench_$suffix"
work="$(mktemp -d)"
cleanup() {
    "$PSQL" "$PG_URL/postgres" -qc "DROP DATABASE IF EXISTS $db_v" >/dev/null 2>&1 || true
    "$PSQL" "$PG_URL/postgres" -qc "DROP DATABASE IF EXISTS $db_p" >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT
"$PSQL" "$PG_URL/postgres" -qc "CREATE DATABASE $db_v"
"$PSQL" "$PG_URL/postgres" -qc "CREATE DATABASE $db_p"

now() { date +%s.%N; }
rate() { awk -v n="$1" -v s="$2" 'BEGIN { printf "%d", n / s }'; }

vannactl() {
    # The external-target setting skips the golden copy: this measures the system DB only.
    (cd "$work" && env -i PATH="$PATH" HOME="$HOME" DATABASE_URL="$1" SEED_DEMO_DATA=true \
        ENABLE_TARGET_DB=true TARGET_DATABASE_URL=postgres://unused@127.0.0.1/unused \
        INIT_ADMIN_PASSWORD= ONTOLOGY_DIR="$root/ontology" "$BIN" --no-dotenv -q "${@:2}")
}

# vannactl on PostgreSQL: migrate first (not timed), then seed.
vannactl "$PG_URL/$db_v" init --seed-rows 2 >/dev/null
vannactl "$PG_URL/$db_v" seed --reset --yes >/dev/null
t0="$(now)"
vannactl "$PG_URL/$db_v" seed --rows "$ROWS" >/dev/null
t1="$(now)"
v_secs="$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')"

# pgbench -i: scale s loads s * 100,000 pgbench_accounts rows (plus tiny branch/teller tables).
scale=$(( (ROWS + 99999) / 100000 ))
p_rows=$(( scale * 100000 ))
t0="$(now)"
"$PGBENCH" -i -q -s "$scale" "$PG_URL/$db_p" >/dev/null 2>&1
t1="$(now)"
p_secs="$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')"

# vannactl on embedded SQLite, for reference.
sq="sqlite://$work/system.db"
vannactl "$sq" init --seed-rows 2 >/dev/null
vannactl "$sq" seed --reset --yes >/dev/null
t0="$(now)"
vannactl "$sq" seed --rows "$ROWS" >/dev/null
t1="$(now)"
s_secs="$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')"

printf '%-34s %12s %9s %12s\n' "loader" "rows" "seconds" "rows/s"
printf '%-34s %12d %9.2f %12s\n' "vannactl seed (PostgreSQL, COPY)" "$ROWS" "$v_secs" "$(rate "$ROWS" "$v_secs")"
printf '%-34s %12d %9.2f %12s\n' "pgbench -i -s $scale (PostgreSQL)" "$p_rows" "$p_secs" "$(rate "$p_rows" "$p_secs")"
printf '%-34s %12d %9.2f %12s\n' "vannactl seed (SQLite)" "$ROWS" "$s_secs" "$(rate "$ROWS" "$s_secs")"
echo "PostgreSQL: $("$PSQL" "$PG_URL/postgres" -Atc 'SHOW server_version'); CPUs: $(nproc)"
