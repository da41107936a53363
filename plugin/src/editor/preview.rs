//! Threshold preview: on the captured activation curve of one lane, which notes a new threshold
//! would add or drop compared with the current one. Pure functions, unit-tested.
//!
//! Peak picking goes through the small [`PeakPicker`] trait so the preview can use the engine's
//! own picker once it exposes a pure function (requested in `docs/engine-requests.md`);
//! [`LocalPeakPicker`] is the stand-in with the same rules as the streaming picker.

/// Picks onset frames from an activation curve.
pub trait PeakPicker {
    /// Appends to `out` the indices of the frames of `onset` that are picked as onsets at
    /// `threshold`, at least `min_gap_frames` apart.
    fn pick(&self, onset: &[f32], threshold: f32, min_gap_frames: usize, out: &mut Vec<usize>);
}

/// Local maximum at or above the threshold, with a retrigger gap: a frame is picked when
/// `onset[i] >= threshold`, `onset[i] >= onset[i-1]`, `onset[i] > onset[i+1]` (the last frame is
/// never picked: its right neighbour is unknown, as in streaming) and at least `min_gap_frames`
/// frames have passed since the previous pick.
#[derive(Debug, Clone, Copy, Default)]
pub struct LocalPeakPicker;

impl PeakPicker for LocalPeakPicker {
    fn pick(&self, onset: &[f32], threshold: f32, min_gap_frames: usize, out: &mut Vec<usize>) {
        let mut last: Option<usize> = None;
        for i in 0..onset.len().saturating_sub(1) {
            let v = onset[i];
            if v.is_nan() || v < threshold {
                continue;
            }
            let left_ok = i == 0 || v >= onset[i - 1];
            let right_ok = v > onset[i + 1];
            let gap_ok = last.is_none_or(|l| i - l >= min_gap_frames.max(1));
            if left_ok && right_ok && gap_ok {
                out.push(i);
                last = Some(i);
            }
        }
    }
}

/// The engine's offline picker (`hitscribe_engine::peaks::pick_peaks`, same rules as its
/// streaming picker), so the preview matches what the engine will do.
#[derive(Debug, Clone, Copy, Default)]
pub struct EnginePeakPicker;

impl PeakPicker for EnginePeakPicker {
    fn pick(&self, onset: &[f32], threshold: f32, min_gap_frames: usize, out: &mut Vec<usize>) {
        hitscribe_engine::peaks::pick_peaks(onset, threshold, min_gap_frames, out);
    }
}

/// One note in a preview: its frame index, time and activation peak height.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PreviewNote {
    /// Index of the frame in the input slice.
    pub frame: usize,
    /// Time of that frame, seconds.
    pub time_s: f64,
    /// Activation value at the peak.
    pub strength: f32,
}

/// What changing the threshold would do on the captured activations.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PreviewDiff {
    /// Notes picked at the new threshold but not at the current one.
    pub added: Vec<PreviewNote>,
    /// Notes picked at the current threshold but not at the new one.
    pub dropped: Vec<PreviewNote>,
    /// Notes picked at both.
    pub kept: usize,
}

/// The retrigger gap in frames for `retrigger_ms` at the frame spacing of `times` (median
/// spacing), rounded like the engine's `retrigger_frames`; at least 1.
pub fn gap_frames(times: &[f64], retrigger_ms: f32) -> usize {
    if times.len() < 2 {
        return 1;
    }
    let mut d: Vec<f64> = times.windows(2).map(|w| w[1] - w[0]).collect();
    d.sort_by(f64::total_cmp);
    let hop = d[d.len() / 2];
    if hop <= 0.0 {
        return 1;
    }
    ((retrigger_ms as f64 / 1000.0 / hop).round() as usize).max(1)
}

/// Compares the picks at `current` and `proposed` thresholds on one lane's curve.
/// `times` and `onset` have the same length (one entry per frame). Picks less than
/// `min_gap_frames` apart at the two thresholds count as the same note (kept).
pub fn preview_threshold(
    picker: &dyn PeakPicker,
    times: &[f64],
    onset: &[f32],
    current: f32,
    proposed: f32,
    min_gap_frames: usize,
) -> PreviewDiff {
    let n = times.len().min(onset.len());
    let onset = &onset[..n];
    let mut old = Vec::new();
    let mut new = Vec::new();
    picker.pick(onset, current, min_gap_frames, &mut old);
    picker.pick(onset, proposed, min_gap_frames, &mut new);
    let mk = |i: usize| PreviewNote {
        frame: i,
        time_s: times[i],
        strength: onset[i],
    };
    let mut diff = PreviewDiff::default();
    // Both lists are sorted. A pick that moved by less than the retrigger gap (a lower
    // threshold is reached a frame or two earlier on the rising edge) is the same note: kept.
    let tol = min_gap_frames.saturating_sub(1).max(1);
    let (mut a, mut b) = (0, 0);
    while a < old.len() || b < new.len() {
        match (old.get(a), new.get(b)) {
            (Some(&o), Some(&p)) if o.abs_diff(p) <= tol => {
                diff.kept += 1;
                a += 1;
                b += 1;
            }
            (Some(&o), Some(&p)) if o < p => {
                diff.dropped.push(mk(o));
                a += 1;
            }
            (Some(_), Some(&p)) => {
                diff.added.push(mk(p));
                b += 1;
            }
            (Some(&o), None) => {
                diff.dropped.push(mk(o));
                a += 1;
            }
            (None, Some(&p)) => {
                diff.added.push(mk(p));
                b += 1;
            }
            (None, None) => break,
        }
    }
    diff
}

#[cfg(test)]
mod tests {
    use super::*;

    fn curve() -> (Vec<f64>, Vec<f32>) {
        // peaks: 0.9 at 2, 0.45 at 6, 0.7 at 10, 0.3 at 14, 0.8 at 16 (2 frames after 14)
        let onset = vec![
            0.0, 0.2, 0.9, 0.3, 0.0, 0.1, 0.45, 0.2, 0.0, 0.1, 0.7, 0.6, 0.0, 0.0, 0.3, 0.2, 0.8,
            0.1, 0.0,
        ];
        let times = (0..onset.len()).map(|i| i as f64 * 0.01).collect();
        (times, onset)
    }

    #[test]
    fn local_picker_rules() {
        let (_, onset) = curve();
        let mut out = Vec::new();
        LocalPeakPicker.pick(&onset, 0.5, 1, &mut out);
        assert_eq!(out, [2, 10, 16]);
        out.clear();
        LocalPeakPicker.pick(&onset, 0.25, 1, &mut out);
        assert_eq!(out, [2, 6, 10, 14, 16]);
        out.clear();
        // retrigger gap of 3 frames suppresses 16 (two frames after 14)
        LocalPeakPicker.pick(&onset, 0.25, 3, &mut out);
        assert_eq!(out, [2, 6, 10, 14]);
        out.clear();
        // plateau: the first frame of an equal pair is not picked (right must be lower), second is
        LocalPeakPicker.pick(&[0.0, 0.8, 0.8, 0.0], 0.5, 1, &mut out);
        assert_eq!(out, [2]);
        out.clear();
        // last frame never picked; NaN never picked
        LocalPeakPicker.pick(&[0.0, f32::NAN, 0.0, 0.9], 0.5, 1, &mut out);
        assert!(out.is_empty());
    }

    #[test]
    fn lowering_adds_raising_drops() {
        let (times, onset) = curve();
        let d = preview_threshold(&LocalPeakPicker, &times, &onset, 0.5, 0.25, 1);
        assert_eq!(d.kept, 3);
        assert!(d.dropped.is_empty());
        let added: Vec<usize> = d.added.iter().map(|n| n.frame).collect();
        assert_eq!(added, [6, 14]);
        assert!((d.added[0].time_s - 0.06).abs() < 1e-12);
        assert_eq!(d.added[0].strength, 0.45);

        let d = preview_threshold(&LocalPeakPicker, &times, &onset, 0.5, 0.75, 1);
        assert_eq!(d.kept, 2);
        assert!(d.added.is_empty());
        assert_eq!(d.dropped.iter().map(|n| n.frame).collect::<Vec<_>>(), [10]);

        let d = preview_threshold(&LocalPeakPicker, &times, &onset, 0.5, 0.5, 1);
        assert_eq!((d.kept, d.added.len(), d.dropped.len()), (3, 0, 0));
    }

    #[test]
    fn retrigger_interaction_moves_a_note() {
        // with a 3-frame gap, lowering to 0.25 picks 14, which suppresses 16: the note moves
        // two frames earlier (kept), only 6 is new
        let (times, onset) = curve();
        let d = preview_threshold(&LocalPeakPicker, &times, &onset, 0.5, 0.25, 3);
        assert_eq!(d.added.iter().map(|n| n.frame).collect::<Vec<_>>(), [6]);
        assert!(d.dropped.is_empty());
        assert_eq!(d.kept, 3);
        // raising to 0.75 (6-frame gap): picks 2, 10, 16 become 2, 16 -> 10 dropped
        let d = preview_threshold(&LocalPeakPicker, &times, &onset, 0.5, 0.75, 6);
        assert_eq!(d.dropped.iter().map(|n| n.frame).collect::<Vec<_>>(), [10]);
    }

    #[test]
    fn engine_picker_preview() {
        let (times, onset) = curve();
        let d = preview_threshold(&EnginePeakPicker, &times, &onset, 0.5, 0.25, 1);
        assert!(d.dropped.is_empty());
        assert!(d.added.iter().any(|n| n.frame == 6));
        assert!(d.added.iter().any(|n| n.frame == 14));
        let d = preview_threshold(&EnginePeakPicker, &times, &onset, 0.5, 0.75, 1);
        assert!(d.added.is_empty());
        assert!(d.dropped.iter().any(|n| n.frame == 10));
    }

    #[test]
    fn moved_pick_is_kept() {
        // rising edge: the engine picks the first frame >= threshold that is >= its predecessor
        let onset = [0.0, 0.3, 0.6, 0.9, 0.2, 0.0, 0.0, 0.0];
        let times: Vec<f64> = (0..onset.len()).map(|i| i as f64 * 0.01).collect();
        let d = preview_threshold(&EnginePeakPicker, &times, &onset, 0.8, 0.25, 4);
        assert_eq!((d.kept, d.added.len(), d.dropped.len()), (1, 0, 0));
    }

    #[test]
    fn gap_from_retrigger() {
        let times: Vec<f64> = (0..10).map(|i| i as f64 * 0.01).collect();
        assert_eq!(gap_frames(&times, 40.0), 4);
        assert_eq!(gap_frames(&times, 0.0), 1);
        assert_eq!(gap_frames(&times[..1], 40.0), 1);
    }
}
