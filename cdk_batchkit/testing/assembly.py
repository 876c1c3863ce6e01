"""Read a synthesized app: its stacks' CloudFormation templates, construct paths, nested stacks and the
order CloudFormation deploys them in.

Works from a ``cdk.Stack`` or ``cdk.App`` object (synthesized here, once per object) or from a
``cdk.out`` directory. Only the cloud assembly files are read (``manifest.json``, the templates, the
stacks' metadata and asset manifests), so nothing here depends on how the constructs are written.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["StackTemplate", "load_stack", "load_stacks"]

_STACK = "aws:cloudformation:stack"
_ASSETS = "cdk:asset-manifest"
_NESTED = "cdk:cloud-assembly"
_NESTED_STACK = "AWS::CloudFormation::Stack"
_CACHE: dict[int, tuple[Any, Path]] = {}


@dataclass
class StackTemplate:
    """One synthesized stack: ``template`` (the CloudFormation JSON) and where things came from.

    ``paths`` maps a logical id to its construct path without the top-level stack's prefix
    (``Submitter/Bucket/Resource``; in a nested stack ``Inner/Bucket/Resource``); ``directory`` is the
    cloud assembly holding the assets. ``display`` is the stack's construct path (``Platform``, or
    ``Parent/Inner`` for a nested stack), ``dependencies`` the names of the stacks it is deployed after,
    and ``nested`` its nested stacks by the logical id of their ``AWS::CloudFormation::Stack`` resource.
    """

    name: str
    template: dict[str, Any]
    directory: Path
    paths: dict[str, str] = field(default_factory=dict)
    display: str = ""
    dependencies: tuple[str, ...] = ()
    nested: dict[str, StackTemplate] = field(default_factory=dict)
    #: The cloud assembly's artifact id (often the name; empty for a template you wrote).
    artifact_id: str = ""

    def __post_init__(self) -> None:
        if not self.display:
            self.display = self.name

    @classmethod
    def from_template(
        cls,
        template: dict[str, Any],
        name: str = "Stack",
        directory: Path | str = ".",
        *,
        dependencies: Sequence[str] = (),
        nested: dict[str, StackTemplate] | None = None,
    ) -> StackTemplate:
        """A template you wrote or loaded yourself (paths are then the logical ids, or the resources'
        ``aws:cdk:path`` metadata). ``nested``: the templates of its ``AWS::CloudFormation::Stack``
        resources, by logical id."""
        paths = {
            logical_id: str(resource.get("Metadata", {}).get("aws:cdk:path", logical_id)).split("/", 1)[-1]
            if "aws:cdk:path" in resource.get("Metadata", {})
            else logical_id
            for logical_id, resource in template.get("Resources", {}).items()
        }
        return cls(
            name=name,
            template=template,
            directory=Path(directory),
            paths=paths,
            dependencies=tuple(dependencies),
            nested=dict(nested or {}),
        )

    @property
    def resources(self) -> dict[str, dict[str, Any]]:
        return dict(self.template.get("Resources", {}))

    @property
    def exports(self) -> dict[str, str]:
        """Export names written as plain strings -> the output's logical id (other names are resolved
        when the world is built)."""
        found = {}
        for logical_id, output in self.template.get("Outputs", {}).items():
            name = (output.get("Export") or {}).get("Name")
            if isinstance(name, str):
                found[name] = logical_id
        return found

    def of_type(self, type_name: str) -> dict[str, dict[str, Any]]:
        """The resources of one CloudFormation type, by logical id."""
        return {k: v for k, v in self.resources.items() if v.get("Type") == type_name}

    def path_of(self, logical_id: str) -> str:
        return self.paths.get(logical_id, logical_id)

    def all_stacks(self) -> list[StackTemplate]:
        """This stack and its nested stacks (depth first)."""
        found = [self]
        for child in self.nested.values():
            found.extend(child.all_stacks())
        return found

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
    """The one synthesized stack ``source`` stands for (with its nested stacks).

    ``source`` is a ``cdk.Stack``, a ``cdk.App`` (or ``Stage``) or the path of a ``cdk.out``
    directory; ``stack`` picks one stack by name (or artifact id, or construct path) when there are
    several. A ``Stack``/``App`` object is synthesized once and the result is remembered for that object.
    """
    directory, own = _assembly(source)
    stacks = _read(directory)
    wanted = stack or own
    if wanted is not None:
        chosen = [s for s in stacks if wanted in _names(s)]
        if not chosen:
            raise LookupError(
                f"no stack named {wanted!r} in {directory}: pass stack= one of {_listed(stacks)}"
            )
        return chosen[0]
    if len(stacks) != 1:
        raise LookupError(f"several stacks in {directory}: pass stack= one of {_listed(stacks)}")
    return stacks[0]


def load_stacks(source: Any, stacks: str | Iterable[str] | None = None) -> list[StackTemplate]:
    """Every stack of an app, in the order CloudFormation deploys them (dependencies first).

    ``source`` as for :func:`load_stack`. A ``cdk.Stack`` (or ``stacks=`` names) gives those stacks and
    every stack they depend on (the ones whose exports they import); an app or a ``cdk.out`` directory
    gives all its stacks. Nested stacks come with their parents (:attr:`StackTemplate.nested`).
    """
    directory, own = _assembly(source)
    found = _read(directory)
    wanted = [stacks] if isinstance(stacks, str) else list(stacks or ([] if own is None else [own]))
    if not wanted:
        return found
    by_name = {name: s for s in found for name in _names(s)}
    missing = [w for w in wanted if w not in by_name]
    if missing:
        raise LookupError(f"no stack named {missing[0]!r} in {directory}: use one of {_listed(found)}")
    keep: set[str] = set()
    pending = [by_name[w].name for w in wanted]
    while pending:
        name = pending.pop()
        if name not in keep:
            keep.add(name)
            pending.extend(d for d in by_name[name].dependencies if d in by_name)
    return [s for s in found if s.name in keep]


# -- the cloud assembly ------------------------------------------------------------------------------


def _assembly(source: Any) -> tuple[Path, str | None]:
    """(the cloud assembly directory, the stack ``source`` names or None)."""
    if isinstance(source, str | Path):
        return Path(source), None
    cached = _CACHE.get(id(source))
    if cached is not None and cached[0] is source:
        directory = cached[1]
    else:
        directory = _synthesize(source)
        _CACHE[id(source)] = (source, directory)
    import aws_cdk as cdk

    if not isinstance(source, cdk.Stack):
        return directory, None
    while source.nested_stack_parent is not None:  # a nested stack comes with the stack holding it
        source = source.nested_stack_parent
    return directory, source.artifact_id


def _synthesize(source: Any) -> Path:
    import aws_cdk as cdk

    if isinstance(source, cdk.Stack):
        stage = cdk.Stage.of(source)
        assert stage is not None, "the stack is not inside an App"
        stage.synth()
        return Path(stage.outdir)
    if isinstance(source, cdk.Stage):
        return Path(source.synth().directory)
    raise TypeError(f"expected a cdk.Stack, a cdk.App or a cdk.out directory, got {type(source).__name__}")


def _names(stack: StackTemplate) -> set[str]:
    return {stack.name, stack.display, stack.artifact_id} - {""}


def _listed(stacks: Sequence[StackTemplate]) -> list[str]:
    return sorted(s.artifact_id or s.name for s in stacks)


_READ: dict[tuple[str, int], list[StackTemplate]] = {}


def _read(directory: Path) -> list[StackTemplate]:
    """Every top-level stack of the assembly (and of nested assemblies: stages), dependencies first; read
    once per version of the assembly (a world is built per test, the files change only on synth)."""
    manifest = directory / "manifest.json"
    key = (str(directory.resolve()), manifest.stat().st_mtime_ns if manifest.is_file() else 0)
    if key not in _READ:
        _READ[key] = _read_assembly(directory)
    return list(_READ[key])


def _read_assembly(directory: Path) -> list[StackTemplate]:
    artifacts = _artifacts(directory)
    stacks = [_stack(where, artifact_id, artifact) for where, artifact_id, artifact in artifacts]
    ids = {s.artifact_id: s for s in stacks}
    for stack, (_, _, artifact) in zip(stacks, artifacts, strict=True):
        stack.dependencies = tuple(ids[d].name for d in artifact.get("dependencies", []) if d in ids)
    ordered: list[StackTemplate] = []
    seen: set[str] = set()

    def visit(stack: StackTemplate) -> None:
        if stack.name in seen:
            return
        seen.add(stack.name)
        for name in stack.dependencies:
            visit(next(s for s in stacks if s.name == name))
        ordered.append(stack)

    for stack in stacks:
        visit(stack)
    return ordered


def _artifacts(directory: Path) -> list[tuple[Path, str, dict[str, Any]]]:
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
            artifact = dict(artifact)
            artifact["_assets"] = _asset_sources(directory, manifest, artifact)
            found.append((directory, artifact_id, artifact))
        elif artifact.get("type") == _NESTED:
            nested = artifact.get("properties", {}).get("directoryName")
            if nested:
                found.extend(_artifacts(directory / nested))
    return found


def _asset_sources(directory: Path, manifest: dict[str, Any], artifact: dict[str, Any]) -> dict[str, str]:
    """The stack's file assets: object key (``<hash>.json``) -> source path in the assembly."""
    found: dict[str, str] = {}
    for dependency in artifact.get("dependencies", []):
        assets = manifest.get("artifacts", {}).get(dependency, {})
        if assets.get("type") != _ASSETS:
            continue
        path = directory / assets.get("properties", {}).get("file", "")
        if not path.is_file():
            continue
        for asset in json.loads(path.read_text(encoding="utf-8")).get("files", {}).values():
            source = asset.get("source", {}).get("path")
            for destination in asset.get("destinations", {}).values():
                if source and destination.get("objectKey"):
                    found[destination["objectKey"]] = source
    return found


def _stack(where: Path, artifact_id: str, artifact: dict[str, Any]) -> StackTemplate:
    properties = artifact.get("properties", {})
    template = json.loads((where / properties["templateFile"]).read_text(encoding="utf-8"))
    metadata: dict[str, Any] = dict(artifact.get("metadata", {}))
    metadata_file = where / (artifact.get("additionalMetadataFile") or f"{artifact_id}.metadata.json")
    if metadata_file.is_file():
        metadata.update(json.loads(metadata_file.read_text(encoding="utf-8")))
    name = properties.get("stackName") or artifact_id
    display = artifact.get("displayName") or artifact_id
    stack = _tree(
        where,
        artifact_id=artifact_id,
        name=name,
        display=display,
        template=template,
        top=display,
        metadata=metadata,
        assets=artifact["_assets"],
        own_path="/" + display,
    )
    return stack


def _tree(
    where: Path,
    *,
    artifact_id: str = "",
    name: str,
    display: str,
    template: dict[str, Any],
    top: str,
    metadata: dict[str, Any],
    assets: dict[str, str],
    own_path: str,
) -> StackTemplate:
    """A stack and, recursively, its nested stacks (found through the asset manifest or the resource's
    ``aws:asset:path`` metadata)."""
    templates_by_file = {
        path: entry["data"]
        for path, entries in metadata.items()
        for entry in entries
        if entry.get("type") == "aws:cdk:templateFile" and isinstance(entry.get("data"), str)
    }
    nested_paths = {path for path in templates_by_file if path != own_path}
    resources = template.get("Resources", {})
    nested: dict[str, StackTemplate] = {}
    for logical_id, resource in resources.items():
        if resource.get("Type") != _NESTED_STACK:
            continue
        file = _nested_file(resource, assets)
        if file is None or not (where / file).is_file():
            continue
        # The construct path: from the resource's own path (``Inner.NestedStack/Inner.NestedStackResource``)
        # when the assembly has that stack, else from the template file (identical nested templates
        # share one asset).
        path = _nested_path_from_resource(metadata, logical_id)
        if path not in nested_paths:
            path = next((p for p, f in templates_by_file.items() if f == file), path)
        child_display = path.strip("/") if path else f"{display}/{logical_id}"
        nested[logical_id] = _tree(
            where,
            name=f"{name}-{logical_id}",
            display=child_display,
            template=json.loads((where / file).read_text(encoding="utf-8")),
            top=top,
            metadata=metadata,
            assets=assets,
            own_path="/" + child_display,
        )
    inner = {p for p in nested_paths if p.startswith(own_path + "/")}
    paths: dict[str, str] = {}
    for path, entries in metadata.items():
        if not (path == own_path or path.startswith(own_path + "/")):
            continue
        if any(path == p or path.startswith(p + "/") for p in inner):
            continue  # a resource of a deeper nested stack
        for entry in entries:
            if entry.get("type") == "aws:cdk:logicalId" and entry.get("data") in resources:
                paths[entry["data"]] = _relative(path, top)
    for logical_id, resource in resources.items():
        cdk_path = resource.get("Metadata", {}).get("aws:cdk:path")
        if cdk_path and logical_id not in paths:
            paths[logical_id] = _relative("/" + cdk_path, top)
    return StackTemplate(
        name=name,
        template=template,
        directory=where,
        paths=paths,
        display=display,
        nested=nested,
        artifact_id=artifact_id,
    )


def _nested_file(resource: dict[str, Any], assets: dict[str, str]) -> str | None:
    metadata = resource.get("Metadata", {})
    if isinstance(metadata.get("aws:asset:path"), str):
        return str(metadata["aws:asset:path"])
    for text in _strings(resource.get("Properties", {}).get("TemplateURL")):
        key = text.rsplit("/", 1)[-1]
        if key in assets:
            return assets[key]
    return None


def _nested_path_from_resource(metadata: dict[str, Any], logical_id: str) -> str | None:
    """``/App/Parent/Inner.NestedStack/Inner.NestedStackResource`` -> ``/App/Parent/Inner``."""
    for path, entries in metadata.items():
        if path.count("/") >= 3 and any(
            e.get("type") == "aws:cdk:logicalId" and e.get("data") == logical_id for e in entries
        ):
            parent, holder, _ = path.rsplit("/", 2)
            return f"{parent}/{holder.removesuffix('.NestedStack')}"
    return None


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for item in value.values() for s in _strings(item)]
    if isinstance(value, list):
        return [s for item in value for s in _strings(item)]
    return []


def _relative(path: str, display: str) -> str:
    """``/App/Stack/Submitter/Bucket/Resource`` -> ``Submitter/Bucket/Resource``."""
    parts = path.strip("/").split("/")
    stack_parts = display.strip("/").split("/")
    if parts[: len(stack_parts)] == stack_parts:
        parts = parts[len(stack_parts) :]
    elif parts and parts[0] == stack_parts[-1]:
        parts = parts[1:]
    return "/".join(parts)
