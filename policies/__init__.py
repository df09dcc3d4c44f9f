"""Release policies: typed, fail-closed evaluation of an Attestation Result and its context to a Decision.

Pure: documents arrive as bytes, ``now`` arrives in the input; nothing here reads a clock, the
environment, a network or a database (the bundled baselines are package data).

Typical use by the relying party::

    baseline = load_baseline("production", tenant_reference_sets)
    artefact = load_policy(policy_bytes, "patients-eu.yaml", reference_index)
    decision = effective_decision(evaluate(baseline, request), evaluate(artefact, request))
"""

from policies.baselines import BASELINE_NAMES, baseline_text, bundled_reference_sets, load_baseline
from policies.compiler import CompiledPolicy, CompiledRule, compile_policy, load_policy
from policies.contract import ClaimsContract, ClaimSpec, ClaimType, claims_contract
from policies.decision import (
    Decision,
    FailureCode,
    PolicyRef,
    ReferenceValuesRef,
    RuleFailure,
    Verdict,
    effective_decision,
)
from policies.documents import PolicyDocument, parse_document
from policies.engine import Explanation, RuleExplanation, RuleStatus, evaluate, explain
from policies.errors import (
    BaselineNotFoundError,
    PolicyDeniedError,
    PolicyError,
    PolicyInputError,
    PolicyInvalidError,
    Problem,
)
from policies.input_document import input_document, parse_input
from policies.policy_testing import TestReport, load_vectors, run_tests
from policies.reference_values import ReferenceKind, ReferenceSet, index_reference_sets
from policies.request import (
    ArtefactContext,
    ArtefactKind,
    JobContext,
    KycStatus,
    NodeContext,
    PolicyInput,
    ProviderContext,
    RegisteredHardware,
    ReleaseContext,
    ReleaseCounter,
    SessionContext,
    TenantContext,
)

__all__ = [
    "BASELINE_NAMES",
    "ArtefactContext",
    "ArtefactKind",
    "BaselineNotFoundError",
    "ClaimSpec",
    "ClaimType",
    "ClaimsContract",
    "CompiledPolicy",
    "CompiledRule",
    "Decision",
    "Explanation",
    "FailureCode",
    "JobContext",
    "KycStatus",
    "NodeContext",
    "PolicyDeniedError",
    "PolicyDocument",
    "PolicyError",
    "PolicyInput",
    "PolicyInputError",
    "PolicyInvalidError",
    "PolicyRef",
    "Problem",
    "ProviderContext",
    "ReferenceKind",
    "ReferenceSet",
    "ReferenceValuesRef",
    "RegisteredHardware",
    "ReleaseContext",
    "ReleaseCounter",
    "RuleExplanation",
    "RuleFailure",
    "RuleStatus",
    "SessionContext",
    "TenantContext",
    "TestReport",
    "Verdict",
    "baseline_text",
    "bundled_reference_sets",
    "claims_contract",
    "compile_policy",
    "effective_decision",
    "evaluate",
    "explain",
    "index_reference_sets",
    "input_document",
    "load_baseline",
    "load_policy",
    "load_vectors",
    "parse_document",
    "parse_input",
    "run_tests",
]
