//! End-to-end tests of the `hitscribe` binary (real ONNX Runtime, real model).

use std::path::{Path, PathBuf};
use std::process::Command;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// The one place the CLI tests find the model (same rule as the engine tests).
fn model_path() -> PathBuf {
    let p = std::env::var_os("HITSCRIBE_TEST_MODEL")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join("assets/models/hitscribe-causal.onnx"));
    assert!(p.is_file(), "model {} is missing", p.display());
    p
}

fn demo() -> PathBuf {
    repo().join("assets/loops/demo-colombo-120bpm.wav")
}

fn hitscribe(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_hitscribe"))
        .args(args)
        .args(["--model", model_path().to_str().unwrap()])
        .output()
        .unwrap()
}

#[test]
fn transcribe_writes_midi_and_tsv_that_agree() {
    let dir = tempfile::tempdir().unwrap();
    let mid = dir.path().join("demo.mid");
    let tsv = dir.path().join("demo.tsv");
    let out = hitscribe(&[
        "transcribe",
        demo().to_str().unwrap(),
        "-o",
        mid.to_str().unwrap(),
        "--tsv",
        tsv.to_str().unwrap(),
        "--threshold",
        "kick=0.45",
        "--device",
        "cpu",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary = String::from_utf8_lossy(&out.stdout);
    assert!(
        summary.contains("notes") && summary.contains("demo.mid"),
        "{summary}"
    );
    let lines: Vec<(f64, String, u8)> = std::fs::read_to_string(&tsv)
        .unwrap()
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            assert_eq!(f.len(), 3, "{l}");
            (
                f[0].parse().unwrap(),
                f[1].to_string(),
                f[2].parse().unwrap(),
            )
        })
        .collect();
    assert!(!lines.is_empty());
    for (t, label, v) in &lines {
        assert!(["kick", "snare", "hihat"].contains(&label.as_str()));
        assert!((1..=127).contains(v) && *t >= 0.0 && *t < 8.0);
    }
    let notes = hitscribe_engine::midi_file::read_smf(&mid).unwrap();
    assert_eq!(notes.len(), lines.len());
    for (n, (t, label, v)) in notes.iter().zip(&lines) {
        let key = match label.as_str() {
            "kick" => 36,
            "snare" => 38,
            _ => 42,
        };
        assert_eq!((n.key, n.velocity, n.channel), (key, *v, 9));
        assert!((n.time - t).abs() < 0.0011, "{} vs {t}", n.time);
    }
}

#[test]
fn several_inputs_go_into_folders_and_notes_are_remappable() {
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("second.wav");
    std::fs::copy(demo(), &copy).unwrap();
    let out_dir = dir.path().join("midi");
    let tsv_dir = dir.path().join("tsv");
    let out = hitscribe(&[
        "transcribe",
        demo().to_str().unwrap(),
        copy.to_str().unwrap(),
        "-o",
        out_dir.to_str().unwrap(),
        "--tsv",
        tsv_dir.to_str().unwrap(),
        "--note",
        "hihat=44",
        "--quiet",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let a = std::fs::read(out_dir.join("demo-colombo-120bpm.mid")).unwrap();
    let b = std::fs::read(out_dir.join("second.mid")).unwrap();
    assert_eq!(a, b, "same audio, same streaming engine, same MIDI");
    assert!(tsv_dir.join("second.tsv").is_file());
    let notes = hitscribe_engine::midi_file::parse_smf(&a).unwrap();
    assert!(notes.iter().all(|n| [36, 38, 44].contains(&n.key)));
}

#[test]
fn unreadable_input_fails_clearly_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("broken.wav");
    std::fs::write(&bad, b"RIFF\x00\x00garbage that is not audio").unwrap();
    let mid = dir.path().join("broken.mid");
    let out = hitscribe(&[
        "transcribe",
        bad.to_str().unwrap(),
        "-o",
        mid.to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("broken.wav") && err.contains("error"), "{err}");
    assert!(!mid.exists());
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 1, "only the input is there: {names:?}");

    let missing = hitscribe(&["transcribe", "/nonexistent/x.flac"]);
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("/nonexistent/x.flac"));

    let bad_threshold = hitscribe(&[
        "transcribe",
        demo().to_str().unwrap(),
        "--threshold",
        "cowbell=0.3",
        "-o",
        mid.to_str().unwrap(),
    ]);
    assert!(!bad_threshold.status.success());
    assert!(String::from_utf8_lossy(&bad_threshold.stderr).contains("cowbell"));
    assert!(!mid.exists());
}

#[test]
fn info_json_reports_contract_latency_runtime_and_provider() {
    let out = hitscribe(&["info", "--json", "--device", "cuda"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let c = &v["contract"];
    assert_eq!(
        c["contract_version"],
        hitscribe_engine::contract::CONTRACT_VERSION
    );
    assert_eq!(v["hops_per_call"], hitscribe_engine::DEFAULT_HOPS_PER_CALL);
    assert_eq!(
        c["class_names"],
        serde_json::json!(["kick", "snare", "hihat"])
    );
    let rate = c["sample_rate"].as_f64().unwrap();
    let ms = v["latency_ms"].as_f64().unwrap();
    let samples = v["latency_samples"].as_f64().unwrap();
    assert!(
        ms > 0.0 && (samples - ms * rate / 1000.0).abs() <= 1.0,
        "{v}"
    );
    assert!(samples >= c["latency_samples"].as_f64().unwrap());
    assert!(v["ort_version"].as_str().unwrap().starts_with("1."));
    let provider = v["execution_provider"].as_str().unwrap();
    assert!(provider == "CPU" || provider == "CUDA");
    if provider == "CPU" {
        assert!(v["execution_provider_reason"]
            .as_str()
            .unwrap()
            .contains("CUDA"));
    }
}

#[test]
fn stereo_flac_mp3_ogg_inputs_stream_through() {
    let data = repo().join("engine/tests/data");
    let dir = tempfile::tempdir().unwrap();
    let mut inputs = Vec::new();
    for (src, dst) in [
        ("clip.wav", "a.wav"),
        ("clip.flac", "b.flac"),
        ("clip.mp3", "c.mp3"),
        ("clip.ogg", "d.ogg"),
    ] {
        let p = dir.path().join(dst);
        std::fs::copy(data.join(src), &p).unwrap();
        inputs.push(p.to_str().unwrap().to_string());
    }
    let out_dir = dir.path().join("out");
    let out_dir = out_dir.to_str().unwrap();
    let mut args = vec!["transcribe"];
    args.extend(inputs.iter().map(String::as_str));
    args.extend(["-o", out_dir, "--tsv", out_dir]);
    let out = hitscribe(&args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary = String::from_utf8_lossy(&out.stdout);
    assert_eq!(summary.matches("2 ch").count(), 4, "{summary}");
    let tsv = |stem: &str| -> Vec<(f64, String)> {
        std::fs::read_to_string(std::path::Path::new(out_dir).join(format!("{stem}.tsv")))
            .unwrap()
            .lines()
            .map(|l| {
                let f: Vec<&str> = l.split('\t').collect();
                (f[0].parse().unwrap(), f[1].to_string())
            })
            .collect()
    };
    let (a, b) = (tsv("a"), tsv("b"));
    assert!(!a.is_empty());
    assert_eq!(a.len(), b.len(), "WAV and FLAC hold the same audio");
    for (x, y) in a.iter().zip(&b) {
        assert!(x.1 == y.1 && (x.0 - y.0).abs() < 0.001, "{x:?} vs {y:?}");
    }
    for stem in ["c", "d"] {
        assert!(std::path::Path::new(out_dir)
            .join(format!("{stem}.mid"))
            .is_file());
    }

    // Two inputs with the same stem would overwrite each other's output: refused up front.
    let clash = hitscribe(&[
        "transcribe",
        data.join("clip.wav").to_str().unwrap(),
        data.join("clip.flac").to_str().unwrap(),
        "-o",
        out_dir,
    ]);
    assert!(!clash.status.success());
    assert!(String::from_utf8_lossy(&clash.stderr).contains("same output"));
}

/// Transcribes `input` into `dir/<name>.mid` and `.tsv` with `extra` arguments; returns the
/// TSV text and what the CLI said on stderr.
fn transcribe_to_tsv(input: &Path, dir: &Path, name: &str, extra: &[&str]) -> (String, String) {
    let mid = dir.join(format!("{name}.mid"));
    let tsv = dir.join(format!("{name}.tsv"));
    let mut args = vec!["transcribe", input.to_str().unwrap(), "-o"];
    args.extend([
        mid.to_str().unwrap(),
        "--tsv",
        tsv.to_str().unwrap(),
        "--quiet",
    ]);
    args.extend(extra);
    let out = hitscribe(&args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (
        std::fs::read_to_string(tsv).unwrap(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The samples of a WAV file as floats in -1..1, with its spec.
fn read_wav(path: &Path) -> (hound::WavSpec, Vec<f32>) {
    let mut reader = hound::WavReader::open(path).unwrap();
    let spec = reader.spec();
    let samples = match spec.sample_format {
        hound::SampleFormat::Int => {
            let full_scale = (1u32 << (spec.bits_per_sample - 1)) as f32;
            reader
                .samples::<i32>()
                .map(|s| s.unwrap() as f32 / full_scale)
                .collect()
        }
        hound::SampleFormat::Float => reader.samples::<f32>().map(|s| s.unwrap()).collect(),
    };
    (spec, samples)
}

/// Writes `samples` (interleaved as in `spec`) as a 32-bit float WAV.
fn write_float_wav(path: &Path, spec: hound::WavSpec, samples: &[f32]) {
    let float_spec = hound::WavSpec {
        bits_per_sample: 32,
        sample_format: hound::SampleFormat::Float,
        ..spec
    };
    let mut writer = hound::WavWriter::create(path, float_spec).unwrap();
    samples
        .iter()
        .for_each(|&s| writer.write_sample(s).unwrap());
    writer.finalize().unwrap();
}

#[test]
fn a_quiet_input_is_named_and_gain_restores_its_notes() {
    let dir = tempfile::tempdir().unwrap();
    let quiet = dir.path().join("quiet.wav");
    let (spec, samples) = read_wav(&demo());
    let down = 10f32.powf(-50.0 / 20.0);
    let samples: Vec<f32> = samples.iter().map(|s| s * down).collect();
    write_float_wav(&quiet, spec, &samples);
    let (_, warned) = transcribe_to_tsv(&quiet, dir.path(), "quiet", &[]);
    assert!(
        warned.contains("warning") && warned.contains("--gain"),
        "{warned}"
    );
    let (restored, said) = transcribe_to_tsv(&quiet, dir.path(), "restored", &["--gain", "50"]);
    assert!(!said.contains("warning"), "{said}");
    let (original, _) = transcribe_to_tsv(&demo(), dir.path(), "original", &[]);
    assert!(!original.is_empty());
    assert_eq!(restored, original, "+50 dB undoes -50 dB");
}
