#!/usr/bin/env bash
# TLS-only PostgreSQL 15 for tests/pg_tls.rs (docs/connecting.md), idempotent: a CA and
# certificates made with openssl in $VANNACTL_PG_TLS_DIR, and two clusters on loopback that accept
# nothing but `hostssl`:
#   tls         port $VANNACTL_PG_TLS_PORT (5442): certificate for localhost and 127.0.0.1 signed by
#               the CA; role vannactl_cert logs in with a client certificate only (`cert`), role
#               vannactl_pw with a password (scram-sha-256), every other role is trusted.
#   tlsexpired  the next port (5443): the same, but its certificate expired.
# Stopped with `pg_ctlcluster 15 tls stop` (and tlsexpired); scripts/test calls this and exports
# VANNACTL_PG_TLS_DIR and VANNACTL_PG_TLS_PORT for the tests.
set -euo pipefail

DIR="${VANNACTL_PG_TLS_DIR:-$HOME/.cache/vannactl/pg-tls}"
PORT="${VANNACTL_PG_TLS_PORT:-5442}"
EXPIRED_PORT=$((PORT + 1))
VERSION=15
# The password role's password; tests/pg_tls.rs knows it too.
PW_ROLE_PASSWORD='tls-role-pw-7341'

mkdir -p "$DIR"
chmod 755 "$DIR"
cd "$DIR"

key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:prime256v1 -out "$1" 2>/dev/null; chmod 600 "$1"; }
# sign NAME CN DAYS CA [SAN]: NAME.crt signed by CA.crt/CA.key for NAME.key.
sign() {
    local name=$1 cn=$2 days=$3 ca=$4 san=${5:-}
    openssl req -new -key "$name.key" -subj "/CN=$cn" -out "$name.csr" 2>/dev/null
    local ext
    ext=$(mktemp)
    { echo "basicConstraints=CA:FALSE"; [ -n "$san" ] && echo "subjectAltName=$san"; } >"$ext"
    openssl x509 -req -in "$name.csr" -CA "$ca.crt" -CAkey "$ca.key" -CAcreateserial \
        -days "$days" -extfile "$ext" -out "$name.crt" 2>/dev/null
    rm -f "$ext" "$name.csr"
}

# Certificates: made once, again when the server's expires within 30 days.
if [ ! -s ca.crt ] || [ ! -s server.crt ] || ! openssl x509 -in server.crt -noout -checkend 2592000 >/dev/null; then
    echo "==> making the TLS test CA and certificates in $DIR" >&2
    rm -f ./*.crt ./*.key ./*.srl
    for ca in ca other-ca; do
        key "$ca.key"
        openssl req -x509 -new -key "$ca.key" -subj "/CN=vannactl test ${ca%ca}CA" -days 3650 \
            -addext basicConstraints=critical,CA:TRUE -out "$ca.crt" 2>/dev/null
    done
    key server.key
    sign server localhost 825 ca "DNS:localhost,IP:127.0.0.1"
    key expired.key
    # Valid until the moment before it was made.
    sign expired localhost -1 ca "DNS:localhost,IP:127.0.0.1"
    key client.key
    sign client vannactl_cert 825 ca
fi
chmod 644 ./*.crt

cluster() {
    local name=$1 port=$2 cert=$3
    local conf=/etc/postgresql/$VERSION/$name
    if ! pg_lsclusters -h | awk '{print $1" "$2}' | grep -qx "$VERSION $name"; then
        echo "==> creating PostgreSQL cluster $VERSION/$name on port $port" >&2
        pg_createcluster "$VERSION" "$name" -p "$port" >/dev/null
    fi
    # The server reads its key as postgres, mode 0600.
    install -o postgres -g postgres -m 600 "$DIR/$cert.key" "$conf/server.key"
    install -o postgres -g postgres -m 644 "$DIR/$cert.crt" "$conf/server.crt"
    install -o postgres -g postgres -m 644 "$DIR/ca.crt" "$conf/ca.crt"
    cat >"$conf/conf.d/vannactl-tls.conf" <<EOF
port = $port
listen_addresses = '127.0.0.1'
ssl = on
ssl_cert_file = '$conf/server.crt'
ssl_key_file = '$conf/server.key'
ssl_ca_file = '$conf/ca.crt'
fsync = off
EOF
    cat >"$conf/pg_hba.conf" <<'EOF'
# TLS only: no `host` line, so a connection without TLS finds no entry.
local   all       postgres                   peer
hostssl all       vannactl_cert 127.0.0.1/32 cert
hostssl all       vannactl_pw  127.0.0.1/32  scram-sha-256
hostssl all       all          127.0.0.1/32  trust
EOF
    chown postgres:postgres "$conf/pg_hba.conf" "$conf/conf.d/vannactl-tls.conf"
    if pg_lsclusters -h | awk -v n="$name" '$2 == n {print $4}' | grep -q online; then
        pg_ctlcluster --skip-systemctl-redirect "$VERSION" "$name" reload
    else
        pg_ctlcluster --skip-systemctl-redirect "$VERSION" "$name" start
    fi
    for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p "$port" && break; sleep 1; done
    pg_isready -h 127.0.0.1 -p "$port" >/dev/null
}

cluster tls "$PORT" server
cluster tlsexpired "$EXPIRED_PORT" expired

psql_tls() { cd / && runuser -u postgres -- psql -X -q -p "$PORT" -v ON_ERROR_STOP=1 "$@"; }
psql_tls -d postgres <<EOF
SELECT 'CREATE ROLE vannactl_cert LOGIN' WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'vannactl_cert') \gexec
SELECT 'CREATE ROLE vannactl_pw LOGIN CREATEDB' WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'vannactl_pw') \gexec
ALTER ROLE vannactl_pw PASSWORD '$PW_ROLE_PASSWORD';
EOF
