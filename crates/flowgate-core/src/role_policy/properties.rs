//! Property tests of the editor and the evaluator together: a revoke undoes a grant, a grant is
//! idempotent, a revoke touches nothing but the reads on the bucket it names and leaves none it
//! could take, and a narrowing names every action whose scope it changes (512 cases each).
//! Seeds of past failures: proptest-regressions/role_policy/properties.txt.

use std::collections::BTreeSet;

use serde::Serialize;
use serde_json::{Map, Value, json};

use super::fixtures::*;
use super::glob::glob_match;
use super::s3_actions::entry_matches;
use super::statement::{Listed, strings, view};
use super::*;
use crate::policy_doc;
use proptest::collection::vec;
use proptest::prelude::*;

// "alpha-logs-2" starts with another bucket's name: revoking one must not touch the other.
const UNIVERSE: [&str; 4] = ["alpha-logs", "alpha-logs-2", "beta-logs", "gamma.logs"];

fn one_or_many(items: Vec<String>, as_string: bool) -> Value {
    match items.as_slice() {
        [one] if as_string => Value::String(one.clone()),
        _ => Value::Array(items.into_iter().map(Value::String).collect()),
    }
}

fn resource() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "*",
            "arn:aws:s3:::*",
            "arn:aws:s3:::*/*",
            "arn:aws:s3:::alpha-*",
            "arn:aws:s3:::alpha-logs*",
            "arn:aws:ec2:*:*:instance/*",
            "arn:aws-cn:s3:::alpha-logs/*",
        ])
        .prop_map(str::to_owned),
        (0..UNIVERSE.len(), 0..4u8).prop_map(|(b, form)| {
            let arn = format!("arn:aws:s3:::{}", UNIVERSE[b]);
            match form {
                0 => arn,
                1 => format!("{arn}/*"),
                2 => format!("{arn}/reports/*"),
                _ => format!("{arn}/AWSLogs/*"),
            }
        }),
    ]
}

fn action() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "s3:GetObject",
        "s3:getobject",
        "S3:GETOBJECT",
        "s3:*",
        "s3:Get*",
        "s3:List*",
        "s3:GetObject*",
        "s3:GetObjectVersion",
        "s3:ListBucket",
        "s3:ListBucket*",
        "s3:ListBucketVersions",
        "s3:GetBucketLocation",
        "s3:ListAllMyBuckets",
        "s3:PutObject",
        "s3:DeleteObject",
        "s3:*Object",
        "s3:PutBucketTagging",
        "ec2:Describe*",
        "*",
    ])
    .prop_map(str::to_owned)
}

fn statement() -> impl Strategy<Value = Value> {
    (
        prop::option::of(prop::sample::select(vec!["S1", "S2", "ReadLogs", "Ec2Describe"])),
        any::<bool>(),
        (vec(action(), 1..4), any::<bool>(), prop::bool::weighted(0.1)),
        (vec(resource(), 1..4), any::<bool>(), prop::bool::weighted(0.1)),
        prop::bool::weighted(0.25),
        prop::bool::weighted(0.1),
    )
        .prop_map(|(sid, allow, (actions, action_string, not_action), (resources, resource_string, not_resource), condition, principal)| {
            let mut map = Map::new();
            if let Some(sid) = sid {
                map.insert("Sid".into(), json!(sid));
            }
            map.insert("Effect".into(), json!(if allow { "Allow" } else { "Deny" }));
            map.insert((if not_action { "NotAction" } else { "Action" }).into(), one_or_many(actions, action_string));
            map.insert((if not_resource { "NotResource" } else { "Resource" }).into(), one_or_many(resources, resource_string));
            if condition {
                map.insert("Condition".into(), json!({"Bool": {"aws:SecureTransport": "true"}}));
            }
            if principal {
                map.insert("Principal".into(), json!({"AWS": "arn:aws:iam::111122223333:root"}));
            }
            Value::Object(map)
        })
}

/// A flowgate statement as an earlier grant wrote it (Resource string or array, never empty).
fn flowgate_statement_of(object: bool) -> impl Strategy<Value = Value> {
    (prop::sample::subsequence(UNIVERSE.to_vec(), 1..=UNIVERSE.len()), any::<bool>()).prop_map(move |(names, as_string)| {
        let (sid, action, suffix) = if object {
            (OBJECT_READ_SID, json!("s3:GetObject"), "/*")
        } else {
            (BUCKET_READ_SID, json!(["s3:ListBucket", "s3:GetBucketLocation"]), "")
        };
        let arns = names.iter().map(|n| format!("arn:aws:s3:::{n}{suffix}")).collect();
        json!({"Sid": sid, "Effect": "Allow", "Action": action, "Resource": one_or_many(arns, as_string)})
    })
}

fn policy() -> impl Strategy<Value = Map<String, Value>> {
    (
        vec(statement(), 0..5),
        prop::option::of((flowgate_statement_of(true), any::<prop::sample::Index>())),
        prop::option::of((flowgate_statement_of(false), any::<prop::sample::Index>())),
        any::<bool>(),
        prop::bool::weighted(0.8),
    )
        .prop_map(|(mut statements, object_read, bucket_read, single, version)| {
            for (statement, at) in [object_read, bucket_read].into_iter().flatten() {
                let at = at.index(statements.len() + 1);
                statements.insert(at, statement);
            }
            let mut map = Map::new();
            if version {
                map.insert("Version".into(), json!("2012-10-17"));
            }
            match statements.len() {
                0 if !version => {}
                1 if single => {
                    map.insert("Statement".into(), statements.remove(0));
                }
                _ => {
                    map.insert("Statement".into(), Value::Array(statements));
                }
            }
            map
        })
}

fn statement_list(doc: &Map<String, Value>) -> Vec<Value> {
    policy_doc::statements(doc).unwrap()
}

/// Statements in a form where `"x"` and `["x"]` compare equal, serialized to compare key order too.
fn normalized(doc: &Map<String, Value>) -> Vec<String> {
    statement_list(doc)
        .into_iter()
        .map(|mut s| {
            if let Some(Value::Object(map)) = Some(&mut s) {
                if let Some(Value::String(r)) = map.get("Resource").cloned() {
                    map.insert("Resource".into(), json!([r]));
                }
            }
            s.to_string()
        })
        .collect()
}

fn without_statements(doc: &Map<String, Value>) -> String {
    let mut doc = doc.clone();
    doc.shift_remove("Statement");
    Value::Object(doc).to_string()
}

/// The evaluator's answer without statement positions, which a removed statement shifts.
fn positionless<T: Serialize>(answer: &T) -> Value {
    fn strip(value: &mut Value) {
        match value {
            Value::Object(map) => {
                map.remove("index");
                map.values_mut().for_each(strip);
            }
            Value::Array(items) => items.iter_mut().for_each(strip),
            _ => {}
        }
    }
    let mut value = serde_json::to_value(answer).unwrap();
    strip(&mut value);
    value
}

fn readable(doc: &Map<String, Value>, name: &str) -> Readability {
    can_read(&[inline("p", Value::Object(doc.clone()))], &bucket(name), "aws")
}

/// What the evaluator says of the bucket over the whole read set, and its writes.
fn access(doc: &Map<String, Value>, name: &str) -> BucketAccess {
    bucket_access(&[inline("p", Value::Object(doc.clone()))], &bucket(name), "aws")
}

/// Whether an `Action` entry could allow a write: an action of the write tables matches it.
fn may_write(entry: &str) -> bool {
    WRITE_ACTIONS.iter().map(|a| a.name).chain(ACCOUNT_LEVEL_WRITES.iter().copied()).any(|a| entry_matches(entry, a))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, max_global_rejects: 8192, ..ProptestConfig::default() })]

    /// (a) revoke(grant(p, b), b) ≡ p when revoke(p, b) changes nothing: the same top-level keys, and the same
    /// statements in the same order, byte for byte once a one-string Resource is written as a
    /// one-element array; a p without statements comes back as "delete the policy". The
    /// evaluator gives the same answer for every bucket.
    #[test]
    fn revoke_undoes_grant(p in policy(), pick in any::<prop::sample::Index>()) {
        // Buckets p grants nothing a revoke would take (statements naming them with other
        // actions, conditions or wildcards are welcome), and that p does not already let
        // the role read (through `s3:*`, say): a grant of those plans nothing.
        let candidates: Vec<&str> = UNIVERSE
            .into_iter()
            .filter(|b| !revoke(&p, &[bucket(b)], "aws").unwrap().changed)
            .filter(|b| grant(&p, &[bucket(b)], "aws", &PLAIN).unwrap().changed)
            .collect();
        prop_assume!(!candidates.is_empty());
        let b = candidates[pick.index(candidates.len())];
        let granted = grant(&p, &[bucket(b)], "aws", &PLAIN).unwrap();
        prop_assert!(granted.changed);
        let revoked = revoke(&granted.document, &[bucket(b)], "aws").unwrap();
        prop_assert!(revoked.changed);
        if statement_list(&p).is_empty() {
            prop_assert!(revoked.delete_policy);
            prop_assert!(statement_list(&revoked.document).is_empty());
        } else {
            prop_assert!(!revoked.delete_policy);
            prop_assert_eq!(without_statements(&revoked.document), without_statements(&p));
            prop_assert_eq!(normalized(&revoked.document), normalized(&p));
        }
        for name in UNIVERSE {
            prop_assert_eq!(positionless(&access(&revoked.document, name)), positionless(&access(&p, name)), "{}", name);
        }
    }

    /// (b) grant is idempotent, with and without narrowing.
    #[test]
    fn grant_is_idempotent(p in policy(), names in prop::sample::subsequence(UNIVERSE.to_vec(), 1..=UNIVERSE.len()), narrow in any::<bool>()) {
        let options = GrantOptions { narrow_wildcard: narrow, other_inline_chars: 0 };
        let list = buckets(&names);
        let once = grant(&p, &list, "aws", &options).unwrap();
        let twice = grant(&once.document, &list, "aws", &options).unwrap();
        prop_assert!(!twice.changed);
        prop_assert!(twice.changes.is_empty());
        prop_assert_eq!(text(&twice.document), text(&once.document));
        // And the granted buckets are readable unless this policy denies them.
        for name in &names {
            let readability = readable(&once.document, name);
            let denied = once.findings.iter().any(|f| f.kind == FindingKind::Denied && f.bucket.as_deref() == Some(*name));
            prop_assert!(denied || !matches!(readability, Readability::NotGranted | Readability::Denied { .. }), "{}: {:?}", name, readability);
        }
    }

    /// (c) revoking b never changes what the evaluator says about any other bucket (reads and
    /// writes), nor the wildcard grants, nor b's writes; afterwards no action of the read set
    /// reads b unless a finding says through which statement; a second revoke changes nothing.
    #[test]
    fn revoke_leaves_other_buckets_alone(p in policy(), b in prop::sample::select(UNIVERSE.to_vec())) {
        let revoked = revoke(&p, &[bucket(b)], "aws").unwrap();
        for name in UNIVERSE.iter().filter(|n| **n != b) {
            prop_assert_eq!(positionless(&access(&revoked.document, name)), positionless(&access(&p, name)), "{}", name);
        }
        let (before_b, after_b) = (access(&p, b), access(&revoked.document, b));
        prop_assert_eq!(&after_b.s3_writes, &before_b.s3_writes);
        prop_assert_eq!(&after_b.s3_conditional_writes, &before_b.s3_conditional_writes);
        let before = evaluate(&[inline("p", Value::Object(p.clone()))], "aws");
        let after = evaluate(&[inline("p", Value::Object(revoked.document.clone()))], "aws");
        let others = |r: &AccessReport| r.buckets.iter().filter(|a| a.bucket.as_str() != b).map(positionless).collect::<Vec<_>>();
        prop_assert_eq!(others(&after), others(&before));
        prop_assert_eq!(positionless(&after.wildcard_allows), positionless(&before.wildcard_allows));
        prop_assert_eq!(positionless(&after.wildcard_denies), positionless(&before.wildcard_denies));
        let reported = revoked.findings.iter().any(|f| f.kind == FindingKind::StillReadable && f.bucket.as_deref() == Some(b));
        prop_assert!(reported || matches!(after_b.readability, Readability::NotGranted | Readability::Denied { .. }), "{:?}", after_b.readability);
        prop_assert!(!revoke(&revoked.document, &[bucket(b)], "aws").unwrap().changed);
    }

    /// (d) statements not changed by revoke(p, b) are byte-identical and keep their order; a
    /// changed statement is an unconditional Allow with Action and Resource that names b in
    /// its Resource; a Sid the revoke adds is unique in the policy.
    #[test]
    fn revoke_keeps_other_statements_byte_for_byte(p in policy(), b in prop::sample::select(UNIVERSE.to_vec())) {
        let revoked = revoke(&p, &[bucket(b)], "aws").unwrap();
        let before = statement_list(&p);
        let after = statement_list(&revoked.document);
        let changed_before: BTreeSet<usize> = revoked.changes.iter().filter_map(|c| c.before_index).collect();
        let changed_after: BTreeSet<usize> = revoked.changes.iter().filter(|c| c.after.is_some()).filter_map(|c| c.after_index).collect();
        let untouched = |list: &[Value], changed: &BTreeSet<usize>| {
            list.iter().enumerate().filter(|(i, _)| !changed.contains(i)).map(|(_, s)| s.to_string()).collect::<Vec<_>>()
        };
        prop_assert_eq!(untouched(&after, &changed_after), untouched(&before, &changed_before));
        let arn = format!("arn:aws:s3:::{b}");
        for i in &changed_before {
            let statement = &before[*i];
            let names_b = strings(&statement["Resource"]).iter().any(|r| *r == arn || r.starts_with(&format!("{arn}/")));
            let plain_allow = statement["Effect"] == "Allow"
                && ["NotAction", "NotResource", "Condition"].iter().all(|k| statement.get(*k).is_none());
            prop_assert!(names_b && plain_allow, "statement {} changed: {}", i, statement);
        }
        let sids_before: BTreeSet<&str> = before.iter().filter_map(policy_doc::sid).collect();
        let new_sids: Vec<&str> = after.iter().filter_map(policy_doc::sid).filter(|s| !sids_before.contains(s)).collect();
        let distinct: BTreeSet<&str> = new_sids.iter().copied().collect();
        prop_assert_eq!(distinct.len(), new_sids.len());
    }

    /// (e) The (action, resource) pairs of every unconditional Allow: a revoke removes only
    /// pairs of (read set x b's ARNs) and adds none; every other statement (Deny,
    /// Condition, NotAction, NotResource) is kept as it was.
    #[test]
    fn revoke_removes_only_reads_on_the_bucket(p in policy(), b in prop::sample::select(UNIVERSE.to_vec())) {
        let revoked = revoke(&p, &[bucket(b)], "aws").unwrap();
        let (pairs_before, others_before) = pairs(&p);
        let (pairs_after, others_after) = pairs(&revoked.document);
        prop_assert_eq!(others_after, others_before);
        prop_assert!(pairs_after.is_subset(&pairs_before), "added: {:?}", pairs_after.difference(&pairs_before).collect::<Vec<_>>());
        let arn = format!("arn:aws:s3:::{b}");
        for (context, action, resource) in pairs_before.difference(&pairs_after) {
            let reads = READ_ACTIONS.iter().any(|r| entry_matches(action, r.name)) || action.eq_ignore_ascii_case("s3:GetBucketLocation");
            let on_b = *resource == arn || resource.starts_with(&format!("{arn}/"));
            prop_assert!(reads && !may_write(action) && on_b, "removed ({}, {}) from {}", action, resource, context);
        }
    }

    /// (f) After revoke(p, b), a statement flowgate edits (an unconditional Allow with Action and
    /// Resource) that names b still allows a read of the read set only through an entry that may
    /// also write (`s3:*`), and a finding names that statement and entry.
    #[test]
    fn revoke_leaves_no_read_it_could_take(p in policy(), b in prop::sample::select(UNIVERSE.to_vec())) {
        let revoked = revoke(&p, &[bucket(b)], "aws").unwrap();
        let arn = format!("arn:aws:s3:::{b}");
        for (index, statement) in statement_list(&revoked.document).iter().enumerate() {
            let editable = statement["Effect"] == "Allow"
                && statement.get("Action").is_some_and(|a| a.is_string() || a.is_array())
                && ["NotAction", "NotResource", "Condition"].iter().all(|k| statement.get(*k).is_none());
            let names_b = statement.get("Resource").map(strings).unwrap_or_default().iter().any(|r| *r == arn || r.starts_with(&format!("{arn}/")));
            if !editable || !names_b {
                continue;
            }
            for entry in strings(&statement["Action"]) {
                if !READ_ACTIONS.iter().any(|r| entry_matches(entry, r.name)) {
                    continue;
                }
                prop_assert!(may_write(entry), "statement {} still reads {} through {}: {}", index, b, entry, statement);
            }
        }
        for finding in revoked.findings.iter().filter(|f| f.kind == FindingKind::StillReadable) {
            prop_assert!(!finding.actions.is_empty() && finding.actions.iter().all(|a| READ_ACTIONS.iter().any(|r| r.name == a)), "{:?}", finding);
        }
    }
}

/// An S3-only Allow on wildcard resources, as the vendor's manual statement and its variants
/// write it: what `--narrow-wildcard` rewrites.
fn wildcard_statement() -> impl Strategy<Value = Value> {
    let actions = prop::sample::subsequence(
        vec![
            "s3:GetObject",
            "s3:Get*",
            "s3:List*",
            "s3:*",
            "s3:ListAllMyBuckets",
            "s3:GetObjectVersion",
            "s3:PutObject",
            "s3:ListBucket",
            "s3:CreateJob",
            "s3:Get*Object",
        ],
        1..5,
    );
    let resources =
        prop::sample::subsequence(vec!["*", "arn:aws:s3:::*", "arn:aws:s3:::*/*", "arn:*:s3:::*", "arn:aws:s3:::alpha-logs/keep/*"], 1..3);
    (prop::option::of(prop::sample::select(vec!["S3Read", "Vendor"])), actions, resources, prop::bool::weighted(0.2)).prop_map(
        |(sid, actions, resources, condition)| {
            let mut map = Map::new();
            if let Some(sid) = sid {
                map.insert("Sid".into(), json!(sid));
            }
            map.insert("Effect".into(), json!("Allow"));
            map.insert("Action".into(), json!(actions));
            map.insert("Resource".into(), json!(resources));
            if condition {
                map.insert("Condition".into(), json!({"Bool": {"aws:SecureTransport": "true"}}));
            }
            Value::Object(map)
        },
    )
}

/// Whether the statement allows `action` on `resource` (conditions left aside: a narrowing keeps
/// them as they are).
fn statement_allows(statement: &Value, action: &str, resource: &str) -> bool {
    let Some(v) = view(StatementRef { policy: String::new(), source: PolicySource::Inline, sid: None, index: 0 }, statement) else { return false };
    let on = match &v.resources {
        Listed::Only(patterns) => patterns.iter().any(|p| glob_match(p, resource)),
        Listed::AllBut(patterns) => !patterns.iter().any(|p| glob_match(p, resource)),
        Listed::Missing => false,
    };
    v.effect == Effect::Allow && on && v.allows(&action.to_ascii_lowercase())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, max_global_rejects: 8192, ..ProptestConfig::default() })]

    /// (g) `--narrow-wildcard` never takes an action's access on a resource other than the
    /// granted buckets' without naming it (the entry re-scoped, or the account-level write
    /// dropped), keeps every account-level read it names as kept, gives nothing new but the
    /// grant, and leaves no read of the read set on a wildcard.
    #[test]
    fn narrowing_names_what_it_rescopes(s in wildcard_statement(), names in prop::sample::subsequence(UNIVERSE.to_vec(), 1..=2)) {
        let p = doc(json!({"Version": "2012-10-17", "Statement": [s.clone()]}));
        let edit = grant(&p, &buckets(&names), "aws", &GrantOptions { narrow_wildcard: true, other_inline_chars: 0 }).unwrap();
        let finding = edit.findings.iter().find(|f| f.kind == FindingKind::Narrowed);
        prop_assume!(finding.is_some());
        let finding = finding.unwrap();
        let after = statement_list(&edit.document);
        let (kept, dropped) = finding.account_level.as_ref().map(|a| (a.kept.clone(), a.dropped.clone())).unwrap_or_default();
        let granted = |r: &str| names.iter().any(|n| r == format!("arn:aws:s3:::{n}") || r.starts_with(&format!("arn:aws:s3:::{n}/")));
        // An action with no resource type is requested on "*"; policies also grant it with
        // arn:aws:s3:::* (the AWS docs' examples for s3:ListAllMyBuckets do).
        let account_resources = ["*", "arn:aws:s3:::*"];
        let mut probes: Vec<(&str, String)> = ACCOUNT_LEVEL_READS
            .iter()
            .chain(ACCOUNT_LEVEL_WRITES)
            .flat_map(|a| account_resources.iter().map(move |r| (*a, (*r).to_owned())))
            .collect();
        let mut resources: Vec<String> = UNIVERSE.iter().flat_map(|n| [format!("arn:aws:s3:::{n}"), format!("arn:aws:s3:::{n}/keep/x.log")]).collect();
        resources.extend(["arn:aws:s3:us-east-1:111122223333:accesspoint/ap".to_owned(), "arn:aws:s3:us-east-1:111122223333:job/j1".to_owned()]);
        let bucket_actions = READ_ACTIONS.iter().chain(WRITE_ACTIONS).map(|a| a.name).chain(["s3:GetBucketPolicy", "s3:GetBucketLocation", "s3:GetAccessPointPolicy"]);
        for action in bucket_actions {
            probes.extend(resources.iter().map(|r| (action, r.clone())));
        }
        for (action, resource) in &probes {
            let before = statement_allows(&s, action, resource);
            let now = after.iter().any(|st| statement_allows(st, action, resource));
            if before && !now {
                let account_level = ACCOUNT_LEVEL_READS.contains(action) || ACCOUNT_LEVEL_WRITES.contains(action);
                let named = if account_level { dropped.iter().any(|d| d == action) } else { finding.actions.iter().any(|e| entry_matches(e, action)) };
                prop_assert!(named, "{} on {} lost without being named: {}", action, resource, finding.message);
            }
            prop_assert!(!now || before || granted(resource), "{} on {} gained", action, resource);
        }
        for action in &kept {
            let allowed = |r: &str| after.iter().any(|st| statement_allows(st, action, r));
            prop_assert!(account_resources.iter().any(|r| allowed(r)), "{} said kept: {}", action, finding.message);
        }
        for statement in &after {
            let wildcard = strings(&statement["Resource"]).iter().any(|r| matches!(super::wildcard::classify(r, "aws"), super::wildcard::S3Resource::AllBuckets));
            prop_assert!(!wildcard || !READ_ACTIONS.iter().any(|a| statement_allows(statement, a.name, "arn:aws:s3:::gamma.logs/x")), "a read left on a wildcard: {}", statement);
        }
    }
}

/// (statement without Sid/Action/Resource, action, resource) for each plain Allow, and the
/// sorted text of every other statement.
#[allow(clippy::type_complexity)]
fn pairs(doc: &Map<String, Value>) -> (BTreeSet<(String, String, String)>, Vec<String>) {
    let mut pairs = BTreeSet::new();
    let mut others = Vec::new();
    for statement in statement_list(doc) {
        let plain = statement["Effect"] == "Allow"
            && statement.get("Action").is_some()
            && statement.get("Resource").is_some()
            && ["NotAction", "NotResource", "Condition"].iter().all(|k| statement.get(*k).is_none());
        if !plain {
            others.push(statement.to_string());
            continue;
        }
        let mut context = statement.clone();
        if let Some(map) = context.as_object_mut() {
            for key in ["Sid", "Action", "Resource"] {
                map.shift_remove(key);
            }
        }
        for action in strings(&statement["Action"]) {
            for resource in strings(&statement["Resource"]) {
                pairs.insert((context.to_string(), action.to_owned(), resource.to_owned()));
            }
        }
    }
    others.sort();
    (pairs, others)
}

fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        "[a-z:*/?.-]{0,10}".prop_map(Value::String),
        prop::sample::select(vec![
            "Allow",
            "Deny",
            "*",
            "s3:GetObject",
            "s3:*",
            "arn:aws:s3:::alpha-logs",
            "arn:aws:s3:::alpha-logs/*",
            OBJECT_READ_SID,
            BUCKET_READ_SID
        ])
        .prop_map(|s| Value::String(s.into())),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        let key = prop::sample::select(vec!["Statement", "Sid", "Effect", "Action", "NotAction", "Resource", "NotResource", "Condition", "x"]);
        prop_oneof![
            vec(inner.clone(), 0..5).prop_map(Value::Array),
            vec((key, inner), 0..6).prop_map(|pairs| Value::Object(pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())),
        ]
    })
}

proptest! {
    /// No JSON input panics; whatever grant accepts, a second grant leaves alone.
    #[test]
    fn any_json_is_handled(statement in any_json(), wrap in any::<bool>(), narrow in any::<bool>()) {
        let p = match (&statement, wrap) {
            (Value::Object(map), false) => map.clone(),
            _ => doc(json!({"Statement": statement})),
        };
        let list = buckets(&["alpha-logs"]);
        let options = GrantOptions { narrow_wildcard: narrow, other_inline_chars: 0 };
        if let Ok(once) = grant(&p, &list, "aws", &options) {
            let twice = grant(&once.document, &list, "aws", &options);
            prop_assert!(matches!(&twice, Ok(edit) if !edit.changed), "{:?}", twice);
        }
        let _ = revoke(&p, &list, "aws");
        let _ = evaluate(&[inline("p", Value::Object(p.clone()))], "aws");
        let _ = can_read(&[inline("p", Value::Object(p))], &list[0], "aws");
    }
}
