"""AWS errors in plain words, with the fix: the one place that maps them.

`explain(error)` takes anything boto3 raises and returns an `Explanation`:
what was found (`found`) and what to do (`fix`), both safe to show in Slack.
They never carry AWS's raw message, a request ID, a stack trace or any
credential; the details go to the log (warning), credential-looking strings
redacted.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
    ParamValidationError,
    PartialCredentialsError,
    ReadTimeoutError,
)

log = logging.getLogger(__name__)

ACCESS_DENIED = frozenset({"AccessDenied", "AccessDeniedException", "UnauthorizedOperation"})
THROTTLING = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "RequestThrottled",
        "RequestThrottledException",
        "SlowDown",
        "ProvisionedThroughputExceededException",
    }
)
BAD_BOT_CREDENTIALS = frozenset(
    {
        "InvalidClientTokenId",
        "SignatureDoesNotMatch",
        "UnrecognizedClientException",
        "InvalidAccessKeyId",
        "AuthFailure",
        "MissingAuthenticationToken",
        "IncompleteSignature",
    }
)
EXPIRED_CREDENTIALS = frozenset({"ExpiredToken", "ExpiredTokenException", "RequestExpired"})
AWS_SIDE = frozenset(
    {"InternalFailure", "InternalError", "ServiceUnavailable", "ServiceException", "ServiceUnavailableException"}
)

TRY_AGAIN = "Try again in a few minutes; if it keeps happening, ask the bot's operator to check the logs."
OPERATOR = "Ask the bot's operator to check the bot's AWS credentials; nothing to change on your side."
DEPLOY_UNCHANGED = (
    "Deploy the template the bot uploaded for THIS connection, unchanged, in the management account; "
    "then validate again with the RoleArn from the stack's Outputs."
)

# What the assumed role is allowed to do, by operation: named in AccessDenied messages.
PERMISSION = {
    "DescribeOrganization": "organizations:DescribeOrganization",
    "ListRoots": "organizations:ListRoots",
    "ListAWSServiceAccessForOrganization": "organizations:ListAWSServiceAccessForOrganization",
    "ListAccounts": "organizations:ListAccounts",
    "DescribeStackSet": "cloudformation:DescribeStackSet",
    "ListStackInstances": "cloudformation:ListStackInstances",
}

_CREDENTIAL_LIKE = re.compile(
    r"\b(?:AKIA|ASIA|AIDA|AROA)[A-Z0-9]{12,}\b"  # access key and principal IDs
    r"|[A-Za-z0-9/+=]{40,}"  # secrets, session tokens, signatures
)


@dataclass(frozen=True)
class Explanation:
    code: str  # the AWS error code, or a short name for errors without one
    found: str  # what happened, in plain words
    fix: str  # what to do


def error_code(error: BaseException) -> str:
    """The AWS error code of a `ClientError`; the class name of anything else."""
    if isinstance(error, ClientError):
        return str(error.response.get("Error", {}).get("Code") or "Unknown")
    return type(error).__name__


def redact(text: str) -> str:
    """`text` with anything that looks like a credential replaced."""
    return _CREDENTIAL_LIKE.sub("[redacted]", text)


def is_throttling(error: BaseException) -> bool:
    return isinstance(error, ClientError) and error_code(error) in THROTTLING


def is_access_denied(error: BaseException) -> bool:
    return isinstance(error, ClientError) and error_code(error) in ACCESS_DENIED


def explain(error: BaseException, *, context: str = "") -> Explanation:
    """Plain words and the fix for `error`; logs the details (at warning) without secrets.

    `context` (e.g. "organization") only goes to the log line.
    """
    explanation = _explain(error)
    detail = error.response.get("Error", {}).get("Message", "") if isinstance(error, ClientError) else str(error)
    log.warning(
        "aws error%s: %s %s: %s",
        f" during {context}" if context else "",
        explanation.code,
        getattr(error, "operation_name", "") or "",
        redact(str(detail))[:500],
    )
    return explanation


def _explain(error: BaseException) -> Explanation:
    if isinstance(error, ParamValidationError):  # botocore's own checks: no `.response`
        return Explanation(
            "ParamValidationError",
            "the request was refused before it reached AWS: the role ARN or the ExternalId is malformed",
            "Paste the RoleArn exactly as shown in the stack's Outputs tab (arn:aws:iam::123456789012:role/Name). "
            "If it is right, start over so the bot renders a fresh template.",
        )
    if isinstance(error, (NoCredentialsError, PartialCredentialsError)):
        return Explanation(
            type(error).__name__,
            "the bot has no AWS credentials (operator)",
            "Ask the bot's operator to give the bot AWS credentials (the standard boto3 chain); "
            "nothing to change on your side.",
        )
    if isinstance(error, NoRegionError):
        return Explanation("NoRegionError", "the bot has no AWS region configured (operator)", OPERATOR)
    if isinstance(error, (EndpointConnectionError, ConnectTimeoutError, ReadTimeoutError, ConnectionClosedError)):
        return Explanation(type(error).__name__, "could not reach AWS; try again", TRY_AGAIN)
    if isinstance(error, ClientError):
        return _explain_client_error(error)
    if isinstance(error, BotoCoreError):
        return Explanation(type(error).__name__, f"the AWS client failed ({type(error).__name__})", TRY_AGAIN)
    return Explanation(type(error).__name__, f"unexpected error ({type(error).__name__})", TRY_AGAIN)


def _explain_client_error(error: ClientError) -> Explanation:
    code = error_code(error)
    operation = getattr(error, "operation_name", "") or ""
    if code in THROTTLING:
        return Explanation(code, "AWS is throttling; try again in a minute", "Validate again in a minute.")
    if code in BAD_BOT_CREDENTIALS:
        return Explanation(code, "AWS refused the bot's own credentials (operator problem)", OPERATOR)
    if code in EXPIRED_CREDENTIALS:
        return Explanation(code, "the AWS credentials expired during validation", "Validate again.")
    if code in ACCESS_DENIED and operation == "AssumeRole":
        return Explanation(
            code,
            "AWS denied assuming the role: the role's trust policy does not trust the Cloud Entitlements "
            "account, or the ExternalId differs",
            DEPLOY_UNCHANGED,
        )
    if code in ACCESS_DENIED:
        permission = PERMISSION.get(operation, operation or "this call")
        return Explanation(
            code,
            f"the role is not allowed to call {permission}",
            "The role's policy was changed or is not the one from the template. " + DEPLOY_UNCHANGED,
        )
    if code == "RegionDisabledException":
        return Explanation(
            code,
            "AWS STS is not activated in this region for the account",
            "IAM → Account settings → activate STS in the region, then validate again.",
        )
    if code == "AWSOrganizationsNotInUseException":
        return Explanation(
            code,
            "the role's account is not in any AWS organization",
            "Deploy the stack in the management account of your organization (AWS Organizations → the account "
            "marked Management account), then validate again with the new RoleArn.",
        )
    if code == "StackSetNotFoundException":
        return Explanation(
            code,
            "the member StackSet was not found",
            "Deploy the template the bot uploaded for this connection in the management account; "
            "the stack creates the StackSet.",
        )
    if code in ("ValidationError", "MalformedPolicyDocument", "InvalidParameterValue", "InvalidInput"):
        return Explanation(
            code,
            "AWS refused the request as invalid (often a malformed role ARN)",
            "Paste the RoleArn exactly as shown in the stack's Outputs tab, then validate again.",
        )
    if code in AWS_SIDE:
        return Explanation(code, "AWS had an internal error", TRY_AGAIN)
    return Explanation(code, f"AWS answered with the error {code}", TRY_AGAIN)
