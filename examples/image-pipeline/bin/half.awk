# half.awk (after ppm.awk): the image at half its size, nearest neighbour, as P3 on stdout.
# Output pixel (x, y) is input pixel (2x, 2y); an odd last row or column is dropped.

function transform(    w, h, x, y, i) {
    w = int(width / 2); if (w < 1) w = 1
    h = int(height / 2); if (h < 1) h = 1
    printf "P3\n# half of %s (%dx%d), nearest neighbour\n%d %d\n%d\n", FILENAME, width, height, w, h, max
    for (y = 0; y < h; y++) {
        for (x = 0; x < w; x++) {
            i = ((2 * y) * width + 2 * x) * 3
            printf "%d %d %d\n", sample[i], sample[i + 1], sample[i + 2]
        }
    }
}
