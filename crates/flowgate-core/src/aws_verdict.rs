//! AWS's verdict beside flowgate's: IAM's policy simulator (`SimulatePrincipalPolicy`) asked
//! whether the vendor role may read a bucket, its answer compared with flowgate's own evaluator.
//!
//! What the simulator weighs for a role: the role's identity policies (inline and managed), its
//! permissions boundary, and the organization's service control policies (not those with global
//! condition keys, IAM User Guide, "IAM policy testing with the IAM policy simulator"). Not the
//! bucket's policy: the API takes a `ResourcePolicy` "for IAM users only", with a `CallerArn`
//! that can name only an IAM user (IAM API Reference, "SimulatePrincipalPolicy"). So flowgate's side of the comparison is its verdict on the role's
//! own policies ([`crate::role_policy::action_readability`]): where the two differ, either AWS
//! sees what flowgate cannot (an SCP, a permissions boundary, which the answer names) or one of
//! the two evaluators is wrong. Either way the check fails: the vendor's reads are not what
//! flowgate says.
//!
//! The questions are the vendor reader's two calls: `s3:GetObject` on an object under the
//! delivery path, and `s3:ListBucket` on the bucket.

use schemars::JsonSchema;
use serde::Serialize;

use crate::names::{BucketName, LogPrefix};
use crate::report::{Check, CheckStatus};
use crate::role_policy::glob::glob_match;
use crate::role_policy::{NamedPolicy, Readability, Scope, action_readability};

/// The simulator's decision (`EvalDecision` of an `EvaluationResult`, IAM API Reference).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
pub enum SimulatedDecision {
    #[serde(rename = "allowed")]
    Allowed,
    #[serde(rename = "implicitDeny")]
    ImplicitDeny,
    #[serde(rename = "explicitDeny")]
    ExplicitDeny,
}

impl SimulatedDecision {
    /// From the API's value (`allowed`, `implicitDeny`, `explicitDeny`); `None` for any other.
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "allowed" => Some(SimulatedDecision::Allowed),
            "implicitDeny" => Some(SimulatedDecision::ImplicitDeny),
            "explicitDeny" => Some(SimulatedDecision::ExplicitDeny),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            SimulatedDecision::Allowed => "allowed",
            SimulatedDecision::ImplicitDeny => "implicitDeny",
            SimulatedDecision::ExplicitDeny => "explicitDeny",
        }
    }

    fn allows(self) -> bool {
        self == SimulatedDecision::Allowed
    }
}

/// A statement the simulator matched (`MatchedStatements`: `SourcePolicyId`, `SourcePolicyType`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct MatchedStatement {
    pub source_policy_id: String,
    pub source_policy_type: String,
}

/// One `EvaluationResult` of the simulator's answer, as flowgate reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimulatedResult {
    pub action: String,
    pub resource: Option<String>,
    pub decision: SimulatedDecision,
    pub matched_statements: Vec<MatchedStatement>,
    /// `OrganizationsDecisionDetail.AllowedByOrganizations`, when the answer has it.
    pub allowed_by_organizations: Option<bool>,
    /// `PermissionsBoundaryDecisionDetail.AllowedByPermissionsBoundary`, when the answer has it.
    pub allowed_by_permissions_boundary: Option<bool>,
}

/// What came of asking the simulator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Simulation {
    Answered(Vec<SimulatedResult>),
    /// It was not asked (`--no-simulate`), or could not answer: why.
    NotAsked(String),
}

/// flowgate's own answer to one question.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FlowgateDecision {
    Allowed,
    Denied,
    /// Its evaluator cannot tell (a condition, a grant on other keys): why.
    Undecided(String),
}

/// One question put to both evaluators: may the role do `action` on `resource`?
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Question {
    pub action: String,
    pub resource: String,
    pub flowgate: FlowgateDecision,
}

/// What decided AWS's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum DecidedBy {
    /// An SCP of the organization does not allow it (`AllowedByOrganizations` false).
    ServiceControlPolicy,
    /// The role's permissions boundary does not allow it (`AllowedByPermissionsBoundary` false).
    PermissionsBoundary,
    /// The role's own policies: an Allow, an explicit Deny, or no statement at all.
    RolePolicies,
}

impl DecidedBy {
    fn words(self) -> &'static str {
        match self {
            DecidedBy::ServiceControlPolicy => "a service control policy of the organization",
            DecidedBy::PermissionsBoundary => "the role's permissions boundary",
            DecidedBy::RolePolicies => "the role's policies",
        }
    }
}

/// Both verdicts on one question.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct ActionVerdict {
    pub action: String,
    pub resource: String,
    /// flowgate's verdict on the role's own policies: allowed, denied or undecided.
    pub flowgate: &'static str,
    /// Why flowgate is undecided.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub flowgate_note: Option<String>,
    /// The simulator's decision (`None`: its answer had no result for this question).
    pub aws: Option<SimulatedDecision>,
    /// `None` when not compared (no answer, or flowgate undecided).
    pub agrees: Option<bool>,
    pub matched_statements: Vec<MatchedStatement>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decided_by: Option<DecidedBy>,
}

/// AWS's verdict beside flowgate's, for one role and one bucket (`aws_verdict` in the JSON).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct AwsVerdict {
    /// AWS's decision over the questions: allowed, denied, mixed (some of each), or not-asked.
    pub decision: &'static str,
    /// false when AWS and flowgate disagree on any question, true when they agree on every one
    /// compared, null when none was compared.
    pub agrees: Option<bool>,
    /// The statements the simulator matched, over every question.
    pub matched_statements: Vec<MatchedStatement>,
    /// What decided AWS's answer (of the first question they disagree on, else the first).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decided_by: Option<DecidedBy>,
    pub actions: Vec<ActionVerdict>,
    /// Why the simulator gave no verdict.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_asked: Option<String>,
}

/// The vendor reader's questions about `bucket`: `s3:GetObject` on `object_arn` and
/// `s3:ListBucket` on the bucket, with flowgate's answers from the role's own policies.
pub fn read_questions(policies: &[NamedPolicy], bucket: &BucketName, partition: &str, object_arn: &str) -> Vec<Question> {
    let object = action_readability(policies, bucket, partition, "s3:GetObject");
    let listing = action_readability(policies, bucket, partition, "s3:ListBucket");
    vec![
        Question { action: "s3:GetObject".to_owned(), resource: object_arn.to_owned(), flowgate: object_decision(object.as_ref(), object_arn) },
        Question { action: "s3:ListBucket".to_owned(), resource: bucket.arn(partition), flowgate: object_decision(listing.as_ref(), "") },
    ]
}

/// Where the delivery path is.
#[derive(Debug, Clone, Copy)]
pub struct DeliveryPath<'a> {
    pub prefix: Option<&'a LogPrefix>,
    /// Hive-compatible key layout (`--hive-partitions`).
    pub hive: bool,
    pub account: &'a str,
    pub region: &'a str,
}

/// An object under the delivery path of `account`'s flow logs in `region`, in either key layout
/// (the key need not exist: the simulator judges the ARN).
pub fn delivery_object_arn(bucket: &BucketName, partition: &str, path: &DeliveryPath<'_>) -> String {
    let base = path.prefix.map(|p| format!("{}/", p.as_str())).unwrap_or_default();
    let (account, region) = (path.account, path.region);
    let folder = if path.hive {
        format!("AWSLogs/aws-account-id={account}/aws-service=vpcflowlogs/aws-region={region}")
    } else {
        format!("AWSLogs/{account}/vpcflowlogs/{region}")
    };
    format!("{}/{base}{folder}/flowgate-simulated-object.log.gz", bucket.arn(partition))
}

/// flowgate's decision from its evaluator's readability; for an object, an Allow that covers only
/// some keys counts when its pattern covers `object_arn` (empty: the bucket's ARN, always whole).
fn object_decision(readability: Option<&Readability>, object_arn: &str) -> FlowgateDecision {
    match readability {
        None | Some(Readability::NotGranted) | Some(Readability::Denied { .. }) => FlowgateDecision::Denied,
        Some(Readability::Conditional { .. }) => FlowgateDecision::Undecided("a Condition or a Deny on some keys may apply".to_owned()),
        Some(Readability::Allowed { by }) => {
            let covers = |resource: &str| object_arn.is_empty() || (!resource.starts_with("NotResource") && glob_match(resource, object_arn));
            if by.iter().any(|g| g.scope == Scope::AllObjects || covers(&g.resource)) {
                FlowgateDecision::Allowed
            } else {
                let resources: Vec<&str> = by.iter().map(|g| g.resource.as_str()).collect();
                FlowgateDecision::Undecided(format!("allowed on other keys only ({})", resources.join(", ")))
            }
        }
    }
}

/// The simulator's result for a question: the one for its action and resource, else for its
/// action (a result without a resource, or `*`, is about every resource asked).
fn answer_for<'a>(results: &'a [SimulatedResult], question: &Question) -> Option<&'a SimulatedResult> {
    let same_action = |r: &&SimulatedResult| r.action.eq_ignore_ascii_case(&question.action);
    results
        .iter()
        .filter(same_action)
        .find(|r| r.resource.as_deref().is_none_or(|res| res == question.resource || res == "*"))
        .or_else(|| results.iter().find(same_action))
}

fn decided_by(result: &SimulatedResult) -> DecidedBy {
    if result.allowed_by_organizations == Some(false) {
        DecidedBy::ServiceControlPolicy
    } else if result.allowed_by_permissions_boundary == Some(false) {
        DecidedBy::PermissionsBoundary
    } else {
        DecidedBy::RolePolicies
    }
}

fn action_verdict(question: &Question, answer: Option<&SimulatedResult>) -> ActionVerdict {
    let (flowgate, flowgate_note) = match &question.flowgate {
        FlowgateDecision::Allowed => ("allowed", None),
        FlowgateDecision::Denied => ("denied", None),
        FlowgateDecision::Undecided(why) => ("undecided", Some(why.clone())),
    };
    let agrees = match (&question.flowgate, answer) {
        (FlowgateDecision::Allowed, Some(a)) => Some(a.decision.allows()),
        (FlowgateDecision::Denied, Some(a)) => Some(!a.decision.allows()),
        _ => None,
    };
    ActionVerdict {
        action: question.action.clone(),
        resource: question.resource.clone(),
        flowgate,
        flowgate_note,
        aws: answer.map(|a| a.decision),
        agrees,
        matched_statements: answer.map(|a| a.matched_statements.clone()).unwrap_or_default(),
        decided_by: answer.map(decided_by),
    }
}

/// Both verdicts on every question, and whether they agree.
pub fn compare(questions: &[Question], simulation: &Simulation) -> AwsVerdict {
    let results = match simulation {
        Simulation::NotAsked(why) => {
            return AwsVerdict {
                decision: "not-asked",
                agrees: None,
                matched_statements: Vec::new(),
                decided_by: None,
                // flowgate's verdicts alone.
                actions: questions.iter().map(|q| action_verdict(q, None)).collect(),
                not_asked: Some(why.clone()),
            };
        }
        Simulation::Answered(results) => results,
    };
    let actions: Vec<ActionVerdict> = questions.iter().map(|q| action_verdict(q, answer_for(results, q))).collect();
    let answered: Vec<SimulatedDecision> = actions.iter().filter_map(|a| a.aws).collect();
    let decision = match (answered.iter().any(|d| d.allows()), answered.iter().any(|d| !d.allows())) {
        (true, false) => "allowed",
        (false, true) => "denied",
        (true, true) => "mixed",
        (false, false) => "not-asked",
    };
    let agrees =
        if actions.iter().any(|a| a.agrees == Some(false)) { Some(false) } else { actions.iter().any(|a| a.agrees == Some(true)).then_some(true) };
    let mut matched_statements: Vec<MatchedStatement> = Vec::new();
    for statement in actions.iter().flat_map(|a| a.matched_statements.iter()) {
        if !matched_statements.contains(statement) {
            matched_statements.push(statement.clone());
        }
    }
    let decided_by = actions.iter().find(|a| a.agrees == Some(false)).or(actions.first()).and_then(|a| a.decided_by);
    let not_asked = answered.is_empty().then(|| "the simulator's answer had no result for the actions asked".to_owned());
    AwsVerdict { decision, agrees, matched_statements, decided_by, actions, not_asked }
}

fn aws_words(decision: SimulatedDecision) -> &'static str {
    match decision {
        SimulatedDecision::Allowed => "allows",
        SimulatedDecision::ImplicitDeny => "denies (implicitDeny)",
        SimulatedDecision::ExplicitDeny => "denies (explicitDeny)",
    }
}

impl AwsVerdict {
    pub fn disagrees(&self) -> bool {
        self.agrees == Some(false)
    }

    /// One line for a check's detail or a report line.
    pub fn words(&self) -> String {
        if let Some(why) = &self.not_asked {
            return format!("AWS's policy simulator gave no verdict ({why}): flowgate's own stands alone");
        }
        if self.disagrees() {
            let parts: Vec<String> = self.actions.iter().filter(|a| a.agrees == Some(false)).map(disagreement_words).collect();
            return format!("AWS's policy simulator DISAGREES: {}", parts.join("; "));
        }
        let compared: Vec<&ActionVerdict> = self.actions.iter().filter(|a| a.agrees == Some(true)).collect();
        let mut text = match self.decision {
            "allowed" | "denied" if compared.len() == self.actions.len() => format!("AWS's policy simulator agrees: {}", self.decision),
            _ => {
                let each: Vec<String> = compared.iter().map(|a| format!("{} {}", a.action, a.flowgate)).collect();
                format!("AWS's policy simulator agrees: {}", if each.is_empty() { "nothing compared".to_owned() } else { each.join(", ") })
            }
        };
        for open in self.actions.iter().filter(|a| a.agrees.is_none()) {
            let aws = open.aws.map(aws_words).unwrap_or("gave no answer");
            let note = open.flowgate_note.as_deref().map(|n| format!(", flowgate undecided: {n}")).unwrap_or_default();
            text.push_str(&format!("; {}: AWS {aws}{note}", open.action));
        }
        text
    }

    /// What to do about a disagreement.
    pub fn fix(&self) -> Option<String> {
        if !self.disagrees() {
            return None;
        }
        Some(match self.decided_by {
            Some(DecidedBy::ServiceControlPolicy) => {
                "an SCP of the organization decides: ask its administrators to allow the vendor role's reads (AWS Organizations, the account's policies)".to_owned()
            }
            Some(DecidedBy::PermissionsBoundary) => {
                "the role's permissions boundary decides: allow the reads in the boundary, or remove it (IAM console, the role, Permissions boundary)".to_owned()
            }
            _ => "AWS's answer is what the vendor gets: check the matched statements (flowgate access list shows flowgate's reading of them)".to_owned(),
        })
    }
}

fn disagreement_words(action: &ActionVerdict) -> String {
    let aws = action.aws.map(aws_words).unwrap_or("gives no answer");
    let by = action.decided_by.map(|d| format!(", decided by {}", d.words())).unwrap_or_default();
    let matched: Vec<String> = action.matched_statements.iter().map(|m| format!("{} ({})", m.source_policy_id, m.source_policy_type)).collect();
    let matched = if matched.is_empty() { String::new() } else { format!("; matched {}", matched.join(", ")) };
    format!("flowgate finds {} {} by the role's policies, AWS {aws} on {}{by}{matched}", action.action, action.flowgate, action.resource)
}

/// `check` with AWS's verdict beside flowgate's: said in its detail; a disagreement fails it.
pub fn judged(check: Check, verdict: &AwsVerdict) -> Check {
    let detail = format!("{}; {}", check.detail, verdict.words());
    if verdict.disagrees() { Check { status: CheckStatus::Fail, detail, fix: verdict.fix(), ..check } } else { Check { detail, ..check } }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::role_policy::PolicySource;
    use serde_json::json;

    const OBJECT: &str = "arn:aws:s3:::logs-a/AWSLogs/123456789012/vpcflowlogs/eu-west-1/flowgate-simulated-object.log.gz";

    fn bucket() -> BucketName {
        "logs-a".parse().unwrap()
    }

    fn role(statements: serde_json::Value) -> Vec<NamedPolicy> {
        vec![NamedPolicy::parse("p", PolicySource::Inline, &json!({"Version": "2012-10-17", "Statement": statements}).to_string()).unwrap()]
    }

    fn result(action: &str, decision: SimulatedDecision) -> SimulatedResult {
        SimulatedResult {
            action: action.to_owned(),
            resource: None,
            decision,
            matched_statements: Vec::new(),
            allowed_by_organizations: None,
            allowed_by_permissions_boundary: None,
        }
    }

    fn flowgate_grant() -> Vec<NamedPolicy> {
        role(json!([
            {"Sid": "Objects", "Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::logs-a/*"},
            {"Sid": "Bucket", "Effect": "Allow", "Action": ["s3:ListBucket", "s3:GetBucketLocation"], "Resource": "arn:aws:s3:::logs-a"}
        ]))
    }

    #[test]
    fn the_delivery_object_and_the_questions() {
        let prefix: LogPrefix = "net/flows".parse().unwrap();
        let path = DeliveryPath { prefix: Some(&prefix), hive: false, account: "123456789012", region: "cn-north-1" };
        assert_eq!(
            delivery_object_arn(&bucket(), "aws-cn", &path),
            "arn:aws-cn:s3:::logs-a/net/flows/AWSLogs/123456789012/vpcflowlogs/cn-north-1/flowgate-simulated-object.log.gz"
        );
        assert_eq!(
            delivery_object_arn(&bucket(), "aws", &DeliveryPath { prefix: None, hive: true, ..path }),
            "arn:aws:s3:::logs-a/AWSLogs/aws-account-id=123456789012/aws-service=vpcflowlogs/aws-region=cn-north-1/flowgate-simulated-object.log.gz"
        );
        let questions = read_questions(&flowgate_grant(), &bucket(), "aws", OBJECT);
        assert_eq!(
            questions.iter().map(|q| (q.action.as_str(), q.resource.as_str())).collect::<Vec<_>>(),
            [("s3:GetObject", OBJECT), ("s3:ListBucket", "arn:aws:s3:::logs-a")]
        );
        assert!(questions.iter().all(|q| q.flowgate == FlowgateDecision::Allowed), "{questions:?}");
        assert!(read_questions(&[], &bucket(), "aws", OBJECT).iter().all(|q| q.flowgate == FlowgateDecision::Denied));
    }

    /// flowgate's answer for the object asked: a grant on other keys or under a condition is no
    /// answer; one whose pattern covers the delivery path is.
    #[test]
    fn flowgate_decides_on_the_object_asked() {
        let cases = [
            (json!([{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::logs-a/AWSLogs/*"}]), "allowed"),
            (json!([{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::logs-a/reports/*"}]), "undecided"),
            (
                json!([{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*", "Condition": {"Bool": {"aws:SecureTransport": "true"}}}]),
                "undecided",
            ),
            (
                json!([{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}, {"Effect": "Deny", "Action": "s3:GetObject", "Resource": "*"}]),
                "denied",
            ),
            (json!([{"Effect": "Allow", "Action": "s3:PutObject", "Resource": "*"}]), "denied"),
        ];
        for (statements, expected) in cases {
            let question = &read_questions(&role(statements.clone()), &bucket(), "aws", OBJECT)[0];
            let got = match &question.flowgate {
                FlowgateDecision::Allowed => "allowed",
                FlowgateDecision::Denied => "denied",
                FlowgateDecision::Undecided(_) => "undecided",
            };
            assert_eq!(got, expected, "{statements}");
        }
    }

    /// The AWS behaviours of the simulator's answer (IAM API Reference, "EvaluationResult",
    /// "OrganizationsDecisionDetail", "PermissionsBoundaryDecisionDetail"), against flowgate's
    /// verdict on the role's own policies.
    #[test]
    fn agreement_and_what_decided() {
        let questions = read_questions(&flowgate_grant(), &bucket(), "aws", OBJECT);
        let allowed = Simulation::Answered(vec![
            SimulatedResult {
                matched_statements: vec![MatchedStatement { source_policy_id: "p".into(), source_policy_type: "IAM Policy".into() }],
                ..result("s3:GetObject", SimulatedDecision::Allowed)
            },
            result("s3:ListBucket", SimulatedDecision::Allowed),
        ]);
        let verdict = compare(&questions, &allowed);
        assert_eq!((verdict.decision, verdict.agrees, verdict.decided_by), ("allowed", Some(true), Some(DecidedBy::RolePolicies)));
        assert_eq!(verdict.matched_statements.len(), 1);
        assert_eq!(verdict.words(), "AWS's policy simulator agrees: allowed");

        let scp = SimulatedResult { allowed_by_organizations: Some(false), ..result("s3:GetObject", SimulatedDecision::ExplicitDeny) };
        let verdict = compare(&questions, &Simulation::Answered(vec![scp, result("s3:ListBucket", SimulatedDecision::Allowed)]));
        assert_eq!((verdict.decision, verdict.agrees, verdict.decided_by), ("mixed", Some(false), Some(DecidedBy::ServiceControlPolicy)));
        assert!(
            verdict.words().contains("flowgate finds s3:GetObject allowed by the role's policies, AWS denies (explicitDeny)"),
            "{}",
            verdict.words()
        );
        assert!(verdict.words().contains("decided by a service control policy"), "{}", verdict.words());
        assert!(verdict.fix().unwrap().contains("SCP"));

        let boundary = SimulatedResult {
            allowed_by_permissions_boundary: Some(false),
            allowed_by_organizations: Some(true),
            ..result("s3:GetObject", SimulatedDecision::ImplicitDeny)
        };
        let verdict = compare(&questions, &Simulation::Answered(vec![boundary]));
        assert_eq!((verdict.agrees, verdict.decided_by), (Some(false), Some(DecidedBy::PermissionsBoundary)));
        assert!(verdict.fix().unwrap().contains("permissions boundary"));

        let denied = read_questions(&[], &bucket(), "aws", OBJECT);
        let implicit = Simulation::Answered(vec![
            result("s3:GetObject", SimulatedDecision::ImplicitDeny),
            result("s3:ListBucket", SimulatedDecision::ImplicitDeny),
        ]);
        let verdict = compare(&denied, &implicit);
        assert_eq!((verdict.decision, verdict.agrees), ("denied", Some(true)));
        assert_eq!(verdict.words(), "AWS's policy simulator agrees: denied");
        // A revoke flowgate applied that AWS still allows.
        let verdict = compare(&denied, &allowed);
        assert!(verdict.disagrees() && verdict.words().contains("flowgate finds s3:GetObject denied"), "{}", verdict.words());
    }

    #[test]
    fn no_answer_and_undecided_are_not_compared() {
        let questions = read_questions(&flowgate_grant(), &bucket(), "aws", OBJECT);
        let verdict = compare(&questions, &Simulation::NotAsked("--no-simulate".into()));
        assert_eq!((verdict.decision, verdict.agrees, verdict.not_asked.as_deref()), ("not-asked", None, Some("--no-simulate")));
        assert_eq!(verdict.actions.iter().map(|a| (a.flowgate, a.aws)).collect::<Vec<_>>(), [("allowed", None), ("allowed", None)]);
        assert!(verdict.words().contains("gave no verdict (--no-simulate)"));
        let verdict = compare(&questions, &Simulation::Answered(vec![result("iam:GetRole", SimulatedDecision::Allowed)]));
        assert_eq!((verdict.agrees, verdict.decision), (None, "not-asked"));
        assert!(verdict.not_asked.is_some());

        let conditional =
            role(json!([{"Effect": "Allow", "Action": "s3:*", "Resource": "*", "Condition": {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}}]));
        let questions = read_questions(&conditional, &bucket(), "aws", OBJECT);
        let both =
            Simulation::Answered(vec![result("s3:GetObject", SimulatedDecision::Allowed), result("s3:ListBucket", SimulatedDecision::ImplicitDeny)]);
        let verdict = compare(&questions, &both);
        assert_eq!((verdict.decision, verdict.agrees), ("mixed", None));
        assert!(verdict.words().contains("s3:GetObject: AWS allows, flowgate undecided"), "{}", verdict.words());
    }

    #[test]
    fn results_are_matched_by_action_then_resource() {
        let question = Question { action: "s3:GetObject".into(), resource: OBJECT.into(), flowgate: FlowgateDecision::Allowed };
        let other = SimulatedResult { resource: Some("arn:aws:s3:::logs-a".into()), ..result("s3:getobject", SimulatedDecision::ImplicitDeny) };
        let this = SimulatedResult { resource: Some(OBJECT.into()), ..result("s3:GetObject", SimulatedDecision::Allowed) };
        assert_eq!(answer_for(&[other.clone(), this.clone()], &question), Some(&this));
        assert_eq!(answer_for(std::slice::from_ref(&other), &question), Some(&other));
        assert_eq!(answer_for(&[result("s3:ListBucket", SimulatedDecision::Allowed)], &question), None);
    }

    #[test]
    fn a_check_fails_only_on_a_disagreement() {
        let questions = read_questions(&flowgate_grant(), &bucket(), "aws", OBJECT);
        let check = Check::pass("access read", "role R can s3:GetObject");
        let agree = compare(&questions, &Simulation::Answered(vec![result("s3:GetObject", SimulatedDecision::Allowed)]));
        let judged_agree = judged(check.clone(), &agree);
        assert_eq!(judged_agree.status, CheckStatus::Pass);
        assert!(judged_agree.detail.starts_with("role R can s3:GetObject; AWS's policy simulator agrees"), "{}", judged_agree.detail);
        let not_asked = judged(check.clone(), &compare(&questions, &Simulation::NotAsked("AccessDenied".into())));
        assert_eq!((not_asked.status, not_asked.fix), (CheckStatus::Pass, None));
        let deny = compare(&questions, &Simulation::Answered(vec![result("s3:GetObject", SimulatedDecision::ImplicitDeny)]));
        let failed = judged(check, &deny);
        assert_eq!(failed.status, CheckStatus::Fail);
        assert!(failed.fix.is_some());
        let json = serde_json::to_value(&deny).unwrap();
        assert_eq!(json["agrees"], false);
        assert_eq!(json["decision"], "denied");
        assert_eq!(json["decided_by"], "role-policies");
        assert_eq!(json["actions"][0]["aws"], "implicitDeny");
    }
}
