//! What attempts wrote: each attempt's stdout and stderr, kept up to a limit (their last
//! bytes), recorded while the attempt runs so a follower sees it and a killed run keeps it.

use plait_core::OutputStream;

use crate::{RunId, TaskPath};

/// Bytes an attempt wrote to one stream, to append to what the store keeps of it
/// ([`crate::Write::Output`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutputChunk {
    pub run_id: RunId,
    pub task: TaskPath,
    pub attempt: u32,
    pub stream: OutputStream,
    /// Where `bytes` start among everything the attempt wrote to the stream. Chunks come in
    /// order; one that starts past the end of what is kept means the writer cut what came
    /// between (more than `limit`): the store then keeps nothing from before it.
    pub offset: u64,
    pub bytes: Vec<u8>,
    /// The store keeps at most this many of the stream's last bytes.
    pub limit: u64,
}

impl OutputChunk {
    /// The offset just past this chunk.
    pub fn end(&self) -> u64 {
        self.offset + self.bytes.len() as u64
    }
}

/// What a store keeps of one attempt's stream, from an offset on ([`crate::Store::output`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Output {
    /// Where `bytes` start among everything the attempt wrote: the offset asked for, or the
    /// first byte kept if that is later (the limit cut what came before), or the end if the
    /// offset asked for is past it.
    pub offset: u64,
    pub bytes: Vec<u8>,
    /// How many bytes the stream's beginning lost to the limit.
    pub cut: u64,
}

impl Output {
    /// The offset just past what was written so far: where a follower reads next.
    pub fn end(&self) -> u64 {
        self.offset + self.bytes.len() as u64
    }
}

/// One attempt's stream that has output, as [`crate::Store::outputs`] lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutputInfo {
    pub task: TaskPath,
    pub attempt: u32,
    pub stream: OutputStream,
    /// How many bytes the stream's beginning lost to the limit.
    pub cut: u64,
    /// How many bytes the attempt wrote to it in all.
    pub end: u64,
}

/// What a store keeps of one stream: its last bytes, and how many came before them. The
/// one way every store applies an [`OutputChunk`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KeptOutput {
    pub cut: u64,
    pub bytes: Vec<u8>,
}

impl KeptOutput {
    pub fn end(&self) -> u64 {
        self.cut + self.bytes.len() as u64
    }

    /// Appends `chunk`, then drops the front past its limit.
    pub fn append(&mut self, chunk: &OutputChunk) {
        let end = self.end();
        let bytes = if chunk.offset > end {
            // What came between was cut by the writer: nothing before it is kept.
            self.cut = chunk.offset;
            self.bytes.clear();
            &chunk.bytes[..]
        } else {
            // A chunk that repeats what is kept adds only what is new.
            let seen = usize::try_from(end - chunk.offset).unwrap_or(usize::MAX);
            chunk.bytes.get(seen..).unwrap_or_default()
        };
        self.bytes.extend_from_slice(bytes);
        let excess = (self.bytes.len() as u64).saturating_sub(chunk.limit);
        if excess > 0 {
            self.bytes.drain(..excess as usize);
            self.cut += excess;
        }
    }

    /// What is kept from `from` on.
    pub fn read(&self, from: u64) -> Output {
        let offset = from.clamp(self.cut, self.end());
        Output {
            offset,
            bytes: self.bytes[(offset - self.cut) as usize..].to_vec(),
            cut: self.cut,
        }
    }
}
