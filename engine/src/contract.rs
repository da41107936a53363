//! The model contract (`hitscribe.contract` ONNX metadata), see docs/model-contract.md.

use serde::{Deserialize, Serialize};

use crate::notes::MAX_CLASSES;

/// Metadata key holding the contract JSON.
pub const CONTRACT_KEY: &str = "hitscribe.contract";

/// Velocity calibration: `v = clamp((raw - floor) / (ceiling - floor), 0, 1) ^ gamma`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VelocityCalibration {
    /// Raw model velocity that maps to 0.
    pub input_floor: f32,
    /// Raw model velocity that maps to 1.
    pub input_ceiling: f32,
    /// Exponent applied after normalisation.
    pub gamma: f32,
}

impl Default for VelocityCalibration {
    fn default() -> Self {
        Self {
            input_floor: 0.0,
            input_ceiling: 1.0,
            gamma: 1.0,
        }
    }
}

/// One state tensor of the step function: graph input `name`, graph output `name` + `_out`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StateTensor {
    /// Graph input name (the output adds [`STATE_OUTPUT_SUFFIX`]).
    pub name: String,
    /// Fixed shape (no dynamic axes).
    pub shape: Vec<i64>,
}

impl StateTensor {
    /// Number of floats.
    pub fn len(&self) -> usize {
        self.shape.iter().product::<i64>().max(0) as usize
    }

    /// Whether the tensor holds no floats.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Name of the graph output that carries this state into the next call.
    pub fn output_name(&self) -> String {
        format!("{}{STATE_OUTPUT_SUFFIX}", self.name)
    }
}

/// Suffix of a state's output name.
pub const STATE_OUTPUT_SUFFIX: &str = "_out";

/// Contract version this engine reads.
pub const CONTRACT_VERSION: u32 = 3;

/// The model contract, version 3 (`audio` is `[1, k, hop]`, `frames` is `[1, k, 3, classes]`,
/// one graph input and output per state tensor).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelContract {
    /// Must be [`CONTRACT_VERSION`].
    pub contract_version: u32,
    /// Human-readable model name.
    pub model_name: String,
    /// Model sample rate in Hz.
    pub sample_rate: u32,
    /// Samples per hop (one output frame); a call carries `k` hops.
    pub hop_samples: u32,
    /// Most hops one call may carry (the graph's bound on `k`).
    #[serde(default = "one")]
    pub max_hops_per_call: u32,
    /// Analysis window length (informational).
    #[serde(default)]
    pub window_samples: u32,
    /// Past context the model keeps in its state (informational).
    #[serde(default)]
    pub context_samples: u32,
    /// Frames between the newest input hop and the frame the outputs describe.
    pub lookahead_frames: u32,
    /// `lookahead_frames * hop_samples` (informational).
    #[serde(default)]
    pub lookahead_samples: u32,
    /// Algorithmic latency at the model rate: `(lookahead_frames + 1) * hop_samples`.
    pub latency_samples: u32,
    /// Floats in all state tensors together.
    pub state_size: u32,
    /// The state tensors, fed back from each call's outputs into the next call's inputs.
    pub state_tensors: Vec<StateTensor>,
    /// Class labels, e.g. `kick`, `snare`, `hihat`.
    pub class_names: Vec<String>,
    /// Default General MIDI note per class.
    pub gm_notes: Vec<u8>,
    /// Default onset threshold per class.
    pub default_thresholds: Vec<f32>,
    /// Default retrigger (minimum inter-onset interval) per class in ms.
    pub default_retrigger_ms: Vec<f32>,
    /// Velocity calibration.
    #[serde(default)]
    pub velocity_calibration: VelocityCalibration,
    /// Trainer commit the model came from.
    #[serde(default)]
    pub training_commit: String,
    /// Free-text summary of the training data.
    #[serde(default)]
    pub data_summary: String,
}

fn one() -> u32 {
    1
}

impl ModelContract {
    /// Parses and validates a contract from its JSON text.
    pub fn from_json(text: &str) -> Result<Self, String> {
        let c: ModelContract =
            serde_json::from_str(text).map_err(|e| format!("contract JSON is malformed: {e}"))?;
        c.validate()?;
        Ok(c)
    }

    /// Number of classes.
    pub fn n_classes(&self) -> usize {
        self.class_names.len()
    }

    /// Checks every rule of docs/model-contract.md that needs no graph.
    pub fn validate(&self) -> Result<(), String> {
        if self.contract_version != CONTRACT_VERSION {
            return Err(format!(
                "contract_version is {}, this engine reads version {CONTRACT_VERSION} \
                 (re-export the model with the current trainer)",
                self.contract_version
            ));
        }
        if self.max_hops_per_call == 0 {
            return Err("max_hops_per_call must be > 0".into());
        }
        if !(8000..=192_000).contains(&self.sample_rate) {
            return Err(format!(
                "sample_rate {} is outside 8000..=192000",
                self.sample_rate
            ));
        }
        if self.hop_samples == 0 {
            return Err("hop_samples must be > 0".into());
        }
        if self.latency_samples != (self.lookahead_frames + 1) * self.hop_samples {
            return Err(format!(
                "latency_samples {} != (lookahead_frames {} + 1) * hop_samples {}",
                self.latency_samples, self.lookahead_frames, self.hop_samples
            ));
        }
        if self.state_tensors.is_empty() {
            return Err("state_tensors is empty".into());
        }
        for (i, t) in self.state_tensors.iter().enumerate() {
            if t.shape.is_empty() || t.shape.iter().any(|&d| d <= 0) {
                return Err(format!("state tensor `{}` has shape {:?}", t.name, t.shape));
            }
            if t.name.is_empty() || t.name == "audio" || t.name == "frames" {
                return Err(format!("state tensor name `{}` is not allowed", t.name));
            }
            if self.state_tensors[..i].iter().any(|u| u.name == t.name) {
                return Err(format!("state tensor `{}` is listed twice", t.name));
            }
        }
        let total: usize = self.state_tensors.iter().map(StateTensor::len).sum();
        if total != self.state_size as usize {
            return Err(format!(
                "state_size {} != {total} floats in state_tensors",
                self.state_size
            ));
        }
        let n = self.n_classes();
        if n == 0 || n > MAX_CLASSES {
            return Err(format!("class count {n} is outside 1..={MAX_CLASSES}"));
        }
        for (name, len) in [
            ("gm_notes", self.gm_notes.len()),
            ("default_thresholds", self.default_thresholds.len()),
            ("default_retrigger_ms", self.default_retrigger_ms.len()),
        ] {
            if len != n {
                return Err(format!("{name} has {len} entries, class_names has {n}"));
            }
        }
        if let Some(k) = self.gm_notes.iter().find(|&&k| k > 127) {
            return Err(format!("gm_notes contains {k}, outside 0..=127"));
        }
        if self
            .default_thresholds
            .iter()
            .any(|t| !t.is_finite() || *t <= 0.0 || *t >= 1.0)
        {
            return Err("default_thresholds must lie strictly between 0 and 1".into());
        }
        if self
            .default_retrigger_ms
            .iter()
            .any(|t| !t.is_finite() || *t < 0.0)
        {
            return Err("default_retrigger_ms must be finite and >= 0".into());
        }
        let cal = &self.velocity_calibration;
        let ordered = cal.input_ceiling.is_finite()
            && cal.input_floor.is_finite()
            && cal.input_ceiling > cal.input_floor;
        if !ordered || !cal.gamma.is_finite() || cal.gamma <= 0.0 {
            return Err(
                "velocity_calibration needs input_ceiling > input_floor and gamma > 0".into(),
            );
        }
        Ok(())
    }

    /// Index of a class by its label.
    pub fn class_index(&self, name: &str) -> Option<usize> {
        self.class_names.iter().position(|c| c == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn example() -> ModelContract {
        ModelContract {
            contract_version: CONTRACT_VERSION,
            model_name: "t".into(),
            sample_rate: 24000,
            hop_samples: 240,
            max_hops_per_call: 64,
            window_samples: 512,
            context_samples: 512,
            lookahead_frames: 2,
            lookahead_samples: 480,
            latency_samples: 720,
            state_size: 10,
            state_tensors: vec![StateTensor {
                name: "state_a".into(),
                shape: vec![1, 2, 5],
            }],
            class_names: vec!["kick".into(), "snare".into(), "hihat".into()],
            gm_notes: vec![36, 38, 42],
            default_thresholds: vec![0.5; 3],
            default_retrigger_ms: vec![40.0; 3],
            velocity_calibration: VelocityCalibration::default(),
            training_commit: String::new(),
            data_summary: String::new(),
        }
    }

    #[test]
    fn round_trip_and_rules() {
        let c = example();
        let json = serde_json::to_string(&c).unwrap();
        assert_eq!(ModelContract::from_json(&json).unwrap(), c);
        let mut bad = c.clone();
        bad.latency_samples = 700;
        assert!(bad.validate().unwrap_err().contains("latency_samples"));
        let mut bad = c.clone();
        bad.gm_notes.pop();
        assert!(bad.validate().unwrap_err().contains("gm_notes"));
        let mut bad = c.clone();
        bad.state_size = 11;
        assert!(bad.validate().unwrap_err().contains("state_size"));
        let mut bad = c.clone();
        bad.state_tensors.push(bad.state_tensors[0].clone());
        bad.state_size = 20;
        assert!(bad.validate().unwrap_err().contains("twice"));
        let mut bad = c.clone();
        bad.contract_version = 2;
        assert!(bad.validate().unwrap_err().contains("re-export"));
        assert!(ModelContract::from_json("{}")
            .unwrap_err()
            .contains("malformed"));
    }
}
