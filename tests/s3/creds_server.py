#!/usr/bin/env python3
"""The credential sources a pod has, on loopback, for the s3 tests: the container credentials
endpoint (ECS, EKS Pod Identity) and IMDSv2, each handing out temporary credentials of ROLE_ARN
that STS (moto's, at STS_ENDPOINT) issued (as the node's agent would have them), with the expiry
the test asks for, and counting what it was asked.

    creds_server.py STS_ENDPOINT ROLE_ARN PORT_FILE

Container endpoint: GET /container/<lifetime seconds>, which requires the header
"Authorization: container-secret". IMDSv2: PUT /latest/api/token (with
X-aws-ec2-metadata-token-ttl-seconds) gives a session token, which the GETs of
/latest/meta-data/iam/security-credentials/ (the role's name) and .../<role> (its credentials,
valid an hour) require. GET /hits: how many credentials each source handed out, as JSON.
The port it listens on (127.0.0.1) goes to PORT_FILE once it listens."""
import datetime
import http.server
import json
import os
import sys

import boto3
import botocore
import botocore.config

STS, ROLE_ARN, PORT_FILE = sys.argv[1:4]
ROLE = "libk8sha-test-role"
IMDS_TOKEN = "imds-session-token"
hits = {"container": 0, "imds": 0}


def credentials(source, lifetime):
    hits[source] += 1
    sts = boto3.client("sts", endpoint_url=STS, region_name="us-east-1",
                       config=botocore.config.Config(signature_version=botocore.UNSIGNED))
    issued = sts.assume_role_with_web_identity(
        RoleArn=ROLE_ARN, RoleSessionName="node-%d" % hits[source],
        WebIdentityToken="node-agent-token")["Credentials"]
    expires = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=lifetime)
    return {"AccessKeyId": issued["AccessKeyId"], "SecretAccessKey": issued["SecretAccessKey"],
            "Token": issued["SessionToken"], "Expiration": expires.strftime("%Y-%m-%dT%H:%M:%SZ")}


class Handler(http.server.BaseHTTPRequestHandler):
    def answer(self, code, body, kind="application/json"):
        data = body if isinstance(body, bytes) else body.encode()
        self.send_response(code)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_PUT(self):
        if self.path != "/latest/api/token":
            return self.answer(404, "{}")
        if not self.headers.get("X-aws-ec2-metadata-token-ttl-seconds"):
            return self.answer(400, "missing ttl", "text/plain")
        self.answer(200, IMDS_TOKEN, "text/plain")

    def do_GET(self):
        if self.path == "/hits":
            return self.answer(200, json.dumps(hits))
        if self.path.startswith("/container/"):
            if self.headers.get("Authorization") != "container-secret":
                return self.answer(403, json.dumps({"message": "bad authorization token"}))
            return self.answer(200, json.dumps(credentials("container", int(self.path[11:]))))
        prefix = "/latest/meta-data/iam/security-credentials/"
        if self.path.startswith(prefix):
            if self.headers.get("X-aws-ec2-metadata-token") != IMDS_TOKEN:
                return self.answer(401, "", "text/plain")
            if self.path == prefix:
                return self.answer(200, ROLE, "text/plain")
            if self.path == prefix + ROLE:
                body = dict(credentials("imds", 3600), Code="Success", Type="AWS-HMAC")
                return self.answer(200, json.dumps(body))
        self.answer(404, "{}")

    def log_message(self, fmt, *args):
        pass


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
with open(PORT_FILE + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
os.rename(PORT_FILE + ".tmp", PORT_FILE)
server.serve_forever()
