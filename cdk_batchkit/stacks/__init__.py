"""Ready-made stacks composed only from cdk_batchkit constructs."""

from .reference import BatchReferenceStack

__all__ = ["BatchReferenceStack"]
