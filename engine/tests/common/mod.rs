//! Shared helpers for the engine's integration tests (real ONNX Runtime, real model).
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use hitscribe_engine::eval::Event;
use hitscribe_engine::resample::StreamResampler;
use hitscribe_engine::{DeviceRequest, DrumNote, EngineConfig, Transcriber};

/// Repository root.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// The ONE place tests find the model: the shipped `assets/models/hitscribe-causal.onnx`
/// (`HITSCRIBE_TEST_MODEL` may point at a candidate model instead).
pub fn model_path() -> PathBuf {
    let p = std::env::var_os("HITSCRIBE_TEST_MODEL")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join("assets/models/hitscribe-causal.onnx"));
    assert!(
        p.is_file(),
        "model {} is missing: the trained model ships in assets/models/",
        p.display()
    );
    p
}

/// A CPU transcriber for `rate` with the test model (default hops per call).
pub fn transcriber(rate: f64) -> Transcriber {
    transcriber_with_hops(rate, EngineConfig::new(rate).hops_per_call)
}

/// A CPU transcriber for `rate` with the test model, running `hops_per_call` hops per call.
pub fn transcriber_with_hops(rate: f64, hops_per_call: usize) -> Transcriber {
    let cfg = EngineConfig {
        model_path: Some(model_path()),
        device: DeviceRequest::Cpu,
        hops_per_call,
        ..EngineConfig::new(rate)
    };
    Transcriber::new(cfg).expect("engine builds (run `cargo xtask fetch-ort` first)")
}

/// The demo loop (mono, 44.1 kHz) and its ground truth.
pub fn demo() -> (Vec<f32>, u32, Vec<(f64, String, u8)>) {
    load_loop(&repo().join("assets/loops/demo-colombo-120bpm.wav"))
}

/// Every committed loop (`assets/loops/*.wav` with a `.tsv`).
pub fn all_loops() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(repo().join("assets/loops"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "wav") && p.with_extension("tsv").is_file())
        .collect();
    v.sort();
    assert!(v.len() >= 2, "{v:?}");
    v
}

/// A loop (mono) and its ground truth (time, label, velocity).
pub fn load_loop(wav: &Path) -> (Vec<f32>, u32, Vec<(f64, String, u8)>) {
    let a = hitscribe_engine::audio_file::decode(wav).unwrap();
    assert_eq!(a.channels, 1);
    let tsv = std::fs::read_to_string(wav.with_extension("tsv")).unwrap();
    let truth = tsv
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            (
                f[0].parse().unwrap(),
                f[1].to_string(),
                f[2].parse().unwrap(),
            )
        })
        .collect();
    (a.samples, a.sample_rate, truth)
}

/// Truth as evaluation events for `labels`.
pub fn truth_events(truth: &[(f64, String, u8)], labels: &[String]) -> Vec<Event> {
    truth
        .iter()
        .map(|(t, l, _)| Event {
            time: *t,
            class: labels.iter().position(|x| x == l).unwrap(),
        })
        .collect()
}

/// Notes as evaluation events.
pub fn note_events(notes: &[DrumNote], rate: f64) -> Vec<Event> {
    notes
        .iter()
        .map(|n| Event {
            time: n.sample as f64 / rate,
            class: n.class,
        })
        .collect()
}

/// Runs a whole signal through `t` in blocks of `block` and flushes.
pub fn run(t: &mut Transcriber, x: &[f32], block: usize) -> Vec<DrumNote> {
    let mut notes = Vec::new();
    for b in x.chunks(block) {
        t.process(b, &mut notes);
    }
    t.finish(&mut notes);
    notes
}

/// The same notes: class and velocity equal, position within one sample, strength within 1e-4.
/// (Batching hops into one ONNX Runtime call changes the float summation order, so the raw
/// activation may move in its seventh digit; the notes must not.)
pub fn assert_same_notes(got: &[DrumNote], want: &[DrumNote], what: &str) {
    let same = |a: &DrumNote, b: &DrumNote| {
        a.class == b.class
            && a.velocity == b.velocity
            && a.sample.abs_diff(b.sample) <= 1
            && (a.strength - b.strength).abs() < 1e-4
    };
    assert!(
        got.len() == want.len() && got.iter().zip(want).all(|(a, b)| same(a, b)),
        "{what}:\n{got:?}\nvs\n{want:?}"
    );
}

/// Resamples (the resampler removes its own delay, so times are preserved).
pub fn resample_aligned(x: &[f32], from: u32, to: u32) -> Vec<f32> {
    if from == to {
        return x.to_vec();
    }
    let mut r = StreamResampler::new(from, to).unwrap();
    let mut padded = x.to_vec();
    padded.extend(std::iter::repeat_n(0.0, r.chunk_in() * 4));
    let mut out = Vec::new();
    r.push(&padded, &mut |o| out.extend_from_slice(o));
    let want = (x.len() as u64 * to as u64 / from as u64) as usize;
    out.truncate(want);
    out
}
