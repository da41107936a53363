//! The frame detector interface and the ONNX model behind it (stateful step function).

use std::path::{Path, PathBuf};

use ort::session::Session;
use ort::value::{Tensor, ValueType};

use crate::contract::{ModelContract, CONTRACT_KEY};
use crate::device::{build_session, DeviceRequest};
use crate::error::EngineError;
use crate::notes::MAX_CLASSES;
use crate::runtime::Runtime;

/// File name of the shipped model.
pub const MODEL_FILE: &str = "hitscribe-causal-v1.onnx";
/// Environment variable naming the model file.
pub const MODEL_ENV: &str = "HITSCRIBE_MODEL";

/// Outputs of one step, describing frame `step_index - lookahead_frames`.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct FrameOutput {
    /// Onset probability per class.
    pub onset: [f32; MAX_CLASSES],
    /// Raw velocity per class (0..1).
    pub velocity: [f32; MAX_CLASSES],
    /// Onset position inside the frame, 0..1 of a hop.
    pub offset: [f32; MAX_CLASSES],
}

/// Anything that turns hops of mono audio at a fixed rate into per-frame onset activations:
/// the neural model and the classical baseline share this interface.
pub trait FrameDetector: Send {
    /// Consumes exactly `hop_samples` samples; fills the outputs of frame
    /// `step_index - lookahead_frames` (meaningless while that is negative).
    fn step(&mut self, hop: &[f32], out: &mut FrameOutput) -> Result<(), EngineError>;
    /// Forgets all state (stream start).
    fn reset(&mut self);
}

/// `<repo>/assets/models/hitscribe-causal-v1.onnx`.
pub fn repo_model_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap_or(Path::new("."))
        .join("assets/models")
        .join(MODEL_FILE)
}

/// Resolves the model file: explicit path, `HITSCRIBE_MODEL`, next to the executable or plugin
/// binary (also `models/`, `../Resources/`), then `<repo>/assets/models/`.
pub fn locate_model(explicit: Option<&Path>) -> Result<PathBuf, EngineError> {
    if let Some(p) = explicit {
        return existing(p).ok_or_else(|| EngineError::ModelNotFound {
            searched: vec![p.to_path_buf()],
        });
    }
    if let Some(v) = std::env::var_os(MODEL_ENV).filter(|v| !v.is_empty()) {
        let p = PathBuf::from(v);
        return existing(&p).ok_or(EngineError::ModelNotFound { searched: vec![p] });
    }
    let mut candidates = Vec::new();
    for d in crate::runtime::binary_dirs() {
        candidates.push(d.join(MODEL_FILE));
        candidates.push(d.join("models").join(MODEL_FILE));
    }
    candidates.push(repo_model_path());
    for c in &candidates {
        if let Some(p) = existing(c) {
            return Ok(p);
        }
    }
    Err(EngineError::ModelNotFound {
        searched: candidates,
    })
}

/// The default model path if a model is found there.
pub fn default_model_path() -> Option<PathBuf> {
    locate_model(None).ok()
}

fn existing(p: &Path) -> Option<PathBuf> {
    p.is_file()
        .then(|| p.canonicalize().unwrap_or(p.to_path_buf()))
}

/// The loaded ONNX model with preallocated input tensors.
pub struct OnnxModel {
    session: Session,
    audio: Tensor<f32>,
    state: Tensor<f32>,
    n_classes: usize,
    /// Provider in use (`CPU`/`CUDA`).
    pub provider: String,
    /// Why CUDA is not used although asked for.
    pub provider_reason: Option<String>,
}

impl OnnxModel {
    /// Loads `path`, reads and validates its contract and graph.
    pub fn load(
        rt: &Runtime,
        path: &Path,
        device: DeviceRequest,
    ) -> Result<(Self, ModelContract), EngineError> {
        let built = build_session(rt, path, device)?;
        let invalid = |reason: String| EngineError::InvalidContract {
            path: path.to_path_buf(),
            reason,
        };
        let json = built
            .session
            .metadata()
            .ok()
            .and_then(|m| m.custom(CONTRACT_KEY))
            .ok_or_else(|| invalid(format!("metadata key `{CONTRACT_KEY}` is missing")))?;
        let contract = ModelContract::from_json(&json).map_err(invalid)?;
        check_graph(&built.session, &contract).map_err(invalid)?;
        let hop = contract.hop_samples as usize;
        let ss = contract.state_size as usize;
        let tensor_err = |e: ort::Error| EngineError::Inference(e.to_string());
        let audio = Tensor::from_array(([1usize, hop], vec![0f32; hop])).map_err(tensor_err)?;
        let state = Tensor::from_array(([1usize, ss], vec![0f32; ss])).map_err(tensor_err)?;
        Ok((
            Self {
                session: built.session,
                audio,
                state,
                n_classes: contract.n_classes(),
                provider: built.provider,
                provider_reason: built.reason,
            },
            contract,
        ))
    }
}

fn check_graph(session: &Session, c: &ModelContract) -> Result<(), String> {
    let n = c.n_classes() as i64;
    let hop = c.hop_samples as i64;
    let ss = c.state_size as i64;
    let check = |outlets: &[ort::value::Outlet], name: &str, want: [i64; 2], kind: &str| {
        let o = outlets
            .iter()
            .find(|o| o.name() == name)
            .ok_or_else(|| format!("the graph has no {kind} `{name}`"))?;
        match o.dtype() {
            ValueType::Tensor { ty, shape, .. } => {
                if *ty != ort::value::TensorElementType::Float32 {
                    return Err(format!("{kind} `{name}` is {ty:?}, expected float32"));
                }
                let dims: &[i64] = shape;
                let ok = dims.len() == 2 && dims.iter().zip(want).all(|(&d, w)| d == w || d < 0);
                if !ok {
                    return Err(format!(
                        "{kind} `{name}` has shape {dims:?}, the contract says {want:?}"
                    ));
                }
                Ok(())
            }
            other => Err(format!("{kind} `{name}` is {other:?}, expected a tensor")),
        }
    };
    check(session.inputs(), "audio", [1, hop], "input")?;
    check(session.inputs(), "state", [1, ss], "input")?;
    for name in ["onset", "velocity", "offset"] {
        check(session.outputs(), name, [1, n], "output")?;
    }
    check(session.outputs(), "state_out", [1, ss], "output")?;
    Ok(())
}

impl FrameDetector for OnnxModel {
    fn step(&mut self, hop: &[f32], out: &mut FrameOutput) -> Result<(), EngineError> {
        self.audio.extract_tensor_mut().1.copy_from_slice(hop);
        let outputs = self
            .session
            .run(ort::inputs!["audio" => &self.audio, "state" => &self.state])
            .map_err(|e| EngineError::Inference(e.to_string()))?;
        let n = self.n_classes;
        let mut finite = true;
        for (name, dst) in [
            ("onset", &mut out.onset),
            ("velocity", &mut out.velocity),
            ("offset", &mut out.offset),
        ] {
            let (_, data) = outputs[name]
                .try_extract_tensor::<f32>()
                .map_err(|e| EngineError::Inference(e.to_string()))?;
            dst[..n].copy_from_slice(&data[..n]);
            finite &= data[..n].iter().all(|v| v.is_finite());
        }
        let (_, st) = outputs["state_out"]
            .try_extract_tensor::<f32>()
            .map_err(|e| EngineError::Inference(e.to_string()))?;
        finite &= st.iter().all(|v| v.is_finite());
        let state = self.state.extract_tensor_mut().1;
        if finite {
            state.copy_from_slice(st);
        } else {
            // A non-finite state would poison every later frame: restart from silence.
            state.fill(0.0);
            *out = FrameOutput::default();
        }
        Ok(())
    }

    fn reset(&mut self) {
        self.state.extract_tensor_mut().1.fill(0.0);
    }
}
