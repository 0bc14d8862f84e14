"""Product: Studio lifecycle configurations (``templates/studio-lifecycle-configs.yaml``).

One ``AWS::SageMaker::StudioLifecycleConfig`` per Studio (new) app type (JupyterLab, Code
Editor), each a shell script rendered from the jinja2 templates in
``factory/products/lifecycle_scripts/`` with the generator options: pinned pip packages in the
image's Python environment, the space owner's Git identity, and suggested repositories. The
ARNs are published to SSM for the domain and user-profile products, which attach them.

What the sources decide here:

* **Every property is create-only** and the type has no update handler (registry schema
  ``AWS::SageMaker::StudioLifecycleConfig`` bundled in cfn-lint: ``createOnlyProperties`` lists
  app type, content, name and tags; ``handlers`` has create/read/delete/list only). Any change
  replaces the configuration, and CloudFormation cannot replace a custom-named resource under
  the same name. The name therefore ends with a digest of the script, so new content gets a
  new name; everything else in the resource (app type, tags) is fixed or comes from
  ``ConfigSetName``, which is in the name too.
* **Names** are unique per account and region (the primary identifier), at most 63 characters
  of ``^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}`` (schema; botocore ``StudioLifecycleConfigName``),
  stored lowercased (schema ``propertyTransform``). ``${AWS::StackName}`` can be 128
  characters and CloudFormation has no substring function, so the name is
  ``<ConfigSetName>-<kind>-<first 8 hex of the stack UUID>-<8 hex of the script digest>``:
  a second launch gets another stack UUID and never collides.
* **Content** is base64, 1..16,384 characters (schema ``maxLength``; botocore
  ``CreateStudioLifecycleConfig.StudioLifecycleConfigContent``; Developer Guide, "Lifecycle
  configurations with JupyterLab": 16,384 characters per script). The generator encodes it
  (no ``Fn::Base64``): the limit applies to the encoded text, which the generator measures
  and refuses past the limit (:class:`ScriptTooLargeError`), cfn-lint checks again against the
  schema's ``maxLength`` in the emitted template, and the digest in the name is taken from the
  same bytes SageMaker receives. The readable script is in this package and its digest in the
  resource's ``Metadata``.
* **Replacement and deletion**: DeleteStudioLifecycleConfig fails with ``ResourceInUse`` while
  an app runs it or a domain or profile still names it (botocore documentation and error
  list). On an update the old configuration is deleted in the cleanup phase; if a domain
  still names it, CloudFormation tries three times, skips it and still completes the update
  (AWS Knowledge Center, "cloudformation-stack-cleanup-stuck"), leaving it behind. Update the
  domain (and profiles) afterwards so they name the new ARN. Terminating this product while a
  domain names a configuration fails: detach first.
* **Idle shutdown** is not scripted: JupyterLab and Code Editor have built-in idle shutdown
  (``AppLifecycleManagement.IdleSettings``), which the domain product configures. The only
  app types without it are Studio Classic's (``JupyterServer``, ``KernelGateway``), hidden by
  default here; their auto-shutdown extension (aws-samples/sagemaker-studio-lifecycle-config-
  examples, install-autoshutdown-server-extension) downloads a tarball from GitHub at every
  start, which a VpcOnly domain without internet access cannot do (it would need an S3 copy
  and a restart of the Jupyter server). Classic gets no configuration.
* **Attaching** is the domain's and profiles' job. The built-in LCC
  (``JupyterLabAppSettings``/``CodeEditorAppSettings.BuiltInLifecycleConfigArn``, in both
  registry schemas) "always runs when a space starts and resolves dynamically from the domain
  settings at launch time", while a default LCC (``DefaultResourceSpec.LifecycleConfigArn``,
  which must also be listed in ``LifecycleConfigArns``: cloudformation-coverage-roadmap#1568)
  is copied into each space and "persists until the user explicitly changes it" (Developer
  Guide, "Lifecycle configurations within Amazon SageMaker Studio"). The built-in slot is the
  one that follows this product's updates.
* **Execution role**: the identity step calls DescribeSpace, and with ``git.email_tag``
  DescribeUserProfile and ListTags, as the app's execution role: the catalog's execution roles
  allow these reads in their own domain (:mod:`factory.policies.execution_role`). pip needs
  the index (PyPI or ``pip.index_url``) to be reachable from the domain's subnets.
* **Environment** (Developer Guide, "Lifecycle configurations with JupyterLab" and
  "Customize your environment using a package manager"; aws/sagemaker-distribution
  ``template/v2/Dockerfile``): the script runs as ``sagemaker-user``; JupyterLab, its default
  kernel and Code Editor use the image's micromamba ``base`` environment at ``/opt/conda``,
  owned by that user, so packages go there with ``/opt/conda/bin/python -m pip``. The
  environment is on the container, not on the space's EBS volume: packages are installed
  again at every start. Scripts must finish within 5 minutes (Developer Guide, "Lifecycle
  configuration timeout"), so pip has a bounded time and cloning runs in the background.
"""

from __future__ import annotations

import base64
import hashlib
import re
import shlex
from dataclasses import dataclass
from functools import cache
from typing import Any

import jinja2
from pydantic import BaseModel, ConfigDict, field_validator, model_validator
from troposphere import GetAtt, Output, Ref, Select, Split, Sub, Tags
from troposphere.sagemaker import StudioLifecycleConfig
from troposphere.ssm import Parameter as SsmParameter

from factory import naming
from factory.options import OptionsError, parse
from factory.template import ProductTemplate

NAME = "studio-lifecycle-configs"

#: Studio (new) app types and the short kind naming each one's configuration, SSM parameter
#: and output. The registry schema's ``StudioLifecycleConfigAppType`` enum also has Classic's
#: ``JupyterServer`` and ``KernelGateway``: not offered (module docstring, "Idle shutdown").
APP_KINDS: dict[str, str] = {"JupyterLab": "jupyterlab", "CodeEditor": "code-editor"}

#: Registry schema / botocore limits of ``AWS::SageMaker::StudioLifecycleConfig``.
CONTENT_MAX_LENGTH = 16_384
LCC_NAME_MAX_LENGTH = 63
LCC_NAME_PATTERN = r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$"
DIGEST_LENGTH = 8
STACK_ID_LENGTH = 8  # the first group of the stack UUID

#: ``<set>-<kind>-<stack>-<digest>`` must fit 63 characters with the longest kind.
SET_NAME_MAX_LENGTH = LCC_NAME_MAX_LENGTH - (
    max(len(kind) for kind in APP_KINDS.values()) + STACK_ID_LENGTH + DIGEST_LENGTH + 3
)
#: Lowercase: SageMaker stores the name lowercased (schema ``propertyTransform``), and the set
#: name also names SSM parameters, which the domain product will read back.
SET_NAME_PATTERN = rf"^[a-z0-9]([a-z0-9-]{{0,{SET_NAME_MAX_LENGTH - 2}}}[a-z0-9])?$"

#: Published for the domain and user-profile products: ``<prefix>/<kind>-arn``.
SSM_TEMPLATE = naming.LIFECYCLE_SSM_TEMPLATE

SET_TAG = "studio-catalog:lifecycle-set"
DIGEST_TAG = "studio-catalog:script-sha256"

#: Tag the person's email is read from on their user profile: ``studio-factory users`` sets it
#: from the CSV's ``email`` column (factory/users/bulk.py ``EMAIL_TAG``), and Service Catalog
#: passes a launch's tags through the stack to its resources.
DEFAULT_EMAIL_TAG = "studio-factory:email"

SCRIPTS_PACKAGE = ("factory.products", "lifecycle_scripts")
MAIN_SCRIPT = "on-start.sh.j2"

# --- generator options -------------------------------------------------------------------------

#: PEP 508 project name (the "Names" rule of the Python Packaging User Guide, "Names and
#: normalization") and PEP 440 public version (no local ``+label``: public indexes refuse
#: them), so a pin is exactly ``name==version`` and nothing pip would read as an option.
PROJECT_NAME = r"[A-Za-z0-9]([A-Za-z0-9._-]{0,62}[A-Za-z0-9])?"
PUBLIC_VERSION = r"([0-9]+!)?[0-9]+(\.[0-9]+){0,9}((a|b|rc)[0-9]+)?(\.post[0-9]+)?(\.dev[0-9]+)?"
PIN = re.compile(rf"(?P<name>{PROJECT_NAME})==(?P<version>{PUBLIC_VERSION})")
PIN_MAX_LENGTH = 80
MAX_PACKAGES = 30

#: The schema's ``CodeRepository.RepositoryUrl`` rule (AWS::SageMaker::Domain, UserProfile,
#: Space): HTTPS, letters, digits and ``.-_/`` only (no credentials, no query), at most 256.
#: The same list can be given to the domain's ``JupyterLabAppSettings.CodeRepositories``.
REPOSITORY_URL = re.compile(r"https://([.\-_a-zA-Z0-9]+/?){3,1016}")
REPOSITORY_URL_MAX_LENGTH = 256
MAX_REPOSITORIES = 10

#: An index URL without credentials: ``https://host[:port]/path`` (pip's ``--index-url``).
INDEX_URL = re.compile(r"https://[a-zA-Z0-9.-]+(:[0-9]{1,5})?(/[a-zA-Z0-9._~%/+-]*)?")
HOSTNAME = re.compile(r"([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}")
#: SageMaker tag keys (schema ``Tag.Key``), restricted to ASCII.
TAG_KEY = re.compile(r"[A-Za-z0-9 _.:/=+@-]{1,128}")
ABSOLUTE_PATH = re.compile(r"/[A-Za-z0-9._/-]{1,255}")

#: Studio stops a lifecycle script after 5 minutes (Developer Guide, "Lifecycle configuration
#: timeout"); pip gets at most this much, leaving time for the 30-second identity lookup.
PIP_TIMEOUT_MAX = 240


def _problem(option: str, value: Any, allowed: str) -> ValueError:
    return ValueError(f"option {option}: {value!r} not allowed; allowed: {allowed}")


def repository_directory(url: str) -> str:
    """The directory a repository is cloned into under the home directory, as the script's
    ``basename "$url" .git`` computes it."""
    last = url.rstrip("/").rsplit("/", 1)[-1]
    return last[: -len(".git")] if last.endswith(".git") and last != ".git" else last


class PipOptions(BaseModel):
    """Pinned packages for the image's Python environment."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    packages: list[str] = []
    index_url: str = ""
    python: str = "/opt/conda/bin/python"
    timeout_seconds: int = 180
    only_binary: bool = True
    protect_image_packages: bool = True
    fail_app_on_error: bool = False

    @field_validator("packages")
    @classmethod
    def _pins(cls, value: list[str]) -> list[str]:
        if len(value) > MAX_PACKAGES:
            raise _problem("packages", f"{len(value)} packages", f"at most {MAX_PACKAGES}")
        seen: dict[str, str] = {}
        for pin in value:
            match = PIN.fullmatch(pin)
            if not match or len(pin) > PIN_MAX_LENGTH:
                raise _problem(
                    "packages",
                    pin,
                    f"name==version (exact PEP 440 public version, at most "
                    f"{PIN_MAX_LENGTH} characters), e.g. pandas==2.2.3",
                )
            key = re.sub(r"[-_.]+", "-", match["name"]).lower()
            if key in seen:
                raise _problem("packages", pin, f"one pin per package ({seen[key]} already)")
            seen[key] = pin
        return value

    @field_validator("index_url")
    @classmethod
    def _index(cls, value: str) -> str:
        if value and not (INDEX_URL.fullmatch(value) and len(value) <= 256):
            raise _problem(
                "index_url",
                value,
                "empty (PyPI) or https://host[:port]/path without "
                "credentials (at most 256 characters)",
            )
        return value

    @field_validator("python")
    @classmethod
    def _python(cls, value: str) -> str:
        if not ABSOLUTE_PATH.fullmatch(value):
            raise _problem("python", value, "an absolute path of letters, digits and ._/-")
        return value

    @field_validator("timeout_seconds")
    @classmethod
    def _timeout(cls, value: int) -> int:
        if not 30 <= value <= PIP_TIMEOUT_MAX:
            raise _problem(
                "timeout_seconds",
                value,
                f"30..{PIP_TIMEOUT_MAX} (Studio stops a lifecycle script after 300 s)",
            )
        return value


class GitOptions(BaseModel):
    """Git identity of a private space's owner and repositories to clone."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    set_identity: bool = True
    email_tag: str = DEFAULT_EMAIL_TAG
    email_domain: str = ""
    repositories: list[str] = []
    clone_timeout_seconds: int = 120

    @field_validator("email_tag")
    @classmethod
    def _tag(cls, value: str) -> str:
        if value and not TAG_KEY.fullmatch(value):
            raise _problem(
                "email_tag",
                value,
                "empty or a tag key (letters, digits, spaces and _.:/=+@-, at most 128)",
            )
        return value

    @field_validator("email_domain")
    @classmethod
    def _domain(cls, value: str) -> str:
        if value and not (HOSTNAME.fullmatch(value) and len(value) <= 253):
            raise _problem(
                "email_domain", value, "empty or a lowercase DNS name such as example.com"
            )
        return value

    @field_validator("repositories")
    @classmethod
    def _repositories(cls, value: list[str]) -> list[str]:
        if len(value) > MAX_REPOSITORIES:
            raise _problem(
                "repositories", f"{len(value)} repositories", f"at most {MAX_REPOSITORIES}"
            )
        seen: dict[str, str] = {}
        for url in value:
            if not (REPOSITORY_URL.fullmatch(url) and len(url) <= REPOSITORY_URL_MAX_LENGTH):
                raise _problem(
                    "repositories",
                    url,
                    "https:// URLs of letters, digits and "
                    f".-_/ (no credentials), at most {REPOSITORY_URL_MAX_LENGTH}",
                )
            directory = repository_directory(url)
            if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", directory):
                raise _problem(
                    "repositories",
                    url,
                    "a URL whose last path segment names a "
                    "directory starting with a letter or digit",
                )
            if directory in seen:
                raise _problem(
                    "repositories",
                    url,
                    f"one repository per directory (~/{directory} is {seen[directory]})",
                )
            seen[directory] = url
        return value

    @field_validator("clone_timeout_seconds")
    @classmethod
    def _clone_timeout(cls, value: int) -> int:
        if not 10 <= value <= 3600:
            raise _problem("clone_timeout_seconds", value, "10..3600")
        return value


class LifecycleConfigOptions(BaseModel):
    """Defaults baked into the lifecycle-configs template (every script is fixed at build)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    set_name: str = naming.DEFAULT_DOMAIN_NAME
    app_types: list[str] = list(APP_KINDS)
    pip: PipOptions = PipOptions()
    git: GitOptions = GitOptions()

    @field_validator("set_name")
    @classmethod
    def _set_name(cls, value: str) -> str:
        if not re.fullmatch(SET_NAME_PATTERN, value):
            raise _problem(
                "set_name",
                value,
                f"1-{SET_NAME_MAX_LENGTH} lowercase letters, "
                "digits and hyphens, starting and ending with a letter or digit",
            )
        return value

    @field_validator("app_types")
    @classmethod
    def _app_types(cls, value: list[str]) -> list[str]:
        if not value or len(set(value)) != len(value) or set(value) - set(APP_KINDS):
            raise _problem("app_types", value, f"one or more of {', '.join(APP_KINDS)}, each once")
        return value

    @model_validator(mode="after")
    def _not_empty(self) -> LifecycleConfigOptions:
        if not (self.pip.packages or self.git.set_identity or self.git.repositories):
            raise ValueError(
                "option pip/git: nothing to do; allowed: at least one of pip.packages, "
                "git.set_identity, git.repositories"
            )
        return self


# --- scripts ------------------------------------------------------------------------------------


class ScriptTooLargeError(OptionsError):
    """A rendered script whose base64 text exceeds the service limit."""


@dataclass(frozen=True)
class Script:
    """One rendered lifecycle script and what the template needs from it."""

    app_type: str
    text: str

    @property
    def content(self) -> str:
        """``StudioLifecycleConfigContent``: the script, base64-encoded (UTF-8; it is ASCII)."""
        return base64.b64encode(self.text.encode("ascii")).decode("ascii")

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.text.encode("ascii")).hexdigest()

    @property
    def kind(self) -> str:
        return APP_KINDS[self.app_type]


@cache
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader(*SCRIPTS_PACKAGE),
        undefined=jinja2.StrictUndefined,
        autoescape=False,  # shell, not HTML: values are quoted with the sq filter
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        # Bash's ${#array[@]} would open a jinja comment.
        comment_start_string="{#jinja",
        comment_end_string="jinja#}",
    )
    env.filters["sq"] = shlex.quote
    env.filters["py"] = _python_literal
    return env


def _python_literal(value: str) -> str:
    """A Python string literal (the options are validated ASCII without quotes or backslashes)."""
    return repr(str(value))


def render_script(opts: LifecycleConfigOptions, app_type: str) -> Script:
    """Render one app type's script; deterministic (no clock, no environment)."""
    text = (
        _environment()
        .get_template(MAIN_SCRIPT)
        .render(app_type=app_type, pip=opts.pip, git=opts.git)
    )
    return Script(app_type, text)


def scripts(opts: LifecycleConfigOptions) -> list[Script]:
    """Every configured app type's script, each checked against the content limit."""
    rendered = [render_script(opts, app_type) for app_type in opts.app_types]
    for script in rendered:
        if len(script.content) > CONTENT_MAX_LENGTH:
            raise ScriptTooLargeError(
                NAME,
                [
                    f"option pip.packages/git.repositories: the {script.app_type} script is "
                    f"{len(script.content)} characters base64, over SageMaker's "
                    f"{CONTENT_MAX_LENGTH}; allowed: fewer packages or repositories"
                ],
            )
    return rendered


# --- template -----------------------------------------------------------------------------------

G_SET = "Lifecycle configuration set"


def _parameters(pt: ProductTemplate, opts: LifecycleConfigOptions) -> None:
    pt.parameter(
        G_SET,
        "ConfigSetName",
        "Configuration set name",
        Type="String",
        Default=opts.set_name,
        MinLength=1,
        MaxLength=SET_NAME_MAX_LENGTH,
        AllowedPattern=SET_NAME_PATTERN,
        ConstraintDescription=f"1-{SET_NAME_MAX_LENGTH} lowercase letters, digits and "
        "hyphens, starting and ending with a letter or digit.",
        Description="Names the SSM prefix /studio-catalog/lifecycle-configs/<name>/ the domain "
        "and user-profile products read, and starts each configuration's name. One launch per "
        "name in an account and region (usually the domain's name).",
    )


def _stack_id() -> Any:
    """The first group of the stack UUID (``arn:...:stack/<name>/<uuid>``): 8 hex characters,
    unique per stack, whatever the stack name's length."""
    return Select(0, Split("-", Select(2, Split("/", Ref("AWS::StackId")))))


def lifecycle_config_name(kind: str, digest: str) -> Any:
    return Sub(
        f"${{ConfigSetName}}-{kind}-${{StackId}}-{digest[:DIGEST_LENGTH]}",
        StackId=_stack_id(),
    )


def logical_id(app_type: str) -> str:
    return f"{app_type}LifecycleConfig"


def _lifecycle_config(pt: ProductTemplate, script: Script) -> None:
    pt.template.add_resource(
        StudioLifecycleConfig(
            logical_id(script.app_type),
            StudioLifecycleConfigAppType=script.app_type,
            StudioLifecycleConfigContent=script.content,
            StudioLifecycleConfigName=lifecycle_config_name(script.kind, script.sha256),
            Tags=Tags(
                **{
                    naming.MANAGED_BY_TAG: naming.MANAGED_BY_VALUE,
                    SET_TAG: Ref("ConfigSetName"),
                    DIGEST_TAG: script.sha256,
                }
            ),
            Metadata={
                "studio-catalog": {
                    "script": f"factory/products/lifecycle_scripts/{MAIN_SCRIPT}",
                    "sha256": script.sha256,
                }
            },
        )
    )


def ssm_parameter_name(kind: str, set_name: str = "${ConfigSetName}") -> str:
    """SSM parameter holding the ARN of ``kind``'s configuration in set ``set_name``."""
    return SSM_TEMPLATE.format(set=set_name) + f"/{kind}-arn"


def _publish(pt: ProductTemplate, script: Script) -> None:
    arn = GetAtt(logical_id(script.app_type), "StudioLifecycleConfigArn")
    pt.template.add_resource(
        SsmParameter(
            f"Ssm{script.app_type}LifecycleConfigArn",
            Type="String",
            Name=Sub(ssm_parameter_name(script.kind)),
            Value=arn,
            Description=Sub(
                f"Studio lifecycle configuration set ${{ConfigSetName}}: {script.app_type}"
            ),
        )
    )
    pt.template.add_output(
        Output(
            f"{script.app_type}LifecycleConfigArn",
            Description=f"{script.app_type} lifecycle configuration (script sha256 "
            f"{script.sha256[:16]}...): give it to the domain or user-profile product",
            Value=arn,
        )
    )


def _outputs(pt: ProductTemplate) -> None:
    pt.template.add_output(
        Output(
            "SsmPrefix",
            Description="SSM prefix holding <kind>-arn for each configuration of this set",
            Value=Sub(SSM_TEMPLATE.format(set="${ConfigSetName}")),
        )
    )


def generate(options: dict[str, Any] | None = None) -> Any:
    """Build the lifecycle-configs product template from (validated) generator options."""
    opts: LifecycleConfigOptions = parse(NAME, LifecycleConfigOptions, options)
    rendered = scripts(opts)
    pt = ProductTemplate(
        "SageMaker Studio lifecycle configurations (Studio Catalog Factory): pinned pip "
        "packages, Git identity and repositories for "
        + " and ".join(script.app_type for script in rendered)
        + ", published to SSM for the domain and user-profile products."
    )
    _parameters(pt, opts)
    for script in rendered:
        _lifecycle_config(pt, script)
        _publish(pt, script)
    _outputs(pt)
    return pt.finish()
