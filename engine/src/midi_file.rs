//! Standard MIDI File writing and reading (midly). Written through a temporary file and an
//! atomic rename, so a failed write never leaves a partial file.

use std::io::Write;
use std::path::Path;

use midly::num::{u15, u24, u28, u4, u7};
use midly::{Format, Header, MetaMessage, MidiMessage, Smf, Timing, TrackEvent, TrackEventKind};

use crate::error::EngineError;

/// One note for a MIDI file.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MidiNote {
    /// Onset time in seconds.
    pub time: f64,
    /// MIDI key 0..=127.
    pub key: u8,
    /// Velocity 1..=127.
    pub velocity: u8,
    /// Channel index 0..=15 (9 = GM drums, "channel 10").
    pub channel: u8,
}

/// File layout options.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MidiOptions {
    /// Tempo written into the file (the host's when known).
    pub bpm: f64,
    /// Ticks per quarter note.
    pub ppq: u16,
    /// Note length in ticks (drums: short).
    pub note_ticks: u32,
}

impl Default for MidiOptions {
    fn default() -> Self {
        Self {
            bpm: 120.0,
            ppq: 480,
            note_ticks: 60,
        }
    }
}

/// GM drum channel index (channel 10).
pub const GM_DRUM_CHANNEL: u8 = 9;

/// Serialises notes into SMF bytes (format 0, one track).
pub fn to_bytes(notes: &[MidiNote], opt: &MidiOptions) -> Result<Vec<u8>, String> {
    if !(opt.bpm > 0.0 && opt.bpm.is_finite()) || opt.ppq == 0 || opt.ppq > 0x7fff {
        return Err("tempo and ppq must be positive".into());
    }
    let ticks_per_s = opt.bpm / 60.0 * opt.ppq as f64;
    // (tick, order, event): note-offs sort before note-ons at the same tick.
    let mut evs: Vec<(u64, u8, TrackEventKind<'static>)> = Vec::with_capacity(notes.len() * 2);
    for n in notes {
        if n.key > 127 || n.channel > 15 || !n.time.is_finite() {
            return Err(format!("note out of range: {n:?}"));
        }
        let t = (n.time.max(0.0) * ticks_per_s).round() as u64;
        let channel = u4::new(n.channel);
        let key = u7::new(n.key);
        evs.push((
            t,
            1,
            TrackEventKind::Midi {
                channel,
                message: MidiMessage::NoteOn {
                    key,
                    vel: u7::new(n.velocity.clamp(1, 127)),
                },
            },
        ));
        evs.push((
            t + opt.note_ticks.max(1) as u64,
            0,
            TrackEventKind::Midi {
                channel,
                message: MidiMessage::NoteOff {
                    key,
                    vel: u7::new(0),
                },
            },
        ));
    }
    evs.sort_by_key(|e| (e.0, e.1));
    let tempo = (60_000_000.0 / opt.bpm).round().clamp(1.0, 16_777_215.0) as u32;
    let mut track = vec![
        TrackEvent {
            delta: u28::new(0),
            kind: TrackEventKind::Meta(MetaMessage::TrackName(b"Hitscribe drums")),
        },
        TrackEvent {
            delta: u28::new(0),
            kind: TrackEventKind::Meta(MetaMessage::Tempo(u24::new(tempo))),
        },
        TrackEvent {
            delta: u28::new(0),
            kind: TrackEventKind::Meta(MetaMessage::TimeSignature(4, 2, 24, 8)),
        },
    ];
    let mut last = 0u64;
    for (t, _, kind) in evs {
        let delta = u32::try_from(t - last).map_err(|_| "file too long")?;
        if delta > 0x0fff_ffff {
            return Err("gap between notes too long for MIDI".into());
        }
        track.push(TrackEvent {
            delta: u28::new(delta),
            kind,
        });
        last = t;
    }
    track.push(TrackEvent {
        delta: u28::new(0),
        kind: TrackEventKind::Meta(MetaMessage::EndOfTrack),
    });
    let smf = Smf {
        header: Header::new(Format::SingleTrack, Timing::Metrical(u15::new(opt.ppq))),
        tracks: vec![track],
    };
    let mut bytes = Vec::new();
    smf.write_std(&mut bytes).map_err(|e| e.to_string())?;
    Ok(bytes)
}

/// Writes `bytes` to `path` atomically (temporary file in the same folder, then rename).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), EngineError> {
    let io = |source| EngineError::Io {
        path: path.to_path_buf(),
        source,
    };
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let mut builder = tempfile::Builder::new();
    builder.prefix(".hitscribe-").suffix(".part");
    // A normal user file (0644 before umask), not the temporary file's private 0600: the
    // MIDI file is meant to be dragged into a DAW or shared.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(0o644));
    }
    let mut tmp = builder.tempfile_in(dir).map_err(io)?;
    tmp.write_all(bytes).map_err(io)?;
    tmp.as_file().sync_all().map_err(io)?;
    tmp.persist(path).map_err(|e| io(e.error))?;
    Ok(())
}

/// Writes a Standard MIDI File.
pub fn write_smf(path: &Path, notes: &[MidiNote], opt: &MidiOptions) -> Result<(), EngineError> {
    let bytes = to_bytes(notes, opt).map_err(|reason| EngineError::Midi {
        path: path.to_path_buf(),
        reason,
    })?;
    write_atomic(path, &bytes)
}

/// Reads the note-ons (velocity > 0) of a Standard MIDI File, honouring tempo changes.
pub fn read_smf(path: &Path) -> Result<Vec<MidiNote>, EngineError> {
    let bytes = std::fs::read(path).map_err(|source| EngineError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    parse_smf(&bytes).map_err(|reason| EngineError::Midi {
        path: path.to_path_buf(),
        reason,
    })
}

/// Parses SMF bytes into note-ons sorted by time.
pub fn parse_smf(bytes: &[u8]) -> Result<Vec<MidiNote>, String> {
    let smf = Smf::parse(bytes).map_err(|e| e.to_string())?;
    let ppq = match smf.header.timing {
        Timing::Metrical(t) => t.as_int() as f64,
        Timing::Timecode(..) => return Err("SMPTE timing is not supported".into()),
    };
    // Tempo map from all tracks: (tick, microseconds per quarter).
    let mut tempos: Vec<(u64, f64)> = Vec::new();
    for track in &smf.tracks {
        let mut tick = 0u64;
        for ev in track {
            tick += ev.delta.as_int() as u64;
            if let TrackEventKind::Meta(MetaMessage::Tempo(t)) = ev.kind {
                tempos.push((tick, t.as_int() as f64));
            }
        }
    }
    tempos.sort_by_key(|t| t.0);
    let to_seconds = |tick: u64| {
        let (mut secs, mut last_tick, mut us) = (0.0, 0u64, 500_000.0);
        for &(t, tempo) in tempos.iter().take_while(|t| t.0 <= tick) {
            secs += (t - last_tick) as f64 * us / ppq / 1e6;
            last_tick = t;
            us = tempo;
        }
        secs + (tick - last_tick) as f64 * us / ppq / 1e6
    };
    let mut notes = Vec::new();
    for track in &smf.tracks {
        let mut tick = 0u64;
        for ev in track {
            tick += ev.delta.as_int() as u64;
            if let TrackEventKind::Midi {
                channel,
                message: MidiMessage::NoteOn { key, vel },
            } = ev.kind
            {
                if vel.as_int() > 0 {
                    notes.push(MidiNote {
                        time: to_seconds(tick),
                        key: key.as_int(),
                        velocity: vel.as_int(),
                        channel: channel.as_int(),
                    });
                }
            }
        }
    }
    notes.sort_by(|a, b| a.time.total_cmp(&b.time));
    Ok(notes)
}
