//! The frame detector interface and the ONNX model behind it (stateful step function).

use std::path::{Path, PathBuf};

use ort::session::Session;
use ort::value::{Tensor, TensorRef, ValueType};

use crate::contract::{ModelContract, CONTRACT_KEY};
use crate::device::{build_session, DeviceRequest};
use crate::error::EngineError;
use crate::notes::MAX_CLASSES;
use crate::runtime::Runtime;

/// File name of the shipped model.
pub const MODEL_FILE: &str = "hitscribe-causal.onnx";
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

/// Rows of the `frames` output per hop: onset probability, velocity, offset.
pub const FRAME_ROWS: usize = 3;

/// Hops the ONNX model takes per call at most when audio is waiting (the command line, large
/// host blocks): one call per hop costs mostly ONNX Runtime's fixed per-call overhead.
pub const BATCH_HOPS: usize = 64;

/// Anything that turns hops of mono audio at a fixed rate into per-frame onset activations:
/// the neural model and the classical baseline share this interface.
pub trait FrameDetector: Send {
    /// Consumes exactly `hop_samples` samples; fills the outputs of frame
    /// `step_index - lookahead_frames` (meaningless while that is negative).
    fn step(&mut self, hop: &[f32], out: &mut FrameOutput) -> Result<(), EngineError>;
    /// Consumes `out.len()` hops at once (`hops.len() == out.len() * hop_samples`), filling one
    /// output per hop: the same numbers as that many [`FrameDetector::step`] calls.
    fn step_many(&mut self, hops: &[f32], out: &mut [FrameOutput]) -> Result<(), EngineError> {
        let hop = hops.len() / out.len().max(1);
        for (h, o) in hops.chunks_exact(hop.max(1)).zip(out.iter_mut()) {
            self.step(h, o)?;
        }
        Ok(())
    }
    /// Most hops [`FrameDetector::step_many`] gains from at once (1: no batching).
    fn batch_hops(&self) -> usize {
        1
    }
    /// Forgets all state (stream start).
    fn reset(&mut self);
}

/// `<repo>/assets/models/hitscribe-causal.onnx`.
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

/// The loaded ONNX model with its preallocated state tensor; audio is passed to ONNX Runtime as
/// a view of the caller's slice (no copy), any number of hops up to [`OnnxModel::batch_hops`].
pub struct OnnxModel {
    session: Session,
    hop: usize,
    batch: usize,
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
        let batch = BATCH_HOPS.min(contract.max_hops_per_call as usize);
        let state = Tensor::from_array(([1usize, ss], vec![0f32; ss])).map_err(tensor_err)?;
        Ok((
            Self {
                session: built.session,
                hop,
                batch,
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
    // -1 in `want`: a dynamic axis (the hop count `k`).
    let check = |outlets: &[ort::value::Outlet], name: &str, want: &[i64], kind: &str| {
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
                let ok = dims.len() == want.len()
                    && dims
                        .iter()
                        .zip(want)
                        .all(|(&d, &w)| d == w || d < 0 || w < 0);
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
    check(session.inputs(), "audio", &[1, -1, hop], "input")?;
    check(session.inputs(), "state", &[1, ss], "input")?;
    check(
        session.outputs(),
        "frames",
        &[1, -1, FRAME_ROWS as i64, n],
        "output",
    )?;
    check(session.outputs(), "state_out", &[1, ss], "output")?;
    Ok(())
}

impl OnnxModel {
    /// Runs one call over `hops` (a whole number of hops, at most `batch`), one output each.
    fn run(&mut self, hops: &[f32], out: &mut [FrameOutput]) -> Result<(), EngineError> {
        let infer = |e: ort::Error| EngineError::Inference(e.to_string());
        let audio =
            TensorRef::from_array_view(([1usize, out.len(), self.hop], hops)).map_err(infer)?;
        let outputs = self
            .session
            .run(ort::inputs!["audio" => audio, "state" => &self.state])
            .map_err(infer)?;
        let n = self.n_classes;
        let (_, data) = outputs["frames"]
            .try_extract_tensor::<f32>()
            .map_err(infer)?;
        let mut finite = data.iter().all(|v| v.is_finite());
        for (o, hop) in out.iter_mut().zip(data.chunks_exact(FRAME_ROWS * n)) {
            o.onset[..n].copy_from_slice(&hop[..n]);
            o.velocity[..n].copy_from_slice(&hop[n..2 * n]);
            o.offset[..n].copy_from_slice(&hop[2 * n..3 * n]);
        }
        let (_, st) = outputs["state_out"]
            .try_extract_tensor::<f32>()
            .map_err(infer)?;
        finite &= st.iter().all(|v| v.is_finite());
        let state = self.state.extract_tensor_mut().1;
        if finite {
            state.copy_from_slice(st);
        } else {
            // A non-finite state would poison every later frame: restart from silence.
            state.fill(0.0);
            out.fill(FrameOutput::default());
        }
        Ok(())
    }
}

impl FrameDetector for OnnxModel {
    fn step(&mut self, hop: &[f32], out: &mut FrameOutput) -> Result<(), EngineError> {
        self.run(&hop[..self.hop], std::slice::from_mut(out))
    }

    fn step_many(&mut self, hops: &[f32], out: &mut [FrameOutput]) -> Result<(), EngineError> {
        let span = self.batch * self.hop;
        for (h, o) in hops.chunks(span).zip(out.chunks_mut(self.batch)) {
            self.run(&h[..o.len() * self.hop], o)?;
        }
        Ok(())
    }

    fn batch_hops(&self) -> usize {
        self.batch
    }

    fn reset(&mut self) {
        self.state.extract_tensor_mut().1.fill(0.0);
    }
}
