"""``tcb_at_least``: an SEV-SNP TCB_VERSION compared component by component with minimums.

A TCB is not one number: the boot loader, TEE, SNP firmware, microcode (and on Turin the FMC) are
patched separately, and each must be at least its minimum. The minimums are written in the rule
(``{boot_loader: 3, tee: 0, snp: 8, microcode: 115}``) or come from a ``snp-tcb-minimums``
reference set keyed by the product (``cpu0.snp.product``), because Milan, Genoa and Turin have
different version numbers for the same fix. A component the TCB lacks (``fmc`` before Turin) fails
if a minimum names it.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from policies.contract import ClaimSpec, ClaimType
from policies.operands import Scope, reference_set, single_key
from policies.problems import check_keys, expect_mapping
from policies.readers import fast_reader
from policies.reference_values import TCB_COMPONENTS, ReferenceKind
from policies.request import PolicyInput

Minimums = tuple[tuple[str, int], ...]


@dataclass(frozen=True, slots=True)
class CompiledTcb:
    """The parts of an ``Operator`` that ``tcb_at_least`` provides."""

    expected: str
    test: Callable[[object, PolicyInput], bool | None]
    reason: str
    note: Callable[[object, PolicyInput], str]


def _shown(minimums: Minimums) -> str:
    return ", ".join(f"{component} {minimum}" for component, minimum in minimums)


def _literal_minimums(operand: Mapping[str, object], what: str, scope: Scope) -> Minimums | None:
    if not check_keys(operand, what, (), TCB_COMPONENTS, scope.report):
        return None
    minimums: list[tuple[str, int]] = []
    for component, minimum in operand.items():
        if type(minimum) is not int or not 0 <= minimum <= 255:
            scope.report.add(
                "policy.operand_type", f"{what}: {component} must be an integer 0..255, not {minimum!r}"
            )
            return None
        minimums.append((component, minimum))
    if not minimums:
        scope.report.add("policy.operand_value", f"{what}: names no TCB component")
        return None
    return tuple(minimums)


def compile_tcb_at_least(
    spec: ClaimSpec, operand: object, conforms: Callable[[object], bool], scope: Scope
) -> CompiledTcb | None:
    """Compile ``tcb_at_least`` on the TCB record ``spec``; None after reporting problems."""
    what = f"{spec.path} tcb_at_least"
    read_product: Callable[[object], object] | None = None
    table: dict[str, Minimums] = {}
    fixed: Minimums | None = None
    if single_key(operand, "set") is not None:
        found = reference_set(operand, ReferenceKind.SNP_TCB_MINIMUMS, what, scope)
        if found is None:
            return None
        product = scope.contract.get(spec.parent + ".product")
        if product is None or product.kind is not ClaimType.STRING or product.per_gpu != spec.per_gpu:
            scope.report.add(
                "policy.operand_type", f"{what}: no product claim next to {spec.path} to pick minimums by"
            )
            return None
        scope.reads.add(product.path)
        read_product = fast_reader(product)
        table = {name: tuple(minimums.items()) for name, minimums in (found.tcb_minimums or {}).items()}
        components = {component for minimums in table.values() for component, _ in minimums}
        expected = (
            f"TCB at least the minimums for its product in set {found.describe()} ("
            + "; ".join(f"{name}: {_shown(minimums)}" for name, minimums in table.items())
            + ")"
        )
    else:
        mapping = expect_mapping(operand, what, scope.report)
        fixed = None if mapping is None else _literal_minimums(mapping, what, scope)
        if fixed is None:
            return None
        components = {component for component, _ in fixed}
        expected = f"TCB at least {_shown(fixed)}"
    scope.reads.update(f"{spec.path}.{component}" for component in components)

    def minimums_for(request: PolicyInput) -> Minimums | str | None:
        if read_product is None:
            return fixed
        name = read_product(request)
        if not isinstance(name, str):
            return None
        return table.get(name, f"no minimums for product {name!r}")

    def test(value: object, request: PolicyInput) -> bool | None:
        if value is None or not conforms(value):
            return None
        minimums = minimums_for(request)
        if minimums is None:
            return None
        if isinstance(minimums, str):
            return False
        for component, minimum in minimums:
            found_value = getattr(value, component)
            if type(found_value) is not int:
                return None
            if found_value < minimum:
                return False
        return True

    def note(value: object, request: PolicyInput) -> str:
        minimums = minimums_for(request)
        if minimums is None:
            return "the product claim is missing or mistyped"
        if isinstance(minimums, str):
            return minimums
        below = [
            f"{component} {getattr(value, component, None)} < {minimum}"
            if type(getattr(value, component, None)) is int
            else f"{component} missing"
            for component, minimum in minimums
            if type(getattr(value, component, None)) is not int or getattr(value, component) < minimum
        ]
        return "; ".join(below)

    return CompiledTcb(expected, test, "the product claim is missing or mistyped", note)
