//! X11 XDND drag source (protocol version 5) for `text/uri-list`.
//!
//! baseview owns the plugin window's X connection, so the drag runs on its own connection and
//! thread: an unmapped input-only window owns `XdndSelection` and receives the target's
//! messages. No pointer grab is taken (the host/baseview already holds the implicit grab of the
//! button press); the pointer is polled with `QueryPointer` instead, which works regardless of
//! grabs. The drop happens when the left button is released over an XDND-aware window that
//! accepted; released elsewhere, the drag is cancelled (`XdndLeave`).

use std::time::{Duration, Instant};

use x11rb::connection::Connection;
use x11rb::protocol::Event;
use x11rb::protocol::xproto::{
    Atom, AtomEnum, ClientMessageEvent, ConnectionExt as _, CreateWindowAux, EventMask, KeyButMask,
    PropMode, SELECTION_NOTIFY_EVENT, SelectionNotifyEvent, SelectionRequestEvent, Window,
    WindowClass,
};
use x11rb::wrapper::ConnectionExt as _;
use x11rb::{COPY_DEPTH_FROM_PARENT, CURRENT_TIME, NONE};

/// XDND protocol version we speak.
pub const XDND_VERSION: u32 = 5;
/// How long to wait for `XdndFinished` after the drop.
pub const FINISH_TIMEOUT: Duration = Duration::from_secs(5);
/// The whole drag gives up after this long.
pub const DRAG_TIMEOUT: Duration = Duration::from_secs(120);

/// The pointer as the drag loop sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PointerState {
    /// Root-window x.
    pub root_x: i16,
    /// Root-window y.
    pub root_y: i16,
    /// Whether the left button is still held.
    pub button_down: bool,
}

/// How a drag ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DragOutcome {
    /// Dropped on `target`; `finished` is whether it answered `XdndFinished` with success.
    Dropped {
        /// The window that took the drop.
        target: Window,
        /// Whether the target reported success.
        finished: bool,
    },
    /// Released over nothing that accepted, or timed out.
    Cancelled,
}

/// Interned atoms.
#[derive(Debug, Clone, Copy)]
struct Atoms {
    aware: Atom,
    selection: Atom,
    enter: Atom,
    position: Atom,
    status: Atom,
    leave: Atom,
    drop: Atom,
    finished: Atom,
    action_copy: Atom,
    type_list: Atom,
    uri_list: Atom,
    text_plain: Atom,
    utf8: Atom,
    targets: Atom,
}

impl Atoms {
    fn new(conn: &impl Connection) -> Result<Self, String> {
        let names: [&[u8]; 14] = [
            b"XdndAware",
            b"XdndSelection",
            b"XdndEnter",
            b"XdndPosition",
            b"XdndStatus",
            b"XdndLeave",
            b"XdndDrop",
            b"XdndFinished",
            b"XdndActionCopy",
            b"XdndTypeList",
            b"text/uri-list",
            b"text/plain",
            b"UTF8_STRING",
            b"TARGETS",
        ];
        let cookies: Vec<_> = names
            .iter()
            .map(|n| conn.intern_atom(false, n).map_err(err))
            .collect::<Result<_, _>>()?;
        let mut a = Vec::with_capacity(names.len());
        for c in cookies {
            a.push(c.reply().map_err(err)?.atom);
        }
        Ok(Self {
            aware: a[0],
            selection: a[1],
            enter: a[2],
            position: a[3],
            status: a[4],
            leave: a[5],
            drop: a[6],
            finished: a[7],
            action_copy: a[8],
            type_list: a[9],
            uri_list: a[10],
            text_plain: a[11],
            utf8: a[12],
            targets: a[13],
        })
    }
}

fn err(e: impl std::fmt::Display) -> String {
    format!("X11: {e}")
}

/// One drag from our own X connection.
pub struct DragSession<C: Connection> {
    conn: C,
    root: Window,
    window: Window,
    skip: Window,
    atoms: Atoms,
    data: Vec<u8>,
    /// How long to wait for `XdndFinished` after the drop (default [`FINISH_TIMEOUT`]).
    pub finish_timeout: Duration,
}

impl<C: Connection> DragSession<C> {
    /// Prepares a drag of `uris` on `conn` (screen `screen`): creates the source window and
    /// takes `XdndSelection`. Windows at or below `skip` (the editor itself) are not targets.
    pub fn new(conn: C, screen: usize, skip: Window, uris: &[String]) -> Result<Self, String> {
        let root = conn.setup().roots[screen].root;
        let atoms = Atoms::new(&conn)?;
        let window = conn.generate_id().map_err(err)?;
        conn.create_window(
            COPY_DEPTH_FROM_PARENT,
            window,
            root,
            -10,
            -10,
            1,
            1,
            0,
            WindowClass::INPUT_ONLY,
            x11rb::COPY_FROM_PARENT,
            &CreateWindowAux::new(),
        )
        .map_err(err)?;
        conn.change_property32(
            PropMode::REPLACE,
            window,
            atoms.type_list,
            AtomEnum::ATOM,
            &[atoms.uri_list, atoms.text_plain, atoms.utf8],
        )
        .map_err(err)?;
        conn.set_selection_owner(window, atoms.selection, CURRENT_TIME)
            .map_err(err)?;
        let owner = conn
            .get_selection_owner(atoms.selection)
            .map_err(err)?
            .reply()
            .map_err(err)?
            .owner;
        if owner != window {
            return Err("X11: could not own XdndSelection".into());
        }
        let mut data = String::new();
        for u in uris {
            data.push_str(u);
            data.push_str("\r\n");
        }
        Ok(Self {
            conn,
            root,
            window,
            skip,
            atoms,
            data: data.into_bytes(),
            finish_timeout: FINISH_TIMEOUT,
        })
    }

    /// The source window (owner of `XdndSelection`).
    pub fn window(&self) -> Window {
        self.window
    }

    /// The XDND-aware window under root position `(x, y)` and its protocol version.
    fn find_target(&self, x: i16, y: i16) -> Result<Option<(Window, u32)>, String> {
        let mut win = self.root;
        for _ in 0..32 {
            let child = self
                .conn
                .translate_coordinates(self.root, win, x, y)
                .map_err(err)?
                .reply()
                .map_err(err)?
                .child;
            if child == NONE || child == self.skip || child == self.window {
                return Ok(None);
            }
            win = child;
            let prop = self
                .conn
                .get_property(false, win, self.atoms.aware, AtomEnum::ATOM, 0, 1)
                .map_err(err)?
                .reply()
                .map_err(err)?;
            if let Some(v) = prop.value32().and_then(|mut i| i.next()) {
                return Ok(Some((win, v.min(XDND_VERSION))));
            }
        }
        Ok(None)
    }

    fn send(&self, target: Window, kind: Atom, data: [u32; 5]) -> Result<(), String> {
        let ev = ClientMessageEvent::new(32, target, kind, data);
        self.conn
            .send_event(false, target, EventMask::NO_EVENT, ev)
            .map_err(err)?;
        Ok(())
    }

    fn answer_selection(&self, req: &SelectionRequestEvent) -> Result<(), String> {
        let a = &self.atoms;
        let property = if req.property == NONE {
            req.target
        } else {
            req.property
        };
        let ok = if req.selection != a.selection {
            false
        } else if req.target == a.targets {
            self.conn
                .change_property32(
                    PropMode::REPLACE,
                    req.requestor,
                    property,
                    AtomEnum::ATOM,
                    &[a.targets, a.uri_list, a.text_plain, a.utf8],
                )
                .map_err(err)?;
            true
        } else if [a.uri_list, a.text_plain, a.utf8].contains(&req.target) {
            self.conn
                .change_property8(
                    PropMode::REPLACE,
                    req.requestor,
                    property,
                    req.target,
                    &self.data,
                )
                .map_err(err)?;
            true
        } else {
            false
        };
        let notify = SelectionNotifyEvent {
            response_type: SELECTION_NOTIFY_EVENT,
            sequence: 0,
            time: req.time,
            requestor: req.requestor,
            selection: req.selection,
            target: req.target,
            property: if ok { property } else { NONE },
        };
        self.conn
            .send_event(false, req.requestor, EventMask::NO_EVENT, notify)
            .map_err(err)?;
        Ok(())
    }

    /// Runs the drag until drop or cancel, polling `pointer` every `poll` interval.
    pub fn run(
        &mut self,
        mut pointer: impl FnMut(&C, Window) -> Result<PointerState, String>,
        poll: Duration,
    ) -> Result<DragOutcome, String> {
        let a = self.atoms;
        let started = Instant::now();
        let mut current: Option<(Window, u32)> = None;
        let mut accepted = false;
        let mut awaiting_status = false;
        let mut last_pos: Option<(i16, i16)> = None;
        let mut dropped_at: Option<Instant> = None;
        loop {
            while let Some(ev) = self.conn.poll_for_event().map_err(err)? {
                match ev {
                    Event::ClientMessage(m) if m.type_ == a.status => {
                        let d = m.data.as_data32();
                        if current.is_some_and(|(t, _)| t == d[0]) {
                            accepted = d[1] & 1 == 1;
                            awaiting_status = false;
                        }
                    }
                    Event::ClientMessage(m) if m.type_ == a.finished => {
                        let d = m.data.as_data32();
                        if let (Some((t, v)), Some(_)) = (current, dropped_at)
                            && t == d[0]
                        {
                            // version 5 carries a success bit; older targets imply success
                            let finished = v < 5 || d[1] & 1 == 1;
                            return Ok(DragOutcome::Dropped {
                                target: t,
                                finished,
                            });
                        }
                    }
                    Event::SelectionRequest(req) => {
                        self.answer_selection(&req)?;
                        self.conn.flush().map_err(err)?;
                    }
                    _ => {}
                }
            }
            if let Some(at) = dropped_at {
                if at.elapsed() > self.finish_timeout {
                    let target = current.map(|(t, _)| t).unwrap_or(NONE);
                    return Ok(DragOutcome::Dropped {
                        target,
                        finished: false,
                    });
                }
                std::thread::sleep(poll);
                continue;
            }
            if started.elapsed() > DRAG_TIMEOUT {
                if let Some((t, _)) = current {
                    self.send(t, a.leave, [self.window, 0, 0, 0, 0])?;
                    self.conn.flush().map_err(err)?;
                }
                return Ok(DragOutcome::Cancelled);
            }
            let p = pointer(&self.conn, self.root)?;
            if !p.button_down {
                match current {
                    Some((t, _)) if accepted => {
                        self.send(t, a.drop, [self.window, 0, CURRENT_TIME, 0, 0])?;
                        self.conn.flush().map_err(err)?;
                        dropped_at = Some(Instant::now());
                        continue;
                    }
                    Some((t, _)) => {
                        self.send(t, a.leave, [self.window, 0, 0, 0, 0])?;
                        self.conn.flush().map_err(err)?;
                        return Ok(DragOutcome::Cancelled);
                    }
                    None => return Ok(DragOutcome::Cancelled),
                }
            }
            let target = self.find_target(p.root_x, p.root_y)?;
            if target.map(|t| t.0) != current.map(|t| t.0) {
                if let Some((t, _)) = current {
                    self.send(t, a.leave, [self.window, 0, 0, 0, 0])?;
                }
                if let Some((t, v)) = target {
                    self.send(
                        t,
                        a.enter,
                        [self.window, v << 24, a.uri_list, a.text_plain, a.utf8],
                    )?;
                }
                current = target;
                accepted = false;
                awaiting_status = false;
                last_pos = None;
            }
            if let Some((t, _)) = current
                && !awaiting_status
                && last_pos != Some((p.root_x, p.root_y))
            {
                let xy = ((p.root_x as u16 as u32) << 16) | p.root_y as u16 as u32;
                self.send(
                    t,
                    a.position,
                    [self.window, 0, xy, CURRENT_TIME, a.action_copy],
                )?;
                awaiting_status = true;
                last_pos = Some((p.root_x, p.root_y));
            }
            self.conn.flush().map_err(err)?;
            std::thread::sleep(poll);
        }
    }
}

impl<C: Connection> Drop for DragSession<C> {
    fn drop(&mut self) {
        let _ = self.conn.destroy_window(self.window);
        let _ = self.conn.flush();
    }
}

/// Reads the real pointer with `QueryPointer`.
pub fn query_pointer(conn: &impl Connection, root: Window) -> Result<PointerState, String> {
    let r = conn
        .query_pointer(root)
        .map_err(err)?
        .reply()
        .map_err(err)?;
    Ok(PointerState {
        root_x: r.root_x,
        root_y: r.root_y,
        button_down: r.mask.contains(KeyButMask::BUTTON1),
    })
}

/// The deepest window under the pointer (the editor's own baseview window when the drag starts
/// there).
pub fn window_under_pointer(conn: &impl Connection, root: Window) -> Result<Window, String> {
    let p = query_pointer(conn, root)?;
    let mut win = root;
    for _ in 0..32 {
        let child = conn
            .translate_coordinates(root, win, p.root_x, p.root_y)
            .map_err(err)?
            .reply()
            .map_err(err)?
            .child;
        if child == NONE {
            break;
        }
        win = child;
    }
    Ok(win)
}

/// Starts a drag of `uris` from the window under the pointer (the editor; it is never a drop
/// target itself). Connects synchronously (so a missing display is reported), then runs on a
/// new thread.
pub fn start_drag(uris: Vec<String>) -> Result<(), String> {
    let (conn, screen) = x11rb::connect(None).map_err(err)?;
    let root = conn.setup().roots[screen].root;
    let source = window_under_pointer(&conn, root)?;
    let mut session = DragSession::new(conn, screen, source, &uris)?;
    std::thread::Builder::new()
        .name("hitscribe-xdnd".into())
        .spawn(move || {
            let _ = session.run(query_pointer, Duration::from_millis(12));
        })
        .map_err(err)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::{Child, Command};
    use x11rb::protocol::xproto::{AtomEnum, CreateWindowAux};
    use x11rb::rust_connection::RustConnection;

    /// Starts Xvfb on a free display number, or `None` when Xvfb is not installed.
    fn xvfb(base: u32) -> Option<(Child, String)> {
        for n in base..base + 10 {
            let name = format!(":{n}");
            if std::path::Path::new(&format!("/tmp/.X11-unix/X{n}")).exists()
                || std::path::Path::new(&format!("/tmp/.X{n}-lock")).exists()
            {
                continue;
            }
            let child = Command::new("Xvfb")
                .args([
                    name.as_str(),
                    "-screen",
                    "0",
                    "640x480x24",
                    "-nolisten",
                    "tcp",
                    "-noreset",
                ])
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .ok()?;
            for _ in 0..100 {
                if RustConnection::connect(Some(&name)).is_ok() {
                    return Some((child, name));
                }
                std::thread::sleep(Duration::from_millis(30));
            }
            return None;
        }
        None
    }

    /// Stops Xvfb with SIGTERM so it removes its socket and lock file.
    fn stop(mut xvfb: Child) {
        let _ = Command::new("kill")
            .args(["-TERM", &xvfb.id().to_string()])
            .status();
        let _ = xvfb.wait();
    }

    /// A fake drop target: a full-screen XDND-aware window that accepts, converts the selection
    /// on drop and reports success. Returns the data it received.
    fn fake_target(display: String, ready: std::sync::mpsc::Sender<Window>) -> Vec<u8> {
        let (conn, screen) = RustConnection::connect(Some(&display)).unwrap();
        let root = conn.setup().roots[screen].root;
        let atoms = Atoms::new(&conn).unwrap();
        let prop = conn
            .intern_atom(false, b"HS_DROP")
            .unwrap()
            .reply()
            .unwrap()
            .atom;
        let win = conn.generate_id().unwrap();
        conn.create_window(
            COPY_DEPTH_FROM_PARENT,
            win,
            root,
            100,
            100,
            300,
            200,
            0,
            WindowClass::INPUT_OUTPUT,
            x11rb::COPY_FROM_PARENT,
            &CreateWindowAux::new().event_mask(EventMask::PROPERTY_CHANGE),
        )
        .unwrap();
        conn.change_property32(PropMode::REPLACE, win, atoms.aware, AtomEnum::ATOM, &[5])
            .unwrap();
        conn.map_window(win).unwrap();
        conn.get_input_focus().unwrap().reply().unwrap(); // sync
        ready.send(win).unwrap();
        let mut source = NONE;
        loop {
            let ev = conn.wait_for_event().unwrap();
            match ev {
                Event::ClientMessage(m) if m.type_ == atoms.enter => {
                    let d = m.data.as_data32();
                    source = d[0];
                    assert_eq!(d[1] >> 24, 5);
                    assert_eq!(d[2], atoms.uri_list);
                }
                Event::ClientMessage(m) if m.type_ == atoms.position => {
                    let d = m.data.as_data32();
                    assert_eq!(d[4], atoms.action_copy);
                    let ev = ClientMessageEvent::new(
                        32,
                        source,
                        atoms.status,
                        [win, 1, 0, 0, atoms.action_copy],
                    );
                    conn.send_event(false, source, EventMask::NO_EVENT, ev)
                        .unwrap();
                    conn.flush().unwrap();
                }
                Event::ClientMessage(m) if m.type_ == atoms.drop => {
                    conn.convert_selection(
                        win,
                        atoms.selection,
                        atoms.uri_list,
                        prop,
                        CURRENT_TIME,
                    )
                    .unwrap();
                    conn.flush().unwrap();
                }
                Event::SelectionNotify(n) => {
                    assert_eq!(n.property, prop);
                    let r = conn
                        .get_property(true, win, prop, AtomEnum::ANY, 0, 1 << 16)
                        .unwrap()
                        .reply()
                        .unwrap();
                    assert_eq!(r.type_, atoms.uri_list);
                    let ev = ClientMessageEvent::new(
                        32,
                        source,
                        atoms.finished,
                        [win, 1, atoms.action_copy, 0, 0],
                    );
                    conn.send_event(false, source, EventMask::NO_EVENT, ev)
                        .unwrap();
                    // Round trip before closing: closing a socket with unread events makes the
                    // kernel reset it, and the server may drop the not yet processed SendEvent.
                    conn.get_input_focus().unwrap().reply().unwrap();
                    return r.value;
                }
                _ => {}
            }
        }
    }

    #[test]
    fn xdnd_drop_delivers_uri_list() {
        let Some((xvfb, display)) = xvfb(90) else {
            eprintln!("SKIPPED: Xvfb not installed (apt-get install xvfb)");
            return;
        };
        let (tx, rx) = std::sync::mpsc::channel();
        let d2 = display.clone();
        let target = std::thread::spawn(move || fake_target(d2, tx));
        let target_win = rx.recv().unwrap();

        let (conn, screen) = RustConnection::connect(Some(&display)).unwrap();
        let uris = vec!["file:///tmp/a%20b/hitscribe-1.mid".to_string()];
        let mut s = DragSession::new(conn, screen, NONE, &uris).unwrap();
        s.finish_timeout = Duration::from_secs(60); // generous on a loaded CI machine
        // start outside the target, move in, wiggle, release inside
        let path = [
            (10, 10, true),
            (50, 50, true),
            (150, 150, true),
            (160, 155, true),
            (170, 160, true),
            (170, 160, true),
            (170, 160, false),
        ];
        let mut i = 0;
        let outcome = s
            .run(
                |_, _| {
                    let (x, y, down) = path[i.min(path.len() - 1)];
                    i += 1;
                    Ok(PointerState {
                        root_x: x,
                        root_y: y,
                        button_down: down,
                    })
                },
                Duration::from_millis(20),
            )
            .unwrap();
        let got = target.join().unwrap();
        stop(xvfb);
        assert_eq!(
            outcome,
            DragOutcome::Dropped {
                target: target_win,
                finished: true
            }
        );
        assert_eq!(got, b"file:///tmp/a%20b/hitscribe-1.mid\r\n");
    }

    #[test]
    fn release_outside_cancels() {
        let Some((xvfb, display)) = xvfb(110) else {
            eprintln!("SKIPPED: Xvfb not installed (apt-get install xvfb)");
            return;
        };
        let (conn, screen) = RustConnection::connect(Some(&display)).unwrap();
        let mut s = DragSession::new(conn, screen, NONE, &["file:///x.mid".into()]).unwrap();
        let mut n = 0;
        let outcome = s
            .run(
                |_, _| {
                    n += 1;
                    Ok(PointerState {
                        root_x: 5,
                        root_y: 5,
                        button_down: n < 3,
                    })
                },
                Duration::from_millis(5),
            )
            .unwrap();
        stop(xvfb);
        assert_eq!(outcome, DragOutcome::Cancelled);
    }
}
