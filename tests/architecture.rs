//! STYLE section 1: `src/domain` and `src/spatial` are a pure core. This reads every file of theirs and
//! fails on an IO crate, an adapter module, a layering breach (domain using spatial) or async code.
//! Comments and string literals are ignored; `use` trees and `super::` paths are resolved (that
//! reading of Rust source is in `architecture/syntax.rs`).

// Tests stop loudly on anything unexpected.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "architecture/syntax.rs"]
mod syntax;

use std::path::{Path, PathBuf};

use syntax::{Tok, paths, strip, tokens};

/// Crates that do IO or belong to the adapters, matched as identifiers anywhere in code.
const IO_CRATES: &[&str] = &[
    "tokio",
    "axum",
    "diesel",
    "diesel_async",
    "diesel_migrations",
    "reqwest",
    "hyper",
    "tower",
    "tower_http",
    "tracing",
    "tracing_subscriber",
    "postgis_diesel",
    "utoipa_axum",
    "utoipa_swagger_ui",
];

/// Modules (as resolved absolute paths) the core must not reach.
const FORBIDDEN_PATHS: &[&str] = &[
    "std::fs",
    "std::net",
    "std::process",
    "crate::db",
    "crate::http",
    "crate::service",
    "crate::app",
    "crate::live",
    "crate::push",
    "crate::jobs",
    "crate::telemetry",
    "crate::config",
    "crate::clock",
];

/// A breach: file, 1-based line, what was found.
#[derive(Debug, PartialEq)]
struct Breach {
    line: usize,
    what: String,
}

/// The module path of a file under `src/`: `src/spatial/shape.rs` is `crate::spatial::shape`.
fn module_of(rel: &Path) -> Vec<String> {
    let mut segs = vec!["crate".to_owned()];
    let parts: Vec<String> = rel
        .iter()
        .skip(1)
        .map(|s| s.to_string_lossy().into_owned())
        .collect();
    for (k, part) in parts.iter().enumerate() {
        let last = k + 1 == parts.len();
        let stem = part.trim_end_matches(".rs");
        if !(last && (stem == "mod" || stem == "lib")) {
            segs.push(stem.to_owned());
        }
    }
    segs
}

/// Every breach of the pure core in one file's source.
fn breaches(src: &str, module: &[String]) -> Vec<Breach> {
    let toks = tokens(&strip(src));
    let mut out = Vec::new();
    for (line, tok) in &toks {
        if let Tok::Ident(w) = tok {
            if IO_CRATES.contains(&w.as_str()) {
                out.push(Breach {
                    line: *line,
                    what: format!("IO crate `{w}`"),
                });
            }
            if w == "async" || w == "await" {
                out.push(Breach {
                    line: *line,
                    what: format!("`{w}`: the core is synchronous"),
                });
            }
        }
    }
    let in_domain = module.get(1).map(String::as_str) == Some("domain");
    for (line, path) in paths(&toks, module) {
        let joined = path.join("::");
        let hit = FORBIDDEN_PATHS
            .iter()
            .chain(in_domain.then_some(&"crate::spatial"))
            .find(|f| joined == **f || joined.starts_with(&format!("{f}::")));
        if let Some(f) = hit {
            out.push(Breach {
                line,
                what: format!("`{joined}` reaches `{f}`"),
            });
        }
    }
    out.sort_by_key(|b| b.line);
    out.dedup();
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
fn the_domain_and_spatial_cores_use_no_io_and_no_adapter() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for dir in ["src/domain", "src/spatial"] {
        rust_files(&root.join(dir), &mut files);
    }
    files.sort();
    assert!(
        files.len() >= 10,
        "expected the core files, found {files:?}"
    );
    let mut report = Vec::new();
    for file in &files {
        let rel = file.strip_prefix(root).unwrap();
        let src = std::fs::read_to_string(file).unwrap();
        let lines: Vec<&str> = src.lines().collect();
        for b in breaches(&src, &module_of(rel)) {
            let text = lines.get(b.line - 1).map_or("", |l| l.trim());
            report.push(format!(
                "{}:{}: {} in `{text}`",
                rel.display(),
                b.line,
                b.what
            ));
        }
    }
    assert!(
        report.is_empty(),
        "the pure core does IO or reaches an adapter (STYLE section 1):\n{}",
        report.join("\n")
    );
}

#[test]
fn the_check_finds_breaches_however_they_are_written() {
    let module: Vec<String> = ["crate", "domain", "hunt"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let lines = |src: &str| {
        breaches(src, &module)
            .iter()
            .map(|b| b.line)
            .collect::<Vec<_>>()
    };
    let src = "use std::{fmt, fs::File};\n\
               use super::super::db::targets;\n\
               #[tracing::instrument]\n\
               pub async fn f() {}\n\
               fn g() { let _ = std::net::TcpStream::connect(\"x\"); }\n\
               use crate::{domain::ids, service as s};\n\
               #[derive(diesel::Queryable)] struct R;\n\
               use crate::spatial::shape::Shape;\n\
               fn h() { x.await }\n\
               use self::super::super::http;\n";
    assert_eq!(
        lines(src),
        (1..=10).collect::<Vec<_>>(),
        "{:#?}",
        breaches(src, &module)
    );
}

#[test]
fn comments_strings_and_innocent_names_are_not_breaches() {
    let module: Vec<String> = ["crate", "spatial", "shape"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let src = "//! No IO: no tokio, no axum, no std::fs.\n\
               /* use crate::db; /* nested */ async fn */\n\
               const URL: &str = \"http://tokio.rs/std::fs\";\n\
               const RAW: &str = r#\"use crate::service; \"quoted\" \"#;\n\
               fn f<'a>(x: &'a str) -> char { let _ = '\"'; 'x' }\n\
               use crate::domain::position::LatLon;\n\
               use std::{collections::HashMap, fmt};\n\
               use super::polygon::Cap; // crate::spatial::polygon\n\
               mod tests { use super::*; use crate::spatial::index::HuntIndex; }\n\
               fn g(db: u8, service: u8, tokio_count: u8) -> u8 { db + service + tokio_count }\n";
    assert_eq!(breaches(src, &module), vec![]);
}
