"""explain(): every known AWS error in plain words with a fix, nothing secret shown."""

from __future__ import annotations

import logging

import pytest
from botocore.exceptions import (
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    ParamValidationError,
    PartialCredentialsError,
    ReadTimeoutError,
)

from bot.aws.explain import error_code, explain, redact

SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEYsecret"
ACCESS_KEY = "ASIAIOSFODNN7EXAMPLE"


def client_error(code: str, operation: str = "DescribeOrganization", status: int = 400) -> ClientError:
    return ClientError(
        {
            "Error": {"Code": code, "Message": f"raw message with {ACCESS_KEY} and {SECRET}"},
            "ResponseMetadata": {"RequestId": "5f1c3a2e-request-id-0000", "HTTPStatusCode": status},
        },
        operation,
    )


CASES = [
    (
        client_error("AccessDenied", "AssumeRole", 403),
        "AWS denied assuming the role: the role's trust policy does not trust the Cloud Entitlements account, "
        "or the ExternalId differs",
        "THIS connection, unchanged",
    ),
    (
        client_error("AccessDeniedException", "ListAccounts", 403),
        "the role is not allowed to call organizations:ListAccounts",
        "unchanged",
    ),
    (
        client_error("AccessDenied", "DescribeStackSet", 403),
        "the role is not allowed to call cloudformation:DescribeStackSet",
        "unchanged",
    ),
    (client_error("Throttling", "AssumeRole"), "AWS is throttling; try again in a minute", "in a minute"),
    (client_error("TooManyRequestsException"), "AWS is throttling; try again in a minute", "in a minute"),
    (client_error("ThrottlingException", "ListStackInstances"), "AWS is throttling; try again in a minute", "minute"),
    (
        client_error("InvalidClientTokenId", "AssumeRole", 403),
        "AWS refused the bot's own credentials (operator problem)",
        "operator",
    ),
    (client_error("ExpiredToken", "ListRoots"), "the AWS credentials expired during validation", "Validate again"),
    (
        client_error("AWSOrganizationsNotInUseException"),
        "the role's account is not in any AWS organization",
        "management account",
    ),
    (client_error("StackSetNotFoundException", "DescribeStackSet"), "the member StackSet was not found", "Deploy"),
    (client_error("ValidationError", "AssumeRole"), "AWS refused the request as invalid (often a malformed role ARN)", "RoleArn"),
    (client_error("ServiceUnavailable"), "AWS had an internal error", "Try again"),
    (client_error("SomethingNew"), "AWS answered with the error SomethingNew", "Try again"),
    (
        ParamValidationError(report="Invalid length for parameter ExternalId, value: 1, valid min length: 2"),
        "the request was refused before it reached AWS: the role ARN or the ExternalId is malformed",
        "RoleArn",
    ),
    (EndpointConnectionError(endpoint_url="https://sts.amazonaws.com"), "could not reach AWS; try again", "Try again"),
    (ConnectTimeoutError(endpoint_url="https://sts.amazonaws.com"), "could not reach AWS; try again", "Try again"),
    (
        ReadTimeoutError(endpoint_url="https://organizations.us-east-1.amazonaws.com"),
        "could not reach AWS; try again",
        "Try again",
    ),
    (NoCredentialsError(), "the bot has no AWS credentials (operator)", "operator"),
    (PartialCredentialsError(provider="env", cred_var="AWS_SECRET_ACCESS_KEY"), "the bot has no AWS credentials (operator)", "operator"),
    (RuntimeError(f"boom {SECRET}"), "unexpected error (RuntimeError)", "Try again"),
]


@pytest.mark.parametrize("error, found, fix_part", CASES, ids=[error_code(c[0]) + str(i) for i, c in enumerate(CASES)])
def test_explain_maps_each_known_error(error, found, fix_part, caplog):
    caplog.set_level(logging.WARNING, logger="bot.aws.explain")
    explanation = explain(error, context="a check")
    assert explanation.found == found
    assert fix_part in explanation.fix
    shown = explanation.found + explanation.fix
    for leak in (SECRET, ACCESS_KEY, "request-id", "Traceback", "raw message"):
        assert leak not in shown
    # logged once, at warning, without the credentials
    records = [r for r in caplog.records if r.name == "bot.aws.explain"]
    assert len(records) == 1 and records[0].levelno == logging.WARNING
    assert SECRET not in caplog.text and ACCESS_KEY not in caplog.text
    assert "a check" in caplog.text


def test_error_code():
    assert error_code(client_error("AccessDenied")) == "AccessDenied"
    assert error_code(NoCredentialsError()) == "NoCredentialsError"
    assert explain(client_error("SomethingNew")).code == "SomethingNew"


def test_redact_keeps_ordinary_words_and_hides_credentials():
    text = f"key {ACCESS_KEY} secret {SECRET} on arn:aws:iam::123456789012:role/CloudEntitlementsManagementRole"
    redacted = redact(text)
    assert ACCESS_KEY not in redacted and SECRET not in redacted
    assert "arn:aws:iam::123456789012:role/CloudEntitlementsManagementRole" in redacted
