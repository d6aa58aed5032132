//! Rules about the source itself, checked by reading it: time comes only from the injected
//! [`crate::state::Clock`], so that tests and the local server can move it.

use std::path::{Path, PathBuf};

/// Reads of the system clock; `Instant::now` (durations, not dates) is fine anywhere.
const SYSTEM_CLOCK_READS: &[&str] = &["Timestamp::now(", "SystemTime::now(", "Zoned::now("];

/// The clock itself: `Clock::wall_time` is the one place that reads the system clock.
const CLOCK_FILE: &str = "state.rs";

fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every `.rs` file under `dir`, as (path relative to `dir` with `/`, contents).
fn sources(dir: &Path) -> Vec<(String, String)> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<(String, String)>) {
        let mut entries: Vec<_> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
        entries.sort();
        for path in entries {
            if path.is_dir() {
                walk(root, &path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let relative = path.strip_prefix(root).unwrap().to_string_lossy().replace('\\', "/");
                out.push((relative, std::fs::read_to_string(&path).unwrap()));
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    assert!(!out.is_empty(), "no sources under {}", dir.display());
    out
}

#[test]
fn time_comes_only_from_the_injected_clock() {
    let this_file = file!().rsplit('/').next().unwrap_or_default();
    let api = sources(&crate_dir().join("src")).into_iter().map(|(f, s)| (format!("api/src/{f}"), s));
    let store = sources(&crate_dir().join("../store/src")).into_iter().map(|(f, s)| (format!("store/src/{f}"), s));
    let mut offenders = Vec::new();
    for (file, text) in api.chain(store) {
        if file == format!("api/src/{CLOCK_FILE}") || file == format!("api/src/{this_file}") {
            continue;
        }
        for (n, line) in text.lines().enumerate() {
            if SYSTEM_CLOCK_READS.iter().any(|read| line.contains(read)) {
                offenders.push(format!("{file}:{}: {}", n + 1, line.trim()));
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "read the time from `state.clock.now()` (or take `now` as a parameter), not the system clock:\n{}",
        offenders.join("\n")
    );
    let clock = std::fs::read_to_string(crate_dir().join("src").join(CLOCK_FILE)).unwrap();
    let reads: usize = SYSTEM_CLOCK_READS.iter().map(|read| clock.matches(read).count()).sum();
    assert_eq!(reads, 1, "{CLOCK_FILE} reads the system clock in `Clock::wall_time` only");
}
