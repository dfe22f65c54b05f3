//! Keeping secrets out of prompts: files with secret-like names are never quoted, and strings
//! that look like credentials are replaced before any text leaves the machine.
//!
//! Both checks are deliberately broad. A false positive costs one redacted string or one file
//! missing from a prompt; a false negative sends a key to a third party.

use std::{borrow::Cow, path::Path, sync::LazyLock};

use regex::Regex;

/// What a redacted string is replaced with.
pub const REDACTED: &str = "[REDACTED]";

/// Whether a file's name says it holds secrets: `.env*`, keys and certificates (`*.pem`,
/// `*.key`, `id_rsa*`), credential and secret stores (`*credentials*`, `*secret*`, `.netrc`,
/// `.pypirc`, …), or anything under `.ssh`, `.aws`, `.gnupg`.
pub fn is_secret_path(path: &Path) -> bool {
    let lower = |s: &std::ffi::OsStr| s.to_string_lossy().to_ascii_lowercase();
    if path
        .components()
        .any(|c| matches!(lower(c.as_os_str()).as_str(), ".ssh" | ".aws" | ".gnupg" | ".docker"))
    {
        return true;
    }
    let Some(name) = path.file_name().map(lower) else { return false };
    const EXTENSIONS: &[&str] = &[
        ".pem",
        ".key",
        ".p12",
        ".pfx",
        ".jks",
        ".keystore",
        ".crt",
        ".cer",
        ".der",
        ".gpg",
        ".asc",
        ".ppk",
    ];
    const NAMES: &[&str] = &[
        ".netrc",
        ".pgpass",
        ".npmrc",
        ".pypirc",
        ".htpasswd",
        "htpasswd",
        ".git-credentials",
        "known_hosts",
    ];
    name.starts_with(".env")
        || name.starts_with("id_rsa")
        || name.starts_with("id_dsa")
        || name.starts_with("id_ecdsa")
        || name.starts_with("id_ed25519")
        || name.contains("credential")
        || name.contains("secret")
        || name.contains("private_key")
        || name.contains("privatekey")
        || NAMES.contains(&name.as_str())
        || EXTENSIONS.iter().any(|ext| name.ends_with(ext))
}

static TOKENS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----[\s\S]*?-----END [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----",
        r"|\bsk-[A-Za-z0-9_-]{20,}",
        r"|\b(?:AKIA|ASIA)[0-9A-Z]{16}\b",
        r"|\bgh[pousr]_[A-Za-z0-9]{30,}",
        r"|\bgithub_pat_[A-Za-z0-9_]{30,}",
        r"|\bxox[abprs]-[A-Za-z0-9-]{10,}",
        r"|\bAIza[0-9A-Za-z_-]{35}",
        r"|\b(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{16,}",
        r"|\bglpat-[A-Za-z0-9_-]{20,}",
        r"|\beyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}",
    ))
    .expect("valid token pattern")
});

/// `api_key = "…"`, `PASSWORD: '…'`, `auth_token="…"`: the quoted value goes.
static ASSIGNED: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"(?i)((?:api[_-]?key|secret|token|passw(?:or)?d|passwd|credential|auth[_-]?key|private[_-]?key)[A-Za-z0-9_]*["']?\s*[:=]\s*[bru]?["'])([^"'\s]{6,})(["'])"#,
    )
    .expect("valid assignment pattern")
});

/// `text` with every credential-like string replaced by [`REDACTED`].
pub fn redact(text: &str) -> Cow<'_, str> {
    let tokens = TOKENS.replace_all(text, REDACTED);
    match ASSIGNED.replace_all(&tokens, format!("${{1}}{REDACTED}${{3}}").as_str()) {
        Cow::Borrowed(_) => tokens,
        Cow::Owned(owned) => Cow::Owned(owned),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_file_names() {
        for path in [
            ".env",
            ".env.local",
            "deploy/server.pem",
            "home/.ssh/config",
            "id_rsa",
            "id_ed25519.pub",
            "aws_credentials.json",
            "config/secrets.py",
            ".pypirc",
            "tls/site.key",
        ] {
            assert!(is_secret_path(Path::new(path)), "{path}");
        }
        for path in ["src/env.py", "pkg/keys.py", "environment.py", "docs/tokens.md", "app/models.py"] {
            assert!(!is_secret_path(Path::new(path)), "{path}");
        }
    }

    #[test]
    fn tokens_and_assigned_secrets_are_redacted() {
        let text = "KEY = 'sk-proj-abcdefghijklmnopqrstuvwxyz012345'\naws = \"AKIAABCDEFGHIJKLMNOP\"\n\
                    password = \"hunter22\"\nname = 'alice'\n\
                    -----BEGIN RSA PRIVATE KEY-----\nMIIEow\nabc\n-----END RSA PRIVATE KEY-----\ntail";
        let out = redact(text);
        assert!(!out.contains("sk-proj-abc"), "{out}");
        assert!(!out.contains("AKIAABCDEFGHIJKLMNOP"), "{out}");
        assert!(!out.contains("hunter22"), "{out}");
        assert!(!out.contains("MIIEow"), "{out}");
        assert!(out.contains("name = 'alice'"), "{out}");
        assert!(out.contains("password = \"[REDACTED]\""), "{out}");
        assert!(out.ends_with("tail"), "{out}");
        assert!(matches!(redact("def f(x):\n    return x\n"), Cow::Borrowed(_)));
    }
}
