//! The names a flow's tasks provide, each with the task ports that provide it.

use std::sync::Arc;

use rustc_hash::FxHashMap;

use crate::plan::NodeId;

/// A task output port.
pub(super) type Provider = (NodeId, u32);

/// Name -> providers. Nearly every name has one provider, so the map holds the first and the
/// rest are chained in a side list: no list per name.
#[derive(Debug, Default)]
pub(super) struct Provides {
    /// Name -> (first link, last link) in `links`.
    names: FxHashMap<Arc<str>, (u32, u32)>,
    links: Vec<Link>,
}

#[derive(Debug)]
struct Link {
    provider: Provider,
    next: u32,
}

const NONE: u32 = u32::MAX;

impl Provides {
    pub(super) fn with_capacity(n: usize) -> Provides {
        Provides {
            names: FxHashMap::with_capacity_and_hasher(n, Default::default()),
            links: Vec::with_capacity(n),
        }
    }

    /// Adds a provider of `name`, after those it has.
    pub(super) fn add(&mut self, name: Arc<str>, provider: Provider) {
        let link = self.links.len() as u32;
        self.links.push(Link {
            provider,
            next: NONE,
        });
        match self.names.entry(name) {
            std::collections::hash_map::Entry::Occupied(mut entry) => {
                let (_, last) = entry.get_mut();
                self.links[*last as usize].next = link;
                *last = link;
            }
            std::collections::hash_map::Entry::Vacant(entry) => {
                entry.insert((link, link));
            }
        }
    }

    /// The providers of `name`, in the order they were added.
    pub(super) fn get(&self, name: &str) -> Option<Providers<'_>> {
        let &(first, _) = self.names.get(name)?;
        Some(Providers {
            links: &self.links,
            next: first,
        })
    }

    /// Each name with its providers, in no particular order.
    pub(super) fn iter(&self) -> impl Iterator<Item = (&Arc<str>, Providers<'_>)> {
        self.names.iter().map(|(name, &(first, _))| {
            (
                name,
                Providers {
                    links: &self.links,
                    next: first,
                },
            )
        })
    }

    pub(super) fn len(&self) -> usize {
        self.links.len()
    }
}

/// The providers of one name.
#[derive(Clone)]
pub(super) struct Providers<'a> {
    links: &'a [Link],
    next: u32,
}

impl Providers<'_> {
    /// The provider, when there is exactly one.
    pub(super) fn single(&self) -> Option<Provider> {
        let link = &self.links[self.next as usize];
        (link.next == NONE).then_some(link.provider)
    }
}

impl Iterator for Providers<'_> {
    type Item = Provider;

    fn next(&mut self) -> Option<Provider> {
        let link = self.links.get(self.next as usize)?;
        self.next = link.next;
        Some(link.provider)
    }
}
