//! IAM wildcard matching: `*` any run of characters, `?` exactly one, over the whole string.

pub(crate) fn glob_match(pattern: &str, text: &str) -> bool {
    let pattern: Vec<char> = pattern.chars().collect();
    let states = glob_states(&pattern, text);
    states.last().copied().unwrap_or(false)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Coverage {
    None,
    Some,
    All,
}

/// How many of the strings that start with `prefix` (and continue: an object key is never empty)
/// `pattern` matches.
pub(crate) fn prefix_coverage(pattern: &str, prefix: &str) -> Coverage {
    let pattern: Vec<char> = pattern.chars().collect();
    let states = glob_states(&pattern, prefix);
    let live = |i: usize| states.get(i).copied().unwrap_or(false);
    if (0..pattern.len()).any(|i| live(i) && pattern[i..].iter().all(|&c| c == '*')) {
        Coverage::All
    } else if (0..pattern.len()).any(live) {
        Coverage::Some
    } else {
        Coverage::None
    }
}

/// The pattern positions reachable after reading `text` (position `pattern.len()` = matched all).
fn glob_states(pattern: &[char], text: &str) -> Vec<bool> {
    let mut states = vec![false; pattern.len() + 1];
    states[0] = true;
    skip_stars(pattern, &mut states);
    for c in text.chars() {
        let mut next = vec![false; pattern.len() + 1];
        for (i, &p) in pattern.iter().enumerate() {
            if !states[i] {
                continue;
            }
            match p {
                '*' => next[i] = true,
                '?' => next[i + 1] = true,
                p if p == c => next[i + 1] = true,
                _ => {}
            }
        }
        skip_stars(pattern, &mut next);
        if !next.contains(&true) {
            return next;
        }
        states = next;
    }
    states
}

/// A `*` also matches nothing.
fn skip_stars(pattern: &[char], states: &mut [bool]) {
    for (i, &p) in pattern.iter().enumerate() {
        if states[i] && p == '*' {
            states[i + 1] = true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glob_cases() {
        assert!(glob_match("s3:get?bject", "s3:getobject"));
        assert!(!glob_match("s3:get", "s3:getobject"));
        assert!(glob_match("**", ""));
        assert_eq!(prefix_coverage("arn:aws:s3:::b/*", "arn:aws:s3:::b/"), Coverage::All);
        assert_eq!(prefix_coverage("arn:aws:s3:::b/?*", "arn:aws:s3:::b/"), Coverage::Some);
        assert_eq!(prefix_coverage("arn:aws:s3:::b", "arn:aws:s3:::b/"), Coverage::None);
        assert_eq!(prefix_coverage("arn:aws:s3:::b/", "arn:aws:s3:::b/"), Coverage::None);
    }
}
