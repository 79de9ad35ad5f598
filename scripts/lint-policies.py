"""Lints every IAM policy flowgate ships with parliament, rendered with sample values for their
placeholders (${AccountId}, ${FlowLogBucket}, ...), and fails on any finding above LOW that is not
an accepted exception listed here with its reason.

With FLOWGATE set to a flowgate binary, the operator policies are linted as an administrator gets
them: the output of `flowgate permissions COMMAND` for every command `flowgate permissions --list`
names (reported as permissions:COMMAND).

Usage: [FLOWGATE=target/debug/flowgate] .venv-security/bin/python scripts/lint-policies.py
"""
import glob
import json
import os
import subprocess
import sys

from parliament import analyze_policy_string, enhance_finding

PLACEHOLDERS = {
    "${AccountId}": "123456789012",
    "${FlowLogBucket}": "acme-flow-logs",
    "${VendorRoleName}": "ColorTokensCrossAccountAccessRole",
    "${Partition}": "aws",
    "${RoleName}": "FlowgateCrossAccountRole",
    "${StackName}": "flowgate-cross-account",
    "${BucketName}": "acme-flow-logs",
    "${LogPath}": "AWSLogs/123456789012/",
    "${StackSetName}": "flowgate-org-roles",
    "${LogArchiveRole}": "OrganizationAccountAccessRole",
    "${LogArchiveAccount}": "210987654321",
}

# (file, finding issue) -> why it is accepted.
ACCEPTED = {
    ("policies/operator/bucket-create.json", "RESOURCE_POLICY_PRIVILEGE_ESCALATION"):
        "bucket create writes the flow-log delivery bucket policy: s3:PutBucketPolicy on that one bucket is the step itself",
    ("policies/operator/onboard.json", "RESOURCE_POLICY_PRIVILEGE_ESCALATION"):
        "onboard includes bucket create (see bucket-create.json)",
    ("policies/operator/wizard.json", "RESOURCE_POLICY_PRIVILEGE_ESCALATION"):
        "the wizard includes bucket create (see bucket-create.json)",
    ("permissions:bucket-create", "RESOURCE_POLICY_PRIVILEGE_ESCALATION"):
        "bucket create writes the flow-log delivery bucket policy: s3:PutBucketPolicy on that one bucket is the step itself",
    ("permissions:onboard", "RESOURCE_POLICY_PRIVILEGE_ESCALATION"):
        "onboard includes bucket create (see bucket-create.json)",
    ("permissions:wizard", "RESOURCE_POLICY_PRIVILEGE_ESCALATION"):
        "the wizard includes bucket create (see bucket-create.json)",
    ("policies/operator/org-onboard.json", "RESOURCE_POLICY_PRIVILEGE_ESCALATION"):
        "org onboard writes the central bucket's delivery policy (and includes bucket create): that one bucket",
    ("permissions:org-onboard", "RESOURCE_POLICY_PRIVILEGE_ESCALATION"):
        "org onboard writes the central bucket's delivery policy (and includes bucket create): that one bucket",
    ("policies/operator/org-offboard.json", "RESOURCE_POLICY_PRIVILEGE_ESCALATION"):
        "org offboard removes the organization's statements from the central bucket's policy: that one bucket",
    ("permissions:org-offboard", "RESOURCE_POLICY_PRIVILEGE_ESCALATION"):
        "org offboard removes the organization's statements from the central bucket's policy: that one bucket",
}

def rendered_by_flowgate(binary):
    """(name, policy text) for every command's `flowgate permissions` output."""
    listed = subprocess.run([binary, "permissions", "--list"], capture_output=True, text=True, check=True)
    for command in listed.stdout.split():
        args = [binary, "permissions", command, "--bucket", "acme-flow-logs", "--account", "123456789012", "--log-archive-account", "210987654321"]
        policy = subprocess.run(args, capture_output=True, text=True, check=True)
        yield f"permissions:{command}", policy.stdout


def shipped_files(with_operator_files):
    paths = glob.glob("policies/*.json") + (glob.glob("policies/operator/*.json") if with_operator_files else [])
    for path in sorted(paths):
        text = open(path).read()
        for placeholder, value in PLACEHOLDERS.items():
            text = text.replace(placeholder, value)
        yield path, text


binary = os.environ.get("FLOWGATE")
policies = list(shipped_files(with_operator_files=not binary)) + (list(rendered_by_flowgate(binary)) if binary else [])
failures = 0
for path, text in policies:
    json.loads(text)
    policy = analyze_policy_string(text, filepath=path)
    print(f"linted {path}: {len(policy.findings)} finding(s)")
    for finding in policy.findings:
        finding = enhance_finding(finding)
        severity = finding.severity
        accepted = ACCEPTED.get((path, finding.issue))
        if severity in ("MEDIUM", "HIGH", "CRITICAL") and not accepted:
            failures += 1
            print(f"FAIL {path}: {severity} {finding.issue} {finding.title} {finding.detail}")
        else:
            note = f" (accepted: {accepted})" if accepted else ""
            print(f"ok   {path}: {severity} {finding.issue}{note}")
print(f"{len(policies)} policies linted, {failures} finding(s) above LOW")
sys.exit(1 if failures else 0)
