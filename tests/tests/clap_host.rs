//! The built `hitscribe.clap` inside a clack-host test host, with the engine's classical baseline
//! detector (`HITSCRIBE_ENGINE=baseline`, so no trained model or ONNX Runtime is needed), compared
//! against the engine run directly on the same audio.
//!
//! Build the bundle first: `scripts/test-plugin.sh` (debug + `assert_process_allocs`: an
//! allocation on the audio thread aborts this test binary).

use hitscribe_tests::*;

const DEFAULT_KEYS: [u16; 3] = [36, 38, 42];

fn use_baseline() {
    // SAFETY: every test in this binary sets the same value before loading the plugin.
    unsafe { std::env::set_var("HITSCRIBE_ENGINE", "baseline") };
}

fn random_blocks(seed: u64, n: usize) -> Vec<u32> {
    let mut rng = Rng::new(seed);
    (0..n)
        .map(|i| match i % 4 {
            0 => rng.range(1, 16),
            1 => rng.range(16, 512),
            2 => rng.range(512, 8192),
            _ => rng.range(1, 8192),
        })
        .collect()
}

/// Compare plugin note-ons to the engine reference: same count, keys, velocities; times within
/// 1 ms after subtracting the reported latency.
fn assert_matches_engine(run: &RunResult, sr: f64, max_block: u32, mono: &[f32]) {
    let (reference, engine_latency) = engine_reference(mono, sr);
    assert!(
        reference.len() >= 8,
        "the drum loop should produce plenty of notes, got {}",
        reference.len()
    );
    assert_eq!(
        run.latency,
        engine_latency + worker_margin(sr, max_block),
        "reported latency = engine latency + worker margin"
    );
    let ons = run.note_ons();
    assert_eq!(
        ons.len(),
        reference.len(),
        "note count: {ons:?}\nvs {reference:?}"
    );
    let tol = (sr / 1000.0).round() as i64;
    for (got, want) in ons.iter().zip(&reference) {
        assert_eq!(got.key, DEFAULT_KEYS[want.class], "key of {want:?}");
        assert_eq!(got.channel, 9, "GM drum channel 10");
        assert_eq!(
            (got.velocity * 127.0).round() as u8,
            want.velocity,
            "velocity of {want:?}"
        );
        let t = got.time as i64 - run.latency as i64;
        assert!(
            (t - want.sample as i64).abs() <= tol,
            "time {t} vs engine {} (class {})",
            want.sample,
            want.class
        );
    }
    // every note-on has a note-off 20 ms later (or earlier if retriggered), events in time order
    let offs = run.events.iter().filter(|e| !e.on).count();
    assert_eq!(offs, ons.len());
    assert!(run.events.windows(2).all(|w| w[0].time <= w[1].time));
}

#[test]
fn offline_random_blocks_44k_and_48k_match_engine() {
    use_baseline();
    for (sr, seed) in [(44100.0, 1u64), (48000.0, 2)] {
        let mono = render_drum_loop(sr, 4);
        let cfg = RunConfig {
            sample_rate: sr,
            blocks: random_blocks(seed, 64),
            max_block: 8192,
            offline: true,
            paced: false,
            load_state: None,
            tail: 24000,
            transport_start_s: None,
        };
        let run = run_plugin(&mono, &cfg);
        assert_matches_engine(&run, sr, cfg.max_block, &mono);
        // audio passes through unchanged
        assert_eq!(&run.output[0][..mono.len()], &mono[..]);
        assert_eq!(&run.output[1][..mono.len()], &mono[..]);
    }
}

#[test]
fn offline_block_sizes_1_and_8192_give_identical_notes() {
    use_baseline();
    let sr = 48000.0;
    let mono = render_drum_loop(sr, 1);
    let run = |block: u32| {
        run_plugin(
            &mono,
            &RunConfig {
                sample_rate: sr,
                blocks: vec![block],
                max_block: 8192,
                offline: true,
                paced: false,
                load_state: None,
                tail: 24000,
                transport_start_s: None,
            },
        )
    };
    let a = run(1);
    let b = run(8192);
    assert!(!a.note_ons().is_empty());
    assert_eq!(a.events, b.events, "block size must not change the notes");
    assert_matches_engine(&a, sr, 8192, &mono);
}

#[test]
fn realtime_paced_equals_offline() {
    use_baseline();
    let sr = 44100.0;
    let mono = render_drum_loop(sr, 1);
    let mk = |offline: bool, paced: bool| RunConfig {
        sample_rate: sr,
        blocks: vec![256, 512, 100, 512],
        max_block: 512,
        offline,
        paced,
        load_state: None,
        tail: 22050,
        transport_start_s: None,
    };
    let rt = run_plugin(&mono, &mk(false, true));
    let off = run_plugin(&mono, &mk(true, false));
    assert_eq!(rt.latency, off.latency);
    assert_eq!(
        rt.events, off.events,
        "real time (paced) must equal the offline render"
    );
    assert_matches_engine(&rt, sr, 512, &mono);
    // real time never waits for the worker: process calls take a small fraction of a block
    let mut ratios: Vec<f64> = rt
        .process_times
        .iter()
        .map(|&(ns, frames)| ns as f64 / 1e9 / (frames as f64 / sr))
        .collect();
    ratios.sort_by(|a, b| a.total_cmp(b));
    let median = ratios[ratios.len() / 2];
    let p99 = ratios[ratios.len() * 99 / 100];
    eprintln!(
        "real-time process() cost as a fraction of the block duration: median {median:.5}, p99 {p99:.5}, max {:.5}",
        ratios[ratios.len() - 1]
    );
    assert!(median < 0.1, "median process cost {median} of real time");
}

#[test]
fn state_round_trip_keeps_params_and_capture() {
    use_baseline();
    let sr = 48000.0;
    let mono = render_drum_loop(sr, 1);
    let cfg = RunConfig {
        sample_rate: sr,
        blocks: vec![777],
        max_block: 1024,
        offline: true,
        paced: false,
        load_state: None,
        tail: 24000,
        transport_start_s: None,
    };
    let first = run_plugin(&mono, &cfg);
    let mut state = state_json(&first.saved_state);
    // the capture holds every emitted note, on the stream timeline (no host transport here)
    let capture: serde_json::Value =
        serde_json::from_str(state["fields"]["capture"].as_str().expect("capture field")).unwrap();
    let captured = capture["notes"].as_array().expect("notes");
    assert_eq!(captured.len(), first.note_ons().len());
    let (reference, _) = engine_reference(&mono, sr);
    for (c, r) in captured.iter().zip(&reference) {
        let t = c["timeline_sample"].as_i64().unwrap();
        assert!(
            (t - r.sample as i64).abs() <= 48,
            "capture time {t} vs {}",
            r.sample
        );
    }
    assert_eq!(state["fields"]["state-version"], "1");

    // change the kick note to 40 in the saved state and load it into a fresh instance
    state["params"]["kick_note"] = serde_json::json!({"i32": 40});
    let cfg2 = RunConfig {
        load_state: Some(state_blob(&state)),
        ..cfg.clone()
    };
    let second = run_plugin(&mono, &cfg2);
    let kicks_before = first.note_ons().iter().filter(|n| n.key == 36).count();
    let kicks_after = second.note_ons().iter().filter(|n| n.key == 40).count();
    assert!(kicks_before > 0);
    assert_eq!(
        kicks_before, kicks_after,
        "loaded kick note parameter is used"
    );
    assert!(second.note_ons().iter().all(|n| n.key != 36));
    let resaved = state_json(&second.saved_state);
    assert_eq!(
        resaved["params"]["kick_note"],
        serde_json::json!({"i32": 40})
    );
    // the loaded capture is kept and the new notes are appended
    let capture2: serde_json::Value =
        serde_json::from_str(resaved["fields"]["capture"].as_str().unwrap()).unwrap();
    assert_eq!(
        capture2["notes"].as_array().unwrap().len(),
        captured.len() + second.note_ons().len()
    );
}

#[test]
fn bad_input_nan_silence_and_192k() {
    use_baseline();
    // silence: audio passes, no notes
    let silence = vec![0.0f32; 96000];
    for (sr, block) in [(48000.0, 1u32), (192000.0, 8192)] {
        let run = run_plugin(
            &silence,
            &RunConfig {
                sample_rate: sr,
                blocks: vec![block],
                max_block: 8192,
                offline: true,
                paced: false,
                load_state: None,
                tail: 4096,
                transport_start_s: None,
            },
        );
        assert!(run.latency > 0, "engine runs at {sr} Hz");
        assert!(
            run.note_ons().is_empty(),
            "no notes from silence at {sr} Hz"
        );
        assert!(run.output[0].iter().all(|&x| x == 0.0));
    }
    // NaN and infinity bursts inside a loop at 192 kHz: passed through untouched, the notes
    // elsewhere still come out, nothing crashes
    let sr = 192000.0;
    let mut mono = render_drum_loop(sr, 1);
    for x in &mut mono[1000..1100] {
        *x = f32::NAN;
    }
    mono[5000] = f32::INFINITY;
    let run = run_plugin(
        &mono,
        &RunConfig {
            sample_rate: sr,
            blocks: random_blocks(9, 32),
            max_block: 8192,
            offline: true,
            paced: false,
            load_state: None,
            tail: 96000,
            transport_start_s: None,
        },
    );
    assert!(run.output[0][1000..1100].iter().all(|x| x.is_nan()));
    assert_eq!(run.output[0][5000], f32::INFINITY);
    assert_eq!(&run.output[0][6000..mono.len()], &mono[6000..]);
    let ons = run.note_ons();
    assert!(ons.len() >= 6, "notes after the NaN burst: {}", ons.len());
    // the engine sees the sanitized signal: compare with it
    let sanitized: Vec<f32> = mono
        .iter()
        .map(|x| if x.is_finite() { *x } else { 0.0 })
        .collect();
    assert_matches_engine(&run, sr, 8192, &sanitized);
}

#[test]
fn bundle_is_built_with_the_allocation_checker() {
    // Every test in this binary runs the audio thread under nice-plug's `assert_process_allocs`
    // (an allocation aborts the process); make sure the checker is really in the bundle.
    assert!(
        bundle_has_allocation_checker(),
        "build the bundle with scripts/test-plugin.sh (debug + assert_process_allocs)"
    );
}

#[test]
fn realtime_back_to_back_counts_late_notes_but_never_sends_early() {
    use_baseline();
    // Real-time mode with process calls far faster than real time: the worker cannot keep up, so
    // notes come late. They must never come early, keep their order, keys and velocities.
    let sr = 48000.0;
    let mono = render_drum_loop(sr, 2);
    let cfg = RunConfig {
        offline: false,
        max_block: 64,
        ..RunConfig::offline(sr, vec![64])
    };
    let run = run_plugin(&mono, &cfg);
    let (reference, _) = engine_reference(&mono, sr);
    let ons = run.note_ons();
    assert!(ons.len() <= reference.len());
    for (got, want) in ons.iter().zip(&reference) {
        assert_eq!(got.key, DEFAULT_KEYS[want.class]);
        assert_eq!((got.velocity * 127.0).round() as u8, want.velocity);
        assert!(
            got.time + 48 >= want.sample + run.latency as u64,
            "a note may be late, never early: {} vs {}",
            got.time,
            want.sample + run.latency as u64
        );
    }
    assert!(run.events.windows(2).all(|w| w[0].time <= w[1].time));
}

#[test]
fn capture_uses_host_transport_minus_latency() {
    use_baseline();
    let sr = 44100.0;
    let mono = render_drum_loop(sr, 1);
    let start_s = 10.0;
    let cfg = RunConfig {
        transport_start_s: Some(start_s),
        ..RunConfig::offline(sr, vec![300, 4096, 17])
    };
    let run = run_plugin(&mono, &cfg);
    let state = state_json(&run.saved_state);
    let capture: serde_json::Value =
        serde_json::from_str(state["fields"]["capture"].as_str().unwrap()).unwrap();
    assert_eq!(capture["sample_rate"], 44100.0);
    let notes = capture["notes"].as_array().unwrap();
    let (reference, _) = engine_reference(&mono, sr);
    assert_eq!(notes.len(), reference.len());
    let offset = (start_s * sr) as i64;
    for (c, r) in notes.iter().zip(&reference) {
        assert_eq!(c["on_transport"], true);
        let t = c["timeline_sample"].as_i64().unwrap();
        assert!(
            (t - (offset + r.sample as i64)).abs() <= 44,
            "capture {t} vs source position {}",
            offset + r.sample as i64
        );
        assert_eq!(c["drum"].as_u64().unwrap() as usize, r.class);
        assert_eq!(c["velocity"].as_u64().unwrap() as u8, r.velocity);
    }
}
