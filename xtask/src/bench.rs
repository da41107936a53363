//! `cargo xtask bench`: measures the release CLI and engine and writes BENCHMARKS.md.

use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

use anyhow::{bail, Context, Result};

const LONG_MINUTES: usize = 5;

fn sh(cmd: &mut Command) -> Result<String> {
    let out = cmd.output().with_context(|| format!("running {cmd:?}"))?;
    if !out.status.success() {
        bail!(
            "{cmd:?} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|s| s.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    format!("{cpu}, {cores} cores visible")
}

/// Runs `cmd` to completion; returns its own peak RSS in MiB (wait4 on that child only).
/// Runs `cmd`; returns its peak memory (MiB) and the CPU time (user + system, s) of all its threads.
fn run_with_maxrss(cmd: &mut Command) -> Result<(f64, f64)> {
    let child = cmd.spawn().with_context(|| format!("running {cmd:?}"))?;
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: wait4 on our own child; fills status and rusage.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    let r = unsafe { libc::wait4(pid, &mut status, 0, &mut ru) };
    if r != pid || !libc::WIFEXITED(status) || libc::WEXITSTATUS(status) != 0 {
        bail!("{cmd:?} failed (status {status})");
    }
    let seconds = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 * 1e-6;
    Ok((
        ru.ru_maxrss as f64 / 1024.0,
        seconds(ru.ru_utime) + seconds(ru.ru_stime),
    ))
}

/// Runs all measurements and rewrites BENCHMARKS.md. `args` may hold `--model PATH`.
pub fn run(root: &Path, args: &[String]) -> Result<()> {
    let model = match args.iter().position(|a| a == "--model") {
        Some(i) => {
            let p = args.get(i + 1).context("--model needs a path")?;
            std::path::PathBuf::from(p)
                .canonicalize()
                .with_context(|| format!("model {p}"))?
        }
        None => hitscribe_engine::model::locate_model(None)?,
    };
    let model_arg = model
        .to_str()
        .context("model path is not UTF-8")?
        .to_string();
    let note = args
        .iter()
        .position(|a| a == "--note")
        .and_then(|i| args.get(i + 1))
        .map(|n| format!("Conditions: {n} "))
        .unwrap_or_default();
    let model_hash = sh(Command::new("sha256sum").arg(&model))
        .ok()
        .and_then(|s| s.split_whitespace().next().map(|h| h[..12].to_string()))
        .unwrap_or_default();
    println!("building the release CLI ...");
    let status = Command::new("cargo")
        .current_dir(root)
        .args(["build", "--release", "-j", "2", "-p", "hitscribe-cli"])
        .status()?;
    if !status.success() {
        bail!("release build failed");
    }
    let cli = root.join("target/release/hitscribe");
    let demo = root.join("assets/loops/demo-colombo-120bpm.wav");

    println!("engine measurements (hitscribe bench) ...");
    let json = sh(Command::new(&cli)
        .current_dir(root)
        .args(["bench", "--json", "--model", &model_arg]))?;
    let b: serde_json::Value = serde_json::from_str(&json).context("parsing bench JSON")?;

    println!("CLI throughput on a {LONG_MINUTES}-minute file ...");
    let dir = root.join("target/bench");
    std::fs::create_dir_all(&dir)?;
    let long = dir.join("long.wav");
    {
        let mut r = hound::WavReader::open(&demo)?;
        let spec = r.spec();
        let loop_samples: Vec<i16> = r.samples::<i16>().collect::<Result<_, _>>()?;
        let mut w = hound::WavWriter::create(&long, spec)?;
        let total = LONG_MINUTES * 60 * spec.sample_rate as usize;
        for i in 0..total {
            w.write_sample(loop_samples[i % loop_samples.len()])?;
        }
        w.finalize()?;
    }
    let t0 = Instant::now();
    let (maxrss, cpu_s) = run_with_maxrss(Command::new(&cli).current_dir(root).args([
        "transcribe",
        long.to_str().expect("utf-8 path"),
        "-o",
        dir.join("long.mid").to_str().expect("utf-8 path"),
        "--device",
        "cpu",
        "--quiet",
        "--model",
        &model_arg,
    ]))?;
    let wall = t0.elapsed().as_secs_f64();
    let audio_s = (LONG_MINUTES * 60) as f64;
    let speed = audio_s / wall;

    let commit = sh(Command::new("git")
        .current_dir(root)
        .args(["rev-parse", "--short", "HEAD"]))
    .unwrap_or_default();
    let date = sh(Command::new("date").args(["-u", "+%Y-%m-%d %H:%M UTC"])).unwrap_or_default();
    let f = |k: &str| b[k].as_f64().unwrap_or(f64::NAN);
    let hop_ms = f("hop_ms");
    let loops = b["loops"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default();
    let mut md = String::new();
    writeln!(md, "# Benchmarks\n")?;
    write!(md, "{note}")?;
    writeln!(
        md,
        "Written by `cargo xtask bench` (do not edit by hand). Machine: {}. Date: {}. Commit: {}. \
         Model: `{}` (file `{}`, sha256 {}…; provider {}), ONNX Runtime {}, one intra-op thread.\n",
        machine(),
        date.trim(),
        commit.trim(),
        b["model_name"].as_str().unwrap_or("?"),
        model.strip_prefix(root).unwrap_or(&model).display(),
        model_hash,
        b["provider"].as_str().unwrap_or("?"),
        b["ort_version"].as_str().unwrap_or("?"),
    )?;
    writeln!(md, "| metric | value | target | command |")?;
    writeln!(md, "|---|---|---|---|")?;
    let rows = [
        (
            "per-hop inference (one hop per call), wall median".to_string(),
            format!(
                "{:.3} ms ({:.1} % of the {hop_ms:.0} ms hop)",
                f("hop_median_ms"),
                100.0 * f("hop_median_ms") / hop_ms
            ),
            "".to_string(),
            "`hitscribe bench --json`",
        ),
        (
            "per-hop inference (one hop per call), wall p99".to_string(),
            format!(
                "{:.3} ms ({:.1} % of the hop)",
                f("hop_p99_ms"),
                100.0 * f("hop_p99_ms") / hop_ms
            ),
            "< 25 % of the hop".to_string(),
            "`hitscribe bench --json`",
        ),
        (
            "per-hop inference (one hop per call), thread CPU time median / p99".to_string(),
            format!(
                "{:.3} / {:.3} ms (p99 {:.1} % of the hop)",
                f("hop_cpu_median_ms"),
                f("hop_cpu_p99_ms"),
                100.0 * f("hop_cpu_p99_ms") / hop_ms
            ),
            "".to_string(),
            "`hitscribe bench --json`",
        ),
        (
            format!(
                "per-hop inference, batched ({} hops per call, as the CLI runs), thread CPU time",
                f("batch_hops")
            ),
            format!("{:.4} ms", f("batched_hop_cpu_ms")),
            "".to_string(),
            "`hitscribe bench --json`",
        ),
        (
            format!(
                "engine CPU at 48 kHz (real time, one core), {} hops per model call (default)",
                f("hops_per_call")
            ),
            format!(
                "{:.2} % of one core (latency {:.0} ms)",
                f("engine_cpu_percent_48k"),
                f("latency_ms_48k")
            ),
            "<= 1 %".to_string(),
            "`hitscribe bench --json`",
        ),
        (
            "engine CPU at 48 kHz, one hop per model call (plugin: Low Latency)".to_string(),
            format!(
                "{:.2} % of one core (latency {:.0} ms)",
                f("engine_cpu_percent_48k_one_hop_per_call"),
                f("latency_ms_48k_one_hop_per_call")
            ),
            "".to_string(),
            "`hitscribe bench --json`",
        ),
        (
            "baseline (spectral flux) CPU at 48 kHz".to_string(),
            format!("{:.2} % of one core", f("baseline_cpu_percent_48k")),
            "".to_string(),
            "`hitscribe bench --json`",
        ),
        (
            format!("F-measure, demo loops ({loops}), neural, ±50 ms / ±5 ms"),
            format!("{:.3} / {:.3}", f("neural_f"), f("neural_f_5ms")),
            "".to_string(),
            "`hitscribe bench --json`",
        ),
        (
            format!("F-measure, demo loops ({loops}), baseline, ±50 ms / ±5 ms"),
            format!("{:.3} / {:.3}", f("baseline_f"), f("baseline_f_5ms")),
            "".to_string(),
            "`hitscribe bench --json`",
        ),
        (
            format!("CLI throughput, {LONG_MINUTES}-min 44.1 kHz WAV"),
            format!(
                "{speed:.0}x real time ({wall:.2} s wall; decoding overlaps on a second thread)"
            ),
            "".to_string(),
            "`hitscribe transcribe target/bench/long.wav -o target/bench/long.mid --device cpu`",
        ),
        (
            "CLI throughput on one core (audio seconds per CPU second, all threads)".to_string(),
            format!("{:.0}x ({cpu_s:.2} CPU s)", audio_s / cpu_s),
            ">= 300x".to_string(),
            "rusage (user + system) of the run above",
        ),
        (
            "CLI peak memory (max RSS)".to_string(),
            format!("{maxrss:.0} MiB"),
            "".to_string(),
            "wait4() rusage of the run above",
        ),
    ];
    for (m, v, t, c) in rows {
        writeln!(md, "| {m} | {v} | {t} | {c} |")?;
    }
    writeln!(
        md,
        "\nNotes: wall-clock p99 includes any preemption by other processes on the 2 cores; the \
         thread-CPU-time row is the engine's own cost. F pools both loops' counts. \
         The baseline's band scales were hand-tuned on the Colombo loop (optimistic there); both \
         loops use validation kits the neural model never trained on."
    )?;
    writeln!(
        md,
        "\nCriterion micro-benchmarks: `cargo bench -p hitscribe-engine` (per-hop inference, \
         one second of 48 kHz audio through the engine and through the baseline)."
    )?;
    // The trainer's accuracy table (model/results/ACCURACY.md) is kept as its own section.
    if let Ok(accuracy) = std::fs::read_to_string(root.join("model/results/ACCURACY.md")) {
        write!(md, "\n{accuracy}")?;
    }
    std::fs::write(root.join("BENCHMARKS.md"), &md)?;
    print!("{md}");
    Ok(())
}
