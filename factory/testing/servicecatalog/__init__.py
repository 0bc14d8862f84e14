"""In-memory AWS Service Catalog stand-in that speaks the real JSON 1.1 wire protocol.

moto implements little of Service Catalog, so tests and ``make rehearse`` point *unmodified*
boto3 clients at this server through ``AWS_ENDPOINT_URL_SERVICE_CATALOG``. Fidelity comes from
botocore's own service model rather than from hand-written schemas:

* every request's operation must exist in the model and its parameters pass
  :class:`botocore.validate.ParamValidator` plus the ``max``/``enum`` traits that the client-side
  validator skips (the real service enforces them);
* every response is walked against the operation's output shape by :func:`check_output`
  (unknown key, wrong type, bad enum value or missing required member -> HTTP 500), so our
  responses cannot drift from what the real service may return.

Why ``http.server.ThreadingHTTPServer`` and not werkzeug: the protocol is a single ``POST /``
route that needs raw header access (``X-Amz-Target``, the SigV4 credential scope for the region),
and werkzeug only arrives with ``moto[server]`` (the ``testing`` extra). The stdlib server keeps
the stand-in importable without moto, and ``shutdown()`` is deterministic.

Layout (like moto's models / responses / exceptions): ``shapes`` (botocore-model validation),
``state`` (the backend's data), ``handlers/`` (one mixin per area: portfolios, products and
versions, constraints, principals, tagoptions, shares, provisioning, console), ``backend``
(request pipeline, fault injection, statistics), ``server`` (HTTP), ``realism`` and
``consistency`` (the realistic mode), ``outputs`` (template outputs), ``parameters`` (launch
parameter values against the template), ``templates``, ``render``, ``rules``, ``errors``.

Realistic mode (``ServiceCatalogBackend(realistic=True)`` or ``realism=Realism(...)``, each
behaviour its own knob, see :class:`Realism`): expiring idempotency tokens that may replay a
deleted resource, ``CREATING`` before ``AVAILABLE``, ResourceNotFound right after creates and
associations, per-operation throttling, organization shares only from a management or
delegated-admin account with Organizations access, shares finishing ``COMPLETED_WITH_ERRORS``,
product tags propagated to provisioned products, ``DeleteProduct`` with provisioned products left,
provisioning requests that run for a while (``IN_PROGRESS`` records, ``UNDER_CHANGE`` products
that refuse Update and Terminate) and launches that fail after they were accepted.
Unsigned requests are always refused (``MissingAuthenticationTokenException``, HTTP 403).

Behaviour that is deliberately simplified (do not mistake it for AWS behaviour):

* one caller identity (account ``123456789012``) sees everything; principals are stored and
  validated but never evaluated, so every portfolio a product belongs to is a launch path;
  SigV4 signatures are checked for shape, not verified;
* provisioning runs no CloudFormation: a ``ProvisionProduct``/``Update``/``Terminate`` request
  answers ``CREATED`` and ends after ``Realism.provisioning_s`` (0 unless asked for, even in
  :meth:`Realism.realistic`: the record is already ``SUCCEEDED`` when the response arrives). A
  launch fails only for a parameter value that breaks the template's constraints (see
  :mod:`.parameters`) or a name in ``Realism.failing_provisioned_names``; AWS-specific parameter
  types are not looked up in the account, SSM parameter names are not resolved, and the
  RecordError codes are the stand-in's choice (undocumented). Unknown and missing parameters
  are refused synchronously (``InvalidParametersException``) where CloudFormation may fail the
  launch instead. ``GetProvisionedProductOutputs`` resolves only what the template and
  parameters determine (see :mod:`.outputs`), and answers for a product ``UNDER_CHANGE`` or in
  ``ERROR`` as if its stack ran;
* provisioning takes the worst case where the sources are thin: defaults in use are checked
  against the constraints like given values, a ``CommaDelimitedList`` element is not
  space-trimmed, a ``Number`` is a plain decimal (no exponent, no blanks), and a request
  refused because the product is ``UNDER_CHANGE`` answers ``InvalidParametersException``
  (Update) or ``InvalidStateException`` (Terminate), codes AWS does not document for this case;
* organisation-node portfolio shares stay ``IN_PROGRESS`` until ``DescribePortfolioShareStatus``
  has been called ``share_polls_before_complete`` times (default 0: the next poll completes it);
* the ResourceNotFound window applies to requests naming the new resource, not to list results;
* stricter than documented: duplicate version names within a product are rejected, and (outside
  the realistic mode) a product cannot be deleted while provisioned products use it.
"""

from __future__ import annotations

from .backend import ServiceCatalogBackend
from .errors import ServiceCatalogError, ShapeMismatchError
from .handlers import Handler, Params
from .realism import Realism
from .server import (
    CONTROL_PREFIX,
    JSON_CONTENT_TYPE,
    TARGET_PREFIX,
    ServiceCatalogServer,
    region_from_authorization,
)
from .shapes import READ_PREFIXES, check_output, is_mutating, service_model, validate_input
from .state import ACCOUNT_ID, DEFAULT_REGION, Limits, RegionState, RequestRecord
from .templates import parse_template, s3_location, template_parameters

__all__ = [
    "ACCOUNT_ID",
    "CONTROL_PREFIX",
    "DEFAULT_REGION",
    "JSON_CONTENT_TYPE",
    "READ_PREFIXES",
    "TARGET_PREFIX",
    "Handler",
    "Limits",
    "Params",
    "Realism",
    "RegionState",
    "RequestRecord",
    "ServiceCatalogBackend",
    "ServiceCatalogError",
    "ServiceCatalogServer",
    "ShapeMismatchError",
    "check_output",
    "is_mutating",
    "parse_template",
    "region_from_authorization",
    "s3_location",
    "service_model",
    "template_parameters",
    "validate_input",
]
