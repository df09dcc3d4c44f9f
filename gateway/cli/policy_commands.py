"""``ccgate policy …``: write, check, test and explain release policies before they go live.

Every command takes policy files (``FILE``) or a bundled baseline written ``baseline:NAME``.
Reference-value sets come from the bundled defaults, replaced by name by ``--reference-values``.
Exit codes: 0 success (``explain``: allowed), 1 refused (invalid policy, failed test, denied),
2 usage error.
"""

import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from attestation.evidence import TeeType
from gateway.cli.console import fail, print_json, stderr, stdout
from gateway.cli.evidence_commands import parse_at
from gateway.cli.policy_output import print_explanation, print_test_report
from policies import (
    BASELINE_NAMES,
    CompiledPolicy,
    PolicyInputError,
    PolicyInvalidError,
    Problem,
    ReferenceSet,
    baseline_text,
    bundled_reference_sets,
    explain,
    index_reference_sets,
    input_document,
    load_vectors,
    parse_document,
    parse_input,
    run_tests,
)
from policies.baselines import REFERENCE_SET_NAMES, reference_set_text
from policies.compiler import load_document, load_policy
from policies.documents import read_document
from policies.samples import sample_input
from policies.yaml_source import load_yaml_mapping

app = typer.Typer(help="Check, test and explain release policies.", no_args_is_help=True)

BASELINE_PREFIX = "baseline:"
ReferenceOption = Annotated[
    list[Path] | None,
    typer.Option(
        "--reference-values", "-r", help="A ReferenceValues file; replaces the bundled set of its name."
    ),
]


def _read(source: str) -> bytes:
    """The bytes of a policy argument: a file, ``-`` for stdin, or ``baseline:NAME``."""
    if source.startswith(BASELINE_PREFIX):
        return baseline_text(source[len(BASELINE_PREFIX) :])
    if source == "-":
        return sys.stdin.buffer.read()
    return Path(source).read_bytes()


def _reference_sets(paths: list[Path] | None) -> dict[str, ReferenceSet]:
    """The bundled sets replaced by those in ``paths``; every problem of every file is reported."""
    problems: list[Problem] = []
    given: list[ReferenceSet] = []
    for path in paths or []:
        try:
            document = parse_document(path.read_bytes(), str(path))
        except PolicyInvalidError as exc:
            problems.extend(exc.problems)
            continue
        if not isinstance(document, ReferenceSet):
            problems.append(Problem(str(path), "policy.wrong_kind", "expected kind: ReferenceValues"))
            continue
        given.append(document)
    if problems:
        raise PolicyInvalidError(problems)
    return index_reference_sets(bundled_reference_sets(), given)


def _load(source: str, sets: dict[str, ReferenceSet]) -> CompiledPolicy:
    return load_policy(_read(source), source, sets)


def _print_problems(problems: tuple[Problem, ...]) -> None:
    for problem in problems:
        stderr.print(str(problem), markup=False)


@app.command("baseline")
def baseline(name: Annotated[str, typer.Argument(help=f"One of: {', '.join(BASELINE_NAMES)}.")]) -> None:
    """Print a bundled baseline policy exactly as shipped."""
    sys.stdout.write(baseline_text(name).decode("utf-8"))


@app.command("reference-values")
def reference_values(
    name: Annotated[str | None, typer.Argument(help="A bundled set; omit to list them.")] = None,
) -> None:
    """Print a bundled reference-value set, or list them."""
    if name is None:
        for reference in bundled_reference_sets():
            stdout.print(f"{reference.name} v{reference.version} ({reference.kind}): {reference.description}")
        return
    if name not in REFERENCE_SET_NAMES:
        fail(
            "policy.baseline_unknown", f"no bundled set {name!r} (bundled: {', '.join(REFERENCE_SET_NAMES)})"
        )
    sys.stdout.write(reference_set_text(name).decode("utf-8"))


def _report_check(
    accepted: list[tuple[str, dict[str, object]]], problems: list[Problem], as_json: bool
) -> None:
    """Print what ``policy check`` accepted (one line each, or JSON) and every problem found."""
    if as_json:
        print_json(
            {
                "ok": not problems,
                "accepted": [document for _, document in accepted],
                "problems": [
                    {"source": p.source, "rule": p.rule, "code": p.code, "message": p.message}
                    for p in problems
                ],
            }
        )
    else:
        for line, _ in accepted:
            stdout.print(line, markup=False)
        _print_problems(tuple(problems))


@app.command("check")
def check(
    files: Annotated[list[str], typer.Argument(help="Policy or ReferenceValues files (or baseline:NAME).")],
    reference_values: ReferenceOption = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the verdict of every document as JSON.")
    ] = False,
) -> None:
    """Validate documents; print every problem (file, rule, what is wrong) and exit 1 if any."""
    sets = _reference_sets(reference_values)
    problems: list[Problem] = []
    accepted: list[tuple[str, dict[str, object]]] = []
    loaded: list[tuple[str, bytes]] = []
    given_sets: dict[str, str] = {}
    # Reference-value files first, so that policies given alongside them are checked against them.
    for source in files:
        try:
            data = _read(source)
            raw = load_yaml_mapping(data, source)
            document = read_document(raw, source) if raw.get("kind") == "ReferenceValues" else None
        except PolicyInvalidError as exc:
            problems.extend(exc.problems)
            continue
        if isinstance(document, ReferenceSet):
            if document.name in given_sets:
                message = f"reference set {document.name!r} is also given by {given_sets[document.name]}"
                problems.append(Problem(source, "policy.duplicate_reference_set", message))
            given_sets[document.name] = source
            sets[document.name] = document
            line = f"{source}: ok: reference values {document.describe()} ({document.kind})"
            fields: dict[str, object] = {"name": document.name, "version": document.version}
            accepted.append((line, {"source": source, "kind": "ReferenceValues", **fields}))
        else:
            loaded.append((source, data))
    for source, data in loaded:
        try:
            compiled = load_document(data, source, sets)
        except PolicyInvalidError as exc:
            problems.extend(exc.problems)
            continue
        if isinstance(compiled, CompiledPolicy):
            line = (
                f"{source}: ok: policy {compiled.name}, {len(compiled.rules)} rules, sha256 {compiled.digest}"
            )
            fields = {"name": compiled.name, "rules": len(compiled.rules), "sha256": compiled.digest}
            accepted.append((line, {"source": source, "kind": "Policy", **fields}))
    _report_check(accepted, problems, as_json)
    if problems:
        failed = len({problem.source for problem in problems})
        fail("policy.invalid", f"{len(problems)} problem(s) in {failed} of {len(files)} file(s)")


@app.command("test")
def run_policy_tests(
    file: Annotated[str, typer.Argument(help="The policy (or baseline:NAME).")],
    vectors: Annotated[
        list[Path] | None,
        typer.Option("--vectors", help="A file of inputs and cases (the shape of spec.tests)."),
    ] = None,
    reference_values: ReferenceOption = None,
    require_coverage: Annotated[
        bool, typer.Option("--require-coverage", help="Also fail when a rule is not exercised both ways.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Run the policy's embedded tests and any vectors; exit 1 on any mismatch."""
    sets = _reference_sets(reference_values)
    policy = _load(file, sets)
    suites = [load_vectors(path.read_bytes(), str(path), policy) for path in vectors or []]
    report = run_tests(policy, sets, suites)
    print_test_report(policy, report, as_json)
    if not report.results:
        fail("policy.no_tests", f"{file} has no embedded tests and no vectors were given")
    if not report.passed:
        failed = sum(1 for result in report.results if not result.passed)
        fail("policy.test_failed", f"{failed} of {len(report.results)} case(s) did not match")
    if require_coverage and report.unexercised():
        fail("policy.test_coverage", f"{len(report.unexercised())} rule(s) not exercised both ways")


@app.command("explain")
def explain_command(
    file: Annotated[str, typer.Argument(help="The policy (or baseline:NAME).")],
    input_path: Annotated[
        str,
        typer.Option(
            "--input",
            help="The policy input (JSON or YAML; see `ccgate policy sample-input`); - reads stdin.",
        ),
    ],
    reference_values: ReferenceOption = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Decide, and show every rule: passed, failed or out of scope, with the values it read."""
    sets = _reference_sets(reference_values)
    policy = _load(file, sets)
    data = sys.stdin.buffer.read() if input_path == "-" else Path(input_path).read_bytes()
    try:
        request = parse_input(load_yaml_mapping(data, input_path))
    except PolicyInvalidError as exc:
        _print_problems(exc.problems)
        fail("policy.input_invalid", f"{input_path} is not a readable input document")
    except PolicyInputError as exc:
        for problem in exc.problems:
            stderr.print(f"{input_path}: {problem}", markup=False)
        fail(exc.code, f"{input_path} does not have the shape of a policy input")
    explanation = explain(policy, request)
    print_explanation(policy, explanation, as_json)
    decision = explanation.decision
    if not decision.allowed:
        fail(
            "policy.denied", f"{len(decision.failures)} rule(s) failed: {', '.join(decision.failed_rules())}"
        )


@app.command("sample-input")
def sample_input_command(
    tee: Annotated[TeeType, typer.Option("--tee", help="The CPU TEE of the sample node.")] = TeeType.SNP,
    gpus: Annotated[int, typer.Option("--gpus", min=0, max=64, help="How many GPUs.")] = 8,
    at: Annotated[
        str | None, typer.Option("--at", help="The sample's 'now' (RFC 3339; default: now).")
    ] = None,
) -> None:
    """Print a complete, healthy policy input to start an explain or a test vector from."""
    now = parse_at(at) if at is not None else datetime.now(UTC).replace(microsecond=0)
    print_json(input_document(sample_input(now, tee=tee, gpus=gpus)))
