//! The ports of a task (`requires`, `provides`) and the workflow's inputs.

use std::sync::Arc;

use plait_core::{InputDecl, Location, Port, PortRole, ValueType};

use super::Reader;
use super::fields::Schema;
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
