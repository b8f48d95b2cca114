//! `{name}` placeholders in argv, parsed once when the task is built.

use plait_core::{Inputs, TaskError};

/// An argv whose elements may refer to inputs.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Template {
    args: Vec<Vec<Piece>>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Piece {
    Text(String),
    Input(String),
}

impl Template {
    /// Parses `argv`. Any text is a valid template (braces that are not placeholders are
    /// literal); placeholders naming unknown inputs are checked by the task.
    pub(crate) fn parse(argv: &[String]) -> Template {
        Template {
            args: argv.iter().map(|arg| parse_arg(arg)).collect(),
        }
    }

    /// The input names the placeholders refer to, in order, repeats included.
    pub(crate) fn inputs(&self) -> impl Iterator<Item = &str> {
        self.args.iter().flatten().filter_map(|piece| match piece {
            Piece::Input(name) => Some(name.as_str()),
            Piece::Text(_) => None,
        })
    }

    /// Substitutes each placeholder with its input's text form. Each element stays one
    /// argument, whatever the input holds: there is no shell to split it.
    pub(crate) fn render(&self, inputs: &Inputs) -> Result<Vec<String>, TaskError> {
        self.args
            .iter()
            .map(|pieces| {
                let mut arg = String::new();
                for piece in pieces {
                    match piece {
                        Piece::Text(text) => arg.push_str(text),
                        Piece::Input(name) => arg.push_str(&inputs.require(name)?.to_text()),
                    }
                }
                Ok(arg)
            })
            .collect()
    }
}

/// Splits one element into text and placeholders.
///
/// A placeholder is `{name}` where `name` is an identifier (letters, digits, `_`, `-`, `.`,
/// not starting with a digit). Every other brace is literal, so JSON and shell snippets such
/// as `printf '{"sq": %d}'` or `{"doc": {"n": 1}}` need no escaping, and `${NAME}` is left
/// for the shell. `{{name}}` is the escape for the rare `{name}` that must stay as it is.
fn parse_arg(arg: &str) -> Vec<Piece> {
    let mut pieces = Vec::new();
    let mut text = String::new();
    let mut rest = arg;
    while let Some(c) = rest.chars().next() {
        if let Some((name, after)) = rest.strip_prefix("{{").and_then(|inner| placeholder(inner))
            && let Some(after) = after.strip_prefix('}')
        {
            text.push('{');
            text.push_str(name);
            text.push('}');
            rest = after;
            continue;
        }
        if c == '{'
            && !text.ends_with('$')
            && let Some((name, after)) = placeholder(&rest[1..])
        {
            if !text.is_empty() {
                pieces.push(Piece::Text(std::mem::take(&mut text)));
            }
            pieces.push(Piece::Input(name.to_owned()));
            rest = after;
            continue;
        }
        text.push(c);
        rest = &rest[c.len_utf8()..];
    }
    if !text.is_empty() || pieces.is_empty() {
        pieces.push(Piece::Text(text));
    }
    pieces
}

/// `name}rest` -> `(name, rest)` if `name` is an identifier.
fn placeholder(text: &str) -> Option<(&str, &str)> {
    let end = text.find('}')?;
    let name = &text[..end];
    let mut chars = name.chars();
    let first = chars.next()?;
    let valid = (first.is_alphabetic() || first == '_')
        && chars.all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.'));
    valid.then(|| (name, &text[end + 1..]))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use expect_test::{Expect, expect};
    use plait_core::{Port, Value, ValueType};

    use super::*;

    fn check(argv: &[&str], expect: Expect) {
        let argv: Vec<String> = argv.iter().map(|arg| arg.to_string()).collect();
        let template = Template::parse(&argv);
        let problems: Vec<String> = Vec::new();
        let ports: Arc<[Port]> = Arc::from(vec![
            Port::new("x", ValueType::String),
            Port::new("n", ValueType::Int),
            Port::new("names", ValueType::list(ValueType::String)),
        ]);
        let names = ValueType::list(ValueType::String)
            .value_from_json(&serde_json::json!(["a", "b c"]))
            .unwrap();
        let inputs = Inputs::new(
            ports,
            vec![Value::from("a b; rm -rf /"), Value::Int(3), names],
        );
        let rendered = match problems.is_empty() {
            true => format!("{:?}", template.render(&inputs)),
            false => problems.join("\n"),
        };
        expect.assert_eq(&rendered);
    }

    #[test]
    fn placeholders_become_whole_arguments() {
        check(
            &["echo", "{x}", "--n={n}", "{x}{n}", ""],
            expect![[r#"Ok(["echo", "a b; rm -rf /", "--n=3", "a b; rm -rf /3", ""])"#]],
        );
    }

    #[test]
    fn a_list_is_its_json_text() {
        check(
            &["greet", "{names}", "--first={names}"],
            expect![[r#"Ok(["greet", "[\"a\",\"b c\"]", "--first=[\"a\",\"b c\"]"])"#]],
        );
    }

    #[test]
    fn doubled_braces_escape_a_placeholder_and_nothing_else() {
        check(
            &[
                "jq",
                "{{x}}",
                "{{a: .{n}}}",
                "{\"doc\": {\"n\": {n}}}",
                "}}{{",
            ],
            expect![[r#"Ok(["jq", "{x}", "{{a: .3}}", "{\"doc\": {\"n\": 3}}", "}}{{"])"#]],
        );
    }

    #[test]
    fn braces_that_are_not_placeholders_are_literal() {
        check(
            &[
                "sh",
                "-c",
                "printf '{\"sq\": %d}' {n}",
                "echo ${HOME} {}",
                "{x",
                "a}b",
                "{ n }",
            ],
            expect![[
                r#"Ok(["sh", "-c", "printf '{\"sq\": %d}' 3", "echo ${HOME} {}", "{x", "a}b", "{ n }"])"#
            ]],
        );
    }

    #[test]
    fn unknown_inputs_fail_at_render_without_panicking() {
        let template = Template::parse(&["{nope}".to_owned()]);
        assert_eq!(template.inputs().collect::<Vec<_>>(), ["nope"]);
        let inputs = Inputs::new(Arc::from(Vec::new()), Vec::new());
        let error = template.render(&inputs).unwrap_err();
        assert_eq!(error.message(), "no input named `nope`");
    }
}
