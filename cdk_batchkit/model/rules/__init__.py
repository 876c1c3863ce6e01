"""The rule book: every AWS rule the library enforces, one function each, registered once with its source.

Split by subject; importing this package imports every subject module, so after
``import cdk_batchkit.model`` :data:`RULES` holds every rule (a test checks that importing the constructs
adds none). ``docs/rules.md`` lists them all with their sources and tests.
"""

from __future__ import annotations

from ._registry import RULES, Problem, Rule, errors, rule, run, warnings
from .archive import check_archive
from .compute import (
    COMPUTE_RULES,
    DESCRIBED_RULES,
    check_compute,
    check_service_environment,
    fargate_not_updatable,
)
from .consumables import check_consumables, consumable_resource_values, consumables_well_formed
from .containers import CONTAINER_RULES, FIT_WARNINGS, ecs_containers, registry_credential_reads
from .delivery import (
    delivery_limits,
    key_filters,
    manifest_prefix_rule,
    submitter_limits,
    write_prefix_rule,
)
from .eks import check_eks_environment, check_pod
from .encryption import check_key, key_statements
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
from .jobs import (
    JOB_RULES,
    check_job,
    efs_network,
    job_definition_arn,
    public_ip_undecided,
    secret_endpoints,
    secret_services,
)
from .monitoring import MONITORING_RULES, MonitoringPlan
from .names import RESERVED_ENVIRONMENT_PREFIX, environment_names
from .queues import (
    QUEUE_RULES,
    Environments,
    check_fair_share,
    check_queue,
    check_queue_settings,
    queue_arn,
    queue_type,
)
from .schedules import check_schedule, flexible_window
from .storage import (
    lustre_failed_mount_terminates,
    lustre_in_network,
    lustre_launch_template,
    lustre_paths,
    lustre_volumes_on_ec2,
)
from .submission import SUBMISSION_RULES, check_submission, job_name_and_parameters, share_identifier_matches
from .templates import TEMPLATE_RULES, check_template
from .workflows import STEP_NAME, workflow_steps, workflow_timeout

__all__ = [
    "COMPUTE_RULES",
    "DESCRIBED_RULES",
    "CONTAINER_RULES",
    "ECR_IMAGE",
    "FIT_RULES",
    "FIT_WARNINGS",
    "JOB_RULES",
    "MONITORING_RULES",
    "QUEUE_RULES",
    "RESERVED_ENVIRONMENT_PREFIX",
    "RULES",
    "STEP_NAME",
    "SUBMISSION_RULES",
    "TEMPLATE_RULES",
    "UNCHECKED",
    "Environments",
    "MonitoringPlan",
    "Problem",
    "Rule",
    "check_compute",
    "check_archive",
    "check_consumables",
    "check_eks_environment",
    "check_key",
    "check_pod",
    "check_environment",
    "check_fair_share",
    "check_fit",
    "check_job",
    "check_queue",
    "check_queue_settings",
    "check_service_environment",
    "check_schedule",
    "check_submission",
    "consumable_resource_values",
    "check_template",
    "consumables_well_formed",
    "ecs_containers",
    "efs_network",
    "delivery_limits",
    "environment_names",
    "errors",
    "fargate_not_updatable",
    "fit_consumables",
    "flexible_window",
    "fit_shared_mounts",
    "is_ecr_image",
    "queue_arn",
    "queue_type",
    "key_statements",
    "job_definition_arn",
    "public_ip_undecided",
    "lustre_failed_mount_terminates",
    "lustre_in_network",
    "lustre_launch_template",
    "lustre_paths",
    "lustre_volumes_on_ec2",
    "job_name_and_parameters",
    "key_filters",
    "manifest_prefix_rule",
    "registry_credential_reads",
    "rule",
    "run",
    "secret_endpoints",
    "secret_services",
    "share_identifier_matches",
    "submitter_limits",
    "warnings",
    "workflow_steps",
    "workflow_timeout",
    "write_prefix_rule",
]
