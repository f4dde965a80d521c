import pytest

from bot.connection.ids import InvalidInput, parse_organization_id, parse_role_arn, parse_root_id


@pytest.mark.parametrize("value", ["o-a1b2c3d4e5", "o-" + "a" * 32, "  o-abcdefghij  "])
def test_organization_id_accepts_aws_pattern(value):
    assert parse_organization_id(value) == value.strip()


@pytest.mark.parametrize(
    "value, hint",
    [
        ("", "Enter"),
        ("o-abc", "10 to 32"),
        ("o-ABCDEFGHIJ", "lowercase"),
        ("o-" + "a" * 33, "10 to 32"),
        ("r-ab12", "root ID"),
        ("<!channel>", "o- followed"),
        ("o-abcdefghij\nx", "o- followed"),
        ("x" * 5000, "too long"),
    ],
)
def test_organization_id_refuses_with_a_reason(value, hint):
    with pytest.raises(InvalidInput) as err:
        parse_organization_id(value)
    assert err.value.field == "organization_id"
    assert hint in err.value.message


@pytest.mark.parametrize("value", ["r-ab12", "r-" + "0" * 32])
def test_root_id_accepts_aws_pattern(value):
    assert parse_root_id(value) == value


@pytest.mark.parametrize(
    "value, hint",
    [("r-ab1", "4 to 32"), ("o-a1b2c3d4e5", "organization ID"), ("r-AB12", "lowercase"), ("", "Enter")],
)
def test_root_id_refuses_with_a_reason(value, hint):
    with pytest.raises(InvalidInput) as err:
        parse_root_id(value)
    assert hint in err.value.message


def test_role_arn_parts():
    arn = parse_role_arn("arn:aws:iam::123456789012:role/ce/CloudEntitlementsManagementRole")
    assert (arn.partition, arn.account_id, arn.name) == ("aws", "123456789012", "CloudEntitlementsManagementRole")
    assert parse_role_arn("arn:aws-us-gov:iam::123456789012:role/R").partition == "aws-us-gov"


@pytest.mark.parametrize(
    "value",
    [
        "",
        "arn:aws:iam::12345678901:role/R",  # 11 digits
        "arn:aws:iam::123456789012:user/R",  # a user, not a role
        "arn:aws:sts::123456789012:assumed-role/R/s",
        "arn:aws:iam:us-east-1:123456789012:role/R",  # IAM ARNs carry no region
        "arn:foo:iam::123456789012:role/R",
        "arn:aws:iam::123456789012:role/",
        "arn:aws:iam::123456789012:role/R with space",
    ],
)
def test_role_arn_refused(value):
    with pytest.raises(InvalidInput) as err:
        parse_role_arn(value)
    assert err.value.field == "role_arn"


def test_parse_all_reports_every_bad_field_at_once():
    from bot.connection.ids import parse_all

    with pytest.raises(InvalidInput) as err:
        parse_all(organization_id=(parse_organization_id, "r-ab12"), root_id=(parse_root_id, "o-abcdefghij"))
    assert set(err.value.errors) == {"organization_id", "root_id"}
    assert parse_all(organization_id=(parse_organization_id, "o-abcdefghij")) == {"organization_id": "o-abcdefghij"}
