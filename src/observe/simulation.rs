//! AWS's verdict on the vendor role's reads of a bucket: IAM's policy simulator asked the vendor
//! reader's questions, its answer compared with flowgate's by the core (`core::aws_verdict`).
//! `verify`, `access list`, `access grant|revoke` and `org verify` ask through here.

use crate::aws::iam;
use crate::core::aws_verdict::{AwsVerdict, Question, SimulatedResult, Simulation, compare, read_questions};
use crate::core::names::BucketName;
use crate::core::role_policy::NamedPolicy;
use crate::error::{AwsErrorKind, Error, Result};

/// Whether to ask the simulator (`--no-simulate` says no).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Simulate {
    Ask,
    Skip,
}

impl Simulate {
    pub fn from_flag(no_simulate: bool) -> Self {
        if no_simulate { Simulate::Skip } else { Simulate::Ask }
    }
}

/// The question about one bucket: the role (its ARN, and its policies as flowgate read them), the
/// bucket, and the object the reader would get.
pub struct ReadQuestion<'a> {
    pub role_arn: &'a str,
    pub policies: &'a [NamedPolicy],
    pub bucket: &'a BucketName,
    pub partition: &'a str,
    /// An object under the delivery path (`core::aws_verdict::delivery_object_arn`).
    pub object_arn: &'a str,
    /// The command's `flowgate permissions` name (`verify`, `access-list`, ...), for the hint.
    pub permissions: &'a str,
}

/// What the vendor role may read of one bucket, by flowgate's evaluator and by IAM's simulator. A
/// simulator that cannot answer (AccessDenied, an error, a service that does not implement it) is
/// a warning on stderr: flowgate's verdict then stands alone, and nothing fails for it.
pub async fn aws_verdict(client: &aws_sdk_iam::Client, question: &ReadQuestion<'_>, simulate: Simulate) -> AwsVerdict {
    let questions = read_questions(question.policies, question.bucket, question.partition, question.object_arn);
    let simulation = match simulate {
        Simulate::Skip => Simulation::NotAsked("--no-simulate".to_owned()),
        Simulate::Ask => match ask(client, question.role_arn, &questions).await {
            Ok(results) => Simulation::Answered(results),
            Err(e) => {
                let why = match &e {
                    Error::Aws { message, .. } => format!("iam:SimulatePrincipalPolicy: {message}"),
                    other => other.to_string(),
                };
                let hint = match &e {
                    Error::Aws { kind: AwsErrorKind::AccessDenied, .. } => {
                        format!(
                            "the caller needs iam:SimulatePrincipalPolicy on the role (flowgate permissions {}), or pass --no-simulate",
                            question.permissions
                        )
                    }
                    _ => "pass --no-simulate not to ask".to_owned(),
                };
                crate::output::warn(format!(
                    "AWS's policy simulator could not be asked about {} reading {} ({why}): flowgate's own verdict stands alone; {hint}",
                    question.role_arn, question.bucket
                ));
                Simulation::NotAsked(why)
            }
        },
    };
    compare(&questions, &simulation)
}

/// [`aws_verdict`] for several buckets, one after the other: once the simulator could not answer,
/// the rest are not asked (one warning says why, and the reason is each one's).
pub async fn aws_verdicts(client: &aws_sdk_iam::Client, questions: &[ReadQuestion<'_>], simulate: Simulate) -> Vec<AwsVerdict> {
    let mut verdicts: Vec<AwsVerdict> = Vec::new();
    for question in questions {
        let failed = verdicts.iter().find_map(|v: &AwsVerdict| v.not_asked.clone()).filter(|_| simulate == Simulate::Ask);
        let verdict = match failed {
            Some(why) => {
                let asked = read_questions(question.policies, question.bucket, question.partition, question.object_arn);
                compare(&asked, &Simulation::NotAsked(why))
            }
            None => aws_verdict(client, question, simulate).await,
        };
        verdicts.push(verdict);
    }
    verdicts
}

/// Each question on its own (one action on one resource per call, so that every answer is about
/// the one ARN it names); the first failure ends the asking.
async fn ask(client: &aws_sdk_iam::Client, role_arn: &str, questions: &[Question]) -> Result<Vec<SimulatedResult>> {
    // The bucket's owner: flowgate's buckets and the vendor role are in one account.
    let owner = match role_arn.split(':').collect::<Vec<_>>().as_slice() {
        ["arn", partition, "iam", _, account, ..] => format!("arn:{partition}:iam::{account}:root"),
        _ => return Err(Error::refused(format!("{role_arn} is not a role ARN"), None)),
    };
    let mut results = Vec::new();
    for question in questions {
        results.extend(iam::simulate_principal_policy(client, role_arn, &question.action, &question.resource, &owner).await?);
    }
    Ok(results)
}
