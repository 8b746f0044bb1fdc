//! Reading Rust source just well enough for the architecture check: comments and literals
//! blanked out, a flat token stream, and every path the code names, `use` trees expanded and
//! `self::`/`super::` resolved against the module the path appears in.

#[derive(Debug, Clone, PartialEq)]
pub enum Tok {
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
pub fn strip(src: &str) -> String {
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

pub fn tokens(code: &str) -> Vec<(usize, Tok)> {
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
pub fn paths(toks: &[(usize, Tok)], module: &[String]) -> Vec<(usize, Vec<String>)> {
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
