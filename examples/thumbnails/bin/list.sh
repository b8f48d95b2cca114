#!/bin/sh
# list.sh DIR: prints {"pictures": [...]}, the absolute paths of the `.ppm` files in DIR in
# name order; none is an error.
set -eu
dir=$(cd "$1" && pwd)
list=
for image in "$dir"/*.ppm; do
    [ -f "$image" ] || continue
    list="$list${list:+, }\"$image\""
done
if [ -z "$list" ]; then
    echo "list: $dir holds no pictures (.ppm files)" >&2
    exit 1
fi
printf '{"pictures": [%s]}\n' "$list"
