//! Online peak picking per class, after madmom's `OnsetPeakPickingProcessor(online=True)`
//! and docs/model-contract.md ("Peak picking"): a frame is an onset when its activation reaches
//! the threshold, is >= the previous `pre_max` frames (no look-ahead), and at least
//! `min_gap_frames` frames have passed since the class's previous onset (madmom's `combine`).

/// Retrigger time in frames, as the contract defines it: `max(1, round(ms * rate / 1000 / hop))`.
pub fn retrigger_frames(retrigger_ms: f32, sample_rate: u32, hop_samples: u32) -> i64 {
    let f = (retrigger_ms as f64 * sample_rate as f64 / 1000.0 / hop_samples as f64).round();
    (f as i64).max(1)
}

/// Offline picking over recorded activations of one class with the same rules as the streaming
/// picker (`pre_max` = 1): appends the indices of picked frames to `out`.
pub fn pick_peaks(onset: &[f32], threshold: f32, min_gap_frames: usize, out: &mut Vec<usize>) {
    let mut p = PeakPicker::new(1);
    for (i, &a) in onset.iter().enumerate() {
        if p.push(i as i64, a, threshold, min_gap_frames as i64) {
            out.push(i);
        }
    }
}

/// Streaming peak picker for one class.
#[derive(Debug, Clone)]
pub struct PeakPicker {
    history: [f32; Self::MAX_PRE],
    pre_max: usize,
    last_onset: Option<i64>,
}

impl PeakPicker {
    /// Longest supported `pre_max` window in frames.
    pub const MAX_PRE: usize = 8;

    /// A picker comparing each frame against the `pre_max` previous frames (1..=8).
    pub fn new(pre_max: usize) -> Self {
        Self {
            history: [0.0; Self::MAX_PRE],
            pre_max: pre_max.clamp(1, Self::MAX_PRE),
            last_onset: None,
        }
    }

    /// Feeds the activation of `frame`; returns true when it is an onset.
    /// `min_gap_frames` is the minimum distance to the previous onset of this class
    /// (see [`retrigger_frames`]).
    pub fn push(&mut self, frame: i64, act: f32, threshold: f32, min_gap_frames: i64) -> bool {
        let act = if act.is_finite() { act } else { 0.0 };
        let local_max = self.history[..self.pre_max].iter().all(|&h| act >= h);
        self.history.copy_within(0..Self::MAX_PRE - 1, 1);
        self.history[0] = act;
        let spaced = self
            .last_onset
            .is_none_or(|last| frame - last >= min_gap_frames);
        if act >= threshold && local_max && spaced {
            self.last_onset = Some(frame);
            true
        } else {
            false
        }
    }

    /// Forgets history.
    pub fn reset(&mut self) {
        *self = Self::new(self.pre_max);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_rising_peaks_and_respects_retrigger() {
        let acts = [
            0.0, 0.2, 0.7, 0.9, 0.6, 0.3, 0.8, 0.1, 0.0, 0.0, 0.0, 0.9, 0.2,
        ];
        let mut p = PeakPicker::new(1);
        let hits: Vec<usize> = acts
            .iter()
            .enumerate()
            .filter(|(i, &a)| p.push(*i as i64, a, 0.5, 5))
            .map(|(i, _)| i)
            .collect();
        // 2 fires (first frame >= threshold that is a local max), 3 and 6 are within the
        // 5-frame retrigger, 11 fires again.
        assert_eq!(hits, vec![2, 11]);
        let mut p = PeakPicker::new(1);
        let hits: Vec<usize> = acts
            .iter()
            .enumerate()
            .filter(|(i, &a)| p.push(*i as i64, a, 0.5, 0))
            .map(|(i, _)| i)
            .collect();
        assert_eq!(hits, vec![2, 3, 6, 11]);
        let mut p = PeakPicker::new(1);
        assert!(!p.push(0, f32::NAN, 0.5, 1));
        let mut offline = Vec::new();
        pick_peaks(&acts, 0.5, 5, &mut offline);
        assert_eq!(offline, vec![2, 11]);
        assert_eq!(retrigger_frames(40.0, 24_000, 240), 4);
        assert_eq!(retrigger_frames(0.0, 24_000, 240), 1);
    }
}
