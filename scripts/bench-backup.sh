#!/usr/bin/env bash
# Benchmark: `vannactl backup` / `restore` against the same work done by hand with
# `pg_dump -Fc` + `tar czf` and `tar xzf` + `pg_restore`, on a PostgreSQL system DB with a
# million demo rows plus a ~1 GB target golden copy. Data lives under $BENCH_DIR (default
# /tmp/vannactl-bench) and is removed afterwards, as is the scratch database.
#
# Then, when SeaweedFS's `weed` is at hand ($VANNACTL_TEST_WEED, which `source scripts/test-env.sh`
# exports), the same backup, verify and restore against an S3 repository (`weed mini` on loopback,
# stopped by PID) beside the local folder, with each run's peak RSS (`/usr/bin/time`).
# TARGET_KIND=random fills the target with random blobs, so the archive is as large as the data
# (the bounded-memory check wants a 1 GB archive, not a 1 GB table that gzip shrinks to 400 MB).
#
#   scripts/bench-backup.sh            # builds and uses the release binary
#   VANNACTL_BIN=target/debug/vannactl TARGET_MB=1024 ROWS=1000000 scripts/bench-backup.sh
#   source scripts/test-env.sh && TARGET_KIND=random scripts/bench-backup.sh
# BENCH_RESTIC=1 first runs BENCH_DAYS (default 7) daily backups into a tar.gz folder and into a
# restic repository (`restic` on PATH), adding and changing CHANGE_PCT (default 1) % of the journal
# rows between backups while the golden copy stays the same, and reports the bytes each holds, the
# 2nd backup's time against the 1st, and restore times (BENCH_RESTORE_ROUNDS alternating rounds,
# medians); BENCH_RESTIC_ONLY=1 stops there.
#   VANNACTL_BIN=... BENCH_RESTIC=1 BENCH_RESTIC_ONLY=1 ROWS=1000000 TARGET_MB=1024 scripts/bench-backup.sh
# BENCH_ROUNDS=3 repeats the local-folder and S3 runs, alternating, and reports medians.
# BENCH_PIN_CPUS=1 runs every vannactl command on CPU 0 and the S3 server on CPU 1 (taskset), so the
# server does not take CPU from vannactl's compression, as a server on another host would not.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${VANNACTL_BIN:-${CARGO_TARGET_DIR:-$ROOT/target}/release/vannactl}
BENCH_DIR=${BENCH_DIR:-/tmp/vannactl-bench}
ROWS=${ROWS:-1000000}
TARGET_MB=${TARGET_MB:-1024}
TARGET_KIND=${TARGET_KIND:-text}
WEED=${VANNACTL_TEST_WEED:-}
PG_ADMIN=${PG_ADMIN:-postgres://postgres@127.0.0.1:5432/postgres}
DB=vannactl_bench_$$
PG_URL=${PG_ADMIN%/*}/$DB
VT=() WT=()
if [[ -n ${BENCH_PIN_CPUS:-} ]]; then VT=(taskset -c 0) WT=(taskset -c 1); fi

if [[ -z ${VANNACTL_BIN:-} ]]; then (cd "$ROOT" && cargo build --release --quiet); fi

WEED_PID=
cleanup() {
  cd /  # psql cannot start in a removed working directory
  if [[ -n $WEED_PID ]]; then kill "$WEED_PID" 2>/dev/null; wait "$WEED_PID" 2>/dev/null || true; fi
  rm -rf "$BENCH_DIR"
  psql -q "$PG_ADMIN" -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1 || true
}
trap cleanup EXIT
rm -rf "$BENCH_DIR" && mkdir -p "$BENCH_DIR"/{data,backups,manual}
cd "$BENCH_DIR"

secs() { local s=$(date +%s.%N); "$@" >/dev/null; echo "$(date +%s.%N) - $s" | bc; }
# "SECONDS PEAK_RSS_MIB CPU_SECONDS" of one command (GNU time's %e, %M and %U + %S).
timed() {
  /usr/bin/time -f '%e %M %U %S' -o "$BENCH_DIR/time.out" "$@" >/dev/null
  read -r t kb u sy <"$BENCH_DIR/time.out"
  echo "$t $(( kb / 1024 )) $(echo "$u + $sy" | bc)"
}
size() { du -b "$1" | cut -f1; }
mib() { echo "scale=1; $1 / 1048576" | bc; }

echo "== setup: $ROWS rows in PostgreSQL, ~${TARGET_MB} MB target"
psql -q "$PG_ADMIN" -c "CREATE DATABASE $DB" >/dev/null
psql -q -v ON_ERROR_STOP=1 "$PG_URL" >/dev/null <<SQL
CREATE TABLE schema_migrations (version BIGINT PRIMARY KEY);
INSERT INTO schema_migrations VALUES (1), (2), (3);
CREATE TABLE users (id BIGINT PRIMARY KEY, username TEXT NOT NULL, password_hash TEXT NOT NULL);
INSERT INTO users SELECT g, 'user' || g, md5(g::text) FROM generate_series(1, 1000) g;
CREATE TABLE query_log (
  id BIGINT PRIMARY KEY, user_id BIGINT NOT NULL, asked_at TIMESTAMPTZ NOT NULL,
  question TEXT NOT NULL, generated_sql TEXT NOT NULL, rows_returned INT NOT NULL);
INSERT INTO query_log
SELECT g, 1 + g % 1000, timestamptz '2026-01-01' + g * interval '7 seconds',
       'How many orders did customer ' || (g % 5000) || ' place in ' || (2000 + g % 25) || '?',
       'SELECT count(*) FROM orders WHERE customer_id = ' || (g % 5000) || ' AND year = ' || (2000 + g % 25),
       ((g * 7919) % 1000)::int
FROM generate_series(1::bigint, $ROWS) g;
SQL
if [[ $TARGET_KIND == random ]]; then
  # Target: 4000-byte random blobs, which no compressor shrinks.
  sqlite3 source.db >/dev/null <<SQL
PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;
CREATE TABLE attachments (id INTEGER PRIMARY KEY, body BLOB);
WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c LIMIT $(( TARGET_MB * 1024 * 1024 / 4096 )))
INSERT INTO attachments SELECT x, randomblob(4000) FROM c;
SQL
else
  # Target: mostly text rows, a quarter of each row random (real data compresses, but not to nothing).
  ROWS_T=$(( TARGET_MB * 1024 * 1024 / 95 ))
  sqlite3 source.db >/dev/null <<SQL
PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;
CREATE TABLE orders (id INTEGER PRIMARY KEY, customer TEXT, product TEXT, token TEXT, amount REAL);
WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c LIMIT $ROWS_T)
INSERT INTO orders SELECT x, 'customer ' || (x % 50000), 'product ' || (x % 977) || ' deluxe edition',
       hex(randomblob(16)), x * 1.25 FROM c;
SQL
fi
export DATABASE_URL=$PG_URL TARGET_DB_SOURCE=$BENCH_DIR/source.db TARGET_DB_PATH=$BENCH_DIR/data/target.db \
  BACKUP_DIR=$BENCH_DIR/backups KNOWLEDGE_DB_PATH=$BENCH_DIR/data/knowledge.db CHROMA_PATH=$BENCH_DIR/data/chroma \
  LOCK_PATH=$BENCH_DIR/data/vannactl.lock LOG_DIR=$BENCH_DIR/logs BACKUP_RETENTION_COUNT=0
[[ $(psql -Atq "$PG_URL" -c "SELECT count(*) FROM query_log") == "$ROWS" ]] || { echo "demo rows missing" >&2; exit 1; }
"$BIN" --no-dotenv -q golden-copy
echo "target copy: $(mib "$(size data/target.db)") MiB; system DB: $(psql -Atq "$PG_URL" -c "SELECT pg_size_pretty(pg_database_size('$DB'))")"

restic_bench() {
  local days=${BENCH_DAYS:-7} pct=${CHANGE_PCT:-1} rrepo=$BENCH_DIR/restic-repo d n lo hi
  local -a tf tr
  command -v restic >/dev/null || { echo "restic not on PATH (apt-get install restic)" >&2; exit 1; }
  export RESTIC_PASSWORD=vannactl-bench RESTIC_CACHE_DIR=$BENCH_DIR/restic-cache
  restic init -q -r "$rrepo" >/dev/null
  mkdir -p folder stage
  local F=(env BACKUP_DIR="$BENCH_DIR/folder") R=(env BACKUP_DIR="restic:$rrepo" BACKUP_STAGE_DIR="$BENCH_DIR/stage")
  n=$(( ROWS * pct / 100 ))
  echo "== restic: $days daily backups; between them $n journal rows added and $n changed; target unchanged"
  for d in $(seq 1 "$days"); do
    if (( d > 1 )); then
      # A journal grows at its end and its recent rows change; old rows stay as they were.
      lo=$(( ROWS + (d - 2) * n + 1 )) hi=$(( ROWS + (d - 1) * n ))
      psql -q -v ON_ERROR_STOP=1 "$PG_URL" >/dev/null <<SQL
INSERT INTO query_log SELECT g, 1 + g % 1000, timestamptz '2026-01-01' + g * interval '7 seconds',
  'How many orders on day $d for customer ' || (g % 5000) || '?', 'SELECT count(*) FROM orders WHERE id = ' || g, 0
FROM generate_series($lo::bigint, $hi) g;
UPDATE query_log SET rows_returned = rows_returned + 1 WHERE id > $(( lo - 1 - n )) AND id <= $(( lo - 1 ));
SQL
    fi
    read -r t _ < <(timed "${F[@]}" "$BIN" --no-dotenv -q backup); tf+=("$t")
    read -r t _ < <(timed "${R[@]}" "$BIN" --no-dotenv -q backup); tr+=("$t")
    echo "day $d: folder ${tf[-1]} s, restic ${tr[-1]} s"
  done
  local one; one=$(size "$(ls folder/backup_*.tar.gz | tail -1)")
  local fb rb; fb=$(du -sb folder | cut -f1) rb=$(du -sb "$rrepo" | cut -f1)
  local newest_f newest_r
  newest_f=$(ls folder/backup_*.tar.gz | tail -1)
  newest_r=$("${R[@]}" "$BIN" --no-dotenv --json backup list --fast | python3 -c 'import json,sys; print(json.load(sys.stdin)["archives"][0]["name"])')
  # Restores alternate BENCH_RESTORE_ROUNDS (default 1) times; each figure is the median.
  local rf=() rr=() rs=() t_rf t_rr t_rs
  for _ in $(seq 1 "${BENCH_RESTORE_ROUNDS:-1}"); do
    read -r t _ < <(timed "${F[@]}" "$BIN" --no-dotenv -q --yes restore --no-safety-backup "$newest_f"); rf+=("$t")
    read -r t _ < <(timed "${R[@]}" "$BIN" --no-dotenv -q --yes restore --no-safety-backup "$newest_r"); rr+=("$t")
    read -r t _ < <(timed "${R[@]}" "$BIN" --no-dotenv -q --yes restore "$newest_r"); rs+=("$t")
  done
  mid() { printf '%s\n' "$@" | sort -g | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
  t_rf=$(mid "${rf[@]}") t_rr=$(mid "${rr[@]}") t_rs=$(mid "${rs[@]}")
  ratio() { echo "scale=2; $1 / $2" | bc; }
  printf '\n%-62s %12s %8s\n' "restic vs tar.gz folder ($days backups, $pct % rows)" "value" "ratio"
  printf '%-62s %12s\n' "one tar.gz archive (the newest), MiB" "$(mib "$one")"
  printf '%-62s %12s %8s\n' "folder after $days backups, MiB (vs one tar.gz)" "$(mib "$fb")" "$(ratio "$fb" "$one")"
  printf '%-62s %12s %8s\n' "restic repository after $days backups, MiB (vs one tar.gz)" "$(mib "$rb")" "$(ratio "$rb" "$one")"
  printf '%-62s %12s %8s\n' "restic backup 1, s / backup 2, s (2nd vs 1st)" "${tr[0]} / ${tr[1]}" "$(ratio "${tr[1]}" "${tr[0]}")"
  printf '%-62s %12s %8s\n' "folder backup 1, s / backup 2, s (2nd vs 1st)" "${tf[0]} / ${tf[1]}" "$(ratio "${tf[1]}" "${tf[0]}")"
  printf '%-62s %12s %8s\n' "restore --no-safety-backup: restic s / folder s" "$t_rr / $t_rf" "$(ratio "$t_rr" "$t_rf")"
  printf '%-62s %12s %8s\n' "restic restore: with safety backup s / without s" "$t_rs / $t_rr" "$(ratio "$t_rs" "$t_rr")"
  echo "all backup times, folder: ${tf[*]}"
  echo "all backup times, restic: ${tr[*]}"
  echo "restores, folder: ${rf[*]}; restic: ${rr[*]}; restic with safety backup: ${rs[*]}"
  unset RESTIC_PASSWORD RESTIC_CACHE_DIR
}
if [[ -n ${BENCH_RESTIC:-} ]]; then
  restic_bench
  [[ -n ${BENCH_RESTIC_ONLY:-} ]] && exit 0
fi

echo "== backup"
read -r T_VB M_VB _ < <(timed "${VT[@]}" "$BIN" --no-dotenv -q backup)
ARCHIVE=$(ls backups/backup_*.tar.gz)
T_MB=$(secs bash -c "pg_dump -Fc -f manual/system.dump '$PG_URL' && tar czf manual/manual.tar.gz -C manual system.dump -C '$BENCH_DIR/data' target.db target.db.manifest.json")
echo "== verify"
read -r T_VV M_VV _ < <(timed "${VT[@]}" "$BIN" --no-dotenv -q backup verify "$ARCHIVE")
T_MV=$(secs bash -c "gzip -t manual/manual.tar.gz && pg_restore --list manual/system.dump")
echo "== restore"
read -r T_VR M_VR _ < <(timed "${VT[@]}" "$BIN" --no-dotenv -q --yes restore --no-safety-backup "$ARCHIVE")
T_VRS=$(secs "$BIN" --no-dotenv -q --yes restore "$ARCHIVE")
rm -f manual/system.dump
T_MR=$(secs bash -c "mkdir -p manual/x && tar xzf manual/manual.tar.gz -C manual/x && pg_restore --single-transaction --clean --if-exists -d '$PG_URL' manual/x/system.dump")

printf '\n%-70s %9s %10s %9s\n' "operation" "seconds" "size MiB" "RSS MiB"
printf '%-70s %9.1f %10s %9s\n' "vannactl backup" "$T_VB" "$(mib "$(size "$ARCHIVE")")" "$M_VB"
printf '%-70s %9.1f %10s\n' "pg_dump -Fc + tar czf" "$T_MB" "$(mib "$(size manual/manual.tar.gz)")"
printf '%-70s %9.1f %10s %9s\n' "vannactl backup verify (hashes, pg data + counts, integrity_check)" "$T_VV" "" "$M_VV"
printf '%-70s %9.1f\n' "gzip -t + pg_restore --list" "$T_MV"
printf '%-70s %9.1f %10s %9s\n' "vannactl restore --no-safety-backup" "$T_VR" "" "$M_VR"
printf '%-70s %9.1f\n' "vannactl restore (with safety backup)" "$T_VRS"
printf '%-70s %9.1f\n' "tar xzf + pg_restore --single-transaction --clean" "$T_MR"

[[ -n $WEED ]] || { echo "(no S3 comparison: VANNACTL_TEST_WEED unset; source scripts/test-env.sh)"; exit 0; }

echo "== S3: weed mini on loopback"
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
mkdir -p weed/data
KEY=VNBENCHKEY SECRET=vn-bench-secret BUCKET=vanna-bench
printf '{"identities":[{"name":"bench","credentials":[{"accessKey":"%s","secretKey":"%s"}],"actions":["Admin","Read","Write","List","Tagging"]}]}' \
  "$KEY" "$SECRET" >weed/identities.json
# SeaweedFS derives gRPC ports as port + 10000, so every port is pinned.
S3P=$(port); FP=$(port); extra=()
for f in master.port volume.port admin.port s3.port.grpc filer.port.grpc master.port.grpc volume.port.grpc admin.port.grpc debug.port metricsPort; do
  extra+=("-$f=$(port)")
done
"${WT[@]}" "$WEED" mini -dir="$BENCH_DIR/weed/data" -ip=127.0.0.1 -ip.bind=127.0.0.1 -s3.port="$S3P" \
  -s3.config="$BENCH_DIR/weed/identities.json" -filer.port="$FP" -bucket="$BUCKET" -admin.ui=false \
  -webdav=false -s3.port.iceberg=0 -s3.port.lance=0 "${extra[@]}" >/dev/null 2>weed/log &
WEED_PID=$!
for _ in $(seq 1 90); do curl -sf "http://127.0.0.1:$FP/buckets/$BUCKET/" >/dev/null && break; sleep 1; done
curl -sf "http://127.0.0.1:$FP/buckets/$BUCKET/" >/dev/null || { tail -20 weed/log >&2; exit 1; }
export BACKUP_DIR=s3://$BUCKET/bench AWS_ENDPOINT_URL=http://127.0.0.1:$S3P AWS_ACCESS_KEY_ID=$KEY \
  AWS_SECRET_ACCESS_KEY=$SECRET AWS_REGION=us-east-1 AWS_S3_FORCE_PATH_STYLE=true BACKUP_STAGE_DIR=$BENCH_DIR/stage
mkdir -p "$BACKUP_STAGE_DIR"
# The server's CPU seconds (utime + stime) during each S3 run: on loopback it shares the cores.
weed_cpu() { awk -v hz="$(getconf CLK_TCK)" '{printf "%.1f", ($14 + $15) / hz}' "/proc/$WEED_PID/stat"; }
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
# BENCH_ROUNDS=N (default 1): local-folder and S3 runs alternate N times and each figure is the
# median, since on a shared VM one run can be 30 % off the next.
ROUNDS=${BENCH_ROUNDS:-1}
LOCAL=(env -u BACKUP_STAGE_DIR BACKUP_DIR="$BENCH_DIR/backups")
declare -A R
add() { R[$1]="${R[$1]:-} $2"; }
# One timed vannactl run of operation $1 on side $2; the rest is the command line.
measure() {
  local op=$1 side=$2 pre=() t m u c0 c1
  shift 2
  [[ $side == local ]] && pre=("${LOCAL[@]}")
  c0=$(weed_cpu)
  read -r t m u < <(timed "${VT[@]}" "${pre[@]}" "$BIN" --no-dotenv -q "$@")
  c1=$(weed_cpu)
  add "$op,$side,t" "$t"; add "$op,$side,m" "$m"; add "$op,$side,u" "$u"; add "$op,$side,c" "$(echo "$c1 - $c0" | bc)"
}
for round in $(seq 1 "$ROUNDS"); do
  for side in local s3; do
    pre=(); [[ $side == local ]] && pre=("${LOCAL[@]}")
    measure backup "$side" backup
    NAME=$("${pre[@]}" "$BIN" --no-dotenv --json backup list --fast | python3 -c 'import json,sys; print(json.load(sys.stdin)["archives"][0]["path"])')
    measure verify "$side" backup verify "$NAME"
    measure restore "$side" --yes restore --no-safety-backup "$NAME"
  done
  echo "round $round of $ROUNDS done"
done
# shellcheck disable=SC2086 # the lists are space-separated numbers
med() { median ${R[$1]}; }
T_VB=$(med backup,local,t) T_SB=$(med backup,s3,t) T_VR=$(med restore,local,t) T_SR=$(med restore,s3,t)
# The plain tool an operator would otherwise use: the AWS CLI copying the same local archive up
# and down (its default multipart settings), on the same CPU as vannactl when pinned.
T_AU= T_AD=
if command -v aws >/dev/null; then
  T_AU=$(secs "${VT[@]}" aws s3 cp --only-show-errors "$ARCHIVE" "s3://$BUCKET/plain/archive.tar.gz")
  T_AD=$(secs "${VT[@]}" aws s3 cp --only-show-errors "s3://$BUCKET/plain/archive.tar.gz" "$BENCH_DIR/plain-download.tar.gz")
  rm -f "$BENCH_DIR/plain-download.tar.gz"
fi
ratio() { echo "scale=2; $1 / $2" | bc; }
printf '\n%-28s %8s %6s %9s %10s %9s %12s %11s\n' "S3 vs local folder" "local s" "S3 s" "S3/local" "RSS MiB" "" "vannactl CPU" "server CPU"
printf '%-28s %8s %6s %9s %10s %9s %12s %11s\n' "(same data, median of $ROUNDS)" "" "" "" "local" "S3" "local / S3" "s"
for op in backup verify restore; do
  label=$op; [[ $op == verify ]] && label="backup verify"; [[ $op == restore ]] && label="restore --no-safety-backup"
  l=$(med "$op,local,t") r=$(med "$op,s3,t")
  printf '%-28s %8.1f %6.1f %9s %10s %9s %12s %11s\n' "$label" "$l" "$r" "$(ratio "$r" "$l")" \
    "$(med "$op,local,m")" "$(med "$op,s3,m")" "$(med "$op,local,u") / $(med "$op,s3,u")" "$(med "$op,s3,c")"
done
if (( ROUNDS > 1 )); then
  for op in backup verify restore; do
    read -ra L <<<"${R[$op,local,t]}"; read -ra S <<<"${R[$op,s3,t]}"
    per=(); for i in "${!L[@]}"; do per+=("$(ratio "${S[$i]}" "${L[$i]}")"); done
    echo "S3/local per round, $op: ${per[*]}"
  done
fi
if [[ -n $T_AU ]]; then
  printf '\n%-70s %9s\n' "S3 vs the AWS CLI around the local folder" "seconds"
  printf '%-70s %9.1f\n' "aws s3 cp (upload of the same archive)" "$T_AU"
  printf '%-70s %9.1f\n' "aws s3 cp (download)" "$T_AD"
  printf '%-70s %9.1f\n' "vannactl backup to S3" "$T_SB"
  printf '%-70s %9.1f\n' "vannactl backup to the local folder + aws s3 cp" "$(echo "$T_VB + $T_AU" | bc)"
  printf '%-70s %9.1f\n' "vannactl restore from S3" "$T_SR"
  printf '%-70s %9.1f\n' "aws s3 cp + vannactl restore from the local folder" "$(echo "$T_AD + $T_VR" | bc)"
fi
