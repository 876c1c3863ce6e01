"""The rule book: every AWS rule the library enforces, one function each, registered once with its source.

Split by subject; importing this package imports every subject module, so after
``import cdk_batchkit.model`` :data:`RULES` holds every rule (a test checks that importing the constructs
adds none). ``docs/rules.md`` lists them all with their sources and tests.
"""

from __future__ import annotations

from ._registry import RULES, Problem, Rule, errors, register, rule, run, warnings
from .consumables import check_consumables, consumables_well_formed
from .delivery import delivery_limits, key_filters, manifest_prefix_rule, submitter_limits
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
from .names import RESERVED_ENVIRONMENT_PREFIX, environment_names
from .queues import QUEUE_RULES, Environments, check_queue
from .schedules import check_schedule, flexible_window
from .submission import SUBMISSION_RULES, check_submission, job_name_and_parameters, share_identifier_matches
from .workflows import STEP_NAME, workflow_steps, workflow_timeout

__all__ = [
    "ECR_IMAGE",
    "FIT_RULES",
    "QUEUE_RULES",
    "RESERVED_ENVIRONMENT_PREFIX",
    "RULES",
    "STEP_NAME",
    "SUBMISSION_RULES",
    "UNCHECKED",
    "Environments",
    "Problem",
    "Rule",
    "check_consumables",
    "check_environment",
    "check_fit",
    "check_queue",
    "check_schedule",
    "check_submission",
    "consumables_well_formed",
    "delivery_limits",
    "environment_names",
    "errors",
    "fit_consumables",
    "flexible_window",
    "fit_shared_mounts",
    "is_ecr_image",
    "job_name_and_parameters",
    "key_filters",
    "manifest_prefix_rule",
    "register",
    "rule",
    "run",
    "share_identifier_matches",
    "submitter_limits",
    "warnings",
    "workflow_steps",
    "workflow_timeout",
]
