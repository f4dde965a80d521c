"""AWS regions: what a region name looks like, and the regions the role modal offers for the stack.

The modal's region is a select, but a submission's payload is not to be trusted: a region is accepted
only when the modal offers it, which is the list below plus the configured AWS_REGION (the region
each connection starts with). A stack in a region missing from the list is served by setting
AWS_REGION to it.
"""

from __future__ import annotations

import re

from bot.connection.ids import InvalidInput

# ASCII only (\d would take any script's digits) and bounded: 2 letters, 1 to 3 words, a number.
REGION_NAME = re.compile(r"[a-z]{2}(?:-[a-z]{1,16}){1,3}-[0-9]{1,2}", re.ASCII)

# Regions where CloudFormation StackSets with service-managed permissions run.
STACK_REGIONS = (
    "us-east-1", "us-east-2", "us-west-1", "us-west-2", "ca-central-1", "sa-east-1",
    "eu-west-1", "eu-west-2", "eu-west-3", "eu-central-1", "eu-central-2", "eu-north-1", "eu-south-1",
    "ap-south-1", "ap-northeast-1", "ap-northeast-2", "ap-northeast-3", "ap-southeast-1",
    "ap-southeast-2", "ap-east-1", "me-south-1", "af-south-1",
    "ap-south-2", "ap-southeast-3", "ap-southeast-4", "ap-southeast-5", "ap-southeast-7", "ca-west-1",
    "eu-south-2", "il-central-1", "me-central-1", "mx-central-1",
    "us-gov-west-1", "us-gov-east-1", "cn-north-1", "cn-northwest-1",
)  # fmt: skip

NOT_OFFERED = (
    "Choose the region where you created the stack, from the list. If it is not there, ask whoever "
    "runs ce-bot to set AWS_REGION to it."
)


def is_region_name(text: str) -> bool:
    return REGION_NAME.fullmatch(text) is not None


def offered(configured: str) -> list[str]:
    """The regions the role modal offers when the configured AWS_REGION is `configured`, sorted."""
    return sorted({*STACK_REGIONS, configured})


def parse_region(value: str, *, configured: str, field: str = "region") -> str:
    """The region submitted with the role modal: one it offers, or `InvalidInput` (never echoing it)."""
    text = value.strip()
    if text not in STACK_REGIONS and text != configured:
        raise InvalidInput(field, NOT_OFFERED)
    return text
