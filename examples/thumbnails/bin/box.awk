# box.awk (after image-pipeline's ppm.awk, with -v factor=F): the picture F times smaller, as
# P3 on stdout. Each pixel of the thumbnail is the average of an F x F block of the picture
# (a box filter), rounded; the blocks at the right and bottom edges may be narrower.

function transform(    tw, th, p, t, c) {
    tw = int((width + factor - 1) / factor)
    th = int((height + factor - 1) / factor)
    for (p = 0; p < width * height; p++) {
        t = int(int(p / width) / factor) * tw + int((p % width) / factor)
        for (c = 0; c < 3; c++) sum[t * 3 + c] += sample[p * 3 + c]
        count[t]++
    }
    printf "P3\n# 1/%d of %dx%d, box filter\n%d %d\n%d\n", factor, width, height, tw, th, max
    for (t = 0; t < tw * th; t++) {
        printf "%d %d %d\n", int(sum[t * 3] / count[t] + 0.5), int(sum[t * 3 + 1] / count[t] + 0.5), int(sum[t * 3 + 2] / count[t] + 0.5)
    }
}
