//! Which provider ports and run inputs some consumer asked for: one bit each.

use crate::plan::{NodeId, Source};

/// A bit per task output port and per run input. A set of sources would cost some forty
/// bytes per entry, and a large workflow claims millions.
#[derive(Debug, Default)]
pub(super) struct Claims {
    /// Node -> index of its first output port's bit; one more entry closes the last node.
    port_base: Vec<u32>,
    ports: Vec<u64>,
    inputs: Vec<bool>,
}

impl Claims {
    pub(super) fn new(n_inputs: usize) -> Claims {
        Claims {
            port_base: vec![0],
            ports: Vec::new(),
            inputs: vec![false; n_inputs],
        }
    }

    pub(super) fn reserve(&mut self, n_nodes: usize) {
        self.port_base.reserve(n_nodes);
    }

    /// Makes room for the next node's `n_ports` outputs; nodes come in order.
    pub(super) fn add_node(&mut self, n_ports: usize) {
        let base = *self.port_base.last().expect("starts with one entry");
        let end = base + n_ports as u32;
        self.port_base.push(end);
        self.ports.resize((end as usize).div_ceil(64), 0);
    }

    fn bit(&self, node: NodeId, port: u32) -> Option<usize> {
        let base = *self.port_base.get(node as usize)?;
        let end = *self.port_base.get(node as usize + 1)?;
        (port < end - base).then_some((base + port) as usize)
    }

    pub(super) fn claim(&mut self, source: Source) {
        match source {
            Source::Input(idx) => self.inputs[idx as usize] = true,
            Source::Output { node, port } => {
                if let Some(bit) = self.bit(node, port) {
                    self.ports[bit / 64] |= 1 << (bit % 64);
                }
            }
            // Compiling never makes one.
            Source::Given(_) => {}
        }
    }

    pub(super) fn contains(&self, source: Source) -> bool {
        match source {
            Source::Input(idx) => self.inputs.get(idx as usize).copied().unwrap_or(false),
            Source::Output { node, port } => self
                .bit(node, port)
                .is_some_and(|bit| self.ports[bit / 64] & (1 << (bit % 64)) != 0),
            Source::Given(_) => false,
        }
    }
}
