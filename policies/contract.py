"""The claims contract: every path a policy may read, generated from the typed results and context.

Nothing here is a hand-written list of claims. The contract walks the dataclasses of
``attestation.result`` and ``policies.request``: each field is one claim, named by
``attestation.claims.claim_fields`` (so NVIDIA's ``x-nvidia-gpu-driver-version`` is spelled as NVIDIA
spells it), and typed from its annotation. A field added to a result type therefore appears here at
once, and the baseline coverage tests then demand that it is checked or listed as unchecked.

Paths are read aloud segment by segment:

* ``cpu0.<claim>``, nested records included: ``cpu0.snp.reported_tcb.microcode``, ``cpu0.tdx.tcb_status``,
  ``cpu0.cert_chain.x-nvidia-cert-ocsp-status``;
* ``gpu.<claim>``: one GPU's claim, only inside ``all_gpus`` / ``any_gpu`` / ``gpu_count``, which say
  which GPUs it must hold for;
* ``result.<field>``: the Attestation Result's own fields (verifier id, warnings, ...);
* the context: ``artefact.labels``, ``job.purpose``, ``node.region``,
  ``node.registered_hardware.gpu_serials_match``, ``provider.kyc_status``, ``tenant.id``,
  ``release.count``, ``release.max``, ``session.issued_at``; and ``now``.
"""

import dataclasses
import difflib
import types
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from functools import cache
from typing import Union, get_args, get_origin, get_type_hints

from attestation.claims import claim_fields
from attestation.result import AttestationResult, CpuClaims, GpuClaims, SnpTcb, TcbStatus
from policies.request import PolicyInput, ReleaseContext


class ClaimType(StrEnum):
    """What kind of value a claim holds; decides which operators apply and how operands are read."""

    BOOLEAN = "boolean"
    INTEGER = "integer"
    STRING = "string"
    ENUM = "enum"
    TIMESTAMP = "timestamp"
    STRING_LIST = "string list"
    RECORD_LIST = "record list"
    RECORD = "record"
    OPAQUE = "opaque"


#: Enumerations with a meaningful order, worst first. Intel's TCB statuses are ordered by how much is
#: wrong: a newer platform TCB is better than one needing configuration, which is better than out of
#: date. A TD that should be relaunched runs on a current platform but missed the fixes that apply at
#: launch, which ranks it above out of date and below a platform that only needs configuration.
#: ``NotApplicable`` is deliberately absent: it is not comparable with anything.
ENUM_ORDER: dict[type[StrEnum], tuple[StrEnum, ...]] = {
    TcbStatus: (
        TcbStatus.REVOKED,
        TcbStatus.OUT_OF_DATE_CONFIGURATION_NEEDED,
        TcbStatus.OUT_OF_DATE,
        TcbStatus.TD_RELAUNCH_ADVISED_CONFIGURATION_NEEDED,
        TcbStatus.TD_RELAUNCH_ADVISED,
        TcbStatus.CONFIGURATION_AND_SW_HARDENING_NEEDED,
        TcbStatus.CONFIGURATION_NEEDED,
        TcbStatus.SW_HARDENING_NEEDED,
        TcbStatus.UP_TO_DATE,
    )
}

GPU_ROOT = "gpu"
NOW = "now"


@dataclass(frozen=True, slots=True)
class ClaimSpec:
    """One readable claim: its path, its type, and how to reach it from its subject.

    The subject is the ``PolicyInput`` for every root except ``gpu``, whose subject is one ``GpuClaims``.
    """

    path: str
    kind: ClaimType
    attributes: tuple[str, ...]
    per_gpu: bool
    optional: bool
    owner: type | None
    field_name: str
    enum: type[StrEnum] | None = None
    record: type | None = None

    @property
    def name(self) -> str:
        """The claim name: the last path segment."""
        return self.path.rsplit(".", 1)[-1]

    @property
    def parent(self) -> str:
        """The path of the record holding this claim."""
        return self.path.rsplit(".", 1)[0]

    def describe_type(self) -> str:
        """The type as a policy author reads it, e.g. ``enum TcbStatus`` or ``record SnpTcb``."""
        if self.enum is not None:
            return f"enum {self.enum.__name__}"
        if self.record is not None:
            return f"{self.kind} {self.record.__name__}"
        return str(self.kind)


@dataclass(frozen=True, slots=True)
class ClaimsContract:
    """Every readable path and its spec, with a did-you-mean for paths that are not in it."""

    specs: Mapping[str, ClaimSpec]

    def get(self, path: str) -> ClaimSpec | None:
        """The spec of ``path``, or None when the contract has no such path."""
        return self.specs.get(path)

    def suggest(self, path: str) -> str | None:
        """The closest existing path to a misspelled one (difflib), if any is close enough.

        When the record above the misspelled claim exists (``provider`` in ``provider.kyc``), its own
        claims are tried first, by name; otherwise whole paths, then the distinctive tail alone
        (authors often write ``driver-version`` for ``x-nvidia-gpu-driver-version``).
        """
        parent, _, tail = path.rpartition(".")
        children = {spec.name: spec.path for spec in self.specs.values() if spec.parent == parent and parent}
        if children:
            starting = sorted(name for name in children if name.startswith(tail) or tail in name)
            close = starting or difflib.get_close_matches(tail, list(children), n=1, cutoff=0.4)
            if close:
                return children[close[0]]
        candidates = [known for known in self.specs if not path.startswith(f"{known}.")]
        matches = difflib.get_close_matches(path, candidates, n=1, cutoff=0.6)
        if matches:
            return matches[0]
        root = path.split(".", 1)[0]
        tails = {spec.name: spec.path for spec in self.specs.values() if spec.path.startswith(root)}
        by_tail = difflib.get_close_matches(tail, list(tails), n=1, cutoff=0.5)
        return tails[by_tail[0]] if by_tail else None

    def __iter__(self) -> Iterator[ClaimSpec]:
        return iter(self.specs.values())


_SCALAR_TYPES: dict[type, ClaimType] = {
    bool: ClaimType.BOOLEAN,
    int: ClaimType.INTEGER,
    str: ClaimType.STRING,
    datetime: ClaimType.TIMESTAMP,
}


def unwrap_optional(hint: object) -> tuple[object, bool]:
    """``(X, True)`` for ``X | None``, else ``(hint, False)``."""
    origin = get_origin(hint)
    if origin is Union or origin is types.UnionType:
        members = [arg for arg in get_args(hint) if arg is not type(None)]
        if len(members) == 1 and len(get_args(hint)) == 2:
            return members[0], True
    return hint, False


def classify(hint: object) -> tuple[ClaimType, type[StrEnum] | None, type | None]:
    """The claim type of an annotation, with its enum or record class where it has one."""
    scalar = _SCALAR_TYPES.get(hint) if isinstance(hint, type) else None
    if scalar is not None:
        return scalar, None, None
    if isinstance(hint, type) and issubclass(hint, StrEnum):
        return ClaimType.ENUM, hint, None
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return ClaimType.RECORD, None, hint
    if get_origin(hint) is tuple:
        args = get_args(hint)
        if len(args) == 2 and args[1] is Ellipsis:
            item = args[0]
            if item is str:
                return ClaimType.STRING_LIST, None, None
            if isinstance(item, type) and dataclasses.is_dataclass(item):
                return ClaimType.RECORD_LIST, None, item
    return ClaimType.OPAQUE, None, None


def _walk(
    cls: type, prefix: str, attributes: tuple[str, ...], per_gpu: bool, skip: frozenset[str] = frozenset()
) -> Iterator[ClaimSpec]:
    hints = get_type_hints(cls)
    for name, field in claim_fields(cls):
        if field.name in skip:
            continue
        hint, optional = unwrap_optional(hints[field.name])
        claim_type, enum, record = classify(hint)
        spec = ClaimSpec(
            path=f"{prefix}.{name}",
            kind=claim_type,
            attributes=(*attributes, field.name),
            per_gpu=per_gpu,
            optional=optional,
            owner=cls,
            field_name=field.name,
            enum=enum,
            record=record,
        )
        yield spec
        if claim_type is ClaimType.RECORD and record is not None:
            yield from _walk(record, spec.path, spec.attributes, per_gpu)


def _context_roots() -> Iterator[tuple[str, type, tuple[str, ...]]]:
    hints = get_type_hints(ReleaseContext)
    for field in dataclasses.fields(ReleaseContext):
        yield field.name, hints[field.name], ("context", field.name)


@cache
def claims_contract() -> ClaimsContract:
    """Build the claims contract from the result and context types (once per process).

    Raises:
        RuntimeError: two claims would share one path (a result type was changed inconsistently).
    """
    specs: dict[str, ClaimSpec] = {}

    def add(spec: ClaimSpec) -> None:
        if spec.path in specs:  # pragma: no cover - a guard against two types claiming one path.
            raise RuntimeError(f"two claims share the path {spec.path}")
        specs[spec.path] = spec

    add(ClaimSpec("cpu0", ClaimType.RECORD, ("result", "cpu"), False, False, None, "cpu", record=CpuClaims))
    for spec in _walk(CpuClaims, "cpu0", ("result", "cpu"), per_gpu=False):
        add(spec)
    for spec in _walk(GpuClaims, GPU_ROOT, (), per_gpu=True):
        add(spec)
    add(
        ClaimSpec(
            "result",
            ClaimType.RECORD,
            ("result",),
            False,
            False,
            PolicyInput,
            "result",
            record=AttestationResult,
        )
    )
    for spec in _walk(AttestationResult, "result", ("result",), False, skip=frozenset({"cpu", "gpus"})):
        add(spec)
    for root, cls, attributes in _context_roots():
        add(ClaimSpec(root, ClaimType.RECORD, attributes, False, False, ReleaseContext, root, record=cls))
        for spec in _walk(cls, root, attributes, per_gpu=False):
            add(spec)
    add(ClaimSpec(NOW, ClaimType.TIMESTAMP, ("now",), False, False, PolicyInput, "now"))
    return ClaimsContract(specs)


#: The record type whose components ``tcb_at_least`` compares (SEV-SNP TCB_VERSION).
TCB_RECORD = SnpTcb
