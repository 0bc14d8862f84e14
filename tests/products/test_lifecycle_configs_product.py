"""The lifecycle-configs product: options, rendered scripts (checked with bash -n, shellcheck and
by running them against stand-ins for pip, git and SageMaker), names, size limit, template."""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import botocore.session
import pytest
from cfnlint.schema import PROVIDER_SCHEMA_MANAGER

from factory.audit.derived import launch_handlers, launch_service_catalog, resource_scope
from factory.audit.derived.base import AuditInputs
from factory.build import render as render_yaml
from factory.cfn_yaml import load_template
from factory.lint import lint_text
from factory.options import OptionsError
from factory.products import lifecycle_configs as lcc
from tests.support.render import ROOT, render

PATH = "templates/studio-lifecycle-configs.yaml"
BOOTSTRAP = "launch/studio-catalog-bootstrap.yaml"
LCC_TYPE = "AWS::SageMaker::StudioLifecycleConfig"


def options(**overrides: Any) -> lcc.LifecycleConfigOptions:
    return lcc.parse(lcc.NAME, lcc.LifecycleConfigOptions, overrides)


def largest() -> dict[str, Any]:
    """Every option at the longest value it accepts."""
    packages = []
    for i in range(lcc.MAX_PACKAGES):
        name = f"p{i:02d}" + "a" * 61
        version = "1" * (lcc.PIN_MAX_LENGTH - len(name) - 2 - 4) + ".1a1"
        packages.append(f"{name}=={version}")
    repositories = []
    for i in range(lcc.MAX_REPOSITORIES):
        url = f"https://git.example.com/team/r{i:02d}"
        repositories.append(url + "x" * (lcc.REPOSITORY_URL_MAX_LENGTH - len(url)))
    return {
        "set_name": "s" * lcc.SET_NAME_MAX_LENGTH,
        "pip": {
            "packages": packages,
            "index_url": "https://" + "a" * 60 + ".example.com/" + "b" * 175,
            "python": "/" + "p" * 255,
            "timeout_seconds": lcc.PIP_TIMEOUT_MAX,
            "fail_app_on_error": True,
        },
        "git": {
            "email_tag": "t" * 128,
            "email_domain": ("a" * 61 + ".") * 4 + "com",
            "repositories": repositories,
            "clone_timeout_seconds": 3600,
        },
    }


#: Option sets whose scripts are checked with bash -n and shellcheck.
VARIANTS: dict[str, dict[str, Any]] = {
    "defaults": {},
    "packages-only": {
        "pip": {"packages": ["pandas==2.2.3"], "only_binary": False},
        "git": {"set_identity": False},
    },
    "repositories-only": {
        "git": {"set_identity": False, "repositories": ["https://github.com/aws/sagemaker.git"]}
    },
    "everything": {
        "pip": {
            "packages": ["pandas==2.2.3", "scikit-learn==1.5.2"],
            "index_url": "https://pypi.example.com:8443/simple",
            "protect_image_packages": False,
            "fail_app_on_error": True,
        },
        "git": {
            "email_tag": "",
            "email_domain": "example.com",
            "repositories": ["https://git.example.com/a/b", "https://git.example.com/c/d.git/"],
        },
    },
    "largest": largest(),
}


def variant_scripts() -> list[tuple[str, lcc.Script]]:
    return [
        (f"{name}-{script.app_type}", script)
        for name, data in VARIANTS.items()
        for script in lcc.scripts(options(**data))
    ]


# --- what AWS's data says ------------------------------------------------------------------------


def test_registry_schema_facts_the_generator_relies_on():
    schema = PROVIDER_SCHEMA_MANAGER.get_resource_schema("us-east-1", LCC_TYPE).schema
    props = schema["properties"]
    create_only = {p.rsplit("/", 1)[-1] for p in schema["createOnlyProperties"]}
    writable = set(props) - {p.rsplit("/", 1)[-1] for p in schema["readOnlyProperties"]}
    assert create_only == writable, "every property is create-only: a change replaces"
    assert "update" not in schema["handlers"]
    assert props["StudioLifecycleConfigContent"]["maxLength"] == lcc.CONTENT_MAX_LENGTH
    assert props["StudioLifecycleConfigName"]["maxLength"] == lcc.LCC_NAME_MAX_LENGTH
    assert props["StudioLifecycleConfigName"]["pattern"] == lcc.LCC_NAME_PATTERN.rstrip("$")
    assert set(lcc.APP_KINDS) <= set(props["StudioLifecycleConfigAppType"]["enum"])


def test_botocore_agrees_on_the_content_and_name_limits():
    model = botocore.session.get_session().get_service_model("sagemaker")
    shape = model.operation_model("CreateStudioLifecycleConfig").input_shape.members
    assert shape["StudioLifecycleConfigContent"].metadata["max"] == lcc.CONTENT_MAX_LENGTH
    assert shape["StudioLifecycleConfigName"].metadata["max"] == lcc.LCC_NAME_MAX_LENGTH
    delete = model.operation_model("DeleteStudioLifecycleConfig")
    assert "ResourceInUse" in {e.name for e in delete.error_shapes}


def test_default_email_tag_is_the_one_studio_factory_users_sets():
    from factory.users.bulk import EMAIL_TAG

    assert lcc.DEFAULT_EMAIL_TAG == EMAIL_TAG


def test_idle_shutdown_is_left_to_the_domain_for_every_app_type_configured_here():
    """No auto-shutdown script: the domain product sets built-in idle shutdown for both."""
    settings = load_template(ROOT / "templates/studio-domain.yaml")["Resources"]["Domain"]
    user = settings["Properties"]["DefaultUserSettings"]
    for app_type in lcc.APP_KINDS:
        assert "IdleSettings" in user[f"{app_type}AppSettings"]["AppLifecycleManagement"]


def test_script_templates_are_package_data():
    scripts = Path(lcc.__file__).parent / lcc.SCRIPTS_PACKAGE[1]
    assert {p.name for p in scripts.glob("*.sh.j2")} >= {lcc.MAIN_SCRIPT}
    import tomllib

    data = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "**/*.j2" in data["tool"]["setuptools"]["package-data"]["factory"]


# --- options -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "pin", ["pandas==2.2.3", "scikit_learn==1.5.2", "Torch==2.5.1", "x==1!2.0rc1.post3.dev4"]
)
def test_exact_pins_are_accepted(pin):
    assert options(pip={"packages": [pin]}).pip.packages == [pin]


@pytest.mark.parametrize(
    ("data", "where"),
    [
        ({"pip": {"packages": ["pandas"]}}, "pip.packages"),
        ({"pip": {"packages": ["pandas>=2"]}}, "pip.packages"),
        ({"pip": {"packages": ["pandas==2.*"]}}, "pip.packages"),
        ({"pip": {"packages": ["torch==2.5.1+cpu"]}}, "pip.packages"),
        ({"pip": {"packages": ["pandas[excel]==2.2.3"]}}, "pip.packages"),
        ({"pip": {"packages": ["--index-url=https://evil/==1"]}}, "pip.packages"),
        ({"pip": {"packages": ["x==1; rm -rf ~"]}}, "pip.packages"),
        ({"pip": {"packages": ["Pandas==2.2.3", "pandas==2.2.2"]}}, "pip.packages"),
        ({"pip": {"packages": [f"p{i}==1" for i in range(31)]}}, "pip.packages"),
        ({"pip": {"index_url": "http://pypi.example.com/simple"}}, "pip.index_url"),
        ({"pip": {"index_url": "https://user:pw@pypi.example.com/simple"}}, "pip.index_url"),
        ({"pip": {"python": "python3"}}, "pip.python"),
        ({"pip": {"timeout_seconds": 300}}, "pip.timeout_seconds"),
        ({"git": {"email_domain": "Example.COM"}}, "git.email_domain"),
        ({"git": {"email_tag": "bad'tag"}}, "git.email_tag"),
        ({"git": {"repositories": ["git@github.com:aws/x.git"]}}, "git.repositories"),
        ({"git": {"repositories": ["https://u:p@github.com/aws/x"]}}, "git.repositories"),
        ({"git": {"repositories": ["https://github.com/aws/.ssh"]}}, "git.repositories"),
        (
            {
                "git": {
                    "repositories": ["https://a.example.com/x/r", "https://b.example.com/y/r.git"]
                }
            },
            "git.repositories",
        ),
        ({"git": {"clone_timeout_seconds": 5}}, "git.clone_timeout_seconds"),
        ({"set_name": "Studio"}, "set_name"),
        ({"set_name": "s" * (lcc.SET_NAME_MAX_LENGTH + 1)}, "set_name"),
        ({"app_types": ["JupyterServer"]}, "app_types"),
        ({"app_types": []}, "app_types"),
        ({"app_types": ["JupyterLab", "JupyterLab"]}, "app_types"),
        ({"git": {"set_identity": False}}, "pip/git"),
        ({"pip": {"pakages": []}}, "pip.pakages"),
    ],
)
def test_bad_options_are_refused_with_the_option_named(data, where):
    with pytest.raises(OptionsError) as error:
        options(**data)
    assert f"option {where!r}" in str(error.value) or f"option {where}:" in str(error.value)


# --- scripts -------------------------------------------------------------------------------------


def test_rendering_is_deterministic_and_ascii():
    first = [s.text for s in lcc.scripts(options(**VARIANTS["everything"]))]
    assert first == [s.text for s in lcc.scripts(options(**VARIANTS["everything"]))]
    for text in first:
        text.encode("ascii")


@pytest.mark.parametrize(("name", "script"), variant_scripts(), ids=lambda v: str(v)[:40])
def test_every_rendered_script_passes_bash_n(name, script, tmp_path):
    path = tmp_path / f"{name}.sh"
    path.write_text(script.text)
    result = subprocess.run(["bash", "-n", str(path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_every_rendered_script_passes_shellcheck(tmp_path):
    if shutil.which("shellcheck") is None:
        pytest.skip("shellcheck is not installed (Debian: apt-get install shellcheck)")
    paths = []
    for name, script in variant_scripts():
        paths.append(tmp_path / f"{name}.sh")
        paths[-1].write_text(script.text)
    result = subprocess.run(["shellcheck", *map(str, paths)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout


def test_largest_options_stay_under_the_service_limit():
    for script in lcc.scripts(options(**largest())):
        assert len(script.content) <= lcc.CONTENT_MAX_LENGTH, script.app_type


def test_a_script_over_the_limit_is_refused_before_any_template_exists():
    too_many = [f"package{i:03d}-{'x' * 50}==1.0.0" for i in range(200)]
    opts = options().model_copy(
        update={
            "pip": lcc.PipOptions.model_construct(
                **{**lcc.PipOptions().model_dump(), "packages": too_many}
            )
        }
    )
    with pytest.raises(lcc.ScriptTooLargeError, match=r"over SageMaker's 16384"):
        lcc.scripts(opts)


def test_the_generators_content_limit_is_also_cfn_lints():
    text = (ROOT / PATH).read_text()
    oversized = re.sub(
        r"(StudioLifecycleConfigContent: >-\n\s+)\S+", lambda m: m[1] + "A" * 16_388, text, count=1
    )
    assert any(f.rule == "E3033" for f in lint_text(PATH, oversized))


# --- template ------------------------------------------------------------------------------------


def test_committed_template_is_the_generators_output_and_lints_clean():
    text = render_yaml(lcc.generate())
    assert text == render_yaml(lcc.generate()), "not deterministic"
    assert (ROOT / PATH).read_text() == text, "run studio-factory build"
    assert lint_text(PATH, text) == []


@pytest.fixture(scope="module")
def stack():
    return render(PATH)


def _template_resources() -> dict[str, Any]:
    return load_template(ROOT / PATH)["Resources"]


def test_content_is_the_base64_of_the_rendered_script(stack):
    for script in lcc.scripts(lcc.LifecycleConfigOptions()):
        resource = stack.get_resource(lcc.logical_id(script.app_type))
        content = resource.get_property_value("StudioLifecycleConfigContent")
        assert base64.b64decode(content).decode("ascii") == script.text
        assert resource.get_property_value("StudioLifecycleConfigAppType") == script.app_type
        raw = _template_resources()[lcc.logical_id(script.app_type)]
        assert raw["Metadata"]["studio-catalog"]["sha256"] == script.sha256
        tags = {t["Key"]: t["Value"] for t in resource.get_property_value("Tags")}
        assert tags[lcc.DIGEST_TAG] == script.sha256
        assert tags["studio-catalog:managed-by"] == "studio-catalog-factory"
        assert tags[lcc.SET_TAG] == "studio"


def test_names_are_per_stack_per_content_and_within_the_service_rule():
    longest_set = "s" * lcc.SET_NAME_MAX_LENGTH
    stack = render(PATH, {"ConfigSetName": longest_set})
    names = []
    for app_type in lcc.APP_KINDS:
        name = stack.get_resource(lcc.logical_id(app_type)).get_property_value(
            "StudioLifecycleConfigName"
        )
        names.append(name)
        assert re.fullmatch(lcc.LCC_NAME_PATTERN, name) and len(name) <= 63, name
        assert name.startswith(f"{longest_set}-{lcc.APP_KINDS[app_type]}-")
        assert re.fullmatch(r"[0-9a-f]{8}", name.split("-")[-2]), "stack UUID group"
    assert len(set(names)) == len(names)
    raw = _template_resources()
    for app_type in lcc.APP_KINDS:
        sub = raw[lcc.logical_id(app_type)]["Properties"]["StudioLifecycleConfigName"]["Fn::Sub"]
        assert "${ConfigSetName}" in sub[0] and "AWS::StackId" in json.dumps(sub[1])


def test_new_content_gets_a_new_name_and_the_same_content_the_same_name():
    def names(data: dict[str, Any]) -> list[str]:
        template = lcc.generate(data).to_dict()["Resources"]
        return [
            template[lcc.logical_id(t)]["Properties"]["StudioLifecycleConfigName"]["Fn::Sub"][0]
            for t in lcc.APP_KINDS
        ]

    assert names({}) == names({})
    changed = names({"pip": {"packages": ["pandas==2.2.3"]}})
    assert all(a != b for a, b in zip(names({}), changed, strict=True))


def test_arns_are_published_to_ssm_per_set_and_kind(stack):
    for app_type, kind in lcc.APP_KINDS.items():
        parameter = stack.get_resource(f"Ssm{app_type}LifecycleConfigArn")
        assert parameter.get_property_value("Name") == (
            f"/studio-catalog/lifecycle-configs/studio/{kind}-arn"
        )
        assert parameter.get_property_value("Value").startswith(lcc.logical_id(app_type))
    outputs = stack.data["Outputs"]
    assert {"JupyterLabLifecycleConfigArn", "CodeEditorLifecycleConfigArn"} <= set(outputs)
    assert outputs["SsmPrefix"]["Value"] == "/studio-catalog/lifecycle-configs/studio"
    other = render(PATH, {"ConfigSetName": "research"})
    name = other.get_resource("SsmJupyterLabLifecycleConfigArn").get_property_value("Name")
    assert name == "/studio-catalog/lifecycle-configs/research/jupyterlab-arn"


def test_app_types_option_limits_the_configurations():
    template = lcc.generate({"app_types": ["JupyterLab"]}).to_dict()
    types = {r["Type"] for r in template["Resources"].values()}
    assert types == {LCC_TYPE, "AWS::SSM::Parameter"}
    assert set(template["Outputs"]) == {"JupyterLabLifecycleConfigArn", "SsmPrefix"}


@pytest.mark.parametrize(
    "value", ["", "Studio", "my_set", "-set", "set-", "s" * (lcc.SET_NAME_MAX_LENGTH + 1)]
)
def test_config_set_name_constraint(value):
    with pytest.raises(ValueError, match="ConfigSetName"):
        render(PATH, {"ConfigSetName": value})


def test_launch_role_can_run_every_handler_of_this_product():
    templates = {p: load_template(ROOT / p) for p in (PATH, BOOTSTRAP)}
    inputs = AuditInputs(templates, ROOT)
    for proof in (launch_handlers, launch_service_catalog, resource_scope):
        result = proof.check(inputs)
        assert result.failures == (), proof.PROOF_ID
        assert result.checked


# --- running the scripts against stand-ins -------------------------------------------------------

FAKE_PIP = """
import json, os, sys
args = sys.argv[1:]
log = open(os.environ["FAKE_LOG"], "a")
if args[0] == "list":
    print(json.dumps([{"name": "numpy", "version": "1.26.4"},
                      {"name": "Pandas", "version": "2.0.0"},
                      {"name": "odd", "version": "not a version"}]))
else:
    constraints = open(args[args.index("--constraint") + 1]).read().split()
    log.write("pip " + " ".join(args) + "\\n" + "constraints " + " ".join(constraints) + "\\n")
    sys.exit(int(os.environ.get("FAKE_PIP_EXIT", "0")))
"""

FAKE_BOTO3 = """
import json, os

class _SageMaker:
    def __init__(self):
        self.data = json.loads(os.environ["FAKE_SAGEMAKER"])

    def _call(self, op, **kw):
        with open(os.environ["FAKE_LOG"], "a") as log:
            log.write(f"sagemaker {op} {json.dumps(kw, sort_keys=True)}\\n")
        if "error" in self.data:
            raise RuntimeError(self.data["error"])

    def describe_space(self, **kw):
        self._call("DescribeSpace", **kw)
        return self.data["space"]

    def describe_user_profile(self, **kw):
        self._call("DescribeUserProfile", **kw)
        arn = "arn:aws:sagemaker:us-east-1:1:user-profile/d/" + kw["UserProfileName"]
        return {"UserProfileArn": arn}

    def list_tags(self, **kw):
        self._call("ListTags", **kw)
        return {"Tags": self.data.get("tags", [])}

def client(service, region_name=None, config=None):
    assert service == "sagemaker" and region_name == "us-east-1"
    return _SageMaker()
"""

FAKE_GIT = """#!/bin/bash
echo "git $*" >> "$FAKE_LOG"
store="$HOME/.fake-gitconfig"
case "$1" in
  config)
    if [ "$3" = --get ]; then
      grep -s "^$4=" "$store" | cut -d= -f2-
      grep -qs "^$4=" "$store"
    else
      echo "$3=$4" >> "$store"
    fi ;;
  clone) mkdir -p "${@: -1}" && touch "${@: -1}/.cloned" ;;
esac
"""

PRIVATE_SPACE = {
    "space": {
        "SpaceSharingSettings": {"SharingType": "Private"},
        "OwnershipSettings": {"OwnerUserProfileName": "jane-doe"},
    },
    "tags": [{"Key": lcc.DEFAULT_EMAIL_TAG, "Value": "jane.doe@corp.example"}],
}


class Sandbox:
    """A home directory, PATH and PYTHONPATH in which the script's pip, git and SageMaker calls
    reach stand-ins that record them."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.home = root / "home"
        self.bin = root / "bin"
        self.fakes = root / "fakes"
        self.log = root / "calls.log"
        for directory in (self.home, self.bin, self.fakes / "pip", self.fakes / "boto3"):
            directory.mkdir(parents=True)
        (self.fakes / "botocore").mkdir()
        (self.fakes / "pip" / "__init__.py").write_text("")
        (self.fakes / "pip" / "__main__.py").write_text(FAKE_PIP)
        (self.fakes / "boto3" / "__init__.py").write_text(FAKE_BOTO3)
        (self.fakes / "botocore" / "__init__.py").write_text("")
        (self.fakes / "botocore" / "config.py").write_text(
            "class Config:\n    def __init__(self, **kw):\n        pass\n"
        )
        self.python = self.bin / "python"
        self.python.write_text(f'#!/bin/sh\nexec {sys.executable} "$@"\n')
        (self.bin / "git").write_text(FAKE_GIT)
        for exe in (self.python, self.bin / "git"):
            exe.chmod(0o755)
        self.metadata = root / "resource-metadata.json"
        self.metadata.write_text(
            json.dumps(
                {
                    "DomainId": "d-abc",
                    "SpaceName": "jane-space",
                    "ResourceArn": "arn:aws:sagemaker:us-east-1:1:app/d-abc/jane-space/x/y",
                }
            )
        )
        self.log.touch()

    def run(self, data: dict[str, Any], sagemaker: dict[str, Any] | None = None, **env: str):
        data = {**data, "pip": {"python": str(self.python), **data.get("pip", {})}}
        script = lcc.render_script(options(**data), "JupyterLab")
        path = self.root / "on-start.sh"
        path.write_text(script.text)
        environment = {
            "PATH": f"{self.bin}:{os.environ['PATH']}",
            "HOME": str(self.home),
            "TMPDIR": str(self.root),
            "PYTHONPATH": str(self.fakes),
            "FAKE_LOG": str(self.log),
            "FAKE_SAGEMAKER": json.dumps(sagemaker or PRIVATE_SPACE),
            "STUDIO_CATALOG_METADATA": str(self.metadata),
            "AWS_REGION": "us-east-1",
            **env,
        }
        return subprocess.run(
            ["bash", str(path)], env=environment, capture_output=True, text=True, timeout=60
        )

    def calls(self) -> str:
        return self.log.read_text()

    def git_config(self) -> dict[str, str]:
        store = self.home / ".fake-gitconfig"
        lines = store.read_text().splitlines() if store.exists() else []
        return dict(line.split("=", 1) for line in lines)


@pytest.fixture
def sandbox(tmp_path):
    return Sandbox(tmp_path)


NO_GIT = {"git": {"set_identity": False}}


def test_pinned_packages_install_into_the_image_environment_without_moving_its_packages(
    sandbox,
):
    data = {
        "pip": {"packages": ["pandas==2.2.3"], "index_url": "https://pypi.example.com/simple"},
        **NO_GIT,
    }
    result = sandbox.run(data)
    assert result.returncode == 0, result.stderr
    calls = sandbox.calls()
    install = next(line for line in calls.splitlines() if line.startswith("pip install"))
    assert install.endswith("pandas==2.2.3")
    assert "--only-binary=:all: --index-url https://pypi.example.com/simple" in install
    # The image's numpy stays pinned; the image's pandas gives way to the pin; an invalid
    # version is left out rather than breaking pip.
    assert "constraints numpy==1.26.4\n" in calls
    assert "packages: installed" in result.stdout


def test_a_failed_install_is_logged_and_the_app_still_starts(sandbox):
    data = {"pip": {"packages": ["pandas==2.2.3"]}, **NO_GIT}
    result = sandbox.run(data, FAKE_PIP_EXIT="1")
    assert result.returncode == 0
    assert "packages: FAILED (exit 1" in result.stdout


def test_fail_app_on_error_stops_the_app(sandbox):
    data = {"pip": {"packages": ["pandas==2.2.3"], "fail_app_on_error": True}, **NO_GIT}
    result = sandbox.run(data, FAKE_PIP_EXIT="1")
    assert result.returncode == 1
    assert "the app does not start" in result.stdout


def test_a_custom_image_without_the_interpreter_is_skipped(sandbox):
    data = {"pip": {"packages": ["pandas==2.2.3"], "python": "/nonexistent/python"}}
    result = sandbox.run(data)
    assert result.returncode == 0
    assert "not found (custom image?); skipped" in result.stdout
    assert "pip install" not in sandbox.calls()


def test_private_space_owner_gets_their_identity_from_the_profile_tag(sandbox):
    result = sandbox.run({})
    assert result.returncode == 0, result.stderr
    assert sandbox.git_config() == {"user.name": "jane-doe", "user.email": "jane.doe@corp.example"}
    assert 'DescribeSpace {"DomainId": "d-abc", "SpaceName": "jane-space"}' in sandbox.calls()


def test_without_the_tag_the_email_comes_from_the_email_domain(sandbox):
    result = sandbox.run({"git": {"email_domain": "example.com"}}, {**PRIVATE_SPACE, "tags": []})
    assert result.returncode == 0
    assert sandbox.git_config()["user.email"] == "jane-doe@example.com"


def test_without_tag_lookup_no_profile_call_is_made(sandbox):
    sandbox.run({"git": {"email_tag": ""}})
    assert "DescribeUserProfile" not in sandbox.calls()
    assert sandbox.git_config() == {"user.name": "jane-doe"}


def test_shared_spaces_get_no_identity(sandbox):
    shared = {"space": {"SpaceSharingSettings": {"SharingType": "Shared"}}}
    result = sandbox.run({}, shared)
    assert result.returncode == 0
    assert sandbox.git_config() == {}
    assert "skipped (not a private space)" in result.stdout


def test_an_identity_the_person_set_is_kept_without_any_call(sandbox):
    (sandbox.home / ".fake-gitconfig").write_text("user.name=Jane\nuser.email=j@x.example\n")
    result = sandbox.run({})
    assert "already set; kept" in result.stdout
    assert "sagemaker" not in sandbox.calls()
    assert sandbox.git_config() == {"user.name": "Jane", "user.email": "j@x.example"}


def test_sagemaker_errors_skip_the_identity_and_the_app_starts(sandbox):
    result = sandbox.run({}, {"error": "AccessDenied"})
    assert result.returncode == 0
    assert "git identity: skipped (RuntimeError: AccessDenied)" in result.stdout
    assert sandbox.git_config() == {}


def test_repositories_are_cloned_in_the_background_once(sandbox):
    (sandbox.home / "kept").mkdir()
    urls = ["https://git.example.com/team/kept", "https://git.example.com/team/new.git"]
    result = sandbox.run({"git": {"set_identity": False, "repositories": urls}})
    assert result.returncode == 0
    deadline = time.monotonic() + 20
    while not (sandbox.home / "new" / ".cloned").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert (sandbox.home / "new" / ".cloned").exists()
    assert not (sandbox.home / "kept" / ".cloned").exists(), "existing work is never touched"
    assert "git clone --quiet -- https://git.example.com/team/new.git" in sandbox.calls()
    assert "kept" not in sandbox.calls().split("git clone", 1)[-1]
