//! The Hitscribe editor (egui through nice-plug-egui): live piano roll, per-drum threshold
//! tuning with preview, status panel and MIDI export / drag-out. See `docs/editor.md` and
//! `docs/editor-api.md`.
//!
//! The plugin calls [`create`] from `Plugin::editor`. All data comes from an [`EditorHost`]
//! (snapshots and lock-free queues owned by the plugin); the editor never blocks the audio
//! thread.

use std::sync::Arc;

use nice_plug::context::gui::GuiContext;
use nice_plug::prelude::{FloatParam, ParamSetter};
use nice_plug_egui::{
    EguiEditor, EguiEditorState, EguiNiceSettings, Frame, NiceEguiApp, RepaintNotifier,
};

pub mod drag_out;
pub mod export;
pub mod host;
pub mod piano_roll_model;
pub mod preview;
#[cfg(test)]
mod screenshot_test;
pub mod ui;

pub use host::{
    ActivationPoint, CaptureNote, EditorHost, LaneInfo, MAX_LANES, StatusInfo, TransportInfo,
};
pub use ui::{EditorUi, ParamAccess};

/// Default editor size in logical pixels.
pub const DEFAULT_SIZE: (u32, u32) = (960, 640);

/// A fresh editor state at [`DEFAULT_SIZE`].
pub fn default_state() -> Arc<EguiEditorState> {
    EguiEditorState::from_size(
        nice_plug::editor::dpi::LogicalSize::new(DEFAULT_SIZE.0 as f64, DEFAULT_SIZE.1 as f64),
        1.0,
    )
}

/// The editor type: `type Editor = editor::PluginEditor;` in the plugin.
pub type PluginEditor = EguiEditor<HitscribeApp>;

/// Creates the editor. Called by the plugin's `Plugin::editor`.
pub fn create(
    host: Arc<dyn EditorHost>,
    editor_state: Arc<EguiEditorState>,
) -> Option<PluginEditor> {
    let app = HitscribeApp {
        ui: EditorUi::new(host.lanes(), None),
        host,
        gui: None,
    };
    let settings = EguiNiceSettings::new().with_tile("Hitscribe");
    nice_plug_egui::create_egui_editor(editor_state, RepaintNotifier::new(), settings, app)
}

/// The nice-plug-egui app: owns the UI state and the plugin handle.
pub struct HitscribeApp {
    ui: EditorUi,
    host: Arc<dyn EditorHost>,
    gui: Option<GuiContext>,
}

impl NiceEguiApp for HitscribeApp {
    fn build(
        &mut self,
        egui_ctx: egui::Context,
        nice_gui_ctx: GuiContext,
        _frame: &mut Frame,
    ) -> Result<(), nice_plug_egui::baseview::HandlerError> {
        egui_ctx.set_visuals(egui::Visuals::dark());
        self.gui = Some(nice_gui_ctx);
        Ok(())
    }

    fn ui(&mut self, ui: &mut egui::Ui, frame: &mut Frame) {
        self.ui.poll(self.host.as_ref());
        let Some(gui) = &self.gui else {
            return;
        };
        let access = SetterAccess {
            host: self.host.as_ref(),
            setter: gui.param_setter(),
        };
        let _ = frame;
        let mut drag = |path: &std::path::Path| drag_out::start_file_drag(path);
        self.ui.show(ui, self.host.as_ref(), &access, &mut drag);
    }

    fn editor_closed(&mut self) {
        self.gui = None;
    }
}

/// [`ParamAccess`] over the plugin's real parameters with host gestures.
struct SetterAccess<'a> {
    host: &'a dyn EditorHost,
    setter: ParamSetter<'a>,
}

impl SetterAccess<'_> {
    fn param(&self, lane: usize) -> Option<&FloatParam> {
        self.host.threshold_param(lane)
    }
}

impl ParamAccess for SetterAccess<'_> {
    fn threshold(&self, lane: usize) -> Option<f32> {
        use nice_plug::prelude::Param;
        self.param(lane).map(|p| p.modulated_plain_value())
    }

    fn begin(&self, lane: usize) {
        if let Some(p) = self.param(lane) {
            self.setter.begin_set_parameter(p);
        }
    }

    fn set(&self, lane: usize, value: f32) {
        if let Some(p) = self.param(lane) {
            self.setter.set_parameter(p, value);
        }
    }

    fn end(&self, lane: usize) {
        if let Some(p) = self.param(lane) {
            self.setter.end_set_parameter(p);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct EmptyHost;

    impl EditorHost for EmptyHost {
        fn lanes(&self) -> Vec<LaneInfo> {
            vec![LaneInfo {
                name: "kick".into(),
                gm_note: 36,
            }]
        }
        fn threshold_param(&self, _lane: usize) -> Option<&FloatParam> {
            None
        }
        fn capture_notes_since(&self, since: u64, _out: &mut Vec<CaptureNote>) -> u64 {
            since
        }
        fn capture_epoch(&self) -> u64 {
            0
        }
        fn drain_activations(&self, _out: &mut Vec<ActivationPoint>) {}
        fn clear_capture(&self) {}
        fn transport(&self) -> TransportInfo {
            TransportInfo::default()
        }
        fn status(&self) -> StatusInfo {
            StatusInfo::default()
        }
    }

    #[test]
    fn create_gives_an_editor_of_the_default_size() {
        let state = default_state();
        assert!(!state.is_open());
        let size = state.size();
        assert_eq!(
            size,
            nice_plug::editor::dpi::LogicalSize::new(960.0, 640.0).into()
        );
        assert!(create(Arc::new(EmptyHost), state).is_some());
    }
}
