"""``ccgate job …``: submit, follow and verify jobs (owner), and ``ccgate artefact releases``.

``job verify`` is the owner's offline check: receipt → attested runner key → attestation token →
ledger entry → inclusion proof → signed tree head (and, with ``--result``, the result's bytes).
"""

import base64
import json
from pathlib import Path
from typing import Annotated, Literal

import typer

from gateway.cli.console import fail, print_json, stdout
from gateway.cli.remote import JsonOption, TokenOption, UrlOption, connect, show, show_many
from gateway.client.results import fetch_result
from gateway.job_verification import PinnedKeys, verify_job_proof
from gateway.schemas.jobs import JobCreate, JobOut, ReleaseOut, RuleFailureOut

app = typer.Typer(help="Jobs over your artefacts (owner role).", no_args_is_help=True)

TeeName = Literal["snp", "tdx", "simulated"]


def _line(job: JobOut) -> str:
    node = job.node_id or "-"
    code = f"  ({job.failure_code})" if job.failure_code else ""
    return f"{job.id}  {job.state:<9} node={node}  {job.created_at:%Y-%m-%d %H:%M}{code}"


def _detail(job: JobOut) -> list[str]:
    lines = [_line(job), f"manifest sha256={job.manifest_digest}"]
    lines += [f"  {i.kind:<7} {i.artefact_id} v{i.version}  sha256={i.ciphertext_digest}" for i in job.inputs]
    if job.result_digest:
        lines.append(f"result: {job.result_size:,} bytes, sha256={job.result_digest}")
    return lines


def _public_key(path: Path) -> bytes:
    text = path.read_text(encoding="ascii").strip()
    key = base64.b64decode(text, validate=True)
    if len(key) != 32:
        raise typer.BadParameter(
            f"{path} does not hold a base64 X25519 public key (ccgate keygen writes one)"
        )
    return key


@app.command("submit")
def submit(
    dataset: Annotated[
        list[str], typer.Option("--dataset", help="A dataset artefact id; repeat for several.")
    ],
    model: Annotated[str, typer.Option("--model", help="The model bundle artefact id.")],
    recipient: Annotated[
        Path, typer.Option("--recipient", exists=True, help="The result recipient's public key (KEY.pub).")
    ],
    entrypoint: Annotated[str, typer.Option("--entrypoint", help="The bundle entrypoint to run.")] = "train",
    arg: Annotated[list[str] | None, typer.Option("--arg", help="An argument; repeat in order.")] = None,
    tee: Annotated[list[str] | None, typer.Option("--tee", help="snp, tdx or simulated; repeatable.")] = None,
    gpus: Annotated[int, typer.Option("--gpus", min=0, max=64)] = 0,
    gpu_arch: Annotated[str | None, typer.Option("--gpu-arch", help="hopper or blackwell")] = None,
    max_runtime: Annotated[int, typer.Option("--max-runtime", min=1, help="Seconds.")] = 3600,
    purpose: Annotated[str, typer.Option("--purpose")] = "",
    provider: Annotated[str | None, typer.Option("--provider", help="Only this provider's nodes.")] = None,
    node: Annotated[str | None, typer.Option("--node", help="Only this node.")] = None,
    url: UrlOption = None,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """Submit a job; its manifest digest is what the runner's Evidence must bind."""
    body = JobCreate.model_validate(
        {
            "datasets": dataset,
            "model": model,
            "entrypoint": entrypoint,
            "arguments": arg or [],
            "result_recipient": base64.b64encode(_public_key(recipient)).decode("ascii"),
            "tee_types": tee or ["snp", "tdx"],
            "gpu_count": gpus,
            "gpu_arch": gpu_arch,
            "max_runtime_seconds": max_runtime,
            "purpose": purpose,
            "target_provider": provider,
            "target_node": node,
        }
    )
    with connect(url, token) as client:
        show(client.submit_job(body), as_json, _detail)


@app.command("list")
def list_jobs(url: UrlOption = None, token: TokenOption = None, as_json: JsonOption = False) -> None:
    """Your tenant's jobs, newest first."""
    with connect(url, token) as client:
        show_many(client.list_jobs(), as_json, _line)


@app.command("show")
def show_job(
    job_id: str, url: UrlOption = None, token: TokenOption = None, as_json: JsonOption = False
) -> None:
    """One job, its pinned inputs and its result."""
    with connect(url, token) as client:
        show(client.job(job_id), as_json, _detail)


@app.command("cancel")
def cancel(
    job_id: str, url: UrlOption = None, token: TokenOption = None, as_json: JsonOption = False
) -> None:
    """Cancel a job that has not finished."""
    with connect(url, token) as client:
        show(client.cancel_job(job_id), as_json, _detail)


@app.command("result")
def result(
    job_id: str,
    key: Annotated[Path, typer.Option("--key", exists=True, help="Your result private key (ccgate keygen).")],
    out: Annotated[Path, typer.Option("--out", help="Directory to unpack the result into (0700).")],
    url: UrlOption = None,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """Download the encrypted result, open its key with yours, decrypt and unpack it."""
    with connect(url, token) as client:
        size = fetch_result(client, job_id, key, out)
    files = sorted(str(path.relative_to(out)) for path in out.rglob("*") if path.is_file())
    if as_json:
        print_json({"job": job_id, "bytes": size, "directory": str(out), "files": files})
        return
    stdout.print(f"decrypted {size:,} bytes into {out}:", markup=False)
    for name in files:
        stdout.print(f"  {name}", markup=False)


def _ledger_keys(values: list[str] | None) -> dict[str, bytes] | None:
    if not values:
        return None
    keys = {}
    for value in values:
        kid, _, encoded = value.partition("=")
        keys[kid] = base64.b64decode(encoded, validate=True)
    return keys


@app.command("verify")
def verify(
    job_id: Annotated[
        str | None, typer.Argument(help="Fetch the job's proof bundle from the gateway.")
    ] = None,
    bundle: Annotated[
        Path | None, typer.Option("--bundle", help="Verify a saved proof bundle offline.")
    ] = None,
    save: Annotated[Path | None, typer.Option("--save", help="Keep the fetched bundle in this file.")] = None,
    result_file: Annotated[
        Path | None, typer.Option("--result", help="The encrypted result to check too.")
    ] = None,
    ledger_key: Annotated[
        list[str] | None, typer.Option("--ledger-key", help="Pin the ledger key: KID=BASE64 (repeatable).")
    ] = None,
    jwks: Annotated[
        Path | None,
        typer.Option("--jwks", help="Pin the gateway's keys: a saved /.well-known/jwks.json."),
    ] = None,
    url: UrlOption = None,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """Check receipt → attested key → token → ledger entry → inclusion proof → signed tree head."""
    if (job_id is None) == (bundle is None):
        raise typer.BadParameter("give a JOB id or --bundle FILE (not both)")
    if bundle is not None:
        document = json.loads(bundle.read_text(encoding="utf-8"))
    else:
        assert job_id is not None
        with connect(url, token) as client:
            document = client.job_proof(job_id)
        if save is not None:
            save.write_text(json.dumps(document, indent=2, sort_keys=True), encoding="utf-8")
    ledger_keys = _ledger_keys(ledger_key)
    attestation_jwks: dict[str, object] | None = None
    if jwks is not None:
        try:
            pinned = PinnedKeys.from_jwks(json.loads(jwks.read_text(encoding="utf-8")))
        except ValueError as exc:
            fail("keys.invalid", f"{jwks}: {exc}")
        attestation_jwks = pinned.attestation_jwks
        ledger_keys = ledger_keys or pinned.ledger_keys or None
    report = verify_job_proof(
        document, ledger_keys=ledger_keys, attestation_jwks=attestation_jwks, result_file=result_file
    )
    if as_json:
        print_json(
            {
                "job": report.job,
                "verified": report.ok,
                "checks": [{"name": c.name, "ok": c.ok, "detail": c.detail} for c in report.checks],
            }
        )
    else:
        for check in report.checks:
            stdout.print(f"{'ok  ' if check.ok else 'FAIL'} {check.name}  {check.detail}", markup=False)
        stdout.print("verified" if report.ok else "NOT verified", markup=False)
    raise typer.Exit(0 if report.ok else 1)


def describe_failure(failure: RuleFailureOut) -> str:
    """One failed rule, readable: ``policy/rule: message (requires …; found …)``."""
    return (
        f"{failure.policy}/{failure.rule}: {failure.message} "
        f"(requires {failure.requirement}; found {failure.actual})"
    )


def releases(
    artefact_id: str, url: UrlOption = None, token: TokenOption = None, as_json: JsonOption = False
) -> None:
    """Every release decision about an artefact: who received its key, when, on what hardware."""

    def line(release: ReleaseOut) -> str:
        reasons = f"  reasons={','.join(release.reasons)}" if release.reasons else ""
        head = (
            f"{release.decided_at:%Y-%m-%d %H:%M:%S}  {release.decision:<5} job={release.job_id} "
            f"node={release.node_id} provider={release.provider_id} gpus={len(release.gpu_serials)} "
            f"policies={','.join(d[:12] for d in release.policy_digests)}{reasons}"
        )
        return "\n".join([head, *(f"    {describe_failure(f)}" for f in release.failures)])

    with connect(url, token) as client:
        show_many(client.releases(artefact_id), as_json, line)
