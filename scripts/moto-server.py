"""Runs moto in server mode on a free loopback port, prints the port on stdout, and stops when its
stdin closes, so it never outlives the test or script that started it.

Usage: .venv/bin/python scripts/moto-server.py [PORT]
"""
import logging
import os
import sys

# moto's EC2 creates its catalogue of AWS's AMIs (each with a snapshot and a volume) in every
# account and region it is first asked about, and again on every reset: a third of the
# emulator's CPU in the organization tests. flowgate never reads an AMI. Set before moto is
# imported (moto reads its settings then); an explicit setting in the environment wins.
os.environ.setdefault("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")

from moto.s3.responses import S3Response  # noqa: E402
from moto.server import ThreadedMotoServer  # noqa: E402

logging.getLogger("werkzeug").setLevel(logging.ERROR)

# moto 5.2.5 answers GetBucketVersioning with the root element GetBucketVersioningResponse, where
# S3 answers VersioningConfiguration (GetBucketVersioning, Amazon S3 API Reference:
# https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetBucketVersioning.html): boto3 does not
# look at the root, the Rust SDK refuses the answer. Renamed here so flowgate reads it as from S3.
_get_bucket_versioning = S3Response.get_bucket_versioning


def _aws_shaped_versioning(self):
    status, headers, body = _get_bucket_versioning(self)
    if isinstance(body, bytes):
        body = body.replace(b"GetBucketVersioningResponse", b"VersioningConfiguration")
    elif isinstance(body, str):
        body = body.replace("GetBucketVersioningResponse", "VersioningConfiguration")
    return status, headers, body


S3Response.get_bucket_versioning = _aws_shaped_versioning

port = int(sys.argv[1]) if len(sys.argv) > 1 else 0
server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
server.start()
print(server.get_host_and_port()[1], flush=True)
try:
    sys.stdin.read()
finally:
    server.stop()
