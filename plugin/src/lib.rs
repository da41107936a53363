//! Hitscribe: a real-time drum transcription plugin (CLAP + VST3). Drum-bus audio in (passed
//! through unchanged), kick/snare/hi-hat MIDI notes with velocities out.
//!
//! Threads: the audio thread downmixes into a lock-free ring and emits notes from a second ring;
//! the plugin's own worker thread ([`worker`]) runs the `hitscribe-engine` model; the editor reads
//! [`shared`] state. See `docs/plugin-shared-state.md` and `docs/plugin-bundle.md`.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use nice_plug::midi::{Channel, Key, VoiceID};
use nice_plug::prelude::*;

#[cfg(feature = "gui")]
pub mod editor;
#[cfg(feature = "gui")]
pub mod editor_host;
pub mod params;
pub mod paths;
pub mod scheduler;
pub mod shared;
pub mod worker;

use params::HitscribeParams;
use scheduler::{OutEvent, PendingNote, Scheduler};
use shared::{CapturedNote, SharedState};
use worker::{AudioLink, WorkerConfig, WorkerHandle, worker_margin_samples};

/// Length of every emitted note (note-off follows the note-on by this much), in ms.
pub const NOTE_LENGTH_MS: f64 = 20.0;

/// Longest an offline render waits for the worker in one block before giving up (then it stops
/// waiting for the rest of the activation and flags `worker_stalled`).
pub const OFFLINE_WAIT_TIMEOUT: Duration = Duration::from_secs(10);

/// Per-activation state owned by the audio thread.
struct Active {
    link: AudioLink,
    scheduler: Scheduler,
    /// Total latency reported to the host.
    latency: u32,
    /// Worker margin part of the latency (limits negative timing offsets).
    margin: u32,
    sample_rate: f32,
    offline: bool,
    stalled: bool,
    restart_requested: bool,
}

/// The plugin.
pub struct Hitscribe {
    params: Arc<HitscribeParams>,
    shared: Arc<SharedState>,
    worker: Option<WorkerHandle>,
    active: Option<Active>,
}

impl Default for Hitscribe {
    fn default() -> Self {
        let shared = Arc::new(SharedState::default());
        Self {
            params: Arc::new(HitscribeParams::new(shared.capture.clone())),
            shared,
            worker: None,
            active: None,
        }
    }
}

impl Hitscribe {
    /// The shared state (status, capture, activations) of this instance.
    pub fn shared(&self) -> &Arc<SharedState> {
        &self.shared
    }

    /// This instance's parameters.
    pub fn hitscribe_params(&self) -> &Arc<HitscribeParams> {
        &self.params
    }

    fn worker_config(&self, buffer_config: &BufferConfig) -> WorkerConfig {
        let model_path = self
            .params
            .model_path_override()
            .map(Into::into)
            .or_else(paths::bundled_model);
        WorkerConfig {
            sample_rate: buffer_config.sample_rate as f64,
            max_block: buffer_config.max_buffer_size,
            device: self.params.device.value(),
            hops_per_call: self.params.hops_per_call(),
            model_path,
            runtime_path: paths::bundled_runtime(),
            baseline: worker::baseline_requested(),
        }
    }

    fn stop_worker(&mut self) {
        self.active = None;
        if let Some(mut w) = self.worker.take() {
            w.stop();
        }
    }
}

impl Plugin for Hitscribe {
    const NAME: &'static str = "Hitscribe";
    const VENDOR: &'static str = "Hitscribe";
    const URL: &'static str = "https://example.invalid/hitscribe";
    const EMAIL: &'static str = "hitscribe@example.invalid";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");

    const AUDIO_IO_LAYOUTS: &'static [AudioIOLayout] = &[
        AudioIOLayout {
            main_input_channels: NonZeroU32::new(2),
            main_output_channels: NonZeroU32::new(2),
            ..AudioIOLayout::const_default()
        },
        AudioIOLayout {
            main_input_channels: NonZeroU32::new(1),
            main_output_channels: NonZeroU32::new(1),
            ..AudioIOLayout::const_default()
        },
    ];

    const MIDI_OUTPUT: MidiConfig = MidiConfig::Basic;
    const SAMPLE_ACCURATE_AUTOMATION: bool = false;

    type SysExMessage = ();
    type BackgroundTask = ();
    #[cfg(feature = "gui")]
    type Editor = editor::PluginEditor;
    #[cfg(not(feature = "gui"))]
    type Editor = ();

    fn params(&self) -> Arc<dyn Params> {
        self.params.clone()
    }

    #[cfg(feature = "gui")]
    fn editor(&mut self, _async_executor: AsyncExecutor<Self>) -> Option<Self::Editor> {
        let host = Arc::new(editor_host::PluginEditorHost::new(
            self.params.clone(),
            self.shared.clone(),
        ));
        editor::create(host, self.params.editor_state.clone())
    }

    fn filter_state(state: &mut PluginState) {
        params::migrate_state(state);
    }

    fn activate(
        &mut self,
        _audio_io_layout: &AudioIOLayout,
        buffer_config: &BufferConfig,
        context: &mut impl ActivateContext<Self>,
    ) -> bool {
        let config = self.worker_config(buffer_config);
        let offline = buffer_config.process_mode == ProcessMode::Offline;
        let sr = buffer_config.sample_rate;
        self.shared.status.set_sample_rate(sr);
        self.shared.capture.set_sample_rate(sr as f64);

        let reuse =
            self.worker.as_ref().is_some_and(|w| w.config == config) && self.active.is_some();
        if !reuse {
            self.stop_worker();
            match WorkerHandle::spawn(config, self.params.clone(), self.shared.clone()) {
                Ok((handle, link)) => {
                    let margin = worker_margin_samples(sr as f64, buffer_config.max_buffer_size);
                    let note_len = (sr as f64 * NOTE_LENGTH_MS / 1000.0).round() as i64;
                    self.worker = Some(handle);
                    self.active = Some(Active {
                        link,
                        scheduler: Scheduler::new(note_len),
                        latency: 0,
                        margin,
                        sample_rate: sr,
                        offline,
                        stalled: false,
                        restart_requested: false,
                    });
                }
                Err(e) => {
                    nice_error!("Hitscribe: cannot start the worker thread: {e}");
                    self.shared.status.set_state(shared::EngineState::Failed);
                    self.shared.status.set_info(shared::StatusInfo {
                        error: Some(format!("Cannot start the inference thread: {e}")),
                        ..Default::default()
                    });
                    context.set_latency_samples(0);
                    return true;
                }
            }
        }
        let engine_latency = self.worker.as_ref().and_then(|w| w.engine_latency());
        let active = self.active.as_mut().expect("set above");
        active.offline = offline;
        active.latency = match engine_latency {
            Some(0) | None => 0,
            Some(l) => l + active.margin,
        };
        self.shared
            .status
            .engine_latency_samples
            .store(engine_latency.unwrap_or(0), Ordering::Relaxed);
        self.shared
            .status
            .latency_samples
            .store(active.latency, Ordering::Relaxed);
        context.set_latency_samples(active.latency);
        true
    }

    fn deactivate(&mut self) {
        self.stop_worker();
    }

    fn process(
        &mut self,
        buffer: &mut Buffer,
        _aux: &mut AuxiliaryBuffers,
        context: &mut impl ProcessContext<Self>,
    ) -> ProcessStatus {
        let Some(active) = self.active.as_mut() else {
            return ProcessStatus::Normal;
        };
        let n = buffer.samples();
        if n == 0 {
            return ProcessStatus::Normal;
        }
        let start = active.link.stream_pos() as i64;
        let end = start + n as i64;

        // Input -> ring (audio passes through untouched: input and output share the buffer).
        {
            let channels = buffer.as_slice_immutable();
            let nch = channels.len().max(1) as f32;
            let mono = (0..n).map(|i| channels.iter().map(|c| c[i]).sum::<f32>() / nch);
            let dropped = active.link.push_block(mono);
            if dropped > 0 {
                self.shared
                    .status
                    .dropped_input_samples
                    .fetch_add(dropped, Ordering::Relaxed);
            }
        }

        // The engine finished loading after `activate` gave up waiting: ask for a restart so the
        // host picks up the latency (only ever happens with extremely slow model loads).
        if active.latency == 0
            && !active.restart_requested
            && active.link.engine_latency().is_some_and(|l| l > 0)
        {
            active.restart_requested = true;
            context.request_restart();
        }

        if active.offline && !active.stalled && !active.link.wait_for_worker(OFFLINE_WAIT_TIMEOUT) {
            active.stalled = true;
            self.shared
                .status
                .worker_stalled
                .store(true, Ordering::Relaxed);
        }

        // Notes from the worker -> scheduler.
        let latency = active.latency as i64;
        let offset_samples =
            ((self.params.timing_offset_ms.value() as f64) * active.sample_rate as f64 / 1000.0)
                .round() as i64;
        let offset_samples = offset_samples.max(-(active.margin as i64));
        let drums = self.params.drums();
        while active.scheduler.has_room() {
            let Some(wn) = active.link.pop_note() else {
                break;
            };
            let d = drums[wn.class as usize];
            if !d.enabled.value() {
                continue;
            }
            active.scheduler.push(PendingNote {
                due: wn.sample as i64 + latency + offset_samples,
                drum: wn.class,
                key: d.note.value().clamp(0, 127) as u8,
                channel: (d.channel.value().clamp(1, 16) - 1) as u8,
                velocity: wn.velocity,
            });
        }

        // Transport mapping for the capture and the editor's activation curves.
        let transport = context.transport();
        let timeline_start = match transport.pos_samples() {
            Some(pos) if transport.playing => Some(pos),
            Some(_) => None,
            None => Some(start),
        };
        let on_transport = transport.pos_samples().is_some();
        {
            let st = &self.shared.status;
            if let Some(t) = timeline_start {
                st.timeline_offset.store(t - start, Ordering::Relaxed);
            }
            st.transport_playing
                .store(transport.playing, Ordering::Relaxed);
            st.transport_timeline_pos.store(
                transport.pos_samples().map_or(i64::MIN, |p| p - latency),
                Ordering::Relaxed,
            );
            st.tempo_bits
                .store(transport.tempo.unwrap_or(0.0).to_bits(), Ordering::Relaxed);
            let sig = match (transport.time_sig_numerator, transport.time_sig_denominator) {
                (Some(n), Some(d)) if n > 0 && d > 0 => ((n as u32) << 16) | (d as u32 & 0xFFFF),
                _ => 0,
            };
            st.time_sig.store(sig, Ordering::Relaxed);
        }

        let status = &self.shared.status;
        let capture = &self.shared.capture;
        active.scheduler.run_block(start, end, |ev| match ev {
            OutEvent::On { timing, note, late } => {
                let sent = context.try_send_event(NoteEvent::NoteOn {
                    timing,
                    voice_id: VoiceID::Wildcard,
                    channel: Channel::Number(note.channel),
                    key: Key::Number(note.key),
                    velocity: note.velocity as f32 / 127.0,
                });
                if sent.is_err() {
                    status.dropped_notes.fetch_add(1, Ordering::Relaxed);
                }
                status.notes_emitted.fetch_add(1, Ordering::Relaxed);
                if late {
                    status.late_notes.fetch_add(1, Ordering::Relaxed);
                }
                if let Some(t0) = timeline_start {
                    capture.push_from_audio(CapturedNote {
                        timeline_sample: t0 + (note.due - start) - latency,
                        drum: note.drum,
                        key: note.key,
                        channel: note.channel,
                        velocity: note.velocity,
                        on_transport,
                    });
                }
            }
            OutEvent::Off {
                timing,
                key,
                channel,
            } => {
                let _ = context.try_send_event(NoteEvent::NoteOff {
                    timing,
                    voice_id: VoiceID::Wildcard,
                    channel: Channel::Number(channel),
                    key: Key::Number(key),
                    velocity: 0.0,
                });
            }
        });

        // A device or latency change takes effect through a host restart (re-activation).
        if !active.restart_requested
            && self.worker.as_ref().is_some_and(|w| {
                w.config.device != self.params.device.value()
                    || w.config.hops_per_call != self.params.hops_per_call()
            })
        {
            active.restart_requested = true;
            context.request_restart();
        }

        ProcessStatus::Normal
    }
}

impl Drop for Hitscribe {
    fn drop(&mut self) {
        self.stop_worker();
    }
}

impl ClapPlugin for Hitscribe {
    const CLAP_ID: &'static str = "org.hitscribe.hitscribe";
    const CLAP_DESCRIPTION: Option<&'static str> =
        Some("Real-time drum transcription: audio in, kick/snare/hi-hat MIDI out");
    const CLAP_MANUAL_URL: Option<&'static str> = None;
    const CLAP_SUPPORT_URL: Option<&'static str> = None;
    const CLAP_FEATURES: &'static [ClapFeature] = &[
        ClapFeature::AudioEffect,
        ClapFeature::Analyzer,
        ClapFeature::Stereo,
        ClapFeature::Mono,
    ];
}

impl Vst3Plugin for Hitscribe {
    const VST3_CLASS_ID: [u8; 16] = *b"HitscribeDrumTr1";
    const VST3_SUBCATEGORIES: &'static [Vst3SubCategory] =
        &[Vst3SubCategory::Fx, Vst3SubCategory::Analyzer];
}

nice_export_clap!(Hitscribe);
nice_export_vst3!(Hitscribe);
