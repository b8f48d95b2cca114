//! JSON text -> [`Node`], through `jsonc-parser`'s AST, whose ranges are byte offsets.
//!
//! Comments and trailing commas are allowed (a workflow file is written by hand); the other
//! JSON5 liberties are not, so a file that parses here is JSON to every other tool once its
//! comments are gone.

use jsonc_parser::ast::{self, ObjectPropName};
use jsonc_parser::common::Ranged;
use jsonc_parser::{CollectOptions, CommentCollectionStrategy, ParseOptions};

use super::node::{Entry, Node, Span, Value};
use crate::diagnostics::Problem;

pub(crate) fn parse(text: &str) -> Result<Node, Problem> {
    let collect = CollectOptions {
        comments: CommentCollectionStrategy::Off,
        tokens: false,
    };
    let options = ParseOptions {
        allow_comments: true,
        allow_trailing_commas: true,
        allow_loose_object_property_names: false,
        allow_missing_commas: false,
        allow_single_quoted_strings: false,
        allow_hexadecimal_numbers: false,
        allow_unary_plus_numbers: false,
        allow_bare_decimal_point_numbers: false,
        allow_non_finite_numbers: false,
        allow_extended_string_escapes: false,
    };
    let parsed =
        jsonc_parser::parse_to_ast(text, &collect, &options).map_err(|error| {
            let range = error.range();
            Problem::error(
            "syntax",
            range.start..range.end,
            format!("JSON syntax: {}", lowercase_first(&error.kind().to_string())),
            "here",
        )
        .help("see https://www.json.org for the syntax (comments and trailing commas are allowed)")
        })?;
    let Some(value) = parsed.value else {
        return Err(
            Problem::error("syntax", 0..text.len(), "the file is empty", "empty")
                .help("a JSON workflow is one object: `{\"tasks\": {...}}`"),
        );
    };
    node(value)
}

fn node(value: ast::Value<'_>) -> Result<Node, Problem> {
    let span = span(value.range());
    let value = match value {
        ast::Value::StringLit(s) => Value::String(s.value.into_owned()),
        ast::Value::NumberLit(n) => number(n.value).ok_or_else(|| {
            Problem::error(
                "bad-value",
                span.clone(),
                "this number does not fit in a 64-bit float",
                "out of range",
            )
            .help("write a smaller number")
        })?,
        ast::Value::BooleanLit(b) => Value::Bool(b.value),
        ast::Value::NullKeyword(_) => Value::Null,
        ast::Value::Array(array) => Value::Array(
            array
                .elements
                .into_iter()
                .map(node)
                .collect::<Result<_, _>>()?,
        ),
        ast::Value::Object(object) => Value::Table(
            object
                .properties
                .into_iter()
                .map(|prop| {
                    let (key, key_span) = match prop.name {
                        ObjectPropName::String(lit) => (lit.value.into_owned(), lit.range),
                        ObjectPropName::Word(lit) => (lit.value.to_owned(), lit.range),
                    };
                    Ok(Entry {
                        key,
                        key_span: self::span(key_span),
                        value: node(prop.value)?,
                    })
                })
                .collect::<Result<_, Problem>>()?,
        ),
    };
    Ok(Node { span, value })
}

/// Integers stay integers when they fit, as in JSON's own readers.
fn number(text: &str) -> Option<Value> {
    if !text.contains(['.', 'e', 'E'])
        && let Ok(int) = text.parse::<i64>()
    {
        return Some(Value::Int(int));
    }
    let float: f64 = text.parse().ok()?;
    float.is_finite().then_some(Value::Float(float))
}

fn span(range: jsonc_parser::common::Range) -> Span {
    range.start..range.end
}

fn lowercase_first(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}
