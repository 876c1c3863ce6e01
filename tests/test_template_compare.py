"""benchmarks/templates.py compare: what counts as the same template for a refactor (key order and the way a
string is split around its tokens do not; any value does)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from benchmarks import templates

REGION = {"Ref": "AWS::Region"}


def _body(*parts: Any) -> dict[str, Any]:
    return {"Fn::Join": ["", list(parts)]}


BODY = _body('{"widgets":[{"x":0,"region":"', REGION, '"}]}')


def _write(root: Path, resources: dict[str, Any]) -> Path:
    (root / "app").mkdir(parents=True)
    (root / "app" / "S.template.json").write_text(json.dumps({"Resources": resources}))
    return root


def _board(body: Any, name: str = "n") -> dict[str, Any]:
    properties = {"DashboardName": name, "DashboardBody": body}
    return {"B": {"Type": "AWS::CloudWatch::Dashboard", "Properties": properties}}


def test_key_order_and_token_splits_are_the_same_template(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    reordered = _body('{"widgets":[{"region":"', REGION, '","x":0}]}')
    assert (
        templates.compare(_write(tmp_path / "a", _board(BODY)), _write(tmp_path / "b", _board(reordered)))
        == 0
    )
    assert capsys.readouterr().out.splitlines()[-1] == "0 difference(s)"


@pytest.mark.parametrize(
    ("after", "where"),
    [
        (_board(BODY, name="m"), "Resources.B.Properties.DashboardName"),
        (_board(_body('{"widgets":[{"x":1,"region":"', REGION, '"}]}')), "DashboardBody.JSON.widgets[0].x"),
        (_board(_body('{"widgets":[{"x":0,"region":"', {"Ref": "Other"}, '"}]}')), "widgets[0].region"),
        ({}, "Resources.B: only in A"),
    ],
)
def test_any_value_that_differs_is_reported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], after: Any, where: str
) -> None:
    assert templates.compare(_write(tmp_path / "a", _board(BODY)), _write(tmp_path / "b", after)) == 1
    assert where in capsys.readouterr().out
