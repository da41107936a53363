//! The editor's view of the plugin: the [`EditorHost`] trait the plugin shell implements, and the
//! plain data types that cross from the plugin's shared state into the editor.
//!
//! See `docs/editor-api.md`. Everything here is called on the GUI thread; implementations must
//! never take a lock the audio thread also takes.

use nice_plug::prelude::FloatParam;

/// Maximum number of drum lanes (equals the engine's `MAX_CLASSES`).
pub const MAX_LANES: usize = 8;

/// Static description of one drum lane.
#[derive(Debug, Clone, PartialEq)]
pub struct LaneInfo {
    /// Display name ("kick", "snare", "hihat").
    pub name: String,
    /// General MIDI drum note of the class (36 kick, 38 snare, 42 closed hi-hat).
    pub gm_note: u8,
}

/// One detected note on the plugin's capture timeline (transport position minus latency).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CaptureNote {
    /// Seconds on the capture timeline.
    pub time_s: f64,
    /// Lane (class) index.
    pub lane: usize,
    /// MIDI key that was sent.
    pub key: u8,
    /// MIDI velocity that was sent, 1..=127.
    pub velocity: u8,
}

/// One frame of onset activations on the capture timeline.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ActivationPoint {
    /// Seconds on the capture timeline.
    pub time_s: f64,
    /// Onset probability per lane, 0..1 (unused lanes are 0).
    pub onset: [f32; MAX_LANES],
}

/// Host transport as last seen by the audio thread.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct TransportInfo {
    /// Whether the host transport is rolling.
    pub playing: bool,
    /// Capture-timeline position of "now", when known.
    pub position_s: Option<f64>,
    /// Host tempo in BPM, when known.
    pub tempo_bpm: Option<f64>,
    /// Host time signature (numerator, denominator), when known.
    pub time_sig: Option<(u32, u32)>,
}

/// Engine and worker status for the status panel.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StatusInfo {
    /// Name of the loaded model.
    pub model_name: Option<String>,
    /// Execution provider in use: "CPU" or "CUDA".
    pub provider: Option<String>,
    /// Why this provider (for example why CUDA was not used).
    pub provider_reason: Option<String>,
    /// Total latency reported to the host, in milliseconds.
    pub latency_ms: Option<f64>,
    /// Worker load as a fraction of real time (0.25 = 25 %).
    pub worker_load: Option<f32>,
    /// Notes that reached the audio thread too late to be placed exactly.
    pub late_notes: u64,
    /// Current error as one plain sentence that says what to do.
    pub error: Option<String>,
    /// Host sample rate, when active.
    pub sample_rate: Option<f64>,
}

/// What the editor needs from the plugin shell. Implemented by the plugin (see
/// `docs/editor-api.md`); all methods run on the GUI thread and must not block the audio thread.
pub trait EditorHost: Send + Sync + 'static {
    /// The drum lanes, in class order.
    fn lanes(&self) -> Vec<LaneInfo>;
    /// The automatable threshold parameter (0..1) of a lane, if it has one.
    fn threshold_param(&self, lane: usize) -> Option<&FloatParam>;
    /// Appends the notes with sequence number >= `since` to `out` and returns the next sequence
    /// number. Sequence numbers are monotonic for the life of the plugin instance.
    fn capture_notes_since(&self, since: u64, out: &mut Vec<CaptureNote>) -> u64;
    /// Changes whenever the capture is replaced (cleared, state loaded); the editor then resyncs.
    fn capture_epoch(&self) -> u64;
    /// Moves the activation frames produced since the last call into `out`.
    fn drain_activations(&self, out: &mut Vec<ActivationPoint>);
    /// Clears the plugin's capture store.
    fn clear_capture(&self);
    /// Current host transport.
    fn transport(&self) -> TransportInfo;
    /// Current engine status.
    fn status(&self) -> StatusInfo;
    /// Factor from a lane's threshold parameter to the threshold the engine applies (the global
    /// sensitivity scales all thresholds: `2^((0.5 - sensitivity) * 2)`). The curve's threshold
    /// line and the preview use `param * scale`, clamped to 0.01..0.99.
    fn threshold_scale(&self) -> f32 {
        1.0
    }
    /// Retrigger (hold) time of a lane in milliseconds, used by the threshold preview.
    fn retrigger_ms(&self, lane: usize) -> f32 {
        let _ = lane;
        40.0
    }
}
