//! MIDI export of the capture (all of it or a selected range) as a Standard MIDI File on the GM
//! drum channel, at the host tempo when known.

use std::io;
use std::path::{Path, PathBuf};

use hitscribe_engine::midi_file::{self, MidiNote, MidiOptions};

use super::host::CaptureNote;
use super::piano_roll_model::{RangeSelection, select_notes};

/// Ticks per quarter note in exported files.
pub const PPQ: u16 = 480;
/// Tempo used when the host gives none.
pub const DEFAULT_BPM: f64 = 120.0;
/// Length of every exported drum note in ticks (one-shots: a 32nd note at [`PPQ`]).
pub const NOTE_TICKS: u32 = 60;
/// MIDI channel of the GM drum kit (channel 10, 0-based 9).
pub const DRUM_CHANNEL: u8 = midi_file::GM_DRUM_CHANNEL;

/// What an export produced.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportResult {
    /// Where the file went.
    pub path: PathBuf,
    /// How many notes it holds.
    pub notes: usize,
    /// Tempo it was written at.
    pub bpm: f64,
}

/// Converts seconds to ticks at `bpm` and [`PPQ`].
pub fn seconds_to_ticks(t: f64, bpm: f64) -> u32 {
    (t.max(0.0) * bpm / 60.0 * PPQ as f64).round() as u32
}

/// Converts ticks at `bpm` and [`PPQ`] to seconds.
pub fn ticks_to_seconds(ticks: u32, bpm: f64) -> f64 {
    ticks as f64 / PPQ as f64 * 60.0 / bpm
}

/// The folder exports go to: `$HITSCRIBE_EXPORT_DIR`, else `~/Hitscribe`, else the temp folder.
pub fn default_export_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("HITSCRIBE_EXPORT_DIR") {
        return PathBuf::from(d);
    }
    let home = std::env::var_os("HOME").or_else(|| std::env::var_os("USERPROFILE"));
    match home {
        Some(h) => PathBuf::from(h).join("Hitscribe"),
        None => std::env::temp_dir(),
    }
}

/// A file name that does not exist yet in `dir`: `hitscribe-<unix seconds>[-n].mid`.
pub fn unique_path(dir: &Path, unix_s: u64) -> PathBuf {
    let mut p = dir.join(format!("hitscribe-{unix_s}.mid"));
    let mut n = 1;
    while p.exists() {
        p = dir.join(format!("hitscribe-{unix_s}-{n}.mid"));
        n += 1;
    }
    p
}

/// Writes the notes of `notes` inside `range` (all when `None`; times then start at the first
/// note's bar so nothing shifts) to `path` as a format-0 SMF on the GM drum channel.
pub fn export_capture<'a>(
    notes: impl IntoIterator<Item = &'a CaptureNote>,
    range: Option<RangeSelection>,
    tempo_bpm: Option<f64>,
    path: &Path,
) -> io::Result<ExportResult> {
    let bpm = tempo_bpm
        .filter(|b| b.is_finite() && *b > 0.0)
        .unwrap_or(DEFAULT_BPM);
    let mut sel = select_notes(notes, range);
    if range.is_none() {
        // Keep the capture timeline as-is but never write negative times.
        sel.retain(|n| n.time_s >= 0.0);
    }
    let bytes = smf_bytes(&sel, bpm)?;
    if let Some(dir) = path.parent()
        && !dir.as_os_str().is_empty()
    {
        std::fs::create_dir_all(dir)?;
    }
    midi_file::write_atomic(path, &bytes).map_err(|e| io::Error::other(e.to_string()))?;
    Ok(ExportResult {
        path: path.to_path_buf(),
        notes: sel.len(),
        bpm,
    })
}

/// The SMF bytes for `notes` (times in seconds from file start) at `bpm`, written by the
/// engine's `midi_file` module (format 0, track "Hitscribe drums", tempo meta, GM drum channel).
pub fn smf_bytes(notes: &[CaptureNote], bpm: f64) -> io::Result<Vec<u8>> {
    let midi: Vec<MidiNote> = notes
        .iter()
        .map(|n| MidiNote {
            time: n.time_s.max(0.0),
            key: n.key.min(127),
            velocity: n.velocity.clamp(1, 127),
            channel: DRUM_CHANNEL,
        })
        .collect();
    let opt = MidiOptions {
        bpm,
        ppq: PPQ,
        note_ticks: NOTE_TICKS,
    };
    midi_file::to_bytes(&midi, &opt).map_err(io::Error::other)
}

#[cfg(test)]
mod tests {
    use super::*;
    use midly::{MetaMessage, MidiMessage, Smf, Timing, TrackEventKind};

    /// Reads back (time_s, key, velocity, channel) of every NoteOn with velocity > 0, and the tempo.
    fn read_back(bytes: &[u8]) -> (Vec<(f64, u8, u8, u8)>, f64) {
        let smf = Smf::parse(bytes).unwrap();
        let Timing::Metrical(ppq) = smf.header.timing else {
            panic!("timing")
        };
        assert_eq!(ppq.as_int(), PPQ);
        let mut us_per_q = 500_000u32;
        let mut tick = 0u64;
        let mut out = Vec::new();
        for ev in &smf.tracks[0] {
            tick += ev.delta.as_int() as u64;
            match ev.kind {
                TrackEventKind::Meta(MetaMessage::Tempo(t)) => us_per_q = t.as_int(),
                TrackEventKind::Midi {
                    channel,
                    message: MidiMessage::NoteOn { key, vel },
                } if vel.as_int() > 0 => out.push((
                    tick as f64 / ppq.as_int() as f64 * us_per_q as f64 / 1e6,
                    key.as_int(),
                    vel.as_int(),
                    channel.as_int(),
                )),
                _ => {}
            }
        }
        (out, 60e6 / us_per_q as f64)
    }

    fn capture() -> Vec<CaptureNote> {
        let mut v = Vec::new();
        for i in 0..64 {
            let t = 1.0 + i as f64 * 0.1234567;
            v.push(CaptureNote {
                time_s: t,
                lane: i % 3,
                key: [36, 38, 42][i % 3],
                velocity: (20 + i * 7 % 100) as u8,
            });
        }
        v
    }

    #[test]
    fn round_trip_all_within_one_tick() {
        let dir = std::env::temp_dir().join(format!("hitscribe-export-{}", std::process::id()));
        let path = unique_path(&dir, 1);
        let notes = capture();
        let bpm = 97.0;
        let r = export_capture(&notes, None, Some(bpm), &path).unwrap();
        assert_eq!(r.notes, notes.len());
        assert_eq!(r.bpm, bpm);
        let (back, file_bpm) = read_back(&std::fs::read(&path).unwrap());
        assert!((file_bpm - bpm).abs() < 1e-3);
        // the engine's reader agrees
        let eng = midi_file::read_smf(&path).unwrap();
        assert_eq!(eng.len(), notes.len());
        assert_eq!(back.len(), notes.len());
        let tick_s = ticks_to_seconds(1, bpm);
        for (n, b) in notes.iter().zip(&back) {
            assert!((n.time_s - b.0).abs() <= tick_s, "{} vs {}", n.time_s, b.0);
            assert_eq!((n.key, n.velocity, DRUM_CHANNEL), (b.1, b.2, b.3));
        }
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn round_trip_range_default_tempo() {
        let dir = std::env::temp_dir().join(format!("hitscribe-export-r-{}", std::process::id()));
        let path = dir.join("range.mid");
        let notes = capture();
        let range = RangeSelection::from_points(2.0, 4.0);
        let r = export_capture(&notes, Some(range), None, &path).unwrap();
        assert_eq!(r.bpm, DEFAULT_BPM);
        let expect: Vec<&CaptureNote> = notes.iter().filter(|n| range.contains(n.time_s)).collect();
        assert_eq!(r.notes, expect.len());
        let (back, _) = read_back(&std::fs::read(&path).unwrap());
        assert_eq!(back.len(), expect.len());
        for (n, b) in expect.iter().zip(&back) {
            assert!((n.time_s - 2.0 - b.0).abs() <= ticks_to_seconds(1, DEFAULT_BPM));
            assert_eq!((n.key, n.velocity), (b.1, b.2));
        }
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn simultaneous_hits_and_ticks() {
        assert_eq!(seconds_to_ticks(0.5, 120.0), 480);
        assert_eq!(seconds_to_ticks(-1.0, 120.0), 0);
        assert!((ticks_to_seconds(480, 120.0) - 0.5).abs() < 1e-12);
        let notes = [
            CaptureNote {
                time_s: 0.0,
                lane: 0,
                key: 36,
                velocity: 127,
            },
            CaptureNote {
                time_s: 0.0,
                lane: 2,
                key: 42,
                velocity: 64,
            },
        ];
        let (back, _) = read_back(&smf_bytes(&notes, 120.0).unwrap());
        assert_eq!(back.len(), 2);
    }
}
