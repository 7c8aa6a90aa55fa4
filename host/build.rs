//! Builds the plugin crates directly under `plugins/` (the shipped ones, not the deliberately
//! misbehaving ones in `plugins/testing/`, which the tests build when they need them) to
//! WebAssembly components at `target/plugins/<crate-name>.wasm`, so `cargo run` / `cargo test`
//! need no manual step. Installs the `wasm32-wasip2` target with rustup when it is missing.
//! The default plugins are embedded in the binary (`VOXGATE_DEFAULT_*_WASM`).

use std::path::{Path, PathBuf};
use std::process::Command;

include!("guest_build.rs");

const TARGET: &str = "wasm32-wasip2";

fn main() {
    let host =
        PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let root = host
        .parent()
        .expect("host/ lives in the workspace")
        .to_path_buf();
    println!("cargo:rerun-if-changed={}", root.join("wit").display());
    println!("cargo:rerun-if-changed=guest_build.rs");
    println!("cargo:rerun-if-env-changed=CARGO_TARGET_DIR");

    let target_dir = match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) if Path::new(&dir).is_absolute() => PathBuf::from(dir),
        Some(dir) => root.join(dir),
        None => root.join("target"),
    };
    let crates = plugin_crates(&root.join("plugins"));
    for (_, dir) in &crates {
        println!("cargo:rerun-if-changed={}", dir.display());
    }
    let crates: Vec<String> = crates.into_iter().map(|(name, _)| name).collect();
    if crates.is_empty() {
        panic!(
            "no plugin crates found under {}",
            root.join("plugins").display()
        );
    }
    ensure_target();

    let build_dir = target_dir.join("wasm-build");
    let mut command = guest_build(&root, &build_dir, &crates);
    let status = command
        .status()
        .expect("cannot run cargo to build the plugins");
    if !status.success() {
        panic!("building the plugins for {TARGET} failed (see the output above)");
    }

    let out = target_dir.join("plugins");
    std::fs::create_dir_all(&out).expect("create target/plugins");
    for name in &crates {
        let built = build_dir
            .join(TARGET)
            .join("release")
            .join(format!("{}.wasm", name.replace('-', "_")));
        let dest = out.join(format!("{name}.wasm"));
        copy_if_changed(&built, &dest);
    }
    // The default PLUGIN_DIR (target/plugins/slots) follows the build, so `cargo run` always
    // serves the plugins just built (a running gateway hot-reloads them).
    let slots = out.join("slots");
    std::fs::create_dir_all(&slots).expect("create target/plugins/slots");
    copy_if_changed(
        &out.join("backoff-exponential.wasm"),
        &slots.join("backoff.wasm"),
    );
    copy_if_changed(&out.join("rag-bm25.wasm"), &slots.join("rag.wasm"));
    println!(
        "cargo:rustc-env=VOXGATE_DEFAULT_BACKOFF_WASM={}",
        out.join("backoff-exponential.wasm").display()
    );
    println!(
        "cargo:rustc-env=VOXGATE_DEFAULT_RAG_WASM={}",
        out.join("rag-bm25.wasm").display()
    );
    println!("cargo:rustc-env=VOXGATE_PLUGIN_BUILD_DIR={}", out.display());
}

/// Package names and directories of the crates directly under `plugins/`.
fn plugin_crates(plugins: &Path) -> Vec<(String, PathBuf)> {
    let Ok(entries) = std::fs::read_dir(plugins) else {
        return Vec::new();
    };
    let mut crates: Vec<(String, PathBuf)> = entries
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let manifest = std::fs::read_to_string(entry.path().join("Cargo.toml")).ok()?;
            Some((package_name(&manifest)?, entry.path()))
        })
        .collect();
    crates.sort();
    crates
}

fn package_name(manifest: &str) -> Option<String> {
    let mut in_package = false;
    for line in manifest.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            in_package = line == "[package]";
        } else if in_package && let Some(value) = line.strip_prefix("name") {
            let value = value
                .trim_start()
                .strip_prefix('=')?
                .trim()
                .trim_matches('"');
            return Some(value.to_string());
        }
    }
    None
}

/// Whether the compiler building us has the target's standard library (asking rustup from a
/// build script can answer for another toolchain than the one in use).
fn target_installed() -> bool {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    Command::new(rustc)
        .args(["--print", "sysroot"])
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .is_some_and(|sysroot| {
            Path::new(&sysroot)
                .join("lib/rustlib")
                .join(TARGET)
                .is_dir()
        })
}

fn ensure_target() {
    if target_installed() {
        return;
    }
    println!("cargo:warning=installing the {TARGET} target with rustup (once)");
    let status = Command::new("rustup")
        .args(["target", "add", TARGET])
        .status();
    match status {
        Ok(s) if s.success() => {}
        _ => panic!("the {TARGET} target is missing and `rustup target add {TARGET}` failed"),
    }
}

fn copy_if_changed(from: &Path, to: &Path) {
    let new = std::fs::read(from)
        .unwrap_or_else(|e| panic!("plugin build produced no {}: {e}", from.display()));
    if std::fs::read(to).ok().as_deref() == Some(new.as_slice()) {
        return;
    }
    let tmp = to.with_extension("wasm.tmp");
    std::fs::write(&tmp, &new).expect("write plugin");
    std::fs::rename(&tmp, to).expect("move plugin into place");
}
