#!/bin/sh
# Marketplace server benchmarks, each next to its reference in the same run,
# with wrk as the load generator on 127.0.0.1 (apt-get install nginx-light wrk):
#
#   6. GET of one entry by its full key, against nginx serving the same
#      document as a static file: requests per second and p99 latency.
#   7. GET of a filtered JSON listing (one OS, first page of 10), against
#      nginx serving a body of the same size.
#   8. Uploads with full verification from many clients, against
#      stratus-validate-metadata verifying the same documents in one call.
#   8b. The HTML list page (first page of 20) and the entry page, next to
#      the JSON listing of the same 20 entries.
#   9. Start-up to the first answered request with ENTRIES_LARGE entries,
#      and resident memory after start-up and under load.
#   10b. The SPARQL graph (--sparql) at ENTRIES and ENTRIES_LARGE entries:
#      the time to build it, resident memory once built, and a typical
#      query's latency (curl, best and median of 20).
#
# The store holds ENTRIES (default 10,000) signed documents over ten OSes,
# imported with `stratus-marketplace import`; the documents are made once
# and kept in OUT_DIR for later runs. wrk: WRK_THREADS (2) threads,
# WRK_CONNECTIONS (32) connections, WRK_SECONDS (5) seconds per run. In 6
# and 7 the server and nginx take turns for ROUNDS (3) rounds, so that a
# burst of load from elsewhere on the machine hits both alike; the best
# round of each is kept and the ratio of every round is printed.
# usage: marketplace.sh BIN_DIR OUT_DIR
set -eu
bin=$(cd "${1:-target/release}" && pwd)
out=${2:-bench-out}
entries=${ENTRIES:-10000}
large=${ENTRIES_LARGE:-100000}
threads=${WRK_THREADS:-2}
connections=${WRK_CONNECTIONS:-32}
seconds=${WRK_SECONDS:-5}
rounds=${ROUNDS:-3}
mkdir -p "$out"
cd "$out"
out=$(pwd)
for tool in wrk nginx curl python3; do
    command -v "$tool" > /dev/null || [ -x "/usr/sbin/$tool" ] || {
        echo "the Marketplace benchmarks need $tool (apt-get install nginx-light wrk curl)" >&2
        exit 1
    }
done
nginx_bin=$(command -v nginx || echo /usr/sbin/nginx)
printf 'validate.email=false\n' > market.cfg
pids=""
cleanup() {
    for pid in $pids; do kill "$pid" 2> /dev/null || true; done
}
trap cleanup EXIT

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# make_documents N DIR: N signed documents with distinct identifiers, in
# the legacy layout under DIR/metadata, ten OSes in turn.
make_documents() {
    n=$1
    dir=$2
    [ -f "$dir/done" ] && [ "$(cat "$dir/done")" = "$n" ] && return 0
    rm -rf "$dir"
    mkdir -p "$dir/flat"
    [ -f signer.pem ] || openssl req -x509 -newkey rsa:2048 -nodes -days 3650 \
        -subj "/O=stratus bench/CN=Bench Signer" -addext "subjectAltName=email:bench@example.org" \
        -keyout signer.key -out signer.pem 2> /dev/null
    printf 'a small image' > small.img
    for os in ubuntu centos debian fedora sl ttylinux alpine opensuse rocky arch; do
        "$bin/stratus-build-metadata" -q --format raw --os "$os" --os-version 1.0 --os-arch x86_64 \
            --title "bench $os image" --location "https://example.org/$os.img" small.img > "template-$os.xml"
    done
    python3 - "$n" "$dir/flat" << 'EOF'
import re, sys
n, target = int(sys.argv[1]), sys.argv[2]
alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
def identifier(hex_sha1):
    value = int(hex_sha1, 16)
    return "".join(alphabet[(value >> (6 * (26 - i))) & 63] for i in range(27))
oses = ["ubuntu", "centos", "debian", "fedora", "sl", "ttylinux", "alpine", "opensuse", "rocky", "arch"]
templates = {os: open(f"template-{os}.xml").read() for os in oses}
for i in range(n):
    text = templates[oses[i % 10]]
    sha1 = re.search(r"<slreq:algorithm>SHA-1</slreq:algorithm>\s*<slreq:value>([0-9a-f]{40})<", text).group(1)
    old = identifier(sha1)
    new_sha1 = f"{i + 1:08x}" + sha1[8:]
    text = text.replace(old, identifier(new_sha1)).replace(sha1, new_sha1)
    open(f"{target}/doc-{i:06d}.xml", "w").write(text)
EOF
    # One signing call for all of them (in place).
    find "$dir/flat" -name 'doc-*.xml' | sort | xargs "$bin/stratus-sign-metadata" -q \
        --pem-cert signer.pem --pem-key signer.key
    find "$dir/flat" -name '*.orig' -delete
    echo "$n" > "$dir/done"
}

# as_legacy_layout FLAT DIR: the documents filed under their keys.
as_legacy_layout() {
    python3 - "$1" "$2" << 'EOF'
import os, re, sys
flat, target = sys.argv[1], sys.argv[2]
for name in sorted(os.listdir(flat)):
    text = open(os.path.join(flat, name)).read()
    ident = re.search(r"<dcterms:identifier>([^<]+)<", text).group(1)
    email = re.search(r"<email>([^<]+)</email>", text).group(1)
    created = re.search(r"<created xmlns=\"http://purl.org/dc/terms/\">([^<]+)<", text).group(1)
    path = os.path.join(target, "metadata", ident, email)
    os.makedirs(path, exist_ok=True)
    os.link(os.path.join(flat, name), os.path.join(path, created + ".xml"))
EOF
}

# start_server DATA [OPTION...]: start stratus-marketplace on a free port;
# sets $url and $server.
start_server() {
    rm -f server.out
    data=$1
    shift
    "$bin/stratus-marketplace" serve -q --listen 127.0.0.1:0 --data "$data" \
        --config "$out/market.cfg" "$@" > server.out 2> server.log &
    server=$!
    pids="$pids $server"
    until grep -q 'listening on' server.out 2> /dev/null; do
        kill -0 "$server" 2> /dev/null || { cat server.log >&2; exit 1; }
        sleep 0.01
    done
    url=$(sed -n 's|^stratus-marketplace: listening on \(http://[^ ]*\)/$|\1|p' server.out)
}

stop_server() {
    kill -TERM "$server"
    wait "$server" || true
}

rss_kib() { awk '/^VmRSS/ { print $2 }' "/proc/$1/status"; }
hwm_kib() { awk '/^VmHWM/ { print $2 }' "/proc/$1/status"; }

# bench URL [SCRIPT ARG...]: prints "requests_per_second p99_ms non_2xx".
bench() {
    target=$1
    shift
    if [ $# -gt 0 ]; then
        script=$1
        shift
        wrk -t"$threads" -c"$connections" -d"${seconds}s" --latency -s "$script" "$target" -- "$@" > wrk.txt
    else
        wrk -t"$threads" -c"$connections" -d"${seconds}s" --latency "$target" > wrk.txt
    fi
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
    ' wrk.txt
}

echo
echo "== Marketplace: $entries entries (made once, kept in $out/docs-$entries)"
make_documents "$entries" "docs-$entries"
rm -rf "legacy-$entries" "store-$entries"
as_legacy_layout "docs-$entries/flat" "legacy-$entries"
start=$(date +%s%N)
"$bin/stratus-marketplace" import -q "legacy-$entries" --data "store-$entries" --config market.cfg > import.txt
end=$(date +%s%N)
echo "$start $end $entries" | awk '{ t = ($2 - $1) / 1e9; printf "  import (every document verified): %.2f s, %.0f documents/s\n", t, $3 / t }'

start_server "store-$entries"
sample=$(ls "docs-$entries/flat" | head -1)
key=$(python3 - "docs-$entries/flat/$sample" << 'EOF'
import re, sys
text = open(sys.argv[1]).read()
ident = re.search(r"<dcterms:identifier>([^<]+)<", text).group(1)
email = re.search(r"<email>([^<]+)</email>", text).group(1)
created = re.search(r"<created xmlns=\"http://purl.org/dc/terms/\">([^<]+)<", text).group(1)
print(f"{ident}/{email}/{created}")
EOF
)
entry_url="$url/metadata/$key"
listing_url="$url/metadata?media=json&sSearch_1=%5Eubuntu%24&iDisplayStart=0&iDisplayLength=10"
rm -rf nginx
mkdir -p nginx/www nginx/logs
curl -sS -o nginx/www/entry.xml "$entry_url"
curl -sS -o nginx/www/listing.json "$listing_url"
grep -q '"iTotalDisplayRecords":'"$((entries / 10))" nginx/www/listing.json || {
    echo "unexpected listing: $(head -c 300 nginx/www/listing.json)" >&2
    exit 1
}
nginx_port=$(free_port)
cat > nginx/nginx.conf << EOF
worker_processes 2;
daemon off;
pid $out/nginx/nginx.pid;
error_log $out/nginx/logs/error.log;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path $out/nginx/tmp-body;
    proxy_temp_path $out/nginx/tmp-proxy;
    fastcgi_temp_path $out/nginx/tmp-fastcgi;
    uwsgi_temp_path $out/nginx/tmp-uwsgi;
    scgi_temp_path $out/nginx/tmp-scgi;
    types { application/rdf+xml xml; application/json json; }
    server { listen 127.0.0.1:$nginx_port; root $out/nginx/www; }
}
EOF
"$nginx_bin" -p "$out/nginx" -c "$out/nginx/nginx.conf" 2> nginx/logs/stderr.log &
pids="$pids $!"
until curl -s -o /dev/null "http://127.0.0.1:$nginx_port/entry.xml"; do sleep 0.05; done
echo "tools: $(wrk --version 2>&1 | head -1 | cut -d' ' -f1-2), nginx $("$nginx_bin" -v 2>&1 | cut -d/ -f2); wrk -t$threads -c$connections -d${seconds}s"

# versus OURS THEIRS: $rounds rounds, taking turns; prints the best
# "rps p99" of each, then the ratio of each round.
versus() {
    ours_all="" theirs_all="" ratios=""
    i=0
    while [ "$i" -lt "$rounds" ]; do
        if [ $((i % 2)) -eq 0 ]; then
            t=$(bench "$2"); o=$(bench "$1")
        else
            o=$(bench "$1"); t=$(bench "$2")
        fi
        ours_all="$ours_all
$o" theirs_all="$theirs_all
$t"
        ratios="$ratios $(echo "$o $t" | awk '{ printf "%.2f", $1 / $4 }')"
        i=$((i + 1))
    done
    best_o=$(printf '%s\n' "$ours_all" | awk 'NF && $1 > b { b = $1; l = $0 } END { print l }')
    best_t=$(printf '%s\n' "$theirs_all" | awk 'NF && $1 > b { b = $1; l = $0 } END { print l }')
    echo "$best_o $best_t $ratios"
}

echo
echo "== 7. GET one entry by its full key ($(wc -c < nginx/www/entry.xml) bytes)"
set -- $(versus "$entry_url" "http://127.0.0.1:$nginx_port/entry.xml")
mp_rss_load=$(hwm_kib "$server")
echo "$@" | awk '{
    printf "  stratus-marketplace %9.0f requests/s  p99 %7.2f ms\n", $1, $2
    printf "  nginx (static file) %9.0f requests/s  p99 %7.2f ms\n", $4, $5
    printf "  ratio %.2f of nginx (target >= 0.75), p99 %.2fx nginx (target <= 2)\n", $1 / $4, $2 / $5
    printf "  ratio in each round:"; for (i = 7; i <= NF; i++) printf " %s", $i; print ""
}'

echo
echo "== 8. GET a filtered JSON listing: one OS, first page of 10 ($(wc -c < nginx/www/listing.json) bytes)"
set -- $(versus "$listing_url" "http://127.0.0.1:$nginx_port/listing.json")
echo "$@" | awk '{
    printf "  stratus-marketplace %9.0f requests/s  p99 %7.2f ms\n", $1, $2
    printf "  nginx (same size)   %9.0f requests/s  p99 %7.2f ms\n", $4, $5
    printf "  ratio %.2f of nginx (target >= 0.25)\n", $1 / $4
    printf "  ratio in each round:"; for (i = 7; i <= NF; i++) printf " %s", $i; print ""
}'

# The same listing computed afresh every time: 1,000 different pages in
# turn, more than the server keeps (no target; what a cache miss costs).
cat > pages.lua << 'EOF'
local n = 0
function request()
    n = n + 1
    return wrk.format("GET", "/metadata?media=json&sSearch_1=%5Eubuntu%24&iDisplayLength=10&iDisplayStart=" .. (n % 1000))
end
EOF
set -- $(bench "$url/metadata" pages.lua)
echo "$1 $2" | awk '{ printf "  computed every time (1,000 pages in turn): %6.0f requests/s  p99 %7.2f ms\n", $1, $2 }'

echo
echo "== 8b. Pages: the HTML list (first page of 20) and an entry page, next to the JSON listing of the same 20"
echo 'wrk.headers["Accept"] = "text/html"' > html.lua
json20="$url/metadata?media=json&iDisplayStart=0&iDisplayLength=20"
curl -sS -H 'Accept: text/html' "$url/metadata" | grep -q 'Entries 1 to 20 of' || {
    echo "unexpected list page" >&2
    exit 1
}
set -- $(bench "$json20")
echo "$1 $2" | awk '{ printf "  JSON listing, 20 entries %9.0f requests/s  p99 %7.2f ms\n", $1, $2 }'
set -- $(bench "$url/metadata" html.lua)
echo "$1 $2" | awk '{ printf "  HTML list page, 20       %9.0f requests/s  p99 %7.2f ms\n", $1, $2 }'
set -- $(bench "$entry_url" html.lua)
echo "$1 $2" | awk '{ printf "  HTML entry page          %9.0f requests/s  p99 %7.2f ms\n", $1, $2 }'

echo
echo "== 9. Uploads with full verification, $connections clients (2,000 distinct documents in turn)"
ls "docs-$entries/flat" | head -2000 | sed "s|^|$out/docs-$entries/flat/|" > upload-list.txt
cat > upload.lua << 'EOF'
local bodies = {}
local i = 0
function init(args)
    for path in io.lines(args[1]) do
        local file = io.open(path, "rb")
        bodies[#bodies + 1] = file:read("*a")
        file:close()
    end
    i = math.random(#bodies)
end
function request()
    i = i % #bodies + 1
    return wrk.format("POST", "/metadata", { ["Content-Type"] = "application/xml" }, bodies[i])
end
EOF
set -- $(bench "$url/metadata" upload.lua "$out/upload-list.txt")
up_rps=$1 up_p99=$2 up_bad=$3
start=$(date +%s%N)
xargs "$bin/stratus-validate-metadata" -q < upload-list.txt > /dev/null
end=$(date +%s%N)
echo "$up_rps $up_p99 $up_bad $start $end" | awk '{
    validate = 2000 / (($5 - $4) / 1e9)
    printf "  stratus-marketplace uploads         %7.0f documents/s  p99 %7.2f ms  (not 201: %d)\n", $1, $2, $3
    printf "  stratus-validate-metadata, one call %7.0f documents/s\n", validate
    printf "  ratio %.2f (target >= 0.25)\n", $1 / validate
}'
[ "$up_bad" = 0 ] || { echo "some uploads were refused" >&2; exit 1; }
mp_rss_load2=$(hwm_kib "$server")
stop_server

echo
echo "== 10. Start-up with $large entries, and memory"
make_documents "$large" "docs-$large"
rm -rf "legacy-$large" "store-$large"
as_legacy_layout "docs-$large/flat" "legacy-$large"
"$bin/stratus-marketplace" import -q "legacy-$large" --data "store-$large" --config market.cfg > /dev/null
start=$(date +%s%N)
start_server "store-$large"
until curl -s -o /dev/null "$url/metadata?media=json&iDisplayStart=0&iDisplayLength=1"; do sleep 0.005; done
end=$(date +%s%N)
rss_start=$(rss_kib "$server")
bench "$url/metadata?media=json&sSearch_1=%5Eubuntu%24&iDisplayStart=0&iDisplayLength=10" > /dev/null
rss_large_load=$(hwm_kib "$server")
stop_server
large_summary="$start $end $rss_start $rss_large_load $mp_rss_load $mp_rss_load2"

# sparql DATA N: build the graph of the store DATA (N entries), then time
# a typical query.
sparql() {
    # The first query waits for the whole graph: let it take its time.
    export MARKETPLACE_SERVER_REQUEST_TIMEOUT=3600
    start_server "$1" --sparql
    unset MARKETPLACE_SERVER_REQUEST_TIMEOUT
    query='select ?i where { ?x <http://mp.stratuslab.eu/slterms#os> "ubuntu" ; <http://purl.org/dc/terms/identifier> ?i } limit 10'
    q=$(python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1]))' "$query")
    rss_before=$(rss_kib "$server")
    # The first query waits for the graph the server builds at start.
    first=$(curl -sS -o first.srx -w '%{time_total}' -H 'Accept: application/sparql-results+xml' "$url/query?query=$q")
    grep -q '<result>' first.srx || { echo "unexpected SPARQL answer: $(head -c 300 first.srx)" >&2; exit 1; }
    rss_built=$(rss_kib "$server")
    times=""
    i=0
    while [ "$i" -lt 20 ]; do
        times="$times $(curl -sS -o /dev/null -w '%{time_total}' "$url/query?query=$q")"
        i=$((i + 1))
    done
    stop_server
    echo "$2 $first $rss_before $rss_built $times" | awk '{
        n = 0; for (i = 5; i <= NF; i++) t[++n] = $i * 1000
        for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (t[j] < t[i]) { x = t[i]; t[i] = t[j]; t[j] = x }
        printf "  %6d entries: graph built by the first query after %.1f s; resident %.1f MiB before, %.1f MiB with the graph; query best %.1f ms, median %.1f ms\n", $1, $2, $3 / 1024, $4 / 1024, t[1], t[int((n + 1) / 2)]
    }'
}
echo
echo "== 10b. SPARQL (--sparql): graph memory and a typical query"
sparql "store-$entries" "$entries"
sparql "store-$large" "$large"

echo
echo "== 10. Start-up with $large entries, and memory (summary)"
echo "$large_summary" | awk '{
    printf "  start-up to the first answered request: %.3f s (target < 1 s)\n", ($2 - $1) / 1e9
    printf "  resident memory after start-up: %.1f MiB; peak under load: %.1f MiB (target < 200 MiB)\n", $3 / 1024, $4 / 1024
    printf "  with '"$entries"' entries, peak under the GET and upload loads: %.1f MiB, %.1f MiB\n", $5 / 1024, $6 / 1024
}'
