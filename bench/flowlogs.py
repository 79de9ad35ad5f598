"""Drives scripts/bench-flowlogs: see that script's header."""
import json
import os
import subprocess
import sys
import time

import boto3

REGIONS_ALL = ["us-east-1", "eu-west-1", "ap-southeast-2", "us-west-2", "eu-central-1", "ap-northeast-1", "sa-east-1", "ca-central-1"]
BUCKET = "flowgate-bench-flow-logs"
FORMAT = "${version} ${account-id} ${interface-id} ${srcaddr} ${dstaddr} ${srcport} ${dstport} ${protocol} ${packets} ${bytes} ${start} ${end} ${action} ${log-status} ${tcp-flags}"

n_regions, vpcs_per_region, latency_ms = (int(a) for a in sys.argv[1:4])
regions = REGIONS_ALL[:n_regions]
env = dict(os.environ, AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench", AWS_REGION="us-east-1",
           AWS_DEFAULT_REGION="us-east-1", AWS_CONFIG_FILE="/dev/null", AWS_SHARED_CREDENTIALS_FILE="/dev/null",
           AWS_EC2_METADATA_DISABLED="true", NO_COLOR="1")
env.pop("AWS_PROFILE", None)
env.pop("AWS_ENDPOINT_URL", None)


def start(cmd):
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
    return proc, int(proc.stdout.readline())


moto, moto_port = start([".venv/bin/python", "scripts/moto-server.py"])
proxy, proxy_port = start(["target/debug/examples/chaos_proxy", str(moto_port), str(latency_ms)])
direct = f"http://127.0.0.1:{moto_port}"
via_proxy = f"http://127.0.0.1:{proxy_port}"


def counts():
    proxy.stdin.write("counts\n")
    proxy.stdin.flush()
    return json.loads(proxy.stdout.readline())


def flowgate(endpoint, *args):
    subprocess.run(["target/debug/flowgate", "--endpoint-url", endpoint, "-q", *args], check=True, env=env, stdout=subprocess.DEVNULL)


try:
    s3 = boto3.client("s3", endpoint_url=direct, region_name="us-east-1", aws_access_key_id="bench", aws_secret_access_key="bench")
    s3.create_bucket(Bucket=BUCKET)
    for region in regions:
        ec2 = boto3.client("ec2", endpoint_url=direct, region_name=region, aws_access_key_id="bench", aws_secret_access_key="bench")
        for i in range(vpcs_per_region - 1):  # plus the default VPC
            ec2.create_vpc(CidrBlock=f"10.{i + 1}.0.0/16")
    region_list = ",".join(regions)
    # Warm the emulator (its first call per region builds default resources), untimed and direct.
    subprocess.run(["target/debug/flowgate", "--endpoint-url", direct, "-q", "flowlogs", "status", "--bucket", BUCKET, "--regions", region_list], env=env, stdout=subprocess.DEVNULL)
    counts()

    t0 = time.perf_counter()
    flowgate(via_proxy, "flowlogs", "enable", "--bucket", BUCKET, "--regions", region_list, "--yes")
    flowgate_s = time.perf_counter() - t0
    flowgate_calls = counts()

    flowgate(direct, "flowlogs", "disable", "--regions", region_list, "--yes")
    counts()

    aws = [".venv-bench/bin/aws", "--endpoint-url", via_proxy, "--output", "text"]
    t0 = time.perf_counter()
    for region in regions:
        vpcs = subprocess.run([*aws, "ec2", "describe-vpcs", "--region", region, "--query", "Vpcs[].VpcId"], check=True, env=env, capture_output=True, text=True).stdout.split()
        for vpc in vpcs:
            existing = subprocess.run([*aws, "ec2", "describe-flow-logs", "--region", region, "--filter", f"Name=resource-id,Values={vpc}", "--query", "FlowLogs[].FlowLogId"], check=True, env=env, capture_output=True, text=True).stdout.split()
            if not existing:
                subprocess.run([*aws, "ec2", "create-flow-logs", "--region", region, "--resource-type", "VPC", "--resource-ids", vpc, "--traffic-type", "ALL",
                                "--log-destination-type", "s3", "--log-destination", f"arn:aws:s3:::{BUCKET}", "--log-format", FORMAT],
                               check=True, env=env, capture_output=True)
    cli_s = time.perf_counter() - t0
    cli_calls = counts()

    # flowgate's critical path: identity -> regions -> (bucket check || per region: VPCs -> flow
    # logs) -> per region: create. Regions run in parallel (up to --concurrency 8).
    sequential_round_trips = 2 + 2 + 1 if n_regions <= 8 else None
    floor_s = sequential_round_trips * latency_ms / 1000
    result = {
        "regions": n_regions, "vpcs_per_region": vpcs_per_region, "latency_ms": latency_ms,
        "flowgate_s": round(flowgate_s, 3), "flowgate_calls": flowgate_calls["total"], "flowgate_mutating_calls": flowgate_calls["mutating"],
        "cli_loop_s": round(cli_s, 3), "cli_calls": cli_calls["total"], "cli_mutating_calls": cli_calls["mutating"],
        "speedup": round(cli_s / flowgate_s, 1),
        "latency_floor_s": floor_s, "flowgate_over_floor": round(flowgate_s / floor_s, 2) if floor_s else None,
        "overhead_beyond_floor_s": round(flowgate_s - floor_s, 3),
    }
    print(json.dumps(result, indent=2))
finally:
    for proc in (proxy, moto):
        proc.stdin.close()
        proc.wait(timeout=10)
