//! The child's three pipes. All three are serviced concurrently with waiting for the child, so
//! a child never blocks on a full pipe while we wait for it to exit.

use plait_core::OutputStream;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::process::ChildStdin;
use tokio_util::sync::CancellationToken;

use super::subprocess::Tee;

/// How much of stderr is kept: enough for the last few dozen lines of an error.
pub const STDERR_TAIL_BYTES: usize = 4096;

const CHUNK_BYTES: usize = 64 * 1024;

/// Writes `bytes` to the child's stdin, then closes it so the child sees end of file.
///
/// A child that exits without reading its stdin (most commands ignore it) closes the pipe
/// first: the resulting EPIPE is not a failure of anything, so it is ignored.
pub(crate) async fn write_stdin(stdin: Option<ChildStdin>, bytes: Vec<u8>) {
    let Some(mut stdin) = stdin else {
        return;
    };
    match stdin.write_all(&bytes).await {
        Ok(()) => {}
        Err(error) if error.kind() == std::io::ErrorKind::BrokenPipe => {}
        Err(error) => tracing::debug!(%error, "could not write the child's stdin"),
    }
}

/// Reads `pipe` to its end into `buffer`, keeping at most `limit` bytes; `tee` sees
/// every chunk.
///
/// Past the limit it cancels `overflow` (the supervisor then stops the process) and keeps
/// reading without keeping, so the child does not block on a full pipe while it shuts down.
pub(crate) async fn read_capped(
    pipe: Option<impl AsyncRead + Unpin>,
    buffer: &mut Vec<u8>,
    limit: usize,
    overflow: &CancellationToken,
    tee: Option<&Tee>,
) {
    let Some(mut pipe) = pipe else {
        return;
    };
    let mut chunk = vec![0; CHUNK_BYTES];
    loop {
        let n = match pipe.read(&mut chunk).await {
            Ok(0) => return,
            Ok(n) => n,
            Err(error) => {
                tracing::debug!(%error, "could not read the child's stdout");
                return;
            }
        };
        if let Some(tee) = tee {
            tee.see(OutputStream::Stdout, &chunk[..n]);
        }
        if overflow.is_cancelled() {
            continue;
        }
        if buffer.len() + n > limit {
            overflow.cancel();
            *buffer = Vec::new();
        } else {
            buffer.extend_from_slice(&chunk[..n]);
        }
    }
}

/// Reads `pipe` to its end, keeping only its last `capacity` bytes; `tee` sees every chunk.
pub(crate) async fn read_tail(
    pipe: Option<impl AsyncRead + Unpin>,
    tail: &mut Tail,
    tee: Option<&Tee>,
) {
    let Some(mut pipe) = pipe else {
        return;
    };
    let mut chunk = vec![0; CHUNK_BYTES];
    loop {
        match pipe.read(&mut chunk).await {
            Ok(0) => return,
            Ok(n) => {
                if let Some(tee) = tee {
                    tee.see(OutputStream::Stderr, &chunk[..n]);
                }
                tail.push(&chunk[..n]);
            }
            Err(error) => {
                tracing::debug!(%error, "could not read the child's stderr");
                return;
            }
        }
    }
}

/// The last `capacity` bytes written to a stream.
#[derive(Debug)]
pub(crate) struct Tail {
    bytes: Vec<u8>,
    capacity: usize,
    truncated: bool,
}

impl Tail {
    pub(crate) fn new(capacity: usize) -> Self {
        Tail {
            bytes: Vec::new(),
            capacity,
            truncated: false,
        }
    }

    pub(crate) fn push(&mut self, chunk: &[u8]) {
        self.bytes.extend_from_slice(chunk);
        // Trim only once twice the capacity is reached, so trimming costs O(1) per byte.
        if self.bytes.len() > 2 * self.capacity {
            self.trim();
        }
    }

    fn trim(&mut self) {
        if self.bytes.len() > self.capacity {
            let excess = self.bytes.len() - self.capacity;
            self.bytes.drain(..excess);
            self.truncated = true;
        }
    }

    /// The tail as text. When the start was cut off, the first (partial) line is dropped too,
    /// unless it is all there is.
    pub(crate) fn into_string(mut self) -> String {
        self.trim();
        let mut bytes = &self.bytes[..];
        if self.truncated
            && let Some(newline) = bytes.iter().position(|&byte| byte == b'\n')
            && newline + 1 < bytes.len()
        {
            bytes = &bytes[newline + 1..];
        }
        String::from_utf8_lossy(bytes).into_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tail_keeps_the_end_and_drops_a_cut_line() {
        let mut tail = Tail::new(10);
        for line in ["first line\n", "second\n", "end\n"] {
            tail.push(line.as_bytes());
        }
        // The last 10 bytes are "cond\nend\n": "cond" is a cut line.
        assert_eq!(tail.into_string(), "end\n");

        let mut tail = Tail::new(10);
        tail.push(b"short\n");
        assert_eq!(tail.into_string(), "short\n");

        let mut tail = Tail::new(4);
        tail.push(b"one long line");
        assert_eq!(tail.into_string(), "line");
    }

    #[tokio::test]
    async fn stdout_past_the_limit_is_dropped_and_flagged() {
        let overflow = CancellationToken::new();
        let mut buffer = Vec::new();
        read_capped(Some(&b"0123456789"[..]), &mut buffer, 10, &overflow, None).await;
        assert_eq!((buffer.len(), overflow.is_cancelled()), (10, false));

        read_capped(
            Some(&b"0123456789a"[..]),
            &mut Vec::new(),
            10,
            &overflow,
            None,
        )
        .await;
        assert!(overflow.is_cancelled());
    }
}
