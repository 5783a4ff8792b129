#!/bin/sh
# The verified download against the shell pipeline that does less:
#
#   11. stratus-download-image of a gzip image of IMAGE_MIB MiB (default
#       1024) from a local HTTP server (Python's http.server, the same for
#       both), decompressed, checked against its size and all four digests
#       and renamed into place, next to
#       `curl -s URL | gunzip | tee FILE | sha1sum` (one digest, nothing
#       checked, no atomic rename): time ratio and peak memory.
#   12. A cache hit of the same image (no network: the image server is
#       stopped), verified again with all four digests, next to
#       `sha512sum` of the file.
#
# Times are wall-clock seconds, best of RUNS (default 3), page cache warm;
# peak memory is the maximum resident set size from GNU time.
# usage: download.sh BIN_DIR OUT_DIR
set -eu
bin=$(cd "${1:-target/release}" && pwd)
out=${2:-bench-out}/download
runs=${RUNS:-3}
size_mib=${IMAGE_MIB:-1024}
rm -rf "$out"
mkdir -p "$out/www"
cd "$out"

# time_once CMD...: prints "seconds peak_kib" of one run of CMD.
time_once() {
    start=$(date +%s%N)
    /usr/bin/time -f '%M' -o time.txt "$@" > /dev/null 2> stderr.txt || {
        cat stderr.txt >&2
        exit 1
    }
    end=$(date +%s%N)
    echo "$start $end $(tail -1 time.txt)" | awk '{ printf "%.3f %d\n", ($2 - $1) / 1e9, $3 }'
}

# best_of CMD...: the fastest of $runs runs.
best_of() {
    results=""
    i=0
    while [ "$i" -lt "$runs" ]; do
        results=$(printf '%s\n%s' "$results" "$(time_once "$@")")
        i=$((i + 1))
    done
    printf '%s\n' "$results" | awk 'NF { if (b == "" || $1 < b) { b = $1; m = $2 } } END { print b, m }'
}

echo "making a ${size_mib} MiB image (half random, half zeros) and its gzip"
head -c $((size_mib * 512 * 1024)) /dev/urandom > image.raw
head -c $((size_mib * 512 * 1024)) /dev/zero >> image.raw
gzip -1 -c image.raw > www/image.raw.gz

python3 -u -m http.server 0 --bind 127.0.0.1 --directory www > www.out 2> www.log &
www=$!
trap 'kill "$www" 2> /dev/null || true' EXIT
tries=0
until grep -q 'port' www.out 2> /dev/null; do
    tries=$((tries + 1))
    [ "$tries" -le 100 ] || { cat www.log >&2; exit 1; }
    sleep 0.1
done
url="http://127.0.0.1:$(sed -n 's/.* port \([0-9]*\).*/\1/p' www.out | head -1)/image.raw.gz"

openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=Bench CA" \
    -keyout ca.key -out ca.pem 2> /dev/null
openssl req -newkey rsa:2048 -nodes -subj "/CN=Bench Author" \
    -keyout author.key -out author.csr 2> /dev/null
printf 'subjectAltName=email:bench@example.org\n' > author.ext
openssl x509 -req -in author.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
    -extfile author.ext -out author.pem 2> /dev/null
"$bin/stratus-build-metadata" -q --format raw --os bench --location "$url" \
    www/image.raw.gz > draft.xml
"$bin/stratus-sign-metadata" -q --pem-cert author.pem --pem-key author.key \
    < draft.xml > image.xml

printf '\n11. Downloading and verifying a %s MiB gzip image\n' "$size_mib"
ours=$(best_of "$bin/stratus-download-image" -q --ca ca.pem -o got.img image.xml)
cmp got.img image.raw
theirs=$(best_of sh -c "curl -s '$url' | gunzip | tee piped.img | sha1sum")
printf '%-58s %8s %10s\n' "command" "seconds" "peak KiB"
printf '%-58s %8s %10s\n' "stratus-download-image (size + 4 digests, atomic)" $ours
printf '%-58s %8s %10s\n' "curl | gunzip | tee | sha1sum (peak: the largest process)" $theirs
echo "$ours $theirs" | awk '{ printf "ratio: %.2f x\n", $1 / $3 }'

printf '\n12. A cache hit of the same image (image server stopped)\n'
"$bin/stratus-download-image" -q --ca ca.pem --cache cache -o cached.img image.xml > /dev/null
kill "$www"
wait "$www" 2> /dev/null || true
trap - EXIT
hit=$(best_of "$bin/stratus-download-image" -q --ca ca.pem --cache cache -o hit.img image.xml)
sha=$(best_of sha512sum image.raw)
printf '%-58s %8s %10s\n' "stratus-download-image --cache (4 digests, copy out)" $hit
printf '%-58s %8s %10s\n' "sha512sum" $sha
