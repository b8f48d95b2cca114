//! Pass 3: ordering edges from linear flows and explicit `after` lists.

use super::Builder;
use crate::diagnostic::{Code, Location};
use crate::{Diagnostic, FlowKind};

impl Builder {
    pub(super) fn order(&mut self) {
        for flow in 0..self.flows.len() {
            let members = self.flows[flow].members.clone();
            if self.flows[flow].kind == FlowKind::Linear {
                for pair in members.windows(2) {
                    let (from, to) = (self.exit(pair[0].1), self.entry(pair[1].1));
                    self.edge(from, to);
                }
            }
            let after = self.flows[flow].after.clone();
            for ((name, member), targets) in members.iter().zip(after) {
                for target in targets {
                    let Some(&(_, before)) = members.iter().find(|(n, _)| *n == target) else {
                        self.unknown_after(flow, name, &target);
                        continue;
                    };
                    let (from, to) = (self.exit(before), self.entry(*member));
                    self.edge(from, to);
                }
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
            .members
            .iter()
            .filter(|(n, _)| &**n != name)
            .map(|(n, _)| format!("`{n}`"))
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
