"""AWS Batch limits the library designs against, each with its source.

Plain constants (no aws_cdk import) so that constructs, rules, handlers and tests share one value.
"""

from __future__ import annotations

import re

#: CreateJobQueue: "You can associate up to three compute environments with a job queue."
#: https://docs.aws.amazon.com/batch/latest/APIReference/API_CreateJobQueue.html
MAX_ENVIRONMENTS_PER_QUEUE = 3

#: Job queue priority 0-1000 (CreateJobQueue ``priority``).
MIN_QUEUE_PRIORITY, MAX_QUEUE_PRIORITY = 0, 1000

#: jobStateTimeLimitActions ``maxTimeSeconds``: 600-86,400.
#: https://docs.aws.amazon.com/batch/latest/APIReference/API_JobStateTimeLimitAction.html
MIN_STUCK_SECONDS, MAX_STUCK_SECONDS = 600, 86_400

#: RetryStrategy: attempts 1-10, at most 5 evaluateOnExit rules.
#: https://docs.aws.amazon.com/batch/latest/APIReference/API_RetryStrategy.html
MAX_ATTEMPTS = 10
MAX_EVALUATE_ON_EXIT = 5

#: JobTimeout ``attemptDurationSeconds``: at least 60.
#: https://docs.aws.amazon.com/batch/latest/APIReference/API_JobTimeout.html
MIN_ATTEMPT_SECONDS = 60

#: ArrayProperties ``size``: 2-10,000.
#: https://docs.aws.amazon.com/batch/latest/APIReference/API_ArrayProperties.html
MIN_ARRAY_SIZE, MAX_ARRAY_SIZE = 2, 10_000

#: SubmitJob ``dependsOn``: up to 20 job dependencies.
#: https://docs.aws.amazon.com/batch/latest/APIReference/API_SubmitJob.html
MAX_DEPENDENCIES = 20

#: SubmitJob ``jobName``: up to 128 letters, digits, hyphens and underscores, starting with a letter
#: or digit (the API reference, SubmitJob ``jobName``).
JOB_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$")

#: Service quota "SubmitJob API requests per second per account": 50.
#: https://docs.aws.amazon.com/batch/latest/userguide/service_limits.html
ACCOUNT_SUBMIT_RATE = 50

#: Fair-share policies: share identifiers of 1-255 characters, weight factors 0.0001-999.9999,
#: share decay 0-604,800 s, compute reservation 0-99 %.
#: https://docs.aws.amazon.com/batch/latest/APIReference/API_ShareAttributes.html
#: https://docs.aws.amazon.com/batch/latest/APIReference/API_FairsharePolicy.html
MAX_SHARE_IDENTIFIER = 255
#: A share identifier (SubmitJob ``shareIdentifier``, a fair-share policy's ``shareIdentifier``): "limited
#: to 255 alphanumeric characters, and can be followed by an asterisk (*)".
SHARE_IDENTIFIER = re.compile(rf"^[A-Za-z0-9]{{1,{MAX_SHARE_IDENTIFIER}}}\*?$")
MIN_WEIGHT, MAX_WEIGHT = 0.0001, 999.9999
MAX_SHARE_DECAY_SECONDS = 604_800
MAX_COMPUTE_RESERVATION = 99
#: SubmitJob ``schedulingPriorityOverride`` and RegisterJobDefinition ``schedulingPriority``: 0-9999
#: (higher runs first), https://docs.aws.amazon.com/batch/latest/APIReference/API_SubmitJob.html
MIN_SCHEDULING_PRIORITY, MAX_SCHEDULING_PRIORITY = 0, 9999

#: Fargate's valid vCPU -> memory (MiB) choices (ResourceRequirement, "value" for MEMORY on Fargate).
#: https://docs.aws.amazon.com/batch/latest/APIReference/API_ResourceRequirement.html
FARGATE_MEMORY: dict[float, range] = {
    0.25: range(512, 2049, 512),
    0.5: range(1024, 4097, 1024),
    1: range(2048, 8193, 1024),
    2: range(4096, 16385, 1024),
    4: range(8192, 30721, 1024),
    8: range(16384, 61441, 4096),
    16: range(32768, 122881, 8192),
}

#: Multi-node parallel jobs: ``numNodes`` up to 1,000 here (Batch's own bound is the environment's
#: capacity; 1,000 keeps a mistake like 10000 from synthesizing).
MIN_NODES, MAX_NODES = 2, 1000

#: EcsProperties: one task of up to 10 containers.
#: https://docs.aws.amazon.com/batch/latest/APIReference/API_EcsProperties.html
MAX_TASK_CONTAINERS = 10
#: Consumable resources: "You can specify up to 5 resources for each job you define."
#: https://docs.aws.amazon.com/batch/latest/userguide/resource-aware-scheduling-how-to-for-jobs.html
MAX_CONSUMABLES_PER_JOB = 5
#: CreateConsumableResource ``tags``: at most 50, keys 1-128 characters, values at most 256.
#: https://docs.aws.amazon.com/batch/latest/APIReference/API_CreateConsumableResource.html
MAX_TAGS, MAX_TAG_KEY, MAX_TAG_VALUE = 50, 128, 256
