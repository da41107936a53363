//! The Hitscribe editor (egui through nice-plug-egui): live piano roll, per-drum threshold
//! tuning with preview, status panel and MIDI export / drag-out. See `docs/editor.md`.

pub mod export;
pub mod host;
pub mod piano_roll_model;
pub mod preview;

pub use host::{ActivationPoint, CaptureNote, EditorHost, LaneInfo, StatusInfo, TransportInfo};
