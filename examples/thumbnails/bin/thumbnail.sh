#!/bin/sh
# thumbnail.sh IMAGE FACTOR OUT_DIR: checks IMAGE with image-pipeline's validate.awk, then
# writes OUT_DIR/thumbs/<name of IMAGE>, IMAGE made FACTOR times smaller (image-pipeline's
# ppm.awk reads it, box.awk scales it), and prints {"thumbnail": "<absolute path>"}.
# `thumbnail.sh revert IMAGE OUT_DIR` removes that thumbnail again.
set -eu
if [ "$1" = revert ]; then
    thumbs="$3/thumbs"
    rm -f "$thumbs/$(basename "$2")" "$thumbs/$(basename "$2").tmp"
    rmdir "$thumbs" 2>/dev/null || true
    exit 0
fi
image=$1 factor=$2 out_dir=$3
bin=$(cd "$(dirname "$0")" && pwd)
ppm="$bin/../../image-pipeline/bin"
if [ "$factor" -lt 1 ]; then
    echo "thumbnail: the factor \`$factor\` is not a positive integer" >&2
    exit 1
fi
awk -f "$ppm/validate.awk" "$image"
mkdir -p "$out_dir/thumbs"
thumb="$(cd "$out_dir/thumbs" && pwd)/$(basename "$image")"
awk -v factor="$factor" -f "$ppm/ppm.awk" -f "$bin/box.awk" "$image" > "$thumb.tmp"
mv "$thumb.tmp" "$thumb"
printf '{"thumbnail": "%s"}\n' "$thumb"
