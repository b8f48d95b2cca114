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
    /// Parses `argv`; `field` (`argv`, `revert`) names it in problems. A malformed element is
    /// kept as text and reported, so every problem shows at once.
    pub(crate) fn parse(field: &str, argv: &[String]) -> (Template, Vec<String>) {
        let mut problems = Vec::new();
        let args = argv
            .iter()
            .map(|arg| {
                parse_arg(arg).unwrap_or_else(|problem| {
                    problems.push(format!("`{field}` element `{arg}` {problem}"));
                    vec![Piece::Text(arg.clone())]
                })
            })
            .collect();
        (Template { args }, problems)
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

/// Splits one element into text and placeholders; `{{` and `}}` are literal braces.
fn parse_arg(arg: &str) -> Result<Vec<Piece>, &'static str> {
    let mut pieces = Vec::new();
    let mut text = String::new();
    let mut chars = arg.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '{' if chars.next_if_eq(&'{').is_some() => text.push('{'),
            '}' if chars.next_if_eq(&'}').is_some() => text.push('}'),
            '{' => {
                let mut name = String::new();
                loop {
                    match chars.next() {
                        Some('}') => break,
                        Some('{') | None => {
                            return Err(
                                "has an unclosed `{`: close it, or write `{{` for a literal brace",
                            );
                        }
                        Some(c) => name.push(c),
                    }
                }
                if name.is_empty() {
                    return Err(
                        "has an empty placeholder `{}`: name an input in it, or write `{{}}` for literal braces",
                    );
                }
                if !text.is_empty() {
                    pieces.push(Piece::Text(std::mem::take(&mut text)));
                }
                pieces.push(Piece::Input(name));
            }
            '}' => return Err("has an unmatched `}`: write `}}` for a literal brace"),
            c => text.push(c),
        }
    }
    if !text.is_empty() || pieces.is_empty() {
        pieces.push(Piece::Text(text));
    }
    Ok(pieces)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use expect_test::{Expect, expect};
    use plait_core::{Port, Value, ValueType};

    use super::*;

    fn check(argv: &[&str], expect: Expect) {
        let argv: Vec<String> = argv.iter().map(|arg| arg.to_string()).collect();
        let (template, problems) = Template::parse("argv", &argv);
        let ports: Arc<[Port]> = Arc::from(vec![
            Port::new("x", ValueType::String),
            Port::new("n", ValueType::Int),
        ]);
        let inputs = Inputs::new(ports, vec![Value::from("a b; rm -rf /"), Value::Int(3)]);
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
    fn doubled_braces_are_literal() {
        check(
            &["jq", "{{a: .{n}}}", "}}{{x}}{{"],
            expect![[r#"Ok(["jq", "{a: .3}", "}{x}{"])"#]],
        );
    }

    #[test]
    fn malformed_braces_are_all_reported() {
        check(
            &["{x", "a}b", "{}", "{a{b}", "ok {n}"],
            expect![[r#"
                `argv` element `{x` has an unclosed `{`: close it, or write `{{` for a literal brace
                `argv` element `a}b` has an unmatched `}`: write `}}` for a literal brace
                `argv` element `{}` has an empty placeholder `{}`: name an input in it, or write `{{}}` for literal braces
                `argv` element `{a{b}` has an unclosed `{`: close it, or write `{{` for a literal brace"#]],
        );
    }

    #[test]
    fn unknown_inputs_fail_at_render_without_panicking() {
        let (template, problems) = Template::parse("argv", &["{nope}".to_owned()]);
        assert!(problems.is_empty());
        assert_eq!(template.inputs().collect::<Vec<_>>(), ["nope"]);
        let inputs = Inputs::new(Arc::from(Vec::new()), Vec::new());
        let error = template.render(&inputs).unwrap_err();
        assert_eq!(error.message(), "no input named `nope`");
    }
}
