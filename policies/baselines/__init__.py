"""The bundled baselines (``development``, ``production``) and the reference-value sets they use.

They ship as package data next to this module and are read with ``importlib.resources``: package
data is part of the installed code, like a module, so reading it keeps ``policies`` free of any
configurable file access. Tenants replace the reference sets with their own (same names).
"""

from functools import cache
from importlib import resources

from policies.compiler import CompiledPolicy, load_policy
from policies.documents import parse_document
from policies.errors import BaselineNotFoundError, PolicyInvalidError, Problem
from policies.reference_values import ReferenceSet, index_reference_sets

BASELINE_NAMES = ("development", "production")
REFERENCE_SET_NAMES = ("gpu-driver-minimums", "gpu-vbios-minimums", "runner-measurements", "snp-tcb-minimums")


def baseline_text(name: str) -> bytes:
    """The YAML of a bundled baseline, exactly as shipped.

    Raises:
        BaselineNotFoundError: no bundled baseline has that name.
    """
    if name not in BASELINE_NAMES:
        raise BaselineNotFoundError(f"no bundled baseline {name!r} (bundled: {', '.join(BASELINE_NAMES)})")
    return resources.files(__name__).joinpath(f"{name}.yaml").read_bytes()


def reference_set_text(name: str) -> bytes:
    """The YAML of a bundled reference-value set.

    Raises:
        BaselineNotFoundError: no bundled set has that name.
    """
    if name not in REFERENCE_SET_NAMES:
        raise BaselineNotFoundError(
            f"no bundled reference-value set {name!r} (bundled: {', '.join(REFERENCE_SET_NAMES)})"
        )
    return resources.files(__name__).joinpath("reference-values", f"{name}.yaml").read_bytes()


@cache
def bundled_reference_sets() -> tuple[ReferenceSet, ...]:
    """Every bundled reference-value set, parsed.

    Raises:
        PolicyInvalidError: a bundled document is broken (a packaging bug; the tests prevent it).
    """
    sets = []
    for name in REFERENCE_SET_NAMES:
        document = parse_document(reference_set_text(name), f"<bundled {name}.yaml>")
        if not isinstance(document, ReferenceSet):
            raise PolicyInvalidError([Problem(name, "policy.wrong_kind", "expected kind: ReferenceValues")])
        sets.append(document)
    return tuple(sets)


def load_baseline(name: str, reference_sets: tuple[ReferenceSet, ...] = ()) -> CompiledPolicy:
    """Compile a bundled baseline with the bundled reference sets, replaced by name by ``reference_sets``.

    Raises:
        BaselineNotFoundError: no bundled baseline has that name.
        PolicyInvalidError: a given reference set does not fit the baseline (wrong kind, bad versions).
    """
    index = index_reference_sets(bundled_reference_sets(), reference_sets)
    return load_policy(baseline_text(name), f"<bundled {name}.yaml>", index)
