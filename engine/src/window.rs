//! Analysis windows shared by the engine's short-time spectra (the baseline's band flux and the
//! level-informed velocity's band levels).

/// A periodic Hann window of `len` points (the form that overlap-adds to a constant).
pub fn hann(len: usize) -> Vec<f32> {
    (0..len)
        .map(|i| 0.5 - 0.5 * (2.0 * std::f32::consts::PI * i as f32 / len as f32).cos())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::hann;

    #[test]
    fn periodic_hann_starts_at_zero_and_peaks_at_the_middle() {
        let w = hann(8);
        assert_eq!(w.len(), 8);
        assert!(w[0].abs() < 1e-7);
        assert!((w[4] - 1.0).abs() < 1e-6);
        assert!((w[2] - w[6]).abs() < 1e-6);
    }
}
