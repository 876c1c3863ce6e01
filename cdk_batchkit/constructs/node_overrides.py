"""Node overrides: what one submission of a multi-node parallel job changes, per range of nodes.

SubmitJob's ``nodeOverrides`` (https://docs.aws.amazon.com/batch/latest/APIReference/API_NodeOverrides.html)
carries ``numNodes`` and a list of ``nodePropertyOverrides``, each a ``targetNodes`` range
(https://docs.aws.amazon.com/batch/latest/APIReference/API_NodePropertyOverride.html) with
``containerOverrides`` (command, environment, resources, ``instanceType``). Batch matches ``targetNodes``
against the definition's own node ranges and refuses any other ("NodeOverride targets should match job
definition"), so a workflow step takes :class:`NodeOverride` values per range *of the definition*
(``"0:0"``, ``"1:"`` exactly as it renders them), or for every range (no ``target_nodes``). They are checked
by the submission rules (BK-O2, BK-O3, BK-O5, BK-W2: the ranges, ``num_nodes`` and every overridden node
against the queue), translated by :meth:`NodeOverride.spec`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from aws_cdk import Size, Token

from ..model.submission import FromInput, NodeOverrideSpec, Overrides
from ._validation import is_token, mebibytes_of


@dataclass(frozen=True)
class NodeOverride:
    """What one submission changes for the nodes of one node range of a multi-node job.

    :param target_nodes: one of the definition's node ranges, exactly as it renders it: ``"0:0"``,
        ``"1:"`` (Batch refuses any other; a multi-node definition of this library renders its last range
        open, ``start:``). Default: every range of the definition (the override is sent once per range).
    :param command: the nodes' command. Default: the definition's.
    :param environment: extra environment variables. Default: the range's own only.
    :param environment_from_input: environment variable -> workflow input field. Default: no variable
        from the input.
    :param vcpus: vCPUs per node (whole, at least 1). Default: the definition's.
    :param memory: memory per node. Default: the definition's.
    :param instance_type: the instance type these nodes run on (``containerOverrides.instanceType``).
        Default: the definition's.
    """

    target_nodes: str | None = None
    command: Sequence[str] | None = None
    environment: Mapping[str, str] = field(default_factory=dict)
    environment_from_input: Mapping[str, str] = field(default_factory=dict)
    vcpus: float | None = None
    memory: Size | None = None
    instance_type: str | None = None

    def overrides(self) -> Overrides:
        """The container overrides of these nodes, as the model takes them."""
        return Overrides(
            command=tuple(self.command) if self.command is not None else None,
            environment=environment_items(self.environment, self.environment_from_input),
            vcpus=size_value(self.vcpus),
            memory_mib=memory_mib(self.memory),
            instance_type=self.instance_type,
        )

    def specs(self, ranges: Sequence[str]) -> list[NodeOverrideSpec]:
        """One :class:`~cdk_batchkit.model.submission.NodeOverrideSpec` per target: ``target_nodes``, or
        each of ``ranges`` (the definition's; ``0:`` when unknown)."""
        targets = [self.target_nodes] if self.target_nodes is not None else list(ranges) or ["0:"]
        overrides = self.overrides()
        return [NodeOverrideSpec(target, overrides) for target in targets]


def environment_items(
    environment: Mapping[str, str], from_input: Mapping[str, str]
) -> tuple[tuple[str, object], ...]:
    """Fixed variables, then variables read from workflow input fields (``$.field`` when submitting)."""
    return (
        *((name, value) for name, value in environment.items()),
        *((name, FromInput(input_field)) for name, input_field in from_input.items()),
    )


def size_value(vcpus: float | None) -> object:
    """vCPUs as the model takes them: the number, or a CDK token as a string."""
    if vcpus is None:
        return None
    return Token.as_string(vcpus) if is_token(vcpus) else vcpus


def memory_mib(memory: Size | None) -> object:
    """Whole MiB of ``memory`` (a token as a string)."""
    if memory is None:
        return None
    mib = mebibytes_of(memory)
    return Token.as_string(mib) if is_token(mib) else float(int(mib))
