//! Locating and loading the ONNX Runtime shared library (process-global, first load wins).
//!
//! Search order: explicit path, `HITSCRIBE_ORT_LIB`, next to the current executable and next to
//! the shared library that contains this engine (a plugin bundle; also `lib/` and `../Resources/`
//! there), then `<repo>/runtime/` filled by `cargo xtask fetch-ort`. Only `ort::init_from` with an
//! absolute path is used: `ort::init()` would panic when the library is missing.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use crate::error::EngineError;

/// Environment variable naming the ONNX Runtime library file.
pub const ORT_LIB_ENV: &str = "HITSCRIBE_ORT_LIB";
/// ONNX Runtime version fetched by `cargo xtask fetch-ort`.
pub const ORT_VERSION: &str = "1.31.1";

/// The loaded ONNX Runtime.
pub struct Runtime {
    /// Absolute path of the library that was loaded.
    pub path: PathBuf,
    /// ONNX Runtime version, e.g. `1.31.1`.
    pub version: String,
    pub(crate) env: ort::environment::Environment,
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime")
            .field("path", &self.path)
            .field("version", &self.version)
            .finish()
    }
}

static RUNTIME: OnceLock<Runtime> = OnceLock::new();
static INIT_LOCK: Mutex<()> = Mutex::new(());

/// Library file names tried in every folder.
pub fn library_names() -> &'static [&'static str] {
    if cfg!(target_os = "windows") {
        &["onnxruntime.dll"]
    } else if cfg!(target_os = "macos") {
        &["libonnxruntime.1.31.1.dylib", "libonnxruntime.dylib"]
    } else {
        &[
            "libonnxruntime.so.1.31.1",
            "libonnxruntime.so.1",
            "libonnxruntime.so",
        ]
    }
}

/// `<repo>/runtime/`, where `cargo xtask fetch-ort` puts the library.
pub fn repo_runtime_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap_or(Path::new("."))
        .join("runtime")
}

/// Folder of the shared library (or executable) that contains this code; for a plugin this is
/// inside the bundle.
pub fn own_binary_dir() -> Option<PathBuf> {
    #[cfg(unix)]
    {
        let mut info: libc::Dl_info = unsafe { std::mem::zeroed() };
        let addr = own_binary_dir as *const libc::c_void;
        // SAFETY: dladdr only reads the address and fills `info`.
        if unsafe { libc::dladdr(addr, &mut info) } != 0 && !info.dli_fname.is_null() {
            // SAFETY: dli_fname is a NUL-terminated string owned by the loader.
            let name = unsafe { std::ffi::CStr::from_ptr(info.dli_fname) };
            if let Ok(s) = name.to_str() {
                if let Ok(p) = Path::new(s).canonicalize() {
                    return p.parent().map(Path::to_path_buf);
                }
            }
        }
    }
    None
}

/// Folders next to the executable and the engine's own binary, in search order.
pub fn binary_dirs() -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    let mut push = |d: PathBuf| {
        for sub in [d.clone(), d.join("lib"), d.join("../Resources")] {
            if !dirs.contains(&sub) {
                dirs.push(sub);
            }
        }
    };
    if let Some(d) = own_binary_dir() {
        push(d);
    }
    if let Some(d) = std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(Path::to_path_buf))
    {
        push(d);
    }
    dirs
}

/// Finds the library file without loading it.
pub fn locate(explicit: Option<&Path>) -> Result<PathBuf, EngineError> {
    let mut searched = Vec::new();
    if let Some(p) = explicit {
        return absolute_existing(p).ok_or_else(|| EngineError::RuntimeNotFound {
            searched: vec![p.to_path_buf()],
        });
    }
    if let Some(v) = std::env::var_os(ORT_LIB_ENV).filter(|v| !v.is_empty()) {
        let p = PathBuf::from(v);
        return absolute_existing(&p)
            .ok_or_else(|| EngineError::RuntimeNotFound { searched: vec![p] });
    }
    let mut dirs = binary_dirs();
    dirs.push(repo_runtime_dir());
    for d in dirs {
        for name in library_names() {
            let p = d.join(name);
            if let Some(abs) = absolute_existing(&p) {
                return Ok(abs);
            }
        }
        searched.push(d);
    }
    Err(EngineError::RuntimeNotFound { searched })
}

fn absolute_existing(p: &Path) -> Option<PathBuf> {
    if p.is_file() {
        p.canonicalize().ok()
    } else {
        None
    }
}

/// Loads ONNX Runtime once per process and returns it. Later calls return the first runtime,
/// whatever path they name (ONNX Runtime cannot be unloaded).
pub fn ensure_loaded(explicit: Option<&Path>) -> Result<&'static Runtime, EngineError> {
    if let Some(rt) = RUNTIME.get() {
        return Ok(rt);
    }
    let _guard = INIT_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(rt) = RUNTIME.get() {
        return Ok(rt);
    }
    let path = locate(explicit)?;
    let load_err = |reason: String| EngineError::RuntimeLoad {
        path: path.clone(),
        reason,
    };
    let builder = ort::init_from(&path).map_err(|e| load_err(e.to_string()))?;
    let env = builder
        .with_name("hitscribe")
        .with_telemetry(false)
        .build()
        .map_err(|e| load_err(e.to_string()))?;
    let version = version_from_build_info(ort::info())
        .or_else(|| version_from_file_name(&path))
        .unwrap_or_else(|| "unknown".into());
    let rt = Runtime { path, version, env };
    Ok(RUNTIME.get_or_init(|| rt))
}

/// The runtime if one was loaded in this process.
pub fn loaded() -> Option<&'static Runtime> {
    RUNTIME.get()
}

fn version_from_build_info(info: &str) -> Option<String> {
    let rest = &info[info.find("git-branch=rel-")? + "git-branch=rel-".len()..];
    let v: String = rest
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    (!v.is_empty()).then_some(v)
}

fn version_from_file_name(p: &Path) -> Option<String> {
    let name = p.file_name()?.to_str()?;
    let v = name.rsplit_once(".so.")?.1;
    (v.chars().all(|c| c.is_ascii_digit() || c == '.') && !v.is_empty()).then(|| v.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_versions() {
        assert_eq!(
            version_from_build_info("ORT Build Info: git-branch=rel-1.31.1, git-commit-id=abc"),
            Some("1.31.1".into())
        );
        assert_eq!(version_from_build_info("nothing"), None);
        assert_eq!(
            version_from_file_name(Path::new("/x/libonnxruntime.so.1.31.1")),
            Some("1.31.1".into())
        );
    }

    #[test]
    fn explicit_missing_path_is_a_clear_error() {
        let err = locate(Some(Path::new("/definitely/not/here.so"))).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("cargo xtask fetch-ort"), "{msg}");
        assert!(msg.contains("/definitely/not/here.so"), "{msg}");
    }
}
