//! What a question says about where to look, read from its text alone: identifiers in any case
//! style, dotted paths, file names, quoted code, error messages and Python traceback frames.
//!
//! Nothing here knows the repository; [`super`] resolves these against it. Extraction is
//! deliberately generous (a prose word that happens to be capitalized is a weak mention): a
//! mention that names nothing in the repository costs nothing, one that is missed costs a signal.

use std::sync::LazyLock;

use regex::Regex;
use rustc_hash::FxHashMap;

/// One frame of a Python traceback, as printed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frame {
    /// The path as printed (absolute, site-packages, relative…).
    pub path: String,
    pub line: u32,
    /// The function named after `in`, unless it is `<module>` or similar.
    pub function: Option<String>,
}

/// An exception line: `marshmallow.exceptions.ValidationError: Not a valid integer.`
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ErrorLine {
    pub exception: String,
    pub message: String,
}

/// A name the question mentions, with how strongly it looks like code.
#[derive(Clone, Debug, PartialEq)]
pub struct Mention {
    pub name: String,
    /// 1.0 for code-like spellings (`snake_case`, `camelCase`, in backticks or code, called with
    /// parentheses); lower for plain capitalized words, which may be prose.
    pub strength: f32,
    /// Occurrences in the question.
    pub count: u32,
}

/// Everything [`extract`] found.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Signals {
    pub identifiers: Vec<Mention>,
    /// `pkg.module.Class.method` and the like, as written.
    pub dotted: Vec<String>,
    /// File names and paths mentioned outside tracebacks (`schema.py`, `src/pkg/io.py`).
    pub files: Vec<String>,
    /// Traceback frames in printed order: outermost first, innermost (where it raised) last.
    pub frames: Vec<Frame>,
    pub errors: Vec<ErrorLine>,
    /// Inline code and fenced blocks.
    pub code: Vec<String>,
}

static FENCE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?s)```[ \t]*([A-Za-z0-9_+-]*)[^\n]*\n?(.*?)```").unwrap());
/// Lines that report versions and environments (`print(pkg.__version__)`, `pip freeze`): issue
/// templates ask for them, and the names in them say nothing about where the problem is.
static VERSION_LINE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?im)^.*(?:\bversion\b|__version__|__pkginfo__|pip (?:freeze|list|show)|platform\.|sys\.version).*$")
        .unwrap()
});
static INLINE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"`([^`\n]+)`").unwrap());
/// `path/to/file.py:470:` as warnings, linters and test runners print locations.
static LOCATION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"((?:[A-Za-z]:)?[A-Za-z0-9_.~/\\-]*[A-Za-z0-9_-]\.pyi?):(\d+)(?::\d+)?:").unwrap()
});
static FRAME: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"File "([^"\n]+)", line (\d+)(?:, in ([^\s\n]+))?"#).unwrap());
static ERROR: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?m)^[ \t>]*((?:[A-Za-z_][A-Za-z0-9_]*\.)*[A-Za-z_][A-Za-z0-9_]*(?:Error|Exception|Warning|Exit|Interrupt|Fault|Failure|Invalid[A-Za-z]*))(?::[ \t]*(.*))?$")
        .unwrap()
});
static FILE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?:[A-Za-z0-9_.~-]*/)*[A-Za-z0-9_-][A-Za-z0-9_.-]*\.pyi?\b").unwrap());
static DOTTED: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)+").unwrap());
static WORD: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"[A-Za-z_][A-Za-z0-9_]*").unwrap());
static URL: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"(?:https?|ftp)://\S+|www\.\S+").unwrap());

/// Python keywords, builtins and names so common in snippets that they say nothing about where
/// to look.
const COMMON: &[&str] = &[
    "False",
    "None",
    "True",
    "and",
    "as",
    "assert",
    "async",
    "await",
    "break",
    "class",
    "continue",
    "def",
    "del",
    "elif",
    "else",
    "except",
    "finally",
    "for",
    "from",
    "global",
    "if",
    "import",
    "in",
    "is",
    "lambda",
    "nonlocal",
    "not",
    "or",
    "pass",
    "raise",
    "return",
    "try",
    "while",
    "with",
    "yield",
    "self",
    "cls",
    "args",
    "kwargs",
    "print",
    "len",
    "range",
    "list",
    "dict",
    "set",
    "tuple",
    "str",
    "int",
    "float",
    "bool",
    "bytes",
    "object",
    "type",
    "isinstance",
    "super",
    "open",
    "np",
    "pd",
    "os",
    "sys",
    "re",
    "json",
    "numpy",
    "pandas",
    "value",
    "values",
    "data",
    "result",
    "name",
    "obj",
    "x",
    "y",
    "foo",
    "bar",
    "baz",
    "main",
    "test",
    "module",
    "line",
    "File",
    "Traceback",
    "most",
    "recent",
    "call",
    "last",
    "The",
    "This",
    "When",
    "What",
    "How",
    "Why",
    "Where",
    "If",
    "It",
    "In",
    "On",
    "Is",
    "I",
    "A",
    "An",
    "To",
    "And",
    "But",
    "For",
    "With",
    "As",
    "At",
    "By",
    "Not",
    "No",
    "Yes",
    "Also",
    "Expected",
    "Actual",
    "Describe",
    "Steps",
    "Version",
    "Versions",
    "Bug",
    "Issue",
    "Example",
    "Python",
    "Output",
    "Error",
    "Note",
    "See",
    "Here",
    "There",
    "However",
    "Thanks",
    "Please",
    "Problem",
    "Description",
    "Code",
    "Sample",
    "Reproduce",
    "Environment",
    "Additional",
    "Context",
    // Builtins: defined by Python, not by the repository.
    "getattr",
    "setattr",
    "hasattr",
    "delattr",
    "iter",
    "next",
    "map",
    "filter",
    "zip",
    "sorted",
    "reversed",
    "enumerate",
    "min",
    "max",
    "sum",
    "abs",
    "any",
    "all",
    "repr",
    "hash",
    "format",
    "vars",
    "dir",
    "callable",
    "round",
    "input",
    "exec",
    "eval",
    "compile",
    "globals",
    "locals",
    "property",
    "staticmethod",
    "classmethod",
    "frozenset",
    "bytearray",
    "memoryview",
    "complex",
    "slice",
    "ord",
    "chr",
    "divmod",
    "pow",
    "issubclass",
    "Exception",
    "BaseException",
    "ValueError",
    "TypeError",
    "KeyError",
    "IndexError",
    "AttributeError",
    "RuntimeError",
    "NotImplementedError",
    "ImportError",
    "ModuleNotFoundError",
    "OSError",
    "IOError",
    "StopIteration",
    "AssertionError",
    "ZeroDivisionError",
    "UnicodeDecodeError",
    "UnicodeEncodeError",
    "RecursionError",
    "OverflowError",
    "NameError",
    "FileNotFoundError",
    "PermissionError",
    "Warning",
    "DeprecationWarning",
    "FutureWarning",
    "UserWarning",
    "RuntimeWarning",
    "PendingDeprecationWarning",
    "SyntaxError",
    "SystemExit",
    "KeyboardInterrupt",
    "NoneType",
];

fn is_common(word: &str) -> bool {
    COMMON.contains(&word)
}

/// How code-like a word looks on its own: 1.0 for `snake_case`, `camelCase`, `CONST_NAME`;
/// 0.35 for a capitalized word (`Schema`), which prose also has; 0 for a plain lowercase word.
fn shape_strength(word: &str) -> f32 {
    let bytes = word.as_bytes();
    let has_underscore = word.trim_matches('_').contains('_') || (word.starts_with('_') && word.len() > 2);
    let inner_upper = bytes.windows(2).any(|w| w[0].is_ascii_lowercase() && w[1].is_ascii_uppercase());
    let has_digit_tail = bytes.iter().any(u8::is_ascii_digit) && bytes[0].is_ascii_alphabetic();
    if has_underscore || inner_upper {
        1.0
    } else if bytes[0].is_ascii_uppercase()
        && bytes.len() > 2
        && bytes[1..].iter().any(u8::is_ascii_lowercase)
    {
        0.35
    } else if has_digit_tail && bytes.len() > 2 {
        0.5
    } else {
        0.0
    }
}

/// Reads the signals out of a question.
pub fn extract(text: &str) -> Signals {
    let mut signals = Signals::default();
    let mut mentions: FxHashMap<String, (f32, u32)> = FxHashMap::default();
    let mut mention = |name: &str, strength: f32| {
        if strength <= 0.0 || name.len() < 2 || is_common(name) || name.bytes().all(|b| b.is_ascii_digit()) {
            return;
        }
        let entry = mentions.entry(name.to_owned()).or_insert((0.0, 0));
        entry.0 = entry.0.max(strength);
        entry.1 += 1;
    };

    // Code first: fenced blocks, then inline spans outside them. Every identifier in code is a
    // code mention, whatever its shape.
    let mut prose = text.to_owned();
    let mut code_spans: Vec<(usize, usize)> = Vec::new();
    // Python (or unlabelled) code, whose words are names; other languages' blocks (SQL, shell,
    // configuration) are data, whose words only the text search should see.
    let mut python: Vec<String> = Vec::new();
    for caps in FENCE.captures_iter(text) {
        let whole = caps.get(0).expect("group 0");
        code_spans.push((whole.start(), whole.end()));
        let body = caps[2].trim_end().to_owned();
        let language = caps[1].to_ascii_lowercase();
        if matches!(
            language.as_str(),
            "" | "python" | "py" | "python3" | "pycon" | "ipython" | "pytb" | "pytest"
        ) {
            python.push(body.clone());
        }
        signals.code.push(body);
    }
    for caps in INLINE.captures_iter(text) {
        let whole = caps.get(0).expect("group 0");
        if code_spans.iter().any(|&(s, e)| whole.start() >= s && whole.end() <= e) {
            continue;
        }
        code_spans.push((whole.start(), whole.end()));
        // `sqlfluff fix`, `pip install x`: a command line, not Python.
        let span = &caps[1];
        let command = span.trim().contains(' ') && !span.contains(['(', '=', '[', ':']);
        if !command {
            python.push(span.to_owned());
        }
        signals.code.push(caps[1].to_owned());
    }
    // Blank out code in the prose copy (same byte length, so offsets stay valid).
    for &(s, e) in &code_spans {
        prose.replace_range(s..e, &" ".repeat(e - s));
    }

    for caps in FRAME.captures_iter(text) {
        let function = caps.get(3).map(|m| m.as_str().trim_end_matches(',').to_owned());
        signals.frames.push(Frame {
            path: caps[1].to_owned(),
            line: caps[2].parse().unwrap_or(0),
            function: function.filter(|f| !f.starts_with('<')),
        });
    }
    // Locations printed by warnings and linters, after the traceback frames: less certain.
    for caps in LOCATION.captures_iter(text) {
        let path = caps[1].to_owned();
        let line = caps[2].parse().unwrap_or(0);
        if !signals.frames.iter().any(|f| f.path == path && f.line == line) {
            signals.frames.insert(0, Frame { path, line, function: None });
        }
    }
    for caps in ERROR.captures_iter(text) {
        let exception = caps[1].to_owned();
        let message = caps.get(2).map_or("", |m| m.as_str()).trim().to_owned();
        if !signals.errors.iter().any(|e| e.exception == exception && e.message == message) {
            signals.errors.push(ErrorLine { exception, message });
        }
    }

    let no_urls = URL.replace_all(text, " ");
    let no_urls = VERSION_LINE.replace_all(&no_urls, " ");
    for m in FILE.find_iter(&no_urls) {
        let path = m.as_str().trim_start_matches("./");
        let in_frame = signals.frames.iter().any(|f| f.path.ends_with(path));
        if !in_frame && !signals.files.iter().any(|f| f == path) {
            signals.files.push(path.to_owned());
        }
    }
    for m in DOTTED.find_iter(&no_urls) {
        let dotted = m.as_str();
        let segments: Vec<&str> = dotted.split('.').collect();
        if segments.last().is_some_and(|s| *s == "py" || *s == "pyi")
            || segments.iter().all(|s| s.len() <= 2)
            || dotted.len() < 5
            || signals.dotted.iter().any(|d| d == dotted)
        {
            continue;
        }
        signals.dotted.push(dotted.to_owned());
    }

    // Identifiers: in Python code, every name (plain lowercase words less: `fix`, `data`); in
    // prose, by shape.
    for span in &python {
        let span = VERSION_LINE.replace_all(span, " ");
        for line in span.lines() {
            let line = line.trim_start();
            // A shell prompt: the words are a command line, not Python.
            // A shell prompt: the words are a command line, not Python. Traceback frame lines
            // are read as frames, not for the words of their paths.
            if line.starts_with("$ ") || line.starts_with("% ") || FRAME.is_match(line) {
                continue;
            }
            for w in WORD.find_iter(line) {
                let word = w.as_str();
                let in_path = line[..w.start()].ends_with('/') || line[w.end()..].starts_with('/');
                if word.len() < 3 || in_path {
                    continue;
                }
                let called = line[w.end()..].starts_with('(');
                let attribute = line[..w.start()].ends_with('.');
                let strength = if called || attribute || word.as_bytes()[0].is_ascii_uppercase() {
                    1.0
                } else {
                    shape_strength(word).max(0.5)
                };
                mention(word, strength);
            }
        }
    }
    for frame in &signals.frames {
        if let Some(f) = &frame.function {
            mention(f, 1.0);
        }
    }
    for error in &signals.errors {
        if let Some(last) = error.exception.rsplit('.').next() {
            mention(last, 1.0);
        }
    }
    for dotted in &signals.dotted {
        for segment in dotted.split('.') {
            mention(segment, shape_strength(segment).max(0.6));
        }
    }
    let prose_no_urls = URL.replace_all(&prose, " ");
    let prose_no_urls = VERSION_LINE.replace_all(&prose_no_urls, " ");
    for w in WORD.find_iter(&prose_no_urls) {
        let word = w.as_str();
        let called = prose_no_urls[w.end()..].starts_with('(');
        let mut strength = if called { 1.0 } else { shape_strength(word) };
        // A capitalized word opening a sentence or a line is prose, whatever it spells.
        let before = prose_no_urls[..w.start()].trim_end_matches([' ', '\t', '*', '#', '-', '>', '_']);
        if strength < 1.0 && (before.is_empty() || before.ends_with(['.', '!', '?', '\n', ':'])) {
            strength = 0.0;
        }
        mention(word, strength);
    }
    let mut identifiers: Vec<Mention> =
        mentions.into_iter().map(|(name, (strength, count))| Mention { name, strength, count }).collect();
    identifiers.sort_by(|a, b| {
        b.strength.total_cmp(&a.strength).then(b.count.cmp(&a.count)).then(a.name.cmp(&b.name))
    });
    signals.identifiers = identifiers;
    signals
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traceback_frames_errors_and_identifiers() {
        let text = r#"After upgrading, `Schema.validate` fails:

```
Traceback (most recent call last):
  File "/env/lib/python3.7/site-packages/marshmallow/schema.py", line 628, in validate
    _, errors = self._do_load(data, many, partial=partial, postprocess=False)
  File "/env/lib/python3.7/site-packages/marshmallow/marshalling.py", line 65, in call_and_store
    value = getter_func(data)
TypeError: 'NoneType' object is not subscriptable
```
See marshmallow.fields.Nested and utils.py; getUserName() too.
"#;
        let s = extract(text);
        assert_eq!(s.frames.len(), 2);
        assert_eq!(s.frames[1].path, "/env/lib/python3.7/site-packages/marshmallow/marshalling.py");
        assert_eq!(s.frames[1].line, 65);
        assert_eq!(s.frames[1].function.as_deref(), Some("call_and_store"));
        assert_eq!(
            s.errors,
            vec![ErrorLine {
                exception: "TypeError".into(),
                message: "'NoneType' object is not subscriptable".into()
            }]
        );
        assert!(s.dotted.contains(&"marshmallow.fields.Nested".to_owned()), "{:?}", s.dotted);
        assert!(s.files.contains(&"utils.py".to_owned()), "{:?}", s.files);
        let names: Vec<&str> = s.identifiers.iter().map(|m| m.name.as_str()).collect();
        for expected in ["call_and_store", "_do_load", "getUserName", "Nested", "validate", "getter_func"] {
            assert!(names.contains(&expected), "{expected} missing from {names:?}");
        }
        for unexpected in ["self", "After", "See", "too"] {
            assert!(!names.contains(&unexpected), "{unexpected} in {names:?}");
        }
    }

    #[test]
    fn prose_words_are_weak_and_urls_are_not_paths() {
        let s = extract("The Paginator breaks on https://example.com/docs/page.py when get_page is used");
        let strength = |n: &str| s.identifiers.iter().find(|m| m.name == n).map(|m| m.strength);
        assert_eq!(strength("get_page"), Some(1.0));
        assert_eq!(strength("Paginator"), Some(0.35));
        assert_eq!(strength("breaks"), None);
        assert!(s.files.is_empty(), "{:?}", s.files);
        assert!(s.dotted.is_empty(), "{:?}", s.dotted);
    }
}
