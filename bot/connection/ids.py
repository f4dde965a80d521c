"""Parsing of the identifiers a user types: organization ID, root ID, role ARN.

Patterns follow AWS's own: an organization ID is `o-` + 10 to 32 lowercase
letters or digits, a root ID `r-` + 4 to 32, a role ARN
`arn:<partition>:iam::<12 digits>:role/<path/><name>`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, TypeVar

T = TypeVar("T")

ORGANIZATION_ID = re.compile(r"o-[a-z0-9]{10,32}")
ROOT_ID = re.compile(r"r-[a-z0-9]{4,32}")
ROLE_ARN = re.compile(
    r"arn:(?P<partition>aws|aws-us-gov|aws-cn|aws-iso|aws-iso-b|aws-iso-e|aws-iso-f|aws-eusc)"
    r":iam::(?P<account>\d{12}):role/(?P<path>(?:[\w+=,.@-]+/)*)(?P<name>[\w+=,.@-]{1,64})",
    re.ASCII,  # \d and \w would take any script's digits and letters; IAM takes ASCII only
)
ACCOUNT_ID = re.compile(r"\d{12}", re.ASCII)
MAX_INPUT = 2048  # longer than any valid ARN; anything longer is refused unread


class InvalidInput(ValueError):
    """Values the user typed are not acceptable: `errors` maps each input's field to why."""

    def __init__(self, field: str, message: str, *, more: dict[str, str] | None = None):
        super().__init__(message)
        self.field = field
        self.message = message
        self.errors = {field: message, **(more or {})}


def parse_all(**parsers: tuple[Callable[[str | None], T], str | None]) -> dict[str, T]:
    """Parse several inputs and report every bad one at once: `field=(parser, value)`."""
    parsed, errors = {}, {}
    for field, (parser, value) in parsers.items():
        try:
            parsed[field] = parser(value)
        except InvalidInput as error:
            errors[field] = error.message
    if errors:
        first = next(iter(errors))
        raise InvalidInput(first, errors[first], more=errors)
    return parsed


@dataclass(frozen=True)
class RoleArn:
    arn: str
    partition: str
    account_id: str
    name: str


def _clean(value: str | None) -> str:
    return (value or "").strip()


def parse_organization_id(value: str | None, field: str = "organization_id") -> str:
    text = _clean(value)
    if not text:
        raise InvalidInput(field, "Enter the organization ID, for example o-a1b2c3d4e5.")
    if len(text) > MAX_INPUT:
        raise InvalidInput(field, "That is far too long to be an organization ID.")
    if ROOT_ID.fullmatch(text):
        raise InvalidInput(
            field,
            "That is a root ID (r-…). The organization ID starts with o-; "
            "find it in AWS Organizations → Settings.",
        )
    if not ORGANIZATION_ID.fullmatch(text):
        raise InvalidInput(
            field,
            "An organization ID is o- followed by 10 to 32 lowercase letters or digits, "
            "for example o-a1b2c3d4e5.",
        )
    return text


def parse_root_id(value: str | None, field: str = "root_id") -> str:
    text = _clean(value)
    if not text:
        raise InvalidInput(field, "Enter the root ID, for example r-ab12.")
    if len(text) > MAX_INPUT:
        raise InvalidInput(field, "That is far too long to be a root ID.")
    if ORGANIZATION_ID.fullmatch(text):
        raise InvalidInput(
            field,
            "That is an organization ID (o-…). The root ID starts with r-; "
            "find it in AWS Organizations → AWS accounts, next to Root.",
        )
    if not ROOT_ID.fullmatch(text):
        raise InvalidInput(
            field,
            "A root ID is r- followed by 4 to 32 lowercase letters or digits, for example r-ab12.",
        )
    return text


def parse_role_arn(value: str | None, field: str = "role_arn") -> RoleArn:
    text = _clean(value)
    if not text:
        raise InvalidInput(field, "Paste the RoleArn value from the stack's Outputs tab.")
    if len(text) > MAX_INPUT:
        raise InvalidInput(field, "That is far too long to be a role ARN.")
    match = ROLE_ARN.fullmatch(text)
    if not match:
        raise InvalidInput(
            field,
            "A role ARN looks like arn:aws:iam::123456789012:role/RoleName. "
            "Copy RoleArn from the stack's Outputs tab in CloudFormation.",
        )
    return RoleArn(
        arn=text,
        partition=match["partition"],
        account_id=match["account"],
        name=match["name"],
    )
