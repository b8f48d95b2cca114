#!/bin/sh
# Draws the sample pictures of this example as ASCII PPM (P3) files, 64x48, one pixel per line.
# They are committed; run this again only to change them: `sh images/make.sh`.
set -eu
cd "$(dirname "$0")"

# draw NAME AWK-BODY: the body sets r, g and b for the pixel at x, y (0, 0 is the top left).
draw() {
    awk -v w=64 -v h=48 -v name="$1" '
        function clamp(v) { v = int(v); return v < 0 ? 0 : (v > 255 ? 255 : v) }
        BEGIN {
            printf "P3\n# %s, drawn by images/make.sh\n%d %d\n255\n", name, w, h
            for (y = 0; y < h; y++) for (x = 0; x < w; x++) {
                '"$2"'
                printf "%d %d %d\n", clamp(r), clamp(g), clamp(b)
            }
        }' > "$1.ppm"
}

# A sun setting over the sea: a sky gradient, a disc, and its reflection in darker water.
draw sunset '
    t = y / 35
    r = 60 + 190 * t; g = 30 + 110 * t; b = 110 - 60 * t
    dx = x - 32; dy = y - 30
    if (dx * dx + dy * dy < 110) { r = 255; g = 215; b = 110 }
    if (y >= 35) {
        r = 20 + 2 * (y - 35); g = 40 + 2 * (y - 35); b = 90 + 3 * (y - 35)
        if (dx >= -8 + (y - 35) / 2 && dx <= 8 - (y - 35) / 2 && (y % 2 == 1)) { r = 230; g = 170; b = 90 }
    }'

# Primary shapes on white: a red square, a green disc and a blue triangle.
draw shapes '
    r = 250; g = 250; b = 245
    if (x >= 6 && x < 24 && y >= 6 && y < 24) { r = 210; g = 30; b = 40 }
    dx = x - 44; dy = y - 15
    if (dx * dx + dy * dy < 90) { r = 30; g = 160; b = 60 }
    if (y >= 28 && y < 44 && x >= 32 - (y - 28) && x <= 32 + (y - 28)) { r = 40; g = 70; b = 200 }'

# Concentric rings in a rainbow of colours.
draw rings '
    dx = x - 31.5; dy = y - 23.5
    d = int(sqrt(dx * dx + dy * dy) / 4) % 6
    if (d == 0) { r = 230; g = 50; b = 50 }
    else if (d == 1) { r = 240; g = 150; b = 40 }
    else if (d == 2) { r = 240; g = 220; b = 60 }
    else if (d == 3) { r = 60; g = 180; b = 80 }
    else if (d == 4) { r = 50; g = 110; b = 220 }
    else { r = 140; g = 60; b = 190 }'
