//! Hitscribe engine: streaming drum transcription (audio in, MIDI drum notes with velocities
//! out) through a stateful ONNX model, shared by the plugin, the CLI and the tests.
//!
//! Start with [`Transcriber`]; see `docs/engine-api.md` and `docs/model-contract.md`.
#![warn(missing_docs)]

pub mod audio_file;
pub mod baseline;
pub mod contract;
pub mod device;
pub mod error;
pub mod eval;
pub mod level;
pub mod midi_file;
pub mod model;
pub mod notes;
pub mod peaks;
pub mod resample;
pub mod runtime;
pub mod transcriber;
pub mod velocity;
pub mod window;

pub use contract::ModelContract;
pub use device::DeviceRequest;
pub use error::EngineError;
pub use notes::{ActivationFrame, DrumNote, MAX_CLASSES};
pub use transcriber::{
    downmix_interleaved, EngineConfig, EngineStatus, Transcriber, DEFAULT_HOPS_PER_CALL,
    MAX_HOPS_PER_CALL,
};
pub use velocity::ClassSettings;
