//! Audio-thread note scheduling: turns stamped notes from the worker into NoteOn/NoteOff events
//! at sample-accurate offsets inside the current block, in time order. Fixed-capacity arrays only:
//! nothing here allocates.

/// Most note-ons waiting for their due block.
pub const PENDING_CAPACITY: usize = 512;
/// Most note-offs waiting to be sent.
pub const OFFS_CAPACITY: usize = 256;

/// A note waiting to be sent: `due` is its position in the plugin's output stream (samples since
/// activation, host rate).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PendingNote {
    /// Output-stream position at which the note-on goes out.
    pub due: i64,
    /// Drum class index.
    pub drum: u8,
    /// MIDI key.
    pub key: u8,
    /// MIDI channel, 0-based.
    pub channel: u8,
    /// MIDI velocity 1..=127.
    pub velocity: u8,
}

#[derive(Debug, Clone, Copy, Default)]
struct PendingOff {
    due: i64,
    key: u8,
    channel: u8,
}

/// One event to send, produced by [`Scheduler::run_block`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutEvent {
    /// Note-on at `timing` samples into the block; `late` if it was due before this block.
    On {
        /// Offset inside the block.
        timing: u32,
        /// The note.
        note: PendingNote,
        /// True if the note was due before the block started (sent as early as possible).
        late: bool,
    },
    /// Note-off at `timing` samples into the block.
    Off {
        /// Offset inside the block.
        timing: u32,
        /// MIDI key.
        key: u8,
        /// MIDI channel, 0-based.
        channel: u8,
    },
}

/// Fixed-capacity, time-ordered note scheduler (one per activation, owned by the audio thread).
pub struct Scheduler {
    pending: [PendingNote; PENDING_CAPACITY],
    n_pending: usize,
    offs: [PendingOff; OFFS_CAPACITY],
    n_offs: usize,
    note_len: i64,
}

impl Scheduler {
    /// A scheduler whose note-offs follow note-ons by `note_len` samples (at least 1).
    pub fn new(note_len: i64) -> Self {
        Self {
            pending: [PendingNote::default(); PENDING_CAPACITY],
            n_pending: 0,
            offs: [PendingOff::default(); OFFS_CAPACITY],
            n_offs: 0,
            note_len: note_len.max(1),
        }
    }

    /// True if another note can be queued.
    pub fn has_room(&self) -> bool {
        self.n_pending < PENDING_CAPACITY
    }

    /// Number of note-ons waiting.
    pub fn pending_len(&self) -> usize {
        self.n_pending
    }

    /// Queue a note-on (kept sorted by `due`, stable for equal times). Returns false when full.
    pub fn push(&mut self, note: PendingNote) -> bool {
        if self.n_pending == PENDING_CAPACITY {
            return false;
        }
        let mut i = self.n_pending;
        while i > 0 && self.pending[i - 1].due > note.due {
            self.pending[i] = self.pending[i - 1];
            i -= 1;
        }
        self.pending[i] = note;
        self.n_pending += 1;
        true
    }

    fn push_off(&mut self, off: PendingOff) {
        if self.n_offs == OFFS_CAPACITY {
            // Unreachable in practice: a new note-on first ends the sounding note on its own
            // key/channel, so at most one off per (key, channel) pair is pending. Keep the bound
            // anyway by overwriting the latest entry.
            self.n_offs -= 1;
        }
        let mut i = self.n_offs;
        while i > 0 && self.offs[i - 1].due > off.due {
            self.offs[i] = self.offs[i - 1];
            i -= 1;
        }
        self.offs[i] = off;
        self.n_offs += 1;
    }

    fn remove_off(&mut self, idx: usize) {
        for j in idx..self.n_offs - 1 {
            self.offs[j] = self.offs[j + 1];
        }
        self.n_offs -= 1;
    }

    fn remove_first_pending(&mut self) -> PendingNote {
        let n = self.pending[0];
        for j in 0..self.n_pending - 1 {
            self.pending[j] = self.pending[j + 1];
        }
        self.n_pending -= 1;
        n
    }

    /// Send everything due before `end` for the block `[start, end)` through `emit`, in time order
    /// (at equal times note-offs first). A note-on that was due before `start` goes out at offset 0
    /// and is flagged late. A still-sounding note on the same key and channel is ended right
    /// before a new note-on.
    pub fn run_block(&mut self, start: i64, end: i64, mut emit: impl FnMut(OutEvent)) {
        loop {
            let next_on = (self.n_pending > 0 && self.pending[0].due < end)
                .then(|| self.pending[0].due.max(start));
            let next_off =
                (self.n_offs > 0 && self.offs[0].due < end).then(|| self.offs[0].due.max(start));
            match (next_on, next_off) {
                (None, None) => break,
                (Some(on), off) if off.is_none_or(|off| on < off) => {
                    let note = self.remove_first_pending();
                    let late = note.due < start;
                    let at = note.due.max(start);
                    if let Some(k) = (0..self.n_offs).find(|&k| {
                        self.offs[k].key == note.key && self.offs[k].channel == note.channel
                    }) {
                        self.remove_off(k);
                        emit(OutEvent::Off {
                            timing: (at - start) as u32,
                            key: note.key,
                            channel: note.channel,
                        });
                    }
                    emit(OutEvent::On {
                        timing: (at - start) as u32,
                        note,
                        late,
                    });
                    self.push_off(PendingOff {
                        due: at + self.note_len,
                        key: note.key,
                        channel: note.channel,
                    });
                }
                (_, Some(off)) => {
                    let o = self.offs[0];
                    self.remove_off(0);
                    emit(OutEvent::Off {
                        timing: (off - start) as u32,
                        key: o.key,
                        channel: o.channel,
                    });
                }
                (Some(_), None) => unreachable!("handled by the guarded arm"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(due: i64, key: u8) -> PendingNote {
        PendingNote {
            due,
            drum: 0,
            key,
            channel: 9,
            velocity: 100,
        }
    }

    /// Run the scheduler over `total` samples with the given block sizes; return (abs time, on?, key).
    fn render(notes: &[PendingNote], blocks: &[i64], total: i64) -> Vec<(i64, bool, u8, bool)> {
        let mut s = Scheduler::new(10);
        for &x in notes {
            assert!(s.push(x));
        }
        let mut out = vec![];
        let mut pos = 0;
        let mut bi = 0;
        while pos < total {
            let b = blocks[bi % blocks.len()];
            bi += 1;
            s.run_block(pos, pos + b, |e| match e {
                OutEvent::On { timing, note, late } => {
                    out.push((pos + timing as i64, true, note.key, late))
                }
                OutEvent::Off { timing, key, .. } => {
                    out.push((pos + timing as i64, false, key, false))
                }
            });
            pos += b;
        }
        out
    }

    #[test]
    fn identical_for_any_block_size() {
        let notes = [n(5, 36), n(3, 38), n(100, 36), n(104, 36), n(8000, 42)];
        let reference = render(&notes, &[1], 9000);
        for blocks in [&[7i64][..], &[64], &[8192], &[1, 3, 500, 17]] {
            assert_eq!(render(&notes, blocks, 9000), reference, "blocks {blocks:?}");
        }
        // time order, offs 10 samples later, retrigger ends the previous note first
        let times: Vec<i64> = reference.iter().map(|e| e.0).collect();
        assert!(times.windows(2).all(|w| w[0] <= w[1]));
        assert_eq!(
            &reference[..2],
            &[(3, true, 38, false), (5, true, 36, false)]
        );
        assert!(reference.contains(&(104, false, 36, false)));
        let at104: Vec<_> = reference.iter().filter(|e| e.0 == 104).collect();
        assert_eq!(at104.len(), 2);
        assert!(!at104[0].1 && at104[1].1, "off before on at the same time");
        let ons = reference.iter().filter(|e| e.1).count();
        let offs = reference.iter().filter(|e| !e.1).count();
        assert_eq!((ons, offs), (5, 5));
    }

    #[test]
    fn late_notes_go_out_at_block_start() {
        let mut s = Scheduler::new(10);
        s.run_block(0, 100, |_| panic!("nothing due"));
        s.push(n(50, 36));
        let mut got = vec![];
        s.run_block(100, 200, |e| got.push(e));
        assert_eq!(
            got[0],
            OutEvent::On {
                timing: 0,
                note: n(50, 36),
                late: true
            }
        );
        assert_eq!(
            got[1],
            OutEvent::Off {
                timing: 10,
                key: 36,
                channel: 9
            }
        );
    }

    #[test]
    fn capacity_is_bounded() {
        let mut s = Scheduler::new(10);
        for i in 0..PENDING_CAPACITY {
            assert!(s.push(n(i as i64, 36)));
        }
        assert!(!s.has_room());
        assert!(!s.push(n(0, 36)));
    }
}
