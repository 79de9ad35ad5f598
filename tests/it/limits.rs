//! AWS's limits a plan can pass, refused before the first call (exit 2) when the input alone
//! passes one, and before any mutating call (exit 1) when what the account holds makes it pass:
//! CloudFormation's 4,096-byte parameter value, IAM's 10,240 characters of a role's inline
//! policies, 50 tags per bucket or flow log.

use aws_sdk_s3::types::{Tag, Tagging};

use crate::support::{Env, block_on, stderr, unique};

/// `n` valid bucket names of `len` characters (`len` >= 12).
fn bucket_names(n: usize, len: usize) -> Vec<String> {
    (0..n).map(|i| format!("flowlogs-{i:0>width$}", width = len - "flowlogs-".len())).collect()
}

fn repeated(flag: &str, values: &[String]) -> Vec<String> {
    values.iter().flat_map(|v| [flag.to_owned(), v.clone()]).collect()
}

/// As reported: 150 `--storage-ids` made a 6,750-byte StorageBucketNames and a storage policy
/// far over IAM's limit, passed to CloudFormation unseen. Now refused with exit 2 before any
/// request, naming the limit and what to do, by every command that deploys the stack.
#[test]
fn too_many_storage_ids_are_refused_before_any_request() {
    let env = Env::shared();
    let ids = repeated("--storage-ids", &bucket_names(150, 44));
    let bucket = unique("fg-limits");
    let commands: Vec<Vec<String>> = vec![
        ["stack", "deploy", "--vendor-account", "111122223333", "--storage-access", "--yes"].map(String::from).to_vec(),
        ["onboard", "--bucket", bucket.as_str(), "--regions", "us-east-1", "--vendor-account", "111122223333", "--storage-access", "--yes"]
            .map(String::from)
            .to_vec(),
        ["access", "grant", "--yes"].map(String::from).to_vec(),
    ];
    for command in commands {
        let args: Vec<String> = if command[0] == "access" {
            command.iter().cloned().chain(repeated("--bucket", &bucket_names(150, 44))).collect()
        } else {
            command.iter().cloned().chain(ids.iter().cloned()).collect()
        };
        env.proxy.reset_log();
        let out = env.flowgate().args(&args).output().unwrap();
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{}: {err}", command[..2].join(" "));
        assert!(env.proxy.requests().is_empty(), "{}: no request at all: {:?}", command[..2].join(" "), env.proxy.counts());
        assert!(err.contains("bytes, over CloudFormation's parameter value size of 4,096") || err.contains("over IAM's role policy size"), "{err}");
        assert!(err.contains("hint:") && err.contains("at most") && err.contains("several ro"), "{err}");
    }
}

/// The input alone fits, the buckets the stack already grants make it pass IAM's size of the
/// role's inline policies: refused with exit 1 before CreateChangeSet.
#[test]
fn a_grant_that_only_the_stacks_buckets_make_too_big_exits_1_before_any_change() {
    let env = Env::isolated();
    let names = bucket_names(90, 40);
    let deployed = env
        .flowgate()
        .args(["stack", "deploy", "--vendor-account", "111122223333", "--storage-access", "--yes", "-q"])
        .args(repeated("--storage-ids", &names[..70]))
        .output()
        .unwrap();
    assert!(deployed.status.success(), "70 buckets of 40 characters fit: {}", stderr(&deployed));
    env.proxy.reset_log();
    let out = env.flowgate().args(["access", "grant", "--yes"]).args(repeated("--bucket", &names[70..])).output().unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("the inline policies of role FlowgateCrossAccountRole") && err.contains("over IAM's role policy size"), "{err}");
    assert!(err.contains("StorageReadPolicy") && err.contains("hint: one role can be granted at most"), "{err}");
    assert_eq!(env.proxy.mutating_calls(), Vec::<String>::new());
}

/// S3 holds at most 50 tags per bucket and PutBucketTagging replaces the whole set: a bucket
/// that has 50 and one more `--tag` is refused with exit 1 before any mutating call (its tags are
/// only known once read), by bucket create and by onboard.
#[test]
fn a_bucket_with_fifty_tags_takes_no_fifty_first() {
    let env = Env::shared();
    let bucket = unique("fg-tags");
    let created = env.flowgate().args(["bucket", "create", "--bucket", &bucket, "--yes", "-q"]).output().unwrap();
    assert!(created.status.success(), "{}", stderr(&created));
    let tags: Vec<Tag> = (0..50).map(|i| Tag::builder().key(format!("k{i}")).value("v").build().unwrap()).collect();
    block_on(env.s3("us-east-1").put_bucket_tagging().bucket(&bucket).tagging(Tagging::builder().set_tag_set(Some(tags)).build().unwrap()).send())
        .unwrap();
    let commands: [&[&str]; 2] = [
        &["bucket", "create", "--bucket", &bucket, "--tag", "team=net", "--yes"],
        &["onboard", "--bucket", &bucket, "--regions", "us-east-1", "--vendor-account", "111122223333", "--tag", "team=net", "--yes"],
    ];
    for args in commands {
        env.proxy.reset_log();
        let out = env.flowgate().args(args).output().unwrap();
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
        assert!(err.contains("holds 50 tag(s)") && err.contains("51") && err.contains("hint: remove 1 tag(s)"), "{err}");
        assert_eq!(env.proxy.mutating_calls(), Vec::<String>::new(), "{args:?}");
    }
    // Setting a tag the bucket has adds none: accepted.
    let same = env.flowgate().args(["bucket", "create", "--bucket", &bucket, "--tag", "k7=w", "--yes", "-q"]).output().unwrap();
    assert!(same.status.success(), "{}", stderr(&same));
}

/// The input alone: 51 `--tag` for a bucket, 50 for flow logs (which carry flowgate's marker
/// too) are refused with exit 2 before any request.
#[test]
fn too_many_tags_on_the_command_line_exit_2() {
    let env = Env::shared();
    let tags = |n: usize| repeated("--tag", &(0..n).map(|i| format!("k{i}=v")).collect::<Vec<_>>());
    let cases: Vec<(Vec<String>, &str)> = vec![
        (["bucket", "create", "--bucket", "fg-any-bucket"].map(String::from).into_iter().chain(tags(51)).collect(), "pass at most 50 --tag"),
        (["flowlogs", "enable", "--bucket", "fg-any-bucket"].map(String::from).into_iter().chain(tags(50)).collect(), "pass at most 49 --tag"),
    ];
    for (args, words) in cases {
        env.proxy.reset_log();
        let out = env.flowgate().args(&args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
        assert!(stderr(&out).contains(words), "{}", stderr(&out));
        assert!(env.proxy.requests().is_empty());
    }
    // At the limit: no refusal for the count (the bucket's own tags are judged once read).
    let out = env.flowgate().args(["bucket", "create", "--bucket", &unique("fg-fifty"), "--dry-run"]).args(tags(50)).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
}
