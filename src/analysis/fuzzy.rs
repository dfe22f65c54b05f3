//! Fuzzy matching of symbol names, ranked the way pickers expect:
//! exact > prefix > camelCase/snake_case humps > subsequence.

/// How well a query matched a name; smaller is better.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum MatchClass {
    ExactCase,
    Exact,
    Prefix,
    Humps,
    Subsequence,
}

/// Matches `query` against `name`, ignoring ASCII case.
pub fn match_name(query: &str, name: &str) -> Option<MatchClass> {
    let (q, n) = (query.as_bytes(), name.as_bytes());
    if q.len() > n.len() || !is_subsequence(q, n) {
        return None;
    }
    Some(if q.len() == n.len() {
        if q == n { MatchClass::ExactCase } else { MatchClass::Exact }
    } else if n[..q.len()].eq_ignore_ascii_case(q) {
        MatchClass::Prefix
    } else if matches_humps(q, n) {
        MatchClass::Humps
    } else {
        MatchClass::Subsequence
    })
}

/// Whether `q` occurs in `n` in order, ignoring ASCII case.
pub fn is_subsequence(q: &[u8], n: &[u8]) -> bool {
    let mut it = n.iter();
    q.iter().all(|qc| it.any(|nc| nc.eq_ignore_ascii_case(qc)))
}

/// Whether every run of query characters starts a word of `n`: `gqs` and `getqs` match
/// `get_query_set`, `QS` matches `QuerySet`, `filter` matches `get_filter`.
fn matches_humps(q: &[u8], n: &[u8]) -> bool {
    // failed[qi * (n.len() + 1) + from]: no way to match q[qi..] starting the search at `from`.
    let width = n.len() + 1;
    let mut failed = vec![false; (q.len() + 1) * width];
    fn go(q: &[u8], n: &[u8], qi: usize, from: usize, failed: &mut [bool], width: usize) -> bool {
        if qi == q.len() {
            return true;
        }
        if failed[qi * width + from] {
            return false;
        }
        // Continue the current word.
        if qi > 0
            && from < n.len()
            && n[from].eq_ignore_ascii_case(&q[qi])
            && go(q, n, qi + 1, from + 1, failed, width)
        {
            return true;
        }
        // Or jump to the start of a later word.
        for j in from..n.len() {
            if is_word_start(n, j)
                && n[j].eq_ignore_ascii_case(&q[qi])
                && go(q, n, qi + 1, j + 1, failed, width)
            {
                return true;
            }
        }
        failed[qi * width + from] = true;
        false
    }
    go(q, n, 0, 0, &mut failed, width)
}

fn is_word_start(n: &[u8], i: usize) -> bool {
    let c = n[i];
    if i == 0 {
        return c != b'_';
    }
    let prev = n[i - 1];
    if c == b'_' || c == b'.' {
        return false;
    }
    prev == b'_'
        || prev == b'.'
        || (c.is_ascii_uppercase() && !prev.is_ascii_uppercase())
        || (c.is_ascii_digit() != prev.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::{MatchClass::*, match_name};

    #[test]
    fn classes_rank_exact_prefix_humps_subsequence() {
        assert_eq!(match_name("QuerySet", "QuerySet"), Some(ExactCase));
        assert_eq!(match_name("queryset", "QuerySet"), Some(Exact));
        assert_eq!(match_name("query", "QuerySet"), Some(Prefix));
        assert_eq!(match_name("qs", "QuerySet"), Some(Humps));
        assert_eq!(match_name("gqs", "get_query_set"), Some(Humps));
        assert_eq!(match_name("getqs", "get_query_set"), Some(Humps));
        assert_eq!(match_name("filter", "_get_filter"), Some(Humps));
        assert_eq!(match_name("urset", "QuerySet"), Some(Subsequence));
        assert_eq!(match_name("xyz", "QuerySet"), None);
        assert_eq!(match_name("QuerySets", "QuerySet"), None);
    }
}
