//! `hitscribe bench --json`: engine measurements for `cargo xtask bench`.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use hitscribe_engine::eval::{score, Event};
use hitscribe_engine::model::{locate_model, FrameDetector, FrameOutput, OnnxModel};
use hitscribe_engine::resample::StreamResampler;
use hitscribe_engine::{
    downmix_interleaved, runtime, DeviceRequest, DrumNote, EngineConfig, Transcriber,
};

use crate::{engine_config, EngineArgs};

/// The committed demo loop.
pub fn demo_loop() -> PathBuf {
    loops_dir().join("demo-colombo-120bpm.wav")
}

fn loops_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../assets/loops")
}

/// Every committed loop with ground truth.
fn all_loops() -> Result<Vec<PathBuf>> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(loops_dir())?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "wav") && p.with_extension("tsv").is_file())
        .collect();
    v.sort();
    Ok(v)
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

/// F-measure over all loops (counts pooled), at `tol` seconds.
fn f_measure(make: &dyn Fn(f64) -> Result<Transcriber>, tol: f64) -> Result<f64> {
    let (mut tp, mut fp, mut fn_) = (0, 0, 0);
    for wav in all_loops()? {
        let a = hitscribe_engine::audio_file::decode(&wav)?;
        let mut mono = Vec::new();
        downmix_interleaved(&a.samples, a.channels, &mut mono);
        let rate = a.sample_rate as f64;
        let mut t = make(rate)?;
        let truth = read_truth(&wav.with_extension("tsv"), &t.contract().class_names)?;
        let mut notes: Vec<DrumNote> = Vec::new();
        for b in mono.chunks(1024) {
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
        let s = score(&det, &truth, tol);
        tp += s.tp;
        fp += s.fp;
        fn_ += s.fn_;
    }
    Ok(2.0 * tp as f64 / ((2 * tp + fp + fn_).max(1)) as f64)
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
    // Batched: what the CLI gets from large blocks (contract v2, `batch_hops()` hops per call).
    let batch = model.batch_hops();
    let mut outs = vec![FrameOutput::default(); batch];
    let calls = 200;
    let c0 = thread_cpu_s();
    for i in 0..calls {
        let off = (i * batch * hop) % (at_model.len() - batch * hop);
        model.step_many(&at_model[off..off + batch * hop], &mut outs)?;
    }
    let batched_hop_ms = (thread_cpu_s() - c0) * 1e3 / (calls * batch) as f64;
    drop(model);

    let audio48 = resample_all(&mono, rate, 48_000)?;

    let mut cfg = engine_config(e, 48_000.0);
    cfg.device = DeviceRequest::Cpu;
    let mut neural = Transcriber::new(cfg.clone())?;
    let engine_cpu = cpu_percent_48k(&mut neural, &audio48);
    // The same at one hop per call (lowest latency), side by side.
    let mut single = Transcriber::new(EngineConfig {
        hops_per_call: 1,
        ..cfg.clone()
    })?;
    let engine_cpu_single = cpu_percent_48k(&mut single, &audio48);
    let latency_single_ms = single.status().latency_ms;
    drop(single);
    let mut base = Transcriber::baseline(48_000.0, Vec::new())?;
    let base_cpu = cpu_percent_48k(&mut base, &audio48);

    let neural_at = |r: f64| -> Result<Transcriber> {
        Ok(Transcriber::new(EngineConfig {
            input_sample_rate: r,
            ..cfg.clone()
        })?)
    };
    let base_at = |r: f64| -> Result<Transcriber> { Ok(Transcriber::baseline(r, Vec::new())?) };
    let neural_f = f_measure(&neural_at, 0.05)?;
    let neural_f5 = f_measure(&neural_at, 0.005)?;
    let base_f = f_measure(&base_at, 0.05)?;
    let base_f5 = f_measure(&base_at, 0.005)?;

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
        "batch_hops": batch,
        "batched_hop_cpu_ms": batched_hop_ms,
        "engine_cpu_percent_48k": engine_cpu,
        "hops_per_call": neural.hops_per_call(),
        "engine_cpu_percent_48k_one_hop_per_call": engine_cpu_single,
        "latency_ms_48k_one_hop_per_call": latency_single_ms,
        "baseline_cpu_percent_48k": base_cpu,
        "neural_f": neural_f,
        "neural_f_5ms": neural_f5,
        "baseline_f": base_f,
        "baseline_f_5ms": base_f5,
        "loops": all_loops()?.iter().map(|p| p.file_name().unwrap_or_default().to_string_lossy().into_owned()).collect::<Vec<_>>(),
        "latency_ms_48k": Transcriber::new(engine_config(e, 48_000.0))?.status().latency_ms,
    });
    if json {
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        println!("{v:#}");
    }
    Ok(())
}
