//! Renders the demo drum loop from one-shots of a hydrogen kit the model never trained on
//! (see model/VALIDATION_KITS.txt) into `assets/loops/`, with its ground truth as TSV.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use hitscribe_engine::audio_file::decode;
use hitscribe_engine::downmix_interleaved;
use hitscribe_engine::resample::StreamResampler;

/// Kit used for the demo loop (a validation kit, held out from training).
pub const KIT: &str = "ColomboAcousticDrumkit";
const KIT_DIR: &str = "/usr/share/hydrogen/data/drumkits";
const RATE: u32 = 44_100;
/// One-shot per class: kick, snare, hihat.
const SAMPLES: [(&str, &str); 3] = [
    ("kick", "bassdrum-4mics-br-stereo-normal3.flac"),
    ("snare", "snare-opaque-normal-mic-normal_shot2.flac"),
    ("hihat", "hihat-closed-1.flac"),
];
const BPM: f64 = 120.0;
const START_S: f64 = 0.25;
const LENGTH_S: f64 = 8.0;

/// (step in 16ths from START_S, class, velocity) for the 4 bars.
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

/// Renders `assets/loops/demo-colombo-120bpm.wav` and `.tsv`.
pub fn render_demo(root: &Path) -> Result<()> {
    let kit = Path::new(KIT_DIR).join(KIT);
    let validation = root.join("model/VALIDATION_KITS.txt");
    if let Ok(v) = std::fs::read_to_string(&validation) {
        if !v.lines().any(|l| l.trim() == KIT) {
            bail!(
                "{KIT} is not listed in {}; pick a held-out kit",
                validation.display()
            );
        }
    }
    let shots: Vec<Vec<f32>> = SAMPLES
        .iter()
        .map(|(_, f)| load_one_shot(&kit.join(f)))
        .collect::<Result<_>>()?;
    let n = (LENGTH_S * RATE as f64) as usize;
    let mut mix = vec![0f32; n];
    let mut tsv = String::new();
    let step_s = 60.0 / BPM / 4.0;
    for (step, class, vel) in pattern() {
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
            SAMPLES[class].0,
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
    let wav: PathBuf = dir.join("demo-colombo-120bpm.wav");
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
    std::fs::write(dir.join("demo-colombo-120bpm.tsv"), tsv)?;
    println!(
        "wrote {} and its .tsv ({} notes)",
        wav.display(),
        pattern().len()
    );
    Ok(())
}
