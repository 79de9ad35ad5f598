"""What scripts/test-live needs besides flowgate, with boto3: the caller's account, a VPC to enable
flow logs on, and the cleanup pass that removes everything a run created, whatever step it
stopped at, and reports what it could not remove.

Usage: live-helper.py account
       live-helper.py create-vpc REGION RUN_ID
       live-helper.py cleanup REGION RUN_ID VPC_ID BUCKET STACK ROLE
       live-helper.py watched-vpc REGION RUN_ID BUCKET TIMEOUT_SECONDS

Credentials, profile and endpoint come from the environment (AWS_PROFILE, AWS_ENDPOINT_URL), as
for flowgate. Needs boto3 (pip install boto3).
"""
import os
import sys
import time

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

RUN_TAG = "flowgate-live-run"


def client(service, region):
    # An emulator endpoint is an IP address: S3 must use path-style addressing there.
    config = Config(s3={"addressing_style": "path"}) if os.environ.get("AWS_ENDPOINT_URL") else None
    return boto3.client(service, region_name=region, config=config)


def code(error):
    return error.response.get("Error", {}).get("Code", "")


def account():
    print(client("sts", os.environ.get("AWS_REGION", "us-east-1")).get_caller_identity()["Account"])


def create_vpc(region, run_id):
    ec2 = client("ec2", region)
    tags = [{"Key": "Name", "Value": f"flowgate-live-{run_id}"}, {"Key": RUN_TAG, "Value": run_id}]
    vpc = ec2.create_vpc(CidrBlock="10.99.0.0/16", TagSpecifications=[{"ResourceType": "vpc", "Tags": tags}])
    print(vpc["Vpc"]["VpcId"])


def watched_vpc(region, run_id, bucket, timeout):
    """Creates a VPC and waits (at most TIMEOUT_SECONDS) for the watcher to give it flowgate's
    flow log to BUCKET (tagged flowgate:managed=true); then removes the flow log and the VPC,
    whatever came of the wait. Exit 0 when the flow log came, 1 otherwise."""
    ec2 = client("ec2", region)
    tags = [{"Key": "Name", "Value": f"flowgate-live-{run_id}-watched"}, {"Key": RUN_TAG, "Value": run_id}]
    vpc_id = ec2.create_vpc(CidrBlock="10.98.0.0/16", TagSpecifications=[{"ResourceType": "vpc", "Tags": tags}])["Vpc"]["VpcId"]
    print(f"watched-vpc: created {vpc_id}; waiting up to {timeout}s for its flow log")
    found, deadline = None, time.monotonic() + int(timeout)
    try:
        # CloudTrail delivers the CreateVpc event to EventBridge within minutes, the Automation
        # then runs in seconds.
        while time.monotonic() < deadline and not found:
            logs = ec2.describe_flow_logs(Filters=[{"Name": "resource-id", "Values": [vpc_id]}])["FlowLogs"]
            found = next((f for f in logs if {"Key": "flowgate:managed", "Value": "true"} in f.get("Tags", [])
                          and f.get("LogDestination", "").startswith(f"arn:aws:s3:::{bucket}")), None)
            if not found:
                time.sleep(15)
    finally:
        logs = ec2.describe_flow_logs(Filters=[{"Name": "resource-id", "Values": [vpc_id]}])["FlowLogs"]
        if logs:
            ec2.delete_flow_logs(FlowLogIds=[f["FlowLogId"] for f in logs])
        ec2.delete_vpc(VpcId=vpc_id)
        print(f"watched-vpc: removed {vpc_id} and its {len(logs)} flow log(s)")
    if not found:
        print(f"watched-vpc: no flowgate flow log on {vpc_id} after {timeout}s", file=sys.stderr)
        sys.exit(1)
    print(f"watched-vpc: {found['FlowLogId']} ({found.get('LogFormat', '')[:40]}...) came by itself")


def cleanup(region, run_id, vpc_id, bucket, stack, role):
    """Removes what the run created, each kind independently, and prints one line per resource:
    'removed', 'absent' (already gone) or 'LEFT' with the reason. Exit 1 when anything is left."""
    left = []

    def attempt(what, action):
        try:
            result = action()
            print(f"cleanup: {what}: {result}")
        except Exception as error:  # noqa: BLE001 - every failure is reported, none stops the pass
            left.append(what)
            print(f"cleanup: {what}: LEFT ({error})")

    ec2 = client("ec2", region)

    def flow_logs():
        if not vpc_id:
            return "absent"
        found = ec2.describe_flow_logs(Filters=[{"Name": "resource-id", "Values": [vpc_id]}])["FlowLogs"]
        ids = [f["FlowLogId"] for f in found]
        if not ids:
            return "absent"
        result = ec2.delete_flow_logs(FlowLogIds=ids)
        failed = result.get("Unsuccessful") or []
        if failed:
            raise RuntimeError(f"{len(failed)} of {len(ids)} not deleted: {failed}")
        return f"removed {', '.join(ids)}"

    def the_stack():
        cfn = client("cloudformation", region)
        try:
            status = cfn.describe_stacks(StackName=stack)["Stacks"][0]["StackStatus"]
        except ClientError as error:
            if "does not exist" in str(error):
                return "absent"
            raise
        if status == "DELETE_COMPLETE":
            return "absent"
        cfn.delete_stack(StackName=stack)
        deadline = time.time() + 600
        while time.time() < deadline:
            try:
                status = cfn.describe_stacks(StackName=stack)["Stacks"][0]["StackStatus"]
            except ClientError as error:
                if "does not exist" in str(error):
                    return "removed"
                raise
            if status == "DELETE_COMPLETE":
                return "removed"
            if status == "DELETE_FAILED":
                raise RuntimeError("DELETE_FAILED")
            time.sleep(5)
        raise RuntimeError(f"still {status} after 10 minutes")

    def the_role():
        # Left behind only when the stack's deletion failed: inline policies go first.
        iam = client("iam", region)
        try:
            iam.get_role(RoleName=role)
        except ClientError as error:
            if code(error) == "NoSuchEntity":
                return "absent"
            raise
        for name in iam.list_role_policies(RoleName=role)["PolicyNames"]:
            iam.delete_role_policy(RoleName=role, PolicyName=name)
        for attached in iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"]:
            iam.detach_role_policy(RoleName=role, PolicyArn=attached["PolicyArn"])
        iam.delete_role(RoleName=role)
        return "removed"

    def the_bucket():
        s3 = client("s3", region)
        try:
            s3.head_bucket(Bucket=bucket)
        except ClientError as error:
            if code(error) in ("404", "NoSuchBucket", "NotFound"):
                return "absent"
            raise
        removed = 0
        for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
            objects = [{"Key": v["Key"], "VersionId": v["VersionId"]} for v in page.get("Versions", []) + page.get("DeleteMarkers", [])]
            if objects:
                s3.delete_objects(Bucket=bucket, Delete={"Objects": objects, "Quiet": True})
                removed += len(objects)
        s3.delete_bucket(Bucket=bucket)
        return f"removed ({removed} object version(s) deleted first)"

    def the_vpc():
        if not vpc_id:
            return "absent"
        try:
            ec2.delete_vpc(VpcId=vpc_id)
        except ClientError as error:
            if code(error) == "InvalidVpcID.NotFound":
                return "absent"
            raise
        return "removed"

    attempt(f"flow logs of {vpc_id or '(no vpc)'}", flow_logs)
    attempt(f"stack {stack}", the_stack)
    attempt(f"role {role}", the_role)
    attempt(f"bucket {bucket}", the_bucket)
    attempt(f"vpc {vpc_id or '(none created)'}", the_vpc)
    if left:
        print(f"cleanup: {len(left)} resource(s) LEFT in the account (tagged {RUN_TAG}={run_id}): {'; '.join(left)}")
        sys.exit(1)
    print("cleanup: nothing left")


if __name__ == "__main__":
    command, args = (sys.argv[1], sys.argv[2:]) if len(sys.argv) > 1 else ("", [])
    if command == "account" and not args:
        account()
    elif command == "create-vpc" and len(args) == 2:
        create_vpc(*args)
    elif command == "watched-vpc" and len(args) == 4:
        watched_vpc(*args)
    elif command == "cleanup" and len(args) == 6:
        cleanup(*args)
    else:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
