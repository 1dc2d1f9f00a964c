//! The code's shape, checked on every test run (issue 26): no function over 80 lines and no file
//! over 700 lines outside tests, no `Result<_, String>` in core, and no import circles between
//! the modules of a crate.
//!
//! The sources are read with a small lexer of our own (comments, strings, raw strings and
//! character literals blanked out, braces matched), not a Rust parser: it only needs items'
//! extents and `crate::` paths, and keeps the test binary free of a parser dependency.
//!
//! An import circle is a strongly connected set of two or more modules of one crate, where a
//! module depends on another when it names it: through a `crate::`, `self::` or `super::` path
//! (in a `use` tree, braces expanded, or inline), or through a path starting with one of its
//! child modules. A path depends on the longest module it names (`super::window::Window` on the
//! sibling `window`, `super::Item` on the parent). Declaring a child module (`mod x;`) is not a
//! dependency, and the crate root (the crate's façade, declaring and re-exporting every module)
//! is left out.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The longest function allowed outside tests (lines, signature to closing brace).
const MAX_FUNCTION_LINES: usize = 80;
/// The longest file allowed outside tests (lines, its test module left out).
const MAX_FILE_LINES: usize = 700;

fn root() -> PathBuf {
    // The workspace root is this test's own package.
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every `.rs` file of the crates' `src` trees (and the workspace's `src`), with its crate's
/// name and its module path (`["handlers", "executor"]`).
fn sources() -> Vec<(String, Vec<String>, PathBuf)> {
    let root = root();
    let mut trees: Vec<(String, PathBuf)> = vec![("functions".to_string(), root.join("src"))];
    for entry in std::fs::read_dir(root.join("crates")).expect("crates") {
        let dir = entry.expect("entry").path();
        let name = dir
            .file_name()
            .and_then(|n| n.to_str())
            .expect("name")
            .to_string();
        trees.push((name, dir.join("src")));
    }
    let mut out = Vec::new();
    for (krate, src) in trees {
        let mut stack = vec![src.clone()];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).expect("dir") {
                let path = entry.expect("entry").path();
                if path.is_dir() {
                    stack.push(path);
                } else if path.extension().is_some_and(|e| e == "rs") {
                    let relative = path.strip_prefix(&src).expect("relative");
                    let mut module: Vec<String> = relative
                        .with_extension("")
                        .components()
                        .map(|c| c.as_os_str().to_string_lossy().into_owned())
                        .collect();
                    if matches!(
                        module.last().map(String::as_str),
                        Some("mod" | "lib" | "main")
                    ) {
                        module.pop();
                    }
                    if relative.starts_with("bin") {
                        // Each binary is a crate of its own.
                        continue;
                    }
                    out.push((krate.clone(), module, path));
                }
            }
        }
    }
    out
}

/// A source file as the checks read it.
struct Source {
    /// Its crate's name.
    krate: String,
    /// Its module path.
    module: Vec<String>,
    path: PathBuf,
    /// Its code: comments, strings and character literals blanked, `#[cfg(test)]` items out.
    code: String,
}

/// Every source file (see [`sources`]), read and lexed once for all the checks.
fn lexed() -> &'static [Source] {
    static LEXED: OnceLock<Vec<Source>> = OnceLock::new();
    LEXED.get_or_init(|| {
        sources()
            .into_iter()
            .map(|(krate, module, path)| {
                let text = std::fs::read_to_string(&path).expect("source");
                let code = without_tests(&code_only(&text));
                Source {
                    krate,
                    module,
                    path,
                    code,
                }
            })
            .collect()
    })
}

/// The identifier that starts at byte `at` of `code` (empty when none does).
fn ident_at(code: &str, at: usize) -> String {
    code[at..]
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect()
}

/// The source with comments, strings and character literals blanked (newlines kept), so braces
/// and paths can be read from what is left.
fn code_only(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    let blank = |out: &mut String, c: char| out.push(if c == '\n' { '\n' } else { ' ' });
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                blank(&mut out, chars[i]);
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let mut depth = 0;
            while i < chars.len() {
                if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
                    depth += 1;
                    out.push_str("  ");
                    i += 2;
                } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    out.push_str("  ");
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    blank(&mut out, chars[i]);
                    i += 1;
                }
            }
        } else if c == 'r'
            && (next == Some('"') || next == Some('#'))
            && !is_ident(chars.get(i.wrapping_sub(1)).copied())
        {
            // A raw string: r"…", r#"…"#, …
            let mut j = i + 1;
            let mut hashes = 0;
            while chars.get(j) == Some(&'#') {
                hashes += 1;
                j += 1;
            }
            if chars.get(j) != Some(&'"') {
                out.push(c);
                i += 1;
                continue;
            }
            let closing: String = std::iter::once('"')
                .chain(std::iter::repeat_n('#', hashes))
                .collect();
            let rest: String = chars[j + 1..].iter().collect();
            let end = rest.find(&closing).map_or(chars.len(), |k| {
                j + 1 + rest[..k].chars().count() + closing.chars().count()
            });
            for &ch in &chars[i..end.min(chars.len())] {
                blank(&mut out, ch);
            }
            i = end;
        } else if c == '"' {
            blank(&mut out, c);
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                if chars[i] == '\\' {
                    blank(&mut out, chars[i]);
                    i += 1;
                }
                if i < chars.len() {
                    blank(&mut out, chars[i]);
                    i += 1;
                }
            }
            if i < chars.len() {
                blank(&mut out, chars[i]);
                i += 1;
            }
        } else if c == '\'' {
            // A character literal ('x', '\n', '\u{..}'), or a lifetime ('a).
            let literal_end = if next == Some('\\') {
                (i + 2..chars.len()).find(|&k| chars[k] == '\'')
            } else if chars.get(i + 2) == Some(&'\'') {
                Some(i + 2)
            } else {
                None
            };
            match literal_end {
                Some(end) => {
                    for &ch in &chars[i..=end] {
                        blank(&mut out, ch);
                    }
                    i = end + 1;
                }
                None => {
                    out.push(c);
                    i += 1;
                }
            }
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

fn is_ident(c: Option<char>) -> bool {
    c.is_some_and(|c| c.is_alphanumeric() || c == '_')
}

/// The index of the brace closing the one at `open`.
fn matching(code: &[u8], open: usize) -> usize {
    let mut depth = 0usize;
    for (k, b) in code.iter().enumerate().skip(open) {
        match b {
            b'{' => depth += 1,
            b'}' => {
                depth -= 1;
                if depth == 0 {
                    return k;
                }
            }
            _ => {}
        }
    }
    code.len()
}

/// The code without its test modules (`#[cfg(test)] mod … { … }`), blanked to spaces.
fn without_tests(code: &str) -> String {
    let mut bytes = code.as_bytes().to_vec();
    let mut from = 0;
    while let Some(at) = code[from..].find("#[cfg(test)]").map(|k| k + from) {
        let after = &code[at..];
        let item_start = at + "#[cfg(test)]".len();
        let rest = after["#[cfg(test)]".len()..].trim_start();
        // `mod tests;` (a file of its own) has no body here.
        if rest.starts_with("mod ")
            && let Some(open) = code[item_start..]
                .find(['{', ';'])
                .map(|k| k + item_start)
                .filter(|&k| code.as_bytes()[k] == b'{')
        {
            let close = matching(code.as_bytes(), open).min(bytes.len() - 1);
            for b in &mut bytes[at..=close] {
                if *b != b'\n' {
                    *b = b' ';
                }
            }
            from = close.min(code.len());
        } else {
            from = item_start;
        }
    }
    String::from_utf8(bytes).expect("ascii blanks")
}

fn line_of(code: &str, at: usize) -> usize {
    code[..at].matches('\n').count() + 1
}

/// Every function with a body: (name, first line, lines).
fn functions(code: &str) -> Vec<(String, usize, usize)> {
    let bytes = code.as_bytes();
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(at) = code[from..].find("fn ").map(|k| k + from) {
        from = at + 3;
        if is_ident(code[..at].chars().next_back()) {
            continue;
        }
        let name = ident_at(code, at + 3);
        if name.is_empty() {
            continue;
        }
        // The body: the first `{` before any `;` (a declaration has none).
        let signature_end = code[at..].find(['{', ';']).map(|k| k + at);
        let Some(open) = signature_end.filter(|k| bytes[*k] == b'{') else {
            continue;
        };
        let close = matching(bytes, open);
        out.push((
            name,
            line_of(code, at),
            line_of(code, close.min(code.len() - 1)) - line_of(code, at) + 1,
        ));
    }
    out
}

/// A file that is a `#[cfg(test)] mod tests;` of its parent (`handlers/tests.rs`).
fn is_test_module(path: &Path) -> bool {
    path.file_name().is_some_and(|n| n == "tests.rs")
}

#[test]
fn functions_and_files_stay_short() {
    let mut long = Vec::new();
    for Source { path, code, .. } in lexed() {
        if is_test_module(path) {
            continue;
        }
        // Every line counts (comments and blank lines too), as `wc -l` would count them.
        let lines = code.trim_end().lines().count();
        if lines > MAX_FILE_LINES {
            long.push(format!("{}: {lines} lines", path.display()));
        }
        for (name, line, length) in functions(code) {
            if length > MAX_FUNCTION_LINES {
                long.push(format!(
                    "{}:{line}: fn {name}: {length} lines",
                    path.display()
                ));
            }
        }
    }
    assert!(long.is_empty(), "too long:\n{}", long.join("\n"));
}

#[test]
fn core_returns_typed_errors() {
    let mut found = Vec::new();
    for Source { path, code, .. } in lexed().iter().filter(|s| s.krate == "core") {
        if is_test_module(path) {
            continue;
        }
        for (n, line) in code.lines().enumerate() {
            let compact: String = line.chars().filter(|c| !c.is_whitespace()).collect();
            if compact.contains(",String>") && compact.contains("Result<") {
                found.push(format!("{}:{}: {}", path.display(), n + 1, line.trim()));
            }
        }
    }
    assert!(
        found.is_empty(),
        "Result<_, String> in core:\n{}",
        found.join("\n")
    );
}

/// The modules `module` names: through `crate::`, `super::` (`super::x` is the sibling `x`
/// when it is a module, else the parent) and `self::` paths, `use` trees with braces expanded,
/// and paths that start with one of its own child modules (`metrics::MetricTotals` in
/// `traffic`). A path resolves to its longest prefix that is a module.
fn dependencies(
    module: &[String],
    code: &str,
    modules: &BTreeSet<Vec<String>>,
) -> BTreeSet<Vec<String>> {
    let bytes = code.as_bytes();
    let children: BTreeSet<&str> = modules
        .iter()
        .filter(|m| m.len() == module.len() + 1 && m.starts_with(module))
        .filter_map(|m| m.last().map(String::as_str))
        .collect();
    let mut paths = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if !is_ident(code[..i].chars().next_back()) && is_ident(code[i..].chars().next()) {
            let word = ident_at(code, i);
            let after = i + word.len();
            if code[after..].starts_with("::") {
                let base: Option<Vec<String>> = match word.as_str() {
                    "crate" => Some(Vec::new()),
                    "self" => Some(module.to_vec()),
                    "super" => Some(module[..module.len().saturating_sub(1)].to_vec()),
                    child if children.contains(child) => {
                        let mut m = module.to_vec();
                        m.push(child.to_string());
                        Some(m)
                    }
                    _ => None,
                };
                if let Some(base) = base {
                    i = use_tree(bytes, after + 2, base, &mut paths);
                    continue;
                }
            }
            i = after;
        } else {
            i += 1;
        }
    }
    let mut out = BTreeSet::new();
    for path in paths {
        // `super::super::x`: each `super` climbs one more level.
        let mut path = path;
        while let Some(at) = path.iter().position(|p| p == "super") {
            path.remove(at);
            if at > 0 {
                path.remove(at - 1);
            }
        }
        if let Some(target) = (0..=path.len())
            .rev()
            .map(|n| path[..n].to_vec())
            .find(|p| modules.contains(p))
        {
            out.insert(target);
        }
    }
    out.remove(module);
    // The crate root declares and re-exports every module: the crate's façade, not a module
    // the others depend on.
    out.remove(&Vec::new());
    out
}

/// The paths of a `use` tree (or an inline path) starting at `bytes[i]`, after `base::`;
/// returns where it ends.
fn use_tree(bytes: &[u8], mut i: usize, base: Vec<String>, out: &mut Vec<Vec<String>>) -> usize {
    let skip = |i: &mut usize| {
        while *i < bytes.len() && (bytes[*i] as char).is_whitespace() {
            *i += 1;
        }
    };
    let mut path = base;
    loop {
        skip(&mut i);
        if bytes.get(i) == Some(&b'{') {
            i += 1;
            loop {
                skip(&mut i);
                match bytes.get(i) {
                    Some(b'}') => return i + 1,
                    Some(b',') => i += 1,
                    Some(_) => {
                        let before = i;
                        i = use_tree(bytes, i, path.clone(), out);
                        if i == before {
                            return i + 1;
                        }
                    }
                    None => return i,
                }
            }
        }
        let start = i;
        while i < bytes.len() && ((bytes[i] as char).is_alphanumeric() || bytes[i] == b'_') {
            i += 1;
        }
        if i == start {
            out.push(path);
            return i;
        }
        path.push(String::from_utf8_lossy(&bytes[start..i]).into_owned());
        if bytes[i..].starts_with(b"::") {
            i += 2;
        } else {
            out.push(path);
            return i;
        }
    }
}

#[test]
fn no_import_circles() {
    let mut by_crate: BTreeMap<&str, Vec<(Vec<String>, &str)>> = BTreeMap::new();
    for source in lexed() {
        by_crate
            .entry(&source.krate)
            .or_default()
            .push((source.module.clone(), &source.code));
    }
    let mut circles = Vec::new();
    for (krate, files) in by_crate {
        let modules: BTreeSet<Vec<String>> = files.iter().map(|(m, _)| m.clone()).collect();
        let edges: BTreeMap<Vec<String>, BTreeSet<Vec<String>>> = files
            .iter()
            .map(|(m, code)| (m.clone(), dependencies(m, code, &modules)))
            .collect();
        for component in strongly_connected(&edges) {
            if component.len() > 1 {
                circles.push(format!(
                    "{krate}: {}",
                    component
                        .iter()
                        .map(|m| if m.is_empty() {
                            "<root>".to_string()
                        } else {
                            m.join("::")
                        })
                        .collect::<Vec<_>>()
                        .join(" ↔ ")
                ));
            }
        }
    }
    assert!(
        circles.is_empty(),
        "import circles:\n{}",
        circles.join("\n")
    );
}

/// Tarjan's strongly connected components.
fn strongly_connected(
    edges: &BTreeMap<Vec<String>, BTreeSet<Vec<String>>>,
) -> Vec<Vec<Vec<String>>> {
    struct State<'a> {
        edges: &'a BTreeMap<Vec<String>, BTreeSet<Vec<String>>>,
        index: BTreeMap<&'a Vec<String>, usize>,
        low: BTreeMap<&'a Vec<String>, usize>,
        stack: Vec<&'a Vec<String>>,
        on_stack: BTreeSet<&'a Vec<String>>,
        next: usize,
        out: Vec<Vec<Vec<String>>>,
    }
    fn visit<'a>(s: &mut State<'a>, v: &'a Vec<String>) {
        s.index.insert(v, s.next);
        s.low.insert(v, s.next);
        s.next += 1;
        s.stack.push(v);
        s.on_stack.insert(v);
        for w in s.edges.get(v).into_iter().flatten() {
            let Some((w, _)) = s.edges.get_key_value(w) else {
                continue;
            };
            if !s.index.contains_key(w) {
                visit(s, w);
                let low = s.low[v].min(s.low[w]);
                s.low.insert(v, low);
            } else if s.on_stack.contains(w) {
                let low = s.low[v].min(s.index[w]);
                s.low.insert(v, low);
            }
        }
        if s.low[v] == s.index[v] {
            let mut component = Vec::new();
            while let Some(w) = s.stack.pop() {
                s.on_stack.remove(w);
                component.push(w.clone());
                if w == v {
                    break;
                }
            }
            s.out.push(component);
        }
    }
    let mut state = State {
        edges,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        next: 0,
        out: Vec::new(),
    };
    for v in edges.keys() {
        if !state.index.contains_key(v) {
            visit(&mut state, v);
        }
    }
    state.out
}

#[test]
fn the_lexer_sees_through_strings_and_comments() {
    let code = code_only(
        "fn a() { let s = \"}{\"; let c = '}'; // }\n let r = r#\"{\"#; }\nfn b<'a>(x: &'a str) { /* { */ }",
    );
    let found = functions(&code);
    assert_eq!(
        found,
        vec![("a".to_string(), 1, 2), ("b".to_string(), 3, 1)]
    );
    let tests = without_tests("fn a() {}\n#[cfg(test)]\nmod tests {\n fn long() {\n }\n}\n");
    assert_eq!(functions(&tests).len(), 1);
    let modules: BTreeSet<Vec<String>> = [
        vec!["a".to_string()],
        vec!["a".to_string(), "b".to_string()],
    ]
    .into_iter()
    .collect();
    assert_eq!(
        dependencies(&[], "use crate::a::b::Thing; crate::a::f();", &modules),
        modules
    );
    let m = |path: &[&str]| path.iter().map(|p| p.to_string()).collect::<Vec<String>>();
    let modules: BTreeSet<Vec<String>> = [
        m(&["t"]),
        m(&["t", "x"]),
        m(&["t", "y"]),
        m(&["u"]),
        m(&["v"]),
    ]
    .into_iter()
    .collect();
    // Braces, a sibling through `super::`, the parent through `super::Item`, the root left out.
    let found = dependencies(
        &m(&["t", "x"]),
        "use crate::{u::A, v::{B, C}};\nuse super::y::D;\nfn f() -> super::E { crate::lock() }",
        &modules,
    );
    assert_eq!(
        found,
        [m(&["t"]), m(&["t", "y"]), m(&["u"]), m(&["v"])]
            .into_iter()
            .collect()
    );
    // A parent naming its child relatively; a string or a comment names nothing.
    let found = dependencies(
        &m(&["t"]),
        &code_only("pub use x::A;\nfn g() { y::h(); let s = \"u::B\"; } // v::C"),
        &modules,
    );
    assert_eq!(
        found,
        [m(&["t", "x"]), m(&["t", "y"])].into_iter().collect()
    );
}
