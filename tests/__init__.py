"""The project's tests (CONTRIBUTING.md says what each directory holds)."""

from __future__ import annotations

import os

#: Whether aws-cdk-lib's built-in CloudFormation validation plugin runs in every app the suite builds or
#: runs, subprocesses included (``BATCHKIT_TEST_CFN_VALIDATION=true``). Off by default: same templates,
#: and loading the plugin costs a process seconds of CPU (tests/conftest.py); tests/templates synthesizes
#: every reference variant with it on either way.
CFN_VALIDATION = os.environ.get("BATCHKIT_TEST_CFN_VALIDATION", "false").lower() == "true"
