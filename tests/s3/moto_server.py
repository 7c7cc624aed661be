#!/usr/bin/env python3
"""moto's server (S3, STS, IAM) checking signatures as AWS does, except for the one call AWS
takes unsigned: STS AssumeRoleWithWebIdentity (its proof is the web identity token), which moto
would otherwise refuse for lack of a signature once it checks them. Arguments are moto_server's."""
import sys

from moto.core.authorization import ActionAuthenticatorMixin

checked = ActionAuthenticatorMixin._authenticate_and_authorize_action


def authenticate(self, iam_request_cls, resource="*"):
    if self._get_action() == "AssumeRoleWithWebIdentity" and not self.headers.get("Authorization"):
        return
    return checked(self, iam_request_cls, resource)


ActionAuthenticatorMixin._authenticate_and_authorize_action = authenticate

from moto.server import main  # noqa: E402

main(sys.argv[1:])
