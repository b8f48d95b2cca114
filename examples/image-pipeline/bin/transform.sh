#!/bin/sh
# transform.sh KIND IMAGE OUT_DIR: runs KIND.awk (half, gray) on IMAGE and writes the result to
# OUT_DIR/.work/<run id>/, then prints {"KIND": "<absolute path>"}. `transform.sh revert KIND
# OUT_DIR` removes that file again.
set -eu
bin=$(cd "$(dirname "$0")" && pwd)
case $1 in
    half) ext=ppm ;;
    gray) ext=pgm ;;
    revert)
        work="$3/.work/$PLAIT_RUN_ID"
        rm -f "$work/$2.ppm" "$work/$2.pgm"
        rmdir "$work" "$3/.work" 2>/dev/null || true
        exit 0 ;;
    *) echo "transform: unknown kind \`$1\`" >&2; exit 1 ;;
esac
kind=$1 image=$2 out_dir=$3
work="$out_dir/.work/$PLAIT_RUN_ID"
mkdir -p "$work"
work=$(cd "$work" && pwd)
awk -f "$bin/ppm.awk" -f "$bin/$kind.awk" "$image" > "$work/$kind.$ext.tmp"
mv "$work/$kind.$ext.tmp" "$work/$kind.$ext"
printf '{"%s": "%s"}\n' "$kind" "$work/$kind.$ext"
