//! Parts that need no model: MIDI round trip, audio decoding, the classical baseline.

use hitscribe_engine::eval::{score, Event};
use hitscribe_engine::midi_file::{
    read_smf, to_bytes, write_smf, MidiNote, MidiOptions, GM_DRUM_CHANNEL,
};
use hitscribe_engine::Transcriber;

#[test]
fn midi_write_read_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.mid");
    let notes: Vec<MidiNote> = (0..50)
        .map(|i| MidiNote {
            time: i as f64 * 0.1237,
            key: [36, 38, 42][i % 3],
            velocity: (1 + i * 2) as u8,
            channel: GM_DRUM_CHANNEL,
        })
        .collect();
    for bpm in [120.0, 97.5] {
        let opt = MidiOptions {
            bpm,
            ..MidiOptions::default()
        };
        write_smf(&path, &notes, &opt).unwrap();
        let back = read_smf(&path).unwrap();
        assert_eq!(back.len(), notes.len());
        let tick = 60.0 / bpm / opt.ppq as f64;
        for (a, b) in notes.iter().zip(&back) {
            assert_eq!(
                (a.key, a.velocity, a.channel),
                (b.key, b.velocity, b.channel)
            );
            assert!((a.time - b.time).abs() <= tick, "{a:?} vs {b:?}");
        }
    }
    // Only the final file remains: no temporary files left behind.
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, vec![std::ffi::OsString::from("t.mid")]);
    // A failed write leaves nothing behind.
    let bad = dir.path().join("missing-dir/x.mid");
    assert!(write_smf(&bad, &notes, &MidiOptions::default()).is_err());
    assert!(!bad.exists());
    assert!(to_bytes(
        &notes,
        &MidiOptions {
            bpm: 0.0,
            ..MidiOptions::default()
        }
    )
    .is_err());
}

#[test]
fn baseline_detects_the_demo_loop() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap();
    let wav = root.join("assets/loops/demo-colombo-120bpm.wav");
    let audio = hitscribe_engine::audio_file::decode(&wav).unwrap();
    assert_eq!((audio.sample_rate, audio.channels), (44_100, 1));
    assert!((audio.duration_s() - 8.0).abs() < 1e-3);
    let mut t = Transcriber::baseline(44_100.0, Vec::new()).unwrap();
    let mut notes = Vec::new();
    for b in audio.samples.chunks(333) {
        t.process(b, &mut notes);
    }
    t.finish(&mut notes);
    let labels = t.contract().class_names.clone();
    let truth: Vec<Event> = std::fs::read_to_string(wav.with_extension("tsv"))
        .unwrap()
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            Event {
                time: f[0].parse().unwrap(),
                class: labels.iter().position(|x| x == f[1]).unwrap(),
            }
        })
        .collect();
    let det: Vec<Event> = notes
        .iter()
        .map(|n| Event {
            time: n.sample as f64 / 44_100.0,
            class: n.class,
        })
        .collect();
    let s = score(&det, &truth, 0.05);
    assert!(s.f_measure() > 0.5, "baseline F {:.3} {s:?}", s.f_measure());
}

#[test]
fn decodes_wav_aiff_flac_mp3_ogg() {
    // 2 s stereo clips of the demo loop (right = left / 2), encoded with libsndfile.
    let data = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    let wav = hitscribe_engine::audio_file::decode(&data.join("clip.wav")).unwrap();
    assert_eq!(
        (wav.sample_rate, wav.channels, wav.frames()),
        (44_100, 2, 88_200)
    );
    let energy = |s: &[f32], ch: usize| s.iter().skip(ch).step_by(2).map(|x| x * x).sum::<f32>();
    for (file, lossy) in [
        ("clip.flac", false),
        ("clip.aiff", false),
        ("clip.mp3", true),
        ("clip.ogg", true),
    ] {
        let a = hitscribe_engine::audio_file::decode(&data.join(file)).unwrap();
        assert_eq!((a.sample_rate, a.channels), (44_100, 2), "{file}");
        assert!(
            (a.duration_s() - 2.0).abs() < 0.1,
            "{file}: {} s",
            a.duration_s()
        );
        let ratio = energy(&a.samples, 1) / energy(&a.samples, 0);
        assert!(
            (ratio - 0.25).abs() < 0.02,
            "{file}: channel energy ratio {ratio}"
        );
        if !lossy {
            assert_eq!(a.samples.len(), wav.samples.len(), "{file} length");
            let max_diff = a
                .samples
                .iter()
                .zip(&wav.samples)
                .fold(0f32, |m, (x, y)| m.max((x - y).abs()));
            assert!(max_diff < 1e-4, "{file} is lossless, max diff {max_diff}");
        }
    }
    let err = hitscribe_engine::audio_file::decode(&data.join("missing.wav")).unwrap_err();
    assert!(err.to_string().contains("missing.wav"));
}
