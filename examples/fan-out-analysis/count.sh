#!/bin/sh
# count.sh SHARD: word frequencies of SHARD into SHARD.counts; prints {"counts": "<path>"}.
set -eu
awk -f words.awk "$1" > "$1.counts"
printf '{"counts": "%s"}\n' "$1.counts"
