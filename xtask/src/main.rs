//! Project tasks. `cargo xtask <command>`:
//!
//! - `fetch-ort [--gpu] [--force]`: download the official ONNX Runtime wheel with pip and put
//!   `libonnxruntime.so.1.31.1` into `runtime/` (git-ignored).
//! - `render-demo`: render the demo drum loop and its ground truth into `assets/loops/`.
//! - `bench [--model PATH] [--note TEXT]`: build the release CLI, measure, and write `BENCHMARKS.md`.
//! - `bundle NAME [--release]`: nice-plug-xtask's plugin bundler (CLAP + VST3); afterwards the
//!   ONNX Runtime library and the model are copied next to the bundles.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};

mod bench;
mod render;

/// ONNX Runtime version fetched.
const ORT_VERSION: &str = "1.31.1";

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the repo")
        .to_path_buf()
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let cmd = args.first().map(String::as_str).unwrap_or("");
    let rest = &args[args.len().min(1)..];
    match cmd {
        "fetch-ort" => fetch_ort(
            rest.iter().any(|a| a == "--gpu"),
            rest.iter().any(|a| a == "--force"),
        ),
        "render-demo" => render::render_demo(&repo_root()),
        "bench" => bench::run(&repo_root(), rest),
        "bundle" | "bundle-universal" => {
            nice_plug_xtask::main_with_args("cargo xtask", args.clone())?;
            let release = rest.iter().any(|a| a == "--release");
            copy_runtime_into_bundles(&repo_root(), release)
        }
        _ => {
            eprintln!(
                "usage: cargo xtask <fetch-ort [--gpu] [--force] | render-demo | bench | bundle NAME [--release]>"
            );
            bail!("unknown command `{cmd}`")
        }
    }
}

/// Downloads the wheel with pip (PyPI only) and extracts the shared libraries.
fn fetch_ort(gpu: bool, force: bool) -> Result<()> {
    let root = repo_root();
    let dest = root.join("runtime");
    let lib = dest.join(format!("libonnxruntime.so.{ORT_VERSION}"));
    let cuda_lib = dest.join("libonnxruntime_providers_cuda.so");
    if lib.is_file() && !force && (!gpu || cuda_lib.is_file()) {
        println!(
            "ONNX Runtime already in {} (use --force to refetch)",
            lib.display()
        );
        return Ok(());
    }
    let package = if gpu {
        "onnxruntime-gpu"
    } else {
        "onnxruntime"
    };
    let tmp = root.join("target/ort-download");
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp)?;
    std::fs::create_dir_all(&dest)?;
    println!("downloading {package}=={ORT_VERSION} from PyPI with pip ...");
    let status = Command::new("python3")
        .args([
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--only-binary=:all:",
            "--quiet",
        ])
        .arg(format!("{package}=={ORT_VERSION}"))
        .arg("-d")
        .arg(&tmp)
        .status()
        .context("running `python3 -m pip download` (is python3 with pip installed?)")?;
    if !status.success() {
        bail!("pip download of {package}=={ORT_VERSION} failed");
    }
    let wheel = std::fs::read_dir(&tmp)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.extension().is_some_and(|e| e == "whl"))
        .context("pip downloaded no wheel")?;
    // Python's zipfile is always present where pip is; extract only the shared libraries.
    let script = r#"
import sys, zipfile, os, shutil
wheel, dest = sys.argv[1], sys.argv[2]
n = 0
with zipfile.ZipFile(wheel) as z:
    for name in z.namelist():
        base = os.path.basename(name)
        if name.startswith('onnxruntime/capi/') and base.startswith('libonnxruntime') and '.so' in base:
            target = os.path.join(dest, base)
            with z.open(name) as src, open(target + '.part', 'wb') as dst:
                shutil.copyfileobj(src, dst)
            os.chmod(target + '.part', 0o755)
            os.replace(target + '.part', target)
            print('  ' + target)
            n += 1
if n == 0:
    sys.exit('no libonnxruntime*.so in ' + wheel)
"#;
    let status = Command::new("python3")
        .args(["-c", script])
        .arg(&wheel)
        .arg(&dest)
        .status()?;
    if !status.success() {
        bail!("extracting {} failed", wheel.display());
    }
    let _ = std::fs::remove_dir_all(&tmp);
    if !lib.is_file() {
        bail!("{} missing after extraction", lib.display());
    }
    println!("ONNX Runtime {ORT_VERSION} ready in {}", dest.display());
    Ok(())
}

/// Puts the runtime library and the model next to the plugin binaries the engine searches, and
/// refreshes the resource folders `scripts/bundle.sh` made (`hitscribe/`, `Contents/Resources`):
/// the plugin searches those first, so a stale model there would shadow the new one.
fn copy_runtime_into_bundles(root: &Path, _release: bool) -> Result<()> {
    let bundled = root.join("target/bundled");
    let lib = root.join(format!("runtime/libonnxruntime.so.{ORT_VERSION}"));
    let model = root
        .join("assets/models")
        .join(hitscribe_engine::model::MODEL_FILE);
    let mut dirs = vec![bundled.clone(), bundled.join("hitscribe")];
    if let Ok(entries) = std::fs::read_dir(&bundled) {
        for e in entries.flatten() {
            let p = e.path();
            if p.extension().is_some_and(|x| x == "vst3") && p.is_dir() {
                dirs.push(p.join("Contents/x86_64-linux"));
                dirs.push(p.join("Contents/Resources"));
            }
        }
    }
    for d in dirs.iter().filter(|d| d.is_dir()) {
        for f in [&lib, &model] {
            if f.is_file() {
                std::fs::copy(f, d.join(f.file_name().expect("file")))?;
            } else {
                eprintln!(
                    "note: {} not found; not copied into {}",
                    f.display(),
                    d.display()
                );
            }
        }
    }
    Ok(())
}
