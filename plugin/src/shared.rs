//! State shared between the audio thread, the inference worker, the main thread and the editor.
//!
//! Everything here is safe to touch from the audio thread *only* through the documented lock-free
//! entry points (atomics and the preallocated [`ArrayQueue`]s). Methods that lock a mutex say so and
//! must only be called from the worker, the main thread or the editor. See
//! `docs/plugin-shared-state.md` for the overview.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU8, AtomicU32, AtomicU64, Ordering};

use arc_swap::ArcSwap;
use crossbeam_queue::ArrayQueue;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// Number of drum classes the plugin exposes (kick, snare, hi-hat), in model class order.
pub const NUM_DRUMS: usize = 3;

/// Human-readable drum names, in model class order.
pub const DRUM_NAMES: [&str; NUM_DRUMS] = ["Kick", "Snare", "Hi-hat"];

/// Onset activations per class carried by an [`ActivationSnapshot`] (the engine's `MAX_CLASSES`).
pub const MAX_ACTIVATION_CLASSES: usize = hitscribe_engine::MAX_CLASSES;

/// Capacity of the audio-thread -> store queue of freshly captured notes.
pub const CAPTURE_QUEUE_CAPACITY: usize = 4096;

/// Most notes the capture keeps; the oldest are dropped beyond this (tens of minutes of drumming).
pub const CAPTURE_MAX_NOTES: usize = 200_000;

/// Capacity of the worker -> editor activation queue (one frame per model hop, about 40 s at 10 ms).
pub const ACTIVATION_QUEUE_CAPACITY: usize = 4096;

/// Version of the persisted capture format (inside [`CaptureData::version`]).
pub const CAPTURE_FORMAT_VERSION: u32 = 1;

/// One detected note placed on the plugin's own timeline.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CapturedNote {
    /// Position on the host timeline in samples at [`CaptureData::sample_rate`]: the transport
    /// position at which the note was emitted minus the plugin's reported latency, i.e. where the
    /// hit is in the (uncompensated) source audio. If the host gives no transport position, the
    /// plugin's own stream position (samples since activation) is used instead.
    pub timeline_sample: i64,
    /// Drum class index (0 = kick, 1 = snare, 2 = hi-hat).
    pub drum: u8,
    /// MIDI key the note was sent with.
    pub key: u8,
    /// MIDI channel the note was sent with, 0-based (0..=15; the parameter shows 1..=16).
    pub channel: u8,
    /// MIDI velocity 1..=127.
    pub velocity: u8,
    /// True if the host reported a transport position for this note (false: stream position).
    pub on_transport: bool,
}

/// The persisted part of the capture (serialized with the plugin state under key `capture`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaptureData {
    /// Format version, [`CAPTURE_FORMAT_VERSION`] when written by this build.
    pub version: u32,
    /// Sample rate the `timeline_sample` values are expressed in (0 until the first activation).
    pub sample_rate: f64,
    /// Notes in capture order (time order per playback pass; a loop or seek starts over).
    pub notes: Vec<CapturedNote>,
}

impl Default for CaptureData {
    fn default() -> Self {
        Self {
            version: CAPTURE_FORMAT_VERSION,
            sample_rate: 0.0,
            notes: Vec::new(),
        }
    }
}

/// The capture: a lock-free inbox fed by the audio thread plus the locked store the editor reads.
pub struct CaptureStore {
    inbox: ArrayQueue<CapturedNote>,
    data: Mutex<CaptureData>,
    /// Sequence number of `data.notes[0]` (notes trimmed from the front still count).
    first_seq: AtomicU64,
    generation: AtomicU64,
    epoch: AtomicU64,
    dropped: AtomicU64,
}

impl Default for CaptureStore {
    fn default() -> Self {
        Self {
            inbox: ArrayQueue::new(CAPTURE_QUEUE_CAPACITY),
            data: Mutex::new(CaptureData::default()),
            first_seq: AtomicU64::new(0),
            generation: AtomicU64::new(0),
            epoch: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
        }
    }
}

impl CaptureStore {
    /// Audio thread: queue a captured note. Lock-free and allocation-free; if the inbox is full
    /// (nobody drained it for a long time) the note is dropped and counted.
    pub fn push_from_audio(&self, note: CapturedNote) {
        if self.inbox.push(note).is_err() {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Worker/editor/main thread (locks): move queued notes into the store. Returns how many moved.
    pub fn drain_inbox(&self) -> usize {
        if self.inbox.is_empty() {
            return 0;
        }
        let mut data = self.data.lock().unwrap_or_else(|e| e.into_inner());
        let mut n = 0;
        while let Some(note) = self.inbox.pop() {
            data.notes.push(note);
            n += 1;
        }
        if data.notes.len() > CAPTURE_MAX_NOTES {
            let excess = data.notes.len() - CAPTURE_MAX_NOTES;
            data.notes.drain(..excess);
            self.first_seq.fetch_add(excess as u64, Ordering::Release);
        }
        drop(data);
        if n > 0 {
            self.generation.fetch_add(1, Ordering::Release);
        }
        n
    }

    /// Editor (locks): drain the inbox, then run `f` on the current capture.
    pub fn with_data<R>(&self, f: impl FnOnce(&CaptureData) -> R) -> R {
        self.drain_inbox();
        let data = self.data.lock().unwrap_or_else(|e| e.into_inner());
        f(&data)
    }

    /// Editor (locks): append the notes with sequence number >= `since` to `out` (converted by
    /// `f`) and return the next sequence number. Sequence numbers count every note stored since
    /// the last [`epoch`](Self::epoch) change; notes trimmed from the front keep their numbers.
    pub fn notes_since<T>(
        &self,
        since: u64,
        out: &mut Vec<T>,
        mut f: impl FnMut(&CaptureData, &CapturedNote) -> T,
    ) -> u64 {
        self.drain_inbox();
        let data = self.data.lock().unwrap_or_else(|e| e.into_inner());
        let first = self.first_seq.load(Ordering::Acquire);
        let skip = since.saturating_sub(first) as usize;
        for n in data.notes.iter().skip(skip) {
            out.push(f(&data, n));
        }
        first + data.notes.len() as u64
    }

    /// Changes whenever the capture is replaced (cleared, loaded from state, rescaled):
    /// readers then start over from sequence number 0.
    pub fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::Acquire)
    }

    /// Editor (locks): a copy of all captured notes.
    pub fn notes(&self) -> Vec<CapturedNote> {
        self.with_data(|d| d.notes.clone())
    }

    /// Editor (locks): forget all captured notes (the "clear" button).
    pub fn clear(&self) {
        while self.inbox.pop().is_some() {}
        let mut data = self.data.lock().unwrap_or_else(|e| e.into_inner());
        data.notes.clear();
        self.first_seq.store(0, Ordering::Release);
        drop(data);
        self.epoch.fetch_add(1, Ordering::Release);
        self.generation.fetch_add(1, Ordering::Release);
    }

    /// Main thread (locks): record the sample rate the timeline is counted in. If it changes,
    /// existing notes are rescaled so they keep their position in seconds.
    pub fn set_sample_rate(&self, sample_rate: f64) {
        self.drain_inbox();
        let mut data = self.data.lock().unwrap_or_else(|e| e.into_inner());
        if data.sample_rate > 0.0 && data.sample_rate != sample_rate && !data.notes.is_empty() {
            let ratio = sample_rate / data.sample_rate;
            for n in &mut data.notes {
                n.timeline_sample = (n.timeline_sample as f64 * ratio).round() as i64;
            }
            self.epoch.fetch_add(1, Ordering::Release);
            self.generation.fetch_add(1, Ordering::Release);
        }
        data.sample_rate = sample_rate;
    }

    /// Counter that changes whenever the stored capture changes (cheap "needs redraw" check).
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Notes lost because the inbox was full.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    fn replace(&self, mut new: CaptureData) {
        while self.inbox.pop().is_some() {}
        if new.version == 0 {
            new.version = CAPTURE_FORMAT_VERSION;
        }
        let mut data = self.data.lock().unwrap_or_else(|e| e.into_inner());
        *data = new;
        self.first_seq.store(0, Ordering::Release);
        drop(data);
        self.epoch.fetch_add(1, Ordering::Release);
        self.generation.fetch_add(1, Ordering::Release);
    }
}

impl<'a> nice_plug::params::persist::PersistentField<'a, CaptureData> for Arc<CaptureStore> {
    fn set(&self, new_value: CaptureData) {
        self.replace(new_value);
    }

    fn map<F, R>(&self, f: F) -> R
    where
        F: Fn(&CaptureData) -> R,
    {
        self.with_data(|d| f(d))
    }
}

/// Onset activations of one model frame, for the editor's threshold-tuning curves.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ActivationSnapshot {
    /// Position of the frame in the plugin's input stream (samples at the host rate since activation).
    pub stream_sample: u64,
    /// Estimated position on the host timeline (same convention as [`CapturedNote::timeline_sample`]),
    /// from the latest stream-to-transport mapping the audio thread published.
    pub timeline_sample: i64,
    /// Onset probability per class (only the first [`NUM_DRUMS`] are meaningful for this model).
    pub onset: [f32; MAX_ACTIVATION_CLASSES],
}

/// Where the worker's engine is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum EngineState {
    /// Not activated yet (or deactivated).
    Idle = 0,
    /// The worker is loading the model.
    Loading = 1,
    /// The engine runs; notes are produced.
    Running = 2,
    /// Loading failed: audio passes through, no notes. See [`StatusInfo::error`].
    Failed = 3,
}

impl EngineState {
    fn from_u8(v: u8) -> Self {
        match v {
            1 => Self::Loading,
            2 => Self::Running,
            3 => Self::Failed,
            _ => Self::Idle,
        }
    }
}

/// Text part of the status (changes rarely; published as a whole snapshot).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StatusInfo {
    /// Model name from the model contract, empty when no model is loaded.
    pub model_name: String,
    /// Model file in use.
    pub model_path: String,
    /// Execution provider in use: "CPU" or "CUDA" (empty when not running).
    pub provider: String,
    /// Why CUDA was not used when it was requested (None if not requested or in use).
    pub provider_reason: Option<String>,
    /// ONNX Runtime library in use.
    pub runtime_path: String,
    /// The error that stopped the engine, in plain words with what to do (None when fine).
    pub error: Option<String>,
}

/// Live status counters and the text status snapshot. All counters are atomics (lock-free).
pub struct PluginStatus {
    state: AtomicU8,
    /// Host sample rate of the current activation, f32 bits.
    sample_rate_bits: AtomicU32,
    /// Total latency reported to the host (engine + worker margin), in host samples.
    pub latency_samples: AtomicU32,
    /// The engine's own latency, in host samples.
    pub engine_latency_samples: AtomicU32,
    /// Notes emitted after their due time in real-time mode (the worker was too slow).
    pub late_notes: AtomicU64,
    /// Notes emitted in total since the plugin was created.
    pub notes_emitted: AtomicU64,
    /// Notes the worker could not hand to the audio thread (queue full) or the audio thread could not schedule.
    pub dropped_notes: AtomicU64,
    /// Input samples dropped because the worker fell more than the ring's length behind.
    pub dropped_input_samples: AtomicU64,
    /// Input samples the worker has processed in the current activation.
    pub samples_processed: AtomicU64,
    /// Worker load: processing time / audio time, smoothed, f32 bits (1.0 = 100 % of real time).
    worker_load_bits: AtomicU32,
    /// Set when an offline render gave up waiting for a stuck worker.
    pub worker_stalled: AtomicBool,
    /// Latest mapping from stream position to timeline: `timeline = stream + offset` (written by the audio thread).
    pub timeline_offset: AtomicI64,
    /// Host transport rolling (written by the audio thread every block).
    pub transport_playing: AtomicBool,
    /// Capture-timeline position of "now" (transport position minus latency), `i64::MIN` when unknown.
    pub transport_timeline_pos: AtomicI64,
    /// Host tempo in BPM as f64 bits, 0 when unknown.
    pub tempo_bits: AtomicU64,
    /// Host time signature packed as `numerator << 16 | denominator`, 0 when unknown.
    pub time_sig: AtomicU32,
    info: ArcSwap<StatusInfo>,
}

impl Default for PluginStatus {
    fn default() -> Self {
        Self {
            state: AtomicU8::new(EngineState::Idle as u8),
            sample_rate_bits: AtomicU32::new(0),
            latency_samples: AtomicU32::new(0),
            engine_latency_samples: AtomicU32::new(0),
            late_notes: AtomicU64::new(0),
            notes_emitted: AtomicU64::new(0),
            dropped_notes: AtomicU64::new(0),
            dropped_input_samples: AtomicU64::new(0),
            samples_processed: AtomicU64::new(0),
            worker_load_bits: AtomicU32::new(0),
            worker_stalled: AtomicBool::new(false),
            timeline_offset: AtomicI64::new(0),
            transport_playing: AtomicBool::new(false),
            transport_timeline_pos: AtomicI64::new(i64::MIN),
            tempo_bits: AtomicU64::new(0),
            time_sig: AtomicU32::new(0),
            info: ArcSwap::from_pointee(StatusInfo::default()),
        }
    }
}

impl PluginStatus {
    /// Current engine state.
    pub fn state(&self) -> EngineState {
        EngineState::from_u8(self.state.load(Ordering::Acquire))
    }

    /// Set the engine state (worker/main thread).
    pub fn set_state(&self, state: EngineState) {
        self.state.store(state as u8, Ordering::Release);
    }

    /// Host sample rate of the current activation (0 before the first activation).
    pub fn sample_rate(&self) -> f32 {
        f32::from_bits(self.sample_rate_bits.load(Ordering::Relaxed))
    }

    /// Record the host sample rate.
    pub fn set_sample_rate(&self, sr: f32) {
        self.sample_rate_bits.store(sr.to_bits(), Ordering::Relaxed);
    }

    /// Total reported latency in milliseconds.
    pub fn latency_ms(&self) -> f64 {
        let sr = self.sample_rate() as f64;
        if sr > 0.0 {
            self.latency_samples.load(Ordering::Relaxed) as f64 * 1000.0 / sr
        } else {
            0.0
        }
    }

    /// Worker load as a fraction of real time (0.05 = 5 %).
    pub fn worker_load(&self) -> f32 {
        f32::from_bits(self.worker_load_bits.load(Ordering::Relaxed))
    }

    /// Publish the worker load (worker thread).
    pub fn set_worker_load(&self, load: f32) {
        self.worker_load_bits
            .store(load.to_bits(), Ordering::Relaxed);
    }

    /// Lock-free snapshot of the text status.
    pub fn info(&self) -> Arc<StatusInfo> {
        self.info.load_full()
    }

    /// Replace the text status (worker/main thread; allocates).
    pub fn set_info(&self, info: StatusInfo) {
        self.info.store(Arc::new(info));
    }
}

/// Everything shared between the plugin object, its worker and its editor.
pub struct SharedState {
    /// Engine status and counters.
    pub status: PluginStatus,
    /// The capture (also persisted through the params struct, which holds the same `Arc`).
    pub capture: Arc<CaptureStore>,
    /// Onset activations, newest last; the worker drops the oldest when the editor does not drain.
    pub activations: ArrayQueue<ActivationSnapshot>,
}

impl Default for SharedState {
    fn default() -> Self {
        Self {
            status: PluginStatus::default(),
            capture: Arc::new(CaptureStore::default()),
            activations: ArrayQueue::new(ACTIVATION_QUEUE_CAPACITY),
        }
    }
}

impl SharedState {
    /// Editor: take all pending activation frames (oldest first) into `out`.
    pub fn drain_activations(&self, out: &mut Vec<ActivationSnapshot>) {
        while let Some(a) = self.activations.pop() {
            out.push(a);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nice_plug::params::persist::PersistentField;

    fn note(t: i64) -> CapturedNote {
        CapturedNote {
            timeline_sample: t,
            drum: 1,
            key: 38,
            channel: 9,
            velocity: 100,
            on_transport: true,
        }
    }

    #[test]
    fn capture_roundtrip_through_persist_field() {
        let store = Arc::new(CaptureStore::default());
        store.set_sample_rate(48000.0);
        store.push_from_audio(note(10));
        store.push_from_audio(note(20));
        let json = PersistentField::map(&store, |d| serde_json::to_string(d).unwrap());
        let other = Arc::new(CaptureStore::default());
        PersistentField::set(&other, serde_json::from_str::<CaptureData>(&json).unwrap());
        assert_eq!(other.notes(), vec![note(10), note(20)]);
        assert_eq!(other.with_data(|d| d.sample_rate), 48000.0);
    }

    #[test]
    fn capture_sequence_numbers_and_epoch() {
        let store = CaptureStore::default();
        store.push_from_audio(note(1));
        store.push_from_audio(note(2));
        let mut out = vec![];
        let next = store.notes_since(0, &mut out, |_, n| n.timeline_sample);
        assert_eq!((next, out.clone()), (2, vec![1, 2]));
        store.push_from_audio(note(3));
        out.clear();
        assert_eq!(
            store.notes_since(next, &mut out, |_, n| n.timeline_sample),
            3
        );
        assert_eq!(out, vec![3]);
        let e = store.epoch();
        store.clear();
        assert_eq!(store.epoch(), e + 1);
    }

    #[test]
    fn capture_rescales_on_rate_change_and_clears() {
        let store = CaptureStore::default();
        store.set_sample_rate(48000.0);
        store.push_from_audio(note(48000));
        store.set_sample_rate(44100.0);
        assert_eq!(store.notes()[0].timeline_sample, 44100);
        let g = store.generation();
        store.clear();
        assert!(store.notes().is_empty());
        assert!(store.generation() > g);
    }

    #[test]
    fn status_snapshot_and_state() {
        let s = PluginStatus::default();
        assert_eq!(s.state(), EngineState::Idle);
        s.set_state(EngineState::Failed);
        s.set_info(StatusInfo {
            error: Some("model missing".into()),
            ..Default::default()
        });
        assert_eq!(s.state(), EngineState::Failed);
        assert_eq!(s.info().error.as_deref(), Some("model missing"));
        s.set_sample_rate(48000.0);
        s.latency_samples.store(4800, Ordering::Relaxed);
        assert!((s.latency_ms() - 100.0).abs() < 1e-9);
    }
}
