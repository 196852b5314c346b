//! The project's own binaries, for tests that run them as a user would.
//!
//! They are built with `cargo build --workspace --bins` into their own target directory
//! (`target/e2e`): building them into the test build's directory would resolve another
//! feature set and make each build invalidate the other's artifacts.

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

fn e2e_target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"))
        .join("e2e")
}

/// Path of a workspace binary (`worker`, `jobsender`), built (once per test process) if stale.
pub fn binary(name: &str) -> PathBuf {
    static BUILT: OnceLock<bool> = OnceLock::new();
    let dir = e2e_target_dir();
    let ok = *BUILT.get_or_init(|| {
        let mut build = Command::new(env!("CARGO"));
        build
            .args(["build", "--quiet", "--workspace", "--bins", "--target-dir"])
            .arg(&dir)
            .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."));
        // The build sees the environment a shell gives `scripts/demo.sh`, which builds the same
        // binaries: the variables cargo adds for a test process would make each of the two
        // builds invalidate the other's artefacts.
        for (name, _) in std::env::vars_os() {
            let Some(name) = name.to_str() else { continue };
            let added_for_tests = (name.starts_with("CARGO") && name != "CARGO_HOME")
                || name == "LD_LIBRARY_PATH"
                || name == "RUST_RECURSION_COUNT";
            if added_for_tests {
                build.env_remove(name);
            }
        }
        build.status().is_ok_and(|s| s.success())
    });
    assert!(ok, "cargo build --workspace --bins --target-dir {} failed", dir.display());
    let path = dir.join("debug").join(name);
    assert!(path.exists(), "{} was not built", path.display());
    path
}
