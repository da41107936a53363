//! Screenshot test: renders the real editor UI ([`EditorUi::show`]) with a known capture
//! offscreen — egui tessellates, a small software rasterizer below fills the triangles — and
//! writes `target/screenshots/editor.png` (plus `editor-error.png`). No display or GPU needed.

use std::cell::Cell;
use std::collections::HashMap;
use std::path::PathBuf;

use egui::epaint::{ClippedPrimitive, Primitive};
use egui::{Color32, ColorImage, Pos2, Rect, TextureId, Vec2};
use nice_plug::prelude::FloatParam;

use super::host::*;
use super::piano_roll_model::RangeSelection;
use super::ui::{EditorUi, ParamAccess};

const W: usize = 960;
const H: usize = 640;

/// A host with a fixed two-bar groove at 120 BPM.
struct DemoHost {
    notes: Vec<CaptureNote>,
    acts: std::sync::Mutex<Vec<ActivationPoint>>,
    error: Option<String>,
}

impl DemoHost {
    fn new(error: Option<String>) -> Self {
        let mut notes = Vec::new();
        let beat = 0.5;
        let t0 = 10.0;
        for bar in 0..4 {
            let b = t0 + bar as f64 * 4.0 * beat;
            for (i, &(lane, pos, vel)) in [
                (0usize, 0.0, 118u8),
                (0, 1.5, 92),
                (0, 2.0, 110),
                (1, 1.0, 120),
                (1, 3.0, 124),
                (1, 3.75, 38),
            ]
            .iter()
            .enumerate()
            {
                let _ = i;
                notes.push(CaptureNote {
                    time_s: b + pos * beat,
                    lane,
                    key: [36, 38, 42][lane],
                    velocity: vel.saturating_sub(bar as u8 * 3),
                });
            }
            for e in 0..8 {
                notes.push(CaptureNote {
                    time_s: b + e as f64 * beat * 0.5,
                    lane: 2,
                    key: 42,
                    velocity: if e % 2 == 0 { 100 } else { 55 },
                });
            }
        }
        notes.sort_by(|a, b| a.time_s.total_cmp(&b.time_s));
        // activations at 100 frames/s: a bump per note plus sub-threshold ghost bumps
        let mut acts = Vec::new();
        let mut ghosts = Vec::new();
        for bar in 0..4 {
            let b = t0 + bar as f64 * 2.0;
            ghosts.push((1usize, b + 0.75, 0.32f32));
            ghosts.push((1, b + 1.25, 0.41));
            ghosts.push((0, b + 1.75, 0.28));
        }
        for k in 0..((8.6 / 0.01) as usize) {
            let t = 9.7 + k as f64 * 0.01;
            let mut onset = [0.0f32; MAX_LANES];
            for n in &notes {
                let d = ((t - n.time_s) / 0.012) as f32;
                let v = 0.5 + 0.5 * n.velocity as f32 / 127.0;
                onset[n.lane] = onset[n.lane].max(v * (-d * d).exp());
            }
            for &(lane, gt, h) in &ghosts {
                let d = ((t - gt) / 0.012) as f32;
                onset[lane] = onset[lane].max(h * (-d * d).exp());
            }
            for (l, o) in onset.iter_mut().enumerate().take(3) {
                *o += 0.03 * (1.0 + ((t * 37.0 + l as f64).sin() as f32)) * 0.5;
            }
            acts.push(ActivationPoint { time_s: t, onset });
        }
        Self {
            notes,
            acts: std::sync::Mutex::new(acts),
            error,
        }
    }
}

impl EditorHost for DemoHost {
    fn lanes(&self) -> Vec<LaneInfo> {
        ["kick", "snare", "hihat"]
            .iter()
            .zip([36, 38, 42])
            .map(|(n, k)| LaneInfo {
                name: n.to_string(),
                gm_note: k,
            })
            .collect()
    }
    fn threshold_param(&self, _lane: usize) -> Option<&FloatParam> {
        None
    }
    fn capture_notes_since(&self, since: u64, out: &mut Vec<CaptureNote>) -> u64 {
        out.extend_from_slice(&self.notes[since as usize..]);
        self.notes.len() as u64
    }
    fn capture_epoch(&self) -> u64 {
        1
    }
    fn drain_activations(&self, out: &mut Vec<ActivationPoint>) {
        out.append(&mut self.acts.lock().unwrap());
    }
    fn clear_capture(&self) {}
    fn transport(&self) -> TransportInfo {
        TransportInfo {
            playing: false,
            position_s: Some(17.9),
            tempo_bpm: Some(120.0),
            time_sig: Some((4, 4)),
        }
    }
    fn status(&self) -> StatusInfo {
        StatusInfo {
            model_name: Some("hitscribe-causal-v1".into()),
            provider: Some("CPU".into()),
            provider_reason: Some(
                "CUDA was asked for (Auto) but the CUDA runtime (libcudart.so.13) was not found; \
                 running on CPU."
                    .into(),
            ),
            latency_ms: Some(31.3),
            worker_load: Some(0.12),
            late_notes: 2,
            error: self.error.clone(),
            sample_rate: Some(48000.0),
        }
    }
}

/// Thresholds in cells; every call logged.
struct FakeParams {
    values: [Cell<f32>; 3],
    log: std::cell::RefCell<Vec<String>>,
}

impl FakeParams {
    fn new(values: [f32; 3]) -> Self {
        Self {
            values: values.map(Cell::new),
            log: Default::default(),
        }
    }
}

impl ParamAccess for FakeParams {
    fn threshold(&self, lane: usize) -> Option<f32> {
        self.values.get(lane).map(Cell::get)
    }
    fn begin(&self, lane: usize) {
        self.log.borrow_mut().push(format!("begin {lane}"));
    }
    fn set(&self, lane: usize, value: f32) {
        self.log.borrow_mut().push(format!("set {lane}"));
        self.values[lane].set(value);
    }
    fn end(&self, lane: usize) {
        self.log.borrow_mut().push(format!("end {lane}"));
    }
}

/// Runs the UI a few passes and rasterizes the last one into RGBA8.
fn render(host: &DemoHost, ui_state: &mut EditorUi, params: &FakeParams) -> Vec<u8> {
    let ctx = egui::Context::default();
    ctx.set_visuals(egui::Visuals::dark());
    let mut textures: HashMap<TextureId, ColorImage> = HashMap::new();
    let mut last = None;
    for _ in 0..3 {
        let raw = egui::RawInput {
            screen_rect: Some(Rect::from_min_size(
                Pos2::ZERO,
                Vec2::new(W as f32, H as f32),
            )),
            ..Default::default()
        };
        let out = ctx.run_ui(raw, |ui| {
            ui_state.poll(host);
            let mut drag = |_: &std::path::Path| Err("offscreen test".to_string());
            ui_state.show(ui, host, params, &mut drag);
        });
        for (id, delta) in out
            .textures_delta
            .set
            .iter()
            .flat_map(|(id, v)| v.iter().map(move |d| (id, d)))
        {
            let egui::ImageData::Color(img) = &delta.image;
            match delta.pos {
                None => {
                    textures.insert(*id, (**img).clone());
                }
                Some([x0, y0]) => {
                    let t = textures.get_mut(id).expect("patch of unknown texture");
                    for y in 0..img.size[1] {
                        for x in 0..img.size[0] {
                            t.pixels[(y0 + y) * t.size[0] + x0 + x] =
                                img.pixels[y * img.size[0] + x];
                        }
                    }
                }
            }
        }
        let mut out = out;
        out.textures_delta.clear();
        last = Some(out);
    }
    let out = last.unwrap();
    let prims = ctx.tessellate(out.shapes, out.pixels_per_point);
    rasterize(&prims, &textures, out.pixels_per_point)
}

fn rasterize(
    prims: &[ClippedPrimitive],
    textures: &HashMap<TextureId, ColorImage>,
    ppp: f32,
) -> Vec<u8> {
    let bg = [27.0f32, 27.0, 27.0, 255.0];
    let mut px: Vec<[f32; 4]> = vec![bg; W * H];
    for p in prims {
        let Primitive::Mesh(mesh) = &p.primitive else {
            continue;
        };
        let Some(tex) = textures.get(&mesh.texture_id) else {
            continue;
        };
        let clip = p.clip_rect;
        let cx0 = ((clip.min.x * ppp).floor().max(0.0)) as usize;
        let cy0 = ((clip.min.y * ppp).floor().max(0.0)) as usize;
        let cx1 = ((clip.max.x * ppp).ceil().min(W as f32)) as usize;
        let cy1 = ((clip.max.y * ppp).ceil().min(H as f32)) as usize;
        for tri in mesh.indices.chunks_exact(3) {
            let v = [
                mesh.vertices[tri[0] as usize],
                mesh.vertices[tri[1] as usize],
                mesh.vertices[tri[2] as usize],
            ];
            let p: Vec<Pos2> = v
                .iter()
                .map(|v| Pos2::new(v.pos.x * ppp, v.pos.y * ppp))
                .collect();
            let area =
                (p[1].x - p[0].x) * (p[2].y - p[0].y) - (p[2].x - p[0].x) * (p[1].y - p[0].y);
            if area.abs() < 1e-9 {
                continue;
            }
            let minx = p
                .iter()
                .map(|q| q.x)
                .fold(f32::MAX, f32::min)
                .floor()
                .max(cx0 as f32) as usize;
            let maxx = (p.iter().map(|q| q.x).fold(f32::MIN, f32::max).ceil() as usize).min(cx1);
            let miny = p
                .iter()
                .map(|q| q.y)
                .fold(f32::MAX, f32::min)
                .floor()
                .max(cy0 as f32) as usize;
            let maxy = (p.iter().map(|q| q.y).fold(f32::MIN, f32::max).ceil() as usize).min(cy1);
            for y in miny..maxy {
                for x in minx..maxx {
                    let (sx, sy) = (x as f32 + 0.5, y as f32 + 0.5);
                    let w0 = ((p[1].x - sx) * (p[2].y - sy) - (p[2].x - sx) * (p[1].y - sy)) / area;
                    let w1 = ((p[2].x - sx) * (p[0].y - sy) - (p[0].x - sx) * (p[2].y - sy)) / area;
                    let w2 = 1.0 - w0 - w1;
                    if w0 < 0.0 || w1 < 0.0 || w2 < 0.0 {
                        continue;
                    }
                    let u = w0 * v[0].uv.x + w1 * v[1].uv.x + w2 * v[2].uv.x;
                    let vv = w0 * v[0].uv.y + w1 * v[1].uv.y + w2 * v[2].uv.y;
                    let t = sample(tex, u, vv);
                    let mut src = [0.0f32; 4];
                    for (c, s) in src.iter_mut().enumerate() {
                        let vc = w0 * v[0].color[c] as f32
                            + w1 * v[1].color[c] as f32
                            + w2 * v[2].color[c] as f32;
                        *s = vc * t[c] / 255.0;
                    }
                    let d = &mut px[y * W + x];
                    let ia = 1.0 - src[3] / 255.0;
                    for c in 0..4 {
                        d[c] = src[c] + d[c] * ia;
                    }
                }
            }
        }
    }
    px.iter()
        .flat_map(|c| c.map(|v| v.round().clamp(0.0, 255.0) as u8))
        .collect()
}

/// Bilinear sample of a premultiplied texture, 0..255 per channel.
fn sample(tex: &ColorImage, u: f32, v: f32) -> [f32; 4] {
    let (w, h) = (tex.size[0], tex.size[1]);
    let x = (u * w as f32 - 0.5).clamp(0.0, (w - 1) as f32);
    let y = (v * h as f32 - 0.5).clamp(0.0, (h - 1) as f32);
    let (x0, y0) = (x.floor() as usize, y.floor() as usize);
    let (x1, y1) = ((x0 + 1).min(w - 1), (y0 + 1).min(h - 1));
    let (fx, fy) = (x - x0 as f32, y - y0 as f32);
    let g = |xx: usize, yy: usize| -> Color32 { tex.pixels[yy * w + xx] };
    let mut out = [0.0; 4];
    for (c, o) in out.iter_mut().enumerate() {
        let a = g(x0, y0)[c] as f32 * (1.0 - fx) + g(x1, y0)[c] as f32 * fx;
        let b = g(x0, y1)[c] as f32 * (1.0 - fx) + g(x1, y1)[c] as f32 * fx;
        *o = a * (1.0 - fy) + b * fy;
    }
    out
}

/// Minimal PNG encoder (RGBA8, stored deflate blocks).
fn png(w: usize, h: usize, rgba: &[u8]) -> Vec<u8> {
    fn crc32(data: &[u8]) -> u32 {
        let mut c = 0xffff_ffffu32;
        for &b in data {
            c ^= b as u32;
            for _ in 0..8 {
                c = if c & 1 != 0 {
                    0xedb8_8320 ^ (c >> 1)
                } else {
                    c >> 1
                };
            }
        }
        !c
    }
    fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        let mut body = kind.to_vec();
        body.extend_from_slice(data);
        out.extend_from_slice(&body);
        out.extend_from_slice(&crc32(&body).to_be_bytes());
    }
    let mut raw = Vec::with_capacity((w * 4 + 1) * h);
    for row in rgba.chunks_exact(w * 4) {
        raw.push(0);
        raw.extend_from_slice(row);
    }
    let mut z = vec![0x78, 0x01];
    let blocks: Vec<&[u8]> = raw.chunks(65535).collect();
    for (i, b) in blocks.iter().enumerate() {
        z.push((i + 1 == blocks.len()) as u8);
        z.extend_from_slice(&(b.len() as u16).to_le_bytes());
        z.extend_from_slice(&(!(b.len() as u16)).to_le_bytes());
        z.extend_from_slice(b);
    }
    let (mut a, mut b) = (1u32, 0u32);
    for &x in &raw {
        a = (a + x as u32) % 65521;
        b = (b + a) % 65521;
    }
    z.extend_from_slice(&((b << 16) | a).to_be_bytes());
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&(w as u32).to_be_bytes());
    ihdr.extend_from_slice(&(h as u32).to_be_bytes());
    ihdr.extend_from_slice(&[8, 6, 0, 0, 0]);
    chunk(&mut out, b"IHDR", &ihdr);
    chunk(&mut out, b"IDAT", &z);
    chunk(&mut out, b"IEND", &[]);
    out
}

fn screenshot_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("HITSCRIBE_SCREENSHOT_DIR") {
        return PathBuf::from(d);
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"));
    target.join("screenshots")
}

fn count_near(rgba: &[u8], rgb: [u8; 3], tol: i32) -> usize {
    rgba.chunks_exact(4)
        .filter(|p| (0..3).all(|c| (p[c] as i32 - rgb[c] as i32).abs() <= tol))
        .count()
}

#[test]
fn editor_screenshot() {
    let host = DemoHost::new(None);
    let lanes = host.lanes();
    let params = FakeParams::new([0.5, 0.5, 0.45]);
    let mut ui = EditorUi::new(lanes, Some(std::env::temp_dir()));
    {
        let v = ui.view_mut();
        v.follow = false;
        v.start_s = 9.6;
        v.span_s = 8.6;
    }
    ui.set_selection(Some(RangeSelection::from_points(12.0, 14.0)));
    // a running threshold drag on the snare lane: 0.5 -> 0.3 adds the ghost notes
    ui.set_preview_gesture(1, 0.5, 0.3);
    let rgba = render(&host, &mut ui, &params);
    assert_eq!(ui.mirror().notes().len(), host.notes.len());
    let dir = screenshot_dir();
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("editor.png");
    std::fs::write(&path, png(W, H, &rgba)).unwrap();
    eprintln!("wrote {}", path.display());
    // Loud notes are drawn red-ish, preview additions green, the threshold line orange.
    let loud = super::piano_roll_model::velocity_to_rgb(124);
    eprintln!(
        "pixels: loud {} added {} threshold {}",
        count_near(&rgba, loud, 12),
        count_near(&rgba, [90, 230, 120], 20),
        count_near(&rgba, [255, 170, 60], 30)
    );
    assert!(count_near(&rgba, loud, 12) > 100, "no loud note bars drawn");
    assert!(
        count_near(&rgba, [90, 230, 120], 20) > 20,
        "no preview additions drawn"
    );
    assert!(
        count_near(&rgba, [255, 170, 60], 30) > 500,
        "no threshold lines drawn"
    );

    let host = DemoHost::new(Some(
        "ONNX Runtime library not found (looked in the plugin's lib/ folder and HITSCRIBE_ORT_LIB)."
            .into(),
    ));
    let mut ui = EditorUi::new(host.lanes(), Some(std::env::temp_dir()));
    ui.view_mut().fit((10.0, 17.9));
    let rgba = render(&host, &mut ui, &params);
    std::fs::write(dir.join("editor-error.png"), png(W, H, &rgba)).unwrap();
    assert!(
        count_near(&rgba, [70, 28, 28], 3) > 1000,
        "error box not drawn"
    );
}

/// Runs one UI frame with `events`.
fn frame(
    ctx: &egui::Context,
    host: &DemoHost,
    ui_state: &mut EditorUi,
    params: &FakeParams,
    events: Vec<egui::Event>,
) {
    let raw = egui::RawInput {
        screen_rect: Some(Rect::from_min_size(
            Pos2::ZERO,
            Vec2::new(W as f32, H as f32),
        )),
        events,
        ..Default::default()
    };
    let mut out = ctx.run_ui(raw, |ui| {
        ui_state.poll(host);
        let mut drag = |_: &std::path::Path| Err("test".to_string());
        ui_state.show(ui, host, params, &mut drag);
    });
    out.textures_delta.clear();
}

fn button(pos: Pos2, pressed: bool) -> egui::Event {
    egui::Event::PointerButton {
        pos,
        button: egui::PointerButton::Primary,
        pressed,
        modifiers: Default::default(),
    }
}

#[test]
fn dragging_the_threshold_line_is_one_host_gesture() {
    let host = DemoHost::new(None);
    let params = FakeParams::new([0.5, 0.5, 0.45]);
    let mut ui = EditorUi::new(host.lanes(), Some(std::env::temp_dir()));
    ui.view_mut().fit((10.0, 17.9));
    let ctx = egui::Context::default();
    frame(&ctx, &host, &mut ui, &params, vec![]);
    let g = ui.geometry().expect("roll drawn");
    let (top, bottom) = g.lanes.lane_span(1);
    let strip_top = top + g.notes_h;
    let x = g.roll.center().x;
    let start = Pos2::new(x, (strip_top + bottom) * 0.5);
    let end = Pos2::new(x + 5.0, strip_top + (bottom - strip_top) * 0.2); // 80 % up the strip
    let mut steps = vec![
        vec![egui::Event::PointerMoved(start)],
        vec![button(start, true)],
    ];
    for i in 1..=6 {
        let p = start + (end - start) * (i as f32 / 6.0);
        steps.push(vec![egui::Event::PointerMoved(p)]);
    }
    steps.push(vec![button(end, false)]);
    steps.push(vec![]);
    for ev in steps {
        frame(&ctx, &host, &mut ui, &params, ev);
    }
    let log = params.log.borrow().clone();
    assert_eq!(log.first().map(String::as_str), Some("begin 1"), "{log:?}");
    assert_eq!(log.last().map(String::as_str), Some("end 1"), "{log:?}");
    assert_eq!(log.iter().filter(|l| l.starts_with("begin")).count(), 1);
    assert!(log.iter().filter(|l| *l == "set 1").count() >= 2, "{log:?}");
    let v = params.values[1].get();
    assert!((v - 0.8).abs() < 0.03, "threshold {v}");
    assert_eq!(params.values[0].get(), 0.5);
}

#[test]
fn dragging_in_the_notes_selects_a_range() {
    let host = DemoHost::new(None);
    let params = FakeParams::new([0.5, 0.5, 0.45]);
    let mut ui = EditorUi::new(host.lanes(), Some(std::env::temp_dir()));
    ui.view_mut().fit((10.0, 17.9));
    let ctx = egui::Context::default();
    frame(&ctx, &host, &mut ui, &params, vec![]);
    let g = ui.geometry().unwrap();
    let (top, _) = g.lanes.lane_span(0);
    let y = top + g.notes_h * 0.5;
    let a = Pos2::new(g.roll.left() + 100.0, y);
    let b = Pos2::new(g.roll.left() + 300.0, y);
    for ev in [
        vec![egui::Event::PointerMoved(a)],
        vec![button(a, true)],
        vec![egui::Event::PointerMoved(a + Vec2::new(50.0, 0.0))],
        vec![egui::Event::PointerMoved(b)],
        vec![button(b, false)],
        vec![],
    ] {
        frame(&ctx, &host, &mut ui, &params, ev);
    }
    let sel = ui.selection().expect("a selection");
    let map = ui.view_mut().mapping(g.roll.left(), g.roll.width());
    assert!((sel.start_s - map.x_to_time(a.x)).abs() < 0.02, "{sel:?}");
    assert!((sel.end_s - map.x_to_time(b.x)).abs() < 0.02, "{sel:?}");
    assert!(params.log.borrow().is_empty(), "no parameter touched");
}

#[test]
fn export_button_writes_selection_and_copies_path() {
    let host = DemoHost::new(None);
    let dir = std::env::temp_dir().join(format!("hitscribe-ui-export-{}", std::process::id()));
    let mut ui = EditorUi::new(host.lanes(), Some(dir.clone()));
    ui.set_selection(Some(RangeSelection::from_points(12.0, 14.0)));
    let ctx = egui::Context::default();
    let mut result = None;
    let mut out = ctx.run_ui(egui::RawInput::default(), |eui| {
        ui.poll(&host);
        result = Some(ui.export_now(&eui.ctx().clone(), &host));
    });
    out.textures_delta.clear();
    let r = result.unwrap().expect("export ok");
    assert!(r.path.starts_with(&dir));
    assert_eq!(r.bpm, 120.0);
    let expect = host
        .notes
        .iter()
        .filter(|n| (12.0..14.0).contains(&n.time_s))
        .count();
    assert_eq!(r.notes, expect);
    let copied = out.platform_output.commands.iter().any(
        |c| matches!(c, egui::OutputCommand::CopyText(t) if *t == r.path.display().to_string()),
    );
    assert!(
        copied,
        "path not copied: {:?}",
        out.platform_output.commands
    );
    let notes = hitscribe_engine::midi_file::read_smf(&r.path).unwrap();
    assert_eq!(notes.len(), expect);
    std::fs::remove_dir_all(&dir).ok();
}
