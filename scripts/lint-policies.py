"""Lints every IAM policy flowgate ships with parliament, rendered with sample values for their
placeholders (${AccountId}, ${FlowLogBucket}, ...), and fails on any finding above LOW that is not
an accepted exception listed here with its reason.

Usage: .venv-security/bin/python scripts/lint-policies.py
"""
import glob
import json
import sys

from parliament import analyze_policy_string, enhance_finding

PLACEHOLDERS = {
    "${AccountId}": "123456789012",
    "${FlowLogBucket}": "acme-flow-logs",
    "${VendorRoleName}": "ColorTokensCrossAccountAccessRole",
    "${Partition}": "aws",
    "${BucketName}": "acme-flow-logs",
    "${LogPath}": "AWSLogs/123456789012/",
}

# (file, finding issue) -> why it is accepted.
ACCEPTED = {
    ("policies/operator/bucket-create.json", "RESOURCE_POLICY_PRIVILEGE_ESCALATION"):
        "bucket create writes the flow-log delivery bucket policy: s3:PutBucketPolicy on that one bucket is the step itself",
    ("policies/operator/onboard.json", "RESOURCE_POLICY_PRIVILEGE_ESCALATION"):
        "onboard includes bucket create (see bucket-create.json)",
    ("policies/operator/wizard.json", "RESOURCE_POLICY_PRIVILEGE_ESCALATION"):
        "the wizard includes bucket create (see bucket-create.json)",
}

files = sorted(glob.glob("policies/*.json") + glob.glob("policies/operator/*.json"))
failures = 0
for path in files:
    text = open(path).read()
    for placeholder, value in PLACEHOLDERS.items():
        text = text.replace(placeholder, value)
    json.loads(text)
    policy = analyze_policy_string(text, filepath=path)
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
print(f"{len(files)} policies linted, {failures} finding(s) above LOW")
sys.exit(1 if failures else 0)
