//! Repository hygiene checked on every `cargo test`: module docs, layering, no ignored or
//! should-panic tests, and the LSP extension doc kept in sync with `src/lsp/ext.rs`.

use std::path::{Path, PathBuf};

fn files(dir: &str, ext: &str) -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
    let mut out = Vec::new();
    let mut stack = vec![root];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == ext) {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

fn relative(path: &Path) -> String {
    path.strip_prefix(env!("CARGO_MANIFEST_DIR")).unwrap().display().to_string()
}

#[test]
fn every_module_starts_with_a_doc_paragraph() {
    let missing: Vec<_> = files("src", "rs")
        .into_iter()
        .chain(files("tests", "rs"))
        .chain(files("bench", "rs"))
        .filter(|p| !std::fs::read_to_string(p).unwrap().trim_start().starts_with("//!"))
        .map(|p| relative(&p))
        .collect();
    assert!(missing.is_empty(), "files without a `//!` module doc: {missing:?}");
}

#[test]
fn only_the_protocol_edge_names_lsp_types() {
    let offenders: Vec<_> = files("src", "rs")
        .into_iter()
        .filter(|p| !relative(p).starts_with("src/lsp/"))
        .filter(|p| {
            let text = std::fs::read_to_string(p).unwrap();
            text.contains("lsp_types") || text.contains("lsp_server")
        })
        .map(|p| relative(&p))
        .collect();
    assert!(offenders.is_empty(), "LSP types outside src/lsp/: {offenders:?}");
}

#[test]
fn only_sandbox_and_history_start_processes() {
    let offenders: Vec<_> = files("src", "rs")
        .into_iter()
        .filter(|p| {
            let rel = relative(p);
            !rel.starts_with("src/sandbox/") && !rel.starts_with("src/history/")
        })
        .filter(|p| std::fs::read_to_string(p).unwrap().contains("Command::new"))
        .map(|p| relative(&p))
        .collect();
    assert!(offenders.is_empty(), "processes started outside src/sandbox/ and src/history/: {offenders:?}");
}

#[test]
fn no_ignored_or_should_panic_tests() {
    let needles = [concat!("#[", "ignore"), concat!("#[", "should_panic")];
    let offenders: Vec<_> = files("src", "rs")
        .into_iter()
        .chain(files("tests", "rs"))
        .filter(|p| {
            let text = std::fs::read_to_string(p).unwrap();
            needles.iter().any(|n| text.contains(n))
        })
        .map(|p| relative(&p))
        .collect();
    assert!(offenders.is_empty(), "assert today's behaviour instead (and add a FIXME): {offenders:?}");
}

#[test]
fn lsp_extensions_doc_matches_ext_rs() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let ext = std::fs::read(root.join("src/lsp/ext.rs")).unwrap();
    let doc = std::fs::read_to_string(root.join("docs/lsp-extensions.md")).unwrap();
    let hash = sha256_prefix(&ext);
    assert!(
        doc.contains(&format!("ext.rs hash: {hash}")),
        "src/lsp/ext.rs changed: update docs/lsp-extensions.md and its recorded hash to {hash}"
    );
}

fn sha256_prefix(data: &[u8]) -> String {
    use sha2::Digest as _;
    sha2::Sha256::digest(data).iter().map(|b| format!("{b:02x}")).collect::<String>()[..16].to_owned()
}
