//! Plugin components for tests: the shipped ones (built by the gateway's build script) and the
//! deliberately misbehaving ones under `plugins/testing/`, which only tests need: they are
//! built here, once per test binary, on first use.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

include!("../../host/guest_build.rs");

/// The component `<name>.wasm` (a crate name: `rag-bm25`, `test-backoff-trap` …).
pub fn plugin_file(name: &str) -> PathBuf {
    let shipped = Path::new(voxgate::plugins::BUILD_DIR).join(format!("{name}.wasm"));
    if !name.starts_with("test-") {
        return shipped;
    }
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT
        .get_or_init(build_test_plugins)
        .join(format!("{name}.wasm"))
}

fn build_test_plugins() -> PathBuf {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let testing = root.join("plugins/testing");
    let mut names: Vec<String> = std::fs::read_dir(&testing)
        .expect("plugins/testing")
        .filter_map(Result::ok)
        .map(|entry| format!("test-{}", entry.file_name().to_string_lossy()))
        .collect();
    names.sort();
    // The build script's own directory for guest builds (never the outer build's, which
    // `cargo test` holds locked).
    let target = Path::new(voxgate::plugins::BUILD_DIR)
        .parent()
        .expect("target/plugins has a parent")
        .join("wasm-build");
    let mut command = guest_build(&root, &target, &names);
    let status = command
        .status()
        .expect("run cargo to build the test plugins");
    assert!(status.success(), "building the test plugins failed");
    let out = target.join("test-plugins");
    std::fs::create_dir_all(&out).expect("test-plugins dir");
    for name in &names {
        let built = target
            .join("wasm32-wasip2/release")
            .join(format!("{}.wasm", name.replace('-', "_")));
        std::fs::copy(&built, out.join(format!("{name}.wasm")))
            .unwrap_or_else(|e| panic!("no {}: {e}", built.display()));
    }
    out
}
