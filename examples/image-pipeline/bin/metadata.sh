#!/bin/sh
# metadata.sh IMAGE: prints {"metadata": {...}, "digest": "..."} for a validated P3 image: its
# width, height, maximum value, size in bytes and POSIX cksum (CRC), and the CRC alone, which
# names the directory the results are stored in.
set -eu
image=$1
bytes=$(wc -c < "$image" | tr -d ' ')
crc=$(cksum < "$image" | cut -d ' ' -f 1)
# The header's first three numbers after `P3`, comments skipped.
set -- $(sed 's/#.*//' "$image" | awk '{ for (i = 1; i <= NF && n < 4; i++) print $i; n += NF } n >= 4 { exit }')
printf '{"metadata": {"width": %d, "height": %d, "max_value": %d, "bytes": %d, "cksum": %d}, "digest": "%s"}\n' \
    "$2" "$3" "$4" "$bytes" "$crc" "$crc"
