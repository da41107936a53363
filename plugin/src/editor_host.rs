//! The plugin's implementation of the editor's [`EditorHost`] trait over [`SharedState`].
//! GUI thread only; never touches anything the audio thread locks (the audio thread locks nothing).

use std::sync::Arc;
use std::sync::atomic::Ordering;

use nice_plug::prelude::FloatParam;

use crate::editor::{
    ActivationPoint, CaptureNote, EditorHost, LaneInfo, StatusInfo as EditorStatus, TransportInfo,
};
use crate::params::{DEFAULT_NOTES, HitscribeParams};
use crate::shared::{EngineState, MAX_ACTIVATION_CLASSES, NUM_DRUMS, SharedState};

/// Adapter from the plugin's shared state to the editor.
pub struct PluginEditorHost {
    params: Arc<HitscribeParams>,
    shared: Arc<SharedState>,
    scratch: std::sync::Mutex<Vec<crate::shared::ActivationSnapshot>>,
}

impl PluginEditorHost {
    /// An adapter over this plugin instance's parameters and shared state.
    pub fn new(params: Arc<HitscribeParams>, shared: Arc<SharedState>) -> Self {
        Self {
            params,
            shared,
            scratch: std::sync::Mutex::new(Vec::with_capacity(1024)),
        }
    }

    fn sample_rate(&self) -> f64 {
        let sr = self.shared.capture.with_data(|d| d.sample_rate);
        if sr > 0.0 {
            sr
        } else {
            self.shared.status.sample_rate() as f64
        }
    }
}

impl EditorHost for PluginEditorHost {
    fn lanes(&self) -> Vec<LaneInfo> {
        ["kick", "snare", "hihat"]
            .iter()
            .zip(DEFAULT_NOTES)
            .map(|(n, k)| LaneInfo {
                name: n.to_string(),
                gm_note: k as u8,
            })
            .collect()
    }

    fn threshold_param(&self, lane: usize) -> Option<&FloatParam> {
        (lane < NUM_DRUMS).then(|| &self.params.drums()[lane].threshold)
    }

    fn capture_notes_since(&self, since: u64, out: &mut Vec<CaptureNote>) -> u64 {
        self.shared.capture.notes_since(since, out, |data, n| {
            let sr = if data.sample_rate > 0.0 {
                data.sample_rate
            } else {
                48000.0
            };
            CaptureNote {
                time_s: n.timeline_sample as f64 / sr,
                lane: n.drum as usize,
                key: n.key,
                velocity: n.velocity,
            }
        })
    }

    fn capture_epoch(&self) -> u64 {
        self.shared.capture.epoch()
    }

    fn drain_activations(&self, out: &mut Vec<ActivationPoint>) {
        let sr = self.sample_rate();
        if sr <= 0.0 {
            return;
        }
        let mut scratch = self.scratch.lock().unwrap_or_else(|e| e.into_inner());
        scratch.clear();
        self.shared.drain_activations(&mut scratch);
        for a in scratch.iter() {
            let mut onset = [0.0f32; crate::editor::MAX_LANES];
            let n = onset.len().min(MAX_ACTIVATION_CLASSES);
            onset[..n].copy_from_slice(&a.onset[..n]);
            out.push(ActivationPoint {
                time_s: a.timeline_sample as f64 / sr,
                onset,
            });
        }
    }

    fn clear_capture(&self) {
        self.shared.capture.clear();
    }

    fn transport(&self) -> TransportInfo {
        let st = &self.shared.status;
        let sr = self.sample_rate();
        let pos = st.transport_timeline_pos.load(Ordering::Relaxed);
        let tempo = f64::from_bits(st.tempo_bits.load(Ordering::Relaxed));
        let sig = st.time_sig.load(Ordering::Relaxed);
        TransportInfo {
            playing: st.transport_playing.load(Ordering::Relaxed),
            position_s: (pos != i64::MIN && sr > 0.0).then(|| pos as f64 / sr),
            tempo_bpm: (tempo > 0.0).then_some(tempo),
            time_sig: (sig != 0).then_some((sig >> 16, sig & 0xFFFF)),
        }
    }

    fn status(&self) -> EditorStatus {
        let st = &self.shared.status;
        let info = st.info();
        let running = st.state() == EngineState::Running;
        let sr = st.sample_rate();
        let non_empty = |s: &String| (!s.is_empty()).then(|| s.clone());
        EditorStatus {
            model_name: non_empty(&info.model_name),
            provider: non_empty(&info.provider),
            provider_reason: info.provider_reason.clone(),
            latency_ms: running.then(|| st.latency_ms()),
            worker_load: running.then(|| st.worker_load()),
            late_notes: st.late_notes.load(Ordering::Relaxed),
            error: info.error.clone().or_else(|| {
                st.worker_stalled
                    .load(Ordering::Relaxed)
                    .then(|| "The inference thread stopped responding during an offline render; notes after that point are missing. Re-render, and report this if it repeats.".to_string())
            }),
            sample_rate: (sr > 0.0).then_some(sr as f64),
        }
    }

    fn threshold_scale(&self) -> f32 {
        // Same rule as the engine's `Transcriber::set_sensitivity`.
        2f32.powf((0.5 - self.params.sensitivity.value()) * 2.0)
    }

    fn retrigger_ms(&self, lane: usize) -> f32 {
        if lane < NUM_DRUMS {
            self.params.drums()[lane].retrigger_ms.value()
        } else {
            40.0
        }
    }
}
