//! Velocity: contract calibration, then the class's curve (min, max, shape).

use crate::contract::VelocityCalibration;

/// Per-class detection and velocity settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ClassSettings {
    /// Whether notes of this class are emitted.
    pub enabled: bool,
    /// Onset probability threshold (0..1).
    pub threshold: f32,
    /// Minimum time between two notes of this class (ms).
    pub retrigger_ms: f32,
    /// MIDI velocity for the softest hit (1..=127).
    pub velocity_min: u8,
    /// MIDI velocity for the hardest hit (1..=127).
    pub velocity_max: u8,
    /// Curve shape -1..=1: 0 linear, > 0 exponential (soft hits softer), < 0 logarithmic
    /// (soft hits louder). The curve is `v ^ (4 ^ shape)`.
    pub velocity_shape: f32,
}

impl Default for ClassSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            threshold: 0.5,
            retrigger_ms: 40.0,
            velocity_min: 1,
            velocity_max: 127,
            velocity_shape: 0.0,
        }
    }
}

impl ClassSettings {
    /// Checks ranges.
    pub fn validate(&self) -> Result<(), String> {
        if !(self.threshold > 0.0 && self.threshold < 1.0) {
            return Err(format!(
                "threshold {} must lie between 0 and 1",
                self.threshold
            ));
        }
        if !(self.retrigger_ms >= 0.0 && self.retrigger_ms.is_finite()) {
            return Err(format!("retrigger {} ms must be >= 0", self.retrigger_ms));
        }
        if !(1..=127).contains(&self.velocity_min) || !(1..=127).contains(&self.velocity_max) {
            return Err("velocity min/max must lie in 1..=127".into());
        }
        if !(-1.0..=1.0).contains(&self.velocity_shape) {
            return Err("velocity shape must lie in -1..=1".into());
        }
        Ok(())
    }
}

/// Calibrated velocity 0..1 from the model's raw velocity.
pub fn calibrate(raw: f32, cal: &VelocityCalibration) -> f32 {
    let raw = if raw.is_finite() { raw } else { 0.0 };
    let v = ((raw - cal.input_floor) / (cal.input_ceiling - cal.input_floor)).clamp(0.0, 1.0);
    v.powf(cal.gamma)
}

/// MIDI velocity 1..=127 from a calibrated 0..1 value through the class curve.
pub fn to_midi(v: f32, s: &ClassSettings) -> u8 {
    let v = if v.is_finite() {
        v.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let shaped = v.powf(4f32.powf(s.velocity_shape.clamp(-1.0, 1.0)));
    let (lo, hi) = (s.velocity_min as f32, s.velocity_max as f32);
    (lo + (hi - lo) * shaped).round().clamp(1.0, 127.0) as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn curve_and_calibration() {
        let s = ClassSettings::default();
        assert_eq!(to_midi(0.0, &s), 1);
        assert_eq!(to_midi(1.0, &s), 127);
        assert_eq!(to_midi(0.5, &s), 64);
        let exp = ClassSettings {
            velocity_shape: 0.5,
            ..s
        };
        assert!(to_midi(0.5, &exp) < 64);
        let log = ClassSettings {
            velocity_shape: -0.5,
            ..s
        };
        assert!(to_midi(0.5, &log) > 64);
        let narrow = ClassSettings {
            velocity_min: 40,
            velocity_max: 100,
            ..s
        };
        assert_eq!(to_midi(0.0, &narrow), 40);
        assert_eq!(to_midi(f32::NAN, &narrow), 40);
        let cal = VelocityCalibration {
            input_floor: 0.1,
            input_ceiling: 0.6,
            gamma: 1.0,
        };
        assert_eq!(calibrate(0.05, &cal), 0.0);
        assert!((calibrate(0.35, &cal) - 0.5).abs() < 1e-6);
        assert_eq!(calibrate(0.9, &cal), 1.0);
        assert!(ClassSettings {
            threshold: 1.5,
            ..s
        }
        .validate()
        .is_err());
    }
}
