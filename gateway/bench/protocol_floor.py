"""``ccgate bench release --floor``: the release protocol's mandatory work alone, on the gateway's own stack.

``ccgate bench release`` says how fast ccgate releases keys on this machine; this benchmark says how
fast any implementation could on the same parts, so that the two numbers, taken a minute apart, tell
how much of a release's cost is ccgate's and how much the platform's. It serves a bare FastAPI app
under uvicorn (httptools, the same worker model) on the gateway's SQLite engine (``make_engine`` and
``Database``: WAL, ``BEGIN IMMEDIATE``, durable commits), and per release does only what DESIGN §5
cannot do without:

* challenge: verify the bearer JWT (EdDSA) and read its deny-list row; store a single-use nonce and
  append one signed ledger entry, in one committed write transaction;
* attestation: verify the JWT again and read its row; validate the JSON body; spend the nonce in
  its own committed transaction; verify one P-384 ECDSA signature per piece of Evidence (the CPU
  report and each GPU's SPDM measurements) over the nonce; then in one write transaction open each of
  the job's two data keys under the X25519 KEK and seal it to the runner's key, append two decisions
  and two releases to the ledger (each entry hashed and its tree head signed), record the two
  releases and the session token; sign the attestation token and the session token (EdDSA JWTs).

The load generator does what ``bench release``'s does: a fresh X25519 and Ed25519 key pair and one
P-384 signature per piece of Evidence for every release, over one keep-alive connection per runner.

Left out, because it is ccgate's own work rather than the protocol's floor: parsing the Evidence,
certificate chains and RIMs, comparing measurements, policies, the Attestation Result and the
token's claims, the job state machine, refusal paths, access logs and metrics.
"""

import base64
import binascii
import contextlib
import hashlib
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Final

import httpx
import jwt
import nacl.public
import nacl.signing
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi import FastAPI, Header, HTTPException
from pydantic import BaseModel
from sqlalchemy import (
    Column,
    Connection,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    insert,
    select,
    update,
)

from gateway.bench.release import WARMUP, ReleaseBenchReport, RunnerConnections, time_releases
from gateway.local_gateway import free_port
from gateway.storage.database import Database, make_engine

SEED_VARIABLE: Final = "CCGATE_FLOOR_SEED"
DATABASE_VARIABLE: Final = "CCGATE_FLOOR_DATABASE"
DATA_KEYS: Final = 2

_METADATA = MetaData()
_TOKENS = Table(
    "floor_tokens", _METADATA, Column("jti", String(64), primary_key=True), Column("revoked", Integer)
)
_NONCES = Table(
    "floor_nonces", _METADATA, Column("nonce", String(64), primary_key=True), Column("spent", Integer)
)
_KEYS = Table(
    "floor_keys", _METADATA, Column("id", String(16), primary_key=True), Column("sealed", LargeBinary)
)
_RELEASES = Table(
    "floor_releases", _METADATA, Column("id", String(32), primary_key=True), Column("nonce", String(64))
)
_LEDGER = Table(
    "floor_ledger",
    _METADATA,
    Column("idx", Integer, primary_key=True),
    Column("entry", Text),
    Column("tree_head", LargeBinary),
)
_LEDGER_STATE = Table(
    "floor_ledger_state",
    _METADATA,
    Column("id", Integer, primary_key=True),
    Column("size", Integer),
    Column("root", LargeBinary),
)


class FloorKeys:
    """Every key of the benchmark, derived from one seed so the app and the load generator agree."""

    def __init__(self, seed: bytes) -> None:
        def derived(label: bytes) -> bytes:
            return hashlib.sha256(seed + label).digest()

        self.device = ec.derive_private_key(int.from_bytes(derived(b"device"), "big"), ec.SECP384R1())
        self.tokens = Ed25519PrivateKey.from_private_bytes(derived(b"tokens"))
        self.ledger = Ed25519PrivateKey.from_private_bytes(derived(b"ledger"))
        self.kek = nacl.public.PrivateKey(derived(b"kek"))
        self.node_token = jwt.encode({"jti": "node", "sub": "node"}, self.tokens, algorithm="EdDSA")


class Attestation(BaseModel):
    """The attestation request: the nonce, the runner's public keys and one signature per Evidence."""

    nonce: str
    x25519: str
    ed25519: str
    signatures: list[str]


def _append(connection: Connection, keys: FloorKeys, entries: list[dict[str, str]]) -> None:
    """Append entries: each hashed into the running root and its tree head signed, as the ledger does."""
    state = connection.execute(select(_LEDGER_STATE.c.size, _LEDGER_STATE.c.root)).one()
    size, root = int(state.size), bytes(state.root)
    rows = []
    for entry in entries:
        document = json.dumps(entry, sort_keys=True, separators=(",", ":"))
        root = hashlib.sha256(root + hashlib.sha256(document.encode()).digest()).digest()
        size += 1
        rows.append(
            {"idx": size, "entry": document, "tree_head": keys.ledger.sign(size.to_bytes(8, "big") + root)}
        )
    connection.execute(insert(_LEDGER), rows)
    connection.execute(update(_LEDGER_STATE).values(size=size, root=root))


def create_floor_app() -> FastAPI:
    """The bare app, a uvicorn factory: keys from the seed variable, SQLite at the database variable."""
    keys = FloorKeys(bytes.fromhex(os.environ[SEED_VARIABLE]))
    database = Database(make_engine(f"sqlite:///{os.environ[DATABASE_VARIABLE]}"))
    app = FastAPI()

    # Derived once, as the gateway's vault does: the floor must not pay what ccgate no longer pays.
    token_key, device = keys.tokens.public_key(), keys.device.public_key()

    def authenticate(authorization: str) -> None:
        scheme, _, token = authorization.partition(" ")
        try:
            claims = jwt.decode(token, token_key, algorithms=["EdDSA"])
        except jwt.PyJWTError as exc:
            raise HTTPException(401) from exc
        # The same bare read-only connection the gateway looks its tokens up on.
        with database.read_connection() as connection:
            revoked = connection.execute(
                select(_TOKENS.c.revoked).where(_TOKENS.c.jti == claims["jti"])
            ).scalar()
        if scheme != "Bearer" or revoked != 0:
            raise HTTPException(401)

    @app.get("/ready")
    def ready() -> dict[str, bool]:
        return {"ready": True}

    @app.post("/challenge")
    def challenge(authorization: Annotated[str, Header()]) -> dict[str, str]:
        authenticate(authorization)
        nonce = secrets.token_hex(32)
        with database.transaction() as session:
            connection = session.connection()
            connection.execute(insert(_NONCES), {"nonce": nonce, "spent": 0})
            _append(
                connection,
                keys,
                [{"kind": "challenge.issued", "nonce_digest": hashlib.sha256(nonce.encode()).hexdigest()}],
            )
        return {"nonce": nonce}

    @app.post("/attestation")
    def attest(body: Attestation, authorization: Annotated[str, Header()]) -> dict[str, object]:
        authenticate(authorization)
        with database.transaction() as session:
            spent = session.connection().execute(
                update(_NONCES).where(_NONCES.c.nonce == body.nonce, _NONCES.c.spent == 0).values(spent=1)
            )
        if spent.rowcount != 1:
            raise HTTPException(409)
        bound = bytes.fromhex(body.nonce)
        try:
            for signature in body.signatures:
                device.verify(base64.b64decode(signature), bound, ec.ECDSA(hashes.SHA384()))
        except (InvalidSignature, binascii.Error) as exc:
            raise HTTPException(422) from exc
        runner = nacl.public.SealedBox(nacl.public.PublicKey(base64.b64decode(body.x25519)))
        kek = nacl.public.SealedBox(keys.kek)
        session_jti = secrets.token_hex(16)
        with database.transaction() as session:
            connection = session.connection()
            stored = connection.execute(select(_KEYS.c.id, _KEYS.c.sealed).order_by(_KEYS.c.id)).all()
            sealed = {
                row.id: base64.b64encode(runner.encrypt(kek.decrypt(row.sealed))).decode() for row in stored
            }
            entries = [{"kind": "release.decided", "artefact": row.id, "decision": "allow"} for row in stored]
            entries += [{"kind": "key.released", "artefact": row.id, "to": body.x25519} for row in stored]
            _append(connection, keys, entries)
            connection.execute(
                insert(_RELEASES), [{"id": secrets.token_hex(16), "nonce": body.nonce} for _ in stored]
            )
            connection.execute(insert(_TOKENS), {"jti": session_jti, "revoked": 0})
        token = jwt.encode(
            {"nonce": body.nonce, "ed25519": body.ed25519, "gpus": len(body.signatures) - 1},
            keys.tokens,
            algorithm="EdDSA",
        )
        session_token = jwt.encode({"jti": session_jti, "sub": "session"}, keys.tokens, algorithm="EdDSA")
        return {"sealed_keys": sealed, "attestation_token": token, "session_token": session_token}

    return app


def prepare_database(database_path: Path, keys: FloorKeys) -> None:
    """Create the floor's tables: the ledger state, the node's token row, the job's sealed data keys."""
    database = Database(make_engine(f"sqlite:///{database_path}"))
    _METADATA.create_all(database.engine)
    with database.transaction() as session:
        connection = session.connection()
        connection.execute(insert(_LEDGER_STATE), {"id": 1, "size": 0, "root": bytes(32)})
        connection.execute(insert(_TOKENS), {"jti": "node", "revoked": 0})
        to_kek = nacl.public.SealedBox(keys.kek.public_key)
        connection.execute(
            insert(_KEYS),
            [{"id": f"key-{i}", "sealed": to_kek.encrypt(os.urandom(32))} for i in range(DATA_KEYS)],
        )
    database.dispose()


@contextlib.contextmanager
def _serving(work: Path, seed: bytes, workers: int) -> Iterator[tuple[str, int]]:
    port = free_port()
    env = {**os.environ, SEED_VARIABLE: seed.hex(), DATABASE_VARIABLE: str(work / "floor.db")}
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        f"{__name__}:create_floor_app",
        "--factory",
        "--host",
        "127.0.0.1",
    ]
    command += [
        "--port",
        str(port),
        "--http",
        "httptools",
        "--workers",
        str(workers),
        "--log-level",
        "warning",
    ]
    with (work / "floor.log").open("wb") as log:
        process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the floor app did not start; see {work / 'floor.log'}")
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"{url}/ready", timeout=1).status_code == 200:
                    break
            time.sleep(0.1)
        yield url, process.pid
    finally:
        process.terminate()
        process.wait(timeout=30)


def _release(client: RunnerConnections, keys: FloorKeys, evidence: int) -> tuple[float, float, bool]:
    started = time.perf_counter()
    status, content = client.post("/challenge")
    if status != 200:
        return time.perf_counter() - started, 0.0, False
    nonce = json.loads(content)["nonce"]
    sealing, signing = nacl.public.PrivateKey.generate(), nacl.signing.SigningKey.generate()
    bound = bytes.fromhex(nonce)
    signatures = [
        base64.b64encode(keys.device.sign(bound, ec.ECDSA(hashes.SHA384()))).decode() for _ in range(evidence)
    ]
    body = Attestation(
        nonce=nonce,
        x25519=base64.b64encode(bytes(sealing.public_key)).decode(),
        ed25519=base64.b64encode(bytes(signing.verify_key)).decode(),
        signatures=signatures,
    ).model_dump_json()
    attest_started = time.perf_counter()
    status, _ = client.post("/attestation", body.encode())
    finished = time.perf_counter()
    return finished - started, finished - attest_started, status == 200


def run_floor_bench(
    releases: int = 300, *, gpus: int = 8, concurrency: int = 4, workers: int = 1
) -> ReleaseBenchReport:
    """Serve the bare app, run the releases through it and return the same report as ``bench release``.

    Raises:
        RuntimeError: the app did not start or an attestation was refused.
    """
    report = ReleaseBenchReport(releases, gpus, concurrency, workers=workers)
    seed = os.urandom(32)
    keys = FloorKeys(seed)
    with tempfile.TemporaryDirectory(prefix="ccgate-bench-floor-") as scratch:
        work = Path(scratch)
        prepare_database(work / "floor.db", keys)
        with _serving(work, seed, workers) as (url, pid):
            client = RunnerConnections(url, keys.node_token)
            try:
                subjects = range(WARMUP + releases)
                time_releases(report, pid, lambda _: _release(client, keys, gpus + 1), subjects)
            finally:
                client.close()
        database = Database(make_engine(f"sqlite:///{work / 'floor.db'}"))
        with database.read() as session:
            report.ledger_entries = int(
                session.connection().execute(select(_LEDGER_STATE.c.size)).scalar_one()
            )
        database.dispose()
    if report.refused:
        raise RuntimeError(
            f"{report.refused} of {releases} floor releases were refused; the benchmark is void"
        )
    return report


__all__ = ["FloorKeys", "create_floor_app", "prepare_database", "run_floor_bench"]
