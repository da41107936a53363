//! Missing model: the plugin loads, passes audio, emits no notes, reports zero latency and says
//! what is wrong (nice-log output, captured through `NICE_LOG=<file>`). Separate test binary
//! because it needs its own environment (no baseline engine, its own log file).

use hitscribe_tests::*;

#[test]
fn missing_model_passes_audio_without_notes_and_reports_error() {
    let log = std::env::temp_dir().join(format!("hitscribe-missing-{}.log", std::process::id()));
    // SAFETY: single test in this binary; set before the plugin library is loaded.
    unsafe {
        std::env::remove_var("HITSCRIBE_ENGINE");
        std::env::set_var("NICE_LOG", &log);
    }
    // state with a model path override that does not exist
    let state = serde_json::json!({
        "version": "0.1.0",
        "params": {},
        "fields": {
            "model-path": serde_json::to_string("/nonexistent/hitscribe-missing.onnx").unwrap(),
            "state-version": "1"
        }
    });
    let sr = 48000.0;
    let mono = render_drum_loop(sr, 1);
    let run = run_plugin(
        &mono,
        &RunConfig {
            sample_rate: sr,
            blocks: vec![512],
            max_block: 512,
            offline: true,
            paced: false,
            load_state: Some(state_blob(&state)),
            tail: 4800,
            transport_start_s: None,
        },
    );
    assert_eq!(&run.output[0][..mono.len()], &mono[..], "audio passes");
    assert!(run.events.is_empty(), "no notes without a model");
    assert_eq!(run.latency, 0, "no latency without a model");
    let text = std::fs::read_to_string(&log).expect("plugin log written");
    assert!(
        text.contains("engine failed to load"),
        "error visible in the log: {text}"
    );
    let saved = state_json(&run.saved_state);
    assert_eq!(
        saved["fields"]["model-path"],
        serde_json::to_string("/nonexistent/hitscribe-missing.onnx").unwrap(),
        "the override is kept"
    );
    let _ = std::fs::remove_file(&log);
}
