// The one way voxgate builds plugin crates into WebAssembly components: shared by the build
// script (the shipped plugins) and the test support (the misbehaving test plugins) through
// `include!`, so both build guests the same way.

/// `cargo build` of `crates` (package names of the workspace at `root`) for wasm32-wasip2,
/// small and stripped, into `target_dir`; the built files are
/// `<target_dir>/wasm32-wasip2/release/<crate_name>.wasm`.
fn guest_build(
    root: &std::path::Path,
    target_dir: &std::path::Path,
    crates: &[String],
) -> std::process::Command {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut command = std::process::Command::new(cargo);
    command
        .current_dir(root)
        .args(["build", "--release", "--target", "wasm32-wasip2", "--manifest-path"])
        .arg(root.join("Cargo.toml"))
        .env("CARGO_TARGET_DIR", target_dir)
        .env("CARGO_PROFILE_RELEASE_DEBUG", "false")
        .env("CARGO_PROFILE_RELEASE_STRIP", "true")
        .env("CARGO_PROFILE_RELEASE_OPT_LEVEL", "s");
    // Flags and wrappers meant for the host build (clippy, coverage, sanitizers) must not
    // leak into the guest build.
    for var in [
        "RUSTFLAGS",
        "CARGO_ENCODED_RUSTFLAGS",
        "RUSTC_WRAPPER",
        "RUSTC_WORKSPACE_WRAPPER",
        "CARGO_BUILD_TARGET",
        "CARGO_BUILD_RUSTFLAGS",
    ] {
        command.env_remove(var);
    }
    for name in crates {
        command.args(["-p", name]);
    }
    command
}
