//! Renders the demo drum loop from one-shots of a hydrogen kit the model never trained on
//! (see model/VALIDATION_KITS.txt) into `assets/loops/`, with its ground truth as TSV.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use hitscribe_engine::audio_file::decode;
use hitscribe_engine::downmix_interleaved;
use hitscribe_engine::resample::StreamResampler;

const KIT_DIR: &str = "/usr/share/hydrogen/data/drumkits";
const RATE: u32 = 44_100;
const LABELS: [&str; 3] = ["kick", "snare", "hihat"];
const START_S: f64 = 0.25;
const LENGTH_S: f64 = 8.0;

/// One demo loop: a validation kit (held out from training), its one-shots, tempo, pattern.
struct Loop {
    name: &'static str,
    kit: &'static str,
    /// One-shot file per class: kick, snare, hihat.
    files: [&'static str; 3],
    bpm: f64,
    pattern: fn() -> Vec<(u32, usize, u8)>,
}

const LOOPS: [Loop; 2] = [
    Loop {
        name: "demo-colombo-120bpm",
        kit: "ColomboAcousticDrumkit",
        files: [
            "bassdrum-4mics-br-stereo-normal3.flac",
            "snare-opaque-normal-mic-normal_shot2.flac",
            "hihat-closed-1.flac",
        ],
        bpm: 120.0,
        pattern,
    },
    Loop {
        name: "demo-rumpf-100bpm",
        kit: "rumpf_kit_z01_h2",
        files: ["beats_06-38.flac", "beats_01-21.flac", "beats_09-10.flac"],
        bpm: 100.0,
        pattern: pattern_16ths,
    },
];

/// 16th-note hi-hats with accents, a busier kick, backbeat snare with a flam-free ghost note;
/// 3 bars at 100 bpm fit in 8 s.
pub fn pattern_16ths() -> Vec<(u32, usize, u8)> {
    let mut p = Vec::new();
    for bar in 0..3u32 {
        let b = bar * 16;
        for step in 0..16 {
            let vel = match step % 4 {
                0 => 110,
                2 => 85,
                _ => 50,
            };
            p.push((b + step, 2, vel));
        }
        for &(s, v) in &[(0, 125), (3, 70), (8, 115), (10, 95)] {
            p.push((b + s, 0, v));
        }
        p.push((b + 4, 1, 120));
        p.push((b + 12, 1, 110));
        p.push((b + 14, 1, 45));
    }
    p.sort_by_key(|e| (e.0, e.1));
    p
}

/// (step in 16ths from START_S, class, velocity) for the 4 bars of the 120 bpm loop.
pub fn pattern() -> Vec<(u32, usize, u8)> {
    let mut p = Vec::new();
    for bar in 0..4u32 {
        let b = bar * 16;
        for step in (0..16).step_by(2) {
            let vel = if step % 4 == 0 { 100 } else { 72 };
            p.push((b + step, 2, vel));
        }
        if bar == 3 {
            for step in [9, 11, 13, 15] {
                p.push((b + step, 2, 55));
            }
        }
        let kicks: &[(u32, u8)] = match bar % 2 {
            0 => &[(0, 120), (8, 105)],
            _ => &[(0, 118), (6, 80), (8, 110), (11, 90)],
        };
        for &(s, v) in kicks {
            p.push((b + s, 0, v));
        }
        p.push((b + 4, 1, 115));
        p.push((b + 12, 1, if bar == 2 { 90 } else { 120 }));
        if bar == 1 {
            p.push((b + 15, 1, 40));
        }
    }
    p.sort_by_key(|e| (e.0, e.1));
    p
}

fn load_one_shot(path: &Path) -> Result<Vec<f32>> {
    let audio = decode(path).with_context(|| format!("reading {}", path.display()))?;
    let mut mono = Vec::new();
    downmix_interleaved(&audio.samples, audio.channels, &mut mono);
    if audio.sample_rate != RATE {
        let mut r = StreamResampler::new(audio.sample_rate, RATE)?;
        let delay = r.delay_out();
        let mut out = Vec::new();
        mono.extend(std::iter::repeat_n(
            0.0,
            r.chunk_in() * 2 + audio.sample_rate as usize / 10,
        ));
        r.push(&mono, &mut |x| out.extend_from_slice(x));
        mono = out.split_off(delay.min(out.len()));
    }
    // Trim the lead-in so the one-shot starts at its onset (first sample above 1 % of peak).
    let peak = mono.iter().fold(0f32, |m, x| m.max(x.abs()));
    if peak <= 0.0 {
        bail!("{} is silent", path.display());
    }
    let start = mono
        .iter()
        .position(|x| x.abs() >= 0.01 * peak)
        .unwrap_or(0);
    let mut shot = mono.split_off(start);
    for x in &mut shot {
        *x /= peak;
    }
    Ok(shot)
}

/// Renders every demo loop into `assets/loops/<name>.wav` and `<name>.tsv`.
pub fn render_demo(root: &Path) -> Result<()> {
    for l in &LOOPS {
        render_loop(root, l)?;
    }
    Ok(())
}

fn render_loop(root: &Path, l: &Loop) -> Result<()> {
    let kit = Path::new(KIT_DIR).join(l.kit);
    let validation = root.join("model/VALIDATION_KITS.txt");
    if let Ok(v) = std::fs::read_to_string(&validation) {
        if !v.lines().any(|x| x.trim() == l.kit) {
            bail!(
                "{} is not listed in {}; pick a held-out kit",
                l.kit,
                validation.display()
            );
        }
    }
    let shots: Vec<Vec<f32>> = l
        .files
        .iter()
        .map(|f| load_one_shot(&kit.join(f)))
        .collect::<Result<_>>()?;
    let n = (LENGTH_S * RATE as f64) as usize;
    let mut mix = vec![0f32; n];
    let mut tsv = String::new();
    let step_s = 60.0 / l.bpm / 4.0;
    let pattern = (l.pattern)();
    for &(step, class, vel) in &pattern {
        let t = START_S + step as f64 * step_s;
        let at = (t * RATE as f64).round() as usize;
        let gain = 0.5 * (vel as f32 / 127.0).powf(1.5);
        for (m, s) in mix[at.min(n)..].iter_mut().zip(&shots[class]) {
            *m += gain * s;
        }
        writeln!(
            tsv,
            "{:.6}\t{}\t{}",
            at as f64 / RATE as f64,
            LABELS[class],
            vel
        )?;
    }
    let peak = mix.iter().fold(0f32, |m, x| m.max(x.abs()));
    if peak > 0.95 {
        for x in &mut mix {
            *x *= 0.95 / peak;
        }
    }
    let dir = root.join("assets/loops");
    std::fs::create_dir_all(&dir)?;
    let wav: PathBuf = dir.join(format!("{}.wav", l.name));
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: RATE,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(&wav, spec)?;
    for x in &mix {
        w.write_sample((x.clamp(-1.0, 1.0) * 32767.0).round() as i16)?;
    }
    w.finalize()?;
    std::fs::write(dir.join(format!("{}.tsv", l.name)), tsv)?;
    println!(
        "wrote {} and its .tsv ({} notes)",
        wav.display(),
        pattern.len()
    );
    Ok(())
}
