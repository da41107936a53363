//! Note and activation types shared by the engine, the plugin, the editor and the CLI.

/// Largest number of drum classes a model may have.
pub const MAX_CLASSES: usize = 8;

/// One detected drum hit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DrumNote {
    /// Onset position in the INPUT stream, in input samples, counted from the first sample fed
    /// after [`crate::Transcriber::new`] or [`crate::Transcriber::reset`].
    pub sample: u64,
    /// Class index into the contract's `class_names`.
    pub class: usize,
    /// MIDI velocity 1..=127 after calibration and the class's velocity curve.
    pub velocity: u8,
    /// Onset probability that triggered the note (0..1).
    pub strength: f32,
}

/// The onset activations of one model frame, for drawing.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ActivationFrame {
    /// Start of the frame in the INPUT stream (input samples).
    pub sample: u64,
    /// Onset probability per class (entries beyond the class count are 0).
    pub onset: [f32; MAX_CLASSES],
}
