//! `hitscribe`: drum audio files to MIDI and TSV through the same streaming engine as the plugin.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use hitscribe_engine::audio_file::AudioReader;
use hitscribe_engine::midi_file::{self, MidiNote, MidiOptions};
use hitscribe_engine::{downmix_interleaved, DeviceRequest, DrumNote, EngineConfig, Transcriber};

mod bench;

#[derive(Parser)]
#[command(
    name = "hitscribe",
    version,
    about = "Drum transcription: audio to MIDI drum notes with velocities"
)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(clap::Args, Clone)]
struct EngineArgs {
    /// ONNX model (default: HITSCRIBE_MODEL, next to the binary, or assets/models/)
    #[arg(long)]
    model: Option<PathBuf>,
    /// ONNX Runtime library (default: HITSCRIBE_ORT_LIB, next to the binary, or runtime/)
    #[arg(long)]
    runtime: Option<PathBuf>,
    /// Execution device
    #[arg(long, default_value = "auto")]
    device: DeviceRequest,
    /// Hops the model runs per call in real time (1 = lowest latency; the notes are the same)
    #[arg(long, default_value_t = hitscribe_engine::DEFAULT_HOPS_PER_CALL)]
    hops_per_call: usize,
}

#[derive(Subcommand)]
enum Cmd {
    /// Transcribe WAV/AIFF/FLAC/MP3/OGG files to a Standard MIDI File (and TSV).
    Transcribe(TranscribeArgs),
    /// Show the model contract, latency, ONNX Runtime version and execution provider.
    Info {
        /// Print JSON
        #[arg(long)]
        json: bool,
        /// Host sample rate the latency is computed for (default: the model's rate)
        #[arg(long)]
        rate: Option<f64>,
        #[command(flatten)]
        engine: EngineArgs,
    },
    /// Engine measurements as JSON (used by `cargo xtask bench`).
    #[command(hide = true)]
    Bench {
        /// Print JSON
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        engine: EngineArgs,
    },
}

fn main() -> ExitCode {
    // Like other command line tools, end quietly when the reader of stdout goes away
    // (`hitscribe info | head`) instead of panicking on a broken pipe.
    // SAFETY: restores the default disposition of one signal before any thread starts.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
    let cli = Cli::parse();
    let result = match cli.command {
        Cmd::Transcribe(args) => transcribe(args),
        Cmd::Info { json, rate, engine } => info(json, rate, &engine),
        Cmd::Bench { json, engine } => bench::run(json, &engine),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("hitscribe: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn engine_config(a: &EngineArgs, rate: f64) -> EngineConfig {
    EngineConfig {
        model_path: a.model.clone(),
        runtime_path: a.runtime.clone(),
        device: a.device,
        hops_per_call: a.hops_per_call,
        ..EngineConfig::new(rate)
    }
}

/// Options of `hitscribe transcribe`.
#[derive(clap::Args)]
struct TranscribeArgs {
    /// Input audio files
    #[arg(required = true)]
    inputs: Vec<PathBuf>,
    /// Output .mid (a folder when there are several inputs); default: next to each input
    #[arg(short, long)]
    output: Option<PathBuf>,
    /// Also write `time_seconds<TAB>label<TAB>velocity` lines (a folder with several inputs)
    #[arg(long)]
    tsv: Option<PathBuf>,
    /// Per-class onset threshold, e.g. `--threshold kick=0.4` (repeatable)
    #[arg(long, value_name = "LABEL=VALUE")]
    threshold: Vec<String>,
    /// Per-class retrigger time in ms, e.g. `--retrigger hihat=25` (repeatable)
    #[arg(long, value_name = "LABEL=MS")]
    retrigger: Vec<String>,
    /// MIDI note per class, e.g. `--note hihat=44` (repeatable; default GM 36/38/42)
    #[arg(long, value_name = "LABEL=KEY")]
    note: Vec<String>,
    /// MIDI channel 1..=16
    #[arg(long, default_value_t = 10)]
    channel: u8,
    /// Tempo written into the MIDI file
    #[arg(long, default_value_t = 120.0)]
    bpm: f64,
    /// Global sensitivity 0..1 (0.5 = thresholds as given)
    #[arg(long, default_value_t = 0.5)]
    sensitivity: f32,
    /// Input gain in dB before transcription, -60..=60 (for very quiet recordings: the model
    /// loses notes when the input peaks below about -40 dBFS, and the CLI says so)
    #[arg(
        long,
        default_value_t = 0.0,
        allow_negative_numbers = true,
        value_name = "DB"
    )]
    gain: f32,
    /// Samples per block fed to the streaming engine (large blocks let the model batch hops;
    /// the notes are the same for any block size)
    #[arg(long, default_value_t = 32768)]
    block: usize,
    /// Use the classical spectral-flux baseline instead of the model
    #[arg(long)]
    baseline: bool,
    /// No progress bar or summary
    #[arg(short, long)]
    quiet: bool,
    #[command(flatten)]
    engine: EngineArgs,
}

/// Parses `label=value` pairs against the model's labels.
fn parse_pairs<T: std::str::FromStr>(
    items: &[String],
    labels: &[String],
    what: &str,
) -> Result<Vec<(usize, T)>> {
    items
        .iter()
        .map(|s| {
            let (l, v) = s
                .split_once('=')
                .with_context(|| format!("--{what} expects LABEL=VALUE, got `{s}`"))?;
            let idx = labels.iter().position(|x| x == l.trim()).with_context(|| {
                format!(
                    "--{what}: unknown label `{l}`; the model has {}",
                    labels.join(", ")
                )
            })?;
            let v = v
                .trim()
                .parse::<T>()
                .map_err(|_| anyhow::anyhow!("--{what}: bad value in `{s}`"))?;
            Ok((idx, v))
        })
        .collect()
}

fn build(a: &TranscribeArgs, rate: f64) -> Result<Transcriber> {
    let mut t = if a.baseline {
        Transcriber::baseline(rate, Vec::new())?
    } else {
        Transcriber::new(engine_config(&a.engine, rate))?
    };
    let labels = t.contract().class_names.clone();
    for (i, v) in parse_pairs::<f32>(&a.threshold, &labels, "threshold")? {
        if !(v > 0.0 && v < 1.0) {
            bail!("--threshold {}={v}: must lie between 0 and 1", labels[i]);
        }
        let s = hitscribe_engine::ClassSettings {
            threshold: v,
            ..*t.class_settings(i)
        };
        t.set_class_settings(i, s);
    }
    for (i, v) in parse_pairs::<f32>(&a.retrigger, &labels, "retrigger")? {
        if !(v >= 0.0 && v.is_finite()) {
            bail!("--retrigger {}={v}: must be >= 0", labels[i]);
        }
        let s = hitscribe_engine::ClassSettings {
            retrigger_ms: v,
            ..*t.class_settings(i)
        };
        t.set_class_settings(i, s);
    }
    if !(0.0..=1.0).contains(&a.sensitivity) {
        bail!("--sensitivity must lie in 0..1");
    }
    t.set_sensitivity(a.sensitivity);
    Ok(t)
}

/// Where the outputs of `input` go.
fn output_paths(a: &TranscribeArgs, input: &Path) -> (PathBuf, Option<PathBuf>) {
    let stem = input.file_stem().map_or("out".into(), |s| s.to_os_string());
    let many = a.inputs.len() > 1;
    let named = |base: &Option<PathBuf>, ext: &str| {
        base.as_ref().map(|p| {
            if many || p.is_dir() {
                p.join(&stem).with_extension(ext)
            } else {
                p.clone()
            }
        })
    };
    let mid = named(&a.output, "mid").unwrap_or_else(|| input.with_extension("mid"));
    (mid, named(&a.tsv, "tsv"))
}

fn transcribe(a: TranscribeArgs) -> Result<()> {
    if !(1..=16).contains(&a.channel) {
        bail!("--channel must lie in 1..=16");
    }
    if a.block == 0 {
        bail!("--block must be > 0");
    }
    if !(-60.0..=60.0).contains(&a.gain) {
        bail!("--gain must lie in -60..=60 dB");
    }
    if a.inputs.len() > 1 {
        for d in [&a.output, &a.tsv].into_iter().flatten() {
            std::fs::create_dir_all(d)
                .with_context(|| format!("creating output folder {}", d.display()))?;
        }
    }
    let mut seen = HashMap::new();
    for input in &a.inputs {
        let (mid, _) = output_paths(&a, input);
        if let Some(other) = seen.insert(mid.clone(), input) {
            bail!(
                "{} and {} would write the same output {}; use separate runs or rename",
                other.display(),
                input.display(),
                mid.display()
            );
        }
    }
    let mut engines: HashMap<u32, Transcriber> = HashMap::new();
    let mut failures = 0;
    for input in &a.inputs {
        if let Err(e) = transcribe_one(&a, input, &mut engines) {
            eprintln!("hitscribe: error: {}: {e:#}", input.display());
            failures += 1;
        }
    }
    if failures > 0 {
        bail!("{failures} of {} input(s) failed", a.inputs.len());
    }
    Ok(())
}

/// Blocks the decoder thread may run ahead of the engine.
const DECODE_AHEAD_BLOCKS: usize = 2;

/// Decodes the rest of `reader` (after the already-decoded `packet`) into mono blocks of
/// `block` frames (the last one shorter) and sends them; stops at the first error, which it sends.
fn decode_blocks(
    mut reader: AudioReader,
    mut packet: Vec<f32>,
    channels: usize,
    block: usize,
    blocks: std::sync::mpsc::SyncSender<Result<Vec<f32>>>,
) {
    let mut mono = Vec::new();
    let mut pending: Vec<f32> = Vec::with_capacity(block * 2);
    let result = (|| -> Result<()> {
        loop {
            if reader.channels.max(1) != channels {
                bail!("the channel count changes inside the file");
            }
            downmix_interleaved(&packet, channels, &mut mono);
            pending.extend_from_slice(&mono);
            while pending.len() >= block {
                let rest = pending.split_off(block);
                let full = std::mem::replace(&mut pending, rest);
                if blocks.send(Ok(full)).is_err() {
                    return Ok(()); // the engine side stopped
                }
            }
            if !reader.next_packet(&mut packet)? {
                break;
            }
        }
        let _ = blocks.send(Ok(std::mem::take(&mut pending)));
        Ok(())
    })();
    if let Err(e) = result {
        let _ = blocks.send(Err(e));
    }
}

fn transcribe_one(
    a: &TranscribeArgs,
    input: &Path,
    engines: &mut HashMap<u32, Transcriber>,
) -> Result<()> {
    let t0 = Instant::now();
    // Stream the file: decode a packet, downmix, feed the engine; memory stays flat.
    let mut reader = AudioReader::open(input)?;
    let mut packet = Vec::new();
    let more = reader.next_packet(&mut packet)?;
    let (sample_rate, channels) = (reader.sample_rate, reader.channels.max(1));
    if !more || sample_rate == 0 {
        bail!("no decodable audio");
    }
    let t = match engines.entry(sample_rate) {
        std::collections::hash_map::Entry::Occupied(e) => {
            let t = e.into_mut();
            t.reset();
            t
        }
        std::collections::hash_map::Entry::Vacant(v) => v.insert(build(a, sample_rate as f64)?),
    };
    let total = reader.n_frames.unwrap_or(0);
    let bar = if !a.quiet && total > 60 * sample_rate as u64 {
        let pb = indicatif::ProgressBar::new(total);
        pb.set_style(
            indicatif::ProgressStyle::with_template(
                "{msg} [{bar:40}] {percent:>3}% {elapsed_precise} eta {eta}",
            )
            .expect("static template")
            .progress_chars("=> "),
        );
        pb.set_message(
            input
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned(),
        );
        Some(pb)
    } else {
        None
    };
    let mut notes: Vec<DrumNote> = Vec::new();
    let gain = 10f32.powf(a.gain / 20.0);
    let mut peak = 0f32;
    // Decoding runs on its own thread, one block ahead of the engine (the two overlap on a
    // multi-core machine); the engine sees the same samples in the same order either way.
    std::thread::scope(|scope| -> Result<()> {
        let (blocks, receiver) =
            std::sync::mpsc::sync_channel::<Result<Vec<f32>>>(DECODE_AHEAD_BLOCKS);
        scope.spawn(move || decode_blocks(reader, packet, channels, a.block, blocks));
        for block in receiver {
            let mut block = block?;
            if gain != 1.0 {
                block.iter_mut().for_each(|x| *x *= gain);
            }
            peak = block
                .iter()
                .filter(|x| x.is_finite())
                .fold(peak, |p, x| p.max(x.abs()));
            t.process(&block, &mut notes);
            if let Some(pb) = &bar {
                pb.set_position(t.samples_fed());
            }
        }
        Ok(())
    })?;
    let frames = t.samples_fed();
    t.finish(&mut notes);
    if let Some(pb) = bar {
        pb.finish_and_clear();
    }
    if let Some(e) = &t.status().last_error {
        bail!("inference failed: {e}");
    }
    if let Some(warning) = level_warning(peak, a.gain) {
        eprintln!("hitscribe: warning: {}: {warning}", input.display());
    }
    let duration_s = frames as f64 / sample_rate as f64;
    let rate = sample_rate as f64;
    let contract = t.contract();
    let labels = &contract.class_names;
    let mut keys = contract.gm_notes.clone();
    for (i, k) in parse_pairs::<u8>(&a.note, labels, "note")? {
        if k > 127 {
            bail!("--note {}={k}: MIDI keys are 0..=127", labels[i]);
        }
        keys[i] = k;
    }
    let midi: Vec<MidiNote> = notes
        .iter()
        .map(|n| MidiNote {
            time: n.sample as f64 / rate,
            key: keys[n.class],
            velocity: n.velocity,
            channel: a.channel - 1,
        })
        .collect();
    let (mid_path, tsv_path) = output_paths(a, input);
    // Serialise everything first, then write each file atomically: no partial outputs.
    let bytes = midi_file::to_bytes(
        &midi,
        &MidiOptions {
            bpm: a.bpm,
            ..MidiOptions::default()
        },
    )
    .map_err(|e| anyhow::anyhow!("MIDI: {e}"))?;
    let tsv_text: String = notes
        .iter()
        .map(|n| {
            format!(
                "{:.6}\t{}\t{}\n",
                n.sample as f64 / rate,
                labels[n.class],
                n.velocity
            )
        })
        .collect();
    midi_file::write_atomic(&mid_path, &bytes)?;
    if let Some(p) = &tsv_path {
        midi_file::write_atomic(p, tsv_text.as_bytes())?;
    }
    if !a.quiet {
        let counts: Vec<String> = labels
            .iter()
            .enumerate()
            .map(|(c, l)| format!("{l} {}", notes.iter().filter(|n| n.class == c).count()))
            .collect();
        let secs = t0.elapsed().as_secs_f64();
        println!(
            "{}: {:.2} s, {} Hz, {} ch -> {} notes ({}) -> {}{} [{:.0}x real time, {}]",
            input.display(),
            duration_s,
            sample_rate,
            channels,
            notes.len(),
            counts.join(", "),
            mid_path.display(),
            tsv_path
                .map(|p| format!(", {}", p.display()))
                .unwrap_or_default(),
            duration_s / secs.max(1e-9),
            t.status().provider,
        );
    }
    Ok(())
}

/// Input peak (dBFS, after `--gain`) below which the model loses notes: measured with
/// `model/scripts/level-robustness.sh` (mean F within 0.01 from -1 to -34 dBFS, 0.02 lower at
/// -40, 0.09 at -46).
const QUIET_PEAK_DBFS: f32 = -40.0;
/// Peak level that `--gain` advice aims for, inside the range the model was trained on.
const ADVISED_PEAK_DBFS: f32 = -20.0;

/// What to tell the user about an input whose loudest (finite) sample after `gain_db` is
/// `peak`, if anything.
fn level_warning(peak: f32, gain_db: f32) -> Option<String> {
    if peak == 0.0 {
        return Some("the input is digital silence: no notes".into());
    }
    let db = 20.0 * peak.log10();
    (db < QUIET_PEAK_DBFS).then(|| {
        format!(
            "the input peaks at {db:.1} dBFS; the model loses notes below about {QUIET_PEAK_DBFS} \
             dBFS, so try --gain {:.0}",
            gain_db + ADVISED_PEAK_DBFS - db
        )
    })
}

fn info(json: bool, rate: Option<f64>, e: &EngineArgs) -> Result<()> {
    // Build once at the model's rate to learn it, then at the requested rate.
    let probe = Transcriber::new(engine_config(e, 48_000.0))?;
    let model_rate = probe.contract().sample_rate as f64;
    let host_rate = rate.unwrap_or(model_rate);
    let t = if host_rate == 48_000.0 {
        probe
    } else {
        drop(probe);
        Transcriber::new(engine_config(e, host_rate))?
    };
    let st = t.status();
    let c = t.contract();
    let latency_ms = t.latency_samples() as f64 * 1000.0 / host_rate;
    let latency_model = (latency_ms * model_rate / 1000.0).round() as u64;
    let v = serde_json::json!({
        "contract": c,
        "latency_ms": latency_ms,
        "latency_samples": latency_model,
        "latency_samples_rate": model_rate,
        "input_sample_rate": host_rate,
        "latency_input_samples": t.latency_samples(),
        "model_algorithmic_latency_samples": c.latency_samples,
        "hops_per_call": t.hops_per_call(),
        "ort_version": st.ort_version,
        "runtime_path": st.runtime_path,
        "model_path": st.model_path,
        "execution_provider": st.provider,
        "execution_provider_reason": st.provider_reason,
    });
    if json {
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        println!("model:      {} ({})", c.model_name, st.model_path.display());
        println!("classes:    {}", c.class_names.join(", "));
        println!(
            "model rate: {} Hz, hop {} samples, look-ahead {} frames",
            c.sample_rate, c.hop_samples, c.lookahead_frames
        );
        println!(
            "latency:    {latency_ms:.2} ms = {latency_model} samples at {model_rate} Hz ({} samples at {host_rate} Hz input, {} hops per call)",
            t.latency_samples(),
            t.hops_per_call()
        );
        println!(
            "runtime:    ONNX Runtime {} ({})",
            st.ort_version,
            st.runtime_path.display()
        );
        println!(
            "provider:   {}{}",
            st.provider,
            st.provider_reason
                .as_ref()
                .map(|r| format!(" ({r})"))
                .unwrap_or_default()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quiet_and_silent_inputs_are_named_and_normal_ones_are_not() {
        assert_eq!(level_warning(0.5, 0.0), None);
        assert_eq!(level_warning(0.011, 0.0), None); // -39.2 dBFS
        let quiet = level_warning(0.001, 0.0).unwrap(); // -60 dBFS
        assert!(
            quiet.contains("-60.0 dBFS") && quiet.contains("--gain 40"),
            "{quiet}"
        );
        // The advice counts the gain already applied.
        assert!(level_warning(0.001, 6.0).unwrap().contains("--gain 46"));
        assert!(level_warning(0.0, 0.0).unwrap().contains("digital silence"));
    }
}
