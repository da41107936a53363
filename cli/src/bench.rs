//! `hitscribe bench --json`: engine measurements for `cargo xtask bench`.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use hitscribe_engine::eval::{score, Event};
use hitscribe_engine::model::{locate_model, FrameDetector, FrameOutput, OnnxModel};
use hitscribe_engine::resample::StreamResampler;
use hitscribe_engine::{downmix_interleaved, runtime, DeviceRequest, DrumNote, Transcriber};

use crate::{engine_config, EngineArgs};

/// The committed demo loop.
pub fn demo_loop() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../assets/loops/demo-colombo-120bpm.wav")
}

fn thread_cpu_s() -> f64 {
    // SAFETY: clock_gettime fills the timespec we pass.
    let mut ts: libc::timespec = unsafe { std::mem::zeroed() };
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    ts.tv_sec as f64 + ts.tv_nsec as f64 * 1e-9
}

fn resample_all(x: &[f32], from: u32, to: u32) -> Result<Vec<f32>> {
    let mut r = StreamResampler::new(from, to)?;
    let mut out = Vec::with_capacity(x.len() * to as usize / from as usize + 8);
    r.push(x, &mut |o| out.extend_from_slice(o));
    Ok(out)
}

fn read_truth(tsv: &Path, labels: &[String]) -> Result<Vec<Event>> {
    let text =
        std::fs::read_to_string(tsv).with_context(|| format!("reading {}", tsv.display()))?;
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let mut it = l.split('\t');
            let time: f64 = it.next().context("time")?.parse()?;
            let label = it.next().context("label")?;
            let class = labels
                .iter()
                .position(|x| x == label)
                .context("unknown label")?;
            Ok(Event { time, class })
        })
        .collect()
}

fn f_measure(t: &mut Transcriber, audio: &[f32], rate: f64, truth: &[Event]) -> f64 {
    let mut notes: Vec<DrumNote> = Vec::new();
    for b in audio.chunks(1024) {
        t.process(b, &mut notes);
    }
    t.finish(&mut notes);
    let det: Vec<Event> = notes
        .iter()
        .map(|n| Event {
            time: n.sample as f64 / rate,
            class: n.class,
        })
        .collect();
    score(&det, truth, 0.05).f_measure()
}

/// CPU time (percent of one core) to run 60 s of 48 kHz audio through `t`.
fn cpu_percent_48k(t: &mut Transcriber, audio48: &[f32]) -> f64 {
    let seconds = 60usize;
    let mut notes = Vec::with_capacity(4096);
    let start = thread_cpu_s();
    let mut fed = 0usize;
    while fed < seconds * 48_000 {
        let off = fed % (audio48.len() - 480);
        t.process(&audio48[off..off + 480], &mut notes);
        notes.clear();
        fed += 480;
    }
    100.0 * (thread_cpu_s() - start) / seconds as f64
}

/// Runs the measurements and prints them.
pub fn run(json: bool, e: &EngineArgs) -> Result<()> {
    let demo = hitscribe_engine::audio_file::decode(&demo_loop())?;
    let mut mono = Vec::new();
    downmix_interleaved(&demo.samples, demo.channels, &mut mono);
    let rate = demo.sample_rate;

    // Per-hop inference on the CPU provider, single thread.
    let rt = runtime::ensure_loaded(e.runtime.as_deref())?;
    let model_path = locate_model(e.model.as_deref())?;
    let (mut model, contract) = OnnxModel::load(rt, &model_path, DeviceRequest::Cpu)?;
    let at_model = resample_all(&mono, rate, contract.sample_rate)?;
    let hop = contract.hop_samples as usize;
    let mut out = FrameOutput::default();
    let n_hops = 3000;
    let mut times = Vec::with_capacity(n_hops);
    let mut cpu_times = Vec::with_capacity(n_hops);
    for i in 0..(n_hops + 50) {
        let off = (i * hop) % (at_model.len() - hop);
        let c0 = thread_cpu_s();
        let t0 = std::time::Instant::now();
        model.step(&at_model[off..off + hop], &mut out)?;
        if i >= 50 {
            times.push(t0.elapsed().as_secs_f64() * 1e3);
            cpu_times.push((thread_cpu_s() - c0) * 1e3);
        }
    }
    times.sort_by(f64::total_cmp);
    cpu_times.sort_by(f64::total_cmp);
    let median = times[times.len() / 2];
    let p99 = times[times.len() * 99 / 100];
    let cpu_median = cpu_times[cpu_times.len() / 2];
    let cpu_p99 = cpu_times[cpu_times.len() * 99 / 100];
    let hop_ms = hop as f64 * 1000.0 / contract.sample_rate as f64;
    drop(model);

    let tsv = demo_loop().with_extension("tsv");
    let truth = read_truth(&tsv, &contract.class_names)?;
    let audio48 = resample_all(&mono, rate, 48_000)?;

    let mut cfg = engine_config(e, 48_000.0);
    cfg.device = DeviceRequest::Cpu;
    let mut neural = Transcriber::new(cfg.clone())?;
    let engine_cpu = cpu_percent_48k(&mut neural, &audio48);
    let mut base = Transcriber::baseline(48_000.0, Vec::new())?;
    let base_cpu = cpu_percent_48k(&mut base, &audio48);

    cfg.input_sample_rate = rate as f64;
    let mut neural = Transcriber::new(cfg)?;
    let neural_f = f_measure(&mut neural, &mono, rate as f64, &truth);
    let mut base = Transcriber::baseline(rate as f64, Vec::new())?;
    let base_f = f_measure(&mut base, &mono, rate as f64, &truth);

    let st = neural.status();
    let v = serde_json::json!({
        "model_name": contract.model_name,
        "provider": st.provider,
        "ort_version": st.ort_version,
        "hop_ms": hop_ms,
        "hop_median_ms": median,
        "hop_p99_ms": p99,
        "hop_cpu_median_ms": cpu_median,
        "hop_cpu_p99_ms": cpu_p99,
        "engine_cpu_percent_48k": engine_cpu,
        "baseline_cpu_percent_48k": base_cpu,
        "neural_f": neural_f,
        "baseline_f": base_f,
        "latency_ms_48k": Transcriber::new(engine_config(e, 48_000.0))?.status().latency_ms,
    });
    if json {
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        println!("{v:#}");
    }
    Ok(())
}
