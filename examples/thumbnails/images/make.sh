#!/bin/sh
# Draws the pictures of this example as ASCII PPM (P3) files of different sizes, one pixel per
# line. They are committed; run this again only to change them: `sh images/make.sh`.
set -eu
cd "$(dirname "$0")"
exec awk '
function clamp(v) { v = int(v); return v < 0 ? 0 : (v > 255 ? 255 : v) }

# A comet over a night sky: a dark blue gradient, stars, a bright head and a fading tail.
function comet(x, y,    d, dx, dy, f) {
    r = 10; g = 15 + y / 2; b = 40 + y
    if ((x * 7 + y * 13) % 97 == 0) { r = 220; g = 220; b = 200 }
    d = (y - 0.5 * x - 4); dx = x - 44; dy = y - 26
    if (d > -3 && d < 3 && x < 44) { f = x / 44; r += 200 * f; g += 180 * f; b += 120 * f }
    if (dx * dx + dy * dy < 16) { r = 255; g = 250; b = 220 }
}

# A flag of three vertical bands with a disc in the middle.
function flag(x, y,    dx, dy) {
    if (x < 16) { r = 0; g = 120; b = 70 } else if (x < 32) { r = 245; g = 245; b = 240 } else { r = 200; g = 30; b = 45 }
    dx = x - 23.5; dy = y - 23.5
    if (dx * dx + dy * dy < 64) { r = 250; g = 190; b = 30 }
}

# A tree on a hill under a pale sky, taller than wide.
function tree(x, y,    dx, dy) {
    r = 170 + y; g = 200 + y / 2; b = 250
    if (y > 48 - (x - 20) * (x - 20) / 40) { r = 70; g = 140; b = 50 }
    if (x >= 18 && x < 22 && y >= 30 && y < 46) { r = 100; g = 60; b = 30 }
    dx = x - 20; dy = y - 22
    if (dx * dx + dy * dy < 100) { r = 30; g = 110 + (x + y) % 3 * 15; b = 40 }
}

# Waves: a sine pattern of blues with white crests, wider than tall.
function waves(x, y,    s) {
    s = sin((x + 6 * sin(y / 5)) / 4)
    r = 20 + 40 * s; g = 90 + 50 * s; b = 170 + 60 * s
    if (s > 0.92) { r = 240; g = 248; b = 255 }
}

# The picture `name`, w x h, into name.ppm; each pixel from the function of that name.
function picture(name, w, h,    file, x, y) {
    file = name ".ppm"
    printf "P3\n# %s, drawn by images/make.sh\n%d %d\n255\n", name, w, h > file
    for (y = 0; y < h; y++) for (x = 0; x < w; x++) {
        if (name == "comet") comet(x, y)
        else if (name == "flag") flag(x, y)
        else if (name == "tree") tree(x, y)
        else waves(x, y)
        printf "%d %d %d\n", clamp(r), clamp(g), clamp(b) > file
    }
    close(file)
}

BEGIN {
    picture("comet", 64, 48)
    picture("flag", 48, 48)
    picture("tree", 40, 60)
    picture("waves", 80, 40)
}'
