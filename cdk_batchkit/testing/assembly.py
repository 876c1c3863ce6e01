"""Read a synthesized stack: its CloudFormation template, construct paths and asset directories.

Works from a ``cdk.Stack`` or ``cdk.App`` object (synthesized here, once per object) or from a
``cdk.out`` directory. Only the cloud assembly files are read (``manifest.json``, the template,
the stack's metadata), so nothing here depends on how the constructs are written.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["StackTemplate", "load_stack"]

_STACK = "aws:cloudformation:stack"
_NESTED = "cdk:cloud-assembly"
_CACHE: dict[int, tuple[Any, StackTemplate]] = {}


@dataclass
class StackTemplate:
    """One synthesized stack: ``template`` (the CloudFormation JSON) and where things came from.

    ``paths`` maps a logical id to its construct path without the stack prefix
    (``Submitter/Bucket/Resource``); ``directory`` is the cloud assembly holding the assets.
    """

    name: str
    template: dict[str, Any]
    directory: Path
    paths: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_template(
        cls, template: dict[str, Any], name: str = "Stack", directory: Path | str = "."
    ) -> StackTemplate:
        """A template you wrote or loaded yourself (paths are then the logical ids)."""
        paths = {
            logical_id: str(resource.get("Metadata", {}).get("aws:cdk:path", logical_id)).split("/", 1)[-1]
            if "aws:cdk:path" in resource.get("Metadata", {})
            else logical_id
            for logical_id, resource in template.get("Resources", {}).items()
        }
        return cls(name=name, template=template, directory=Path(directory), paths=paths)

    @property
    def resources(self) -> dict[str, dict[str, Any]]:
        return dict(self.template.get("Resources", {}))

    def of_type(self, type_name: str) -> dict[str, dict[str, Any]]:
        """The resources of one CloudFormation type, by logical id."""
        return {k: v for k, v in self.resources.items() if v.get("Type") == type_name}

    def path_of(self, logical_id: str) -> str:
        return self.paths.get(logical_id, logical_id)

    def asset_directory(self, logical_id: str) -> Path | None:
        """The staged directory of a Lambda function's code asset (None for inline or image code)."""
        resource = self.resources[logical_id]
        metadata = resource.get("Metadata", {})
        if "aws:asset:path" in metadata:
            candidate = self.directory / metadata["aws:asset:path"]
            return candidate if candidate.is_dir() else None
        code = resource.get("Properties", {}).get("Code", {})
        key = code.get("S3Key") if isinstance(code, dict) else None
        if isinstance(key, str):
            digest = key.rsplit(".", 1)[0]
            candidate = self.directory / f"asset.{digest}"
            if candidate.is_dir():
                return candidate
        return None


def load_stack(source: Any, stack: str | None = None) -> StackTemplate:
    """The synthesized stack ``source`` stands for.

    ``source`` is a ``cdk.Stack``, a ``cdk.App`` (or ``Stage``) or the path of a ``cdk.out``
    directory; ``stack`` picks one stack by name (or artifact id) when there are several.
    A ``Stack``/``App`` object is synthesized once and the result is remembered for that object.
    """
    if isinstance(source, str | Path):
        return _from_directory(Path(source), stack)
    cached = _CACHE.get(id(source))
    if cached is not None and cached[0] is source and stack is None:
        return cached[1]
    result = _from_construct(source, stack)
    if stack is None:
        _CACHE[id(source)] = (source, result)
    return result


def _from_construct(source: Any, stack: str | None) -> StackTemplate:
    import aws_cdk as cdk

    if isinstance(source, cdk.Stack):
        stage = cdk.Stage.of(source)
        assert stage is not None, "the stack is not inside an App"
        stage.synth()
        directory = Path(stage.outdir)
        return _from_directory(directory, stack or source.artifact_id)
    if isinstance(source, cdk.Stage):
        assembly = source.synth()
        return _from_directory(Path(assembly.directory), stack)
    raise TypeError(f"expected a cdk.Stack, a cdk.App or a cdk.out directory, got {type(source).__name__}")


def _stacks(directory: Path) -> list[tuple[Path, str, dict[str, Any]]]:
    """Every stack artifact of the assembly and its nested assemblies: (directory, id, artifact)."""
    manifest_path = directory / "manifest.json"
    if not manifest_path.is_file():
        raise FileNotFoundError(
            f"{directory} is not a cloud assembly (no manifest.json): run `cdk synth` first"
        )
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    found: list[tuple[Path, str, dict[str, Any]]] = []
    for artifact_id, artifact in manifest.get("artifacts", {}).items():
        if artifact.get("type") == _STACK:
            found.append((directory, artifact_id, artifact))
        elif artifact.get("type") == _NESTED:
            nested = artifact.get("properties", {}).get("directoryName")
            if nested:
                found.extend(_stacks(directory / nested))
    return found


def _from_directory(directory: Path, stack: str | None) -> StackTemplate:
    stacks = _stacks(directory)
    if stack is not None:
        stacks = [
            s
            for s in stacks
            if stack in (s[1], s[2].get("displayName"), s[2].get("properties", {}).get("stackName"))
        ]
    if len(stacks) != 1:
        names = sorted(s[1] for s in _stacks(directory))
        what = f"no stack named {stack!r}" if stack is not None and not stacks else "several stacks"
        raise LookupError(f"{what} in {directory}: pass stack= one of {names}")
    where, artifact_id, artifact = stacks[0]
    properties = artifact.get("properties", {})
    template = json.loads((where / properties["templateFile"]).read_text(encoding="utf-8"))
    metadata: dict[str, Any] = dict(artifact.get("metadata", {}))
    metadata_file = where / f"{artifact_id}.metadata.json"
    if metadata_file.is_file():
        metadata.update(json.loads(metadata_file.read_text(encoding="utf-8")))
    name = properties.get("stackName") or artifact_id
    display = artifact.get("displayName") or artifact_id
    paths: dict[str, str] = {}
    for path, entries in metadata.items():
        for entry in entries:
            if entry.get("type") == "aws:cdk:logicalId":
                paths[entry["data"]] = _relative(path, display)
    for logical_id, resource in template.get("Resources", {}).items():
        cdk_path = resource.get("Metadata", {}).get("aws:cdk:path")
        if cdk_path and logical_id not in paths:
            paths[logical_id] = _relative("/" + cdk_path, display)
    return StackTemplate(name=name, template=template, directory=where, paths=paths)


def _relative(path: str, display: str) -> str:
    """``/App/Stack/Submitter/Bucket/Resource`` -> ``Submitter/Bucket/Resource``."""
    parts = path.strip("/").split("/")
    stack_parts = display.strip("/").split("/")
    if parts[: len(stack_parts)] == stack_parts:
        parts = parts[len(stack_parts) :]
    elif parts and parts[0] == stack_parts[-1]:
        parts = parts[1:]
    return "/".join(parts)
