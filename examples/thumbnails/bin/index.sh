#!/bin/sh
# index.sh OUT_DIR: writes OUT_DIR/index.md, a table of each picture ($PLAIT_IN_PICTURES) beside
# its thumbnail ($PLAIT_IN_THUMBNAIL, in the same order) with both sizes in pixels and bytes,
# then prints {"index": "<absolute path>"}. `index.sh revert OUT_DIR` removes it again.
set -eu
if [ "$1" = revert ]; then
    rm -f "$2/index.md" "$2/index.md.tmp"
    exit 0
fi
bin=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$1"
index="$(cd "$1" && pwd)/index.md"

# size FILE: `WIDTHxHEIGHT BYTES` of a P3 picture.
size() {
    pixels=$(sed 's/#.*//' "$1" | awk '{ for (i = 1; i <= NF && n < 3; i++) t[n++] = $i } n >= 3 { exit } END { print t[1] "x" t[2] }')
    echo "$pixels $(wc -c < "$1" | tr -d ' ')"
}

printf '%s' "$PLAIT_IN_PICTURES" | awk -f "$bin/strings.awk" > "$index.images"
printf '%s' "$PLAIT_IN_THUMBNAIL" | awk -f "$bin/strings.awk" > "$index.thumbnails"
{
    echo "# Thumbnails"
    echo
    echo "| # | picture | pixels | bytes | thumbnail | pixels | bytes |"
    echo "|---|---------|--------|-------|-----------|--------|-------|"
    n=0
    while IFS= read -r image <&3 && IFS= read -r thumb <&4; do
        n=$((n + 1))
        set -- $(size "$image") $(size "$thumb")
        echo "| $n | $(basename "$image") | $1 | $2 | thumbs/$(basename "$thumb") | $3 | $4 |"
    done 3< "$index.images" 4< "$index.thumbnails"
} > "$index.tmp"
rm -f "$index.images" "$index.thumbnails"
mv "$index.tmp" "$index"
printf '{"index": "%s"}\n' "$index"
