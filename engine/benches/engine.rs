//! Criterion benches: per-hop inference, one second of 48 kHz audio through the engine, and the
//! same through the classical baseline. Needs ONNX Runtime (`cargo xtask fetch-ort`) and the
//! model (assets/models/ or HITSCRIBE_MODEL).

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use hitscribe_engine::model::{locate_model, FrameDetector, FrameOutput, OnnxModel};
use hitscribe_engine::{runtime, DeviceRequest, EngineConfig, Transcriber};

fn signal(rate: usize, seconds: usize) -> Vec<f32> {
    // Decaying noise bursts every 125 ms: drum-like load for the whole pipeline.
    let mut seed = 0x1234_5678u32;
    (0..rate * seconds)
        .map(|i| {
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            let noise = (seed as f32 / u32::MAX as f32) * 2.0 - 1.0;
            let t = (i % (rate / 8)) as f32 / rate as f32;
            0.5 * noise * (-t * 40.0).exp()
        })
        .collect()
}

fn per_hop(c: &mut Criterion) {
    let rt = runtime::ensure_loaded(None).expect("ONNX Runtime");
    let path = locate_model(None).expect("model");
    let (mut model, contract) = OnnxModel::load(rt, &path, DeviceRequest::Cpu).expect("model");
    let hop = contract.hop_samples as usize;
    let x = signal(contract.sample_rate as usize, 2);
    let mut out = FrameOutput::default();
    let mut i = 0;
    c.bench_function("per-hop inference", |b| {
        b.iter(|| {
            let off = (i * hop) % (x.len() - hop);
            i += 1;
            model.step(black_box(&x[off..off + hop]), &mut out).unwrap();
        })
    });
}

fn engine_48k(c: &mut Criterion) {
    let x = signal(48_000, 1);
    let mut t = Transcriber::new(EngineConfig {
        device: DeviceRequest::Cpu,
        ..EngineConfig::new(48_000.0)
    })
    .expect("engine");
    let mut notes = Vec::new();
    c.bench_function("engine, 1 s of 48 kHz audio", |b| {
        b.iter(|| {
            for blk in x.chunks(480) {
                t.process(black_box(blk), &mut notes);
            }
            notes.clear();
        })
    });
    let mut base = Transcriber::baseline(48_000.0, Vec::new()).unwrap();
    c.bench_function("baseline, 1 s of 48 kHz audio", |b| {
        b.iter(|| {
            for blk in x.chunks(480) {
                base.process(black_box(blk), &mut notes);
            }
            notes.clear();
        })
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).measurement_time(std::time::Duration::from_secs(4));
    targets = per_hop, engine_48k
}
criterion_main!(benches);
