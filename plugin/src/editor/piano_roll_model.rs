//! Pure logic of the piano roll: the capture mirror, time <-> x mapping, velocity -> bar height and
//! colour, lane layout, hit-testing, range selection, and the view (follow while playing, free
//! scroll/zoom when stopped). No egui types: everything here is unit-tested.

use std::collections::VecDeque;

use super::host::{ActivationPoint, CaptureNote};

/// Smallest visible time span in seconds (zoom-in limit).
pub const MIN_SPAN_S: f64 = 0.25;
/// Largest visible time span in seconds (zoom-out limit).
pub const MAX_SPAN_S: f64 = 600.0;
/// In follow mode, "now" sits at this fraction of the width (the rest shows the coming latency).
pub const FOLLOW_ANCHOR: f64 = 0.9;

/// The editor's bounded copy of the capture: notes sorted by time, older than `keep_s` behind
/// the newest note dropped.
#[derive(Debug, Clone)]
pub struct CaptureMirror {
    notes: VecDeque<CaptureNote>,
    activations: VecDeque<ActivationPoint>,
    keep_s: f64,
}

impl CaptureMirror {
    /// An empty mirror that keeps the last `keep_s` seconds.
    pub fn new(keep_s: f64) -> Self {
        Self {
            notes: VecDeque::new(),
            activations: VecDeque::new(),
            keep_s,
        }
    }

    /// How many seconds of history are kept.
    pub fn keep_s(&self) -> f64 {
        self.keep_s
    }

    /// Inserts a note, keeping time order (notes normally arrive in order; a late one is
    /// inserted at its place), then prunes history older than `keep_s`.
    pub fn push_note(&mut self, note: CaptureNote) {
        let idx = self.notes.partition_point(|n| n.time_s <= note.time_s);
        self.notes.insert(idx, note);
        self.prune();
    }

    /// Appends an activation frame (frames arrive in time order; an older one is dropped).
    pub fn push_activation(&mut self, frame: ActivationPoint) {
        if let Some(last) = self.activations.back()
            && frame.time_s <= last.time_s
        {
            return;
        }
        self.activations.push_back(frame);
        self.prune();
    }

    fn latest_time(&self) -> Option<f64> {
        let n = self.notes.back().map(|n| n.time_s);
        let a = self.activations.back().map(|a| a.time_s);
        match (n, a) {
            (Some(x), Some(y)) => Some(x.max(y)),
            (x, y) => x.or(y),
        }
    }

    fn prune(&mut self) {
        let Some(latest) = self.latest_time() else {
            return;
        };
        let cutoff = latest - self.keep_s;
        while self.notes.front().is_some_and(|n| n.time_s < cutoff) {
            self.notes.pop_front();
        }
        while self.activations.front().is_some_and(|a| a.time_s < cutoff) {
            self.activations.pop_front();
        }
    }

    /// Drops everything.
    pub fn clear(&mut self) {
        self.notes.clear();
        self.activations.clear();
    }

    /// All notes, in time order.
    pub fn notes(&self) -> &VecDeque<CaptureNote> {
        &self.notes
    }

    /// All activation frames, in time order.
    pub fn activations(&self) -> &VecDeque<ActivationPoint> {
        &self.activations
    }

    /// Index range of the notes with `start <= time < end`.
    pub fn note_range(&self, start: f64, end: f64) -> std::ops::Range<usize> {
        let a = self.notes.partition_point(|n| n.time_s < start);
        let b = self.notes.partition_point(|n| n.time_s < end);
        a..b.max(a)
    }

    /// Index range of the activation frames with `start <= time < end`.
    pub fn activation_range(&self, start: f64, end: f64) -> std::ops::Range<usize> {
        let a = self.activations.partition_point(|f| f.time_s < start);
        let b = self.activations.partition_point(|f| f.time_s < end);
        a..b.max(a)
    }

    /// Time extent `(first, last)` of everything captured, if anything.
    pub fn extent(&self) -> Option<(f64, f64)> {
        let first = match (self.notes.front(), self.activations.front()) {
            (Some(n), Some(a)) => n.time_s.min(a.time_s),
            (Some(n), None) => n.time_s,
            (None, Some(a)) => a.time_s,
            (None, None) => return None,
        };
        Some((first, self.latest_time().unwrap_or(first)))
    }
}

/// Maps the visible time window onto a horizontal pixel range.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TimeMapping {
    /// Time at the left edge, seconds.
    pub start_s: f64,
    /// Visible span, seconds (> 0).
    pub span_s: f64,
    /// Left edge in pixels.
    pub x0: f32,
    /// Width in pixels (> 0).
    pub width: f32,
}

impl TimeMapping {
    /// Pixel x of time `t`.
    pub fn time_to_x(&self, t: f64) -> f32 {
        self.x0 + ((t - self.start_s) / self.span_s * self.width as f64) as f32
    }

    /// Time at pixel x.
    pub fn x_to_time(&self, x: f32) -> f64 {
        self.start_s + (x - self.x0) as f64 / self.width as f64 * self.span_s
    }

    /// Seconds per pixel.
    pub fn seconds_per_px(&self) -> f64 {
        self.span_s / self.width as f64
    }

    /// Time at the right edge.
    pub fn end_s(&self) -> f64 {
        self.start_s + self.span_s
    }
}

/// Bar height of a note of `velocity` (1..=127) in a lane of `lane_height` pixels: linear in
/// velocity, never below 15 % of the lane so quiet notes stay visible.
pub fn velocity_to_height(velocity: u8, lane_height: f32) -> f32 {
    let v = velocity.clamp(1, 127) as f32 / 127.0;
    lane_height * (0.15 + 0.85 * v)
}

/// Bar colour (sRGB) of a note of `velocity`: blue (soft) -> green -> yellow -> red (hard).
pub fn velocity_to_rgb(velocity: u8) -> [u8; 3] {
    const STOPS: [[f32; 3]; 4] = [
        [60.0, 120.0, 230.0],
        [60.0, 200.0, 120.0],
        [240.0, 210.0, 60.0],
        [235.0, 70.0, 60.0],
    ];
    let v = (velocity.clamp(1, 127) - 1) as f32 / 126.0 * 3.0;
    let i = (v.floor() as usize).min(2);
    let f = v - i as f32;
    let mut out = [0u8; 3];
    for (c, o) in out.iter_mut().enumerate() {
        *o = (STOPS[i][c] + (STOPS[i + 1][c] - STOPS[i][c]) * f).round() as u8;
    }
    out
}

/// Vertical layout: `count` lanes stacked from `y0`, each `lane_height` high with `gap` between.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LaneLayout {
    /// Top of the first lane.
    pub y0: f32,
    /// Height of one lane (notes + activation strip).
    pub lane_height: f32,
    /// Gap between lanes.
    pub gap: f32,
    /// Number of lanes.
    pub count: usize,
}

impl LaneLayout {
    /// `(top, bottom)` of lane `lane`.
    pub fn lane_span(&self, lane: usize) -> (f32, f32) {
        let top = self.y0 + lane as f32 * (self.lane_height + self.gap);
        (top, top + self.lane_height)
    }

    /// The lane under pixel row `y`, if any (gaps belong to no lane).
    pub fn y_to_lane(&self, y: f32) -> Option<usize> {
        if y < self.y0 {
            return None;
        }
        let pitch = self.lane_height + self.gap;
        let lane = ((y - self.y0) / pitch).floor() as usize;
        let within = y - self.y0 - lane as f32 * pitch;
        (lane < self.count && within <= self.lane_height).then_some(lane)
    }
}

/// Index (into `notes`) of the note nearest to `(x, y)` within `tolerance_px` horizontally, in
/// the lane under `y`; `None` when nothing is close. `notes` must be sorted by time.
pub fn hit_test<'a>(
    notes: impl IntoIterator<Item = &'a CaptureNote>,
    map: &TimeMapping,
    lanes: &LaneLayout,
    x: f32,
    y: f32,
    tolerance_px: f32,
) -> Option<usize> {
    let lane = lanes.y_to_lane(y)?;
    let mut best: Option<(usize, f32)> = None;
    for (i, n) in notes.into_iter().enumerate() {
        if n.lane != lane {
            continue;
        }
        let d = (map.time_to_x(n.time_s) - x).abs();
        if d <= tolerance_px && best.is_none_or(|(_, bd)| d < bd) {
            best = Some((i, d));
        }
    }
    best.map(|(i, _)| i)
}

/// A selected time range (always `start <= end` once normalised).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RangeSelection {
    /// Start, seconds.
    pub start_s: f64,
    /// End, seconds.
    pub end_s: f64,
}

impl RangeSelection {
    /// A range from two drag end points in any order.
    pub fn from_points(a: f64, b: f64) -> Self {
        Self {
            start_s: a.min(b),
            end_s: a.max(b),
        }
    }

    /// Duration in seconds.
    pub fn duration(&self) -> f64 {
        self.end_s - self.start_s
    }

    /// Whether `t` lies inside (start inclusive, end exclusive).
    pub fn contains(&self, t: f64) -> bool {
        t >= self.start_s && t < self.end_s
    }

    /// Whether this range is too short on screen to be a deliberate selection (a click).
    pub fn is_click(&self, map: &TimeMapping, min_px: f32) -> bool {
        (self.duration() / map.seconds_per_px()) < min_px as f64
    }
}

/// The notes of `notes` inside `sel` (or all when `sel` is `None`), times made relative to the
/// range start (or left as they are for all).
pub fn select_notes<'a>(
    notes: impl IntoIterator<Item = &'a CaptureNote>,
    sel: Option<RangeSelection>,
) -> Vec<CaptureNote> {
    match sel {
        None => notes.into_iter().copied().collect(),
        Some(r) => notes
            .into_iter()
            .filter(|n| r.contains(n.time_s))
            .map(|n| CaptureNote {
                time_s: n.time_s - r.start_s,
                ..*n
            })
            .collect(),
    }
}

/// The visible window and how it moves: follows the transport while playing, free to scroll and
/// zoom otherwise.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ViewState {
    /// Time at the left edge.
    pub start_s: f64,
    /// Visible span.
    pub span_s: f64,
    /// Whether the view tracks the transport.
    pub follow: bool,
}

impl Default for ViewState {
    fn default() -> Self {
        Self {
            start_s: 0.0,
            span_s: 8.0,
            follow: true,
        }
    }
}

impl ViewState {
    /// The mapping of this view onto `[x0, x0 + width)`.
    pub fn mapping(&self, x0: f32, width: f32) -> TimeMapping {
        TimeMapping {
            start_s: self.start_s,
            span_s: self.span_s,
            x0,
            width: width.max(1.0),
        }
    }

    /// Per frame: while playing (and following), put `now_s` at [`FOLLOW_ANCHOR`] of the width.
    /// Returns whether the view moved.
    pub fn update(&mut self, playing: bool, now_s: Option<f64>) -> bool {
        match (playing && self.follow, now_s) {
            (true, Some(now)) => {
                let start = now - self.span_s * FOLLOW_ANCHOR;
                let moved = start != self.start_s;
                self.start_s = start;
                moved
            }
            _ => false,
        }
    }

    /// Zooms by `factor` (> 1 zooms in) keeping time `anchor_s` at the same pixel.
    pub fn zoom_about(&mut self, anchor_s: f64, factor: f64) {
        if !(factor.is_finite() && factor > 0.0) {
            return;
        }
        let new_span = (self.span_s / factor).clamp(MIN_SPAN_S, MAX_SPAN_S);
        let frac = (anchor_s - self.start_s) / self.span_s;
        self.start_s = anchor_s - frac * new_span;
        self.span_s = new_span;
    }

    /// Scrolls by `dt_s` seconds (positive = later). Scrolling by hand leaves follow mode.
    pub fn scroll_by(&mut self, dt_s: f64) {
        self.start_s += dt_s;
        self.follow = false;
    }

    /// Keeps the view within the captured extent (with a little margin) when not following.
    pub fn clamp_to(&mut self, extent: Option<(f64, f64)>) {
        if self.follow {
            return;
        }
        if let Some((first, last)) = extent {
            let lo = first - self.span_s * 0.5;
            let hi = last - self.span_s * 0.5;
            self.start_s = self.start_s.clamp(lo, hi.max(lo));
        }
    }

    /// Shows the whole extent `(first, last)`.
    pub fn fit(&mut self, extent: (f64, f64)) {
        let span = (extent.1 - extent.0).max(MIN_SPAN_S) * 1.05;
        self.span_s = span.clamp(MIN_SPAN_S, MAX_SPAN_S);
        self.start_s = extent.0 - (self.span_s - (extent.1 - extent.0)) * 0.5;
        self.follow = false;
    }
}

/// Grid lines in the visible window: `(time, major)`. With a tempo, beats (major at bar starts
/// when `beats_per_bar` is known); without, seconds. Spacing widens so lines stay >= `min_px`
/// apart.
pub fn grid_lines(
    map: &TimeMapping,
    tempo_bpm: Option<f64>,
    beats_per_bar: Option<u32>,
    min_px: f32,
) -> Vec<(f64, bool)> {
    let (mut step, major_every) = match tempo_bpm {
        Some(bpm) if bpm > 0.0 => (60.0 / bpm, beats_per_bar.unwrap_or(4).max(1) as u64),
        _ => (1.0, 10),
    };
    let mut group = 1u64;
    while step / map.seconds_per_px() < min_px as f64 && group < 1 << 20 {
        step *= 2.0;
        group *= 2;
    }
    let first = (map.start_s / step).ceil() as i64;
    let last = (map.end_s() / step).floor() as i64;
    (first..=last)
        .map(|k| {
            let beat = k.unsigned_abs() * group;
            (k as f64 * step, beat.is_multiple_of(major_every))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn note(t: f64, lane: usize, vel: u8) -> CaptureNote {
        CaptureNote {
            time_s: t,
            lane,
            key: [36, 38, 42][lane],
            velocity: vel,
        }
    }

    fn map() -> TimeMapping {
        TimeMapping {
            start_s: 10.0,
            span_s: 4.0,
            x0: 100.0,
            width: 800.0,
        }
    }

    #[test]
    fn time_x_round_trip() {
        let m = map();
        assert_eq!(m.time_to_x(10.0), 100.0);
        assert_eq!(m.time_to_x(14.0), 900.0);
        assert_eq!(m.time_to_x(12.0), 500.0);
        for x in [100.0f32, 123.5, 777.0, 900.0] {
            assert!((m.time_to_x(m.x_to_time(x)) - x).abs() < 1e-3);
        }
        assert!((m.seconds_per_px() - 0.005).abs() < 1e-12);
    }

    #[test]
    fn velocity_height_monotonic_and_bounded() {
        let h = 40.0;
        assert!((velocity_to_height(127, h) - h).abs() < 1e-4);
        assert!((velocity_to_height(1, h) - 0.15 * h - 0.85 * h / 127.0).abs() < 1e-4);
        assert_eq!(velocity_to_height(0, h), velocity_to_height(1, h));
        let mut prev = 0.0;
        for v in 1..=127u8 {
            let y = velocity_to_height(v, h);
            assert!(y > prev);
            prev = y;
        }
    }

    #[test]
    fn velocity_colour_ends() {
        assert_eq!(velocity_to_rgb(1), [60, 120, 230]);
        assert_eq!(velocity_to_rgb(127), [235, 70, 60]);
        // red grows with velocity in the upper half
        assert!(velocity_to_rgb(100)[0] > velocity_to_rgb(50)[0]);
    }

    #[test]
    fn lanes_and_hit_test() {
        let lanes = LaneLayout {
            y0: 20.0,
            lane_height: 50.0,
            gap: 10.0,
            count: 3,
        };
        assert_eq!(lanes.lane_span(1), (80.0, 130.0));
        assert_eq!(lanes.y_to_lane(10.0), None);
        assert_eq!(lanes.y_to_lane(20.0), Some(0));
        assert_eq!(lanes.y_to_lane(75.0), None); // gap
        assert_eq!(lanes.y_to_lane(100.0), Some(1));
        assert_eq!(lanes.y_to_lane(185.0), Some(2));
        assert_eq!(lanes.y_to_lane(195.0), None);

        let notes = [
            note(11.0, 0, 100),
            note(11.01, 1, 90),
            note(12.0, 0, 50),
            note(12.02, 0, 60),
        ];
        let m = map();
        // x of 12.0 is 500, 12.02 is 504
        assert_eq!(hit_test(&notes, &m, &lanes, 501.0, 30.0, 4.0), Some(2));
        assert_eq!(hit_test(&notes, &m, &lanes, 503.5, 30.0, 4.0), Some(3));
        assert_eq!(hit_test(&notes, &m, &lanes, 290.0, 100.0, 4.0), None);
        assert_eq!(hit_test(&notes, &m, &lanes, 302.0, 100.0, 4.0), Some(1));
        assert_eq!(hit_test(&notes, &m, &lanes, 306.0, 30.0, 4.0), None);
        assert_eq!(hit_test(&notes, &m, &lanes, 500.0, 75.0, 4.0), None);
    }

    #[test]
    fn range_selection() {
        let r = RangeSelection::from_points(13.0, 11.5);
        assert_eq!((r.start_s, r.end_s), (11.5, 13.0));
        assert!(r.contains(11.5) && r.contains(12.9) && !r.contains(13.0));
        assert!(!r.is_click(&map(), 3.0));
        assert!(RangeSelection::from_points(12.0, 12.01).is_click(&map(), 3.0));
        let notes = [note(11.0, 0, 100), note(12.0, 1, 90), note(12.5, 2, 80)];
        let sel = select_notes(&notes, Some(r));
        assert_eq!(sel.len(), 2);
        assert!((sel[0].time_s - 0.5).abs() < 1e-12 && sel[0].lane == 1);
        assert_eq!(select_notes(&notes, None).len(), 3);
    }

    #[test]
    fn mirror_orders_prunes_and_ranges() {
        let mut m = CaptureMirror::new(60.0);
        m.push_note(note(1.0, 0, 100));
        m.push_note(note(3.0, 0, 100));
        m.push_note(note(2.0, 1, 100)); // late arrival goes into place
        let times: Vec<f64> = m.notes().iter().map(|n| n.time_s).collect();
        assert_eq!(times, [1.0, 2.0, 3.0]);
        assert_eq!(m.note_range(1.5, 3.0), 1..2);
        assert_eq!(m.note_range(5.0, 4.0), 3..3);
        m.push_note(note(62.5, 2, 10));
        assert_eq!(m.notes().front().unwrap().time_s, 3.0); // 1.0 and 2.0 are older than 60 s
        assert_eq!(m.extent(), Some((3.0, 62.5)));
        m.push_activation(ActivationPoint {
            time_s: 62.0,
            onset: [0.0; 8],
        });
        m.push_activation(ActivationPoint {
            time_s: 61.0,
            onset: [0.0; 8],
        }); // out of order: dropped
        assert_eq!(m.activations().len(), 1);
        m.clear();
        assert_eq!(m.extent(), None);
    }

    #[test]
    fn view_follows_and_zooms() {
        let mut v = ViewState::default();
        assert!(v.update(true, Some(20.0)));
        assert!((v.start_s - (20.0 - 8.0 * FOLLOW_ANCHOR)).abs() < 1e-12);
        // stopped: no movement
        let before = v;
        assert!(!v.update(false, Some(30.0)));
        assert_eq!(v, before);
        // zoom keeps the anchor time at the same pixel
        let m0 = v.mapping(0.0, 800.0);
        let anchor = m0.x_to_time(200.0);
        v.zoom_about(anchor, 2.0);
        assert!((v.span_s - 4.0).abs() < 1e-12);
        assert!((v.mapping(0.0, 800.0).time_to_x(anchor) - 200.0).abs() < 1e-3);
        v.zoom_about(anchor, 1e9);
        assert_eq!(v.span_s, MIN_SPAN_S);
        v.zoom_about(anchor, 1e-9);
        assert_eq!(v.span_s, MAX_SPAN_S);
        // scrolling leaves follow mode, then playing does not move the view
        v.scroll_by(-1.0);
        assert!(!v.follow);
        assert!(!v.update(true, Some(100.0)));
        // clamp to the captured extent
        v.span_s = 4.0;
        v.start_s = -100.0;
        v.clamp_to(Some((10.0, 50.0)));
        assert_eq!(v.start_s, 8.0);
        v.fit((10.0, 50.0));
        assert!(v.start_s < 10.0 && v.start_s + v.span_s > 50.0);
    }

    #[test]
    fn grid_beats_and_spacing() {
        let m = map(); // 10..14 s over 800 px
        let g = grid_lines(&m, Some(120.0), Some(4), 20.0); // beat = 0.5 s = 100 px
        assert_eq!(g.first().unwrap().0, 10.0);
        assert_eq!(g.len(), 9);
        assert!(g[0].1); // beat 20 is a bar start
        assert!(!g[1].1);
        let g = grid_lines(&m, Some(120.0), Some(4), 150.0); // widened to 1 s
        assert_eq!(g.len(), 5);
        let g = grid_lines(&m, None, None, 20.0);
        assert_eq!(g.len(), 5);
        assert!(g[0].1); // 10 s is major
    }
}
