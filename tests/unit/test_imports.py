"""Runtime code must not drag in aws-cdk-lib: Lambda has no aws_cdk, and jsii start-up is slow."""

from __future__ import annotations

import subprocess
import sys


def test_lambdas_and_plan_import_without_aws_cdk():
    code = (
        "import sys, cdk_batchkit.lambdas, cdk_batchkit.plan; "
        "assert 'aws_cdk' not in sys.modules and 'jsii' not in sys.modules, sorted(sys.modules)"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_package_reexports_constructs_lazily():
    import cdk_batchkit
    from cdk_batchkit.constructs import JobQueue

    assert cdk_batchkit.JobQueue is JobQueue
