//! Native file drag-out of the exported `.mid` into the DAW.
//!
//! baseview 0.4.2 is a drop target only and cannot start a drag, so this module talks to the
//! window system itself:
//! - Linux/X11: [`x11`] owns `XdndSelection` and speaks XDND (version 5) with `text/uri-list`
//!   from its own connection and thread (the plugin window's connection is baseview's).
//! - Windows (`DoDragDrop`) and macOS (`NSDraggingSource`) are not implemented yet: the call
//!   returns an error that says so, and the editor falls back to the exported file whose path it
//!   has copied to the clipboard.

use std::path::Path;

#[cfg(target_os = "linux")]
pub mod x11;

/// `file://` URI of an absolute path, percent-encoding everything but unreserved characters
/// and `/`.
pub fn file_uri(path: &Path) -> String {
    let abs = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let mut out = String::from("file://");
    for b in abs.to_string_lossy().bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// Starts a native drag of `path` from under the pointer (the editor window). Returns at once
/// (the drag runs on its own thread); `Err` says in plain words why a native drag is not
/// possible here.
pub fn start_file_drag(path: &Path) -> Result<(), String> {
    #[cfg(target_os = "linux")]
    {
        x11::start_drag(vec![file_uri(path)])
    }
    #[cfg(target_os = "windows")]
    {
        let _ = path;
        Err(
            "drag-out on Windows needs an OLE DoDragDrop source, which is not implemented yet"
                .into(),
        )
    }
    #[cfg(target_os = "macos")]
    {
        let _ = path;
        Err("drag-out on macOS needs an NSDraggingSource, which is not implemented yet".into())
    }
    #[cfg(not(any(target_os = "linux", target_os = "windows", target_os = "macos")))]
    {
        let _ = path;
        Err("this system has no drag-out support".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uri_encoding() {
        assert_eq!(
            file_uri(Path::new("/tmp/a b/hitscribe-1.mid")),
            "file:///tmp/a%20b/hitscribe-1.mid"
        );
        assert_eq!(file_uri(Path::new("/x/ü")), "file:///x/%C3%BC");
    }
}
