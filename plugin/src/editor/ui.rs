//! The editor's egui UI, independent of the window system: [`EditorUi::show`] draws into any
//! `egui::Ui` (the plugin window, or the offscreen screenshot test). Parameter edits go through
//! [`ParamAccess`], native drag-out through a callback, data through [`EditorHost`].

use std::path::{Path, PathBuf};

use egui::{
    Align2, Color32, FontId, PointerButton, Pos2, Rect, RichText, Sense, Shape, Stroke, StrokeKind,
};

use super::export::{ExportResult, default_export_dir, export_capture, unique_path};
use super::host::{ActivationPoint, CaptureNote, EditorHost, LaneInfo, StatusInfo, TransportInfo};
use super::piano_roll_model::{
    CaptureMirror, LaneLayout, RangeSelection, ViewState, grid_lines, hit_test, velocity_to_height,
    velocity_to_rgb,
};
use super::preview::{EnginePeakPicker, PreviewDiff, gap_frames, preview_threshold};

/// Seconds of capture the editor keeps (and the piano roll can scroll back through).
pub const KEEP_SECONDS: f64 = 600.0;

/// Reads and writes the per-lane threshold parameter with host gestures.
pub trait ParamAccess {
    /// Current threshold of `lane` (0..1), `None` if the lane has no parameter.
    fn threshold(&self, lane: usize) -> Option<f32>;
    /// Starts a gesture (host undo/automation).
    fn begin(&self, lane: usize);
    /// Sets the value during a gesture.
    fn set(&self, lane: usize, value: f32);
    /// Ends the gesture.
    fn end(&self, lane: usize);
}

/// Starts a native drag of a file; `Err` says why it is not possible here.
pub type DragOutFn<'a> = dyn FnMut(&Path) -> Result<(), String> + 'a;

/// A running threshold gesture.
#[derive(Debug, Clone, Copy)]
struct ThresholdGesture {
    lane: usize,
    start: f32,
    value: f32,
}

/// Cached preview for one lane and proposed value.
#[derive(Debug, Clone)]
struct PreviewCache {
    lane: usize,
    current: f32,
    proposed: f32,
    frames: usize,
    diff: PreviewDiff,
}

/// Outcome of the last export / drag-out, shown in the top bar.
#[derive(Debug, Clone)]
enum ExportMessage {
    Done {
        result: ExportResult,
        drag_note: Option<String>,
    },
    Failed(String),
}

/// Editor UI state (GUI thread only).
pub struct EditorUi {
    lanes: Vec<LaneInfo>,
    mirror: CaptureMirror,
    next_seq: u64,
    epoch: Option<u64>,
    view: ViewState,
    selection: Option<RangeSelection>,
    selecting_from: Option<f64>,
    gesture: Option<ThresholdGesture>,
    preview: Option<PreviewCache>,
    message: Option<ExportMessage>,
    export_dir: PathBuf,
    scratch_notes: Vec<CaptureNote>,
    scratch_acts: Vec<ActivationPoint>,
    transport: TransportInfo,
    status: StatusInfo,
    retrigger_ms: Vec<f32>,
    threshold_scale: f32,
    geometry: Option<RollGeometry>,
}

/// Where the last frame drew the roll (for tests and tools that drive the UI).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RollGeometry {
    /// The notes + curves area (right of the lane headers, below the ruler).
    pub roll: Rect,
    /// The lanes' vertical layout.
    pub lanes: LaneLayout,
    /// Height of the notes part of a lane; the activation strip is the rest.
    pub notes_h: f32,
}

impl EditorUi {
    /// A new UI for `lanes`, exporting into `export_dir`.
    pub fn new(lanes: Vec<LaneInfo>, export_dir: Option<PathBuf>) -> Self {
        Self {
            lanes,
            mirror: CaptureMirror::new(KEEP_SECONDS),
            next_seq: 0,
            epoch: None,
            view: ViewState::default(),
            selection: None,
            selecting_from: None,
            gesture: None,
            preview: None,
            message: None,
            export_dir: export_dir.unwrap_or_else(default_export_dir),
            scratch_notes: Vec::new(),
            scratch_acts: Vec::new(),
            transport: TransportInfo::default(),
            status: StatusInfo::default(),
            retrigger_ms: Vec::new(),
            threshold_scale: 1.0,
            geometry: None,
        }
    }

    /// The editor's copy of the capture.
    pub fn mirror(&self) -> &CaptureMirror {
        &self.mirror
    }

    /// Where the last frame drew the roll, if it was drawn.
    pub fn geometry(&self) -> Option<RollGeometry> {
        self.geometry
    }

    /// The current selection.
    pub fn selection(&self) -> Option<RangeSelection> {
        self.selection
    }

    /// The piano-roll view.
    pub fn view_mut(&mut self) -> &mut ViewState {
        &mut self.view
    }

    /// Sets (or clears) the selected time range.
    pub fn set_selection(&mut self, sel: Option<RangeSelection>) {
        self.selection = sel;
    }

    /// Shows a threshold preview for `lane` at `proposed` as if a gesture were running (used by
    /// the screenshot test).
    pub fn set_preview_gesture(&mut self, lane: usize, current: f32, proposed: f32) {
        self.gesture = Some(ThresholdGesture {
            lane,
            start: current,
            value: proposed,
        });
    }

    /// Pulls new notes, activations, transport and status from the host (cheap, non-blocking).
    pub fn poll(&mut self, host: &dyn EditorHost) {
        let epoch = host.capture_epoch();
        if self.epoch != Some(epoch) {
            self.epoch = Some(epoch);
            self.mirror.clear();
            self.next_seq = 0;
        }
        self.scratch_notes.clear();
        self.next_seq = host.capture_notes_since(self.next_seq, &mut self.scratch_notes);
        for n in self.scratch_notes.drain(..) {
            self.mirror.push_note(n);
        }
        self.scratch_acts.clear();
        host.drain_activations(&mut self.scratch_acts);
        for a in self.scratch_acts.drain(..) {
            self.mirror.push_activation(a);
        }
        let transport = host.transport();
        if transport.playing && !self.transport.playing {
            // the transport just started: follow it again (scrolling by hand turned this off)
            self.view.follow = true;
        }
        self.transport = transport;
        self.status = host.status();
        let scale = host.threshold_scale();
        self.threshold_scale = if scale.is_finite() && scale > 0.0 {
            scale
        } else {
            1.0
        };
        self.retrigger_ms.clear();
        self.retrigger_ms
            .extend((0..self.lanes.len()).map(|l| host.retrigger_ms(l)));
        self.view
            .update(self.transport.playing, self.transport.position_s);
    }

    /// Draws the whole editor into `ui`.
    pub fn show(
        &mut self,
        ui: &mut egui::Ui,
        host: &dyn EditorHost,
        params: &dyn ParamAccess,
        drag_out: &mut DragOutFn<'_>,
    ) {
        egui::Panel::top("hitscribe-top").show(ui, |ui| {
            self.top_bar(ui, host, drag_out);
        });
        egui::Panel::right("hitscribe-status")
            .exact_size(250.0)
            .show(ui, |ui| self.status_panel(ui));
        egui::CentralPanel::default().show(ui, |ui| self.roll(ui, params));
        if self.transport.playing || self.gesture.is_some() {
            ui.ctx().request_repaint();
        } else {
            // status, late notes and offline renders still change while stopped
            ui.ctx()
                .request_repaint_after(std::time::Duration::from_millis(100));
        }
    }

    fn top_bar(&mut self, ui: &mut egui::Ui, host: &dyn EditorHost, drag_out: &mut DragOutFn<'_>) {
        ui.horizontal(|ui| {
            ui.heading(RichText::new("Hitscribe").strong());
            ui.separator();
            ui.toggle_value(&mut self.view.follow, "Follow")
                .on_hover_text("Keep the newest notes in view while the transport plays");
            if ui
                .button("Fit")
                .on_hover_text("Show the whole capture")
                .clicked()
                && let Some(ext) = self.mirror.extent()
            {
                self.view.fit(ext);
            }
            if ui
                .button("Clear")
                .on_hover_text("Forget the captured notes")
                .clicked()
            {
                host.clear_capture();
                self.mirror.clear();
                self.selection = None;
                self.message = None;
            }
            ui.separator();
            let what = if self.selection.is_some() {
                "selection"
            } else {
                "all"
            };
            if ui
                .button(format!("Export MIDI ({what})"))
                .on_hover_text("Write a .mid file (GM drums, host tempo) and copy its path")
                .clicked()
            {
                self.export(ui.ctx(), host, None);
            }
            let drag = ui
                .add(egui::Button::new("Drag MIDI").sense(Sense::click_and_drag()))
                .on_hover_text("Drag into your DAW (exports the file first)");
            if drag.drag_started() {
                self.export(ui.ctx(), host, Some(drag_out));
            }
            if self.selection.is_some() && ui.button("Select none").clicked() {
                self.selection = None;
            }
        });
        match &self.message {
            Some(ExportMessage::Done { result, drag_note }) => {
                ui.horizontal(|ui| {
                    ui.label(format!(
                        "Exported {} notes at {:.1} BPM to",
                        result.notes, result.bpm
                    ));
                    ui.monospace(result.path.display().to_string());
                    ui.weak("(path copied)");
                });
                if let Some(n) = drag_note {
                    ui.colored_label(Color32::from_rgb(230, 180, 80), n);
                }
            }
            Some(ExportMessage::Failed(e)) => {
                ui.colored_label(Color32::from_rgb(235, 90, 80), e);
            }
            None => {}
        }
    }

    /// Runs the Export button's action (file + clipboard) and returns the result.
    pub fn export_now(
        &mut self,
        ctx: &egui::Context,
        host: &dyn EditorHost,
    ) -> Result<ExportResult, String> {
        self.export(ctx, host, None);
        match &self.message {
            Some(ExportMessage::Done { result, .. }) => Ok(result.clone()),
            Some(ExportMessage::Failed(e)) => Err(e.clone()),
            None => Err("nothing exported".into()),
        }
    }

    /// Exports the plugin's whole capture store (not only the editor's last minutes), or the
    /// selected range of it.
    fn export(
        &mut self,
        ctx: &egui::Context,
        host: &dyn EditorHost,
        drag_out: Option<&mut DragOutFn<'_>>,
    ) {
        let mut all = Vec::new();
        host.capture_notes_since(0, &mut all);
        all.sort_by(|a, b| a.time_s.total_cmp(&b.time_s));
        let unix = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let path = unique_path(&self.export_dir, unix);
        match export_capture(&all, self.selection, self.transport.tempo_bpm, &path) {
            Ok(result) => {
                ctx.copy_text(result.path.display().to_string());
                let drag_note = drag_out.and_then(|f| {
                    f(&result.path).err().map(|why| {
                        format!(
                            "Native drag is not available here ({why}). Drag the file from \
                             your file manager, or paste the copied path into the DAW's import."
                        )
                    })
                });
                self.message = Some(ExportMessage::Done { result, drag_note });
            }
            Err(e) => {
                self.message = Some(ExportMessage::Failed(format!(
                    "Export failed: {e}. Check that {} is writable (or set HITSCRIBE_EXPORT_DIR).",
                    self.export_dir.display()
                )))
            }
        }
    }

    fn status_panel(&mut self, ui: &mut egui::Ui) {
        let s = &self.status;
        ui.heading("Status");
        egui::Grid::new("status-grid")
            .num_columns(2)
            .spacing([8.0, 4.0])
            .show(ui, |ui| {
                ui.label("Model");
                ui.label(s.model_name.as_deref().unwrap_or("none loaded"));
                ui.end_row();
                ui.label("Runs on");
                ui.label(s.provider.as_deref().unwrap_or("-"));
                ui.end_row();
                ui.label("Latency");
                ui.label(
                    s.latency_ms
                        .map(|ms| format!("{ms:.1} ms"))
                        .unwrap_or_else(|| "-".into()),
                );
                ui.end_row();
                ui.label("Worker load");
                match s.worker_load {
                    Some(l) => {
                        let c = if l > 0.8 {
                            Color32::from_rgb(235, 90, 80)
                        } else if l > 0.5 {
                            Color32::from_rgb(230, 180, 80)
                        } else {
                            ui.visuals().text_color()
                        };
                        ui.colored_label(c, format!("{:.0} % of real time", l * 100.0));
                    }
                    None => {
                        ui.label("-");
                    }
                }
                ui.end_row();
                ui.label("Late notes");
                let c = if s.late_notes > 0 {
                    Color32::from_rgb(230, 180, 80)
                } else {
                    ui.visuals().text_color()
                };
                ui.colored_label(c, s.late_notes.to_string());
                ui.end_row();
                ui.label("Sample rate");
                ui.label(
                    s.sample_rate
                        .map(|r| format!("{r:.0} Hz"))
                        .unwrap_or_else(|| "-".into()),
                );
                ui.end_row();
                ui.label("Tempo");
                ui.label(
                    self.transport
                        .tempo_bpm
                        .map(|b| format!("{b:.1} BPM"))
                        .unwrap_or_else(|| "unknown (export at 120)".into()),
                );
                ui.end_row();
            });
        if let Some(why) = &s.provider_reason {
            ui.add_space(4.0);
            ui.label(RichText::new(why).small().weak());
        }
        if let Some(err) = &s.error {
            ui.add_space(8.0);
            egui::Frame::new()
                .fill(Color32::from_rgb(70, 28, 28))
                .corner_radius(4.0)
                .inner_margin(6.0)
                .show(ui, |ui| {
                    ui.label(RichText::new("Problem").strong().color(Color32::WHITE));
                    ui.label(RichText::new(err).color(Color32::from_rgb(255, 205, 200)));
                    ui.label(
                        RichText::new(what_to_do(err))
                            .small()
                            .color(Color32::from_rgb(255, 225, 220)),
                    );
                });
        }
        if s.late_notes > 0 {
            ui.add_space(6.0);
            ui.label(
                RichText::new(
                    "Late notes went out as soon as they were ready; a bigger buffer or \
                     the CPU device in status may help.",
                )
                .small()
                .weak(),
            );
        }
        ui.add_space(10.0);
        ui.separator();
        ui.label(RichText::new("How to").strong());
        ui.label(
            RichText::new(
                "Drag in a lane: select a range. Right-drag: pan. Wheel: scroll, \
                 Ctrl+wheel: zoom. Drag in a curve: set that drum's threshold \
                 (+ green = notes added, red = notes dropped).",
            )
            .small(),
        );
    }

    fn roll(&mut self, ui: &mut egui::Ui, params: &dyn ParamAccess) {
        const LABEL_W: f32 = 130.0;
        const RULER_H: f32 = 18.0;
        const GAP: f32 = 8.0;
        let n = self.lanes.len().max(1);
        let full = ui.available_rect_before_wrap();
        let lane_h = ((full.height() - RULER_H - GAP * (n as f32 - 1.0)) / n as f32).max(60.0);
        let notes_h = lane_h * 0.58;
        let roll_rect = Rect::from_min_max(
            Pos2::new(full.left() + LABEL_W, full.top()),
            Pos2::new(
                full.right(),
                full.top() + RULER_H + n as f32 * (lane_h + GAP),
            ),
        );
        let layout = LaneLayout {
            y0: full.top() + RULER_H,
            lane_height: lane_h,
            gap: GAP,
            count: self.lanes.len(),
        };
        let map = self.view.mapping(roll_rect.left(), roll_rect.width());
        self.geometry = Some(RollGeometry {
            roll: roll_rect,
            lanes: layout,
            notes_h,
        });
        let painter = ui.painter_at(roll_rect);
        let visuals = ui.visuals().clone();

        // --- interaction on the roll area
        let resp = ui.interact(
            roll_rect,
            ui.scope_id().with("roll"),
            Sense::click_and_drag(),
        );
        let pointer = resp.interact_pointer_pos().or(resp.hover_pos());
        if resp.hovered() {
            let (scroll, zoom, ctrl) =
                ui.input(|i| (i.smooth_scroll_delta, i.zoom_delta(), i.modifiers.command));
            if let Some(p) = pointer {
                if zoom != 1.0 {
                    self.view.zoom_about(map.x_to_time(p.x), zoom as f64);
                    self.view.follow = false;
                } else if ctrl && scroll.y != 0.0 {
                    let f = (scroll.y as f64 / 200.0).exp();
                    self.view.zoom_about(map.x_to_time(p.x), f);
                    self.view.follow = false;
                }
            }
            let dx = if scroll.x != 0.0 { scroll.x } else { scroll.y };
            if dx != 0.0 && !ctrl && zoom == 1.0 {
                self.view.scroll_by(-(dx as f64) * map.seconds_per_px());
            }
        }
        if resp.dragged_by(PointerButton::Secondary) || resp.dragged_by(PointerButton::Middle) {
            self.view
                .scroll_by(-(resp.drag_delta().x as f64) * map.seconds_per_px());
        }
        let strip_of = |y: f32| -> Option<(usize, f32, f32)> {
            let lane = layout.y_to_lane(y)?;
            let (top, bottom) = layout.lane_span(lane);
            let s_top = top + notes_h;
            (y >= s_top).then_some((lane, s_top, bottom))
        };
        if resp.drag_started_by(PointerButton::Primary)
            && let Some(p) = ui
                .input(|i| i.pointer.press_origin())
                .or(resp.interact_pointer_pos())
        {
            if let Some((lane, _, _)) = strip_of(p.y)
                && let Some(v) = params.threshold(lane)
            {
                params.begin(lane);
                self.gesture = Some(ThresholdGesture {
                    lane,
                    start: v,
                    value: v,
                });
            } else {
                self.selecting_from = Some(map.x_to_time(p.x));
            }
        }
        if resp.dragged_by(PointerButton::Primary)
            && let Some(p) = resp.interact_pointer_pos()
        {
            if let Some(g) = &mut self.gesture {
                let (top, bottom) = layout.lane_span(g.lane);
                let s_top = top + notes_h;
                let eff = (1.0 - (p.y - s_top) / (bottom - s_top)).clamp(0.0, 1.0);
                let v = (eff / self.threshold_scale).clamp(0.01, 0.99);
                if v != g.value {
                    g.value = v;
                    params.set(g.lane, v);
                }
            } else if let Some(a) = self.selecting_from {
                self.selection = Some(RangeSelection::from_points(a, map.x_to_time(p.x)));
            }
        }
        if resp.drag_stopped() {
            if let Some(g) = self.gesture.take() {
                params.end(g.lane);
            }
            if self.selecting_from.take().is_some()
                && self.selection.is_some_and(|s| s.is_click(&map, 3.0))
            {
                self.selection = None;
            }
        }
        if resp.clicked() {
            self.selection = None;
        }
        self.view.clamp_to(self.mirror.extent());

        // --- ruler and grid
        let beats = self.transport.time_sig.map(|(n, _)| n);
        let grid = grid_lines(&map, self.transport.tempo_bpm, beats, 40.0);
        let ruler = Rect::from_min_max(roll_rect.min, Pos2::new(roll_rect.right(), layout.y0));
        painter.rect_filled(ruler, 0.0, visuals.faint_bg_color);
        for &(t, major) in &grid {
            let x = map.time_to_x(t);
            if major {
                painter.text(
                    Pos2::new(x + 2.0, ruler.top() + 2.0),
                    Align2::LEFT_TOP,
                    format_time(t),
                    FontId::proportional(10.0),
                    visuals.weak_text_color(),
                );
            }
        }

        // --- selection shading bounds
        let sel_x = self
            .selection
            .map(|s| (map.time_to_x(s.start_s), map.time_to_x(s.end_s)));

        // --- threshold preview for the running gesture (cached)
        self.update_preview();

        for (lane, info) in self.lanes.iter().enumerate() {
            let (top, bottom) = layout.lane_span(lane);
            let notes_rect = Rect::from_min_max(
                Pos2::new(roll_rect.left(), top),
                Pos2::new(roll_rect.right(), top + notes_h),
            );
            let strip_rect = Rect::from_min_max(
                Pos2::new(roll_rect.left(), top + notes_h),
                Pos2::new(roll_rect.right(), bottom),
            );
            painter.rect_filled(notes_rect, 2.0, visuals.extreme_bg_color);
            painter.rect_filled(strip_rect, 2.0, visuals.faint_bg_color);
            for &(t, major) in &grid {
                let x = map.time_to_x(t);
                let c = if major {
                    visuals.widgets.noninteractive.bg_stroke.color
                } else {
                    visuals
                        .widgets
                        .noninteractive
                        .bg_stroke
                        .color
                        .gamma_multiply(0.45)
                };
                painter.line_segment(
                    [Pos2::new(x, top), Pos2::new(x, bottom)],
                    Stroke::new(1.0, c),
                );
            }
            if let Some((a, b)) = sel_x {
                let r = Rect::from_x_y_ranges(
                    a.max(roll_rect.left())..=b.min(roll_rect.right()),
                    top..=bottom,
                );
                if r.width() > 0.0 {
                    painter.rect_filled(r, 0.0, Color32::from_rgba_unmultiplied(120, 170, 255, 40));
                }
            }

            // notes
            let range = self
                .mirror
                .note_range(map.start_s - 0.05, map.end_s() + 0.05);
            let bar_w = 4.0f32;
            let preview = self.preview.as_ref().filter(|p| p.lane == lane);
            for note in self.mirror.notes().range(range).filter(|n| n.lane == lane) {
                let x = map.time_to_x(note.time_s);
                let h = velocity_to_height(note.velocity, notes_h - 4.0);
                let [r, g, b] = velocity_to_rgb(note.velocity);
                let rect = Rect::from_min_max(
                    Pos2::new(x - bar_w * 0.5, notes_rect.bottom() - 2.0 - h),
                    Pos2::new(x + bar_w * 0.5, notes_rect.bottom() - 2.0),
                );
                painter.rect_filled(rect, 1.0, Color32::from_rgb(r, g, b));
            }
            if let Some(p) = preview {
                for d in &p.diff.dropped {
                    let x = map.time_to_x(d.time_s);
                    let c = Color32::from_rgb(255, 80, 80);
                    let y = notes_rect.center().y;
                    painter.line_segment(
                        [Pos2::new(x - 5.0, y - 5.0), Pos2::new(x + 5.0, y + 5.0)],
                        Stroke::new(2.0, c),
                    );
                    painter.line_segment(
                        [Pos2::new(x - 5.0, y + 5.0), Pos2::new(x + 5.0, y - 5.0)],
                        Stroke::new(2.0, c),
                    );
                }
                for a in &p.diff.added {
                    let x = map.time_to_x(a.time_s);
                    let h = (notes_h - 4.0) * (0.15 + 0.85 * a.strength.clamp(0.0, 1.0));
                    let rect = Rect::from_min_max(
                        Pos2::new(x - bar_w * 0.5 - 1.0, notes_rect.bottom() - 2.0 - h),
                        Pos2::new(x + bar_w * 0.5 + 1.0, notes_rect.bottom() - 2.0),
                    );
                    painter.rect_stroke(
                        rect,
                        1.0,
                        Stroke::new(1.5, Color32::from_rgb(90, 230, 120)),
                        StrokeKind::Outside,
                    );
                }
            }

            // activation curve
            let acts = self.mirror.activations();
            let ar = self
                .mirror
                .activation_range(map.start_s - 0.1, map.end_s() + 0.1);
            let mut pts: Vec<Pos2> = Vec::with_capacity(ar.len().min(4096));
            let mut last_px = f32::NEG_INFINITY;
            for f in acts.range(ar) {
                let x = map.time_to_x(f.time_s);
                let v = f.onset[lane].clamp(0.0, 1.0);
                let y = strip_rect.bottom() - v * strip_rect.height();
                if x - last_px < 0.5
                    && let Some(lp) = pts.last_mut()
                {
                    lp.y = lp.y.min(y); // keep the maximum per pixel column
                    continue;
                }
                last_px = x;
                pts.push(Pos2::new(x, y));
            }
            if pts.len() >= 2 {
                painter.add(Shape::line(
                    pts,
                    Stroke::new(1.2, Color32::from_rgb(140, 190, 255)),
                ));
            }
            let live = params.threshold(lane);
            let shown = self
                .gesture
                .filter(|g| g.lane == lane)
                .map(|g| g.value)
                .or(live);
            if let Some(th) = shown {
                let y = strip_rect.bottom() - self.effective(th) * strip_rect.height();
                painter.line_segment(
                    [
                        Pos2::new(strip_rect.left(), y),
                        Pos2::new(strip_rect.right(), y),
                    ],
                    Stroke::new(1.5, Color32::from_rgb(255, 170, 60)),
                );
            }
            if let Some(g) = self.gesture.filter(|g| g.lane == lane) {
                let y = strip_rect.bottom() - self.effective(g.start) * strip_rect.height();
                painter.line_segment(
                    [
                        Pos2::new(strip_rect.left(), y),
                        Pos2::new(strip_rect.right(), y),
                    ],
                    Stroke::new(1.0, Color32::from_rgba_unmultiplied(255, 170, 60, 90)),
                );
            }

            // lane header: name, threshold slider, preview counts
            let head = Rect::from_min_max(
                Pos2::new(full.left(), top),
                Pos2::new(full.left() + LABEL_W - 6.0, bottom),
            );
            let mut child = ui.new_child(egui::UiBuilder::new().max_rect(head));
            child.label(RichText::new(&info.name).strong());
            child.label(
                RichText::new(format!("note {}", info.gm_note))
                    .small()
                    .weak(),
            );
            if let Some(v0) = live {
                let mut v = self
                    .gesture
                    .filter(|g| g.lane == lane)
                    .map(|g| g.value)
                    .unwrap_or(v0);
                child.spacing_mut().slider_width = LABEL_W - 56.0;
                let r = child.add(egui::Slider::new(&mut v, 0.01..=0.99).fixed_decimals(2));
                let r = r.on_hover_text("Threshold (automatable). Drag the orange line too.");
                if r.drag_started() {
                    params.begin(lane);
                    self.gesture = Some(ThresholdGesture {
                        lane,
                        start: v0,
                        value: v,
                    });
                }
                if r.changed() {
                    if r.dragged() || self.gesture.is_some_and(|g| g.lane == lane) {
                        params.set(lane, v);
                        if let Some(g) = &mut self.gesture {
                            g.value = v;
                        }
                    } else {
                        params.begin(lane);
                        params.set(lane, v);
                        params.end(lane);
                    }
                }
                if r.drag_stopped() && self.gesture.is_some_and(|g| g.lane == lane) {
                    self.gesture = None;
                    params.end(lane);
                }
            }
            if let Some(p) = self.preview.as_ref().filter(|p| p.lane == lane) {
                child.label(
                    RichText::new(format!(
                        "+{} new, -{} gone",
                        p.diff.added.len(),
                        p.diff.dropped.len()
                    ))
                    .small()
                    .color(Color32::from_rgb(120, 220, 140)),
                );
            }
        }

        // playhead
        if let Some(now) = self.transport.position_s {
            let x = map.time_to_x(now);
            if x >= roll_rect.left() && x <= roll_rect.right() {
                painter.line_segment(
                    [
                        Pos2::new(x, roll_rect.top()),
                        Pos2::new(x, roll_rect.bottom()),
                    ],
                    Stroke::new(1.0, Color32::from_rgb(255, 255, 255).gamma_multiply(0.6)),
                );
            }
        }

        // hover tooltip on notes
        if let Some(p) = resp.hover_pos()
            && self.gesture.is_none()
            && let Some(i) = hit_test(self.mirror.notes(), &map, &layout, p.x, p.y, 4.0)
        {
            let n = self.mirror.notes()[i];
            let name = self
                .lanes
                .get(n.lane)
                .map(|l| l.name.as_str())
                .unwrap_or("?");
            resp.clone().on_hover_text_at_pointer(format!(
                "{name}  key {}  velocity {}  at {}",
                n.key,
                n.velocity,
                format_time(n.time_s)
            ));
        }
        if self.mirror.notes().is_empty() {
            painter.text(
                roll_rect.center(),
                Align2::CENTER_CENTER,
                "No notes captured yet: play audio through the plugin.",
                FontId::proportional(14.0),
                visuals.weak_text_color(),
            );
        }
        ui.allocate_rect(full, Sense::hover());
    }

    /// The threshold the engine applies for parameter value `raw`.
    fn effective(&self, raw: f32) -> f32 {
        (raw * self.threshold_scale).clamp(0.01, 0.99)
    }

    fn update_preview(&mut self) {
        let Some(g) = self.gesture else {
            self.preview = None;
            return;
        };
        let frames = self.mirror.activations().len();
        if let Some(p) = &self.preview
            && p.lane == g.lane
            && p.current == g.start
            && p.proposed == g.value
            && p.frames == frames
        {
            return;
        }
        let times: Vec<f64> = self.mirror.activations().iter().map(|a| a.time_s).collect();
        let onset: Vec<f32> = self
            .mirror
            .activations()
            .iter()
            .map(|a| a.onset[g.lane])
            .collect();
        let retrigger = self.retrigger_ms.get(g.lane).copied().unwrap_or(40.0);
        let gap = gap_frames(&times, retrigger);
        let diff = preview_threshold(
            &EnginePeakPicker,
            &times,
            &onset,
            self.effective(g.start),
            self.effective(g.value),
            gap,
        );
        self.preview = Some(PreviewCache {
            lane: g.lane,
            current: g.start,
            proposed: g.value,
            frames,
            diff,
        });
    }
}

/// `m:ss.mmm` (or `-m:ss.mmm`).
pub fn format_time(t: f64) -> String {
    let sign = if t < 0.0 { "-" } else { "" };
    let t = t.abs();
    let m = (t / 60.0).floor();
    let s = t - m * 60.0;
    format!("{sign}{m:.0}:{s:06.3}")
}

/// A plain-words hint for an error sentence from the engine.
pub fn what_to_do(err: &str) -> &'static str {
    let e = err.to_ascii_lowercase();
    if e.contains("runtime") || e.contains("onnx") || e.contains("libonnxruntime") {
        "The ONNX Runtime library was not found or could not load. Keep the lib/ folder next to \
         the plugin file, or set HITSCRIBE_ORT_LIB to the library's full path, then reload the plugin."
    } else if e.contains("model") {
        "The drum model was not found or is not valid. Keep the .onnx file next to the plugin \
         file, or set HITSCRIBE_MODEL to its full path, then reload the plugin."
    } else if e.contains("cuda") || e.contains("gpu") {
        "CUDA is not available: choose CPU in the device parameter (Auto falls back to CPU)."
    } else if e.contains("sample rate") {
        "Switch the session to a supported sample rate (22.05 to 192 kHz)."
    } else {
        "Audio passes through unchanged. Reload the plugin; if it persists, report this message."
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nice_plug::prelude::FloatParam;
    use std::sync::Mutex;

    /// A host whose capture and transport the test changes.
    #[derive(Default)]
    struct LiveHost {
        notes: Mutex<Vec<CaptureNote>>,
        epoch: Mutex<u64>,
        playing: Mutex<bool>,
    }

    impl EditorHost for LiveHost {
        fn lanes(&self) -> Vec<LaneInfo> {
            vec![LaneInfo {
                name: "kick".into(),
                gm_note: 36,
            }]
        }
        fn threshold_param(&self, _lane: usize) -> Option<&FloatParam> {
            None
        }
        fn capture_notes_since(&self, since: u64, out: &mut Vec<CaptureNote>) -> u64 {
            let n = self.notes.lock().unwrap();
            out.extend_from_slice(&n[(since as usize).min(n.len())..]);
            n.len() as u64
        }
        fn capture_epoch(&self) -> u64 {
            *self.epoch.lock().unwrap()
        }
        fn drain_activations(&self, _out: &mut Vec<ActivationPoint>) {}
        fn clear_capture(&self) {
            self.notes.lock().unwrap().clear();
            *self.epoch.lock().unwrap() += 1;
        }
        fn transport(&self) -> TransportInfo {
            TransportInfo {
                playing: *self.playing.lock().unwrap(),
                position_s: Some(3.0),
                ..Default::default()
            }
        }
        fn status(&self) -> StatusInfo {
            StatusInfo::default()
        }
    }

    fn kick(t: f64) -> CaptureNote {
        CaptureNote {
            time_s: t,
            lane: 0,
            key: 36,
            velocity: 100,
        }
    }

    #[test]
    fn poll_is_incremental_and_resyncs_on_epoch() {
        let host = LiveHost::default();
        let mut ui = EditorUi::new(host.lanes(), None);
        host.notes.lock().unwrap().extend([kick(0.5), kick(1.0)]);
        ui.poll(&host);
        assert_eq!(ui.mirror().notes().len(), 2);
        host.notes.lock().unwrap().push(kick(1.5));
        ui.poll(&host);
        ui.poll(&host);
        assert_eq!(ui.mirror().notes().len(), 3, "no duplicates");
        // state load: capture replaced, epoch bumped
        *host.notes.lock().unwrap() = vec![kick(9.0)];
        *host.epoch.lock().unwrap() += 1;
        ui.poll(&host);
        let times: Vec<f64> = ui.mirror().notes().iter().map(|n| n.time_s).collect();
        assert_eq!(times, [9.0]);
    }

    #[test]
    fn transport_start_turns_follow_back_on() {
        let host = LiveHost::default();
        let mut ui = EditorUi::new(host.lanes(), None);
        ui.poll(&host);
        ui.view_mut().scroll_by(-1.0);
        assert!(!ui.view_mut().follow);
        *host.playing.lock().unwrap() = true;
        ui.poll(&host);
        assert!(ui.view_mut().follow);
        let v = *ui.view_mut();
        assert!(
            (v.start_s + v.span_s * 0.9 - 3.0).abs() < 1e-9,
            "now at 90 %"
        );
    }

    #[test]
    fn time_format() {
        assert_eq!(format_time(0.0), "0:00.000");
        assert_eq!(format_time(61.5), "1:01.500");
        assert_eq!(format_time(-2.25), "-0:02.250");
    }

    #[test]
    fn hints() {
        assert!(what_to_do("ONNX Runtime library not found at /x").contains("HITSCRIBE_ORT_LIB"));
        assert!(what_to_do("model file missing").contains("HITSCRIBE_MODEL"));
    }
}
