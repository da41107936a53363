//! Engine errors: every message says what went wrong and what to do about it.

use std::path::PathBuf;

/// Everything that can go wrong while building or running a [`crate::Transcriber`].
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// No ONNX Runtime library was found in any searched place.
    #[error(
        "ONNX Runtime library not found (looked in: {}); run `cargo xtask fetch-ort` or set HITSCRIBE_ORT_LIB to the path of libonnxruntime.so.1.31.1",
        fmt_paths(.searched)
    )]
    RuntimeNotFound {
        /// Every path that was tried.
        searched: Vec<PathBuf>,
    },
    /// The ONNX Runtime library exists but could not be loaded (wrong version, wrong architecture, ...).
    #[error("could not load ONNX Runtime from `{}`: {reason}; use ONNX Runtime 1.31 or newer (`cargo xtask fetch-ort`)", .path.display())]
    RuntimeLoad {
        /// The library file.
        path: PathBuf,
        /// What ONNX Runtime or the loader said.
        reason: String,
    },
    /// The model file does not exist.
    #[error(
        "model not found (looked in: {}); pass --model PATH, set HITSCRIBE_MODEL, or put hitscribe-causal.onnx into assets/models/",
        fmt_paths(.searched)
    )]
    ModelNotFound {
        /// Every path that was tried.
        searched: Vec<PathBuf>,
    },
    /// ONNX Runtime refused the model file.
    #[error("could not load the model `{}`: {reason}", .path.display())]
    ModelLoad {
        /// The model file.
        path: PathBuf,
        /// What ONNX Runtime said.
        reason: String,
    },
    /// The model has no or an invalid `hitscribe.contract`.
    #[error("refusing model `{}`: {reason} (see docs/model-contract.md; re-export the model with the trainer)", .path.display())]
    InvalidContract {
        /// The model file.
        path: PathBuf,
        /// What is wrong with the contract.
        reason: String,
    },
    /// The input sample rate is outside 22050..=192000 Hz or not an integer.
    #[error("unsupported input sample rate {rate} Hz; supported are whole rates from 22050 to 192000 Hz")]
    UnsupportedSampleRate {
        /// The rejected rate.
        rate: f64,
    },
    /// A setting is out of range.
    #[error("invalid setting: {0}")]
    InvalidSettings(String),
    /// ONNX Runtime failed while running the model.
    #[error("inference failed: {0}")]
    Inference(String),
    /// The resampler could not be built.
    #[error("resampler error: {0}")]
    Resampler(String),
    /// A file could not be read or written.
    #[error("`{}`: {source}", .path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// An audio file could not be decoded.
    #[error("cannot read audio file `{}`: {reason}", .path.display())]
    Audio {
        /// The file.
        path: PathBuf,
        /// What the decoder said.
        reason: String,
    },
    /// A MIDI file could not be written or parsed.
    #[error("MIDI file `{}`: {reason}", .path.display())]
    Midi {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
}

fn fmt_paths(p: &[PathBuf]) -> String {
    if p.is_empty() {
        return "nowhere".into();
    }
    p.iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}
