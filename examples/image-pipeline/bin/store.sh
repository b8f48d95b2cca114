#!/bin/sh
# store.sh: puts the transformed images and metadata.json in $PLAIT_IN_OUT_DIR/<digest>/,
# removes this run's work directory, and prints {"stored": "<absolute path>"}. The files are
# copied to a temporary directory first and moved into place at the end, so a store that fails
# half-way never leaves a partial result under the final name.
#
# `store.sh revert` removes what this run stored: the temporary directory of a store that
# failed or was cancelled, or the stored directory once the store had succeeded.
set -eu
dir="$PLAIT_IN_OUT_DIR/$PLAIT_IN_DIGEST"
tmp="$PLAIT_IN_OUT_DIR/.$PLAIT_IN_DIGEST.$PLAIT_RUN_ID.tmp"
if [ "${1-}" = revert ]; then
    rm -rf "$tmp"
    if [ -n "${PLAIT_RESULT-}" ]; then
        rm -rf "$dir"
    fi
    exit 0
fi
mkdir -p "$tmp"
cp "$PLAIT_IN_HALF" "$tmp/half.ppm"
cp "$PLAIT_IN_GRAY" "$tmp/gray.pgm"
printf '%s\n' "$PLAIT_IN_METADATA" > "$tmp/metadata.json"
rm -rf "$dir"
mv "$tmp" "$dir"
dir=$(cd "$dir" && pwd)
work="$PLAIT_IN_OUT_DIR/.work/$PLAIT_RUN_ID"
rm -f "$work/half.ppm" "$work/gray.pgm"
rmdir "$work" "$PLAIT_IN_OUT_DIR/.work" 2>/dev/null || true
printf '{"stored": "%s"}\n' "$dir"
