//! Where the plugin finds its model and the ONNX Runtime library: computed from the location of
//! the plugin's own shared library (never relative to the host's working directory).
//!
//! Layout (see `docs/plugin-bundle.md`):
//! - VST3: `hitscribe.vst3/Contents/Resources/` next to `Contents/<arch>-linux/hitscribe.so`;
//! - CLAP: a folder `hitscribe/` next to `hitscribe.clap`;
//! - either: the files directly next to the plugin binary.
//!
//! When none of these has the file, the engine's own search applies (environment variables
//! `HITSCRIBE_MODEL` / `HITSCRIBE_ORT_LIB`, then the repository's `assets/models` and `runtime/`).

use std::path::{Path, PathBuf};

/// File name of the bundled model.
pub const MODEL_FILE: &str = "hitscribe-causal.onnx";

/// ONNX Runtime library names tried, most specific first.
#[cfg(target_os = "linux")]
pub const RUNTIME_FILES: &[&str] = &[
    "libonnxruntime.so.1.31.1",
    "libonnxruntime.so.1",
    "libonnxruntime.so",
];
/// ONNX Runtime library names tried, most specific first.
#[cfg(target_os = "macos")]
pub const RUNTIME_FILES: &[&str] = &["libonnxruntime.1.31.1.dylib", "libonnxruntime.dylib"];
/// ONNX Runtime library names tried, most specific first.
#[cfg(target_os = "windows")]
pub const RUNTIME_FILES: &[&str] = &["onnxruntime.dll"];
/// ONNX Runtime library names tried, most specific first.
#[cfg(not(any(target_os = "linux", target_os = "macos", target_os = "windows")))]
pub const RUNTIME_FILES: &[&str] = &[];

/// Absolute path of the shared library (or executable) this code is linked into.
#[cfg(unix)]
pub fn own_binary_path() -> Option<PathBuf> {
    use std::ffi::CStr;
    use std::os::unix::ffi::OsStrExt;
    // SAFETY: dladdr only reads the loader's tables; the address is a function in this binary.
    unsafe {
        let mut info: libc::Dl_info = std::mem::zeroed();
        let addr = own_binary_path as *const libc::c_void;
        if libc::dladdr(addr, &mut info) == 0 || info.dli_fname.is_null() {
            return None;
        }
        let name = CStr::from_ptr(info.dli_fname);
        let path = PathBuf::from(std::ffi::OsStr::from_bytes(name.to_bytes()));
        std::fs::canonicalize(&path).ok().or(Some(path))
    }
}

/// Absolute path of the shared library (or executable) this code is linked into.
#[cfg(not(unix))]
pub fn own_binary_path() -> Option<PathBuf> {
    None
}

/// Folders searched for bundled resources, in order, for a plugin binary at `binary`.
pub fn resource_dirs(binary: &Path) -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    if let Some(dir) = binary.parent() {
        // VST3: Contents/<arch>/hitscribe.so -> Contents/Resources
        if let Some(contents) = dir.parent() {
            dirs.push(contents.join("Resources"));
        }
        dirs.push(dir.join("hitscribe"));
        dirs.push(dir.to_path_buf());
    }
    dirs
}

/// The first existing file among `names` in `dirs`.
pub fn find_in(dirs: &[PathBuf], names: &[&str]) -> Option<PathBuf> {
    dirs.iter()
        .flat_map(|d| names.iter().map(move |n| d.join(n)))
        .find(|p| p.is_file())
}

/// The bundled model next to this plugin, if present.
pub fn bundled_model() -> Option<PathBuf> {
    let bin = own_binary_path()?;
    find_in(&resource_dirs(&bin), &[MODEL_FILE])
}

/// The bundled ONNX Runtime library next to this plugin, if present.
pub fn bundled_runtime() -> Option<PathBuf> {
    let bin = own_binary_path()?;
    find_in(&resource_dirs(&bin), RUNTIME_FILES)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_path_is_absolute_and_exists() {
        let p = own_binary_path().expect("dladdr finds the test binary");
        assert!(p.is_absolute());
        assert!(p.exists());
    }

    #[test]
    fn resource_dirs_cover_vst3_and_clap_layouts() {
        let vst = resource_dirs(Path::new(
            "/x/hitscribe.vst3/Contents/x86_64-linux/hitscribe.so",
        ));
        assert_eq!(vst[0], Path::new("/x/hitscribe.vst3/Contents/Resources"));
        let clap = resource_dirs(Path::new("/home/u/.clap/hitscribe.clap"));
        assert!(clap.contains(&PathBuf::from("/home/u/.clap/hitscribe")));
        let dir = std::env::temp_dir().join(format!("hs-paths-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("hitscribe")).unwrap();
        std::fs::write(dir.join("hitscribe").join(MODEL_FILE), b"x").unwrap();
        let found = find_in(&resource_dirs(&dir.join("hitscribe.clap")), &[MODEL_FILE]);
        assert_eq!(found, Some(dir.join("hitscribe").join(MODEL_FILE)));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
