"""Conditions: one subject and one operator, compiled into fast checks and a careful explanation.

A condition (a rule's ``require`` or one of its ``when`` scopes) has exactly one subject:

* ``claim: PATH`` with one operator: ``{claim: cpu0.snp.vmpl, equals: 0}``;
* ``all_gpus: {claim: gpu.PATH, ...}``: every GPU, *and there is at least one*;
* ``any_gpu: {claim: gpu.PATH, ...}``: at least one GPU;
* ``gpu_count: {where: {claim: gpu.PATH, ...}, at_least: 8}``: how many GPUs (satisfy ``where``);
* ``evidence_age: {at_most: 120s}``: ``now - session.issued_at``, which must not be negative.

Every condition offers three views of the same test. ``holds`` is the fast path used for every
decision and says True only when the condition is definitely satisfied. ``excludes`` says True only
when it is definitely *not* satisfied (a claim present, well-typed and different); a ``when`` scope
skips its rule only then, so a missing claim in a scope never switches a rule off. ``observe`` is
the careful path that explains every value it looked at.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from policies.contract import GPU_ROOT, ClaimSpec
from policies.operands import ORDERED_COMPARISONS, Scope, parse_duration
from policies.operators import OPERATOR_NAMES, Operator, compile_operator
from policies.outcomes import Observation, State, render, render_duration
from policies.problems import check_keys, did_you_mean, expect_mapping
from policies.readers import careful_read, careful_value, conformer, fast_reader, raw_getter
from policies.request import PolicyInput

SUBJECTS = ("claim", "all_gpus", "any_gpu", "gpu_count", "evidence_age")
_COUNT_BOUNDS = ("equals", *ORDERED_COMPARISONS)
_ZERO = timedelta(0)


@dataclass(frozen=True, slots=True)
class Condition:
    """A compiled condition: how it reads aloud, what it expects, and its three views."""

    text: str
    expected: str
    requires: frozenset[str]
    holds: Callable[[PolicyInput], bool]
    excludes: Callable[[PolicyInput], bool]
    observe: Callable[[PolicyInput], tuple[State, tuple[Observation, ...]]]


@dataclass(frozen=True, slots=True)
class _ClaimTest:
    """One claim and one operator, ready to be applied to a subject (the input, or one GPU)."""

    spec: ClaimSpec
    operator: Operator
    read: Callable[[object], object]
    conforms: Callable[[object], bool]

    def outcome(self, subject: object, request: PolicyInput) -> bool | None:
        return self.operator.test(self.read(subject), request)

    def observe(self, subject: object, request: PolicyInput, where: str) -> Observation:
        value, state, shown = careful_read(subject, self.spec, self.conforms)
        if state is State.MISTYPED or (state is State.MISSING and not self.operator.careful):
            return Observation(where, shown, state)
        outcome = self.operator.test(value, request)
        if outcome is None:
            return Observation(where, shown, State.MISTYPED, self.operator.unknown_reason)
        note = self.operator.note(value, request) if self.operator.note is not None else ""
        return Observation(where, shown, State.PASS if outcome else State.FAIL, note)


def _settle(outcome: bool | None) -> State:
    if outcome is None:
        return State.MISSING
    return State.PASS if outcome else State.FAIL


def compile_condition(raw: Mapping[str, object], scope: Scope) -> Condition | None:
    """Compile one condition mapping; None after reporting problems to ``scope``."""
    subjects = [key for key in raw if key in SUBJECTS]
    if len(subjects) != 1:
        found = ", ".join(subjects) if subjects else "none"
        scope.report.add(
            "policy.bad_condition",
            f"a condition needs exactly one subject ({', '.join(SUBJECTS)}); found {found}",
        )
        return None
    subject = subjects[0]
    if subject == "claim":
        test = _claim_test(raw, scope, per_gpu=False)
        return None if test is None else _claim_condition(test)
    check_keys(raw, "the condition", (subject,), (), scope.report)
    if subject == "evidence_age":
        return _evidence_age(raw["evidence_age"], scope)
    body = expect_mapping(raw[subject], subject, scope.report)
    if body is None:
        return None
    return _quantified(subject, body, scope)


def _quantified(subject: str, body: Mapping[str, object], scope: Scope) -> Condition | None:
    if subject == "gpu_count":
        return _gpu_count(body, scope)
    inner = _claim_test(body, scope, per_gpu=True, where=subject)
    if inner is None:
        return None
    return _all_gpus(inner) if subject == "all_gpus" else _any_gpu(inner)


def _resolve(path: object, scope: Scope, *, per_gpu: bool, where: str) -> ClaimSpec | None:
    """The contract entry of a condition's claim path, checked to be in the right scope."""
    if not isinstance(path, str):
        inside = f" inside {where}" if where else ""
        scope.report.add("policy.bad_condition", f"a condition{inside} needs 'claim: PATH'")
        return None
    spec = scope.contract.get(path)
    if spec is None:
        suggestion = scope.contract.suggest(path)
        hint = f" (did you mean {suggestion!r}?)" if suggestion else ""
        scope.report.add("policy.unknown_path", f"unknown claim path {path!r}{hint}")
        return None
    if spec.per_gpu != per_gpu:
        if per_gpu:
            message = f"inside {where} the claim must be one GPU's (gpu.…), not {path}"
        else:
            message = f"{path} is one GPU's claim: read it inside all_gpus, any_gpu or gpu_count"
        scope.report.add("policy.path_scope", message)
        return None
    return spec


def _claim_test(
    raw: Mapping[str, object], scope: Scope, *, per_gpu: bool, where: str = ""
) -> _ClaimTest | None:
    operators = [key for key in raw if key not in ("claim", "unless")]
    unknown = [key for key in operators if key not in OPERATOR_NAMES]
    for key in unknown:
        scope.report.add(
            "policy.unknown_operator", f"unknown operator {key!r}{did_you_mean(key, OPERATOR_NAMES)}"
        )
    spec = _resolve(raw.get("claim"), scope, per_gpu=per_gpu, where=where)
    if spec is None or unknown:
        return None
    if len(operators) != 1:
        problem = f"one operator per condition, found {', '.join(operators)}" if operators else "no operator"
        scope.report.add(
            "policy.bad_condition", f"{spec.path}: {problem} (operators: {', '.join(OPERATOR_NAMES)})"
        )
        return None
    operator = compile_operator(spec, operators[0], raw[operators[0]], raw.get("unless"), scope)
    if operator is None:
        return None
    scope.reads.add(spec.path)
    conforms = conformer(spec)

    attributes = spec.attributes

    def read_carefully(subject: object) -> object:
        value, state = careful_value(subject, attributes)
        return value if state is not State.MISTYPED else _MISTYPED

    # An operator that a missing value can satisfy (exists: false) must not take a mistyped step
    # for a missing one, so it reads carefully; every other operator fails on both alike.
    read = read_carefully if operator.careful else fast_reader(spec)
    return _ClaimTest(spec, operator, read, conforms)


class _Mistyped:
    """A value no operator accepts: what the careful reader returns for a mistyped step."""


_MISTYPED = _Mistyped()


def _requires(test: _ClaimTest) -> frozenset[str]:
    return frozenset() if test.operator.expected == "is absent" else frozenset({test.spec.path})


def _claim_condition(test: _ClaimTest) -> Condition:
    operator_test, read = test.operator.test, test.read

    def holds(request: PolicyInput) -> bool:
        return operator_test(read(request), request) is True

    def excludes(request: PolicyInput) -> bool:
        return operator_test(read(request), request) is False

    def observe(request: PolicyInput) -> tuple[State, tuple[Observation, ...]]:
        observation = test.observe(request, request, test.spec.path)
        return observation.state, (observation,)

    text = f"{test.spec.path} {test.operator.expected}"
    return Condition(text, test.operator.expected, _requires(test), holds, excludes, observe)


def _gpus(request: PolicyInput) -> tuple[object, ...]:
    return request.result.gpus


def _observe_gpus(test: _ClaimTest, request: PolicyInput) -> list[Observation]:
    name = test.spec.path[len(GPU_ROOT) + 1 :]
    return [test.observe(gpu, request, f"gpu{index}.{name}") for index, gpu in enumerate(_gpus(request))]


def _all_gpus(test: _ClaimTest) -> Condition:
    operator_test, read = test.operator.test, test.read
    vector = None if test.operator.careful else test.operator.all_values
    get = raw_getter(test.spec)

    def holds(request: PolicyInput) -> bool:
        gpus = request.result.gpus
        if not gpus:
            return False
        if vector is not None:
            # C-speed path: attribute reads and comparisons without a Python frame per GPU. A missing
            # step raises AttributeError, which the engine answers with the careful path.
            return vector(map(get, gpus))
        return all(operator_test(read(gpu), request) is True for gpu in gpus)

    def excludes(request: PolicyInput) -> bool:
        gpus = request.result.gpus
        return not gpus or any(operator_test(read(gpu), request) is False for gpu in gpus)

    def observe(request: PolicyInput) -> tuple[State, tuple[Observation, ...]]:
        observations = _observe_gpus(test, request)
        if not observations:
            return State.FAIL, (Observation("gpus", "no GPUs", State.FAIL),)
        states = [observation.state for observation in observations]
        if State.FAIL in states:
            return State.FAIL, tuple(observations)
        unsettled = [state for state in states if not state.settled]
        return (unsettled[0] if unsettled else State.PASS), tuple(observations)

    text = f"every GPU: {test.spec.path} {test.operator.expected}"
    return Condition(text, f"every GPU {test.operator.expected}", _requires(test), holds, excludes, observe)


def _any_gpu(test: _ClaimTest) -> Condition:
    def holds(request: PolicyInput) -> bool:
        return any(test.outcome(gpu, request) is True for gpu in _gpus(request))

    def excludes(request: PolicyInput) -> bool:
        return all(test.outcome(gpu, request) is False for gpu in _gpus(request))

    def observe(request: PolicyInput) -> tuple[State, tuple[Observation, ...]]:
        observations = _observe_gpus(test, request)
        states = [observation.state for observation in observations]
        if State.PASS in states:
            return State.PASS, tuple(observations)
        if not observations:
            return State.FAIL, (Observation("gpus", "no GPUs", State.FAIL),)
        unsettled = [state for state in states if not state.settled]
        return (unsettled[0] if unsettled else State.FAIL), tuple(observations)

    text = f"some GPU: {test.spec.path} {test.operator.expected}"
    return Condition(text, f"some GPU {test.operator.expected}", _requires(test), holds, excludes, observe)


def _gpu_count(body: Mapping[str, object], scope: Scope) -> Condition | None:
    check_keys(body, "gpu_count", (), ("where", *_COUNT_BOUNDS), scope.report)
    bounds = [key for key in body if key in _COUNT_BOUNDS]
    if len(bounds) != 1:
        scope.report.add("policy.bad_condition", f"gpu_count needs exactly one of {', '.join(_COUNT_BOUNDS)}")
        return None
    name = bounds[0]
    bound = body[name]
    if type(bound) is not int or bound < 0:
        scope.report.add("policy.operand_type", f"gpu_count {name}: expects a whole number, not {bound!r}")
        return None
    compare, words = ORDERED_COMPARISONS.get(name, (lambda a, b: a == b, "exactly"))
    where: _ClaimTest | None = None
    if "where" in body:
        raw_where = expect_mapping(body["where"], "gpu_count.where", scope.report)
        where = None if raw_where is None else _claim_test(raw_where, scope, per_gpu=True, where="gpu_count")
        if where is None:
            return None

    def counts(request: PolicyInput) -> tuple[int, int]:
        """(GPUs that definitely match, GPUs that cannot be decided)."""
        gpus = _gpus(request)
        if where is None:
            return len(gpus), 0
        outcomes = [where.outcome(gpu, request) for gpu in gpus]
        return outcomes.count(True), sum(1 for outcome in outcomes if outcome is None)

    def verdicts(request: PolicyInput) -> set[bool]:
        matched, undecided = counts(request)
        return {bool(compare(count, bound)) for count in range(matched, matched + undecided + 1)}

    def observe(request: PolicyInput) -> tuple[State, tuple[Observation, ...]]:
        matched, undecided = counts(request)
        shown = f"{matched} of {len(_gpus(request))}" + (f" ({undecided} undecided)" if undecided else "")
        found = verdicts(request)
        state = (State.PASS if True in found else State.FAIL) if len(found) == 1 else State.MISSING
        observations = [Observation("gpu count", shown, state)]
        if where is not None and state is not State.PASS:
            observations += _observe_gpus(where, request)
        return state, tuple(observations)

    condition = f" where {where.spec.path} {where.operator.expected}" if where is not None else ""
    expected = f"{words} {bound}"
    return Condition(
        f"the number of GPUs{condition} is {expected}",
        expected,
        _requires(where) if where is not None else frozenset(),
        lambda request: verdicts(request) == {True},
        lambda request: verdicts(request) == {False},
        observe,
    )


def _evidence_age(raw: object, scope: Scope) -> Condition | None:
    body = expect_mapping(raw, "evidence_age", scope.report)
    if body is None:
        return None
    check_keys(body, "evidence_age", (), tuple(ORDERED_COMPARISONS), scope.report)
    if len(body) != 1 or next(iter(body)) not in ORDERED_COMPARISONS:
        scope.report.add(
            "policy.bad_condition", f"evidence_age needs exactly one of {', '.join(ORDERED_COMPARISONS)}"
        )
        return None
    name, operand = next(iter(body.items()))
    try:
        bound = parse_duration(operand)
    except ValueError as exc:
        scope.report.add("policy.operand_type", f"evidence_age {name}: {exc}")
        return None
    compare, words = ORDERED_COMPARISONS[name]
    scope.reads.update({"session.issued_at", "now"})

    def age(request: PolicyInput) -> timedelta | None:
        now: object = request.now
        issued = getattr(getattr(request.context, "session", None), "issued_at", None)
        if not (isinstance(now, datetime) and now.tzinfo and isinstance(issued, datetime) and issued.tzinfo):
            return None
        return now - issued

    def outcome(request: PolicyInput) -> bool | None:
        value = age(request)
        # Evidence from the future (an issue time after now) is never fresh: fail closed on clock skew.
        return None if value is None else (value >= _ZERO and bool(compare(value, bound)))

    def observe(request: PolicyInput) -> tuple[State, tuple[Observation, ...]]:
        value = age(request)
        if value is None:
            shown = f"now = {render(request.now)}, session.issued_at = {render(_issued(request))}"
            return State.MISSING, (
                Observation("evidence age", shown, State.MISSING, "a time is missing or mistyped"),
            )
        state = _settle(outcome(request))
        note = "issued after now" if value < _ZERO else ""
        return state, (Observation("evidence age", render_duration(value), state, note),)

    expected = f"{words} {render_duration(bound)}"
    return Condition(
        f"evidence age (now - session.issued_at) is {expected}",
        expected,
        frozenset({"session.issued_at", "now"}),
        lambda request: outcome(request) is True,
        lambda request: outcome(request) is False,
        observe,
    )


def _issued(request: PolicyInput) -> object:
    return getattr(getattr(request.context, "session", None), "issued_at", None)
