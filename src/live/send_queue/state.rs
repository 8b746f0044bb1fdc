//! The connection state's own steps, all under the queue's lock: forgetting a hunt, marking what
//! the client has, failing, and writing the queue's front onward until the socket would block.

use std::collections::VecDeque;
use std::io::{self, IoSlice};

use super::{Queued, State, WRITE_SLICES};
use crate::domain::ids::HuntId;

impl State {
    pub(super) fn forget(&mut self, hunt: HuntId) {
        if let Some(i) = self.hunts.iter().position(|h| h.id == hunt) {
            self.hunts.swap_remove(i);
        }
        // Frames not started yet are dropped; a started one must be finished.
        let keep_front = usize::from(self.written > 0);
        let mut i = 0;
        self.queue.retain(|q| {
            i += 1;
            i <= keep_front || q.hunt != Some(hunt)
        });
    }

    pub(super) fn mark(&mut self, hunt: HuntId, offset: i64) {
        if let Some(h) = self.hunts.iter_mut().find(|h| h.id == hunt) {
            h.delivered = h.delivered.max(offset);
        }
    }

    /// Marks the queue's front as started on the wire.
    pub(super) fn start_front(&mut self) {
        if let Some(&Queued {
            hunt: Some(hunt),
            mark: Some(offset),
            ..
        }) = self.queue.front()
        {
            self.mark(hunt, offset);
        }
    }

    pub(super) fn fail(&mut self) {
        self.broken = true;
        self.closing = true;
        self.queue.clear();
        self.written = 0;
    }

    /// Writes the queue's front onward until the socket would block.
    pub(super) fn write_queue(&mut self) {
        let Some(stream) = self.stream.clone() else {
            return;
        };
        loop {
            // Empty markers are "on the wire" as soon as everything before them is.
            while self.queue.front().is_some_and(|q| q.bytes.is_empty()) {
                self.start_front();
                self.queue.pop_front();
            }
            let Some(front) = self.queue.front() else {
                return;
            };
            let first = &front.bytes[self.written..];
            let result = if self.queue.len() == 1 {
                stream.try_write(first)
            } else {
                let slices: Vec<IoSlice<'_>> = std::iter::once(IoSlice::new(first))
                    .chain(
                        self.queue
                            .iter()
                            .skip(1)
                            .take(WRITE_SLICES - 1)
                            .map(|q| IoSlice::new(&q.bytes)),
                    )
                    .collect();
                stream.try_write_vectored(&slices)
            };
            let mut n = match result {
                // A stream socket takes no bytes only when it would block.
                Ok(0) => return,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(_) => {
                    self.fail();
                    return;
                }
            };
            while n > 0 {
                let Some(len) = self.queue.front().map(|q| q.bytes.len()) else {
                    break;
                };
                if self.written == 0 {
                    self.start_front();
                }
                let rest = len - self.written;
                if n >= rest {
                    n -= rest;
                    self.queue.pop_front();
                    self.written = 0;
                } else {
                    self.written += n;
                    n = 0;
                }
            }
            if self.queue.is_empty() {
                // An idle connection keeps no queue memory.
                self.queue = VecDeque::new();
            }
        }
    }
}
