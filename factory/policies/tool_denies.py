"""Hiding a tool is visibility, not security: this table turns "hidden" into IAM denies.

One row per hideable Studio app type and ML tool. A row either lists the IAM actions and
resource ARN patterns that make the tool usable (denied on the person's execution role
when the tool is hidden and ``EnforceHiddenTools`` is on), or states why no IAM action
can block it. The README renders this table; tests check it cell by cell.

Resource patterns use ``${DomainId}`` (the profile's domain) and the usual pseudo
parameters; they are wrapped in ``Fn::Sub`` by :func:`deny_statement`.
"""

from __future__ import annotations

from dataclasses import dataclass

from awacs.aws import Condition, Deny, Statement, StringEquals
from troposphere import Sub

from factory.policies.actions import actions
from factory.studio import HIDEABLE_APP_TYPES, ML_TOOLS

_ARN = "arn:${AWS::Partition}:sagemaker:${AWS::Region}:${AWS::AccountId}:"


@dataclass(frozen=True)
class ToolDeny:
    tool: str
    kind: str  # "app" or "ml-tool"
    actions: tuple[str, ...] = ()
    resources: tuple[str, ...] = ()
    note: str = ""

    @property
    def enforceable(self) -> bool:
        return bool(self.actions)


def _app(app_type: str, note: str = "") -> ToolDeny:
    """Apps are denied by ARN: ``app/<domain>/<profile-or-space>/<apptype>/<name>``."""
    return ToolDeny(
        tool=app_type,
        kind="app",
        actions=("sagemaker:CreateApp",),
        resources=(_ARN + f"app/${{DomainId}}/*/{app_type.lower()}/*",),
        note=note or f"Blocks starting a {app_type} app in any of the person's spaces.",
    )


def _ml(tool: str, actions_: tuple[str, ...], resources: tuple[str, ...], note: str) -> ToolDeny:
    return ToolDeny(tool=tool, kind="ml-tool", actions=actions_, resources=resources, note=note)


def _hidden_only(tool: str, note: str) -> ToolDeny:
    return ToolDeny(tool=tool, kind="ml-tool", note=note)


_PARTNER_NOTE = (
    "No IAM action: partner AI apps share sagemaker:CreatePartnerAppPresignedUrl and "
    "their ARNs do not name the partner, so one partner cannot be denied alone. "
    "Hidden only; do not deploy the partner app if it must be unavailable."
)

TABLE: tuple[ToolDeny, ...] = (
    _app("JupyterServer", "Blocks Studio Classic's JupyterServer app."),
    _app("TensorBoard"),
    _app("RStudioServerPro"),
    _app("JupyterLab"),
    _app("CodeEditor"),
    _app("DetailedProfiler"),
    _app("Canvas", "Blocks SageMaker Canvas (and Data Wrangler inside it)."),
    _hidden_only(
        "DataWrangler",
        "No IAM action of its own: Data Wrangler runs inside Canvas. Hide and deny "
        "Canvas to block it.",
    ),
    _ml(
        "FeatureStore",
        (
            "sagemaker:CreateFeatureGroup",
            "sagemaker:UpdateFeatureGroup",
            "sagemaker:DeleteFeatureGroup",
            "sagemaker:PutRecord",
            "sagemaker:GetRecord",
            "sagemaker:BatchGetRecord",
            "sagemaker:DeleteRecord",
        ),
        (_ARN + "feature-group/*",),
        "Blocks creating feature groups and reading or writing records.",
    ),
    _ml(
        "EmrClusters",
        (
            "elasticmapreduce:ListClusters",
            "elasticmapreduce:DescribeCluster",
            "elasticmapreduce:GetClusterSessionCredentials",
            "elasticmapreduce:RunJobFlow",
        ),
        ("*",),
        "Blocks discovering, creating and connecting to EMR clusters.",
    ),
    _ml(
        "AutoMl",
        ("sagemaker:CreateAutoMLJob", "sagemaker:CreateAutoMLJobV2"),
        (_ARN + "automl-job/*",),
        "Blocks Autopilot jobs.",
    ),
    _ml(
        "Experiments",
        (
            "sagemaker:CreateExperiment",
            "sagemaker:CreateTrial",
            "sagemaker:CreateTrialComponent",
            "sagemaker:CreateMlflowTrackingServer",
            "sagemaker:CreatePresignedMlflowTrackingServerUrl",
        ),
        (
            _ARN + "experiment/*",
            _ARN + "experiment-trial/*",
            _ARN + "experiment-trial-component/*",
            _ARN + "mlflow-tracking-server/*",
        ),
        "Blocks experiments and MLflow tracking servers.",
    ),
    _ml(
        "Training",
        ("sagemaker:CreateTrainingJob", "sagemaker:CreateHyperParameterTuningJob"),
        (_ARN + "training-job/*", _ARN + "hyper-parameter-tuning-job/*"),
        "Blocks training and tuning jobs.",
    ),
    _hidden_only(
        "ModelEvaluation",
        "No IAM action of its own: evaluations run as processing jobs, which other tools "
        "need too. Hidden only.",
    ),
    _ml(
        "Pipelines",
        (
            "sagemaker:CreatePipeline",
            "sagemaker:UpdatePipeline",
            "sagemaker:StartPipelineExecution",
        ),
        (_ARN + "pipeline/*",),
        "Blocks creating and running pipelines.",
    ),
    _ml(
        "Models",
        (
            "sagemaker:CreateModel",
            "sagemaker:CreateModelPackage",
            "sagemaker:CreateModelPackageGroup",
        ),
        (_ARN + "model/*", _ARN + "model-package/*", _ARN + "model-package-group/*"),
        "Blocks registering models and model packages.",
    ),
    _ml(
        "JumpStart",
        ("s3:GetObject", "s3:ListBucket"),
        (
            "arn:${AWS::Partition}:s3:::jumpstart-cache-prod-*",
            "arn:${AWS::Partition}:s3:::jumpstart-cache-prod-*/*",
            "arn:${AWS::Partition}:s3:::jumpstart-private-cache-prod-*",
            "arn:${AWS::Partition}:s3:::jumpstart-private-cache-prod-*/*",
        ),
        "No SageMaker action of its own: denies reading the JumpStart model buckets.",
    ),
    _ml(
        "InferenceRecommender",
        ("sagemaker:CreateInferenceRecommendationsJob",),
        (_ARN + "inference-recommendations-job/*",),
        "Blocks Inference Recommender jobs.",
    ),
    _ml(
        "Endpoints",
        (
            "sagemaker:CreateEndpoint",
            "sagemaker:CreateEndpointConfig",
            "sagemaker:UpdateEndpoint",
        ),
        (_ARN + "endpoint/*", _ARN + "endpoint-config/*"),
        "Blocks deploying and updating endpoints (invoking existing ones stays possible).",
    ),
    _ml(
        "Projects",
        ("sagemaker:CreateProject", "sagemaker:UpdateProject"),
        (_ARN + "project/*",),
        "Blocks creating and updating SageMaker projects.",
    ),
    _ml(
        "InferenceOptimization",
        ("sagemaker:CreateOptimizationJob",),
        (_ARN + "optimization-job/*",),
        "Blocks inference optimization jobs.",
    ),
    _ml(
        "HyperPodClusters",
        ("sagemaker:CreateCluster", "sagemaker:UpdateCluster"),
        (_ARN + "cluster/*",),
        "Blocks creating and changing HyperPod clusters.",
    ),
    _hidden_only("Comet", _PARTNER_NOTE),
    _hidden_only("DeepchecksLLMEvaluation", _PARTNER_NOTE),
    _hidden_only("Fiddler", _PARTNER_NOTE),
    _hidden_only("LakeraGuard", _PARTNER_NOTE),
    _hidden_only(
        "PerformanceEvaluation",
        "No IAM action of its own: evaluations run as processing jobs. Hidden only.",
    ),
)

BY_TOOL: dict[str, ToolDeny] = {row.tool: row for row in TABLE}


def _check_table() -> None:
    expected = set(HIDEABLE_APP_TYPES) | set(ML_TOOLS)
    missing, extra = expected - set(BY_TOOL), set(BY_TOOL) - expected
    if missing or extra or len(BY_TOOL) != len(TABLE):
        raise RuntimeError(f"tool deny table out of sync: missing={missing} extra={extra}")


_check_table()


def statement_sid(tool: str) -> str:
    return f"DenyHidden{tool}"


def deny_statement(row: ToolDeny, domain_id: object) -> Statement:
    """The explicit deny for one hidden tool, scoped to ``domain_id``'s apps."""
    if not row.enforceable:
        raise ValueError(f"{row.tool} has no IAM action to deny: {row.note}")
    service_actions = []
    for action in row.actions:
        service, name = action.split(":", 1)
        service_actions.extend(actions(service, name))
    resources = [
        r if r == "*" else Sub(r, DomainId=domain_id) if "${DomainId}" in r else Sub(r)
        for r in row.resources
    ]
    return Statement(
        Sid=statement_sid(row.tool), Effect=Deny, Action=service_actions, Resource=resources
    )


#: Sid of the statement that keeps an enforced person out of shared spaces.
SHARED_SPACES_SID = "DenySharedSpacesWhereToolsAreEnforced"


def deny_shared_spaces() -> Statement:
    """Shared spaces run as the domain's default space role, not the person's role, so the
    person's hidden-tool denies do not follow them there (SageMaker Developer Guide,
    "Amazon SageMaker Studio spaces": profile settings apply to private spaces only). A
    person whose tools are enforced therefore may not create, change or start apps in
    shared spaces (``sagemaker:SpaceSharingType``, Service Authorization Reference:
    CreateSpace, UpdateSpace, CreateApp). Carrying the denies to the space role instead
    would remove the tools from everyone who shares the domain's default space role.
    """
    return Statement(
        Sid=SHARED_SPACES_SID,
        Effect=Deny,
        Action=actions("sagemaker", "CreateSpace", "UpdateSpace", "CreateApp"),
        Resource=["*"],
        Condition=Condition(StringEquals({"sagemaker:SpaceSharingType": "Shared"})),
    )
