//! IAM's policy simulator as AWS answers it, for the chaos proxy to give: moto does not implement
//! SimulatePrincipalPolicy (it answers HTTP 500). The answers are the IAM query protocol's XML of
//! SimulatePrincipalPolicy (IAM API Reference, "SimulatePrincipalPolicy"): `EvaluationResults`,
//! one `EvaluationResult` per action and resource asked (IAM API Reference, "EvaluationResult":
//! `EvalDecision` allowed | explicitDeny | implicitDeny, `MatchedStatements`,
//! `OrganizationsDecisionDetail`, `PermissionsBoundaryDecisionDetail`).

use super::Env;

/// One `EvaluationResult`.
pub struct Evaluation<'a> {
    pub action: &'a str,
    pub decision: &'a str,
    /// (SourcePolicyId, SourcePolicyType) of each matched statement.
    pub matched: &'a [(&'a str, &'a str)],
    /// `OrganizationsDecisionDetail.AllowedByOrganizations`, when the answer carries it.
    pub allowed_by_organizations: Option<bool>,
    /// `PermissionsBoundaryDecisionDetail.AllowedByPermissionsBoundary`, when it carries it.
    pub allowed_by_permissions_boundary: Option<bool>,
}

impl<'a> Evaluation<'a> {
    /// `decision` for `action`, decided by the role's own policies alone.
    pub fn plain(action: &'a str, decision: &'a str) -> Self {
        Evaluation { action, decision, matched: &[], allowed_by_organizations: None, allowed_by_permissions_boundary: None }
    }

    fn xml(&self) -> String {
        let matched: String = self
            .matched
            .iter()
            .map(|(id, kind)| {
                format!(
                    "<member><SourcePolicyId>{id}</SourcePolicyId><SourcePolicyType>{kind}</SourcePolicyType><StartPosition><Line>1</Line><Column>1</Column></StartPosition><EndPosition><Line>1</Line><Column>80</Column></EndPosition></member>"
                )
            })
            .collect();
        let organizations = self
            .allowed_by_organizations
            .map(|a| format!("<OrganizationsDecisionDetail><AllowedByOrganizations>{a}</AllowedByOrganizations></OrganizationsDecisionDetail>"))
            .unwrap_or_default();
        let boundary = self
            .allowed_by_permissions_boundary
            .map(|a| {
                format!("<PermissionsBoundaryDecisionDetail><AllowedByPermissionsBoundary>{a}</AllowedByPermissionsBoundary></PermissionsBoundaryDecisionDetail>")
            })
            .unwrap_or_default();
        format!(
            "<member><EvalActionName>{}</EvalActionName><EvalResourceName>*</EvalResourceName><EvalDecision>{}</EvalDecision><MatchedStatements>{matched}</MatchedStatements><MissingContextValues/>{organizations}{boundary}</member>",
            self.action, self.decision
        )
    }
}

/// The whole answer to one SimulatePrincipalPolicy request.
pub fn simulation_response(evaluation: &Evaluation<'_>) -> String {
    format!(
        r#"<SimulatePrincipalPolicyResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><SimulatePrincipalPolicyResult><IsTruncated>false</IsTruncated><EvaluationResults>{}</EvaluationResults></SimulatePrincipalPolicyResult><ResponseMetadata><RequestId>chaos</RequestId></ResponseMetadata></SimulatePrincipalPolicyResponse>"#,
        evaluation.xml()
    )
}

/// From now on the proxy answers each SimulatePrincipalPolicy request about an action of
/// `evaluations` with its evaluation (flowgate asks one action per request).
pub fn simulator_answers(env: &Env, evaluations: &[Evaluation<'_>]) {
    env.proxy.forget_answers("SimulatePrincipalPolicy");
    for evaluation in evaluations {
        let when = format!("ActionNames.member.1={}", evaluation.action);
        env.proxy.answer_when("SimulatePrincipalPolicy", Some(&when), None, 200, &simulation_response(evaluation));
    }
}

/// IAM's answer when the caller may not call iam:SimulatePrincipalPolicy (HTTP 403 AccessDenied,
/// the query protocol's ErrorResponse).
pub fn simulator_denied(env: &Env) {
    env.proxy.forget_answers("SimulatePrincipalPolicy");
    env.proxy.answer(
        "SimulatePrincipalPolicy",
        403,
        r#"<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>User: arn:aws:iam::123456789012:user/ops is not authorized to perform: iam:SimulatePrincipalPolicy on resource: role FlowgateCrossAccountRole because no identity-based policy allows the iam:SimulatePrincipalPolicy action</Message></Error><RequestId>chaos</RequestId></ErrorResponse>"#,
    );
}

/// How many SimulatePrincipalPolicy requests reached the proxy.
pub fn simulations(env: &Env) -> usize {
    env.proxy.requests().iter().filter(|r| r.action == "SimulatePrincipalPolicy").count()
}
