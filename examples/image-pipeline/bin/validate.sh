#!/bin/sh
# validate.sh IMAGE: is IMAGE a well-formed ASCII PPM (P3)? Exit 1 with the reason on stderr if not.
set -eu
image=$1
if [ ! -f "$image" ]; then
    echo "validate: $image: no such file" >&2
    exit 1
fi
exec awk -f "$(dirname "$0")/validate.awk" "$image"
