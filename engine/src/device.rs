//! Execution device choice (Auto / CPU / CUDA) with a recorded reason for every fallback.

use std::path::Path;

use ort::ep;
use ort::session::builder::{GraphOptimizationLevel, SessionBuilder};
use ort::session::Session;

use crate::error::EngineError;
use crate::runtime::Runtime;

/// Which execution provider the user asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DeviceRequest {
    /// CUDA when it works, else CPU.
    #[default]
    Auto,
    /// CPU only.
    Cpu,
    /// CUDA; falls back to CPU (with the reason recorded) when CUDA is unavailable.
    Cuda,
}

impl std::str::FromStr for DeviceRequest {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "auto" => Ok(Self::Auto),
            "cpu" => Ok(Self::Cpu),
            "cuda" | "gpu" => Ok(Self::Cuda),
            other => Err(format!("unknown device `{other}`; use auto, cpu or cuda")),
        }
    }
}

impl std::fmt::Display for DeviceRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Auto => "auto",
            Self::Cpu => "cpu",
            Self::Cuda => "cuda",
        })
    }
}

/// A session plus the provider it actually runs on.
pub struct BuiltSession {
    /// The ONNX Runtime session.
    pub session: Session,
    /// `"CPU"` or `"CUDA"`.
    pub provider: String,
    /// Why CUDA is not in use although it was asked for (Auto or Cuda); `None` otherwise.
    pub reason: Option<String>,
}

fn base_builder(rt: &Runtime) -> ort::Result<SessionBuilder> {
    Ok(Session::builder(&rt.env)?
        .with_optimization_level(GraphOptimizationLevel::Level3)?
        .with_intra_threads(1)?
        .with_inter_threads(1)?
        .with_intra_op_spinning(false)?
        .with_inter_op_spinning(false)?
        // Denormals in a decaying recurrent state can slow inference down badly in silence.
        .with_flush_to_zero()?)
}

/// Builds a session for `model` on the requested device: one intra- and one inter-op thread,
/// no spinning, denormals flushed to zero. CUDA failures fall back to CPU and are reported in [`BuiltSession::reason`].
pub fn build_session(
    rt: &Runtime,
    model: &Path,
    request: DeviceRequest,
) -> Result<BuiltSession, EngineError> {
    let load_err = |e: ort::Error| EngineError::ModelLoad {
        path: model.to_path_buf(),
        reason: e.to_string(),
    };
    let mut reason = None;
    if request != DeviceRequest::Cpu {
        let cuda = base_builder(rt).and_then(|b| {
            Ok(b.with_execution_providers([ep::CUDA::default().build().error_on_failure()])?)
        });
        match cuda.and_then(|mut b| b.commit_from_file(model)) {
            Ok(session) => {
                return Ok(BuiltSession {
                    session,
                    provider: "CUDA".into(),
                    reason: None,
                })
            }
            Err(e) => reason = Some(format!("CUDA unavailable, using CPU: {e}")),
        }
    }
    let session = base_builder(rt)
        .and_then(|mut b| b.commit_from_file(model))
        .map_err(load_err)?;
    Ok(BuiltSession {
        session,
        provider: "CPU".into(),
        reason,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn parses_requests() {
        assert_eq!(
            "CUDA".parse::<DeviceRequest>().unwrap(),
            DeviceRequest::Cuda
        );
        assert_eq!("cpu".parse::<DeviceRequest>().unwrap(), DeviceRequest::Cpu);
        assert!("tpu".parse::<DeviceRequest>().is_err());
        assert_eq!(DeviceRequest::Auto.to_string(), "auto");
    }
}
