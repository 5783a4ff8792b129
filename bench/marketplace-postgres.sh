#!/bin/sh
# The Marketplace server on PostgreSQL next to SQLite, same documents, same
# run, wrk as the load generator on 127.0.0.1 (apt-get install wrk
# postgresql):
#
#   14. Uploads with full verification from WRK_CONNECTIONS (32) clients:
#       one server on SQLite; one server on PostgreSQL; two servers on one
#       PostgreSQL database, the clients split between them.
#   15. GET of one entry by its full key: SQLite next to PostgreSQL (the
#       PostgreSQL server asks the database for changes before each read).
#
# UPLOADS (default 4,000) signed documents with distinct identifiers are made
# once and kept in OUT_DIR; each upload run starts on an empty store, so
# every upload is a new entry. PostgreSQL is a fresh cluster (initdb) on a
# free loopback port with its durable defaults (fsync, synchronous_commit),
# run as the postgres user when the script runs as root, removed at the end.
# wrk: WRK_THREADS (2) threads, WRK_SECONDS (5) seconds per run.
# usage: marketplace-postgres.sh BIN_DIR OUT_DIR
set -eu
bin=$(cd "${1:-target/release}" && pwd)
out=${2:-bench-out}
uploads=${UPLOADS:-4000}
threads=${WRK_THREADS:-2}
connections=${WRK_CONNECTIONS:-32}
seconds=${WRK_SECONDS:-5}
mkdir -p "$out"
cd "$out"
out=$(pwd)
pgbin=$(ls -d /usr/lib/postgresql/*/bin 2> /dev/null | sort -V | tail -n 1)
for tool in wrk python3 openssl; do
    command -v "$tool" > /dev/null || { echo "the PostgreSQL benchmarks need $tool" >&2; exit 1; }
done
[ -n "$pgbin" ] || { echo "the PostgreSQL benchmarks need PostgreSQL (apt-get install postgresql)" >&2; exit 1; }
printf 'validate.email=false\n' > market.cfg
pids=""
pgroot=""
pgpid=""
cleanup() {
    for pid in $pids; do kill "$pid" 2> /dev/null || true; done
    if [ -n "$pgpid" ]; then
        # $pgpid is the subshell of as_owner; the server's own pid is in
        # its lock file.
        kill -INT "$(head -n 1 "$pgroot/data/postmaster.pid" 2> /dev/null)" 2> /dev/null || true
        wait "$pgpid" 2> /dev/null || true
    fi
    [ -n "$pgroot" ] && rm -rf "$pgroot"
}
trap cleanup EXIT

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# as_owner COMMAND...: run as the cluster's owner (postgres when root).
as_owner() {
    if [ "$(id -u)" = 0 ]; then
        setpriv --reuid=postgres --regid=postgres --init-groups "$@"
    else
        "$@"
    fi
}

start_postgres() {
    pgroot=$(mktemp -d /tmp/stratus-bench-pg.XXXXXX)
    chmod 755 "$pgroot"
    mkdir "$pgroot/data"
    [ "$(id -u)" = 0 ] && chown postgres:postgres "$pgroot/data"
    as_owner "$pgbin/initdb" -A trust -U postgres -E UTF8 --locale=C -D "$pgroot/data" > /dev/null
    pgport=$(free_port)
    as_owner "$pgbin/postgres" -D "$pgroot/data" -p "$pgport" -k "$pgroot/data" \
        -c listen_addresses=127.0.0.1 -c max_connections=200 > "$pgroot/log" 2>&1 &
    pgpid=$!
    tries=0
    until "$pgbin/pg_isready" -q -h 127.0.0.1 -p "$pgport"; do
        tries=$((tries + 1))
        [ "$tries" -lt 300 ] || { cat "$pgroot/log" >&2; exit 1; }
        sleep 0.1
    done
}

# new_database NAME: a fresh database; prints its URL.
new_database() {
    "$pgbin/createdb" -h 127.0.0.1 -p "$pgport" -U postgres "$1"
    echo "postgres://postgres@127.0.0.1:$pgport/$1"
}

# make_documents N DIR: N signed documents with distinct identifiers.
make_documents() {
    n=$1
    dir=$2
    [ -f "$dir/done" ] && [ "$(cat "$dir/done")" = "$n" ] && return 0
    rm -rf "$dir"
    mkdir -p "$dir"
    [ -f pg-signer.pem ] || openssl req -x509 -newkey rsa:2048 -nodes -days 3650 \
        -subj "/O=stratus bench/CN=Bench Signer" -addext "subjectAltName=email:bench@example.org" \
        -keyout pg-signer.key -out pg-signer.pem 2> /dev/null
    printf 'a small image' > small.img
    "$bin/stratus-build-metadata" -q --format raw --os ubuntu --os-version 1.0 --os-arch x86_64 \
        --title "bench image" --location "https://example.org/a.img" small.img > pg-template.xml
    python3 - "$n" "$dir" << 'EOF'
import re, sys
n, target = int(sys.argv[1]), sys.argv[2]
alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
def identifier(hex_sha1):
    value = int(hex_sha1, 16)
    return "".join(alphabet[(value >> (6 * (26 - i))) & 63] for i in range(27))
text = open("pg-template.xml").read()
sha1 = re.search(r"<slreq:algorithm>SHA-1</slreq:algorithm>\s*<slreq:value>([0-9a-f]{40})<", text).group(1)
old = identifier(sha1)
for i in range(n):
    new_sha1 = f"{i + 1:08x}" + sha1[8:]
    doc = text.replace(old, identifier(new_sha1)).replace(sha1, new_sha1)
    open(f"{target}/doc-{i:06d}.xml", "w").write(doc)
EOF
    find "$dir" -name 'doc-*.xml' | sort | xargs "$bin/stratus-sign-metadata" -q \
        --pem-cert pg-signer.pem --pem-key pg-signer.key
    find "$dir" -name '*.orig' -delete
    echo "$n" > "$dir/done"
}

# start_server NAME DATA [VAR=VALUE...]: a server on a free port; sets
# $url and $server (and NAME.out, NAME.log).
start_server() {
    name=$1
    data=$2
    shift 2
    rm -f "$name.out"
    env "$@" "$bin/stratus-marketplace" serve -q --listen 127.0.0.1:0 --data "$data" \
        --config "$out/market.cfg" > "$name.out" 2> "$name.log" &
    server=$!
    pids="$pids $server"
    until grep -q 'listening on' "$name.out" 2> /dev/null; do
        kill -0 "$server" 2> /dev/null || { cat "$name.log" >&2; exit 1; }
        sleep 0.01
    done
    url=$(sed -n 's|^stratus-marketplace: listening on \(http://[^ ]*\)/$|\1|p' "$name.out")
}

# wrk_run NAME URL CONNECTIONS [SCRIPT ARG...]: wrk into NAME.wrk.
wrk_run() {
    name=$1
    target=$2
    c=$3
    shift 3
    if [ $# -gt 0 ]; then
        script=$1
        shift
        wrk -t"$threads" -c"$c" -d"${seconds}s" --latency -s "$script" "$target" -- "$@" > "$name.wrk"
    else
        wrk -t"$threads" -c"$c" -d"${seconds}s" --latency "$target" > "$name.wrk"
    fi
}

# summary NAME: "requests_per_second p99_ms non_2xx" of NAME.wrk.
summary() {
    awk '
        /Requests\/sec/ { rps = $2 }
        $1 == "99%" {
            v = $2
            if (v ~ /us$/) { sub(/us$/, "", v); p99 = v / 1000 }
            else if (v ~ /ms$/) { sub(/ms$/, "", v); p99 = v }
            else if (v ~ /s$/) { sub(/s$/, "", v); p99 = v * 1000 }
        }
        /Non-2xx/ { bad = $NF }
        END { printf "%s %s %s\n", rps, p99, (bad == "" ? 0 : bad) }
    ' "$1.wrk"
}

cat > pg-upload.lua << 'EOF'
local bodies = {}
local i = 0
function init(args)
    for path in io.lines(args[1]) do
        local file = io.open(path, "rb")
        bodies[#bodies + 1] = file:read("*a")
        file:close()
    end
end
function request()
    i = i % #bodies + 1
    return wrk.format("POST", "/metadata", { ["Content-Type"] = "application/xml" }, bodies[i])
end
EOF

echo
echo "== PostgreSQL next to SQLite: $uploads documents (made once, kept in $out/pg-docs-$uploads)"
make_documents "$uploads" "pg-docs-$uploads"
find "$out/pg-docs-$uploads" -name 'doc-*.xml' | sort > pg-all.txt
awk 'NR % 2 == 1' pg-all.txt > pg-even.txt
awk 'NR % 2 == 0' pg-all.txt > pg-odd.txt
start_postgres
echo "tools: $(wrk --version 2>&1 | head -1 | cut -d' ' -f1-2), PostgreSQL $("$pgbin/postgres" --version | awk '{ print $3 }'); wrk -t$threads -c$connections -d${seconds}s; $(nproc) cores"

echo
echo "== 14. Uploads with full verification, $connections clients, every one a new entry"
rm -rf pg-store-sqlite
start_server sqlite pg-store-sqlite
wrk_run up-sqlite "$url/metadata" "$connections" pg-upload.lua "$out/pg-all.txt"
kill -TERM "$server"; wait "$server" || true
pg_url=$(new_database uploads_one)
start_server pg1 pg-store-pg1 MARKETPLACE_STORE_TYPE=postgres MARKETPLACE_STORE_URL="$pg_url"
wrk_run up-pg1 "$url/metadata" "$connections" pg-upload.lua "$out/pg-all.txt"
kill -TERM "$server"; wait "$server" || true
pg_url=$(new_database uploads_two)
start_server pga pg-store-pga MARKETPLACE_STORE_TYPE=postgres MARKETPLACE_STORE_URL="$pg_url"
url_a=$url server_a=$server
start_server pgb pg-store-pgb MARKETPLACE_STORE_TYPE=postgres MARKETPLACE_STORE_URL="$pg_url"
url_b=$url server_b=$server
half=$((connections / 2))
wrk_run up-pga "$url_a/metadata" "$half" pg-upload.lua "$out/pg-even.txt" &
wrk_a=$!
wrk_run up-pgb "$url_b/metadata" "$half" pg-upload.lua "$out/pg-odd.txt"
wait "$wrk_a"
stored=$(curl -s "$url_a/metadata?media=json" | python3 -c 'import json, sys; print(json.load(sys.stdin)["iTotalRecords"])')
kill -TERM "$server_a" "$server_b"; wait "$server_a" || true; wait "$server_b" || true
set -- $(summary up-sqlite) $(summary up-pg1) $(summary up-pga) $(summary up-pgb) "$stored"
echo "$@" | awk '{
    printf "  one server, SQLite               %7.0f documents/s  p99 %7.2f ms  (not 201: %d)\n", $1, $2, $3
    printf "  one server, PostgreSQL           %7.0f documents/s  p99 %7.2f ms  (not 201: %d)\n", $4, $5, $6
    printf "  two servers, one PostgreSQL      %7.0f documents/s  (%.0f + %.0f; p99 %.2f / %.2f ms; not 201: %d)\n", $7 + $10, $7, $10, $8, $11, $9 + $12
    printf "  two servers / SQLite: %.2f; entries listed after the two-server run: %d\n", ($7 + $10) / $1, $13
}'

echo
echo "== 15. GET one entry by its full key: SQLite next to PostgreSQL"
first=$(head -n 1 pg-all.txt)
key=$(python3 - "$first" << 'EOF'
import re, sys
text = open(sys.argv[1]).read()
ident = re.search(r"<dcterms:identifier>([^<]+)<", text).group(1)
email = re.search(r"<email>([^<]+)</email>", text).group(1)
created = re.search(r"<created xmlns=\"http://purl.org/dc/terms/\">([^<]+)<", text).group(1)
print(f"{ident}/{email}/{created}")
EOF
)
pg_url=$(new_database get_one)
start_server gsqlite pg-store-sqlite
url_s=$url server_s=$server
start_server gpg pg-store-gpg MARKETPLACE_STORE_TYPE=postgres MARKETPLACE_STORE_URL="$pg_url"
url_p=$url server_p=$server
curl -s -o /dev/null -X POST -H 'Content-Type: application/xml' --data-binary "@$first" "$url_p/metadata"
for round in 1 2; do
    wrk_run get-sqlite-$round "$url_s/metadata/$key" "$connections"
    wrk_run get-pg-$round "$url_p/metadata/$key" "$connections"
done
kill -TERM "$server_s" "$server_p"; wait "$server_s" || true; wait "$server_p" || true
best() { for f in "$@"; do summary "$f"; done | sort -n -r | head -n 1; }
set -- $(best get-sqlite-1 get-sqlite-2) $(best get-pg-1 get-pg-2)
echo "$@" | awk '{
    printf "  SQLite      %9.0f requests/s  p99 %7.2f ms  (not 2xx: %d)\n", $1, $2, $3
    printf "  PostgreSQL  %9.0f requests/s  p99 %7.2f ms  (not 2xx: %d)\n", $4, $5, $6
    printf "  PostgreSQL / SQLite: %.2f (best of 2 rounds each)\n", $4 / $1
}'
