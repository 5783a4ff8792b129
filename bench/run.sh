#!/bin/sh
# Benchmarks, each next to a reference tool measured in the same run.
#
#   1. stratus-build-metadata on a 1 GiB raw image (all four digests, one
#      pass) against `openssl dgst` -md5, -sha1, -sha256 and -sha512 run one
#      after the other on the same file: time ratio and peak memory.
#   2. stratus-validate-metadata on 1,000 documents in one call against
#      `xmllint --noout` on the same files: documents per second.
#   3. Signing 1,000 documents in one call: documents per second.
#   4. Verifying one signed document per process against
#      `xmlsec1 --verify --insecure` on the same document.
#   5. Verifying 1,000 signed documents in one call against 1,000 xmlsec1 runs.
#   6. Parsing cost against size: validation time of each hostile document
#      shape (fuzz/common/shapes.rs) at 1/8, 1/4, 1/2 and all of its
#      largest accepted size: the growth of the instruction count (valgrind)
#      at each doubling, next to `xmllint --noout`'s on the same files; then
#      the shapes that once took minutes, refused at their limits.
#   7-10. The Marketplace server against nginx and stratus-validate-metadata
#      (bench/marketplace.sh; needs nginx and wrk).
#   14-15. The server on PostgreSQL next to SQLite: uploads over two
#      servers, GET of one entry (bench/marketplace-postgres.sh; needs
#      PostgreSQL and wrk).
#   11-12. The verified download and a cache hit against curl | gunzip |
#      tee | sha1sum and sha512sum (bench/download.sh).
#   13. Replication catch-up: a follower's verified commits per second
#      against stratus-validate-metadata (bench/replication.sh).
#
# Times are wall-clock seconds, best of RUNS (default 3; DIGEST_RUNS, default
# 5, for the first benchmark, whose commands take turns), page cache warm;
# peak memory is the maximum resident set size from GNU time.
# usage: run.sh BIN_DIR OUT_DIR [SHAPES_DIR] (the output of `xtask shapes`)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
bin=$(cd "${1:-target/release}" && pwd)
out=${2:-bench-out}
shapes=${3:-}
[ -z "$shapes" ] || shapes=$(cd "$shapes" && pwd)
runs=${RUNS:-3}
size_mib=${IMAGE_MIB:-1024}
mkdir -p "$out"
cd "$out"

# time_once CMD...: prints "seconds peak_kib" of one run of CMD.
time_once() {
    start=$(date +%s%N)
    /usr/bin/time -f '%M' -o time.txt "$@" > /dev/null 2> stderr.txt || {
        cat stderr.txt >&2
        exit 1
    }
    end=$(date +%s%N)
    echo "$start $end $(cat time.txt)" | awk '{ printf "%.3f %d\n", ($2 - $1) / 1e9, $3 }'
}

# time_failing CMD...: like time_once, for a command that must refuse its
# input (a non-zero exit).
time_failing() {
    start=$(date +%s%N)
    if /usr/bin/time -f '%M' -o time.txt "$@" > /dev/null 2> stderr.txt; then
        echo "expected a refusal: $*" >&2
        exit 1
    fi
    end=$(date +%s%N)
    echo "$start $end $(tail -1 time.txt)" | awk '{ printf "%.3f %d\n", ($2 - $1) / 1e9, $3 }'
}

# best_of_failing CMD...: the fastest of $runs runs of time_failing.
best_of_failing() {
    results=""
    i=0
    while [ "$i" -lt "$runs" ]; do
        results=$(printf '%s\n%s' "$results" "$(time_failing "$@")")
        i=$((i + 1))
    done
    best "$results"
}

# instructions CMD...: the instructions one run of CMD executes, counted by
# callgrind (whatever its exit code).
instructions() {
    valgrind --tool=callgrind --callgrind-out-file=/dev/null "$@" > /dev/null 2> callgrind.txt || true
    awk '/Collected :/ { print $NF }' callgrind.txt
}

# best SECONDS_KIB...: the fastest of several "seconds peak_kib" pairs.
best() {
    printf '%s\n' "$@" | awk 'NF { if (b == "" || $1 < b) { b = $1; m = $2 } } END { print b, m }'
}

# best_of CMD...: prints "seconds peak_kib" of the fastest of $runs runs.
best_of() {
    results=""
    i=0
    while [ "$i" -lt "$runs" ]; do
        results=$(printf '%s\n%s' "$results" "$(time_once "$@")")
        i=$((i + 1))
    done
    best "$results"
}

echo "machine: $(nproc) cores, $(awk '/model name/ { $1 = $2 = $3 = ""; print; exit }' /proc/cpuinfo | sed 's/^ *//')"
echo "tools: $(openssl version | cut -d' ' -f1-2), xmllint $(xmllint --version 2>&1 | awk 'NR == 1 { print $NF }')"

if [ ! -f image.raw ] || [ "$(stat -c %s image.raw)" -ne $((size_mib * 1048576)) ]; then
    head -c $((size_mib * 1048576)) /dev/urandom > image.raw
fi
cat image.raw > /dev/null

echo
echo "== 1. $size_mib MiB raw image: size + MD5 + SHA-1 + SHA-256 + SHA-512"
# The five commands take turns, round after round, so that a burst of load
# from elsewhere on the machine hits them alike rather than one of them.
digest_runs=${DIGEST_RUNS:-5}
ours_results="" md5_results="" sha1_results="" sha256_results="" sha512_results=""
i=0
while [ "$i" -lt "$digest_runs" ]; do
    ours_results="$ours_results
$(time_once "$bin/stratus-build-metadata" -q --format raw image.raw)"
    md5_results="$md5_results
$(time_once openssl dgst -md5 image.raw)"
    sha1_results="$sha1_results
$(time_once openssl dgst -sha1 image.raw)"
    sha256_results="$sha256_results
$(time_once openssl dgst -sha256 image.raw)"
    sha512_results="$sha512_results
$(time_once openssl dgst -sha512 image.raw)"
    i=$((i + 1))
done
set -- $(best "$ours_results")
ours=$1
ours_kib=$2
total=0
for algorithm in md5 sha1 sha256 sha512; do
    eval "results=\$${algorithm}_results"
    set -- $(best "$results")
    printf '  openssl dgst -%-7s %6.2f s\n' "$algorithm" "$1"
    total=$(echo "$total $1" | awk '{ print $1 + $2 }')
done
printf '  openssl, four runs   %6.2f s\n' "$total"
printf '  stratus-build-metadata %5.2f s, peak RSS %d KiB\n' "$ours" "$ours_kib"
echo "$ours $total" | awk '{ printf "  ratio stratus / openssl sum: %.2f (target <= 0.55)\n", $1 / $2 }'
# The same ratio round by round, which shows how much the machine's noise
# moves it.
for results in "$ours_results" "$md5_results" "$sha1_results" "$sha256_results" "$sha512_results"; do
    printf '%s\n' "$results" | awk 'NF { print $1 }' > "column-$((${column:-0} + 1)).txt"
    column=$((${column:-0} + 1))
done
paste -d' ' column-1.txt column-2.txt column-3.txt column-4.txt column-5.txt |
    awk '{ printf "%s%.2f", (NR > 1 ? " " : "  ratio in each round: "), $1 / ($2 + $3 + $4 + $5) } END { print "" }'

echo
echo "== 2. Validating 1,000 documents in one call"
rm -rf docs
mkdir docs
printf 'a small image' > small.img
"$bin/stratus-build-metadata" -q --format raw --os ttylinux --location https://example.org/small.img \
    small.img > template.xml
n=0
while [ "$n" -lt 1000 ]; do
    sed "s|<dcterms:title></dcterms:title>|<dcterms:title>document $n</dcterms:title>|" template.xml > "docs/doc-$n.xml"
    n=$((n + 1))
done
set -- $(best_of "$bin/stratus-validate-metadata" --no-signature docs/*.xml)
ours=$1
set -- $(best_of xmllint --noout docs/*.xml)
theirs=$1
echo "$ours $theirs" | awk '{
    printf "  stratus-validate-metadata --no-signature  %6.3f s  %8.0f documents/s\n", $1, 1000 / ($1 > 0 ? $1 : 0.001)
    printf "  xmllint --noout (well-formedness only)     %6.3f s  %8.0f documents/s\n", $2, 1000 / ($2 > 0 ? $2 : 0.001)
}'

echo
echo "== 3. Signing 1,000 documents in one call (RSA-2048, RSA-SHA256)"
openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/O=stratus bench/CN=Bench Signer" \
    -addext "subjectAltName=email:bench@example.org" -keyout key.pem -out cert.pem 2> /dev/null
rm -rf signed
cp -r docs signed
set -- $(best_of "$bin/stratus-sign-metadata" -q --pem-cert cert.pem --pem-key key.pem signed/doc-*.xml)
echo "$1" | awk '{ printf "  stratus-sign-metadata (1,000 files)        %6.3f s  %8.0f documents/s\n", $1, 1000 / $1 }'
rm -f signed/*.orig

echo
echo "== 4. Verifying one signed document per process (100 processes each)"
one=signed/doc-0.xml
loop_time() {
    start=$(date +%s%N)
    i=0
    while [ "$i" -lt 100 ]; do
        "$@" > /dev/null 2>&1 || { echo "failed: $*" >&2; exit 1; }
        i=$((i + 1))
    done
    end=$(date +%s%N)
    echo "$start $end" | awk '{ printf "%.6f", ($2 - $1) / 1e9 / 100 }'
}
ours=$(loop_time "$bin/stratus-validate-metadata" -q "$one")
theirs=$(loop_time xmlsec1 --verify --insecure "$one")
echo "$ours $theirs" | awk '{
    printf "  stratus-validate-metadata (full validation) %6.2f ms per document\n", $1 * 1000
    printf "  xmlsec1 --verify --insecure (signature)     %6.2f ms per document\n", $2 * 1000
    printf "  ratio stratus / xmlsec1: %.2f (target <= 0.25)\n", $1 / $2
}'

echo
echo "== 5. Verifying 1,000 signed documents"
set -- $(best_of "$bin/stratus-validate-metadata" -q signed/doc-*.xml)
ours=$1
start=$(date +%s%N)
for f in signed/doc-*.xml; do
    xmlsec1 --verify --insecure "$f" > /dev/null 2>&1 || { echo "xmlsec1 failed on $f" >&2; exit 1; }
done
end=$(date +%s%N)
theirs=$(echo "$start $end" | awk '{ printf "%.3f", ($2 - $1) / 1e9 }')
echo "$ours $theirs" | awk '{
    printf "  stratus-validate-metadata, one call   %7.3f s  %8.0f documents/s\n", $1, 1000 / $1
    printf "  xmlsec1, 1,000 runs                   %7.3f s  %8.0f documents/s\n", $2, 1000 / $2
    printf "  speed-up: %.0fx (target >= 40x)\n", $2 / $1
}'

if [ -n "$shapes" ]; then
    echo
    echo "== 6. Parsing cost against size (validate --no-signature)"
    echo "  Instructions are counted by valgrind's callgrind, which gives the same count"
    echo "  whatever else the machine does; times are the best of $runs runs."
    echo "  shape              size (MiB) at 1/8 1/4 1/2 1    time at 1 (s)  peak RSS (KiB)  instruction growth per doubling: stratus | xmllint"
    for shape in flat-properties attributes prefixed-names deep-subtrees long-text comments; do
        sizes="" ours="" theirs=""
        for eighths in 1 2 4 8; do
            file="$shapes/$shape-$eighths.xml"
            sizes="$sizes $(stat -c %s "$file")"
            ours="$ours $(instructions "$bin/stratus-validate-metadata" -q --no-signature "$file")"
            theirs="$theirs $(instructions xmllint --noout "$file")"
        done
        set -- $(best_of "$bin/stratus-validate-metadata" -q --no-signature "$shapes/$shape-8.xml")
        echo "$shape|$sizes|$ours|$theirs|$1|$2" | awk -F'|' '{
            n = split($2, s, " "); split($3, t, " "); split($4, x, " ")
            printf "  %-18s", $1
            for (i = 1; i <= n; i++) printf " %5.2f", s[i] / 1048576
            printf "   %8.3f  %12d   ", $5, $6
            for (i = 2; i <= n; i++) printf " %4.2f", t[i] / t[i - 1]
            printf "  |"
            for (i = 2; i <= n; i++) printf " %4.2f", x[i] / x[i - 1]
            print ""
        }'
    done
    echo "  refused at a limit (time of the refusal):"
    for sample in many-root-declarations declaring-chain many-attributes document-bytes-over-limit; do
        set -- $(best_of_failing "$bin/stratus-validate-metadata" -q --no-signature "$shapes/$sample.xml")
        printf '    %-26s %6.3f s  %6.0f KiB peak\n' "$sample" "$1" "$2"
    done
fi

sh "$here/marketplace.sh" "$bin" "$(pwd)"
sh "$here/marketplace-postgres.sh" "$bin" "$(pwd)"
sh "$here/download.sh" "$bin" "$(pwd)"
sh "$here/replication.sh" "$bin" "$(pwd)"
