//! The frame detector interface and the ONNX model behind it (stateful step function).

use std::path::{Path, PathBuf};

use ort::memory::Allocator;
use ort::session::{IoBinding, Session};
use ort::value::{Tensor, ValueType};

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

/// The loaded ONNX model. Every input and output lives in a tensor allocated once and bound to
/// the session once ([`IoBinding`]): two sets of state tensors take turns as input and output
/// (no copy of the state between calls), and the audio and `frames` tensors are re-made only
/// when the number of hops per call changes.
pub struct OnnxModel {
    session: Session,
    hop: usize,
    batch: usize,
    n_classes: usize,
    /// `states[i][j]`: state tensor `j` of set `i`.
    states: [Vec<Tensor<f32>>; 2],
    /// `io[i]` reads state set `i` and writes set `1 - i`.
    io: [IoBinding; 2],
    /// The set that holds the newest state.
    current: usize,
    /// Audio and frames tensors for `hops` hops per call, bound in both bindings.
    bound_hops: usize,
    audio: Option<Tensor<f32>>,
    frames: Option<Tensor<f32>>,
    /// Provider in use (`CPU`/`CUDA`).
    pub provider: String,
    /// Why CUDA is not used although asked for.
    pub provider_reason: Option<String>,
}

/// A zeroed float tensor that can be bound as an input or an output.
fn zeros(shape: &[i64]) -> ort::Result<Tensor<f32>> {
    let mut t = Tensor::<f32>::new(&Allocator::default(), shape.to_vec())?;
    t.extract_tensor_mut().1.fill(0.0);
    Ok(t)
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
        let tensor_err = |e: ort::Error| EngineError::Inference(e.to_string());
        let batch = BATCH_HOPS.min(contract.max_hops_per_call as usize);
        let make_set = || -> ort::Result<Vec<Tensor<f32>>> {
            contract
                .state_tensors
                .iter()
                .map(|t| zeros(&t.shape))
                .collect()
        };
        let mut states = [
            make_set().map_err(tensor_err)?,
            make_set().map_err(tensor_err)?,
        ];
        let mut bind = |from: usize| -> ort::Result<IoBinding> {
            let mut io = built.session.create_binding()?;
            for (j, t) in contract.state_tensors.iter().enumerate() {
                io.bind_input(t.name.as_str(), &states[from][j])?;
                io.bind_output(t.output_name(), &mut states[1 - from][j])?;
            }
            Ok(io)
        };
        let io = [bind(0).map_err(tensor_err)?, bind(1).map_err(tensor_err)?];
        Ok((
            Self {
                session: built.session,
                hop: contract.hop_samples as usize,
                batch,
                n_classes: contract.n_classes(),
                states,
                io,
                current: 0,
                bound_hops: 0,
                audio: None,
                frames: None,
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
    check(
        session.outputs(),
        "frames",
        &[1, -1, FRAME_ROWS as i64, n],
        "output",
    )?;
    for t in &c.state_tensors {
        check(session.inputs(), &t.name, &t.shape, "input")?;
        check(session.outputs(), &t.output_name(), &t.shape, "output")?;
    }
    let expected = 1 + c.state_tensors.len();
    if session.inputs().len() != expected || session.outputs().len() != expected {
        return Err(format!(
            "the graph has {} inputs and {} outputs, the contract names {expected} of each",
            session.inputs().len(),
            session.outputs().len()
        ));
    }
    Ok(())
}

impl OnnxModel {
    /// Makes and binds the audio and frames tensors for `hops` hops per call.
    fn bind_hops(&mut self, hops: usize) -> ort::Result<()> {
        let audio = zeros(&[1, hops as i64, self.hop as i64])?;
        let mut frames = zeros(&[1, hops as i64, FRAME_ROWS as i64, self.n_classes as i64])?;
        for io in &mut self.io {
            io.bind_input("audio", &audio)?;
            io.bind_output("frames", &mut frames)?;
        }
        self.audio = Some(audio);
        self.frames = Some(frames);
        self.bound_hops = hops;
        Ok(())
    }

    /// Runs one call over `hops` (a whole number of hops, at most `batch`), one output each.
    fn run(&mut self, hops: &[f32], out: &mut [FrameOutput]) -> Result<(), EngineError> {
        let infer = |e: ort::Error| EngineError::Inference(e.to_string());
        if self.bound_hops != out.len() {
            self.bind_hops(out.len()).map_err(infer)?;
        }
        let (Some(audio), Some(frames)) = (self.audio.as_mut(), self.frames.as_ref()) else {
            return Err(EngineError::Inference("no tensors are bound".into()));
        };
        audio.extract_tensor_mut().1.copy_from_slice(hops);
        self.session
            .run_binding(&self.io[self.current])
            .map_err(infer)?;
        let n = self.n_classes;
        let data = frames.extract_tensor().1;
        let next = 1 - self.current;
        let finite = data.iter().all(|v| v.is_finite())
            && self.states[next]
                .iter()
                .all(|t| t.extract_tensor().1.iter().all(|v| v.is_finite()));
        if finite {
            for (o, hop) in out.iter_mut().zip(data.chunks_exact(FRAME_ROWS * n)) {
                o.onset[..n].copy_from_slice(&hop[..n]);
                o.velocity[..n].copy_from_slice(&hop[n..2 * n]);
                o.offset[..n].copy_from_slice(&hop[2 * n..3 * n]);
            }
            self.current = next;
        } else {
            // A non-finite state would poison every later frame: restart from silence.
            self.zero_state();
            out.fill(FrameOutput::default());
        }
        Ok(())
    }

    /// Zeroes the state the next call reads.
    fn zero_state(&mut self) {
        for t in &mut self.states[self.current] {
            t.extract_tensor_mut().1.fill(0.0);
        }
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
        self.zero_state();
    }
}
