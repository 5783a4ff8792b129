#!/bin/sh
# The main job end to end, on embedded defaults, with nothing to set up:
# create a disk image, compress it, describe it in a metadata document,
# validate the draft, sign it with a certificate from a demo CA, and verify
# the signature and the signer's chain; then start a local Marketplace and
# a local image server, publish the signed document, find it, resolve it
# with a site policy, download and verify the image (a dead location
# first, then a cache hit with the image server gone), deprecate it; then
# publish a prepared image, boot it from the Marketplace under QEMU
# (resolved with the policy, downloaded, verified) and show what its guest
# read from the context CD; then start a read-only replica that follows
# the Marketplace's change feed, verifying every entry again, and stop the
# servers. The first Marketplace
# steps use curl, the later ones the stratus clients; the image server is
# Python's http.server.
#
# usage: demo.sh BIN_DIR OUT_DIR
set -eu
bin=$(cd "${1:-target/release}" && pwd)
repo=$(cd "$(dirname "$0")/.." && pwd)
out=${2:-demo-out}
rm -rf "$out"
mkdir -p "$out"
cd "$out"

step() { printf '\n== %s\n' "$*"; }

# start_image_server DIR: Python's http.server on a free port of 127.0.0.1,
# serving DIR; sets $images (its pid) and $image_port.
start_image_server() {
    rm -f images.out
    python3 -u -m http.server 0 --bind 127.0.0.1 --directory "$1" > images.out 2> images.log &
    images=$!
    tries=0
    until grep -q 'port' images.out 2> /dev/null; do
        tries=$((tries + 1))
        if [ "$tries" -gt 100 ] || ! kill -0 "$images" 2> /dev/null; then
            cat images.log >&2
            echo "the image server did not start" >&2
            exit 1
        fi
        sleep 0.1
    done
    image_port=$(sed -n 's/.* port \([0-9]*\).*/\1/p' images.out | head -1)
}

step "1. Create a 64 MiB qcow2 disk image with qemu-img and write some data into it"
qemu-img create -q -f qcow2 ttylinux.qcow2 64M
head -c 1048576 /dev/urandom > payload.bin
qemu-img dd -f raw -O qcow2 if=payload.bin of=ttylinux.qcow2 bs=1M count=1 2>/dev/null \
    || true
qemu-img info ttylinux.qcow2 | sed -n '1,3p'

step "2. Compress it as it would be published"
gzip -9 -k ttylinux.qcow2
ls -l ttylinux.qcow2 ttylinux.qcow2.gz | awk '{print $5, $9}'

step "3. Serve it from a local web server (python3 -m http.server, a free port)"
mkdir -p www
cp ttylinux.qcow2.gz www/
start_image_server www
trap 'kill "$images" 2> /dev/null || true' EXIT
image_url="http://127.0.0.1:$image_port/ttylinux.qcow2.gz"
echo "serving $image_url"

step "4. Describe it: stratus-build-metadata (one streaming pass: size and four digests)"
"$bin/stratus-build-metadata" \
    --os ttylinux --os-version 16.1 --os-arch x86_64 --image-version 1.0 \
    --title "ttylinux demo image" --comment "A small image made by make demo" \
    --location "http://127.0.0.1:9/ttylinux.qcow2.gz" --location "$image_url" \
    --email demo@example.org \
    ttylinux.qcow2.gz > ttylinux.xml
cat ttylinux.xml

step "5. Check the digests against coreutils on the decompressed image"
expected_sha1=$(gzip -dc ttylinux.qcow2.gz | sha1sum | cut -d' ' -f1)
grep -q "<slreq:value>$expected_sha1</slreq:value>" ttylinux.xml
echo "SHA-1 $expected_sha1 matches sha1sum"

step "6. Validate the draft (before signing): stratus-validate-metadata --no-signature"
"$bin/stratus-validate-metadata" --no-signature ttylinux.xml

step "7. The same through a pipe, as in shell pipelines"
"$bin/stratus-build-metadata" -q --os ttylinux ttylinux.qcow2.gz \
    | "$bin/stratus-validate-metadata" --no-signature --json

step "8. A draft is not a signed document: without --no-signature it is refused"
code=0
"$bin/stratus-validate-metadata" ttylinux.xml || code=$?
if [ "$code" -ne 1 ]; then
    echo "unexpected exit code $code for an unsigned document" >&2
    exit 1
fi
echo "refused as expected (exit $code)"

step "9. A demo CA and an image author's certificate (openssl), as a PKCS#12 file"
openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/O=Demo Grid/CN=Demo CA" \
    -keyout ca.key -out ca.pem 2> /dev/null
openssl req -newkey rsa:2048 -nodes -subj "/O=Demo Grid/OU=Images/CN=Jane Author" \
    -keyout author.key -out author.csr 2> /dev/null
printf 'subjectAltName=email:jane.author@example.org\nkeyUsage=digitalSignature\n' > author.ext
openssl x509 -req -in author.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 30 \
    -extfile author.ext -out author.pem 2> /dev/null
openssl pkcs12 -export -inkey author.key -in author.pem -certfile ca.pem \
    -passout pass:demo -out author.p12
openssl x509 -in author.pem -noout -subject -issuer

step "10. Sign the draft: stratus-sign-metadata (endorsement filled from the certificate)"
"$bin/stratus-sign-metadata" --p12-cert author.p12 --p12-password demo \
    < ttylinux.xml > ttylinux-signed.xml
grep -o '<endorser[^>]*>.*</endorser>' ttylinux-signed.xml

step "11. Validate the signed document, and check the signer against the demo CA"
"$bin/stratus-validate-metadata" --ca ca.pem ttylinux-signed.xml

step "12. Tampering is detected (exit 3), and another CA does not trust the signer (exit 4)"
sed 's|<slterms:os>ttylinux</slterms:os>|<slterms:os>evil</slterms:os>|' \
    ttylinux-signed.xml > tampered.xml
code=0
"$bin/stratus-validate-metadata" tampered.xml || code=$?
[ "$code" -eq 3 ] || { echo "unexpected exit code $code for a tampered document" >&2; exit 1; }
openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=Other CA" \
    -keyout other.key -out other.pem 2> /dev/null
code=0
"$bin/stratus-validate-metadata" --ca other.pem ttylinux-signed.xml || code=$?
[ "$code" -eq 4 ] || { echo "unexpected exit code $code for an untrusted signer" >&2; exit 1; }
echo "refused as expected"

step "13. Start a local Marketplace: stratus-marketplace serve (a free port, a store of its own)"
# The legacy configuration file, found in the working directory.
printf 'validate.email=false\n' > marketplace.cfg
"$bin/stratus-marketplace" serve --listen 127.0.0.1:0 --data marketplace-data \
    --ca ca.pem > server.out 2> server.log &
server=$!
trap 'kill "$server" "$images" 2> /dev/null || true' EXIT
# The URL a server started with its output in $1 and its log in $2 prints.
listening() {
    tries=0
    until grep -q 'listening on' "$1" 2> /dev/null; do
        tries=$((tries + 1))
        if [ "$tries" -gt 100 ]; then
            cat "$2" >&2
            echo "the Marketplace did not start" >&2
            exit 1
        fi
        sleep 0.1
    done
    sed -n 's|^stratus-marketplace: listening on \(http://[^ ]*\)/$|\1|p' "$1"
}
url=$(listening server.out server.log)
cat server.out
echo "(uploads are accepted only from signers certified by the demo CA: --ca ca.pem)"

step "14. Publish it: stratus-upload-metadata (validated here first; prints the entry URL)"
STRATUSLAB_MARKETPLACE_ENDPOINT="$url/marketplace"
export STRATUSLAB_MARKETPLACE_ENDPOINT
echo "STRATUSLAB_MARKETPLACE_ENDPOINT=$STRATUSLAB_MARKETPLACE_ENDPOINT"
"$bin/stratus-upload-metadata" ttylinux-signed.xml > upload.txt
cat upload.txt
entry=$(cat upload.txt)

step "15. The tampered document sent anyway (curl) is refused by the server (400, with the reason)"
code=$(curl -sS -o refused.xml -w '%{http_code}' -H 'Content-Type: application/xml' \
    -H 'Accept: application/xml' --data-binary @tampered.xml "$url/marketplace/metadata")
cat refused.xml; echo
[ "$code" = 400 ] || { echo "unexpected status $code for a tampered upload" >&2; exit 1; }

step "16. List it: the DataTables JSON the web page reads, and the XML clients read"
curl -sS "$url/marketplace/metadata?media=json"; echo
identifier=$(sed -n 's|.*<dcterms:identifier>\([^<]*\)</dcterms:identifier>.*|\1|p' ttylinux-signed.xml)
curl -sS "$url/marketplace/metadata/$identifier" | head -c 300; echo " ..."

step "17. Fetch the entry back and verify it again"
curl -sS -o fetched.xml "$entry"
"$bin/stratus-validate-metadata" --ca ca.pem fetched.xml

step "18. stratus-upload-metadata refuses it before sending anything (exit 3)"
code=0
"$bin/stratus-upload-metadata" tampered.xml 2> refused-upload.txt || code=$?
cat refused-upload.txt
[ "$code" -eq 3 ] || { echo "unexpected exit code $code for a tampered upload" >&2; exit 1; }

step "19. Find it: stratus-list-images, stratus-search-image --os, stratus-show-image --table"
"$bin/stratus-list-images"
"$bin/stratus-search-image" --os ttylinux --json
"$bin/stratus-show-image" --table "$identifier"

step "20. A site policy: only Jane's images, signed under the demo CA"
cat > policy.cfg << 'POLICY'
[whitelistendorsers]
email1 = jane.author@example.org

[blacklistchecksums]
checksum = 639ac4915da045efa809bd02b2609d9d3f932eefg

[trust]
ca = ca.pem
POLICY
cat policy.cfg
echo "(the tutorial's malformed checksum is warned about, never silently ignored:)"
"$bin/stratus-policy-image" --policy policy.cfg "$identifier"

step "21. A policy that blacklists Jane refuses the image (exit 5), and says why"
printf '[blacklistendorsers]\nemail = jane.author@example.org\n[trust]\nca = ca.pem\n' \
    > strict.cfg
code=0
"$bin/stratus-policy-image" --policy strict.cfg --explain "$identifier" || code=$?
[ "$code" -eq 5 ] || { echo "unexpected exit code $code for a refused image" >&2; exit 1; }
echo "refused as expected (exit $code)"

step "22. Download it: policy and signature first, then the locations in order, verified"
"$bin/stratus-download-image" -v --policy policy.cfg --cache cache \
    -o ttylinux-downloaded.qcow2 "$identifier"
cmp ttylinux.qcow2 ttylinux-downloaded.qcow2
echo "the downloaded image is the one that was published (cmp)"

step "23. Again with the image server stopped: a verified cache hit, no network"
kill "$images"
wait "$images" 2> /dev/null || true
"$bin/stratus-download-image" -v --policy policy.cfg --cache cache \
    -o ttylinux-again.qcow2 "$identifier"
cmp ttylinux.qcow2 ttylinux-again.qcow2

step "24. Deprecate it (signed by its endorser), then the policy refuses it unless allowed"
"$bin/stratus-deprecate-metadata" --p12-cert author.p12 --p12-password demo \
    --email jane.author@example.org --reason "superseded by the next release" "$identifier"
code=0
"$bin/stratus-policy-image" --policy policy.cfg "$identifier" || code=$?
[ "$code" -eq 5 ] || { echo "unexpected exit code $code for a deprecated image" >&2; exit 1; }
echo "refused as deprecated (exit $code)"
"$bin/stratus-policy-image" --policy policy.cfg --allow-deprecated "$identifier"

step "25. Publish a prepared image and boot it from the Marketplace under QEMU (TCG)"
if command -v qemu-system-x86_64 > /dev/null 2>&1 && command -v busybox > /dev/null 2>&1 \
    && command -v dropbear > /dev/null 2>&1 && command -v genisoimage > /dev/null 2>&1 \
    && sh "$repo/bin-tests/guest/build.sh" guest 2> guest-build.err; then
    mkdir -p www2
    start_image_server www2
    trap 'kill "$server" "$images" 2> /dev/null || true' EXIT
    echo "a tiny guest from Debian packages, prepared with the kit, served by http://127.0.0.1:$image_port/"
    "$bin/stratus-create-image" -q --from-dir guest/rootfs --prepare -o www2/tiny.img \
        --title "Tiny demo guest" --os busybox \
        --location "http://127.0.0.1:$image_port/tiny.img" > tiny.xml
    "$bin/stratus-sign-metadata" --p12-cert author.p12 --p12-password demo \
        < tiny.xml > tiny-signed.xml
    "$bin/stratus-upload-metadata" tiny-signed.xml
    tiny=$(sed -n 's|.*<dcterms:identifier>\([^<]*\)</dcterms:identifier>.*|\1|p' tiny-signed.xml)
    export STRATUS_STATE_DIR="$PWD/instances"
    # shellcheck disable=SC2016 # the guest expands $ROLE
    printf 'echo "init.sh says: ROLE=$ROLE"\n' > init.sh
    echo "stratus-run-instance $tiny (resolved with policy.cfg, downloaded, verified, then booted)"
    "$bin/stratus-run-instance" "$tiny" --policy policy.cfg --cache cache \
        --accel tcg --ram 256 --vm-disks-bus nvme \
        --kernel guest/vmlinuz --append "root=/dev/nvme0n1 rw console=ttyS0 quiet panic=-1" \
        --hostname demo-guest --context ROLE=demo --init-script init.sh 2> run.err \
        || { cat run.err >&2; exit 1; }
    grep -v '^$' run.err | head -3
    tries=0
    until grep -q '^tiny: ready' instances/1/console.log 2> /dev/null; do
        tries=$((tries + 1))
        [ $tries -lt 600 ] || { echo "the guest did not boot" >&2; exit 1; }
        sleep 0.2
    done
    grep -E '^(stratus-|init.sh says)' instances/1/console.log
    "$bin/stratus-kill-instance" 1
    kill "$images"
    wait "$images" 2> /dev/null || true
else
    echo "skipped: needs qemu-system-x86, busybox-static, dropbear-bin, genisoimage and apt"
fi

step "26. A read-only replica follows it (serve --follow): every entry verified again before it is committed"
printf 'validate.email=false\nmarketplace.type=replica\nfollow.interval=1\n' > replica.cfg
"$bin/stratus-marketplace" serve --listen 127.0.0.1:0 --data replica-data --config replica.cfg \
    --ca ca.pem --follow "$url/" > replica.out 2> replica.log &
replica=$!
trap 'kill "$replica" "$server" 2> /dev/null || true' EXIT
replica_url=$(listening replica.out replica.log)
# How many entries a Marketplace's change feed (GET /changes) lists.
entries() {
    curl -sS "$1/changes?media=json&limit=1000" | grep -o '"sequence"' | wc -l
}
tries=0
until [ "$(entries "$replica_url")" -eq "$(entries "$url")" ]; do
    tries=$((tries + 1))
    if [ "$tries" -gt 100 ]; then
        cat replica.log >&2
        echo "the replica did not catch up" >&2
        exit 1
    fi
    sleep 0.2
done
grep 'peer ' replica.log | sed 's/^[^ ]* *//' | tail -n 2
echo "the replica holds the same $(entries "$replica_url") entries:"
curl -sS "$replica_url/metadata?media=json" | head -c 300; echo " ..."
code=$(curl -sS -o /dev/null -w '%{http_code}' -H 'Content-Type: application/xml' \
    --data-binary @ttylinux-signed.xml "$replica_url/metadata")
echo "an upload to the replica: HTTP $code (it takes entries from its peer only)"
[ "$code" = 403 ]

step "27. Stop both Marketplaces (SIGTERM: requests in flight finish, the stores are closed)"
kill -TERM "$replica" "$server"
wait "$replica"
wait "$server"
trap - EXIT
echo "stopped (exit 0); the stores are in marketplace-data/ and replica-data/"

printf '\nDemo finished: files are in %s\n' "$(pwd)"
