#!/usr/bin/env python3
"""Sets up the moto server of moto.sh for the pod-credential tests, as an AWS account would be:

    moto_setup.py ENDPOINT ENV_FILE

A bucket, and a role with S3 allowed that a web identity may assume
(AssumeRoleWithWebIdentity: the pod's, and creds_server.py's for the container endpoint and IMDSv2
it plays). moto checks every later request's signature against the credentials STS
issues for it. Writes the names to ENV_FILE as shell assignments."""
import json
import sys

import boto3

endpoint, env_file = sys.argv[1:3]
# (the first requests run before moto checks signatures: they are counted in moto.sh)
kw = dict(endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="AKIDSETUP",
          aws_secret_access_key="setup")
s3_all = json.dumps({"Version": "2012-10-17",
                     "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]})
trust = json.dumps({"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Action": "sts:AssumeRoleWithWebIdentity",
    "Principal": {"Federated": "arn:aws:iam::123456789012:oidc-provider/oidc.test"}}]})
iam = boto3.client("iam", **kw)
boto3.client("s3", **kw).create_bucket(Bucket="k8sha-pods")                      # 1
role = iam.create_role(RoleName="k8sha-pod", AssumeRolePolicyDocument=trust)["Role"]["Arn"]  # 2
iam.put_role_policy(RoleName="k8sha-pod", PolicyName="s3", PolicyDocument=s3_all)  # 3
with open(env_file, "w") as f:
    f.write("K8SHA_TEST_MOTO_BUCKET=k8sha-pods\n")
    f.write("K8SHA_TEST_MOTO_ROLE_ARN='%s'\n" % role)
