#!/bin/sh
# The main job end to end, on embedded defaults, with nothing to set up:
# create a disk image, compress it, describe it in a metadata document,
# validate the draft, sign it with a certificate from a demo CA, and verify
# the signature and the signer's chain; then start a local Marketplace,
# publish the signed document, list it and fetch it back, and stop the
# server; finally boot a prepared image under QEMU and show what its guest
# read from the context CD. Later capabilities (site policy, download and
# verification) extend this script. The Marketplace steps use curl as the HTTP client.
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

step "1. Create a 64 MiB qcow2 disk image with qemu-img and write some data into it"
qemu-img create -q -f qcow2 ttylinux.qcow2 64M
head -c 1048576 /dev/urandom > payload.bin
qemu-img dd -f raw -O qcow2 if=payload.bin of=ttylinux.qcow2 bs=1M count=1 2>/dev/null \
    || true
qemu-img info ttylinux.qcow2 | sed -n '1,3p'

step "2. Compress it as it would be published"
gzip -9 -k ttylinux.qcow2
ls -l ttylinux.qcow2 ttylinux.qcow2.gz | awk '{print $5, $9}'

step "3. Describe it: stratus-build-metadata (one streaming pass: size and four digests)"
"$bin/stratus-build-metadata" \
    --os ttylinux --os-version 16.1 --os-arch x86_64 --image-version 1.0 \
    --title "ttylinux demo image" --comment "A small image made by make demo" \
    --location "https://images.example.org/ttylinux.qcow2.gz" \
    --email demo@example.org \
    ttylinux.qcow2.gz > ttylinux.xml
cat ttylinux.xml

step "4. Check the digests against coreutils on the decompressed image"
expected_sha1=$(gzip -dc ttylinux.qcow2.gz | sha1sum | cut -d' ' -f1)
grep -q "<slreq:value>$expected_sha1</slreq:value>" ttylinux.xml
echo "SHA-1 $expected_sha1 matches sha1sum"

step "5. Validate the draft (before signing): stratus-validate-metadata --no-signature"
"$bin/stratus-validate-metadata" --no-signature ttylinux.xml

step "6. The same through a pipe, as in shell pipelines"
"$bin/stratus-build-metadata" -q --os ttylinux ttylinux.qcow2.gz \
    | "$bin/stratus-validate-metadata" --no-signature --json

step "7. A draft is not a signed document: without --no-signature it is refused"
code=0
"$bin/stratus-validate-metadata" ttylinux.xml || code=$?
if [ "$code" -ne 1 ]; then
    echo "unexpected exit code $code for an unsigned document" >&2
    exit 1
fi
echo "refused as expected (exit $code)"

step "8. A demo CA and an image author's certificate (openssl), as a PKCS#12 file"
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

step "9. Sign the draft: stratus-sign-metadata (endorsement filled from the certificate)"
"$bin/stratus-sign-metadata" --p12-cert author.p12 --p12-password demo \
    < ttylinux.xml > ttylinux-signed.xml
grep -o '<endorser[^>]*>.*</endorser>' ttylinux-signed.xml

step "10. Validate the signed document, and check the signer against the demo CA"
"$bin/stratus-validate-metadata" --ca ca.pem ttylinux-signed.xml

step "11. Tampering is detected (exit 3), and another CA does not trust the signer (exit 4)"
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

step "12. Start a local Marketplace: stratus-marketplace serve (a free port, a store of its own)"
# The legacy configuration file, found in the working directory.
printf 'validate.email=false\n' > marketplace.cfg
"$bin/stratus-marketplace" serve --listen 127.0.0.1:0 --data marketplace-data \
    --ca ca.pem > server.out 2> server.log &
server=$!
trap 'kill "$server" 2> /dev/null || true' EXIT
tries=0
until grep -q 'listening on' server.out 2> /dev/null; do
    tries=$((tries + 1))
    if [ "$tries" -gt 100 ] || ! kill -0 "$server" 2> /dev/null; then
        cat server.log >&2
        echo "the Marketplace did not start" >&2
        exit 1
    fi
    sleep 0.1
done
url=$(sed -n 's|^stratus-marketplace: listening on \(http://[^ ]*\)/$|\1|p' server.out)
cat server.out
echo "(uploads are accepted only from signers certified by the demo CA: --ca ca.pem)"

step "13. Publish the signed document (POST /marketplace/metadata): 201 once it is stored"
curl -sS -D headers.txt -o upload.txt -H 'Content-Type: application/xml' \
    --data-binary @ttylinux-signed.xml "$url/marketplace/metadata"
head -1 headers.txt
grep -i '^location:' headers.txt
cat upload.txt; echo
grep -q '^HTTP/1.1 201' headers.txt
entry=$(sed -n 's/^[Ll]ocation: *\([^[:space:]]*\).*/\1/p' headers.txt)

step "14. The tampered document is refused (400, with the reason)"
code=$(curl -sS -o refused.xml -w '%{http_code}' -H 'Content-Type: application/xml' \
    -H 'Accept: application/xml' --data-binary @tampered.xml "$url/marketplace/metadata")
cat refused.xml; echo
[ "$code" = 400 ] || { echo "unexpected status $code for a tampered upload" >&2; exit 1; }

step "15. List it: the DataTables JSON the web page reads, and the XML clients read"
curl -sS "$url/marketplace/metadata?media=json"; echo
identifier=$(sed -n 's|.*<dcterms:identifier>\([^<]*\)</dcterms:identifier>.*|\1|p' ttylinux-signed.xml)
curl -sS "$url/marketplace/metadata/$identifier" | head -c 300; echo " ..."

step "16. Fetch the entry back and verify it again"
curl -sS -o fetched.xml "$entry"
"$bin/stratus-validate-metadata" --ca ca.pem fetched.xml

step "17. Stop the Marketplace (SIGTERM: requests in flight finish, the store is closed)"
kill -TERM "$server"
wait "$server"
trap - EXIT
echo "stopped (exit 0); the store is in marketplace-data/"

step "18. Boot a prepared image: a tiny guest from Debian packages, under QEMU (TCG)"
if command -v qemu-system-x86_64 > /dev/null 2>&1 && command -v busybox > /dev/null 2>&1 \
    && command -v dropbear > /dev/null 2>&1 && command -v genisoimage > /dev/null 2>&1 \
    && sh "$repo/bin-tests/guest/build.sh" guest 2> guest-build.err; then
    "$bin/stratus-create-image" -q --from-dir guest/rootfs --prepare -o tiny.img \
        --title "Tiny demo guest" --os busybox --location tiny.img > tiny.xml
    export STRATUS_STATE_DIR="$PWD/instances"
    # shellcheck disable=SC2016 # the guest expands $ROLE
    printf 'echo "init.sh says: ROLE=$ROLE"\n' > init.sh
    "$bin/stratus-run-instance" tiny.xml --accel tcg --ram 256 --vm-disks-bus nvme \
        --kernel guest/vmlinuz --append "root=/dev/nvme0n1 rw console=ttyS0 quiet panic=-1" \
        --hostname demo-guest --context ROLE=demo --init-script init.sh 2> /dev/null
    tries=0
    until grep -q '^tiny: ready' instances/1/console.log 2> /dev/null; do
        tries=$((tries + 1))
        [ $tries -lt 600 ] || { echo "the guest did not boot" >&2; exit 1; }
        sleep 0.2
    done
    grep -E '^(stratus-|init.sh says)' instances/1/console.log
    "$bin/stratus-kill-instance" 1
else
    echo "skipped: needs qemu-system-x86, busybox-static, dropbear-bin, genisoimage and apt"
fi

printf '\nDemo finished: files are in %s\n' "$(pwd)"
