//! A missing ONNX Runtime library gives a clear error, not a panic (own test binary: the
//! runtime is process-global, so no other test may have loaded it).

use hitscribe_engine::{EngineConfig, EngineError, Transcriber};

#[test]
fn missing_runtime_library_is_a_clear_error() {
    let err = Transcriber::new(EngineConfig {
        runtime_path: Some("/nonexistent/libonnxruntime.so.1.31.1".into()),
        ..EngineConfig::new(48_000.0)
    })
    .err()
    .expect("must fail without a runtime");
    let msg = err.to_string();
    assert!(matches!(err, EngineError::RuntimeNotFound { .. }), "{msg}");
    assert!(msg.contains("cargo xtask fetch-ort"), "{msg}");
    assert!(msg.contains("HITSCRIBE_ORT_LIB"), "{msg}");

    // A file that exists but is no ONNX Runtime: a load error naming the file, no panic.
    let bogus = tempfile::Builder::new().suffix(".so").tempfile().unwrap();
    std::fs::write(bogus.path(), b"not a library").unwrap();
    let err = Transcriber::new(EngineConfig {
        runtime_path: Some(bogus.path().to_path_buf()),
        ..EngineConfig::new(48_000.0)
    })
    .err()
    .expect("must fail with a bogus runtime");
    assert!(matches!(err, EngineError::RuntimeLoad { .. }), "{err}");
    assert!(hitscribe_engine::runtime::loaded().is_none());
}
