"""The rule book: every AWS rule the library enforces, one function each, registered once with its source.

Split by subject; importing this package imports every subject module, so after
``import cdk_batchkit.model`` :data:`RULES` holds every rule (a test checks that importing the constructs
adds none). ``docs/rules.md`` lists them all with their sources and tests.
"""

from __future__ import annotations

from ._registry import RULES, Problem, Rule, errors, register, rule, run, warnings
from .consumables import check_consumables, consumables_well_formed
from .fit import (
    ECR_IMAGE,
    FIT_RULES,
    UNCHECKED,
    check_environment,
    check_fit,
    fit_consumables,
    fit_shared_mounts,
    is_ecr_image,
)
from .monitoring import MONITORING_RULES, MonitoringPlan
from .names import RESERVED_ENVIRONMENT_PREFIX, environment_names
from .queues import QUEUE_RULES, Environments, check_queue
from .submission import SUBMISSION_RULES, check_submission, share_identifier_matches

__all__ = [
    "ECR_IMAGE",
    "FIT_RULES",
    "MONITORING_RULES",
    "QUEUE_RULES",
    "RESERVED_ENVIRONMENT_PREFIX",
    "RULES",
    "SUBMISSION_RULES",
    "UNCHECKED",
    "Environments",
    "MonitoringPlan",
    "Problem",
    "Rule",
    "check_consumables",
    "check_environment",
    "check_fit",
    "check_queue",
    "check_submission",
    "consumables_well_formed",
    "environment_names",
    "errors",
    "fit_consumables",
    "fit_shared_mounts",
    "is_ecr_image",
    "register",
    "rule",
    "run",
    "share_identifier_matches",
    "warnings",
]
