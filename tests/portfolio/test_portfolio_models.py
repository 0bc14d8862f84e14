"""Portfolio definitions: schema, loader errors, sample files and schema.json.

Error cases live in tests/fixtures/portfolios/cases/<case>/; each is copied into a temporary
`portfolios/` directory next to tests/fixtures/portfolios/environments/ and loaded for the
`test` environment against the stub templates in tests/fixtures/portfolios/templates/.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from factory.portfolio import (
    Catalog,
    Environment,
    Issue,
    LaunchRole,
    Portfolio,
    PortfolioConfigError,
    Sharing,
    VersionPolicy,
    available_environments,
    export_json_schema,
    load_catalog,
    load_environment,
)
from factory.portfolio.loader import format_path
from factory.portfolio.models import (
    MAX_NOTIFICATION_ARNS,
    MAX_PORTFOLIO_TAGS,
    MAX_PRODUCT_TAGS,
    SCHEMA_PATH,
    TAG_OPTION_VALUE_LIMITS,
    TAG_VALUE_LIMITS,
    principal_arn_problem,
    render_json_schema,
)

REPO = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).parents[1] / "fixtures" / "portfolios"
TEMPLATES = FIXTURES / "templates"
ISSUE_LINE = re.compile(r"^\S+\.yaml(:\d+(:\d+)?)?: (\S+: )?.+$")


def copy_case(case: str, tmp_path: Path) -> Path:
    portfolios = tmp_path / "portfolios"
    shutil.copytree(FIXTURES / "cases" / case, portfolios)
    shutil.copytree(FIXTURES / "environments", portfolios / "environments")
    return portfolios


def load_case(case: str, tmp_path: Path) -> Catalog:
    return load_catalog(copy_case(case, tmp_path), "test", TEMPLATES)


def case_issues(case: str, tmp_path: Path) -> list[Issue]:
    with pytest.raises(PortfolioConfigError) as raised:
        load_case(case, tmp_path)
    return raised.value.issues


def line_of(case: str, file: str, text: str) -> int:
    """1-based line of the first line of a fixture file containing `text`."""
    lines = (FIXTURES / "cases" / case / file).read_text().splitlines()
    return next(number for number, line in enumerate(lines, start=1) if text in line)


def only_issue(issues: list[Issue], path: str) -> Issue:
    matching = [issue for issue in issues if issue.path == path]
    assert len(matching) == 1, issues
    return matching[0]


# --- sample portfolios/ -----------------------------------------------------------------------


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_sample_loads(env: str) -> None:
    catalog = load_catalog(REPO / "portfolios", env, TEMPLATES)

    accounts = catalog.environment.accounts
    portfolio = catalog.portfolio("sagemaker-studio")
    assert portfolio.display_name == "SageMaker Studio"
    from factory.products import PRODUCTS

    assert set(catalog.products) == set(PRODUCTS)  # every product is in the sample
    assert {ref.product for ref in portfolio.products} == set(catalog.products)
    assert catalog.template_path("studio-domain") == TEMPLATES / "studio-domain.yaml"
    for ref in portfolio.products:
        assert ref.tag_updates == "NOT_ALLOWED"
        assert ref.launch_role.constraint_parameters() == {
            "LocalRoleName": "StudioCatalogLaunchRole"
        }
    pattern, admin = portfolio.principals
    assert pattern.type == "IAM_PATTERN"
    assert pattern.arn.startswith("arn:aws:iam:::role/aws-reserved/sso.amazonaws.com/")
    assert admin.type == "IAM_PATTERN"
    assert admin.arn == "arn:aws:iam:::role/studio-catalog/personas/*-CloudAdminRole-*"
    assert portfolio.sharing.accounts == [accounts["workload"]]
    assert (
        portfolio.sharing.organization_nodes[0].value
        == catalog.environment.values["ml_workloads_ou"]
    )
    assert {option.key for option in portfolio.tag_options} == {"CostCenter", "Team"}
    assert all(p.version_policy.keep_active == 3 for p in catalog.products.values())
    assert catalog.source_files == [REPO / "portfolios" / "studio.yaml"]


def test_sample_environments_differ() -> None:
    assert available_environments(REPO / "portfolios") == ["dev", "prod"]
    dev = load_environment(REPO / "portfolios", "dev")
    prod = load_environment(REPO / "portfolios", "prod")
    assert dev.accounts != prod.accounts


def test_sample_starts_with_schema_modeline() -> None:
    first_line = (REPO / "portfolios" / "studio.yaml").read_text().splitlines()[0]
    assert first_line == "# yaml-language-server: $schema=./schema.json"


# --- a valid catalog spread over two files ------------------------------------------------------


def test_valid_case(tmp_path: Path) -> None:
    catalog = load_case("valid", tmp_path)

    assert [p.id for p in catalog.portfolios] == ["studio", "studio-self-service"]
    assert [p.id for p in catalog.portfolios_with("studio-user-profile")] == [
        "studio",
        "studio-self-service",
    ]
    studio = catalog.portfolio("studio")
    domain, profile = studio.products
    assert domain.launch_role.constraint_parameters() == {"LocalRoleName": "StudioLaunch"}
    (self_service_profile,) = catalog.portfolio("studio-self-service").products
    assert self_service_profile.launch_role.constraint_parameters() == {
        "RoleArn": "arn:aws:iam::111111111111:role/StudioLaunch"
    }
    assert domain.template_constraint_rules() == {
        "InstanceTypes": {
            "Assertions": [
                {
                    "Assert": {
                        "Fn::Contains": [["ml.t3.medium", "ml.m5.large"], {"Ref": "InstanceType"}]
                    },
                    "AssertDescription": "Only small instance types.",
                }
            ]
        }
    }
    assert domain.notification_arns == ["arn:aws:sns:eu-west-1:111111111111:catalog-events"]
    assert profile.tag_updates == "ALLOWED"
    assert profile.launch_role.local_role_name == "StudioCatalogLaunchRole"  # the default
    cost_center, team = studio.tag_options
    assert cost_center.values == ["CC-1001", "CC-1002"]  # rendered by a {% for %} loop
    assert cost_center.attach_to == "portfolio"
    assert studio.tag_options_for("studio-user-profile") == [team]
    assert catalog.products["studio-user-profile"].support.email == "ml-platform@example.com"
    policy = catalog.products["studio-user-profile"].version_policy
    assert (policy.keep_active, policy.keep_deprecated, policy.delete_inactive) == (5, 10, True)


# --- errors -----------------------------------------------------------------------------------


def test_unknown_key_names_file_line_path_and_allowed_keys(tmp_path: Path) -> None:
    issues = case_issues("unknown_key", tmp_path)

    issue = only_issue(issues, "portfolios[0].displayname")
    assert Path(issue.file).name == "studio.yaml"
    assert (issue.line, issue.column) == (line_of("unknown_key", "studio.yaml", "displayname"), 5)
    assert "unknown key 'displayname' (did you mean 'display_name'?)" in issue.message
    assert "allowed keys: id, display_name, description, provider_name," in issue.message
    missing = only_issue(issues, "portfolios[0].display_name")
    assert missing.message == "required key 'display_name' is missing"
    assert missing.line == line_of("unknown_key", "studio.yaml", "- id: studio")


def test_bad_arn(tmp_path: Path) -> None:
    issue = only_issue(case_issues("bad_arn", tmp_path), "portfolios[0].principals[1].arn")
    assert issue.line == line_of("bad_arn", "studio.yaml", "12345")
    assert "12-digit account id" in issue.message
    assert "'arn:aws:iam::12345:role/Admin'" in issue.message


def test_more_than_ten_iam_patterns(tmp_path: Path) -> None:
    issues = case_issues("too_many_patterns", tmp_path)

    # principals[0] is an IAM principal; the 11th pattern is principals[11].
    issue = only_issue(issues, "portfolios[0].principals[11]")
    assert issue.line == line_of("too_many_patterns", "studio.yaml", "team-11") - 1
    assert "at most 10 IAM_PATTERN principals" in issue.message
    assert "found 11" in issue.message


def test_pattern_with_account(tmp_path: Path) -> None:
    issues = case_issues("pattern_with_account", tmp_path)

    issue = only_issue(issues, "portfolios[0].principals[0].arn")
    assert issue.line == line_of("pattern_with_account", "studio.yaml", "arn:")
    assert "must leave the account field empty" in issue.message
    assert "'111111111111'" in issue.message  # the rendered value


def test_unknown_template(tmp_path: Path) -> None:
    issue = only_issue(case_issues("unknown_template", tmp_path), "products[0].template")
    assert issue.line == line_of("unknown_template", "studio.yaml", "studio-domian")
    assert "template 'studio-domian' not found" in issue.message
    assert "available: studio-domain, " in issue.message


def test_unknown_product_reference(tmp_path: Path) -> None:
    issues = case_issues("unknown_product", tmp_path)

    issue = only_issue(issues, "portfolios[0].products[1].product")
    assert issue.line == line_of("unknown_product", "studio.yaml", "studio-notebook")
    assert issue.message == "unknown product 'studio-notebook'; products defined: studio-domain"


def test_duplicate_ids_across_files(tmp_path: Path) -> None:
    issues = case_issues("duplicate_ids", tmp_path)

    assert [(Path(i.file).name, i.path) for i in issues] == [
        ("b.yaml", "products[0].id"),
        ("b.yaml", "portfolios[0].id"),
    ]
    product, portfolio = issues
    assert product.line == line_of("duplicate_ids", "b.yaml", "- id: studio-domain")
    assert "duplicate product id 'studio-domain': already defined at " in product.message
    assert product.message.endswith("a.yaml:2:9")
    assert "duplicate portfolio id 'studio'" in portfolio.message


def test_missing_environment_value_names_file_and_line(tmp_path: Path) -> None:
    (issue,) = case_issues("missing_env_value", tmp_path)

    assert Path(issue.file).name == "studio.yaml"
    assert issue.line == line_of("missing_env_value", "studio.yaml", "env.provider_name")
    assert issue.column == 28  # the name after `env.`
    assert issue.message.startswith("env.provider_name is not defined by environment 'test'")
    assert "it defines: accounts, cloud_admin_permission_set," in issue.message
    assert re.match(r"^\S+/studio\.yaml:4:28: env\.provider_name is not defined", str(issue))


def test_share_principals_with_account_shares_only(tmp_path: Path) -> None:
    issues = case_issues("share_principals_accounts_only", tmp_path)

    issue = only_issue(issues, "portfolios[0].sharing.share_principals")
    assert issue.line == line_of("share_principals_accounts_only", "studio.yaml", "share_princ")
    assert "only applies to organization_nodes shares" in issue.message


def test_all_errors_of_all_files_are_reported_together(tmp_path: Path) -> None:
    with pytest.raises(PortfolioConfigError) as raised:
        load_case("many_errors", tmp_path)
    error = raised.value

    assert [(Path(i.file).name, i.path) for i in error.issues] == [
        ("a.yaml", "products[0].version_policy.keep_active"),
        ("a.yaml", "portfolios[0].colour"),
        ("a.yaml", "portfolios[0].principals[0].arn"),
        ("a.yaml", "portfolios[0].sharing.organization_nodes[0].value"),
        ("b.yaml", "products[0].template"),
        ("b.yaml", "portfolios[0].products[1].product"),
    ]
    lines = str(error).splitlines()
    assert len(lines) == len(error.issues)
    for line in lines:
        assert ISSUE_LINE.match(line), line
    assert lines[1].endswith(
        "a.yaml:12:5: portfolios[0].colour: unknown key 'colour'; allowed keys: id, "
        "display_name, description, provider_name, tags, principals, products, tag_options, "
        "sharing"
    )


def test_lines_refer_to_the_source_across_jinja_blocks(tmp_path: Path) -> None:
    issues = case_issues("jinja_blocks", tmp_path)

    def line(text: str) -> int:
        return line_of("jinja_blocks", "studio.yaml", text)

    assert [(i.path, i.line) for i in issues] == [
        ("portfolios[0].sharing.accounts[2]", line('"12345"')),  # after {% if %} and {% for %}
        ("portfolios[0].principals[0].arn", line("arn:")),  # after a {# #} comment
        ("portfolios[0].tags['Team!']", line("Team!")),  # after a two-line {{ }}
    ]


def test_unparsable_file_does_not_cause_false_reference_errors(tmp_path: Path) -> None:
    issues = case_issues("unparsable_file", tmp_path)

    assert [(Path(i.file).name, i.line) for i in issues] == [("a.yaml", 10), ("b.yaml", 6)]
    tag, syntax = issues
    assert "YAML tag !Equals is not supported" in tag.message
    assert "Fn::Equals" in tag.message
    assert syntax.message == (
        "invalid YAML: while scanning a quoted scalar started at 5:19, "
        "found unexpected end of stream"
    )


def test_unknown_environment_lists_the_defined_ones(tmp_path: Path) -> None:
    portfolios = copy_case("valid", tmp_path)
    with pytest.raises(PortfolioConfigError) as raised:
        load_catalog(portfolios, "staging", TEMPLATES)
    assert raised.value.issues[0].message == "unknown environment 'staging'; defined: broken, test"


def test_environment_file_is_validated(tmp_path: Path) -> None:
    with pytest.raises(PortfolioConfigError) as raised:
        load_environment(copy_case("valid", tmp_path), "broken")

    assert [(i.path, i.line) for i in raised.value.issues] == [
        ("name", 2),
        ("accounts.catalog", 4),
        ("values.accounts", 6),
    ]
    name, account, reserved = raised.value.issues
    assert name.message == "must be the file name 'broken', got 'broken-env'"
    assert "put it in quotes" in account.message
    assert "'accounts' is reserved" in reserved.message


def test_yaml_duplicate_keys_and_empty_files(tmp_path: Path) -> None:
    portfolios = copy_case("valid", tmp_path)
    (portfolios / "empty.yaml").write_text("# nothing yet\n")
    (portfolios / "dup.yaml").write_text("products: []\nportfolios: []\nproducts: []\n")
    (portfolios / "old.yml").write_text("portfolios: []\n")
    with pytest.raises(PortfolioConfigError) as raised:
        load_catalog(portfolios, "test", TEMPLATES)

    assert [(Path(i.file).name, i.line, i.message) for i in raised.value.issues] == [
        ("dup.yaml", 3, "duplicate key 'products' (first at 1:1)"),
        (
            "empty.yaml",
            None,
            "the file is empty; expected a mapping with the keys version, products, portfolios",
        ),
        ("old.yml", None, "portfolio files must end in .yaml; rename it"),
    ]


# --- models -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("arn", "principal_type", "problem"),
    [
        ("arn:aws:iam::111111111111:role/Admin", "IAM", None),
        ("arn:aws:iam::111111111111:role/path/to/Admin", "IAM", None),
        ("arn:aws-us-gov:iam::111111111111:group/Admins", "IAM", None),
        ("arn:aws:iam:::role/aws-reserved/sso.amazonaws.com/*/SSO_X_*", "IAM_PATTERN", None),
        ("arn:aws:iam:::user/team-?", "IAM_PATTERN", None),
        ("arn:aws:iam:::role/Admin", "IAM", "account-less ARNs need type IAM_PATTERN"),
        ("arn:aws:iam::111111111111:role/Ad*", "IAM", "only allowed with type IAM_PATTERN"),
        ("arn:aws:iam::111111111111:role/x", "IAM_PATTERN", "must leave the account field empty"),
        ("arn:aws:iam:::*/Admin", "IAM_PATTERN", "role/, user/ or group/"),
        ("arn:aws:iam:::policy/Admin", "IAM_PATTERN", "role/, user/ or group/"),
        ("arn:aws:s3:::bucket", "IAM", "expected arn:<partition>:iam::"),
        ("arn:aws:iam:eu-west-1:111111111111:role/x", "IAM", "expected arn:<partition>:iam::"),
        ("role/Admin", "IAM", "not an ARN"),
    ],
)
def test_principal_arns(arn: str, principal_type: str, problem: str | None) -> None:
    result = principal_arn_problem(arn, principal_type)
    if problem is None:
        assert result is None
    else:
        assert result is not None
        assert problem in result


def test_launch_role_needs_exactly_one_form() -> None:
    with pytest.raises(ValidationError, match="exactly one of 'local_role_name' or 'arn'"):
        LaunchRole()
    with pytest.raises(ValidationError, match="exactly one"):
        LaunchRole(local_role_name="A", arn="arn:aws:iam::111111111111:role/A")


def test_version_policy_leaves_room_for_a_new_version() -> None:
    assert VersionPolicy() == VersionPolicy(keep_active=3, keep_deprecated=2, delete_inactive=False)
    VersionPolicy(keep_active=50, keep_deprecated=49)
    with pytest.raises(ValidationError, match="must be below 100"):
        VersionPolicy(keep_active=50, keep_deprecated=50)


def test_sharing_rules() -> None:
    Sharing(accounts=["222222222222"], share_tag_options=True)
    with pytest.raises(ValidationError, match="listed twice"):
        Sharing(accounts=["222222222222", "222222222222"])
    with pytest.raises(ValidationError, match="ORGANIZATION ids look like 'o-a1b2c3d4e5'"):
        Sharing(organization_nodes=[{"type": "ORGANIZATION", "value": "ou-ab12-12345678"}])


def test_issue_format() -> None:
    assert str(Issue("p/a.yaml", 3, 7, "portfolios[0].id", "bad")) == (
        "p/a.yaml:3:7: portfolios[0].id: bad"
    )
    assert str(Issue("p/a.yaml", 3, None, "", "bad")) == "p/a.yaml:3: bad"
    assert str(Issue("p/a.yaml", None, None, "", "bad")) == "p/a.yaml: bad"
    assert format_path(("portfolios", 0, "tags", "aws:x", "principals", 3, "arn")) == (
        "portfolios[0].tags['aws:x'].principals[3].arn"
    )


# --- what Service Catalog would reject, rejected before any write ---------------------------------


def located(issues: list[Issue]) -> list[str]:
    """`file:line:col: path: message` with the file's base name (the directory is temporary)."""
    return [f"{Path(i.file).name}:{i.line}:{i.column}: {i.path}: {i.message}" for i in issues]


def test_duplicate_display_names_across_files_name_both_places(tmp_path: Path) -> None:
    issues = case_issues("duplicate_display_names", tmp_path)
    a_yaml = tmp_path / "portfolios" / "a.yaml"

    assert located(issues) == [
        "b.yaml:5:19: products[0].display_name: duplicate product display_name "
        f"'SageMaker Studio domain': product 'studio-domain' at {a_yaml}:4:19 has the same "
        "name; people choose products by name in the console: give each a distinct "
        "display_name",
        "b.yaml:9:19: portfolios[0].display_name: duplicate portfolio display_name "
        f"'sagemaker  studio': portfolio 'studio' at {a_yaml}:8:19 has the same name "
        "('SageMaker Studio', ignoring case and spacing); people choose portfolios by name "
        "in the console: give each a distinct display_name",
    ]
    assert issues[0].line == line_of("duplicate_display_names", "b.yaml", "Studio domain")
    assert issues[1].line == line_of("duplicate_display_names", "b.yaml", "sagemaker  studio")


def test_empty_tag_and_tag_option_values_and_reserved_keys(tmp_path: Path) -> None:
    def line(text: str) -> int:
        return line_of("empty_tag_values", "studio.yaml", text)

    empty_value_line = line('- ""')
    empty_tag = (
        "tag values must not be empty (Service Catalog rejects them); give a value or remove "
        "the tag (an env value that renders empty does this too)"
    )
    assert located(case_issues("empty_tag_values", tmp_path)) == [
        f"studio.yaml:{line('Team:')}:13: products[0].tags.Team: {empty_tag}",
        f"studio.yaml:{line('Owner:')}:14: portfolios[0].tags.Owner: {empty_tag}",
        f"studio.yaml:{line('portfolio-id')}:7: portfolios[0].tags['studio-catalog:portfolio-id']"
        ": tag keys starting with 'studio-catalog:' are reserved for the publisher "
        "(studio-catalog:portfolio-id, studio-catalog:product-id); choose another key, got "
        "'studio-catalog:portfolio-id'",
        f"studio.yaml:{empty_value_line}:13: portfolios[0].tag_options[0].values[1]: TagOption "
        "values must not be empty (Service Catalog rejects them); give a value or remove it "
        "(an env value that renders empty does this too)",
    ]


def test_tag_count_includes_the_publishers_own_tag(tmp_path: Path) -> None:
    product_line = line_of("too_many_tags", "studio.yaml", "Tag20")
    portfolio_line = product_line + 25  # the same 20 tags again, under the portfolio

    assert located(case_issues("too_many_tags", tmp_path)) == [
        f"studio.yaml:{product_line}:14: products[0].tags.Tag20: at most 19 tags: Service "
        "Catalog allows 20 per product and the publisher adds its own "
        "'studio-catalog:product-id' tag; found 20, remove 1",
        f"studio.yaml:{portfolio_line}:14: portfolios[0].tags.Tag20: at most 19 tags: Service "
        "Catalog allows 20 per portfolio and the publisher adds its own "
        "'studio-catalog:portfolio-id' tag; found 20, remove 1",
    ]


def test_tag_options_per_portfolio_and_per_product_across_portfolios(tmp_path: Path) -> None:
    b_lines = (FIXTURES / "cases/too_many_tag_options/b.yaml").read_text().splitlines()
    # The second portfolio's attach_to pushes the product over the quota.
    over = [n for n, text in enumerate(b_lines, start=1) if "attach_to: [studio-domain]" in text]
    assert located(case_issues("too_many_tag_options", tmp_path)) == [
        f"a.yaml:{line_of('too_many_tag_options', 'a.yaml', 'CC-0026')}:13: "
        "portfolios[0].tag_options[0].values[25]: at most 25 TagOptions per portfolio "
        "(Service Catalog quota; each value is one TagOption), found 26 attached to the "
        "portfolio; remove values or attach some to products",
        f"b.yaml:{over[1]}:9: portfolios[1].tag_options[0].attach_to: product "
        "'studio-domain' gets 26 TagOptions from portfolios studio-a, studio-b (each value is "
        "one TagOption); Service Catalog allows 25 per product: remove values or attach them "
        "to the portfolio instead",
    ]


def test_role_arn_launch_role_on_a_shared_portfolio(tmp_path: Path) -> None:
    line = line_of("arn_launch_role_shared", "studio.yaml", "arn:")
    assert located(case_issues("arn_launch_role_shared", tmp_path)) == [
        f"studio.yaml:{line}:16: portfolios[0].products[0].launch_role.arn: a launch role "
        "given by 'arn' only works in the account that owns it, but this portfolio is shared "
        "(sharing.accounts / organization_nodes); use 'local_role_name: StudioLaunch' with "
        "that role in every account",
    ]


def test_notification_topic_in_another_region_than_the_environments(tmp_path: Path) -> None:
    line = line_of("notification_other_region", "studio.yaml", "sns:us-east-1")
    assert located(case_issues("notification_other_region", tmp_path)) == [
        f"studio.yaml:{line}:13: portfolios[0].products[0].notification_arns[1]: SNS topic in "
        "us-east-1, but the catalog is published to eu-west-1: Service Catalog sends stack "
        "events to topics in the launch region; use a topic in eu-west-1",
    ]


def test_notification_topic_checked_against_the_regions_published_to(tmp_path: Path) -> None:
    portfolios = copy_case("valid", tmp_path)
    load_catalog(portfolios, "test", TEMPLATES, regions=["eu-west-1"])
    with pytest.raises(PortfolioConfigError) as raised:
        load_catalog(portfolios, "test", TEMPLATES, regions=["eu-west-1", "us-east-1"])

    line = line_of("valid", "portfolios.yaml", "arn:aws:sns:")
    assert located(raised.value.issues) == [
        f"portfolios.yaml:{line}:13: portfolios[0].products[0].notification_arns[0]: SNS "
        "topic in eu-west-1, but the catalog is published to eu-west-1, us-east-1: Service "
        "Catalog sends stack events to topics in the launch region; a topic is in one region: "
        "publish this catalog to eu-west-1 only, or drop the topic",
    ]


def test_limits_come_from_the_service_model() -> None:
    import botocore.session

    model = botocore.session.get_session().get_service_model("servicecatalog")
    assert TAG_VALUE_LIMITS["min"] == model.shape_for("TagValue").metadata["min"] == 1
    assert TAG_OPTION_VALUE_LIMITS["min"] == 1
    assert MAX_PORTFOLIO_TAGS == MAX_PRODUCT_TAGS == 20
    assert MAX_NOTIFICATION_ARNS == 5


def test_the_limits_themselves_are_allowed() -> None:
    tags = {f"Tag{i:02d}": "v" for i in range(1, 20)}  # 19 + the publisher's id tag = 20
    portfolio = Portfolio(
        id="studio",
        display_name="Studio",
        provider_name="ML Platform team",
        tags=tags,
        tag_options=[{"key": "CostCenter", "values": [f"CC-{i}" for i in range(25)]}],
    )
    assert (len(portfolio.tags), len(portfolio.tag_options[0].values)) == (19, 25)
    unshared = Portfolio(
        id="solo",
        display_name="Solo",
        provider_name="ML Platform team",
        products=[
            {
                "product": "studio-domain",
                "launch_role": {"arn": "arn:aws:iam::111111111111:role/StudioLaunch"},
            }
        ],
    )
    assert unshared.products[0].launch_role.constraint_parameters() == {
        "RoleArn": "arn:aws:iam::111111111111:role/StudioLaunch"
    }


def test_environment_regions() -> None:
    environment = Environment(name="dev", regions=["eu-west-1", "us-east-1"])
    assert environment.template_context()["regions"] == ["eu-west-1", "us-east-1"]
    with pytest.raises(ValidationError, match="should match pattern"):
        Environment(name="dev", regions=["Ireland"])
    with pytest.raises(ValidationError, match="listed twice"):
        Environment(name="dev", regions=["eu-west-1", "eu-west-1"])
    with pytest.raises(ValidationError, match="'regions' is reserved"):
        Environment(name="dev", values={"regions": "x"})


# --- schema.json --------------------------------------------------------------------------------


def test_schema_json_is_up_to_date(tmp_path: Path) -> None:
    regenerated = tmp_path / "schema.json"
    assert export_json_schema(regenerated) is True
    assert export_json_schema(regenerated) is False  # deterministic
    committed = (REPO / SCHEMA_PATH).read_text(encoding="utf-8")
    assert regenerated.read_text(encoding="utf-8") == committed, (
        "portfolios/schema.json is stale: run studio-factory schema"
    )


def test_schema_accepts_unrendered_templates() -> None:
    schema = render_json_schema()
    assert '"title": "Studio Catalog Factory portfolio file"' in schema
    assert "{{ env.X }}" in schema
    assert r'"pattern": "(?:^[0-9]{12}$)|\\{\\{"' in schema


def test_schema_module_check_mode() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "factory.portfolio.models", "--check"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    assert (result.returncode, result.stderr) == (0, "")
