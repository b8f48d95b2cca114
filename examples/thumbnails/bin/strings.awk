# strings.awk: the elements of a JSON array of strings on stdin (a `list<file>` as plait
# gives it), one a line, their escapes undone (all but \uXXXX, which paths here never need).

{ text = text $0 }

END {
    for (i = 1; i <= length(text); i++) {
        c = substr(text, i, 1)
        if (!inside) {
            if (c == "\"") { inside = 1; element = "" }
        } else if (c == "\\") {
            c = substr(text, ++i, 1)
            element = element (c == "n" ? "\n" : c == "t" ? "\t" : c)
        } else if (c == "\"") {
            print element
            inside = 0
        } else {
            element = element c
        }
    }
}
