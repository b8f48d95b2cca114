# validate.awk IMAGE: checks that IMAGE is a well-formed ASCII PPM (P3): the magic number, the
# width, height and maximum value, then exactly width x height x 3 sample values, each from 0
# to the maximum. Prints nothing and exits 0 when it is; otherwise explains on stderr, exit 1.

function fail(message) {
    print "validate: " FILENAME ": " message | "cat 1>&2"
    close("cat 1>&2")
    failed = 1
    exit 1
}

# Tokens, as PPM defines them: whitespace-separated, a `#` starts a comment to the end of line.
{
    sub(/#.*/, "")
    for (i = 1; i <= NF; i++) token[n++] = $i
}

END {
    if (failed) exit 1
    if (NR == 0) fail("the file is empty")
    if (token[0] != "P3") fail("not an ASCII PPM image: it starts with `" token[0] "`, not `P3`")
    if (n < 4) fail("the header is cut short: it needs a width, a height and a maximum value")
    width = token[1]; height = token[2]; max = token[3]
    if (width !~ /^[0-9]+$/ || width + 0 < 1) fail("the width `" width "` is not a positive integer")
    if (height !~ /^[0-9]+$/ || height + 0 < 1) fail("the height `" height "` is not a positive integer")
    if (max !~ /^[0-9]+$/ || max + 0 < 1 || max + 0 > 65535) fail("the maximum value `" max "` is not from 1 to 65535")
    expected = width * height * 3
    found = n - 4
    if (found != expected) {
        fail(sprintf("%dx%d pixels need %d sample values, found %d", width, height, expected, found))
    }
    for (i = 4; i < n; i++) {
        if (token[i] !~ /^[0-9]+$/ || token[i] + 0 > max + 0) {
            pixel = int((i - 4) / 3)
            fail(sprintf("pixel %d (x=%d, y=%d) has the sample value `%s`, not from 0 to %d", pixel, pixel % width, int(pixel / width), token[i], max))
        }
    }
}
