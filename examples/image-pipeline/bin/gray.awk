# gray.awk (after ppm.awk): the image in shades of grey, as an ASCII PGM (P2) on stdout.
# Each pixel's luma is 0.299 R + 0.587 G + 0.114 B (ITU-R BT.601), rounded.

function transform(    p, i) {
    printf "P2\n# %s in grey (BT.601 luma)\n%d %d\n%d\n", FILENAME, width, height, max
    for (p = 0; p < width * height; p++) {
        i = p * 3
        printf "%d\n", int((299 * sample[i] + 587 * sample[i + 1] + 114 * sample[i + 2] + 500) / 1000)
    }
}
