//! Types, the ports of a task (`requires`, `provides`) and the workflow's inputs.

use std::sync::Arc;

use plait_core::{InputDecl, Location, Port, PortRole, ValueType};

use super::Reader;
use super::fields::{Schema, quote_list, suggest};
use crate::diagnostics::Problem;
use crate::syntax::{Node, Value};

const REQUIRES: Schema = Schema {
    keys: &["type", "from"],
    note: Some("`from` names the value in the flow when it differs from the task's name"),
};

const PROVIDES: Schema = Schema {
    keys: &["type", "to"],
    note: Some("`to` names the value in the flow when it differs from the task's name"),
};

const INPUT: Schema = Schema {
    keys: &["type", "default", "description"],
    note: None,
};

/// A task's ports, and the ones it rebinds: (its name, the flow's name).
#[derive(Debug, Default)]
pub(super) struct Ports {
    pub(super) ports: Vec<Port>,
    pub(super) rebind: Vec<(Arc<str>, Arc<str>)>,
}

impl Reader {
    /// A type name; an unknown one is reported and `None`.
    fn value_type(&mut self, node: &Node, what: &str) -> Option<ValueType> {
        let name = self.str(node, what)?;
        if let Some(ty) = ValueType::from_name(name) {
            return Some(ty);
        }
        let names = ValueType::FILE_TYPE_NAMES;
        let listed = quote_list(names);
        let help = match suggest(name, names).or_else(|| alias(name)) {
            Some(near) => format!("did you mean `{near}`? the types are {listed}"),
            None => format!("the types are {listed}"),
        };
        self.report(
            Problem::error(
                "bad-type",
                node.span.clone(),
                format!("unknown type `{name}` for {what}"),
                "unknown type",
            )
            .help(help),
        );
        None
    }

    /// `requires` or `provides` of the task at `path`: `name = "int"`, or a table with `type`
    /// and `from` (requires) or `to` (provides).
    pub(super) fn ports(&mut self, node: &Node, path: &Arc<str>, role: PortRole) -> Ports {
        let (key, schema, rename) = match role {
            PortRole::Requires => ("requires", REQUIRES, "from"),
            PortRole::Provides => ("provides", PROVIDES, "to"),
        };
        let mut ports = Ports::default();
        let what = format!("`{key}` of task `{path}`");
        let Some(entries) = self.table(node, &what) else {
            return ports;
        };
        for entry in self.unique(entries) {
            let name: Arc<str> = Arc::from(entry.key.as_str());
            let what = format!("`{name}` in {what}");
            let (ty, renamed) = match &entry.value.value {
                Value::Table(fields) => {
                    let fields = self.fields(fields, schema, &what);
                    let ty = match fields.node("type") {
                        Some(ty) => self.value_type(ty, &what),
                        None => {
                            self.missing_key(
                                &entry.value,
                                "type",
                                &what,
                                "add `type = \"int\"` (or another type)",
                            );
                            None
                        }
                    };
                    let renamed = fields
                        .node(rename)
                        .and_then(|node| self.str(node, &format!("`{rename}` of {what}")))
                        .map(Arc::from);
                    (ty, renamed)
                }
                _ => (self.value_type(&entry.value, &what), None),
            };
            self.spans.port(path, role, &name, entry.key_span.clone());
            let ty = ty.unwrap_or_else(|| {
                // Keep the port so wiring still sees it; what core says about its type
                // follows from the problem just reported.
                self.spans.taint(Location::Port {
                    path: path.clone(),
                    role,
                    port: name.clone(),
                });
                ValueType::Json
            });
            if let Some(outer) = renamed {
                ports.rebind.push((name.clone(), outer));
            }
            ports.ports.push(Port::new(name, ty));
        }
        ports
    }

    /// `[inputs]`: `n = "int"`, or a table with `type`, `default` and `description`.
    pub(super) fn inputs(&mut self, node: &Node) -> Vec<InputDecl> {
        let Some(entries) = self.table(node, "`inputs`") else {
            return Vec::new();
        };
        let mut inputs = Vec::with_capacity(entries.len());
        for entry in self.unique(entries) {
            let name: Arc<str> = Arc::from(entry.key.as_str());
            let what = format!("input `{name}`");
            self.spans.input(&name, entry.key_span.clone());
            let mut input = InputDecl {
                name: name.clone(),
                ty: ValueType::Json,
                default: None,
                description: None,
            };
            let ty = match &entry.value.value {
                Value::Table(fields) => {
                    let fields = self.fields(fields, INPUT, &what);
                    input.description = fields
                        .node("description")
                        .and_then(|node| self.str(node, &format!("`description` of {what}")))
                        .map(str::to_owned);
                    let default = fields.node("default");
                    let ty = match (fields.node("type"), default) {
                        (Some(ty), _) => self.value_type(ty, &what),
                        // The default says what type the input is.
                        (None, Some(default)) => self.type_of_default(default, &what),
                        (None, None) => {
                            self.missing_key(
                                &entry.value,
                                "type",
                                &what,
                                "add `type = \"int\"` (or another type), or a `default`",
                            );
                            None
                        }
                    };
                    if let (Some(ty), Some(default)) = (&ty, default) {
                        input.default = self
                            .default_value(default, ty, &what)
                            .map(|value| self.anchored(value));
                    }
                    ty
                }
                _ => self.value_type(&entry.value, &what),
            };
            match ty {
                Some(ty) => input.ty = ty,
                None => self.spans.taint(Location::Input { name }),
            }
            inputs.push(input);
        }
        inputs
    }

    /// A relative `file` default means a file beside the workflow (where its commands run):
    /// made absolute, it means the same file to the engine, which hashes it for the cache,
    /// and to a task with another working directory.
    fn anchored(&self, value: plait_core::Value) -> plait_core::Value {
        match value.as_path() {
            Some(path) if path.is_relative() => plait_core::Value::file(self.workdir.join(path)),
            _ => value,
        }
    }

    fn type_of_default(&mut self, default: &Node, what: &str) -> Option<ValueType> {
        Some(match default.value {
            Value::String(_) => ValueType::String,
            Value::Int(_) => ValueType::Int,
            Value::Float(_) => ValueType::Float,
            Value::Bool(_) => ValueType::Bool,
            Value::Array(_) | Value::Table(_) | Value::Null => ValueType::Json,
            Value::Datetime(_) => {
                self.bad_type(
                    default,
                    &format!("the default of {what}"),
                    "a string, number, boolean, array or table",
                );
                return None;
            }
        })
    }

    fn default_value(
        &mut self,
        default: &Node,
        ty: &ValueType,
        what: &str,
    ) -> Option<plait_core::Value> {
        let Some(json) = to_json(default) else {
            self.bad_type(
                default,
                &format!("the default of {what}"),
                &format!("a value of type {ty}"),
            );
            return None;
        };
        match ty.value_from_json(&json) {
            Ok(value) => Some(value),
            Err(_) => {
                self.report(
                    Problem::error(
                        "bad-type",
                        default.span.clone(),
                        format!(
                            "the default of {what} is {}, but the input is {ty}",
                            default.kind_name()
                        ),
                        format!("expected {ty}"),
                    )
                    .help(format!(
                        "write a default of type {ty}, or change the input's `type`"
                    )),
                );
                None
            }
        }
    }

    pub(super) fn missing_key(&mut self, node: &Node, key: &str, what: &str, help: &str) {
        self.report(
            Problem::error(
                "missing-key",
                node.span.clone(),
                format!("{what} has no `{key}`"),
                format!("`{key}` missing"),
            )
            .help(help),
        );
    }
}

/// Common spellings of other languages' types.
fn alias(name: &str) -> Option<&'static str> {
    Some(match name.to_ascii_lowercase().as_str() {
        "integer" | "i64" | "number" | "long" => "int",
        "double" | "f64" | "real" => "float",
        "boolean" => "bool",
        "str" | "text" => "string",
        "object" | "array" | "list" | "map" | "any" => "json",
        "path" => "file",
        _ => return None,
    })
}

/// The JSON form of a value written in the file, for typed defaults. A date-time and a
/// non-finite float have none.
fn to_json(node: &Node) -> Option<serde_json::Value> {
    Some(match &node.value {
        Value::String(s) => serde_json::Value::String(s.clone()),
        Value::Int(i) => serde_json::Value::from(*i),
        Value::Float(f) => serde_json::Number::from_f64(*f).map(serde_json::Value::Number)?,
        Value::Bool(b) => serde_json::Value::Bool(*b),
        Value::Null => serde_json::Value::Null,
        Value::Datetime(_) => return None,
        Value::Array(items) => {
            serde_json::Value::Array(items.iter().map(to_json).collect::<Option<_>>()?)
        }
        Value::Table(entries) => serde_json::Value::Object(
            entries
                .iter()
                .map(|entry| Some((entry.key.clone(), to_json(&entry.value)?)))
                .collect::<Option<_>>()?,
        ),
    })
}
