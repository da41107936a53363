//! Classical baseline: band-split spectral-flux onset detection (rustfft), behind the same
//! [`FrameDetector`] interface as the neural model so both are measured side by side.

use std::sync::Arc;

use rustfft::num_complex::Complex32;
use rustfft::{Fft, FftPlanner};

use crate::contract::{ModelContract, VelocityCalibration};
use crate::error::EngineError;
use crate::model::{FrameDetector, FrameOutput};

/// Baseline analysis rate.
pub const RATE: u32 = 24_000;
/// Baseline hop (10 ms).
pub const HOP: u32 = 240;
/// FFT window.
pub const WINDOW: usize = 1024;
/// Frequency bands (Hz) for kick, snare, hi-hat.
pub const BANDS: [(f32, f32); 3] = [(30.0, 150.0), (200.0, 3000.0), (7000.0, 11_500.0)];
/// Flux that maps to an activation of `1 - 1/e` per band.
const SCALE: [f32; 3] = [1.0, 0.35, 0.12];

/// The baseline's contract (same shape as a model's, no state tensor in use).
pub fn contract() -> ModelContract {
    ModelContract {
        contract_version: crate::contract::CONTRACT_VERSION,
        model_name: "baseline-spectral-flux".into(),
        sample_rate: RATE,
        hop_samples: HOP,
        max_hops_per_call: 1,
        window_samples: WINDOW as u32,
        context_samples: WINDOW as u32,
        // The Hann window weights the newest samples least: an onset shows in the flux about
        // one hop after it happened, so the outputs describe the previous frame.
        lookahead_frames: 1,
        lookahead_samples: HOP,
        latency_samples: 2 * HOP,
        state_size: 1,
        state_tensors: vec![crate::contract::StateTensor {
            name: "state".into(),
            shape: vec![1, 1],
        }],
        class_names: vec!["kick".into(), "snare".into(), "hihat".into()],
        gm_notes: vec![36, 38, 42],
        default_thresholds: vec![0.5, 0.5, 0.5],
        default_retrigger_ms: vec![50.0, 50.0, 40.0],
        velocity_calibration: VelocityCalibration::default(),
        training_commit: String::new(),
        data_summary: "none: hand-designed band-split spectral flux".into(),
    }
}

/// Band-split spectral-flux detector.
pub struct BandFluxDetector {
    fft: Arc<dyn Fft<f32>>,
    window: Vec<f32>,
    ring: Vec<f32>,
    buf: Vec<Complex32>,
    scratch: Vec<Complex32>,
    prev: Vec<f32>,
    cur: Vec<f32>,
    bins: [(usize, usize); 3],
    hop: usize,
}

impl BandFluxDetector {
    /// Builds the detector for `contract` (use [`contract`]).
    pub fn new(contract: &ModelContract) -> Self {
        let fft = FftPlanner::new().plan_fft_forward(WINDOW);
        let window = crate::window::hann(WINDOW);
        let hz_per_bin = contract.sample_rate as f32 / WINDOW as f32;
        let bins = BANDS.map(|(lo, hi)| {
            let a = (lo / hz_per_bin).round().max(1.0) as usize;
            let b = ((hi / hz_per_bin).round() as usize).clamp(a + 1, WINDOW / 2);
            (a, b)
        });
        Self {
            scratch: vec![Complex32::default(); fft.get_inplace_scratch_len()],
            fft,
            window,
            ring: vec![0.0; WINDOW],
            buf: vec![Complex32::default(); WINDOW],
            prev: vec![0.0; WINDOW / 2 + 1],
            cur: vec![0.0; WINDOW / 2 + 1],
            bins,
            hop: contract.hop_samples as usize,
        }
    }
}

impl FrameDetector for BandFluxDetector {
    fn step(&mut self, hop: &[f32], out: &mut FrameOutput) -> Result<(), EngineError> {
        let h = self.hop.min(WINDOW);
        self.ring.copy_within(h.., 0);
        self.ring[WINDOW - h..].copy_from_slice(&hop[hop.len() - h..]);
        for ((b, &x), &w) in self.buf.iter_mut().zip(&self.ring).zip(&self.window) {
            *b = Complex32::new(x * w, 0.0);
        }
        self.fft
            .process_with_scratch(&mut self.buf, &mut self.scratch);
        let norm = 2.0 / (WINDOW as f32 * 0.5);
        for (c, b) in self.cur.iter_mut().zip(&self.buf) {
            *c = (1.0 + 100.0 * b.norm() * norm).ln();
        }
        for (k, &(a, b)) in self.bins.iter().enumerate() {
            let flux: f32 = (a..b)
                .map(|i| (self.cur[i] - self.prev[i]).max(0.0))
                .sum::<f32>()
                / (b - a) as f32;
            let act = 1.0 - (-flux / SCALE[k]).exp();
            out.onset[k] = act;
            out.velocity[k] = act;
            out.offset[k] = 0.5;
        }
        std::mem::swap(&mut self.cur, &mut self.prev);
        Ok(())
    }

    fn reset(&mut self) {
        self.ring.fill(0.0);
        self.prev.fill(0.0);
    }
}
