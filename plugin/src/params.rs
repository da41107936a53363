//! The plugin's parameters (automatable, saved with the session) and persisted non-parameter state.

use std::sync::{Arc, RwLock};

use nice_plug::prelude::*;

use crate::shared::{CaptureData, CaptureStore, DRUM_NAMES, NUM_DRUMS};

/// Version of the plugin's persisted state layout; bump it and extend
/// [`migrate_state`] whenever parameter IDs, ranges or persisted fields change meaning.
pub const STATE_VERSION: u32 = 1;

/// Key of the persisted state-version field.
pub const STATE_VERSION_KEY: &str = "state-version";

/// Execution device for the model.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceParam {
    /// CUDA when available, else CPU.
    #[id = "auto"]
    Auto,
    /// CPU only.
    #[id = "cpu"]
    #[name = "CPU"]
    Cpu,
    /// CUDA (falls back to CPU with a reason shown in the status when unavailable).
    #[id = "cuda"]
    #[name = "CUDA"]
    Cuda,
}

impl From<DeviceParam> for hitscribe_engine::DeviceRequest {
    fn from(v: DeviceParam) -> Self {
        match v {
            DeviceParam::Auto => Self::Auto,
            DeviceParam::Cpu => Self::Cpu,
            DeviceParam::Cuda => Self::Cuda,
        }
    }
}

/// Per-drum parameters. IDs are prefixed by the drum (`kick_threshold`, `snare_note`, ...).
#[derive(Params)]
pub struct DrumParams {
    /// Whether this drum produces notes.
    #[id = "enabled"]
    pub enabled: BoolParam,
    /// Onset probability threshold 0.01..0.99.
    #[id = "threshold"]
    pub threshold: FloatParam,
    /// Minimum time between two notes of this drum, in ms.
    #[id = "retrigger"]
    pub retrigger_ms: FloatParam,
    /// Velocity of the softest hit (1..127).
    #[id = "vel_min"]
    pub velocity_min: IntParam,
    /// Velocity of the loudest hit (1..127).
    #[id = "vel_max"]
    pub velocity_max: IntParam,
    /// Velocity curve shape -1..1: 0 linear, > 0 exponential (soft hits softer), < 0
    /// logarithmic (soft hits louder); the curve is `v ^ (4 ^ shape)`.
    #[id = "vel_shape"]
    pub velocity_shape: FloatParam,
    /// MIDI key sent for this drum.
    #[id = "note"]
    pub note: IntParam,
    /// MIDI channel 1..16 sent for this drum.
    #[id = "channel"]
    pub channel: IntParam,
}

/// Default MIDI keys (General MIDI drum map): kick 36, snare 38, closed hi-hat 42.
pub const DEFAULT_NOTES: [i32; NUM_DRUMS] = [36, 38, 42];
/// Default thresholds (the model contract's defaults for v1).
pub const DEFAULT_THRESHOLDS: [f32; NUM_DRUMS] = [0.5, 0.5, 0.5];
/// Default retrigger times in ms (the model contract's defaults for v1).
pub const DEFAULT_RETRIGGER_MS: [f32; NUM_DRUMS] = [40.0, 40.0, 30.0];
/// Default MIDI channel (1-based; 10 = GM drums).
pub const DEFAULT_CHANNEL: i32 = 10;

impl DrumParams {
    /// Parameters for drum `idx` (0 = kick, 1 = snare, 2 = hi-hat).
    pub fn new(idx: usize) -> Self {
        let name = DRUM_NAMES[idx];
        Self {
            enabled: BoolParam::new(format!("{name} On"), true),
            threshold: FloatParam::new(
                format!("{name} Threshold"),
                DEFAULT_THRESHOLDS[idx],
                FloatRange::Linear {
                    min: 0.01,
                    max: 0.99,
                },
            )
            .with_step_size(0.01),
            retrigger_ms: FloatParam::new(
                format!("{name} Retrigger"),
                DEFAULT_RETRIGGER_MS[idx],
                FloatRange::Skewed {
                    min: 5.0,
                    max: 500.0,
                    factor: FloatRange::skew_factor(-1.0),
                },
            )
            .with_unit(" ms")
            .with_step_size(1.0),
            velocity_min: IntParam::new(
                format!("{name} Velocity Min"),
                1,
                IntRange::Linear { min: 1, max: 127 },
            ),
            velocity_max: IntParam::new(
                format!("{name} Velocity Max"),
                127,
                IntRange::Linear { min: 1, max: 127 },
            ),
            velocity_shape: FloatParam::new(
                format!("{name} Velocity Curve"),
                0.0,
                FloatRange::Linear {
                    min: -1.0,
                    max: 1.0,
                },
            )
            .with_step_size(0.01),
            note: IntParam::new(
                format!("{name} Note"),
                DEFAULT_NOTES[idx],
                IntRange::Linear { min: 0, max: 127 },
            ),
            channel: IntParam::new(
                format!("{name} Channel"),
                DEFAULT_CHANNEL,
                IntRange::Linear { min: 1, max: 16 },
            ),
        }
    }

    /// The engine's class settings for the current parameter values.
    pub fn class_settings(&self) -> hitscribe_engine::ClassSettings {
        let (a, b) = (
            self.velocity_min.value() as u8,
            self.velocity_max.value() as u8,
        );
        hitscribe_engine::ClassSettings {
            enabled: self.enabled.value(),
            threshold: self.threshold.value(),
            retrigger_ms: self.retrigger_ms.value(),
            velocity_min: a.min(b),
            velocity_max: a.max(b),
            velocity_shape: self.velocity_shape.value(),
        }
    }
}

/// All parameters plus persisted non-parameter state.
#[derive(Params)]
pub struct HitscribeParams {
    /// Kick parameters (IDs `kick_*`).
    #[nested(id_prefix = "kick", group = "Kick")]
    pub kick: DrumParams,
    /// Snare parameters (IDs `snare_*`).
    #[nested(id_prefix = "snare", group = "Snare")]
    pub snare: DrumParams,
    /// Hi-hat parameters (IDs `hihat_*`).
    #[nested(id_prefix = "hihat", group = "Hi-hat")]
    pub hihat: DrumParams,
    /// Global sensitivity 0..1 (0.5 neutral; higher = more notes). Scales all thresholds.
    #[id = "sensitivity"]
    pub sensitivity: FloatParam,
    /// Timing offset in ms added to every note (negative = earlier, limited by the worker margin).
    #[id = "timing_offset"]
    pub timing_offset_ms: FloatParam,
    /// Execution device; a change takes effect at the next activation (the plugin asks the host for a restart).
    #[id = "device"]
    pub device: EnumParam<DeviceParam>,
    /// Run the model on every 10 ms hop instead of every second hop: one hop (10 ms) less
    /// latency for about twice the model's CPU time. Takes effect at the next activation,
    /// like the device (the plugin asks the host for a restart).
    #[id = "low_latency"]
    pub low_latency: BoolParam,
    /// Model file override (absolute path); `None` = the bundled/default model.
    #[persist = "model-path"]
    pub model_path: RwLock<Option<String>>,
    /// The capture (notes on the plugin's own timeline).
    #[persist = "capture"]
    pub capture: Arc<CaptureStore>,
    /// Layout version of this state, see [`STATE_VERSION`].
    #[persist = "state-version"]
    pub state_version: RwLock<u32>,
    /// Editor window size (not persisted: `EguiEditorState` has no serde implementation).
    #[cfg(feature = "gui")]
    pub editor_state: Arc<nice_plug_egui::EguiEditorState>,
}

impl HitscribeParams {
    /// Parameters with defaults, persisting into the given capture store.
    pub fn new(capture: Arc<CaptureStore>) -> Self {
        Self {
            kick: DrumParams::new(0),
            snare: DrumParams::new(1),
            hihat: DrumParams::new(2),
            sensitivity: FloatParam::new(
                "Sensitivity",
                0.5,
                FloatRange::Linear { min: 0.0, max: 1.0 },
            )
            .with_step_size(0.01),
            timing_offset_ms: FloatParam::new(
                "Timing Offset",
                0.0,
                FloatRange::Linear {
                    min: -50.0,
                    max: 50.0,
                },
            )
            .with_unit(" ms")
            .with_step_size(0.1),
            device: EnumParam::new("Device", DeviceParam::Auto),
            low_latency: BoolParam::new("Low Latency", false),
            model_path: RwLock::new(None),
            capture,
            state_version: RwLock::new(STATE_VERSION),
            #[cfg(feature = "gui")]
            editor_state: crate::editor::default_state(),
        }
    }

    /// The per-drum parameters in model class order.
    pub fn drums(&self) -> [&DrumParams; NUM_DRUMS] {
        [&self.kick, &self.snare, &self.hihat]
    }

    /// Hops the engine runs per model call for the current "Low Latency" setting.
    pub fn hops_per_call(&self) -> usize {
        if self.low_latency.value() {
            1
        } else {
            hitscribe_engine::DEFAULT_HOPS_PER_CALL
        }
    }

    /// The model path override, if any (locks briefly; not for the audio thread).
    pub fn model_path_override(&self) -> Option<String> {
        self.model_path.read().map(|p| p.clone()).unwrap_or(None)
    }
}

/// Migrate a saved state to [`STATE_VERSION`] before it is loaded (called by `Plugin::filter_state`).
///
/// States without a version field predate versioning and are treated as version 1 (the layout did
/// not change before the field existed). A capture in an unreadable format is dropped instead of
/// failing the whole load; unknown fields are left alone (the loader ignores them).
pub fn migrate_state(state: &mut nice_plug::prelude::PluginState) {
    let version: u32 = state
        .fields
        .get(STATE_VERSION_KEY)
        .and_then(|v| serde_json::from_str(v).ok())
        .unwrap_or(1);
    if version > STATE_VERSION {
        nice_plug::nice_warn!(
            "state written by a newer Hitscribe (state version {version}); loading what this version understands"
        );
    }
    if let Some(capture) = state.fields.get("capture")
        && serde_json::from_str::<CaptureData>(capture).is_err()
    {
        nice_plug::nice_warn!("dropping an unreadable capture from the saved state");
        state.fields.remove("capture");
    }
    state.fields.insert(
        STATE_VERSION_KEY.to_string(),
        serde_json::to_string(&STATE_VERSION).expect("u32 serializes"),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn param_ids_are_unique_and_prefixed() {
        let p = HitscribeParams::new(Arc::new(CaptureStore::default()));
        let map = p.param_map();
        let ids: Vec<&str> = map.iter().map(|(id, _, _)| id.as_str()).collect();
        for id in [
            "kick_threshold",
            "snare_note",
            "hihat_channel",
            "kick_vel_shape",
            "sensitivity",
            "timing_offset",
            "device",
            "low_latency",
        ] {
            assert!(ids.contains(&id), "missing param id {id}: {ids:?}");
        }
        let mut sorted = ids.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), ids.len());
        assert_eq!(p.snare.note.value(), 38);
        assert_eq!(p.hihat.channel.value(), 10);
    }

    #[test]
    fn migration_sets_version_and_drops_bad_capture() {
        let mut state = PluginState {
            version: "0.1.0".into(),
            params: Default::default(),
            fields: Default::default(),
        };
        state.fields.insert("capture".into(), "not json".into());
        migrate_state(&mut state);
        assert!(!state.fields.contains_key("capture"));
        assert_eq!(state.fields[STATE_VERSION_KEY], "1");
    }

    #[test]
    fn class_settings_orders_velocity_range() {
        let p = HitscribeParams::new(Arc::new(CaptureStore::default()));
        let s = p.kick.class_settings();
        assert!(s.enabled);
        assert_eq!((s.velocity_min, s.velocity_max), (1, 127));
        assert!((s.threshold - 0.5).abs() < 1e-6);
    }
}
