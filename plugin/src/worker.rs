//! The inference worker (the plugin's own thread) and the audio thread's end of the link to it.
//!
//! Data flow: audio thread --(mono samples, SPSC ring)--> worker --(stamped notes, SPSC ring)-->
//! audio thread. The worker owns the engine `Transcriber`; it is created on the worker thread.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::thread::{JoinHandle, Thread};
use std::time::{Duration, Instant};

use hitscribe_engine::{DrumNote, EngineConfig, Transcriber};

use crate::params::{DeviceParam, HitscribeParams};
use crate::shared::{ActivationSnapshot, EngineState, NUM_DRUMS, SharedState, StatusInfo};

/// Capacity of the worker -> audio note ring.
pub const NOTE_QUEUE_CAPACITY: usize = 4096;

/// Extra time the worker gets on top of one host block, in ms (see [`worker_margin_samples`]).
pub const WORKER_SLACK_MS: f64 = 10.0;

/// Largest host block the margin accounts for; larger blocks in real time may produce late notes.
pub const MAX_MARGIN_BLOCK: u32 = 8192;

/// How long `activate` waits for the worker to load the model before reporting without it.
pub const LOAD_TIMEOUT: Duration = Duration::from_secs(30);

/// The worker margin in host samples: a note can only be computed after the block holding its
/// evidence reached the worker, so in real time the plugin delays notes by one maximum host block
/// plus [`WORKER_SLACK_MS`] of processing time. Fixed per activation (sample rate and the host's
/// maximum block size, which only change through a re-activation).
pub fn worker_margin_samples(sample_rate: f64, max_block: u32) -> u32 {
    let block = max_block.clamp(1, MAX_MARGIN_BLOCK);
    block + (sample_rate * WORKER_SLACK_MS / 1000.0).ceil() as u32
}

/// Ring length for the input samples: 20 s at the host rate (covers model loading and hiccups).
pub fn input_ring_capacity(sample_rate: f64) -> usize {
    ((sample_rate * 20.0) as usize).max(1 << 16)
}

/// A note handed from the worker to the audio thread.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WorkerNote {
    /// Input-stream position of the onset (host samples since activation).
    pub sample: u64,
    /// Drum class index.
    pub class: u8,
    /// MIDI velocity from the engine's velocity curve.
    pub velocity: u8,
}

/// What a worker is configured with; a different key means a new worker.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkerConfig {
    /// Host sample rate.
    pub sample_rate: f64,
    /// Host maximum block size.
    pub max_block: u32,
    /// Requested execution device.
    pub device: DeviceParam,
    /// Hops per model call (1 with "Low Latency", else the engine default).
    pub hops_per_call: usize,
    /// Model file (override or bundled); None = engine default search.
    pub model_path: Option<PathBuf>,
    /// ONNX Runtime library; None = engine default search.
    pub runtime_path: Option<PathBuf>,
    /// Use the engine's classical spectral-flux baseline instead of the ONNX model (no model or
    /// runtime needed). Selected with the environment variable `HITSCRIBE_ENGINE=baseline`;
    /// meant for comparisons and for tests on machines without the trained model.
    pub baseline: bool,
}

/// Environment variable that selects the engine backend (`baseline` or unset/`model`).
pub const ENGINE_ENV: &str = "HITSCRIBE_ENGINE";

/// True if [`ENGINE_ENV`] asks for the classical baseline detector.
pub fn baseline_requested() -> bool {
    std::env::var(ENGINE_ENV).is_ok_and(|v| v.eq_ignore_ascii_case("baseline"))
}

// Gap markers in the input ring: a NaN with a payload (input NaNs are replaced by 0 before they
// enter the ring, so a NaN is always a marker). Two markers carry 22 bits each of the gap length.
const MARKER_BASE: u32 = 0x7FC0_0000;
const MARKER_MASK: u32 = 0x003F_FFFF;

fn marker_pair(gap: u64) -> [f32; 2] {
    let g = gap.min((1u64 << 44) - 1);
    [
        f32::from_bits(MARKER_BASE | ((g >> 22) as u32 & MARKER_MASK)),
        f32::from_bits(MARKER_BASE | (g as u32 & MARKER_MASK)),
    ]
}

/// Decode samples read from the input ring into `buf`, stopping after a complete gap marker.
/// Returns (items consumed, gap length; 0 when no marker completed). `marker_hi` carries the first
/// half of a marker split across two reads.
fn decode_input(
    items: impl Iterator<Item = f32>,
    marker_hi: &mut Option<u32>,
    buf: &mut Vec<f32>,
) -> (usize, u64) {
    let mut used = 0;
    for x in items {
        used += 1;
        if x.is_nan() {
            let bits = x.to_bits() & MARKER_MASK;
            match marker_hi.take() {
                None => *marker_hi = Some(bits),
                // The gap sits before the samples that follow the marker: stop here, so the
                // caller processes what came before, then the gap, then the rest.
                Some(hi) => return (used, ((hi as u64) << 22) | bits as u64),
            }
        } else {
            buf.push(x);
        }
    }
    (used, 0)
}

/// State shared by the two ends of one link.
struct LinkShared {
    /// Input samples the worker has fully processed (notes for them are already queued).
    consumed: AtomicU64,
    /// False once the worker thread ends.
    alive: AtomicBool,
    /// Asks the worker to stop.
    stop: AtomicBool,
    /// The engine's latency in host samples once loaded (u32::MAX while unknown, 0 on failure).
    engine_latency: AtomicU32,
}

/// The audio thread's end of the link to the worker. Every method is allocation- and lock-free.
pub struct AudioLink {
    input: rtrb::Producer<f32>,
    notes: rtrb::Consumer<WorkerNote>,
    link: Arc<LinkShared>,
    worker: Thread,
    gap: u64,
    pushed: u64,
}

impl AudioLink {
    /// Input samples offered so far (the stream position of the next block's first sample).
    pub fn stream_pos(&self) -> u64 {
        self.pushed
    }

    /// Push one block of mono samples (non-finite values become 0). If the ring is full, the
    /// block is dropped and a gap marker later tells the worker how many samples are missing.
    /// Returns the number of samples dropped.
    pub fn push_block(&mut self, mono: impl ExactSizeIterator<Item = f32>) -> u64 {
        let n = mono.len();
        self.pushed += n as u64;
        let need = n + if self.gap > 0 { 2 } else { 0 };
        if self.input.slots() < need {
            self.gap += n as u64;
            return n as u64;
        }
        let Ok(chunk) = self.input.write_chunk_uninit(need) else {
            self.gap += n as u64;
            return n as u64;
        };
        let sanitized = mono.map(|x| if x.is_finite() { x } else { 0.0 });
        if self.gap > 0 {
            let m = marker_pair(self.gap);
            chunk.fill_from_iter(m.into_iter().chain(sanitized));
            self.gap = 0;
        } else {
            chunk.fill_from_iter(sanitized);
        }
        self.worker.unpark();
        0
    }

    /// Samples the worker has processed.
    pub fn consumed(&self) -> u64 {
        self.link.consumed.load(Ordering::Acquire)
    }

    /// Whether the worker thread still runs.
    pub fn worker_alive(&self) -> bool {
        self.link.alive.load(Ordering::Acquire)
    }

    /// Offline rendering: wait until the worker has processed everything pushed so far, at most
    /// `timeout`. Returns false on timeout or if the worker died. Sleeps: never call in real time.
    pub fn wait_for_worker(&self, timeout: Duration) -> bool {
        let start = Instant::now();
        let mut spins = 0u32;
        while self.consumed() < self.pushed - self.gap_pending_samples() {
            if !self.worker_alive() {
                return false;
            }
            if spins < 64 {
                std::hint::spin_loop();
                spins += 1;
            } else {
                if start.elapsed() > timeout {
                    return false;
                }
                std::thread::sleep(Duration::from_micros(50));
            }
        }
        true
    }

    fn gap_pending_samples(&self) -> u64 {
        self.gap
    }

    /// Peek at the next note from the worker without taking it.
    pub fn peek_note(&self) -> Option<WorkerNote> {
        self.notes.peek().ok().copied()
    }

    /// Take the next note from the worker.
    pub fn pop_note(&mut self) -> Option<WorkerNote> {
        self.notes.pop().ok()
    }

    /// The engine's latency in host samples: `None` while loading, `Some(0)` if loading failed.
    pub fn engine_latency(&self) -> Option<u32> {
        match self.link.engine_latency.load(Ordering::Acquire) {
            u32::MAX => None,
            v => Some(v),
        }
    }
}

/// The main thread's handle on a running worker; stops and joins it on drop.
pub struct WorkerHandle {
    /// The configuration the worker was started with.
    pub config: WorkerConfig,
    link: Arc<LinkShared>,
    join: Option<JoinHandle<()>>,
}

impl WorkerHandle {
    /// Start a worker thread that loads the engine for `config` and then processes audio. Waits up
    /// to [`LOAD_TIMEOUT`] for the model to load. Main thread only (spawns, allocates, blocks).
    pub fn spawn(
        config: WorkerConfig,
        params: Arc<HitscribeParams>,
        shared: Arc<SharedState>,
    ) -> std::io::Result<(WorkerHandle, AudioLink)> {
        let (in_tx, in_rx) = rtrb::RingBuffer::<f32>::new(input_ring_capacity(config.sample_rate));
        let (note_tx, note_rx) = rtrb::RingBuffer::<WorkerNote>::new(NOTE_QUEUE_CAPACITY);
        let link = Arc::new(LinkShared {
            consumed: AtomicU64::new(0),
            alive: AtomicBool::new(true),
            stop: AtomicBool::new(false),
            engine_latency: AtomicU32::new(u32::MAX),
        });
        shared.status.set_state(EngineState::Loading);
        shared.status.samples_processed.store(0, Ordering::Relaxed);
        let (ready_tx, ready_rx) = std::sync::mpsc::channel::<()>();
        let worker = Worker {
            config: config.clone(),
            params,
            shared,
            link: link.clone(),
            input: in_rx,
            notes: note_tx,
        };
        let join = std::thread::Builder::new()
            .name("hitscribe-worker".into())
            .spawn(move || worker.run(ready_tx))?;
        let thread = join.thread().clone();
        // Wait for the load result so that `activate` can report the exact latency.
        let _ = ready_rx.recv_timeout(LOAD_TIMEOUT);
        Ok((
            WorkerHandle {
                config,
                link: link.clone(),
                join: Some(join),
            },
            AudioLink {
                input: in_tx,
                notes: note_rx,
                link,
                worker: thread,
                gap: 0,
                pushed: 0,
            },
        ))
    }

    /// The engine's latency in host samples: `None` while loading, `Some(0)` if loading failed.
    pub fn engine_latency(&self) -> Option<u32> {
        match self.link.engine_latency.load(Ordering::Acquire) {
            u32::MAX => None,
            v => Some(v),
        }
    }

    /// Stop the worker and wait for it to end.
    pub fn stop(&mut self) {
        self.link.stop.store(true, Ordering::Release);
        if let Some(j) = self.join.take() {
            j.thread().unpark();
            let _ = j.join();
        }
    }
}

impl Drop for WorkerHandle {
    fn drop(&mut self) {
        self.stop();
    }
}

struct Worker {
    config: WorkerConfig,
    params: Arc<HitscribeParams>,
    shared: Arc<SharedState>,
    link: Arc<LinkShared>,
    input: rtrb::Consumer<f32>,
    notes: rtrb::Producer<WorkerNote>,
}

/// Parameter values last applied to the engine (to update it only on change).
#[derive(PartialEq, Clone, Copy)]
struct AppliedSettings {
    classes: [(bool, u32, u32, u8, u8, u32); NUM_DRUMS],
    sensitivity: u32,
}

impl Worker {
    fn current_settings(&self) -> AppliedSettings {
        let drums = self.params.drums();
        let mut classes = [(false, 0, 0, 0, 0, 0); NUM_DRUMS];
        for (c, d) in classes.iter_mut().zip(drums) {
            let s = d.class_settings();
            *c = (
                s.enabled,
                s.threshold.to_bits(),
                s.retrigger_ms.to_bits(),
                s.velocity_min,
                s.velocity_max,
                s.velocity_shape.to_bits(),
            );
        }
        AppliedSettings {
            classes,
            sensitivity: self.params.sensitivity.value().to_bits(),
        }
    }

    fn apply_settings(&self, engine: &mut Transcriber) {
        let n = engine.contract().class_names.len().min(NUM_DRUMS);
        for (i, d) in self.params.drums().into_iter().enumerate().take(n) {
            engine.set_class_settings(i, d.class_settings());
        }
        engine.set_sensitivity(self.params.sensitivity.value());
    }

    fn load(&self) -> Result<Transcriber, hitscribe_engine::EngineError> {
        let classes: Vec<_> = self
            .params
            .drums()
            .iter()
            .map(|d| d.class_settings())
            .collect();
        if self.config.baseline {
            let mut t = Transcriber::baseline(self.config.sample_rate, classes)?;
            t.set_sensitivity(self.params.sensitivity.value());
            return Ok(t);
        }
        let mut cfg = EngineConfig::new(self.config.sample_rate);
        cfg.model_path = self.config.model_path.clone();
        cfg.runtime_path = self.config.runtime_path.clone();
        cfg.device = self.config.device.into();
        cfg.hops_per_call = self.config.hops_per_call;
        cfg.classes = classes;
        let mut t = Transcriber::new(cfg)?;
        t.set_sensitivity(self.params.sensitivity.value());
        Ok(t)
    }

    fn run(mut self, ready: std::sync::mpsc::Sender<()>) {
        let status = &self.shared.status;
        let mut engine = match self.load() {
            Ok(t) => {
                let st = t.status();
                status.set_info(StatusInfo {
                    model_name: st.model_name.clone(),
                    model_path: st.model_path.display().to_string(),
                    provider: st.provider.clone(),
                    provider_reason: st.provider_reason.clone(),
                    runtime_path: st.runtime_path.display().to_string(),
                    error: None,
                });
                nice_plug::nice_log!(
                    "Hitscribe: model {} on {} ({} samples latency)",
                    st.model_name,
                    st.provider,
                    t.latency_samples()
                );
                self.link
                    .engine_latency
                    .store(t.latency_samples(), Ordering::Release);
                status.set_state(EngineState::Running);
                Some(t)
            }
            Err(e) => {
                let msg = e.to_string();
                nice_plug::nice_error!("Hitscribe: engine failed to load: {msg}");
                status.set_info(StatusInfo {
                    error: Some(msg),
                    ..StatusInfo::default()
                });
                self.link.engine_latency.store(0, Ordering::Release);
                status.set_state(EngineState::Failed);
                None
            }
        };
        let _ = ready.send(());
        drop(ready);

        let mut applied = self.current_settings();
        let mut buf: Vec<f32> = Vec::with_capacity(16384);
        let mut found: Vec<DrumNote> = Vec::with_capacity(256);
        let mut acts = Vec::with_capacity(256);
        let mut pos: u64 = 0;
        let mut marker_hi: Option<u32> = None;
        let mut load_ema = 0.0f64;
        let mut last_capture_drain = Instant::now();
        let sr = self.config.sample_rate;

        loop {
            if self.link.stop.load(Ordering::Acquire) {
                // Deactivation: drop any backlog instead of making the main thread wait for it.
                break;
            }
            let avail = self.input.slots();
            if avail == 0 {
                if last_capture_drain.elapsed() > Duration::from_millis(100) {
                    self.shared.capture.drain_inbox();
                    last_capture_drain = Instant::now();
                }
                std::thread::park_timeout(Duration::from_millis(2));
                continue;
            }
            let mut gap: u64 = 0;
            buf.clear();
            if let Ok(chunk) = self.input.read_chunk(avail.min(16384)) {
                let (a, b) = chunk.as_slices();
                let used;
                (used, gap) = decode_input(a.iter().chain(b).copied(), &mut marker_hi, &mut buf);
                chunk.commit(used);
            }

            let t0 = Instant::now();
            let fed = buf.len() as u64;
            if let Some(t) = engine.as_mut() {
                let now = self.current_settings();
                if now != applied {
                    self.apply_settings(t);
                    applied = now;
                }
                t.process(&buf, &mut found);
                if gap > 0 {
                    self.shared
                        .status
                        .dropped_input_samples
                        .fetch_add(gap, Ordering::Relaxed);
                    buf.clear();
                    let mut left = gap;
                    while left > 0 {
                        let n = left.min(8192) as usize;
                        buf.clear();
                        buf.resize(n, 0.0);
                        t.process(&buf, &mut found);
                        left -= n as u64;
                    }
                }
                self.send_notes(&mut found);
                t.drain_activations(&mut acts);
                let offset = self.shared.status.timeline_offset.load(Ordering::Relaxed);
                for a in acts.drain(..) {
                    self.shared.activations.force_push(ActivationSnapshot {
                        stream_sample: a.sample,
                        timeline_sample: a.sample as i64 + offset,
                        onset: a.onset,
                    });
                }
            } else if gap > 0 {
                self.shared
                    .status
                    .dropped_input_samples
                    .fetch_add(gap, Ordering::Relaxed);
            }
            pos += fed + gap;
            let dt = t0.elapsed().as_secs_f64();
            if fed + gap > 0 {
                let audio_s = (fed + gap) as f64 / sr;
                let w = (audio_s / 0.5).min(1.0);
                load_ema += w * (dt / audio_s - load_ema);
                self.shared.status.set_worker_load(load_ema as f32);
            }
            self.shared
                .status
                .samples_processed
                .store(pos, Ordering::Relaxed);
            self.link.consumed.store(pos, Ordering::Release);
        }
        self.shared.capture.drain_inbox();
        self.shared.status.set_state(EngineState::Idle);
        self.link.alive.store(false, Ordering::Release);
    }

    fn send_notes(&mut self, found: &mut Vec<DrumNote>) {
        for n in found.drain(..) {
            if n.class >= NUM_DRUMS {
                continue;
            }
            let wn = WorkerNote {
                sample: n.sample,
                class: n.class as u8,
                velocity: n.velocity.clamp(1, 127),
            };
            let mut tries = 0;
            while self.notes.push(wn).is_err() {
                // The audio thread is not running (host stopped processing) or is far behind.
                tries += 1;
                if tries > 200 || self.link.stop.load(Ordering::Acquire) {
                    self.shared
                        .status
                        .dropped_notes
                        .fetch_add(1, Ordering::Relaxed);
                    break;
                }
                std::thread::sleep(Duration::from_millis(1));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn margin_covers_one_block_plus_slack() {
        assert_eq!(worker_margin_samples(48000.0, 512), 512 + 480);
        assert_eq!(worker_margin_samples(44100.0, 100_000), 8192 + 441);
    }

    #[test]
    fn decode_handles_gaps_and_split_markers() {
        let m = marker_pair(70_000);
        let mut hi = None;
        let mut buf = vec![];
        // samples, a complete marker, more samples: stops right after the marker
        let items = [1.0, 2.0, m[0], m[1], 3.0];
        assert_eq!(
            decode_input(items.into_iter(), &mut hi, &mut buf),
            (4, 70_000)
        );
        assert_eq!(buf, vec![1.0, 2.0]);
        // a marker split across two reads
        buf.clear();
        assert_eq!(
            decode_input([4.0, m[0]].into_iter(), &mut hi, &mut buf),
            (2, 0)
        );
        assert!(hi.is_some());
        assert_eq!(
            decode_input([m[1], 5.0].into_iter(), &mut hi, &mut buf),
            (1, 70_000)
        );
        assert_eq!(buf, vec![4.0]);
        assert!(hi.is_none());
    }

    #[test]
    fn worker_thread_matches_the_engine_and_survives_overflow() {
        let sr = 48000.0;
        // kicks: a decaying 60 Hz tone every 400 ms
        let mono: Vec<f32> = (0..(sr as usize * 3))
            .map(|i| {
                let t = (i % 19200) as f32 / sr as f32;
                0.9 * (2.0 * std::f32::consts::PI * 60.0 * t).sin() * (-t / 0.1).exp()
            })
            .collect();
        let params = Arc::new(HitscribeParams::new(Arc::new(
            crate::shared::CaptureStore::default(),
        )));
        let shared = Arc::new(SharedState::default());
        let config = WorkerConfig {
            sample_rate: sr,
            max_block: 512,
            device: DeviceParam::Cpu,
            hops_per_call: 1,
            model_path: None,
            runtime_path: None,
            baseline: true,
        };
        let (mut handle, mut link) =
            WorkerHandle::spawn(config, params.clone(), shared.clone()).unwrap();
        assert_eq!(shared.status.state(), EngineState::Running);
        let latency = handle.engine_latency().expect("loaded");
        assert!(latency > 0);
        for block in mono.chunks(512) {
            assert_eq!(link.push_block(block.iter().copied()), 0);
            assert!(link.wait_for_worker(Duration::from_secs(10)));
        }
        let mut got = vec![];
        while let Some(n) = link.pop_note() {
            got.push(n);
        }
        let classes = params.drums().iter().map(|d| d.class_settings()).collect();
        let mut engine = Transcriber::baseline(sr, classes).unwrap();
        engine.set_sensitivity(params.sensitivity.value());
        let mut want = vec![];
        engine.process(&mono, &mut want);
        let want: Vec<WorkerNote> = want
            .iter()
            .map(|n| WorkerNote {
                sample: n.sample,
                class: n.class as u8,
                velocity: n.velocity,
            })
            .collect();
        assert!(want.len() >= 5, "{want:?}");
        assert_eq!(got, want);
        assert_eq!(link.consumed(), mono.len() as u64);

        // Overflow: stop the worker reading (it has ended), fill the ring past its capacity.
        handle.stop();
        assert!(!link.worker_alive());
        let cap = input_ring_capacity(sr);
        let before = link.stream_pos();
        let mut dropped = 0;
        for block in std::iter::repeat_n([0.0f32; 4096], cap / 4096 + 2) {
            dropped += link.push_block(block.into_iter());
        }
        assert!(dropped > 0, "a full ring drops whole blocks");
        assert_eq!(link.stream_pos(), before + (cap / 4096 + 2) as u64 * 4096);
        assert!(!link.wait_for_worker(Duration::from_millis(10)));
    }

    #[test]
    fn markers_are_nan_and_roundtrip() {
        let gap = 123_456_789u64;
        let [hi, lo] = marker_pair(gap);
        assert!(hi.is_nan() && lo.is_nan());
        let g = (((hi.to_bits() & MARKER_MASK) as u64) << 22) | (lo.to_bits() & MARKER_MASK) as u64;
        assert_eq!(g, gap);
    }
}
