"""mkdocs hooks of the documentation site (``hooks:`` in mkdocs.yml).

- Table rows get anchors, so other pages can link to one rule or one property:
  docs/rules.md rows by rule id (``rules.md#bk-q1``), docs/features.md rows by resource type and property
  path (``features.md#computeenvironment-computeresources-allocationstrategy``) or, under "Beyond
  CloudFormation properties", by feature (``features.md#beyond-import-by-arn``). The tables stay plain
  Markdown rows, which tests/test_rules_table.py and tests/test_feature_table.py parse.
- API pages: the docstrings' Sphinx roles (``:class:`X```) are shown as the code they name.
"""

from __future__ import annotations

import re
from typing import Any
from xml.etree.ElementTree import Element

from markdown import Markdown
from markdown.extensions import Extension
from markdown.treeprocessors import Treeprocessor

RULE_ID = re.compile(r"BK-[A-Z]+\d+")
SPHINX_ROLE = re.compile(r":(?:py:)?(?:class|func|meth|attr|mod|data|exc|obj):(?=<code>)")


def slug(text: str) -> str:
    """Lower case, every run of other characters than letters and digits one ``-``."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def row_anchor(section: str, row: Element) -> str | None:
    """The anchor of a table row: its rule id, or its section's resource type and property path."""
    cell = row.find("td")
    if cell is None:
        return None
    text = "".join(cell.itertext()).strip()
    if RULE_ID.fullmatch(text):
        return text.lower()
    if section.startswith("AWS::Batch::"):
        code = cell.find("code")
        if code is not None and code.text:
            return slug(f"{section.removeprefix('AWS::Batch::')}-{code.text}")
    if section == "Beyond CloudFormation properties":
        return f"beyond-{slug(text)}"
    return None


class RowAnchors(Treeprocessor):
    """Set the ``id`` of every table row :func:`row_anchor` names (before mkdocs collects the anchors)."""

    def run(self, root: Element) -> None:
        section = ""
        for element in root.iter():
            if element.tag == "h2":
                section = "".join(element.itertext()).strip()
            elif element.tag == "tr" and "id" not in element.attrib:
                anchor = row_anchor(section, element)
                if anchor:
                    element.set("id", anchor)


class RowAnchorsExtension(Extension):
    def extendMarkdown(self, md: Markdown) -> None:  # noqa: N802 (Markdown's API)
        # After inline processing (20), before mkdocs extracts anchors for link validation (5).
        md.treeprocessors.register(RowAnchors(md), "batchkit_row_anchors", 10)


def on_config(config: Any) -> Any:
    config.markdown_extensions.append(RowAnchorsExtension())
    return config


def on_page_content(html: str, page: Any, **kwargs: Any) -> str:
    if page.file.src_uri.startswith("api/"):
        return SPHINX_ROLE.sub("", html)
    return html
