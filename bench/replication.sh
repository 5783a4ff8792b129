#!/bin/sh
# Replication catch-up (docs/REPLICATION.md):
#
#   13. A follower (`stratus-marketplace serve --follow PEER`) on an empty
#       store verifying and committing ENTRIES (default 10,000) signed
#       entries from the peer's change feed, from its start to its last
#       commit, next to `stratus-validate-metadata -q` verifying the same
#       documents in one call. Target: at least 0.5 of its rate.
#
# The peer is filled once with `stratus-marketplace import`; the documents
# (ten OSes, distinct identifiers, one signer) are made once and kept in
# OUT_DIR/repl-docs-ENTRIES. Best of ROUNDS (3) for each side.
# usage: replication.sh BIN_DIR OUT_DIR
set -eu
bin=$(cd "${1:-target/release}" && pwd)
out=${2:-bench-out}
entries=${ENTRIES:-10000}
rounds=${ROUNDS:-3}
mkdir -p "$out"
cd "$out"
out=$(pwd)
for tool in curl python3 openssl; do
    command -v "$tool" > /dev/null || {
        echo "the replication benchmark needs $tool" >&2
        exit 1
    }
done
pids=""
cleanup() {
    for pid in $pids; do kill "$pid" 2> /dev/null || true; done
}
trap cleanup EXIT
now_ns() { date +%s%N; }

docs="repl-docs-$entries"
if [ ! -f "$docs/done" ] || [ "$(cat "$docs/done")" != "$entries" ]; then
    rm -rf "$docs"
    mkdir -p "$docs/flat"
    openssl req -x509 -newkey rsa:2048 -nodes -days 3650 \
        -subj "/O=stratus bench/CN=Replication Signer" \
        -addext "subjectAltName=email:replication@example.org" \
        -keyout "$docs/signer.key" -out "$docs/signer.pem" 2> /dev/null
    printf 'a replicated image' > "$docs/image.raw"
    for os in ubuntu centos debian fedora sl ttylinux alpine opensuse rocky arch; do
        "$bin/stratus-build-metadata" -q --format raw --os "$os" --os-version 1.0 \
            --os-arch x86_64 --title "replicated $os image" \
            --location "https://example.org/$os.raw" "$docs/image.raw" > "$docs/template-$os.xml"
    done
    # Each document its own image: the SHA-1 (and so the identifier)
    # varies in its first 32 bits.
    python3 - "$entries" "$docs" << 'EOF'
import re, sys
count, docs = int(sys.argv[1]), sys.argv[2]
digits = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
def identifier(sha1):
    n = int(sha1, 16)
    return "".join(digits[(n >> (6 * (26 - k))) & 63] for k in range(27))
systems = ["ubuntu", "centos", "debian", "fedora", "sl", "ttylinux", "alpine", "opensuse", "rocky", "arch"]
templates = [open(f"{docs}/template-{s}.xml").read() for s in systems]
for k in range(count):
    text = templates[k % len(systems)]
    sha1 = re.search(r"<slreq:algorithm>SHA-1</slreq:algorithm>\s*<slreq:value>([0-9a-f]{40})<", text).group(1)
    varied = f"{k + 1:08x}{sha1[8:]}"
    text = text.replace(identifier(sha1), identifier(varied)).replace(sha1, varied)
    with open(f"{docs}/flat/doc-{k:06d}.xml", "w") as f:
        f.write(text)
EOF
    (cd "$docs/flat" && "$bin/stratus-sign-metadata" -q --pem-cert ../signer.pem \
        --pem-key ../signer.key doc-*.xml > /dev/null)
    rm -f "$docs"/flat/*.orig
    # The legacy layout import reads: metadata/<id>/<email>/<created>.xml.
    python3 - "$docs" << 'EOF'
import os, re, sys
docs = sys.argv[1]
for name in sorted(os.listdir(f"{docs}/flat")):
    text = open(f"{docs}/flat/{name}").read()
    ident = re.search(r"<dcterms:identifier>([^<]+)<", text).group(1)
    email = re.search(r"<email>([^<]+)</email>", text).group(1)
    created = re.search(r"<created xmlns=\"http://purl.org/dc/terms/\">([^<]+)<", text).group(1)
    folder = f"{docs}/legacy/metadata/{ident}/{email}"
    os.makedirs(folder, exist_ok=True)
    os.link(f"{docs}/flat/{name}", f"{folder}/{created}.xml")
EOF
    echo "$entries" > "$docs/done"
fi

printf 'validate.email=false\nfollow.interval=1\n' > repl.cfg
rm -rf repl-peer
"$bin/stratus-marketplace" import -q "$docs/legacy" --data repl-peer --config repl.cfg > /dev/null

# serve NAME DATA [OPTION...]: start a server on a free port; sets $url
# and $server.
serve() {
    name=$1
    data=$2
    shift 2
    rm -f "$name.out"
    "$bin/stratus-marketplace" serve -q --listen 127.0.0.1:0 --data "$data" \
        --config "$out/repl.cfg" "$@" > "$name.out" 2> "$name.log" &
    server=$!
    pids="$pids $server"
    until grep -q 'listening on' "$name.out" 2> /dev/null; do
        kill -0 "$server" 2> /dev/null || { cat "$name.log" >&2; exit 1; }
        sleep 0.01
    done
    url=$(sed -n 's|^stratus-marketplace: listening on \(http://[^ ]*\)/$|\1|p' "$name.out")
}

serve repl-peer repl-peer
peer_url=$url
peer=$server

# The follower has committed every entry when its feed has an entry at
# revision ENTRIES.
caught_up() {
    curl -s "$1/changes?since=$((entries - 1))&limit=1&media=json" | grep -q "\"sequence\":$entries"
}

echo
echo "== 13. Replication catch-up: $entries entries from a peer's feed, verified and committed"
follow_best=""
validate_best=""
i=0
while [ "$i" -lt "$rounds" ]; do
    rm -rf repl-follower
    start=$(now_ns)
    serve repl-follower repl-follower --follow "$peer_url/"
    until caught_up "$url"; do sleep 0.01; done
    end=$(now_ns)
    kill -TERM "$server"
    wait "$server" || true
    f=$(( (end - start) / 1000 ))
    [ -z "$follow_best" ] || [ "$f" -lt "$follow_best" ] && follow_best=$f
    start=$(now_ns)
    (cd "$docs/flat" && "$bin/stratus-validate-metadata" -q doc-*.xml > /dev/null)
    end=$(now_ns)
    v=$(( (end - start) / 1000 ))
    [ -z "$validate_best" ] || [ "$v" -lt "$validate_best" ] && validate_best=$v
    echo "$((i + 1)) $f $v" | awk '{ printf "  round %d: follower %.2f s, validate %.2f s, ratio %.2f\n", $1, $2 / 1e6, $3 / 1e6, $3 / $2 }'
    i=$((i + 1))
done
kill -TERM "$peer"
wait "$peer" || true
echo "$follow_best $validate_best $entries" | awk '{
    follow = $3 / ($1 / 1e6); validate = $3 / ($2 / 1e6)
    printf "  stratus-marketplace serve --follow    %6.2f s  %7.0f entries/s (start to last commit)\n", $1 / 1e6, follow
    printf "  stratus-validate-metadata, one call   %6.2f s  %7.0f documents/s\n", $2 / 1e6, validate
    printf "  ratio %.2f (target >= 0.5)\n", follow / validate
}'
