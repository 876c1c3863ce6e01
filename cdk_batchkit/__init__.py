"""cdk-batchkit: production-grade AWS Batch constructs for the AWS CDK."""

from .constructs import *  # noqa: F403
from .constructs import __all__  # noqa: F401

__version__ = "0.1.0"
