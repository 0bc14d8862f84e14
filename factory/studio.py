"""SageMaker Studio vocabulary shared by every product.

The enumerations mirror the CloudFormation resource schema of
``AWS::SageMaker::Domain`` (``AppType`` and ``MlTools``);
``tests/products/test_studio_vocabulary.py`` compares them with the schema shipped inside
cfn-lint so a schema change is noticed,
while the emitted templates stay byte-stable across cfn-lint upgrades.
"""

from __future__ import annotations

#: App types that may appear in ``StudioWebPortalSettings.HiddenAppTypes``.
#: ``KernelGateway`` and ``RSessionGateway`` are absent on purpose: hiding them breaks
#: deployment (cloudformation-coverage-roadmap#2129) and the schema rejects them.
HIDEABLE_APP_TYPES: tuple[str, ...] = (
    "JupyterServer",
    "TensorBoard",
    "RStudioServerPro",
    "JupyterLab",
    "CodeEditor",
    "DetailedProfiler",
    "Canvas",
)

#: App types that must never be hidden; named in error messages.
UNHIDEABLE_APP_TYPES: tuple[str, ...] = ("KernelGateway", "RSessionGateway")

ML_TOOLS: tuple[str, ...] = (
    "DataWrangler",
    "FeatureStore",
    "EmrClusters",
    "AutoMl",
    "Experiments",
    "Training",
    "ModelEvaluation",
    "Pipelines",
    "Models",
    "JumpStart",
    "InferenceRecommender",
    "Endpoints",
    "Projects",
    "InferenceOptimization",
    "HyperPodClusters",
    "Comet",
    "DeepchecksLLMEvaluation",
    "Fiddler",
    "LakeraGuard",
    "PerformanceEvaluation",
)

#: ``AllowedPattern`` for one hidden instance type (CommaDelimitedList items are matched
#: one by one). ``system`` is the reserved type of Classic's JupyterServer app.
INSTANCE_TYPE_PATTERN = r"^(|system|ml\.[a-z0-9]+[a-z0-9-]*\.[a-z0-9]+)$"

#: SageMaker's resource name rule for domains, profiles and spaces.
NAME_PATTERN = r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$"
NAME_MAX_LENGTH = 63

STUDIO_LANDING_URI = "studio::"
CLASSIC_LANDING_URI = "app:JupyterServer:"

#: Bounds SageMaker accepts for idle timeouts (minutes).
IDLE_MINUTES_MIN = 60
IDLE_MINUTES_MAX = 525600
