//! STYLE section 1: `src/domain` and `src/spatial` are a pure core. This reads every file of theirs and
//! fails on an IO crate, an adapter module, a layering breach (domain using spatial) or async code.
//! Comments and string literals are ignored; `use` trees and `super::` paths are resolved.

// Tests stop loudly on anything unexpected.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};

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

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    PathSep,
    Open,
    Close,
    Comma,
    Semi,
    Star,
    Other,
}

/// Replaces comments and the contents of string and char literals by spaces, keeping newlines.
fn strip(src: &str) -> String {
    let c: Vec<char> = src.chars().collect();
    let mut out = String::with_capacity(src.len());
    let blank = |ch: char| if ch == '\n' { '\n' } else { ' ' };
    let mut i = 0;
    while i < c.len() {
        let next = c.get(i + 1).copied();
        if c[i] == '/' && next == Some('/') {
            while i < c.len() && c[i] != '\n' {
                out.push(' ');
                i += 1;
            }
        } else if c[i] == '/' && next == Some('*') {
            let mut depth = 0;
            while i < c.len() {
                if c[i] == '/' && c.get(i + 1) == Some(&'*') {
                    depth += 1;
                    out.push_str("  ");
                    i += 2;
                } else if c[i] == '*' && c.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    out.push_str("  ");
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    out.push(blank(c[i]));
                    i += 1;
                }
            }
        } else if c[i] == 'r'
            && (next == Some('"') || next == Some('#'))
            && starts_raw_literal(&c, i)
        {
            // Raw string r"..." or r#"..."#.
            let mut j = i + 1;
            while c.get(j) == Some(&'#') {
                j += 1;
            }
            if c.get(j) != Some(&'"') {
                out.push(c[i]);
                i += 1;
                continue;
            }
            let hashes = j - i - 1;
            out.push('"');
            (i..j).skip(1).for_each(|_| out.push(' '));
            i = j + 1;
            while i < c.len()
                && !(c[i] == '"' && (0..hashes).all(|h| c.get(i + 1 + h) == Some(&'#')))
            {
                out.push(blank(c[i]));
                i += 1;
            }
            out.push('"');
            i += 1;
            (0..hashes).for_each(|_| out.push(' '));
            i += hashes;
        } else if c[i] == '"' {
            out.push('"');
            i += 1;
            while i < c.len() && c[i] != '"' {
                if c[i] == '\\' {
                    out.push(' ');
                    i += 1;
                }
                if i < c.len() {
                    out.push(blank(c[i]));
                    i += 1;
                }
            }
            out.push('"');
            i += 1;
        } else if c[i] == '\'' && (next == Some('\\') || c.get(i + 2) == Some(&'\'')) {
            // A char literal ('a', '\n', '\u{..}'); a lifetime has no closing quote.
            out.push('\'');
            i += 1;
            if c.get(i) == Some(&'\\') {
                out.push_str("  ");
                i += 2;
            }
            while i < c.len() && c[i] != '\'' {
                out.push(' ');
                i += 1;
            }
            out.push('\'');
            i += 1;
        } else {
            out.push(c[i]);
            i += 1;
        }
    }
    out
}

/// Whether the `r` at `c[i]` opens a raw string (`r"`, `r#"`, `br"`), not ends an identifier.
fn starts_raw_literal(c: &[char], i: usize) -> bool {
    let ident = |k: usize| c.get(k).is_some_and(|p| p.is_alphanumeric() || *p == '_');
    match i {
        0 => true,
        1 => !ident(0) || c[0] == 'b',
        _ => !ident(i - 1) || (c[i - 1] == 'b' && !ident(i - 2)),
    }
}

fn tokens(code: &str) -> Vec<(usize, Tok)> {
    let mut out = Vec::new();
    for (n, line) in code.lines().enumerate() {
        let c: Vec<char> = line.chars().collect();
        let mut i = 0;
        while i < c.len() {
            let ch = c[i];
            if ch.is_alphabetic() || ch == '_' {
                let start = i;
                while i < c.len() && (c[i].is_alphanumeric() || c[i] == '_') {
                    i += 1;
                }
                let word: String = c[start..i].iter().collect();
                // `r#ident` raw identifiers.
                out.push((n + 1, Tok::Ident(word.trim_start_matches("r#").to_owned())));
                continue;
            }
            let tok = match ch {
                ':' if c.get(i + 1) == Some(&':') => {
                    i += 1;
                    Tok::PathSep
                }
                '{' => Tok::Open,
                '}' => Tok::Close,
                ',' => Tok::Comma,
                ';' => Tok::Semi,
                '*' => Tok::Star,
                c if c.is_whitespace() => {
                    i += 1;
                    continue;
                }
                _ => Tok::Other,
            };
            out.push((n + 1, tok));
            i += 1;
        }
    }
    out
}

/// Expands a `use` tree starting at `toks[*i]` into full paths (segments), advancing `*i`.
fn use_tree(
    toks: &[(usize, Tok)],
    i: &mut usize,
    prefix: &[String],
    out: &mut Vec<(usize, Vec<String>)>,
) {
    let mut path = prefix.to_vec();
    let line = toks.get(*i).map_or(0, |t| t.0);
    while let Some((_, tok)) = toks.get(*i) {
        match tok {
            Tok::PathSep => *i += 1,
            Tok::Ident(w) if w == "as" => {
                *i += 2; // the alias
                break;
            }
            Tok::Ident(w) => {
                path.push(w.clone());
                *i += 1;
            }
            Tok::Star => {
                path.push("*".into());
                *i += 1;
                break;
            }
            Tok::Open => {
                *i += 1;
                while let Some((_, t)) = toks.get(*i) {
                    match t {
                        Tok::Close => {
                            *i += 1;
                            break;
                        }
                        Tok::Comma => *i += 1,
                        _ => use_tree(toks, i, &path, out),
                    }
                }
                return;
            }
            _ => break,
        }
    }
    out.push((line, path));
}

/// Every path the code names, with its line: `use` trees expanded, other `a::b::c` sequences as written.
fn paths(toks: &[(usize, Tok)], module: &[String]) -> Vec<(usize, Vec<String>)> {
    let mut raw: Vec<(usize, Vec<String>, Vec<String>)> = Vec::new();
    // Inline modules (`mod tests { .. }`) change what `self` and `super` mean.
    let mut scopes: Vec<(usize, String)> = Vec::new();
    let mut depth = 0usize;
    let mut i = 0;
    while i < toks.len() {
        let current: Vec<String> = module
            .iter()
            .cloned()
            .chain(scopes.iter().map(|s| s.1.clone()))
            .collect();
        match &toks[i].1 {
            Tok::Ident(w) if w == "mod" => {
                if let (Some((_, Tok::Ident(name))), Some((_, Tok::Open))) =
                    (toks.get(i + 1), toks.get(i + 2))
                {
                    depth += 1;
                    scopes.push((depth, name.clone()));
                    i += 3;
                    continue;
                }
            }
            Tok::Ident(w) if w == "use" => {
                i += 1;
                let mut found = Vec::new();
                use_tree(toks, &mut i, &[], &mut found);
                raw.extend(found.into_iter().map(|(l, p)| (l, p, current.clone())));
                continue;
            }
            Tok::Open => depth += 1,
            Tok::Close => {
                if scopes.last().is_some_and(|s| s.0 == depth) {
                    scopes.pop();
                }
                depth = depth.saturating_sub(1);
            }
            Tok::Ident(_) | Tok::PathSep => {
                let start = i;
                let mut path = Vec::new();
                while let Some((_, t)) = toks.get(i) {
                    match t {
                        Tok::Ident(w) => path.push(w.clone()),
                        Tok::PathSep => {}
                        _ => break,
                    }
                    let sep_next = matches!(toks.get(i + 1), Some((_, Tok::PathSep)));
                    let ident_now = matches!(t, Tok::Ident(_));
                    i += 1;
                    if ident_now && !sep_next {
                        break;
                    }
                }
                if path.len() > 1 {
                    raw.push((toks[start].0, path, current.clone()));
                }
                if i == start {
                    i += 1;
                }
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    raw.into_iter()
        .map(|(line, path, current)| (line, resolve(&path, &current)))
        .collect()
}

/// Makes a path absolute: `self::` and `super::` against the module it appears in.
fn resolve(path: &[String], module: &[String]) -> Vec<String> {
    let mut path = path.to_vec();
    if path.last().is_some_and(|s| s == "self") {
        path.pop(); // `use std::fs::{self}`
    }
    if !matches!(path.first().map(String::as_str), Some("self" | "super")) {
        return path;
    }
    let mut base: Vec<String> = module.to_vec();
    let mut rest = path.as_slice();
    while let Some(first) = rest.first() {
        match first.as_str() {
            "self" => {}
            "super" => {
                base.pop();
            }
            _ => break,
        }
        rest = &rest[1..];
    }
    base.extend(rest.iter().cloned());
    base
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
