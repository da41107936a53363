//! Hit level: the input's band power around each note, which sharpens the model's velocity.
//!
//! The model cannot know how loud the whole track is (the stream has no whole-track
//! normalisation and the input gain is arbitrary), so its velocity head leans on timbre. Within
//! one performance, though, a harder hit is louder in its drum's band. [`BandLevels`] measures
//! each model frame's power in a band per class (kick 30-150 Hz, snare 150-4000 Hz, hi-hat
//! 6-11.5 kHz), and [`LevelVelocity`] adds [`STEPS_PER_DB`] MIDI steps per dB that a hit lies
//! above or below the running mean of that class's recent hits, so the input gain cancels out.
//! The weight and the mean's rate were chosen on renders of training kits; the hit's window
//! ends with the newest hop the model has seen, so this adds no latency. Measured in
//! `model/results/velocity-level.md`: per-file velocity r 0.719 -> 0.721 on the training-kit
//! renders, 0.680 -> 0.691 and 0.663 -> 0.680 on two held-out sets (v18a).

use std::sync::Arc;

use rustfft::num_complex::Complex32;
use rustfft::{Fft, FftPlanner};

use crate::contract::ModelContract;
use crate::notes::MAX_CLASSES;

/// FFT window of the level analysis, in model samples (21 ms at 24 kHz).
pub const LEVEL_WINDOW: usize = 512;
/// MIDI velocity steps (of 127) per dB a hit lies above its class's running mean.
pub const STEPS_PER_DB: f32 = 1.0;
/// Weight of each new hit in its class's running mean level (about the last 20 hits).
pub const MEAN_RATE: f32 = 0.05;
/// Frames of level history kept (enough for a hit's window and the model's look-ahead).
const HISTORY: usize = 8;
/// Frames before and after a hit's frame whose loudest level is the hit's level.
const BEFORE: i64 = 1;
const AFTER: i64 = 2;

/// The band (Hz) whose power measures a class's hits, by class name; `None` for classes the
/// engine has no band for (their velocity stays the model's).
pub fn band_for_class(name: &str) -> Option<(f32, f32)> {
    match name {
        "kick" => Some((30.0, 150.0)),
        "snare" => Some((150.0, 4000.0)),
        "hihat" => Some((6000.0, 11_500.0)),
        _ => None,
    }
}

/// Per-frame band power (dB) of the model-rate stream, one frame per hop.
pub struct BandLevels {
    fft: Arc<dyn Fft<f32>>,
    window: Vec<f32>,
    ring: Vec<f32>,
    buf: Vec<Complex32>,
    scratch: Vec<Complex32>,
    bins: [Option<(usize, usize)>; MAX_CLASSES],
    history: [[f32; MAX_CLASSES]; HISTORY],
    /// Frames measured since the start (the newest is `frames - 1`).
    frames: i64,
}

impl BandLevels {
    /// Level analysis for `contract`'s sample rate and classes.
    pub fn new(contract: &ModelContract) -> Self {
        let fft = FftPlanner::new().plan_fft_forward(LEVEL_WINDOW);
        let window = crate::window::hann(LEVEL_WINDOW);
        let hz_per_bin = contract.sample_rate as f32 / LEVEL_WINDOW as f32;
        let mut bins = [None; MAX_CLASSES];
        for (slot, name) in bins.iter_mut().zip(&contract.class_names) {
            *slot = band_for_class(name).map(|(lo, hi)| {
                let a = ((lo / hz_per_bin).ceil() as usize).max(1);
                let b = ((hi / hz_per_bin).ceil() as usize).clamp(a + 1, LEVEL_WINDOW / 2 + 1);
                (a, b)
            });
        }
        Self {
            scratch: vec![Complex32::default(); fft.get_inplace_scratch_len()],
            fft,
            window,
            ring: vec![0.0; LEVEL_WINDOW],
            buf: vec![Complex32::default(); LEVEL_WINDOW],
            bins,
            history: [[SILENCE_DB; MAX_CLASSES]; HISTORY],
            frames: 0,
        }
    }

    /// Measures the frame that ends with `hop` (the newest hop of model-rate audio).
    pub fn push_hop(&mut self, hop: &[f32]) {
        let h = hop.len().min(LEVEL_WINDOW);
        self.ring.copy_within(h.., 0);
        self.ring[LEVEL_WINDOW - h..].copy_from_slice(&hop[hop.len() - h..]);
        for ((b, &x), &w) in self.buf.iter_mut().zip(&self.ring).zip(&self.window) {
            *b = Complex32::new(x * w, 0.0);
        }
        self.fft
            .process_with_scratch(&mut self.buf, &mut self.scratch);
        let slot = &mut self.history[self.frames as usize % HISTORY];
        for (level, bins) in slot.iter_mut().zip(&self.bins) {
            *level = match *bins {
                Some((a, b)) => {
                    let power: f32 = self.buf[a..b].iter().map(|z| z.norm_sqr()).sum();
                    10.0 * (power + 1e-10).log10()
                }
                None => SILENCE_DB,
            };
        }
        self.frames += 1;
    }

    /// Loudest level of `class` from one frame before `frame` to two after, over the frames
    /// measured so far; `None` when none of them is (or the class has no band).
    pub fn hit_level(&self, class: usize, frame: i64) -> Option<f32> {
        self.bins.get(class).copied().flatten()?;
        let first = (frame - BEFORE).max(0).max(self.frames - HISTORY as i64);
        let last = (frame + AFTER).min(self.frames - 1);
        (first..=last)
            .map(|f| self.history[f as usize % HISTORY][class])
            .reduce(f32::max)
    }

    /// Forgets the stream (transport restart).
    pub fn reset(&mut self) {
        self.ring.fill(0.0);
        self.history = [[SILENCE_DB; MAX_CLASSES]; HISTORY];
        self.frames = 0;
    }
}

/// Level of digital silence, dB.
const SILENCE_DB: f32 = -100.0;

/// Running mean level per class and the velocity correction it gives.
#[derive(Debug, Clone, Default)]
pub struct LevelVelocity {
    mean: [Option<f32>; MAX_CLASSES],
}

impl LevelVelocity {
    /// `velocity` (calibrated, 0..1) of a hit of `class` at `level` dB, moved by
    /// [`STEPS_PER_DB`] per dB away from the class's running mean, which then takes the hit in.
    /// A class's first hit, and a hit without a level, keep the model's velocity.
    pub fn adjust(&mut self, class: usize, velocity: f32, level: Option<f32>) -> f32 {
        let (Some(level), Some(mean)) = (level.filter(|l| l.is_finite()), self.mean.get_mut(class))
        else {
            return velocity;
        };
        let reference = mean.unwrap_or(level);
        *mean = Some(reference + MEAN_RATE * (level - reference));
        (velocity + STEPS_PER_DB / 127.0 * (level - reference)).clamp(0.0, 1.0)
    }

    /// Forgets the running means.
    pub fn reset(&mut self) {
        self.mean = [None; MAX_CLASSES];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn contract() -> ModelContract {
        crate::baseline::contract()
    }

    fn tone(hz: f32, amp: f32, n: usize) -> Vec<f32> {
        (0..n)
            .map(|i| amp * (2.0 * std::f32::consts::PI * hz * i as f32 / 24_000.0).sin())
            .collect()
    }

    #[test]
    fn bands_hear_their_own_drum_and_levels_follow_gain() {
        let mut levels = BandLevels::new(&contract());
        for hop in tone(80.0, 0.5, 2400).chunks(240) {
            levels.push_hop(hop);
        }
        let kick = levels.hit_level(0, 8).unwrap();
        let hat = levels.hit_level(2, 8).unwrap();
        assert!(
            kick > hat + 30.0,
            "kick band {kick} dB, hi-hat band {hat} dB"
        );
        let mut louder = BandLevels::new(&contract());
        for hop in tone(80.0, 1.0, 2400).chunks(240) {
            louder.push_hop(hop);
        }
        let gain = louder.hit_level(0, 8).unwrap() - kick;
        assert!(
            (gain - 6.02).abs() < 0.05,
            "doubling the amplitude gave {gain} dB"
        );
        assert_eq!(levels.hit_level(0, 100), None, "frames not yet measured");
    }

    #[test]
    fn hit_level_is_the_loudest_frame_around_the_hit() {
        let mut levels = BandLevels::new(&contract());
        let mut x = vec![0.0f32; 12 * 240];
        x[2400..2640].copy_from_slice(&tone(8000.0, 0.8, 240));
        // Hops 0..=11 measured: the burst fills hop 10, which frames 10 and 11 (512-sample
        // windows ending with hops 10 and 11) see.
        for hop in x.chunks(240) {
            levels.push_hop(hop);
        }
        let at = levels.hit_level(2, 10).unwrap();
        assert!(at > -20.0, "{at}");
        assert_eq!(
            levels.hit_level(2, 9),
            Some(at),
            "two frames after reach it"
        );
        assert!(
            levels.hit_level(2, 7).unwrap() < at - 60.0,
            "frames 6..=9 are silent"
        );
        for hop in [0.0f32; 3 * 240].chunks(240) {
            levels.push_hop(hop);
        }
        assert!(levels.hit_level(2, 14).unwrap() < at - 60.0);
        assert_eq!(levels.hit_level(2, 16), None, "frames not yet measured");
        levels.reset();
        assert_eq!(levels.hit_level(2, 10), None);
    }

    #[test]
    fn velocity_moves_with_level_relative_to_the_running_mean() {
        let mut lv = LevelVelocity::default();
        assert_eq!(
            lv.adjust(0, 0.5, Some(-20.0)),
            0.5,
            "first hit keeps its velocity"
        );
        let loud = lv.adjust(0, 0.5, Some(-10.0));
        assert!((loud - (0.5 + 10.0 / 127.0)).abs() < 1e-6, "{loud}");
        let soft = lv.adjust(0, 0.5, Some(-40.0));
        assert!(soft < 0.5 - 19.0 / 127.0, "{soft}");
        assert_eq!(
            lv.adjust(1, 0.3, Some(0.0)),
            0.3,
            "classes keep their own mean"
        );
        assert_eq!(lv.adjust(0, 0.4, None), 0.4);
        assert_eq!(lv.adjust(0, 0.4, Some(f32::NAN)), 0.4);
        assert_eq!(lv.adjust(MAX_CLASSES, 0.4, Some(0.0)), 0.4);
        assert_eq!(lv.adjust(0, 0.99, Some(60.0)), 1.0, "clamped");
        lv.reset();
        assert_eq!(lv.adjust(0, 0.5, Some(-40.0)), 0.5);
    }
}
