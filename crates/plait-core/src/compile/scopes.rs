//! Retry scopes: the flows with a retry policy, and the innermost one around each node.

use rustc_hash::FxHashMap;

use super::Builder;
use crate::plan::{NodeId, RetryScope, ScopeId};

impl Builder {
    /// Gives each flow with a retry policy a scope, and each node its innermost scope.
    pub(super) fn retry_scopes(&mut self) -> Vec<RetryScope> {
        let mut scopes: Vec<RetryScope> = Vec::new();
        let mut scope_of_flow: FxHashMap<usize, ScopeId> = FxHashMap::default();
        // Parents come before children in `flows`, so a parent's scope exists first.
        for flow in 0..self.flows.len() {
            let Some(retry) = self.flows[flow].retry.clone() else {
                continue;
            };
            let parent = self.flows[flow].parent.and_then(|p| {
                self.ancestors(p)
                    .find_map(|f| scope_of_flow.get(&f).copied())
            });
            let end = self.end_barrier(flow);
            scope_of_flow.insert(flow, scopes.len() as ScopeId);
            scopes.push(RetryScope {
                path: self.flows[flow].path.clone(),
                retry,
                parent,
                nodes: Vec::new(),
                end,
            });
        }
        if scopes.is_empty() {
            return scopes;
        }
        for id in 0..self.nodes.len() {
            let scope = self
                .ancestors(self.parent(id as NodeId))
                .find_map(|f| scope_of_flow.get(&f).copied());
            self.nodes[id].scope = scope;
            let mut cursor = scope;
            while let Some(s) = cursor {
                scopes[s as usize].nodes.push(id as NodeId);
                cursor = scopes[s as usize].parent;
            }
        }
        scopes
    }
}
