//! Streaming behaviour of the engine with the real model and real ONNX Runtime.

mod common;

use common::*;
use hitscribe_engine::eval::score;
use hitscribe_engine::{ClassSettings, EngineConfig, EngineError, Transcriber};

/// Minimum F-measure on the demo loop (validation kit) at ±5 ms.
const MIN_F_5MS: f64 = 0.9;

#[test]
fn block_size_invariance() {
    let (x, rate, _) = demo();
    let mut t = transcriber(rate as f64);
    let reference = run(&mut t, &x, 4096);
    assert!(!reference.is_empty(), "the demo loop must give notes");
    for block in [1, 7, 64, 512, 65_536] {
        t.reset();
        let notes = run(&mut t, &x, block);
        assert_same_notes(
            &notes,
            &reference,
            &format!("block size {block} changed the notes"),
        );
    }
}

#[test]
fn hops_per_call_changes_latency_not_notes() {
    let (x, rate, _) = demo();
    let mut one = transcriber_with_hops(rate as f64, 1);
    let reference = run(&mut one, &x, 512);
    for hops in [2, 3, 8] {
        let mut t = transcriber_with_hops(rate as f64, hops);
        let hop_in =
            t.contract().hop_samples as f64 * rate as f64 / t.contract().sample_rate as f64;
        let extra = t.latency_samples() as f64 - one.latency_samples() as f64;
        assert!(
            (extra - (hops - 1) as f64 * hop_in).abs() <= 1.0,
            "{hops} hops per call: {extra} samples of extra latency"
        );
        for block in [1, 333, 4096] {
            t.reset();
            let notes = run(&mut t, &x, block);
            assert_same_notes(
                &notes,
                &reference,
                &format!("{hops} hops per call, block {block}"),
            );
        }
    }
    let cfg = EngineConfig {
        model_path: Some(model_path()),
        hops_per_call: 0,
        ..EngineConfig::new(48_000.0)
    };
    let err = Transcriber::new(cfg)
        .err()
        .expect("0 hops per call is refused");
    assert!(err.to_string().contains("hops per call"), "{err}");
}

#[test]
fn demo_loops_right_times_and_classes() {
    for wav in all_loops() {
        let (x, rate, truth) = load_loop(&wav);
        let mut t = transcriber(rate as f64);
        let notes = run(&mut t, &x, 512);
        let labels = t.contract().class_names.clone();
        let s = score(
            &note_events(&notes, rate as f64),
            &truth_events(&truth, &labels),
            0.005,
        );
        assert!(
            s.f_measure() >= MIN_F_5MS,
            "{}: F at ±5 ms = {:.3} ({s:?}), want >= {MIN_F_5MS}",
            wav.display(),
            s.f_measure()
        );
        assert!(notes.iter().all(|n| (1..=127).contains(&n.velocity)));
    }
}

#[test]
fn hard_clipped_input_still_transcribes() {
    // +24 dB into a hard clip at full scale: a crushed drum bus, as a clipping converter or an
    // over-driven bus gives. The model trained with saturation and clipping in its augmentation.
    let (x, rate, truth) = demo();
    let crushed: Vec<f32> = x.iter().map(|v| (v * 16.0).clamp(-1.0, 1.0)).collect();
    let mut t = transcriber(rate as f64);
    let labels = t.contract().class_names.clone();
    let clean = run(&mut t, &x, 512);
    t.reset();
    let notes = run(&mut t, &crushed, 512);
    let f = |n: &[hitscribe_engine::DrumNote]| {
        score(
            &note_events(n, rate as f64),
            &truth_events(&truth, &labels),
            0.05,
        )
        .f_measure()
    };
    assert!(
        f(&notes) >= 0.8 && f(&notes) >= f(&clean) - 0.1,
        "clipped F {:.3}, clean F {:.3}",
        f(&notes),
        f(&clean)
    );
    assert!(notes.iter().all(|n| (1..=127).contains(&n.velocity)));
}

#[test]
fn every_supported_rate() {
    let (x, rate, truth) = demo();
    for r in [22_050u32, 44_100, 48_000, 88_200, 96_000, 176_400, 192_000] {
        let y = resample_aligned(&x, rate, r);
        let mut t = transcriber(r as f64);
        assert_eq!(t.input_sample_rate(), r as f64);
        let lat = t.latency_samples() as f64 / r as f64;
        assert!(lat > 0.0 && lat < 0.1, "latency {lat} s at {r} Hz");
        let notes = run(&mut t, &y, 1000);
        assert!(notes.iter().all(|n| (n.sample as usize) < y.len()));
        let labels = t.contract().class_names.clone();
        let s = score(
            &note_events(&notes, r as f64),
            &truth_events(&truth, &labels),
            0.005,
        );
        assert!(
            s.f_measure() >= MIN_F_5MS,
            "{r} Hz: F at ±5 ms = {:.3} ({s:?})",
            s.f_measure()
        );
    }
    for bad in [8_000.0, 22_049.0, 192_001.0, 44_100.5] {
        let err = Transcriber::new(EngineConfig {
            model_path: Some(model_path()),
            ..EngineConfig::new(bad)
        })
        .err()
        .expect("unsupported rate refused");
        assert!(
            matches!(err, EngineError::UnsupportedSampleRate { .. }),
            "{err}"
        );
    }
}

#[test]
fn silence_gives_no_notes() {
    let mut t = transcriber(48_000.0);
    let notes = run(&mut t, &vec![0.0; 48_000 * 10], 480);
    assert!(notes.is_empty(), "{notes:?}");
    let mut acts = Vec::new();
    t.drain_activations(&mut acts);
    assert!(
        acts.len() > 900,
        "one activation frame per hop: {}",
        acts.len()
    );
}

#[test]
fn nan_inf_is_silence_and_the_stream_recovers() {
    let (x, rate, _) = demo();
    let gap = 2 * rate as usize;
    let mut clean = vec![0.0f32; gap];
    clean.extend_from_slice(&x);
    let mut garbage = clean.clone();
    for (i, s) in garbage[..gap].iter_mut().enumerate() {
        *s = match i % 5 {
            0 => f32::NAN,
            1 => f32::INFINITY,
            2 => f32::NEG_INFINITY,
            3 => 1e-39, // denormal
            _ => 0.0,
        };
    }
    let mut t = transcriber(rate as f64);
    let reference = run(&mut t, &clean, 512);
    t.reset();
    let notes = run(&mut t, &garbage, 512);
    assert!(notes
        .iter()
        .all(|n| n.sample as usize >= gap - rate as usize / 100));
    assert_same_notes(&notes, &reference, "garbage must act exactly like silence");
    assert!(
        !notes.is_empty(),
        "the stream recovered and found the drums"
    );
    // Huge finite values are clamped, do not poison the model, and the stream recovers too.
    t.reset();
    let mut loud = clean.clone();
    for s in &mut loud[gap / 2..gap / 2 + 100] {
        *s = 1e30;
    }
    let after = run(&mut t, &loud, 512);
    let late: Vec<_> = after
        .iter()
        .filter(|n| n.sample as usize >= gap)
        .copied()
        .collect();
    let late_ref: Vec<_> = reference
        .iter()
        .filter(|n| n.sample as usize >= gap)
        .copied()
        .collect();
    assert_eq!(late.len(), late_ref.len());
}

#[test]
fn notes_arrive_within_the_reported_latency() {
    let (x, rate, _) = demo();
    for (r, hops) in [
        (44_100u32, 2),
        (48_000, 2),
        (24_000, 2),
        (48_000, 1),
        (24_000, 3),
    ] {
        let y = resample_aligned(&x, rate, r);
        let mut t = transcriber_with_hops(r as f64, hops);
        assert_eq!(t.hops_per_call(), hops);
        let lat = t.latency_samples() as u64;
        let mut notes = Vec::new();
        let mut seen = 0;
        let mut fed = 0u64;
        let mut worst = 0u64;
        for s in y.chunks(1) {
            t.process(s, &mut notes);
            fed += 1;
            for n in &notes[seen..] {
                assert!(
                    fed <= n.sample + lat + 1,
                    "{r} Hz, {hops} hops per call: note at {} arrived after {fed} samples, latency {lat}",
                    n.sample
                );
                worst = worst.max(fed - n.sample);
            }
            seen = notes.len();
        }
        assert!(seen > 0);
        // The bound is tight: the slowest note used nearly all of it (within one hop + chunk).
        let hop_in =
            (t.contract().hop_samples as u64 * r as u64).div_ceil(t.contract().sample_rate as u64);
        assert!(
            worst + 2 * hop_in >= lat,
            "{r} Hz, {hops} hops per call: worst {worst}, latency {lat}"
        );
        let ms = t.status().latency_ms;
        assert!((ms - lat as f64 * 1000.0 / r as f64).abs() < 1e-9);
    }
}

#[test]
fn class_settings_and_sensitivity() {
    let (x, rate, _) = demo();
    let mut t = transcriber(rate as f64);
    let all = run(&mut t, &x, 512);
    let kick = t.contract().class_index("kick").unwrap();
    t.reset();
    t.set_class_settings(
        kick,
        ClassSettings {
            enabled: false,
            ..*t.class_settings(kick)
        },
    );
    let no_kick = run(&mut t, &x, 512);
    assert!(no_kick.iter().all(|n| n.class != kick));
    assert_eq!(
        no_kick.len(),
        all.iter().filter(|n| n.class != kick).count()
    );
    t.reset();
    t.set_class_settings(
        kick,
        ClassSettings {
            enabled: true,
            velocity_min: 100,
            velocity_max: 110,
            ..*t.class_settings(kick)
        },
    );
    let narrow = run(&mut t, &x, 512);
    assert!(narrow
        .iter()
        .filter(|n| n.class == kick)
        .all(|n| (100..=110).contains(&n.velocity)));
    t.reset();
    t.set_sensitivity(0.0);
    let fewer = run(&mut t, &x, 512);
    assert!(fewer.len() <= narrow.len());
}

#[test]
fn status_reports_model_runtime_and_provider() {
    let t = transcriber(48_000.0);
    let st = t.status();
    assert_eq!(st.provider, "CPU");
    assert!(st.ort_version.starts_with("1."), "{}", st.ort_version);
    assert!(st.runtime_path.is_absolute());
    assert_eq!(st.model_name, t.contract().model_name);
    assert_eq!(st.latency_samples, t.latency_samples());
    // CUDA requested on a machine without the GPU build falls back to CPU and says why.
    let cuda = Transcriber::new(EngineConfig {
        model_path: Some(model_path()),
        device: hitscribe_engine::DeviceRequest::Cuda,
        ..EngineConfig::new(48_000.0)
    })
    .unwrap();
    if cuda.status().provider == "CPU" {
        let why = cuda.status().provider_reason.as_deref().unwrap_or("");
        assert!(why.contains("CUDA"), "{why}");
    }
}

#[test]
fn missing_model_is_a_clear_error() {
    let err = Transcriber::new(EngineConfig {
        model_path: Some("/nonexistent/model.onnx".into()),
        ..EngineConfig::new(48_000.0)
    })
    .err()
    .expect("must fail");
    let msg = err.to_string();
    assert!(matches!(err, EngineError::ModelNotFound { .. }), "{msg}");
    assert!(
        msg.contains("/nonexistent/model.onnx") && msg.contains("--model"),
        "{msg}"
    );
}

fn patched_model(from: &[u8], to: &[u8]) -> tempfile::TempPath {
    assert_eq!(from.len(), to.len(), "same length keeps the protobuf valid");
    let mut bytes = std::fs::read(model_path()).unwrap();
    let at = bytes
        .windows(from.len())
        .position(|w| w == from)
        .expect("pattern present in the model");
    bytes[at..at + from.len()].copy_from_slice(to);
    let f = tempfile::Builder::new().suffix(".onnx").tempfile().unwrap();
    std::fs::write(f.path(), &bytes).unwrap();
    f.into_temp_path()
}

#[test]
fn invalid_contract_is_refused() {
    let version = format!(
        "\"contract_version\": {}",
        hitscribe_engine::contract::CONTRACT_VERSION
    );
    let cases: [(&[u8], &[u8], &str); 4] = [
        (
            version.as_bytes(),
            b"\"contract_version\": 7",
            "contract_version",
        ),
        // A state the graph does not have.
        (b"state_tconv0\"", b"state_tconvX\"", "state_tconvX"),
        (
            b"\x0a\x12hitscribe.contract",
            b"\x0a\x12hitscribe.contrakt",
            "missing",
        ),
        (b"\"hop_samples\": ", b"\"hop_sampleZ\": ", "malformed"),
    ];
    for (from, to, expect) in cases {
        let p = patched_model(from, to);
        let err = Transcriber::new(EngineConfig {
            model_path: Some(p.to_path_buf()),
            ..EngineConfig::new(48_000.0)
        })
        .err()
        .expect("invalid contract refused");
        let msg = err.to_string();
        assert!(matches!(err, EngineError::InvalidContract { .. }), "{msg}");
        assert!(
            msg.contains(expect) && msg.contains("refusing model"),
            "{msg}"
        );
    }
}

/// One-shot of a validation kit (held out from training), mono, at `rate`.
fn one_shot(file: &str, rate: u32) -> Vec<f32> {
    let p =
        std::path::Path::new("/usr/share/hydrogen/data/drumkits/ColomboAcousticDrumkit").join(file);
    let a = hitscribe_engine::audio_file::decode(&p)
        .unwrap_or_else(|e| panic!("{e} (install the Debian package hydrogen-drumkits)"));
    let mut mono = Vec::new();
    hitscribe_engine::downmix_interleaved(&a.samples, a.channels, &mut mono);
    let mut x = resample_aligned(&mono, a.sample_rate, rate);
    let peak = x.iter().fold(0f32, |m, v| m.max(v.abs()));
    let start = x.iter().position(|v| v.abs() >= 0.01 * peak).unwrap();
    x.drain(..start);
    x.iter_mut().for_each(|v| *v /= peak);
    x
}

#[test]
fn louder_hits_get_higher_velocities() {
    let rate = 48_000u32;
    for (label, file) in [
        ("kick", "bassdrum-4mics-br-stereo-normal3.flac"),
        ("snare", "snare-opaque-normal-mic-normal_shot2.flac"),
    ] {
        let shot = one_shot(file, rate);
        let gains = [0.15f32, 0.35, 0.9];
        let spacing = rate as usize / 2;
        let mut x = vec![0f32; spacing * (gains.len() * 4 + 1)];
        let mut onsets = Vec::new();
        for rep in 0..4 {
            for (g, &gain) in gains.iter().enumerate() {
                let at = spacing / 2 + (rep * gains.len() + g) * spacing;
                onsets.push((at, g));
                for (d, s) in x[at..]
                    .iter_mut()
                    .zip(&shot[..shot.len().min(spacing - 1000)])
                {
                    *d += gain * s;
                }
            }
        }
        let mut t = transcriber(rate as f64);
        let class = t.contract().class_index(label).unwrap();
        let notes = run(&mut t, &x, 480);
        let mut per_gain = vec![Vec::new(); gains.len()];
        for &(at, g) in &onsets {
            let hit = notes
                .iter()
                .find(|n| n.class == class && (n.sample as i64 - at as i64).abs() <= 240)
                .unwrap_or_else(|| {
                    panic!(
                        "{label} at gain {} (sample {at}) not found in {:?}",
                        gains[g],
                        notes
                            .iter()
                            .filter(|n| (n.sample as i64 - at as i64).abs() < 4800)
                            .collect::<Vec<_>>()
                    )
                });
            per_gain[g].push(hit.velocity as f32);
        }
        let mean: Vec<f32> = per_gain
            .iter()
            .map(|v| v.iter().sum::<f32>() / v.len() as f32)
            .collect();
        assert!(
            mean.windows(2).all(|w| w[0] < w[1]),
            "{label}: mean velocity per gain {gains:?} = {mean:?}"
        );
    }
}

/// Contract v2: one call over many hops gives the numbers of one call per hop (what lets the
/// command line batch while the plugin runs hop by hop).
#[test]
fn batched_model_calls_match_single_hop_calls() {
    use hitscribe_engine::model::{FrameDetector, FrameOutput, OnnxModel};
    let rt = hitscribe_engine::runtime::ensure_loaded(None).expect("runtime");
    let load = || OnnxModel::load(rt, &model_path(), hitscribe_engine::DeviceRequest::Cpu);
    let (mut single, contract) = load().expect("model loads");
    let (mut batched, _) = load().expect("model loads");
    assert!(
        batched.batch_hops() > 1,
        "the shipped model must accept several hops per call"
    );
    let (x, _, _) = demo();
    let hop = contract.hop_samples as usize;
    let hops = 3 * batched.batch_hops() + 5; // whole batches plus a remainder of single hops
    let audio = &x[..hops * hop];
    let mut one = vec![FrameOutput::default(); hops];
    for (h, o) in audio.chunks_exact(hop).zip(one.iter_mut()) {
        single.step(h, o).unwrap();
    }
    let mut many = vec![FrameOutput::default(); hops];
    batched.step_many(audio, &mut many).unwrap();
    let n = contract.n_classes();
    let worst = one
        .iter()
        .zip(&many)
        .flat_map(|(a, b)| (0..n).map(move |c| (a.onset[c] - b.onset[c]).abs()))
        .fold(0f32, f32::max);
    assert!(worst < 1e-4, "batched onsets differ by {worst}");
    assert!(
        one.iter().any(|o| o.onset[..n].iter().any(|&p| p > 0.5)),
        "the loop has onsets"
    );
}
