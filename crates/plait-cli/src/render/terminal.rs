//! What reaches a terminal: text a task wrote, with its control bytes made visible, and
//! color only where it can be seen and is wanted.

use std::borrow::Cow;
use std::io::IsTerminal;

/// `text` with every control character but a newline and a tab escaped as Rust writes it
/// (`\u{1b}`, `\0`, `\r`): a task's stderr quoted in an error cannot clear the screen, set
/// the window's title or hide what came before it.
pub(crate) fn escape(text: &str) -> Cow<'_, str> {
    if !text.chars().any(needs_escape) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if needs_escape(c) {
            out.extend(c.escape_debug());
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

fn needs_escape(c: char) -> bool {
    c.is_control() && c != '\n' && c != '\t'
}

/// Whether stderr gets color: only a terminal does, and only when `NO_COLOR` is not set
/// (<https://no-color.org>: set and not empty).
pub(crate) fn color_on_stderr() -> bool {
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|value| !value.is_empty());
    !no_color && std::io::stderr().is_terminal()
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn control_characters_are_escaped_and_lines_kept() {
        assert_eq!(
            escape("a\x1b[2J\x1b]0;title\x07\0b\r\n\tc\u{9b}d\u{7f}é"),
            "a\\u{1b}[2J\\u{1b}]0;title\\u{7}\\0b\\r\n\tc\\u{9b}d\\u{7f}é"
        );
        assert!(matches!(
            escape("plain\ntext"),
            std::borrow::Cow::Borrowed(_)
        ));
    }
}
