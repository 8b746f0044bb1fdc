//! What Cargo cannot see about the pure core: its own code reaches no file, socket, process or
//! thread through `std`, has no `async`, and `domain` never uses `spatial` (the geometry sits on the
//! rules, not under them). The crate's dependencies are checked by `ops/check-core-deps.sh`.

// Tests stop loudly on anything unexpected.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};

/// Paths the core's code must not name, with the files they are forbidden in (`""`: everywhere).
const FORBIDDEN: &[(&str, &str)] = &[
    ("std::fs", ""),
    ("std::net", ""),
    ("std::process", ""),
    ("std::thread", ""),
    ("std::env", ""),
    ("async ", ""),
    (".await", ""),
    ("spatial::", "domain/"),
];

/// The code of a line: what comes before a `//` comment (string literals holding `//` are rare
/// in the core; a false alarm here is read and fixed by hand).
fn code(line: &str) -> &str {
    line.split("//").next().unwrap_or("")
}

/// Each `(line, what)` of `src` that breaks the rules for a file at `rel` (relative to `src/`).
fn breaches(rel: &str, src: &str) -> Vec<(usize, &'static str)> {
    let mut out = Vec::new();
    for (n, line) in src.lines().enumerate() {
        let code = code(line);
        for (what, only_in) in FORBIDDEN {
            if rel.starts_with(only_in) && code.contains(what) {
                out.push((n + 1, *what));
            }
        }
    }
    out
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn the_core_does_no_io_no_async_and_domain_stays_below_spatial() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    assert!(files.len() > 20, "the core's sources were not found");
    let mut found = Vec::new();
    for file in files {
        let rel = file
            .strip_prefix(&src)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let text = std::fs::read_to_string(&file).unwrap();
        found.extend(
            breaches(&rel, &text)
                .into_iter()
                .map(|(line, what)| format!("{rel}:{line}: {what}")),
        );
    }
    assert!(
        found.is_empty(),
        "the pure core breaks its rules:\n{}",
        found.join("\n")
    );
}

#[test]
fn the_check_sees_what_it_forbids_and_ignores_comments() {
    let src = "use std::fs::read;\n// std::net in a comment\nasync fn f() {}\nuse crate::spatial::index;\n";
    assert_eq!(
        breaches("domain/x.rs", src),
        vec![(1, "std::fs"), (3, "async "), (4, "spatial::")]
    );
    assert_eq!(
        breaches("spatial/x.rs", src),
        vec![(1, "std::fs"), (3, "async ")]
    );
}
