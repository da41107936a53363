//! The streaming pipeline: sanitize -> resample -> hop framing -> detector -> peak picking ->
//! velocity -> notes stamped at their position in the INPUT stream.

use std::collections::VecDeque;
use std::path::PathBuf;

use crate::contract::ModelContract;
use crate::device::DeviceRequest;
use crate::error::EngineError;
use crate::level::{BandLevels, LevelVelocity};
use crate::model::{locate_model, FrameDetector, FrameOutput, OnnxModel};
use crate::notes::{ActivationFrame, DrumNote, MAX_CLASSES};
use crate::peaks::PeakPicker;
use crate::resample::{check_rate, StreamResampler};
use crate::runtime;
use crate::velocity::{calibrate, to_midi, ClassSettings};

/// Hops the engine hands the model per call by default. Two hops per call cost about half the
/// CPU of one (ONNX Runtime's fixed cost per call dominates a 10 ms hop) for one more hop of
/// latency; the plugin's "Low Latency" parameter and the CLI's `--hops-per-call 1` trade back.
pub const DEFAULT_HOPS_PER_CALL: usize = 2;
/// Most hops per call a user may ask for (each one adds a hop of latency).
pub const MAX_HOPS_PER_CALL: usize = 8;

/// How many activation frames are kept for [`Transcriber::drain_activations`].
pub const ACTIVATION_CAPACITY: usize = 8192;

/// What to build a [`Transcriber`] from.
#[derive(Debug, Clone, PartialEq)]
pub struct EngineConfig {
    /// Model file; `None` searches the default places (see [`crate::model::locate_model`]).
    pub model_path: Option<PathBuf>,
    /// ONNX Runtime library; `None` searches (see [`crate::runtime::locate`]).
    pub runtime_path: Option<PathBuf>,
    /// Execution provider request.
    pub device: DeviceRequest,
    /// Host sample rate, 22050..=192000.
    pub input_sample_rate: f64,
    /// Per-class settings; empty = contract defaults.
    pub classes: Vec<ClassSettings>,
    /// Hops the model runs per call at least (see [`DEFAULT_HOPS_PER_CALL`]): each extra hop
    /// adds one hop of latency and saves most of ONNX Runtime's fixed cost per call.
    pub hops_per_call: usize,
}

impl EngineConfig {
    /// Defaults for everything but the input rate.
    pub fn new(input_sample_rate: f64) -> Self {
        Self {
            model_path: None,
            runtime_path: None,
            device: DeviceRequest::Auto,
            input_sample_rate,
            classes: Vec::new(),
            hops_per_call: DEFAULT_HOPS_PER_CALL,
        }
    }
}

/// What the engine runs on, for status displays.
#[derive(Debug, Clone, PartialEq)]
pub struct EngineStatus {
    /// Contract model name.
    pub model_name: String,
    /// Model file (empty for the baseline).
    pub model_path: PathBuf,
    /// Execution provider in use: `CPU`, `CUDA`, or `baseline`.
    pub provider: String,
    /// Why CUDA is not in use although it was asked for.
    pub provider_reason: Option<String>,
    /// ONNX Runtime version (empty for the baseline).
    pub ort_version: String,
    /// ONNX Runtime library file (empty for the baseline).
    pub runtime_path: PathBuf,
    /// Total latency in input samples.
    pub latency_samples: u32,
    /// Total latency in milliseconds.
    pub latency_ms: f64,
    /// Last inference error, if any (the stream continues with silence for that frame).
    pub last_error: Option<String>,
}

impl EngineStatus {
    /// Status of a detector that runs without ONNX Runtime (the baseline, test detectors);
    /// latency fields are filled in by [`Transcriber::with_detector`].
    pub fn without_runtime(model_name: &str, provider: &str) -> Self {
        Self {
            model_name: model_name.to_string(),
            model_path: PathBuf::new(),
            provider: provider.to_string(),
            provider_reason: None,
            ort_version: String::new(),
            runtime_path: PathBuf::new(),
            latency_samples: 0,
            latency_ms: 0.0,
            last_error: None,
        }
    }
}

/// Everything behind the resampler (split out so the resampler's sink can borrow it).
struct Core {
    detector: Box<dyn FrameDetector>,
    contract: ModelContract,
    hop: usize,
    /// Hops the detector takes per call at most (a multiple of `min_batch`).
    batch: usize,
    /// Hops the detector takes per call at least: the real-time cadence, fixed from stream
    /// start so that every block size gives the same calls.
    min_batch: usize,
    /// Model-rate audio not yet run: complete hops (run once `batch` are waiting, and at the
    /// end of every `process` call) plus a partial one.
    hop_buf: Vec<f32>,
    /// One detector output per hop of a call.
    outs: Vec<FrameOutput>,
    step_index: i64,
    settings: Vec<ClassSettings>,
    pickers: Vec<PeakPicker>,
    sensitivity: f32,
    activations: VecDeque<ActivationFrame>,
    frame_notes: Vec<DrumNote>,
    /// Band power of each model frame, for velocity.
    levels: BandLevels,
    /// Running mean hit level per class, for velocity.
    level_velocity: LevelVelocity,
    /// Input samples per model sample.
    in_per_model: f64,
    delay_model: f64,
    last_error: Option<String>,
}

impl Core {
    fn push_model_audio(&mut self, mut x: &[f32], notes: &mut Vec<DrumNote>) {
        let full = self.batch * self.hop;
        while !x.is_empty() {
            let take = (full - self.hop_buf.len()).min(x.len());
            self.hop_buf.extend_from_slice(&x[..take]);
            x = &x[take..];
            if self.hop_buf.len() == full {
                self.run_hops(notes);
            }
        }
    }

    /// Runs the detector over the complete hops in `hop_buf`, a whole number of `min_batch`
    /// groups (one call when it can batch); the rest waits for the next `process` call.
    fn run_hops(&mut self, notes: &mut Vec<DrumNote>) {
        let k = self.hop_buf.len() / self.hop / self.min_batch * self.min_batch;
        if k == 0 {
            return;
        }
        let mut outs = std::mem::take(&mut self.outs);
        let span = k * self.hop;
        if let Err(e) = self
            .detector
            .step_many(&self.hop_buf[..span], &mut outs[..k])
        {
            self.last_error = Some(e.to_string());
            outs[..k].fill(FrameOutput::default());
        }
        for (j, out) in outs[..k].iter().enumerate() {
            self.levels
                .push_hop(&self.hop_buf[j * self.hop..(j + 1) * self.hop]);
            self.emit_frame(out, notes);
        }
        self.outs = outs;
        self.hop_buf.copy_within(span.., 0);
        self.hop_buf.truncate(self.hop_buf.len() - span);
    }

    fn to_input_sample(&self, model_pos: f64) -> u64 {
        ((model_pos - self.delay_model) * self.in_per_model)
            .round()
            .max(0.0) as u64
    }

    /// Peak-picks one detector output (frame `step_index - lookahead_frames`) into notes.
    fn emit_frame(&mut self, out: &FrameOutput, notes: &mut Vec<DrumNote>) {
        let frame = self.step_index - self.contract.lookahead_frames as i64;
        self.step_index += 1;
        if frame < 0 {
            return;
        }
        let n = self.contract.n_classes();
        let hop = self.hop as f64;
        let frame_start = frame as f64 * hop;
        let mut act = ActivationFrame {
            sample: self.to_input_sample(frame_start),
            onset: [0.0; MAX_CLASSES],
        };
        let scale = 2f32.powf((0.5 - self.sensitivity) * 2.0);
        self.frame_notes.clear();
        for c in 0..n {
            let onset = sanitize_prob(out.onset[c]);
            act.onset[c] = onset;
            let s = &self.settings[c];
            let thr = (s.threshold * scale).clamp(0.01, 0.99);
            let retrigger = crate::peaks::retrigger_frames(
                s.retrigger_ms,
                self.contract.sample_rate,
                self.contract.hop_samples,
            );
            if self.pickers[c].push(frame, onset, thr, retrigger) && s.enabled {
                let offset = sanitize_prob(out.offset[c]) as f64;
                let v = calibrate(out.velocity[c], &self.contract.velocity_calibration);
                let v = self
                    .level_velocity
                    .adjust(c, v, self.levels.hit_level(c, frame));
                self.frame_notes.push(DrumNote {
                    sample: self.to_input_sample(frame_start + offset * hop),
                    class: c,
                    velocity: to_midi(v, s),
                    strength: onset,
                });
            }
        }
        self.frame_notes.sort_by_key(|n| (n.sample, n.class));
        notes.extend_from_slice(&self.frame_notes);
        if self.activations.len() == ACTIVATION_CAPACITY {
            self.activations.pop_front();
        }
        self.activations.push_back(act);
    }

    fn reset(&mut self) {
        self.detector.reset();
        self.hop_buf.clear();
        self.step_index = 0;
        for p in &mut self.pickers {
            p.reset();
        }
        self.levels.reset();
        self.level_velocity.reset();
        self.activations.clear();
    }
}

fn sanitize_prob(x: f32) -> f32 {
    if x.is_finite() {
        x.clamp(0.0, 1.0)
    } else {
        0.0
    }
}

/// Total latency in input samples: the worst case, over every frame, of how much input must
/// follow the start of frame `f` before its note is out. Frame `f` is complete once hop
/// `f + lookahead` has run, which happens when the group of `hops_per_call` hops holding it is
/// complete; that many model samples (plus the resampler's filter delay) need whole resampler
/// chunks of input. The pattern repeats every `lcm(group, chunk)`, so one period is checked
/// exactly (plus one sample for rounding a note's stamp to the input rate). Verified sample by
/// sample in the tests.
fn total_latency(
    contract: &ModelContract,
    resampler: &StreamResampler,
    in_rate: u32,
    hops_per_call: usize,
) -> u32 {
    let hop = contract.hop_samples as u64;
    let group = hops_per_call as u64;
    let model_latency = contract.latency_samples + (hops_per_call as u32 - 1) * hop as u32;
    if in_rate == contract.sample_rate {
        return model_latency;
    }
    let (chunk_in, chunk_out) = (resampler.chunk_in() as u64, resampler.chunk_out() as u64);
    let delay = resampler.delay_out() as u64;
    let in_per_model = in_rate as f64 / contract.sample_rate as f64;
    let period_frames = lcm(group * hop, chunk_out) / hop;
    let worst = (0..period_frames + group + contract.lookahead_frames as u64)
        .map(|f| {
            let groups = (f + contract.lookahead_frames as u64 + 1).div_ceil(group);
            let model_samples = groups * group * hop;
            let fed = (model_samples + delay).div_ceil(chunk_out) * chunk_in;
            fed as f64 - (f * hop) as f64 * in_per_model
        })
        .fold(0.0, f64::max);
    worst.ceil() as u32 + 1
}

fn lcm(a: u64, b: u64) -> u64 {
    let gcd = |mut x: u64, mut y: u64| {
        while y != 0 {
            (x, y) = (y, x % y);
        }
        x
    };
    a / gcd(a, b) * b
}

/// Replaces NaN/inf with silence, flushes denormals, clamps absurd levels.
pub fn sanitize(input: &[f32], out: &mut Vec<f32>) {
    out.clear();
    out.extend(input.iter().map(|&x| {
        if !x.is_finite() || x.abs() < 1e-20 {
            0.0
        } else {
            x.clamp(-16.0, 16.0)
        }
    }));
}

/// Averages interleaved channels into mono (`out` is cleared first).
pub fn downmix_interleaved(interleaved: &[f32], channels: usize, out: &mut Vec<f32>) {
    out.clear();
    let ch = channels.max(1);
    let scale = 1.0 / ch as f32;
    out.extend(
        interleaved
            .chunks_exact(ch)
            .map(|f| f.iter().sum::<f32>() * scale),
    );
}

/// The streaming drum transcriber shared by the plugin, the CLI and the tests.
pub struct Transcriber {
    core: Core,
    resampler: StreamResampler,
    scratch: Vec<f32>,
    samples_fed: u64,
    latency: u32,
    in_rate: u32,
    status: EngineStatus,
}

impl Transcriber {
    /// Loads ONNX Runtime and the model, validates the contract, builds the pipeline.
    pub fn new(cfg: EngineConfig) -> Result<Self, EngineError> {
        let in_rate = check_rate(cfg.input_sample_rate)?;
        let rt = runtime::ensure_loaded(cfg.runtime_path.as_deref())?;
        let model_path = locate_model(cfg.model_path.as_deref())?;
        let (model, contract) = OnnxModel::load(rt, &model_path, cfg.device)?;
        let status = EngineStatus {
            model_name: contract.model_name.clone(),
            model_path,
            provider: model.provider.clone(),
            provider_reason: model.provider_reason.clone(),
            ort_version: rt.version.clone(),
            runtime_path: rt.path.clone(),
            latency_samples: 0,
            latency_ms: 0.0,
            last_error: None,
        };
        let hops_per_call = cfg.hops_per_call;
        Self::with_detector(Box::new(model), contract, in_rate, cfg.classes, status)
            .and_then(|t| t.with_hops_per_call(hops_per_call))
    }

    /// The classical band-split spectral-flux baseline behind the same pipeline (no ONNX Runtime).
    pub fn baseline(
        input_sample_rate: f64,
        classes: Vec<ClassSettings>,
    ) -> Result<Self, EngineError> {
        let in_rate = check_rate(input_sample_rate)?;
        let contract = crate::baseline::contract();
        let det = crate::baseline::BandFluxDetector::new(&contract);
        let status = EngineStatus::without_runtime(&contract.model_name, "baseline");
        Self::with_detector(Box::new(det), contract, in_rate, classes, status)
    }

    /// Builds the pipeline around any [`FrameDetector`] following `contract`.
    pub fn with_detector(
        detector: Box<dyn FrameDetector>,
        contract: ModelContract,
        in_rate: u32,
        classes: Vec<ClassSettings>,
        mut status: EngineStatus,
    ) -> Result<Self, EngineError> {
        contract
            .validate()
            .map_err(|reason| EngineError::InvalidContract {
                path: status.model_path.clone(),
                reason,
            })?;
        let n = contract.n_classes();
        let settings = if classes.is_empty() {
            (0..n)
                .map(|c| ClassSettings {
                    threshold: contract.default_thresholds[c],
                    retrigger_ms: contract.default_retrigger_ms[c],
                    ..ClassSettings::default()
                })
                .collect()
        } else if classes.len() == n {
            for s in &classes {
                s.validate().map_err(EngineError::InvalidSettings)?;
            }
            classes
        } else {
            return Err(EngineError::InvalidSettings(format!(
                "{} class settings given, the model has {n} classes",
                classes.len()
            )));
        };
        let model_rate = contract.sample_rate;
        let resampler = StreamResampler::new(in_rate, model_rate)?;
        let in_per_model = in_rate as f64 / model_rate as f64;
        // The resampler cuts its delay from its output (model time == input time), but output
        // still arrives `delay_out` samples late: that is part of the latency.
        let delay_model = 0.0;
        let latency = total_latency(&contract, &resampler, in_rate, 1);
        status.latency_samples = latency;
        status.latency_ms = latency as f64 * 1000.0 / in_rate as f64;
        let hop = contract.hop_samples as usize;
        let batch = detector.batch_hops().max(1);
        Ok(Self {
            core: Core {
                detector,
                hop,
                batch,
                min_batch: 1,
                hop_buf: Vec::with_capacity(batch * hop),
                outs: vec![FrameOutput::default(); batch],
                step_index: 0,
                pickers: vec![PeakPicker::new(1); n],
                settings,
                sensitivity: 0.5,
                activations: VecDeque::with_capacity(ACTIVATION_CAPACITY),
                frame_notes: Vec::with_capacity(MAX_CLASSES),
                levels: BandLevels::new(&contract),
                level_velocity: LevelVelocity::default(),
                in_per_model,
                delay_model,
                contract,
                last_error: None,
            },
            resampler,
            scratch: Vec::new(),
            samples_fed: 0,
            latency,
            in_rate,
            status,
        })
    }

    /// Runs the model on `n` hops per call at least (1..=[`MAX_HOPS_PER_CALL`]), `n - 1` hops of
    /// latency more than one hop per call. Call before the first `process`.
    pub fn with_hops_per_call(mut self, n: usize) -> Result<Self, EngineError> {
        if !(1..=MAX_HOPS_PER_CALL).contains(&n) {
            return Err(EngineError::InvalidSettings(format!(
                "hops per call must be 1..={MAX_HOPS_PER_CALL}, got {n}"
            )));
        }
        let core = &mut self.core;
        core.min_batch = n;
        // A whole number of `n`-hop groups per call, so that the calls never depend on the
        // host's block size.
        core.batch = (core.detector.batch_hops().max(1) / n).max(1) * n;
        core.hop_buf = Vec::with_capacity(core.batch * core.hop);
        core.outs = vec![FrameOutput::default(); core.batch];
        self.latency = total_latency(&core.contract, &self.resampler, self.in_rate, n);
        self.status.latency_samples = self.latency;
        self.status.latency_ms = self.latency as f64 * 1000.0 / self.in_rate as f64;
        Ok(self)
    }

    /// Hops the model runs per call at least.
    pub fn hops_per_call(&self) -> usize {
        self.core.min_batch
    }

    /// Total latency in input samples: a note stamped at input sample `s` is returned by the
    /// `process` call that feeds input sample `s + latency_samples()` (or earlier).
    pub fn latency_samples(&self) -> u32 {
        self.latency
    }

    /// Feeds mono audio at the input rate; appends finished notes in time order.
    pub fn process(&mut self, mono: &[f32], notes: &mut Vec<DrumNote>) {
        sanitize(mono, &mut self.scratch);
        let core = &mut self.core;
        self.resampler
            .push(&self.scratch, &mut |x| core.push_model_audio(x, notes));
        // Every complete hop runs before `process` returns: batching never delays a note.
        core.run_hops(notes);
        self.samples_fed += mono.len() as u64;
        if let Some(e) = self.core.last_error.take() {
            self.status.last_error = Some(e);
        }
    }

    /// End of a file: pushes silence through until every note of the audio fed so far is out.
    /// Notes are only reported for positions inside the fed audio. Call [`Self::reset`] before
    /// reusing the transcriber.
    pub fn finish(&mut self, notes: &mut Vec<DrumNote>) {
        let end = self.samples_fed;
        let pad = self.latency as usize
            + self.resampler.chunk_in()
            + (self.core.hop as f64 * self.core.in_per_model).ceil() as usize;
        let zeros = vec![0f32; pad];
        let start = notes.len();
        self.process(&zeros, notes);
        let cut = notes[start..]
            .iter()
            .position(|n| n.sample >= end)
            .map_or(notes.len(), |p| start + p);
        notes.truncate(cut);
        self.samples_fed = end;
    }

    /// Starts a new stream at sample 0 (clears model state, resampler and pickers).
    pub fn reset(&mut self) {
        self.core.reset();
        self.resampler.reset();
        self.samples_fed = 0;
    }

    /// Replaces the settings of class `idx` (ignored when out of range or invalid).
    pub fn set_class_settings(&mut self, idx: usize, s: ClassSettings) {
        if idx < self.core.settings.len() && s.validate().is_ok() {
            self.core.settings[idx] = s;
        }
    }

    /// Current settings of class `idx`.
    pub fn class_settings(&self, idx: usize) -> &ClassSettings {
        &self.core.settings[idx]
    }

    /// Global sensitivity 0..1 (0.5 neutral): thresholds are scaled by `2^((0.5 - s) * 2)`.
    pub fn set_sensitivity(&mut self, s: f32) {
        if s.is_finite() {
            self.core.sensitivity = s.clamp(0.0, 1.0);
        }
    }

    /// Model, provider and latency information.
    pub fn status(&self) -> &EngineStatus {
        &self.status
    }

    /// The model contract.
    pub fn contract(&self) -> &ModelContract {
        &self.core.contract
    }

    /// Host sample rate.
    pub fn input_sample_rate(&self) -> f64 {
        self.in_rate as f64
    }

    /// Input samples fed since `new`/`reset`.
    pub fn samples_fed(&self) -> u64 {
        self.samples_fed
    }

    /// Moves the activation frames produced since the last call into `out` (appending).
    pub fn drain_activations(&mut self, out: &mut Vec<ActivationFrame>) {
        out.extend(self.core.activations.drain(..));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::VelocityCalibration;

    /// Fires class `class` at the given step indices with a fixed offset and velocity.
    struct Scripted {
        step: usize,
        fire: Vec<(usize, usize)>,
    }

    impl FrameDetector for Scripted {
        fn step(&mut self, _hop: &[f32], out: &mut FrameOutput) -> Result<(), EngineError> {
            *out = FrameOutput::default();
            for &(s, c) in &self.fire {
                if s == self.step {
                    out.onset[c] = 0.9;
                    out.offset[c] = 0.25;
                    out.velocity[c] = 0.5;
                }
            }
            self.step += 1;
            Ok(())
        }
        fn reset(&mut self) {
            self.step = 0;
        }
    }

    fn contract() -> ModelContract {
        ModelContract {
            contract_version: crate::contract::CONTRACT_VERSION,
            model_name: "scripted".into(),
            sample_rate: 24_000,
            hop_samples: 240,
            max_hops_per_call: 1,
            window_samples: 240,
            context_samples: 0,
            lookahead_frames: 2,
            lookahead_samples: 480,
            latency_samples: 720,
            state_size: 1,
            state_tensors: vec![crate::contract::StateTensor {
                name: "state".into(),
                shape: vec![1, 1],
            }],
            class_names: vec!["kick".into(), "snare".into()],
            gm_notes: vec![36, 38],
            default_thresholds: vec![0.5, 0.5],
            default_retrigger_ms: vec![40.0, 40.0],
            velocity_calibration: VelocityCalibration::default(),
            training_commit: String::new(),
            data_summary: String::new(),
        }
    }

    fn scripted(rate: u32, fire: Vec<(usize, usize)>) -> Transcriber {
        let status = EngineStatus::without_runtime("scripted", "test");
        let det = Box::new(Scripted { step: 0, fire });
        Transcriber::with_detector(det, contract(), rate, Vec::new(), status).unwrap()
    }

    #[test]
    fn stamps_frame_plus_offset_minus_lookahead_at_the_input_rate() {
        for rate in [24_000u32, 48_000, 44_100] {
            // Step 12 describes frame 10; its onset is at 10.25 hops = 2460 model samples.
            let mut t = scripted(rate, vec![(12, 0), (30, 1), (31, 1), (50, 0)]);
            let mut notes = Vec::new();
            t.process(&vec![0.0; rate as usize], &mut notes);
            t.finish(&mut notes);
            let expect = |model: f64| (model * rate as f64 / 24_000.0).round() as u64;
            let got: Vec<(u64, usize)> = notes.iter().map(|n| (n.sample, n.class)).collect();
            // Step 31 is one frame after 30: inside the 40 ms retrigger, dropped.
            assert_eq!(
                got,
                vec![
                    (expect(2460.0), 0),
                    (expect(28.25 * 240.0), 1),
                    (expect(48.25 * 240.0), 0)
                ],
                "{rate} Hz"
            );
            assert!(notes.iter().all(|n| n.velocity == 64 && n.strength == 0.9));
            let mut acts = Vec::new();
            t.drain_activations(&mut acts);
            assert_eq!(acts[10].onset[0], 0.9);
            assert_eq!(acts[10].sample, expect(2400.0));
        }
    }

    #[test]
    fn louder_hits_get_higher_velocities_than_the_model_alone_gives() {
        // The scripted model gives every hit raw velocity 0.5; the input makes hits 2, 4 and 6
        // 12 dB louder in the kick band than hits 1, 3 and 5. The first hit keeps 64.
        let steps: Vec<usize> = (1..=6).map(|i| 20 * i + 2).collect();
        let mut t = scripted(24_000, steps.iter().map(|&s| (s, 0)).collect());
        let mut x = vec![0.0f32; 24_000 * 2];
        for (i, &s) in steps.iter().enumerate() {
            let amp = if i % 2 == 1 { 0.8 } else { 0.2 };
            let start = (s - 2) * 240;
            for (k, y) in x[start..start + 2400].iter_mut().enumerate() {
                let t = k as f32 / 24_000.0;
                *y = amp * (2.0 * std::f32::consts::PI * 80.0 * t).sin() * (-t / 0.05).exp();
            }
        }
        let mut notes = Vec::new();
        t.process(&x, &mut notes);
        t.finish(&mut notes);
        let v: Vec<u8> = notes.iter().map(|n| n.velocity).collect();
        assert_eq!(v.len(), 6, "{v:?}");
        assert_eq!(v[0], 64);
        for i in [1, 3, 5] {
            assert!(v[i] > 64 + 5, "loud hit {i}: {v:?}");
        }
        for i in [2, 4] {
            assert!(v[i] < v[i - 1] && v[i] < v[i + 1], "soft hit {i}: {v:?}");
        }
    }

    #[test]
    fn finish_drops_notes_past_the_end_and_disabled_classes() {
        // 0.1 s at 24 kHz = 10 frames; a hit in frame 8 is kept, one in frame 12 is past the end.
        let mut t = scripted(24_000, vec![(10, 0), (14, 1)]);
        let mut notes = Vec::new();
        t.process(&[0.0; 2400], &mut notes);
        t.finish(&mut notes);
        assert_eq!(notes.len(), 1);
        assert_eq!(notes[0].sample, 8 * 240 + 60);
        let mut t = scripted(24_000, vec![(10, 0)]);
        t.set_class_settings(
            0,
            ClassSettings {
                enabled: false,
                ..*t.class_settings(0)
            },
        );
        let mut notes = Vec::new();
        t.process(&[0.0; 4800], &mut notes);
        t.finish(&mut notes);
        assert!(notes.is_empty());
        assert_eq!(t.latency_samples(), 720);
    }
}
