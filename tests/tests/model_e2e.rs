//! The trained ONNX model end to end: the bundle (no baseline override) against the engine run
//! directly with the same model and ONNX Runtime on the same audio. Runs when
//! `assets/models/hitscribe-causal.onnx` and `runtime/libonnxruntime.so.1.31.1` exist (the
//! trainer's output and `cargo xtask fetch-ort`); otherwise it says so and returns.

use std::path::PathBuf;

use hitscribe_engine::{DeviceRequest, EngineConfig, Transcriber};
use hitscribe_tests::*;

#[test]
fn model_notes_match_engine_at_44k_and_48k() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let model = root.join("assets/models/hitscribe-causal.onnx");
    let runtime = root.join("runtime/libonnxruntime.so.1.31.1");
    if !model.is_file() || !runtime.is_file() {
        eprintln!(
            "SKIPPED: needs {} and {} (trainer output, cargo xtask fetch-ort)",
            model.display(),
            runtime.display()
        );
        return;
    }
    // SAFETY: the only test in this binary.
    unsafe { std::env::remove_var("HITSCRIBE_ENGINE") };
    for (sr, seed) in [(44100.0, 3u64), (48000.0, 4)] {
        let mono = render_drum_loop(sr, 4);
        let mut cfg = EngineConfig::new(sr);
        cfg.model_path = Some(model.clone());
        cfg.runtime_path = Some(runtime.clone());
        cfg.device = DeviceRequest::Cpu;
        cfg.classes = default_classes();
        let mut engine = Transcriber::new(cfg).expect("engine with the trained model");
        engine.set_sensitivity(0.5);
        let mut reference = Vec::new();
        for chunk in mono.chunks(4096) {
            engine.process(chunk, &mut reference);
        }
        let mut rng = Rng::new(seed);
        let blocks: Vec<u32> = (0..50).map(|_| rng.range(1, 8192)).collect();
        let run = run_plugin(&mono, &RunConfig::offline(sr, blocks));
        assert_eq!(
            run.latency,
            engine.latency_samples() + worker_margin(sr, 8192),
            "reported latency"
        );
        let ons = run.note_ons();
        assert_eq!(ons.len(), reference.len(), "note count at {sr} Hz");
        let tol = (sr / 1000.0) as i64;
        for (got, want) in ons.iter().zip(&reference) {
            assert_eq!(got.key, [36u16, 38, 42][want.class]);
            assert_eq!((got.velocity * 127.0).round() as u8, want.velocity);
            let t = got.time as i64 - run.latency as i64;
            assert!(
                (t - want.sample as i64).abs() <= tol,
                "{t} vs {}",
                want.sample
            );
        }
        assert_eq!(&run.output[0][..mono.len()], &mono[..]);
        if sr != 48000.0 {
            continue;
        }
        // "Low Latency" (one hop per model call): one hop less latency, the same notes.
        let mut state = state_json(&run.saved_state);
        state["params"]["low_latency"] = serde_json::json!({"bool": true});
        let low = run_plugin(
            &mono,
            &RunConfig {
                load_state: Some(state_blob(&state)),
                ..RunConfig::offline(sr, vec![512])
            },
        );
        let hop_in = (engine.contract().hop_samples as f64 * sr
            / engine.contract().sample_rate as f64)
            .round() as u32;
        assert_eq!(low.latency + hop_in, run.latency, "low latency saves a hop");
        let low_ons = low.note_ons();
        assert_eq!(low_ons.len(), reference.len(), "low latency note count");
        for (got, want) in low_ons.iter().zip(&reference) {
            let t = got.time as i64 - low.latency as i64;
            assert_eq!(got.key, [36u16, 38, 42][want.class]);
            assert!(
                (t - want.sample as i64).abs() <= tol,
                "{t} vs {}",
                want.sample
            );
        }
    }
}
