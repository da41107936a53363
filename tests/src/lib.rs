//! Shared helpers for the Hitscribe integration tests: a minimal CLAP host (clack-host) that loads
//! the built `hitscribe.clap`, a deterministic drum-loop renderer, and the engine reference.
//!
//! The bundle must be built before `cargo test` runs: see `scripts/test-plugin.sh`, which builds
//! `target/bundled/hitscribe.clap` (debug, with `assert_process_allocs`) and then runs the tests.
//! `HITSCRIBE_CLAP` overrides the bundle path.

use std::ffi::CStr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use clack_extensions::latency::PluginLatency;
use clack_extensions::render::{PluginRender, RenderMode};
use clack_extensions::state::PluginState;
use clack_host::events::event_types::{NoteOffEvent, NoteOnEvent, TransportEvent, TransportFlags};
use clack_host::events::{EventFlags, EventHeader, Match};
use clack_host::prelude::*;
use clack_host::utils::{BeatTime, SecondsTime};

/// Path of the CLAP bundle under test.
pub fn clap_path() -> PathBuf {
    if let Ok(p) = std::env::var("HITSCRIBE_CLAP") {
        return PathBuf::from(p);
    }
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let p = root.join("target/bundled/hitscribe.clap");
    assert!(
        p.is_file(),
        "{} is missing: build it first with scripts/test-plugin.sh (or cargo xtask bundle hitscribe-plugin)",
        p.display()
    );
    p
}

/// Host callbacks shared across threads: records restart and callback requests.
#[derive(Default)]
pub struct TestHostShared {
    /// The plugin asked for a main-thread callback.
    pub callback_requested: AtomicBool,
    /// The plugin asked for a restart (deactivate + activate).
    pub restart_requested: AtomicBool,
}

impl<'a> SharedHandler<'a> for TestHostShared {
    fn request_restart(&self) {
        self.restart_requested.store(true, Ordering::SeqCst);
    }
    fn request_process(&self) {}
    fn request_callback(&self) {
        self.callback_requested.store(true, Ordering::SeqCst);
    }
}

/// The test host's handler types.
pub struct TestHost;

impl HostHandlers for TestHost {
    type Shared<'a> = TestHostShared;
    type MainThread<'a> = ();
    type AudioProcessor<'a> = ();
}

/// A note event received from the plugin, in absolute stream samples.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HostNote {
    /// Absolute sample position (block start + event time).
    pub time: u64,
    /// MIDI key.
    pub key: u16,
    /// MIDI channel (0-based).
    pub channel: u16,
    /// Velocity 0..1 (note-on) or 0 (note-off).
    pub velocity: f64,
    /// True for note-on, false for note-off.
    pub on: bool,
}

/// How to run the plugin over a signal.
#[derive(Debug, Clone)]
pub struct RunConfig {
    /// Host sample rate.
    pub sample_rate: f64,
    /// Block sizes to cycle through (each block takes the next one).
    pub blocks: Vec<u32>,
    /// Largest block size announced at activation.
    pub max_block: u32,
    /// Offline (bounce) or real-time rendering.
    pub offline: bool,
    /// In real time: pace the process calls at the audio rate (sleep between blocks).
    pub paced: bool,
    /// State to load before activation.
    pub load_state: Option<Vec<u8>>,
    /// Extra silent samples appended so the latency tail comes out.
    pub tail: usize,
    /// Send a playing host transport (seconds timeline, 120 BPM, 4/4) starting at this song
    /// position in seconds; `None` = no transport information at all.
    pub transport_start_s: Option<f64>,
}

impl RunConfig {
    /// Offline rendering at `sample_rate` with the given block sizes (max 8192), 0.5 s tail.
    pub fn offline(sample_rate: f64, blocks: Vec<u32>) -> Self {
        Self {
            sample_rate,
            blocks,
            max_block: 8192,
            offline: true,
            paced: false,
            load_state: None,
            tail: (sample_rate / 2.0) as usize,
            transport_start_s: None,
        }
    }
}

/// Everything observed while running the plugin.
#[derive(Debug, Clone)]
pub struct RunResult {
    /// Latency the plugin reported after activation.
    pub latency: u32,
    /// Note events (on and off) in the order received.
    pub events: Vec<HostNote>,
    /// Output audio, channel 0 and 1.
    pub output: [Vec<f32>; 2],
    /// State saved after processing.
    pub saved_state: Vec<u8>,
    /// Whether the plugin asked for a restart.
    pub restart_requested: bool,
    /// Wall time of each `process` call with its block size: (nanoseconds, frames).
    pub process_times: Vec<(u64, u32)>,
}

impl RunResult {
    /// Note-ons only.
    pub fn note_ons(&self) -> Vec<HostNote> {
        self.events.iter().copied().filter(|e| e.on).collect()
    }
}

fn service_main_thread(instance: &mut PluginInstance<TestHost>) {
    for _ in 0..4 {
        let requested =
            instance.access_shared_handler(|h| h.callback_requested.swap(false, Ordering::SeqCst));
        if requested {
            instance.call_on_main_thread_callback();
        }
    }
}

/// Load the bundle, run `input` (stereo: both channels the same signal) through the plugin and
/// collect its output.
pub fn run_plugin(input: &[f32], cfg: &RunConfig) -> RunResult {
    let path = clap_path();
    // SAFETY: loading a CLAP bundle runs its init code; this is the plugin under test.
    let entry = unsafe { PluginEntry::load(&path) }.expect("load hitscribe.clap");
    let host_info = HostInfo::new(
        "hitscribe-tests",
        "hitscribe",
        "https://example.invalid",
        "0.1",
    )
    .expect("host info");
    let factory = entry.get_plugin_factory().expect("plugin factory");
    let id: &CStr = factory
        .plugin_descriptors()
        .find_map(|d| {
            d.id()
                .filter(|id| id.to_bytes() == b"org.hitscribe.hitscribe")
        })
        .expect("Hitscribe descriptor");
    let id = id.to_owned();
    let mut instance = PluginInstance::<TestHost>::new(
        |_| TestHostShared::default(),
        |_| (),
        &entry,
        &id,
        &host_info,
    )
    .expect("instantiate");

    if let Some(state) = &cfg.load_state {
        let ext: PluginState = instance
            .plugin_handle()
            .get_extension()
            .expect("state extension");
        ext.load(&instance.plugin_handle(), &mut state.as_slice())
            .expect("state load");
    }
    let render: PluginRender = instance
        .plugin_handle()
        .get_extension()
        .expect("render extension");
    let mode = if cfg.offline {
        RenderMode::Offline
    } else {
        RenderMode::Realtime
    };
    render
        .set(&instance.plugin_handle(), mode)
        .expect("render mode");

    let audio_config = PluginAudioConfiguration {
        sample_rate: cfg.sample_rate,
        min_frames_count: 1,
        max_frames_count: cfg.max_block,
    };
    let processor = instance
        .activate(|_, _| (), audio_config)
        .expect("activate");
    service_main_thread(&mut instance);
    let latency_ext: PluginLatency = instance
        .plugin_handle()
        .get_extension()
        .expect("latency extension");
    let latency = latency_ext.get(&instance.plugin_handle());

    let total = input.len() + cfg.tail;
    let signal: Vec<f32> = input
        .iter()
        .copied()
        .chain(std::iter::repeat_n(0.0, cfg.tail))
        .collect();
    let mut out = [vec![0.0f32; total], vec![0.0f32; total]];
    let mut events = Vec::new();
    let mut process_times = Vec::new();

    let mut processor = processor.start_processing().expect("start processing");
    let mut in_ports = AudioPorts::with_capacity(2, 1);
    let mut out_ports = AudioPorts::with_capacity(2, 1);
    let mut in_bufs = [
        vec![0.0f32; cfg.max_block as usize],
        vec![0.0f32; cfg.max_block as usize],
    ];
    let mut out_bufs = [
        vec![0.0f32; cfg.max_block as usize],
        vec![0.0f32; cfg.max_block as usize],
    ];
    let mut out_events = EventBuffer::with_capacity(1024);
    let in_events = EventBuffer::new();
    let started = Instant::now();
    let mut pos = 0usize;
    let mut bi = 0usize;
    while pos < total {
        let b = (cfg.blocks[bi % cfg.blocks.len()] as usize)
            .min(cfg.max_block as usize)
            .min(total - pos);
        bi += 1;
        for buf in &mut in_bufs {
            buf[..b].copy_from_slice(&signal[pos..pos + b]);
        }
        out_events.clear();
        {
            let [l, r] = &mut in_bufs;
            let input_audio = in_ports.with_input_buffers([AudioPortBuffer {
                latency: 0,
                channels: AudioPortBufferType::f32_input_only(
                    [&mut l[..b], &mut r[..b]]
                        .into_iter()
                        .map(InputChannel::variable),
                ),
            }]);
            let [ol, or] = &mut out_bufs;
            let mut output_audio = out_ports.with_output_buffers([AudioPortBuffer {
                latency: 0,
                channels: AudioPortBufferType::f32_output_only(
                    [&mut ol[..b], &mut or[..b]].into_iter(),
                ),
            }]);
            let transport = cfg.transport_start_s.map(|t0| TransportEvent {
                header: EventHeader::new_core(0, EventFlags::empty()),
                flags: TransportFlags::IS_PLAYING
                    | TransportFlags::HAS_SECONDS_TIMELINE
                    | TransportFlags::HAS_TEMPO
                    | TransportFlags::HAS_TIME_SIGNATURE,
                song_pos_beats: BeatTime::from_int(0),
                song_pos_seconds: SecondsTime::from_float(t0 + pos as f64 / cfg.sample_rate),
                tempo: 120.0,
                tempo_inc: 0.0,
                loop_start_beats: BeatTime::from_int(0),
                loop_end_beats: BeatTime::from_int(0),
                loop_start_seconds: SecondsTime::from_int(0),
                loop_end_seconds: SecondsTime::from_int(0),
                bar_start: BeatTime::from_int(0),
                bar_number: 0,
                time_signature_numerator: 4,
                time_signature_denominator: 4,
            });
            let t0 = Instant::now();
            processor
                .process(
                    &input_audio,
                    &mut output_audio,
                    &in_events.as_input(),
                    &mut out_events.as_output(),
                    Some(pos as u64),
                    transport.as_ref(),
                )
                .expect("process");
            process_times.push((t0.elapsed().as_nanos() as u64, b as u32));
        }
        for (o, buf) in out.iter_mut().zip(&out_bufs) {
            o[pos..pos + b].copy_from_slice(&buf[..b]);
        }
        for e in out_events.iter() {
            if let Some(on) = e.as_event::<NoteOnEvent>() {
                events.push(note(pos, on.time(), on.pckn(), on.velocity(), true));
            } else if let Some(off) = e.as_event::<NoteOffEvent>() {
                events.push(note(pos, off.time(), off.pckn(), 0.0, false));
            }
        }
        pos += b;
        if cfg.paced {
            let due = Duration::from_secs_f64(pos as f64 / cfg.sample_rate);
            if let Some(wait) = due.checked_sub(started.elapsed()) {
                std::thread::sleep(wait);
            }
        }
    }
    let processor = processor.stop_processing();
    instance.deactivate(processor);
    service_main_thread(&mut instance);
    let restart_requested =
        instance.access_shared_handler(|h| h.restart_requested.load(Ordering::SeqCst));

    let state_ext: PluginState = instance
        .plugin_handle()
        .get_extension()
        .expect("state extension");
    let mut saved_state = Vec::new();
    state_ext
        .save(&instance.plugin_handle(), &mut saved_state)
        .expect("state save");
    drop(instance);
    RunResult {
        latency,
        events,
        output: out,
        saved_state,
        restart_requested,
        process_times,
    }
}

fn note(block_start: usize, time: u32, pckn: Pckn, velocity: f64, on: bool) -> HostNote {
    let m = |x: Match<u16>| match x {
        Match::Specific(v) => v,
        Match::All => u16::MAX,
    };
    HostNote {
        time: block_start as u64 + time as u64,
        key: m(pckn.key),
        channel: m(pckn.channel),
        velocity,
        on,
    }
}

/// Deterministic pseudo-random numbers (xorshift), for noise and block sizes.
pub struct Rng(u64);

impl Rng {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Self {
        Self(seed.max(1))
    }
    /// Next value in 0..1.
    pub fn next_f32(&mut self) -> f32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 40) as f32 / (1u64 << 24) as f32
    }
    /// Next integer in `lo..=hi`.
    pub fn range(&mut self, lo: u32, hi: u32) -> u32 {
        lo + (self.next_f32() * (hi - lo + 1) as f32) as u32 % (hi - lo + 1)
    }
}

/// Render a two-bar rock beat (kick, snare, closed hi-hat eighths) at 120 BPM, `bars` bars long,
/// with a little velocity variation. Returns mono samples.
pub fn render_drum_loop(sample_rate: f64, bars: usize) -> Vec<f32> {
    let beat = 0.5; // seconds at 120 BPM
    let len = (bars as f64 * 4.0 * beat * sample_rate) as usize + (sample_rate * 0.5) as usize;
    let mut out = vec![0.0f32; len];
    let mut rng = Rng::new(0x5eed);
    let sr = sample_rate as f32;
    let mut add = |t: f64, f: &mut dyn FnMut(f32) -> f32, dur: f32| {
        let start = (t * sample_rate) as usize;
        let n = (dur * sr) as usize;
        for i in 0..n {
            if let Some(o) = out.get_mut(start + i) {
                *o += f(i as f32 / sr);
            }
        }
    };
    for bar in 0..bars {
        for eighth in 0..8 {
            let t = (bar * 4) as f64 * beat + eighth as f64 * beat / 2.0;
            let accent = 0.8 + 0.2 * rng.next_f32();
            // hi-hat on every eighth
            let mut hh_rng = Rng::new((bar * 8 + eighth + 7) as u64);
            let mut prev = 0.0f32;
            add(
                t,
                &mut |x| {
                    let w = hh_rng.next_f32() * 2.0 - 1.0;
                    let hp = w - prev;
                    prev = w;
                    0.25 * accent * hp * (-x / 0.03).exp()
                },
                0.08,
            );
            if eighth == 0 || eighth == 5 {
                add(
                    t,
                    &mut |x| {
                        let f = 50.0 + 100.0 * (-x / 0.03).exp();
                        0.9 * accent
                            * (2.0 * std::f32::consts::PI * f * x).sin()
                            * (-x / 0.15).exp()
                    },
                    0.4,
                );
            }
            if eighth == 2 || eighth == 6 {
                let mut sn_rng = Rng::new((bar * 8 + eighth + 1000) as u64);
                add(
                    t,
                    &mut |x| {
                        let noise = sn_rng.next_f32() * 2.0 - 1.0;
                        accent
                            * (0.5 * noise * (-x / 0.08).exp()
                                + 0.4
                                    * (2.0 * std::f32::consts::PI * 190.0 * x).sin()
                                    * (-x / 0.05).exp())
                    },
                    0.25,
                );
            }
        }
    }
    out
}

/// Notes the engine itself finds in `mono` (the reference), with the plugin's default settings.
pub fn engine_reference(mono: &[f32], sample_rate: f64) -> (Vec<hitscribe_engine::DrumNote>, u32) {
    let classes = default_classes();
    let mut t =
        hitscribe_engine::Transcriber::baseline(sample_rate, classes).expect("baseline engine");
    t.set_sensitivity(0.5);
    let mut notes = Vec::new();
    for chunk in mono.chunks(1000) {
        t.process(chunk, &mut notes);
    }
    (notes, t.latency_samples())
}

/// The plugin's default per-class settings (kick, snare, hi-hat).
pub fn default_classes() -> Vec<hitscribe_engine::ClassSettings> {
    [40.0, 40.0, 30.0]
        .into_iter()
        .map(|r| hitscribe_engine::ClassSettings {
            enabled: true,
            threshold: 0.5,
            retrigger_ms: r,
            velocity_min: 1,
            velocity_max: 127,
            velocity_shape: 0.0,
        })
        .collect()
}

/// Worker margin the plugin adds to the engine latency (mirrors `hitscribe_plugin::worker`).
pub fn worker_margin(sample_rate: f64, max_block: u32) -> u32 {
    hitscribe_plugin::worker::worker_margin_samples(sample_rate, max_block)
}

/// Decode a nice-plug CLAP state blob (8-byte little-endian length, then JSON).
pub fn state_json(blob: &[u8]) -> serde_json::Value {
    assert!(blob.len() >= 8, "state blob too short");
    let len = u64::from_le_bytes(blob[..8].try_into().expect("8 bytes")) as usize;
    assert_eq!(len, blob.len() - 8, "state length prefix");
    serde_json::from_slice(&blob[8..]).expect("nice-plug state is JSON")
}

/// Encode a state JSON value the way nice-plug's CLAP wrapper expects it.
pub fn state_blob(state: &serde_json::Value) -> Vec<u8> {
    let json = serde_json::to_vec(state).expect("serialize state");
    let mut blob = (json.len() as u64).to_le_bytes().to_vec();
    blob.extend_from_slice(&json);
    blob
}

/// True if the bundle was built with nice-plug's allocation checker (`assert_process_allocs`):
/// the checker's code is linked into the binary.
pub fn bundle_has_allocation_checker() -> bool {
    let bytes = std::fs::read(clap_path()).expect("read bundle");
    let needle = b"nice_assert_no_alloc";
    bytes.windows(needle.len()).any(|w| w == needle)
}
