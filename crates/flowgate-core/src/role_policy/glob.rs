//! IAM wildcard matching: `*` any run of characters, `?` exactly one, over the whole string.

/// Whether `pattern` matches all of `text`: the greedy two-pointer match, which goes back only to
/// the last `*` seen (an earlier `*` could not match more than that one can). Evaluating a role's
/// policies calls this for every statement, action and resource, so it allocates nothing per
/// character; `prefix_coverage` keeps the state-set walk, as it needs every reachable position.
pub(crate) fn glob_match(pattern: &str, text: &str) -> bool {
    let pattern: Vec<char> = pattern.chars().collect();
    let text: Vec<char> = text.chars().collect();
    let (mut p, mut t) = (0, 0);
    // The last `*` and the text position it is matched up to.
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some('*') => {
                star = Some((p, t));
                p += 1;
            }
            Some(&c) if c == '?' || c == text[t] => {
                p += 1;
                t += 1;
            }
            _ => match star {
                // The `*` takes one more character, and the rest is tried again after it.
                Some((star_at, matched_to)) => {
                    star = Some((star_at, matched_to + 1));
                    p = star_at + 1;
                    t = matched_to + 1;
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|&c| c == '*')
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
    use proptest::prelude::*;

    proptest! {
        /// The greedy match agrees with the walk over every reachable pattern position, on
        /// patterns and texts over a small alphabet (so that they often match).
        #[test]
        fn the_greedy_match_agrees_with_the_state_walk(pattern in "[ab*?/]{0,8}", text in "[ab/]{0,10}") {
            let chars: Vec<char> = pattern.chars().collect();
            let walked = glob_states(&chars, &text).last().copied().unwrap_or(false);
            prop_assert_eq!(glob_match(&pattern, &text), walked, "{} on {}", pattern, text);
        }
    }

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
