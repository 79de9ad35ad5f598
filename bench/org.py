"""Drives scripts/bench-org: see that script's header.

Usage: .venv/bin/python bench/org.py ACCOUNTS REGIONS VPCS LATENCY_MS [ACCOUNT_CONCURRENCY]
Binaries from $CARGO_TARGET_DIR/debug (default target/debug). Prints one JSON document.
"""
import sys

# This file is named org.py, and the standard library's copy module probes for a module `org`
# (Jython's org.python.core): without this, importing boto3 would import this script again.
if sys.path and sys.path[0] == __import__("os").path.dirname(__import__("os").path.abspath(__file__)):
    sys.path.pop(0)

import json  # noqa: E402
import math  # noqa: E402
import os  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402

import boto3  # noqa: E402

REGIONS_ALL = ["us-east-1", "eu-west-1", "ap-southeast-2", "us-west-2", "eu-central-1", "ap-northeast-1", "sa-east-1", "ca-central-1"]
BUCKET = "flowgate-bench-org-flow-logs"
VENDOR = "999988887777"
HOME = "us-east-1"
KEYS = dict(aws_access_key_id="bench", aws_secret_access_key="bench")
# Answered by the proxy: moto answers CloudFormation DescribeOrganizationsAccess with HTTP 500.
ORG_ACCESS = ('<DescribeOrganizationsAccessResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/">'
              '<DescribeOrganizationsAccessResult><Status>ENABLED</Status></DescribeOrganizationsAccessResult>'
              '<ResponseMetadata><RequestId>b</RequestId></ResponseMetadata></DescribeOrganizationsAccessResponse>')
n_accounts, n_regions, n_vpcs, latency_ms = (int(a) for a in sys.argv[1:5])
account_concurrency = int(sys.argv[5]) if len(sys.argv) > 5 else 16  # `org onboard --account-concurrency` default
regions = REGIONS_ALL[:n_regions]
region_list = ",".join(regions)
bin_dir = os.path.join(os.environ.get("CARGO_TARGET_DIR", "target"), "debug")
env = dict(os.environ, AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench", AWS_REGION=HOME,
           AWS_DEFAULT_REGION=HOME, AWS_CONFIG_FILE="/dev/null", AWS_SHARED_CREDENTIALS_FILE="/dev/null",
           AWS_EC2_METADATA_DISABLED="true", NO_COLOR="1")
for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_SESSION_TOKEN"):
    env.pop(name, None)


def start(cmd):
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
    return proc, int(proc.stdout.readline())


def send(proxy, line):
    proxy.stdin.write(line + "\n")
    proxy.stdin.flush()


def counts(proxy):
    send(proxy, "counts")
    return json.loads(proxy.stdout.readline())


moto, moto_port = start([".venv/bin/python", "scripts/moto-server.py"])
# The timed proxy adds the latency; the untimed one (0 ms) serves the warm-up and measures the
# fixed cost (emulator and CPU) of the same flow-log pass.
timed, timed_port = start([f"{bin_dir}/examples/chaos_proxy", str(moto_port), str(latency_ms)])
untimed, untimed_port = start([f"{bin_dir}/examples/chaos_proxy", str(moto_port), "0"])
direct = f"http://127.0.0.1:{moto_port}"
for proxy in (timed, untimed):
    send(proxy, f"answer DescribeOrganizationsAccess 200 {ORG_ACCESS}")


def client(service, region=HOME, creds=None):
    keys = creds or KEYS
    return boto3.client(service, endpoint_url=direct, region_name=region, **keys)


def member_creds(account):
    c = client("sts").assume_role(RoleArn=f"arn:aws:iam::{account}:role/OrganizationAccountAccessRole", RoleSessionName="bench")["Credentials"]
    return dict(aws_access_key_id=c["AccessKeyId"], aws_secret_access_key=c["SecretAccessKey"], aws_session_token=c["SessionToken"])


def run(args, endpoint, run_env=None):
    """Runs flowgate, returns (seconds, exit code, stdout)."""
    t0 = time.perf_counter()
    done = subprocess.run([f"{bin_dir}/flowgate", "--endpoint-url", endpoint, "-q", *args], env=run_env or env, capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    if done.returncode != 0:
        sys.exit(f"flowgate {' '.join(args)} exited {done.returncode}:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    return seconds, done.stdout


def flow_logs_of(creds):
    """{region: [flow logs]} of one account."""
    return {r: client("ec2", r, creds).describe_flow_logs()["FlowLogs"] for r in regions}


def delete_flow_logs(creds_by_account):
    for creds in creds_by_account.values():
        for region, logs in flow_logs_of(creds).items():
            if logs:
                client("ec2", region, creds).delete_flow_logs(FlowLogIds=[f["FlowLogId"] for f in logs])


def check_covered(creds_by_account, bucket_of):
    """Every VPC of every member, in every region, has a flow log to its bucket: the run did the job."""
    for account, creds in creds_by_account.items():
        for region, logs in flow_logs_of(creds).items():
            vpcs = {v["VpcId"] for v in client("ec2", region, creds).describe_vpcs()["Vpcs"]}
            covered = {f["ResourceId"] for f in logs if f.get("LogDestination", "").startswith(f"arn:aws:s3:::{bucket_of(account)}")}
            if vpcs != covered:
                sys.exit(f"account {account} {region}: VPCs {sorted(vpcs - covered)} have no flow log to the bucket")


def calls(c):
    # (The proxy counts sts:AssumeRole as a read: it changes no resource.)
    return {"calls": c["total"], "mutating": c["mutating"], "by_action": c["by_action"]}


try:
    # The organization, built directly on the emulator (untimed).
    orgs = client("organizations")
    orgs.create_organization(FeatureSet="ALL")
    root = orgs.list_roots()["Roots"][0]["Id"]
    ous = [orgs.create_organizational_unit(ParentId=root, Name=f"bench-{n}")["OrganizationalUnit"]["Id"] for n in ("a", "b")]
    members = []
    for i in range(n_accounts):
        request = orgs.create_account(Email=f"bench{i}@example.com", AccountName=f"bench-{i}")["CreateAccountStatus"]
        account = request.get("AccountId") or orgs.describe_create_account_status(CreateAccountRequestId=request["Id"])["CreateAccountStatus"]["AccountId"]
        orgs.move_account(AccountId=account, SourceParentId=root, DestinationParentId=ous[i % 2])
        members.append(account)
    creds_by_account = {a: member_creds(a) for a in members}
    for creds in creds_by_account.values():
        for region in regions:
            ec2 = client("ec2", region, creds)
            ec2.describe_vpcs()  # the default VPC
            for v in range(n_vpcs - 1):
                ec2.create_vpc(CidrBlock=f"10.{v + 1}.0.0/16")

    onboard = ["org", "onboard", "--bucket", BUCKET, "--vendor-account", VENDOR, "--regions", region_list,
               "--ous", ",".join(ous), "--account-concurrency", str(account_concurrency), "--yes", "--output", "json"]
    # Warm the emulator's services (the first call of each is slow), untimed: a dry run.
    run([*onboard[:-3], "--dry-run", "--output", "json"], f"http://127.0.0.1:{untimed_port}")
    counts(timed)
    counts(untimed)

    # (a1) The first run: trusted access is on (answered by the proxy); bucket, policy, StackSet,
    # instances and every flow log are created.
    first_s, first_out = run(onboard, f"http://127.0.0.1:{timed_port}")
    first_calls = counts(timed)
    first = json.loads(first_out)
    check_covered(creds_by_account, lambda _: BUCKET)

    # (a2) The second run: nothing to change.
    again_s, _ = run(onboard, f"http://127.0.0.1:{timed_port}")
    again_calls = counts(timed)

    # (a3) The flow-log pass: the StackSet and the bucket exist, the flow logs do not (deleted
    # through member credentials, untimed). Once without latency (the fixed cost), then timed.
    delete_flow_logs(creds_by_account)
    zero_s, _ = run(onboard, f"http://127.0.0.1:{untimed_port}")
    counts(untimed)
    check_covered(creds_by_account, lambda _: BUCKET)
    delete_flow_logs(creds_by_account)
    pass_s, _ = run(onboard, f"http://127.0.0.1:{timed_port}")
    pass_calls = counts(timed)
    check_covered(creds_by_account, lambda _: BUCKET)

    # (c) The loop people would write: `flowgate flowlogs enable` once per account with an
    # assumed-role profile. `flowlogs enable` refuses a bucket of another account (it checks the
    # bucket is the caller's), so each account gets a bucket of its own: the same round trips.
    delete_flow_logs(creds_by_account)
    own_bucket = lambda account: f"flowgate-bench-{account}"  # noqa: E731
    for account, creds in creds_by_account.items():
        client("s3", HOME, creds).create_bucket(Bucket=own_bucket(account))
    with tempfile.NamedTemporaryFile("w", suffix=".aws-config", delete=False) as config:
        config.write(f"[profile bench]\naws_access_key_id = bench\naws_secret_access_key = bench\nregion = {HOME}\n")
        for account in members:
            config.write(f"\n[profile m{account}]\nrole_arn = arn:aws:iam::{account}:role/OrganizationAccountAccessRole\n"
                         f"source_profile = bench\nregion = {HOME}\n")
    # The SDK's profile provider calls STS AssumeRole itself: AWS_ENDPOINT_URL sends that call to
    # the proxy too (--endpoint-url configures flowgate's own clients only).
    loop_env = dict(env, AWS_CONFIG_FILE=config.name, AWS_ENDPOINT_URL=f"http://127.0.0.1:{timed_port}")
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        loop_env.pop(name)
    # `flowlogs enable` with the central bucket: on AWS its HeadBucket with ExpectedBucketOwner
    # (the member) gets 403 and it refuses; the emulator does not check ExpectedBucketOwner.
    # Recorded, then undone.
    central = subprocess.run([f"{bin_dir}/flowgate", "--endpoint-url", f"http://127.0.0.1:{untimed_port}", "-q", "--profile", f"m{members[0]}",
                              "flowlogs", "enable", "--bucket", BUCKET, "--regions", region_list, "--yes"],
                             env=dict(loop_env, AWS_ENDPOINT_URL=f"http://127.0.0.1:{untimed_port}"), capture_output=True, text=True)
    central_result = {"exit": central.returncode, "error": next((line for line in central.stderr.splitlines() if line.startswith("error:")), None)}
    delete_flow_logs({members[0]: creds_by_account[members[0]]})
    counts(untimed)
    counts(timed)
    t0 = time.perf_counter()
    for account in members:
        run(["--profile", f"m{account}", "flowlogs", "enable", "--bucket", own_bucket(account), "--regions", region_list, "--yes"],
            f"http://127.0.0.1:{timed_port}", loop_env)
    loop_s = time.perf_counter() - t0
    loop_calls = counts(timed)
    os.unlink(config.name)
    check_covered(creds_by_account, own_bucket)

    # (b) The latency floor: discovery = identity, DescribeOrganization, ListRoots, the OU levels
    # (one level of OUs: the root's children, then theirs, none), the accounts of every parent at
    # once, StackSets' trusted access, the StackSet, its instances, the bucket (HeadBucket, then its
    # reads at once); then per account AssumeRole, DescribeRegions, DescribeVpcs and
    # DescribeFlowLogs (regions at once), CreateFlowLogs, in waves of --account-concurrency.
    ou_levels = 2
    discovery = 1 + 1 + 1 + ou_levels + 1 + 3 + 2
    waves = math.ceil(n_accounts / account_concurrency)
    floor_round_trips = discovery + 5 * waves
    floor_s = floor_round_trips * latency_ms / 1000
    # The chain as written (src/commands/org.rs): discovery reads the bucket policy a second time
    # after the bucket's reads (+1); every account is read once to plan (AssumeRole,
    # DescribeRegions, DescribeVpcs, DescribeFlowLogs: 4 per wave) and the apply creates from that
    # plan (1 per wave, the role's credentials reused); the StackSet's instances are listed again
    # for the report (+1).
    code_round_trips = discovery + 1 + 5 * waves + 1
    # The loop's floor (latency only; each process also starts and loads its configuration): per account AssumeRole, GetCallerIdentity, DescribeRegions, then HeadBucket
    # beside DescribeVpcs, DescribeFlowLogs, CreateFlowLogs.
    loop_floor_s = n_accounts * 6 * latency_ms / 1000
    result = {
        "accounts": n_accounts, "regions": n_regions, "vpcs_per_region": n_vpcs, "latency_ms": latency_ms,
        "account_concurrency": account_concurrency, "build": "debug",
        "first_run": {"s": round(first_s, 3), **calls(first_calls), "applied": first["summary"]["applied"]},
        "second_run": {"s": round(again_s, 3), **calls(again_calls)},
        # at_0_ms_s: the same pass without latency, the emulator's and flowgate's own time;
        # effective_round_trips: what the latency added, in round trips (meaningful while the
        # emulator, one Python process, is not the bottleneck).
        "flow_log_pass": {"s": round(pass_s, 3), **calls(pass_calls), "at_0_ms_s": round(zero_s, 3),
                          "emulator_ms_per_call_at_0_ms": round(zero_s * 1000 / pass_calls["total"], 1),
                          "effective_round_trips": round((pass_s - zero_s) / (latency_ms / 1000), 1) if latency_ms else None},
        "floor": {"round_trips": floor_round_trips, "discovery": discovery, "waves": waves, "s": floor_s,
                  "round_trips_as_written": code_round_trips, "as_written_s": code_round_trips * latency_ms / 1000},
        "loop": {"s": round(loop_s, 3), **calls(loop_calls), "floor_s": loop_floor_s, "central_bucket": central_result},
        "pass_over_floor": round(pass_s / floor_s, 2) if floor_s else None,
        "loop_over_pass": round(loop_s / pass_s, 1),
        "targets_met": {"within_2x_of_floor": bool(floor_s) and pass_s <= 2 * floor_s, "10x_faster_than_loop": loop_s >= 10 * pass_s},
    }
    print(json.dumps(result, indent=2))
finally:
    for proc in (timed, untimed, moto):
        proc.stdin.close()
        proc.wait(timeout=10)
