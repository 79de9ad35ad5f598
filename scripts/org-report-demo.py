"""Writes the report of `flowgate org verify --report` for an organization on the emulator, the
page docs/org-verify-report.png shows (scripts/report-screenshot --org runs this).

An organization of six members in three OUs (one nested) is onboarded with `flowgate org
onboard`; then, as a real organization would look a day later: some members delivered flow-log
objects (uploaded here: the emulator never delivers), one member's flow log in us-east-1 was
deleted by hand (its flow-logs check fails), and eu-west-1 is closed by a region-deny SCP (the
proxy answers EC2 there as AWS does under Control Tower's region deny: every member skips it).

Usage: .venv/bin/python scripts/org-report-demo.py REPORT.html
Binaries from $CARGO_TARGET_DIR/debug (default target/debug): flowgate and examples/chaos_proxy.
"""
import os
import subprocess
import sys

import boto3

report = os.path.abspath(sys.argv[1])
BUCKET = "acme-org-flow-logs"
REGIONS = ["us-east-1", "eu-west-1"]
KEYS = dict(aws_access_key_id="demo", aws_secret_access_key="demo")
ORG_ACCESS = ('<DescribeOrganizationsAccessResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/">'
              '<DescribeOrganizationsAccessResult><Status>ENABLED</Status></DescribeOrganizationsAccessResult>'
              '<ResponseMetadata><RequestId>demo</RequestId></ResponseMetadata></DescribeOrganizationsAccessResponse>')
SCP_DENIAL = ('<Response><Errors><Error><Code>UnauthorizedOperation</Code><Message>You are not authorized to perform '
              'this operation. User: arn:aws:iam::123456789012:user/demo is not authorized to perform: ec2:{action} with an '
              'explicit deny in a service control policy</Message></Error></Errors><RequestID>demo</RequestID></Response>')
bin_dir = os.path.join(os.environ.get("CARGO_TARGET_DIR", "target"), "debug")
env = dict(os.environ, AWS_ACCESS_KEY_ID="demo", AWS_SECRET_ACCESS_KEY="demo", AWS_REGION="us-east-1",
           AWS_CONFIG_FILE="/dev/null", AWS_SHARED_CREDENTIALS_FILE="/dev/null", AWS_EC2_METADATA_DISABLED="true", NO_COLOR="1")
for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_SESSION_TOKEN"):
    env.pop(name, None)


def start(cmd):
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
    return proc, int(proc.stdout.readline())


def send(proxy, line):
    proxy.stdin.write(line + "\n")
    proxy.stdin.flush()


def client(service, region="us-east-1", creds=None):
    return boto3.client(service, endpoint_url=direct, region_name=region, **(creds or KEYS))


def member_creds(account):
    c = client("sts").assume_role(RoleArn=f"arn:aws:iam::{account}:role/OrganizationAccountAccessRole", RoleSessionName="demo")["Credentials"]
    return dict(aws_access_key_id=c["AccessKeyId"], aws_secret_access_key=c["SecretAccessKey"], aws_session_token=c["SessionToken"])


def flowgate(*args, quiet=False):
    command = [f"{bin_dir}/flowgate", "--endpoint-url", f"http://127.0.0.1:{proxy_port}", *args]
    return subprocess.run(command, env=env, stdout=subprocess.DEVNULL if quiet else None).returncode


def build_organization():
    """{name: account id} of the members, in OUs Workloads, Workloads/Prod and Security."""
    orgs = client("organizations")
    orgs.create_organization(FeatureSet="ALL")
    root = orgs.list_roots()["Roots"][0]["Id"]
    ou = lambda parent, name: orgs.create_organizational_unit(ParentId=parent, Name=name)["OrganizationalUnit"]["Id"]
    workloads = ou(root, "Workloads")
    prod, security = ou(workloads, "Prod"), ou(root, "Security")
    placement = {"payments-dev": workloads, "search-dev": workloads, "payments-prod": prod, "search-prod": prod,
                 "log-archive": security, "audit": security}
    members = {}
    for name, parent in placement.items():
        account = orgs.create_account(Email=f"{name}@example.com", AccountName=name)["CreateAccountStatus"]["AccountId"]
        orgs.move_account(AccountId=account, SourceParentId=root, DestinationParentId=parent)
        members[name] = account
    return members, f"{workloads},{security}"


moto, moto_port = start([".venv/bin/python", "scripts/moto-server.py"])
proxy, proxy_port = start([f"{bin_dir}/examples/chaos_proxy", str(moto_port), "0"])
direct = f"http://127.0.0.1:{moto_port}"
try:
    send(proxy, f"answer DescribeOrganizationsAccess 200 {ORG_ACCESS}")
    members, ous = build_organization()
    scope = ["--bucket", BUCKET, "--regions", ",".join(REGIONS), "--ous", ous]
    if flowgate("org", "onboard", *scope, "--vendor-account", "111122223333", "--yes", quiet=True) != 0:
        sys.exit("org onboard failed")
    s3 = client("s3")
    for name in ("payments-dev", "payments-prod", "log-archive", "audit"):
        key = f"AWSLogs/{members[name]}/vpcflowlogs/us-east-1/2026/11/30/{members[name]}_vpcflowlogs_us-east-1_fl-demo_20261130T1200Z_demo.log.gz"
        s3.put_object(Bucket=BUCKET, Key=key, Body=b"")
    ec2 = client("ec2", "us-east-1", member_creds(members["search-prod"]))
    ec2.delete_flow_logs(FlowLogIds=[f["FlowLogId"] for f in ec2.describe_flow_logs()["FlowLogs"]])
    for action in ("DescribeVpcs", "DescribeFlowLogs"):
        send(proxy, f"answer-in-region eu-west-1 {action} 403 {SCP_DENIAL.format(action=action)}")
    code = flowgate("org", "verify", *scope, "--report", report)
    print(f"org verify exited {code} (1: a check failed, as staged)", file=sys.stderr)
finally:
    for process in (proxy, moto):
        process.stdin.close()
        process.wait()
