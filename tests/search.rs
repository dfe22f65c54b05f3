//! Search over a small repository built from strings: real parsing, real chunking, a real tantivy
//! index. Checks that identifier, dotted-path, natural-language and traceback queries find the
//! right chunk or file, that edits and removals are visible after a commit (and not before), and
//! that a persisted index reopens with the same answers or fails with a typed error.

use std::sync::atomic::AtomicBool;

use repolens::{
    search::{
        BulkOptions, Chunk, ChunkKind, MAX_QUERY_BYTES, QueryOptions, SearchError, SearchIndex,
        chunks_for_file,
    },
    syntax::{FileSummary, LanguageId, Languages, ParseBudget, parse_text},
};

const HASHERS: &str = r#""""Password hashing utilities."""
import hashlib
import secrets

ITERATIONS = 600000


def make_password(raw_password, salt=None):
    """Turn a plain-text password into a hash suitable for storing in the database."""
    salt = salt or secrets.token_hex(8)
    digest = hashlib.pbkdf2_hmac("sha256", raw_password.encode(), salt.encode(), ITERATIONS)
    return f"pbkdf2${salt}${digest.hex()}"


def check_password(raw_password, encoded):
    """Return whether the raw password matches the encoded one."""
    _, salt, _ = encoded.split("$")
    return secrets.compare_digest(make_password(raw_password, salt), encoded)
"#;

const MODELS: &str = r#"from app.auth.hashers import make_password


class User:
    """A person who can log in."""

    def __init__(self, first_name, last_name, email):
        self.first_name = first_name
        self.last_name = last_name
        self.email = email

    def get_user_name(self):
        """The full name, as shown on the profile page."""
        return f"{self.first_name} {self.last_name}"

    def set_password(self, raw):
        self.password = make_password(raw)
"#;

const RESPONSE: &str = r#""""HTTP responses."""


class HttpResponse:
    """An HTTP response with content and headers."""

    status_code = 200

    def __init__(self, content=b"", content_type=None):
        self.content = content
        self.headers = {"Content-Type": content_type or "text/html"}

    def set_cookie(self, key, value, max_age=None):
        """Set a cookie on the client."""
        self.headers["Set-Cookie"] = f"{key}={value}; Max-Age={max_age}"


class JsonResponse(HttpResponse):
    def __init__(self, data, encoder=None):
        super().__init__(content=encode_json(data, encoder), content_type="application/json")
"#;

const QUERY: &str = r#"class QuerySet:
    """A lazy database lookup for a set of objects."""

    def __init__(self, model):
        self.model = model
        self._filters = []

    def filter(self, *args, **kwargs):
        """Return a new QuerySet instance with the args ANDed to the existing set."""
        clone = QuerySet(self.model)
        clone._filters = self._filters + [(args, kwargs)]
        return clone

    def bulk_create(self, objs, batch_size=None):
        """Insert each of the instances into the database in batches."""
        if batch_size is not None and batch_size <= 0:
            raise ValueError("Batch size must be a positive integer.")
        for start in range(0, len(objs), batch_size or len(objs)):
            self.model.insert_many(objs[start:start + (batch_size or len(objs))])
        return objs
"#;

const TEXT: &str = r#"import re
import unicodedata


def slugify(value, allow_unicode=False):
    """Convert spaces or repeated dashes to single dashes and remove characters that are not
    alphanumerics, underscores or hyphens; lowercase the result."""
    value = unicodedata.normalize("NFKC", value) if allow_unicode else value
    value = re.sub(r"[^\w\s-]", "", value.lower())
    return re.sub(r"[-\s]+", "-", value).strip("-_")


def camel_case_to_spaces(value):
    return re.sub(r"(((?<=[a-z])[A-Z])|([A-Z](?![A-Z]|$)))", r" \1", value).strip().lower()
"#;

const VIEWS: &str = r#"from app.db.query import QuerySet
from app.users.models import User


def signup(request):
    batch = [User(**row) for row in request.rows]
    return QuerySet(User).bulk_create(batch, batch_size=request.batch_size)
"#;

const HASHER_TESTS: &str = r#"from app.auth.hashers import check_password, make_password


class MakePasswordTests:
    def test_make_password_hashes(self):
        encoded = make_password("secret", salt="abc")
        assert encoded != "secret"
        assert check_password("secret", encoded)

    def test_make_password_salts(self):
        assert make_password("x", salt="a") != make_password("x", salt="b")
"#;

const FILES: &[(&str, &str)] = &[
    ("app/auth/hashers.py", HASHERS),
    ("app/users/models.py", MODELS),
    ("app/http/response.py", RESPONSE),
    ("app/db/query.py", QUERY),
    ("app/utils/text.py", TEXT),
    ("app/views.py", VIEWS),
    ("tests/auth/test_hashers.py", HASHER_TESTS),
];

fn chunks(path: &str, text: &str) -> Vec<Chunk> {
    let languages = Languages::embedded();
    let lang = languages.get(LanguageId::Python);
    let tree = parse_text(lang, text, None, ParseBudget::default()).unwrap();
    let summary = FileSummary::build(lang, &tree, text);
    let module = path.trim_end_matches(".py").trim_end_matches("/__init__").replace('/', ".");
    chunks_for_file(path, &module, &summary, text)
}

fn fixture_files() -> Vec<(String, Vec<Chunk>)> {
    FILES.iter().map(|(path, text)| (path.to_string(), chunks(path, text))).collect()
}

fn build(index: &mut SearchIndex) {
    let never = AtomicBool::new(false);
    let stats = index
        .bulk_index(fixture_files(), &BulkOptions { threads: 2, ..BulkOptions::default() }, &never)
        .unwrap();
    assert_eq!(stats.files, FILES.len());
}

fn index() -> SearchIndex {
    let mut index = SearchIndex::in_memory().unwrap();
    build(&mut index);
    index
}

/// Qualified names of the top `n` chunks.
#[track_caller]
fn top(index: &SearchIndex, query: &str, n: usize) -> Vec<String> {
    index.snapshot().search(query, n).unwrap().into_iter().map(|h| h.qualified_name).collect()
}

#[track_caller]
fn first(index: &SearchIndex, query: &str) -> String {
    top(index, query, 5).into_iter().next().unwrap_or_else(|| panic!("no hit for {query:?}"))
}

#[test]
fn identifiers_match_across_case_styles() {
    let index = index();
    assert_eq!(first(&index, "getUserName"), "app.users.models.User.get_user_name");
    assert_eq!(first(&index, "get_user_name"), "app.users.models.User.get_user_name");
    assert_eq!(first(&index, "CamelCaseToSpaces"), "app.utils.text.camel_case_to_spaces");
    assert_eq!(first(&index, "http_response"), "app.http.response.HttpResponse");
}

#[test]
fn dotted_paths_find_their_symbol() {
    let index = index();
    assert_eq!(first(&index, "QuerySet.bulk_create"), "app.db.query.QuerySet.bulk_create");
    assert_eq!(first(&index, "app.auth.hashers.make_password"), "app.auth.hashers.make_password");
    assert_eq!(first(&index, "HttpResponse.set_cookie()"), "app.http.response.HttpResponse.set_cookie");
}

#[test]
fn natural_language_questions_find_what_the_code_talks_about() {
    let index = index();
    assert_eq!(first(&index, "where are passwords hashed?"), "app.auth.hashers.make_password");
    assert_eq!(
        first(&index, "How is the user's full name displayed on the profile?"),
        "app.users.models.User.get_user_name"
    );
    assert_eq!(first(&index, "turn a title into a URL slug with dashes"), "app.utils.text.slugify");
    assert_eq!(first(&index, "what sets cookies on the client"), "app.http.response.HttpResponse.set_cookie");
}

#[test]
fn a_traceback_localizes_the_file() {
    let index = index();
    let report = r#"Signup crashes with batch_size=0

Traceback (most recent call last):
  File "/home/dev/project/app/views.py", line 7, in signup
    return QuerySet(User).bulk_create(batch, batch_size=request.batch_size)
  File "/home/dev/project/app/db/query.py", line 17, in bulk_create
    raise ValueError("Batch size must be a positive integer.")
ValueError: Batch size must be a positive integer.

I expected a batch size of 0 to mean "everything at once"."#;
    let files = index.snapshot().file_scores(report, 3).unwrap();
    let paths: Vec<&str> = files.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(paths[0], "app/db/query.py", "{files:#?}");
    assert_eq!(files[0].best.qualified_name, "app.db.query.QuerySet.bulk_create");
    assert!(paths.contains(&"app/views.py"), "{paths:?}");
    assert!(files.windows(2).all(|w| w[0].score >= w[1].score));
}

#[test]
fn test_code_ranks_below_the_code_it_tests_unless_asked_for() {
    let index = index();
    let snapshot = index.snapshot();
    let no_prior = QueryOptions { test_penalty: 1.0, ..QueryOptions::default() };
    let score = |query: &str, options: &QueryOptions, path: &str| -> f32 {
        let files = snapshot.file_scores_with(query, 5, options).unwrap();
        files.into_iter().find(|f| f.path == path).unwrap().score
    };
    let tests = "tests/auth/test_hashers.py";
    let halved = score("make_password", &QueryOptions::default(), tests);
    assert!((halved - 0.5 * score("make_password", &no_prior, tests)).abs() < 1e-3);
    assert_eq!(
        score("tests for make_password", &QueryOptions::default(), tests),
        score("tests for make_password", &no_prior, tests)
    );
    assert_eq!(snapshot.file_scores("make_password", 1).unwrap()[0].path, "app/auth/hashers.py");
    let about_tests = snapshot.file_scores("tests for make_password", 2).unwrap();
    assert!(about_tests.iter().any(|f| f.path == tests), "{about_tests:#?}");
    assert_eq!(first(&index, "MakePasswordTests"), "tests.auth.test_hashers.MakePasswordTests");
}

#[test]
fn hits_carry_the_lines_and_bytes_to_cite() {
    let index = index();
    let hit = &index.snapshot().search("check_password", 1).unwrap()[0];
    assert_eq!(
        (hit.path.as_str(), hit.kind, hit.start_line, hit.end_line),
        ("app/auth/hashers.py", ChunkKind::Function, 15, 18)
    );
    assert!(HASHERS[hit.start_byte as usize..hit.end_byte as usize].starts_with("def check_password("));
    assert!(HASHERS[hit.start_byte as usize..hit.end_byte as usize].ends_with("encoded)"));
}

#[test]
fn queries_of_only_punctuation_or_unknown_words_return_nothing() {
    let index = index();
    assert!(top(&index, "", 5).is_empty());
    assert!(top(&index, "(): \"' ,.", 5).is_empty());
    assert!(top(&index, "zyzzyva", 5).is_empty());
    assert!(top(&index, "bulk_create", 0).is_empty());
}

#[test]
fn replace_file_takes_effect_at_commit() {
    let mut index = index();
    let before = index.snapshot();
    let new_text = "def hash_with_argon2(raw_password):\n    \"\"\"Hash a password with argon2id.\"\"\"\n    return argon2.hash(raw_password)\n";
    index.replace_file("app/auth/hashers.py", &chunks("app/auth/hashers.py", new_text)).unwrap();
    assert!(index.has_uncommitted_changes());
    // Not visible before the commit.
    assert!(!top(&index, "argon2", 5).iter().any(|q| q.contains("argon2")));
    index.commit().unwrap();
    assert_eq!(first(&index, "argon2"), "app.auth.hashers.hash_with_argon2");
    assert!(top(&index, "compare_digest", 5).is_empty(), "{:?}", top(&index, "compare_digest", 5));
    assert!(!top(&index, "pbkdf2_hmac", 5).iter().any(|q| q.ends_with("make_password")));
    // The old snapshot still answers from the text it was taken on.
    assert_eq!(before.search("pbkdf2_hmac", 1).unwrap()[0].qualified_name, "app.auth.hashers.make_password");
    assert!(!before.search("argon2", 5).unwrap().iter().any(|h| h.name.contains("argon2")));
}

/// `count` files of `per_file` one-line functions each, the functions named after `tag`.
fn generated_files(prefix: &str, count: usize, per_file: usize, tag: &str) -> Vec<(String, Vec<Chunk>)> {
    (0..count)
        .map(|file| {
            let path = format!("{prefix}/module_{file}.py");
            let text: String = (0..per_file)
                .map(|f| format!("def {tag}_{file}_{f}(value):\n    return value + {f}\n\n"))
                .collect();
            let chunks = chunks(&path, &text);
            (path, chunks)
        })
        .collect()
}

#[test]
fn big_segments_whose_files_were_mostly_reindexed_are_compacted_after_the_next_edit() {
    let never = AtomicBool::new(false);
    let one_thread = BulkOptions { threads: 1, ..BulkOptions::default() };
    let mut index = SearchIndex::in_memory().unwrap();
    // Two big segments, as a cold build leaves them.
    index.bulk_index(generated_files("pkg/a", 24, 100, "old"), &one_thread, &never).unwrap();
    index.bulk_index(generated_files("pkg/b", 12, 100, "other"), &one_thread, &never).unwrap();
    // A warm start re-indexes 13 of the first segment's 24 files (a checkout changed them).
    let mut changed = generated_files("pkg/a", 24, 100, "new");
    changed.truncate(13);
    index.bulk_index(changed, &one_thread, &never).unwrap();
    let before = index.segment_stats().unwrap();
    // 101 chunks a file: its functions and its module chunk.
    assert_eq!(before.deleted_chunks, 13 * 101, "{before:?}");

    // The writer that applies edits merges in the background after its commits.
    let edited = generated_files("pkg/b", 1, 100, "edited").remove(0);
    index.replace_file(&edited.0, &edited.1).unwrap();
    index.commit().unwrap();
    let waited = std::time::Instant::now();
    let after = loop {
        let stats = index.segment_stats().unwrap();
        if stats.deleted_chunks <= 101 || waited.elapsed() > std::time::Duration::from_secs(60) {
            break stats;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    // What is left deleted is the edited file's old chunks, in a segment mostly alive.
    assert_eq!(
        after.deleted_chunks, 101,
        "the mostly deleted segment was not compacted: {before:?} → {after:?}"
    );

    // The answers are those of the files as they are now; the next commit's snapshot sees the
    // compacted segment.
    let again = generated_files("pkg/b", 2, 100, "edited").remove(1);
    index.replace_file(&again.0, &again.1).unwrap();
    index.commit().unwrap();
    assert_eq!(index.num_chunks(), (24 + 12) * 101);
    assert_eq!(first(&index, "new_3_7"), "pkg.a.module_3.new_3_7");
    assert_eq!(first(&index, "old_20_7"), "pkg.a.module_20.old_20_7");
    assert!(top(&index, "old_3_7", 5).iter().all(|q| q != "pkg.a.module_3.old_3_7"));
}

/// Where each chunk of `path` is cited, as searches report it: (qualified name, lines, bytes).
fn cited_spans(index: &SearchIndex, path: &str, query: &str) -> Vec<(String, u32, u32, u32, u32)> {
    let mut spans: Vec<_> = index
        .snapshot()
        .search(query, 10_000)
        .unwrap()
        .into_iter()
        .filter(|hit| hit.path == path)
        .map(|hit| (hit.qualified_name, hit.start_line, hit.end_line, hit.start_byte, hit.end_byte))
        .collect();
    spans.sort();
    spans
}

/// Where a fresh index of `text` alone cites the chunks of `path`.
fn fresh_spans(path: &str, text: &str, query: &str) -> Vec<(String, u32, u32, u32, u32)> {
    let mut fresh = SearchIndex::in_memory().unwrap();
    let never = AtomicBool::new(false);
    fresh.bulk_index([(path.to_owned(), chunks(path, text))], &BulkOptions::default(), &never).unwrap();
    cited_spans(&fresh, path, query)
}

#[test]
fn an_edit_reindexes_only_the_chunks_it_changed_and_moved_ones_cite_their_new_place() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path().join("search");
    let (path, query) = ("app/db/query.py", "queryset self model filters objs args");
    // Two lines at the top of `filter`'s body: `filter` changes, `bulk_create` moves down, the
    // class and module chunks (signatures only) keep their text but end two lines later.
    let edited = QUERY.replace(
        "        clone = QuerySet(self.model)",
        "        if not args and not kwargs:\n            return self\n        clone = QuerySet(self.model)",
    );
    {
        let mut index = SearchIndex::open_or_create(&dir).unwrap();
        build(&mut index);
        let before = cited_spans(&index, path, query);
        assert_eq!(before.len(), chunks(path, QUERY).len(), "the query finds every chunk: {before:?}");
        assert_eq!(before, fresh_spans(path, QUERY, query));
        let replaced = index.replace_file(path, &chunks(path, &edited)).unwrap();
        assert_eq!((replaced.indexed, replaced.kept), (1, chunks(path, QUERY).len() - 1));
        index.commit().unwrap();
        let after = cited_spans(&index, path, query);
        assert_eq!(after, fresh_spans(path, &edited, query));
        assert_ne!(after, before, "the edit moved chunks");
        let hit = &index.snapshot().search("bulk_create", 1).unwrap()[0];
        assert!(edited[hit.start_byte as usize..].starts_with("def bulk_create("));
    }
    // Reopened, the index still knows where the moved chunks are now.
    let mut index = SearchIndex::open_or_create(&dir).unwrap();
    assert_eq!(cited_spans(&index, path, query), fresh_spans(path, &edited, query));
    // Undoing the edit re-indexes `filter` again and puts everything back where it was stored.
    let replaced = index.replace_file(path, &chunks(path, QUERY)).unwrap();
    assert_eq!(replaced.indexed, 1);
    index.commit().unwrap();
    assert_eq!(cited_spans(&index, path, query), fresh_spans(path, QUERY, query));
}

#[test]
fn a_full_table_of_moved_chunks_makes_the_next_edit_reindex_its_file() {
    let (path, query) = ("pkg/many.py", "value");
    let many: String = (0..4200).map(|i| format!("def f{i}(value):\n    return value\n\n")).collect();
    let mut index = SearchIndex::in_memory().unwrap();
    index.replace_file(path, &chunks(path, &many)).unwrap();
    index.commit().unwrap();
    // A line on top moves all 4200 functions: more than the table of moved chunks should hold.
    let once = format!("import os\n{many}");
    assert_eq!(index.replace_file(path, &chunks(path, &once)).unwrap().kept, 4200);
    index.commit().unwrap();
    assert_eq!(cited_spans(&index, path, query), fresh_spans(path, &once, query));
    let twice = format!("import sys\n{once}");
    let replaced = index.replace_file(path, &chunks(path, &twice)).unwrap();
    assert_eq!(replaced.kept, 0, "re-indexed whole, which empties the table");
    index.commit().unwrap();
    assert_eq!(cited_spans(&index, path, query), fresh_spans(path, &twice, query));
}

#[test]
fn a_file_replaced_after_a_clear_is_indexed_whole() {
    let mut index = index();
    index.clear().unwrap();
    // Every chunk is unchanged since the last commit, but that commit is being cleared away.
    let replaced = index.replace_file(FILES[3].0, &chunks(FILES[3].0, FILES[3].1)).unwrap();
    assert_eq!(replaced.kept, 0);
    index.commit().unwrap();
    assert_eq!(index.num_chunks(), chunks(FILES[3].0, FILES[3].1).len() as u64);
    assert_eq!(first(&index, "bulk_create"), "app.db.query.QuerySet.bulk_create");
}

#[test]
fn remove_file_takes_its_chunks_away() {
    let mut index = index();
    let total = index.num_chunks();
    let removed = chunks(FILES[1].0, FILES[1].1).len() as u64;
    index.remove_file(FILES[1].0).unwrap();
    index.commit().unwrap();
    assert_eq!(index.num_chunks(), total - removed);
    assert!(!top(&index, "get_user_name", 10).iter().any(|q| q.starts_with("app.users")));
    // Other files are untouched.
    assert_eq!(first(&index, "make_password"), "app.auth.hashers.make_password");
}

#[test]
fn cancelled_bulk_index_changes_nothing() {
    let mut index = SearchIndex::in_memory().unwrap();
    let cancelled = AtomicBool::new(true);
    let err = index.bulk_index(fixture_files(), &BulkOptions::default(), &cancelled).unwrap_err();
    assert!(matches!(err, SearchError::Cancelled), "{err}");
    assert_eq!(index.num_chunks(), 0);
    // The index is still usable.
    build(&mut index);
    assert_eq!(first(&index, "slugify"), "app.utils.text.slugify");
}

#[test]
fn bulk_index_replaces_files_already_indexed() {
    let mut index = index();
    let total = index.num_chunks();
    build(&mut index);
    assert_eq!(index.num_chunks(), total);
}

#[test]
fn a_persisted_index_reopens_with_the_same_answers() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("search");
    let queries = ["getUserName", "where are passwords hashed?", "QuerySet.bulk_create", "cookie"];
    let answers: Vec<_> = {
        let mut index = SearchIndex::open_or_create(&path).unwrap();
        build(&mut index);
        index.replace_file(FILES[5].0, &[]).unwrap();
        index.commit().unwrap();
        queries.iter().map(|q| index.snapshot().search(q, 5).unwrap()).collect()
    };
    let reopened = SearchIndex::open_or_create(&path).unwrap();
    assert_eq!(reopened.directory(), Some(path.as_path()));
    let again: Vec<_> = queries.iter().map(|q| reopened.snapshot().search(q, 5).unwrap()).collect();
    assert_eq!(answers, again);
    assert!(!answers[0].is_empty());
}

#[test]
fn an_index_whose_disk_writes_fail_keeps_serving_edits_and_reopens_at_its_last_complete_commit() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("search");
    let hashers = "app/auth/hashers.py";
    let argon = "def hash_with_argon2(raw_password):\n    return argon2.hash(raw_password)\n";
    {
        let mut index = SearchIndex::open_or_create(&path).unwrap();
        build(&mut index);
        let (sent, received) = std::sync::mpsc::channel();
        index.when_persisted(move || sent.send(()).unwrap());
        received.recv_timeout(std::time::Duration::from_secs(60)).expect("the build reaches the disk");
        // Something in the way of the next `meta.json`: writing it fails.
        std::fs::create_dir(path.join("meta.json.tmp")).unwrap();
        index.replace_file(hashers, &chunks(hashers, argon)).unwrap();
        index.commit().unwrap();
        assert_eq!(first(&index, "argon2"), "app.auth.hashers.hash_with_argon2");
        index.replace_file(FILES[5].0, &[]).unwrap();
        index.commit().unwrap();
        let saved = std::sync::Arc::new(AtomicBool::new(false));
        let flag = saved.clone();
        index.when_persisted(move || flag.store(true, std::sync::atomic::Ordering::SeqCst));
        drop(index);
        // What would describe the edits (the search manifest) is never written.
        assert!(!saved.load(std::sync::atomic::Ordering::SeqCst));
    }
    std::fs::remove_dir(path.join("meta.json.tmp")).unwrap();
    let reopened = SearchIndex::open_or_create(&path).unwrap();
    assert!(!top(&reopened, "argon2", 5).iter().any(|q| q.contains("argon2")));
    assert_eq!(first(&reopened, "pbkdf2_hmac"), "app.auth.hashers.make_password");
    assert_eq!(first(&reopened, "getUserName"), "app.users.models.User.get_user_name");
}

#[test]
fn a_second_writer_on_the_same_directory_is_locked_out() {
    let dir = tempfile::tempdir().unwrap();
    let mut first = SearchIndex::open_or_create(dir.path()).unwrap();
    first.remove_file(FILES[0].0).unwrap();
    let mut second = SearchIndex::open_or_create(dir.path()).unwrap();
    let err = second.remove_file(FILES[0].0).unwrap_err();
    assert!(matches!(err, SearchError::Locked { .. }), "{err}");
    assert!(!err.needs_rebuild());
}

#[test]
fn garbage_directories_are_typed_errors_that_ask_for_a_rebuild() {
    let dir = tempfile::tempdir().unwrap();

    let foreign = dir.path().join("foreign");
    std::fs::create_dir_all(&foreign).unwrap();
    std::fs::write(foreign.join("notes.txt"), "not an index").unwrap();
    let err = SearchIndex::open_or_create(&foreign).err().unwrap();
    assert!(matches!(err, SearchError::Corrupt { .. }) && err.needs_rebuild(), "{err}");

    // A real index whose files were damaged.
    let damaged = dir.path().join("damaged");
    drop(SearchIndex::open_or_create(&damaged).unwrap());
    std::fs::write(damaged.join("meta.json"), "{ this is not json").unwrap();
    let err = SearchIndex::open_or_create(&damaged).err().unwrap();
    assert!(matches!(err, SearchError::Corrupt { .. }) && err.needs_rebuild(), "{err}");

    // An index from another format version.
    let old = dir.path().join("old");
    drop(SearchIndex::open_or_create(&old).unwrap());
    std::fs::write(old.join("repolens-search-version"), "0").unwrap();
    let err = SearchIndex::open_or_create(&old).err().unwrap();
    assert!(
        matches!(err, SearchError::VersionMismatch { found: Some(0), .. }) && err.needs_rebuild(),
        "{err}"
    );
    assert!(err.to_string().contains("format version 0"), "{err}");

    // What the caller does about it: delete and rebuild.
    std::fs::remove_dir_all(&damaged).unwrap();
    let mut rebuilt = SearchIndex::open_or_create(&damaged).unwrap();
    build(&mut rebuilt);
    assert_eq!(first(&rebuilt, "slugify"), "app.utils.text.slugify");
}

#[test]
fn long_issue_texts_are_capped_to_their_most_informative_terms() {
    let index = index();
    let filler = "The quick brown fox jumps over the lazy dog while nothing else happens here. ".repeat(200);
    let issue = format!("{filler}\nHttpResponse.set_cookie ignores max_age\n{filler}");
    let snapshot = index.snapshot();
    let terms = snapshot.query_terms(&issue, &Default::default()).unwrap();
    assert!(terms.len() <= 32);
    assert!(terms.iter().any(|t| t.text == "setcookie"), "{terms:?}");
    assert_eq!(snapshot.file_scores(&issue, 1).unwrap()[0].path, "app/http/response.py");

    // Past `MAX_QUERY_BYTES` the text is ignored, and the cut respects UTF-8.
    let pasted_log = format!("{}slugify", "é".repeat(MAX_QUERY_BYTES));
    assert!(snapshot.query_terms(&pasted_log, &Default::default()).unwrap().is_empty());
}

#[test]
fn absurd_limits_are_capped_by_the_number_of_chunks() {
    let index = index();
    let hits = index.snapshot().search("bulk_create", usize::MAX).unwrap();
    assert!(!hits.is_empty() && hits.len() as u64 <= index.num_chunks());
    let files = index.snapshot().file_scores("bulk_create", usize::MAX).unwrap();
    assert!(!files.is_empty() && files.len() <= FILES.len());
}

#[test]
fn snapshots_go_to_worker_threads_and_the_index_to_its_owner() {
    fn send_sync<T: Send + Sync>() {}
    fn send<T: Send>() {}
    send_sync::<repolens::search::SearchSnapshot>();
    send::<SearchIndex>();
    let index = index();
    let snapshot = index.snapshot();
    let found = std::thread::spawn(move || snapshot.search("slugify", 1).unwrap()[0].qualified_name.clone());
    assert_eq!(found.join().unwrap(), "app.utils.text.slugify");
}

/// Pieces a file is assembled from in the property test below; every one mentions `value`, so one
/// query finds every chunk. Repeats in a file give identical chunks.
const PIECES: &[&str] = &[
    "def first(value):\n    return value + 1\n",
    "def second(value):\n    \"\"\"Double the value.\"\"\"\n    return value * 2\n",
    "class Holder:\n    value = 0\n\n    def get(self, value):\n        return self.value or value\n",
    "VALUE = 3  # the module value\n",
    "def first(value):\n    # another first\n    return value - 1\n",
];

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(48))]

    /// However a file is edited — chunks changed, added, removed, repeated or moved — searches
    /// cite every chunk where a fresh index of the last version does, committed or reopened.
    #[test]
    fn edited_files_are_cited_like_freshly_indexed_ones(
        versions in proptest::collection::vec(proptest::collection::vec(0..PIECES.len(), 0..6), 1..6),
        commit_each in proptest::bool::ANY,
    ) {
        let (path, query) = ("pkg/edited.py", "value");
        let text = |pieces: &Vec<usize>| pieces.iter().map(|&i| PIECES[i]).collect::<Vec<_>>().join("\n");
        let dir = tempfile::tempdir().unwrap();
        let dir = dir.path().join("search");
        let mut index = SearchIndex::open_or_create(&dir).unwrap();
        build(&mut index);
        for version in &versions {
            index.replace_file(path, &chunks(path, &text(version))).unwrap();
            if commit_each {
                index.commit().unwrap();
            }
        }
        index.commit().unwrap();
        let last = text(versions.last().unwrap());
        proptest::prop_assert_eq!(cited_spans(&index, path, query), fresh_spans(path, &last, query));
        drop(index);
        let reopened = SearchIndex::open_or_create(&dir).unwrap();
        proptest::prop_assert_eq!(cited_spans(&reopened, path, query), fresh_spans(path, &last, query));
    }
}
