# words.awk FILE...: how often each word occurs, one `word count` line per word, unsorted.
# A word is a run of ASCII letters and apostrophes, lower-cased, without apostrophes at its
# ends (the text quotes with ` and '): "Alice's" is one word, `Oh dear!' gives "oh", "dear".
{
    line = tolower($0)
    gsub(/[^a-z']+/, " ", line)
    n = split(line, words, " ")
    for (i = 1; i <= n; i++) {
        word = words[i]
        sub(/^'+/, "", word)
        sub(/'+$/, "", word)
        if (word != "") count[word]++
    }
}
END { for (word in count) print word, count[word] }
