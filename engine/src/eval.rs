//! Onset evaluation: one-to-one matching of detected and reference notes per class.

/// A labelled event for evaluation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Event {
    /// Onset time in seconds.
    pub time: f64,
    /// Class index.
    pub class: usize,
}

/// Match counts.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Score {
    /// Matched detections.
    pub tp: usize,
    /// Detections without a reference.
    pub fp: usize,
    /// References without a detection.
    pub fn_: usize,
}

impl Score {
    /// Precision.
    pub fn precision(&self) -> f64 {
        ratio(self.tp, self.tp + self.fp)
    }
    /// Recall.
    pub fn recall(&self) -> f64 {
        ratio(self.tp, self.tp + self.fn_)
    }
    /// F-measure (1.0 when there is nothing to find and nothing was found).
    pub fn f_measure(&self) -> f64 {
        if self.tp + self.fp + self.fn_ == 0 {
            return 1.0;
        }
        2.0 * self.tp as f64 / (2 * self.tp + self.fp + self.fn_) as f64
    }
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 {
        1.0
    } else {
        a as f64 / b as f64
    }
}

/// Greedy time-ordered matching within `tolerance` seconds, same class only.
pub fn score(detected: &[Event], reference: &[Event], tolerance: f64) -> Score {
    let mut used = vec![false; reference.len()];
    let mut s = Score::default();
    let mut det: Vec<&Event> = detected.iter().collect();
    det.sort_by(|a, b| a.time.total_cmp(&b.time));
    for d in det {
        let best = reference
            .iter()
            .enumerate()
            .filter(|(i, r)| {
                !used[*i] && r.class == d.class && (r.time - d.time).abs() <= tolerance
            })
            .min_by(|a, b| {
                (a.1.time - d.time)
                    .abs()
                    .total_cmp(&(b.1.time - d.time).abs())
            });
        match best {
            Some((i, _)) => {
                used[i] = true;
                s.tp += 1;
            }
            None => s.fp += 1,
        }
    }
    s.fn_ = used.iter().filter(|u| !**u).count();
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn matching() {
        let r = [
            Event {
                time: 1.0,
                class: 0,
            },
            Event {
                time: 2.0,
                class: 1,
            },
        ];
        let d = [
            Event {
                time: 1.01,
                class: 0,
            },
            Event {
                time: 2.0,
                class: 0,
            },
            Event {
                time: 1.02,
                class: 0,
            },
        ];
        let s = score(&d, &r, 0.05);
        assert_eq!(
            s,
            Score {
                tp: 1,
                fp: 2,
                fn_: 1
            }
        );
        assert!((s.f_measure() - 0.4).abs() < 1e-9);
        assert_eq!(score(&[], &[], 0.05).f_measure(), 1.0);
    }
}
