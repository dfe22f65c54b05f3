//! Where the time goes between an edit and fresh document symbols, on one file: incremental
//! re-parse after a one-line edit, the tags and imports queries, the line index, the summary,
//! and the quick outline. Medians over many repetitions.
//!
//! `cargo run --release --example syntax-bench -- /tmp/bench/Django-5.0/django/db/models/query.py`
#![allow(clippy::print_stdout)] // reporting is this program's job

use std::time::{Duration, Instant};

use repolens::{
    analysis::AnalysisHost,
    syntax::{FileSummary, LanguageId, Languages, ParseBudget, parse_text},
    text::{ContentChange, LineCol, LineIndex, PositionEncoding, WideRange},
    workspace::VfsPath,
};

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn time<T>(n: usize, mut f: impl FnMut() -> T) -> Duration {
    median(
        (0..n)
            .map(|_| {
                let t = Instant::now();
                std::hint::black_box(f());
                t.elapsed()
            })
            .collect(),
    )
}

fn main() {
    let path = std::env::args().nth(1).expect("usage: syntax-bench FILE.py");
    let text = std::fs::read_to_string(&path).unwrap();
    let languages = Languages::embedded();
    let lang = languages.get(LanguageId::Python);
    let n = 50;
    let tree = parse_text(lang, &text, None, ParseBudget::default()).unwrap();
    println!("file: {path} ({} bytes, {} lines)", text.len(), text.lines().count());
    println!(
        "full parse          {:>8.2?}",
        time(n, || parse_text(lang, &text, None, ParseBudget::default()))
    );
    println!("tags query          {:>8.2?}", time(n, || lang.tags.collect(&tree, text.as_bytes())));
    println!(
        "imports query       {:>8.2?}",
        time(n, || lang.imports.as_ref().unwrap().collect(&tree, text.as_bytes()))
    );
    println!("line index          {:>8.2?}", time(n, || LineIndex::new(&text)));
    println!("summary (all)       {:>8.2?}", time(n, || FileSummary::build(lang, &tree, &text)));
    println!("quick outline       {:>8.2?}", time(n, || FileSummary::outline(LanguageId::Python, &text)));

    // The server's path: one didChange through the host (rope edit + incremental re-parse),
    // then the summary of the new version, as documentSymbol computes it.
    let mut host = AnalysisHost::new(languages.clone(), Vec::new());
    let file = host.file_id(VfsPath::Virtual("untitled:bench.py".into()));
    host.open_document(file, 0, &text, Some(LanguageId::Python));
    let middle = (text.lines().count() / 2) as u32;
    let mut version = 0;
    let mut edit_times = Vec::new();
    let mut symbol_times = Vec::new();
    for i in 0..n {
        version += 1;
        let change = if i % 2 == 0 {
            ContentChange {
                range: Some(WideRange { start: LineCol::new(middle, 0), end: LineCol::new(middle, 0) }),
                text: "# edit\n".into(),
            }
        } else {
            ContentChange {
                range: Some(WideRange { start: LineCol::new(middle, 0), end: LineCol::new(middle + 1, 0) }),
                text: String::new(),
            }
        };
        let t = Instant::now();
        host.change_document(file, version, &[change], PositionEncoding::Utf16).unwrap();
        edit_times.push(t.elapsed());
        let analysis = host.snapshot();
        let t = Instant::now();
        std::hint::black_box(analysis.document_symbols(file));
        symbol_times.push(t.elapsed());
    }
    println!("didChange (host)    {:>8.2?}", median(edit_times));
    println!("documentSymbol      {:>8.2?}", median(symbol_times));
}
