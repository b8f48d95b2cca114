//! Making what plait prints comparable from run to run.

/// Text with what changes from run to run replaced: the given strings (temporary paths, run
/// ids) by their names, and durations such as `0.046s` by `<t>`.
pub(crate) fn normalize(text: &str, replace: &[(&str, &str)]) -> String {
    let mut text = text.to_owned();
    for (from, to) in replace {
        if !from.is_empty() {
            text = text.replace(from, to);
        }
    }
    let text = durations(&text);
    // Progress lines are `[   0.046s] task: ...`, right-aligned.
    let mut out = String::new();
    for line in text.split_inclusive('\n') {
        match line.strip_prefix('[').map(str::trim_start) {
            Some(rest) if rest.starts_with("<t>]") => {
                out.push('[');
                out.push_str(rest);
            }
            _ => out.push_str(line),
        }
    }
    out
}

/// Replaces each `<digits>.<3 digits>s` by `<t>`.
fn durations(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut idx = 0;
    while idx < bytes.len() {
        let digits = bytes[idx..]
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count();
        let starts_word = idx == 0 || !bytes[idx - 1].is_ascii_alphanumeric();
        if digits > 0 && starts_word {
            let rest = &bytes[idx + digits..];
            let is_duration = rest.len() >= 5
                && rest[0] == b'.'
                && rest[1..4].iter().all(u8::is_ascii_digit)
                && rest[4] == b's'
                && rest.get(5).is_none_or(|b| !b.is_ascii_alphanumeric());
            if is_duration {
                out.push_str("<t>");
                idx += digits + 5;
                continue;
            }
        }
        let len = text[idx..].chars().next().map_or(1, char::len_utf8);
        out.push_str(&text[idx..idx + len]);
        idx += len;
    }
    out
}
