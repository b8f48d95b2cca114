//! Pass 3: ordering edges from linear flows and explicit `after` lists.

use rustc_hash::FxHashMap;

use super::Builder;
use crate::diagnostic::{Code, Location};
use crate::{Diagnostic, FlowKind};

impl Builder {
    pub(super) fn order(&mut self) {
        for flow in 0..self.flows.len() {
            if self.flows[flow].kind == FlowKind::Linear {
                for pair in 1..self.flows[flow].members.len() {
                    let members = &self.flows[flow].members;
                    let (before, member) = (members[pair - 1], members[pair]);
                    let (from, to) = (self.exit(before), self.entry(member));
                    self.edge(from, to);
                }
            }
            let after = std::mem::take(&mut self.flows[flow].after);
            if after.is_empty() {
                continue;
            }
            let by_name: FxHashMap<&str, usize> = self.flows[flow]
                .names
                .iter()
                .enumerate()
                .map(|(idx, name)| (&**name, idx))
                .rev()
                .collect();
            let mut edges = Vec::new();
            let mut unknown = Vec::new();
            for (position, targets) in &after {
                for target in targets {
                    match by_name.get(&**target) {
                        Some(&before) => edges.push((before, *position)),
                        None => unknown.push((*position, target.clone())),
                    }
                }
            }
            drop(by_name);
            for (before, position) in edges {
                let members = &self.flows[flow].members;
                let (before, member) = (members[before], members[position]);
                let (from, to) = (self.exit(before), self.entry(member));
                self.edge(from, to);
            }
            for (position, target) in unknown {
                let name = self.flows[flow].names[position].clone();
                self.unknown_after(flow, &name, &target);
            }
        }
    }

    fn unknown_after(&mut self, flow: usize, name: &str, target: &str) {
        let flow_path = self.flows[flow].path.clone();
        let path: std::sync::Arc<str> = if flow_path.is_empty() {
            name.into()
        } else {
            format!("{flow_path}/{name}").into()
        };
        let siblings: Vec<String> = self.flows[flow]
            .names
            .iter()
            .filter(|n| &***n != name)
            .map(|n| format!("`{n}`"))
            .collect();
        let help = if siblings.is_empty() {
            "`after` names other members of the same flow, and this flow has none".to_owned()
        } else {
            format!(
                "`after` names members of the same flow: {}",
                siblings.join(", ")
            )
        };
        self.report(
            Diagnostic::error(
                Code::UnknownMember,
                format!("`{path}` runs after `{target}`, which is not in its flow"),
            )
            .at(Location::After {
                path,
                target: target.into(),
            })
            .help(help),
        );
    }
}
