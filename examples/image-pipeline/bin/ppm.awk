# Shared by half.awk and gray.awk (awk -f ppm.awk -f half.awk IMAGE): reads a validated P3 image
# into width, height, max and sample[0 .. width*height*3 - 1], then calls transform().

{
    sub(/#.*/, "")
    for (i = 1; i <= NF; i++) token[n++] = $i
}

END {
    width = token[1] + 0; height = token[2] + 0; max = token[3] + 0
    for (i = 4; i < n; i++) sample[i - 4] = token[i] + 0
    transform()
}
