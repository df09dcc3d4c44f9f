"""Fail-fast configuration: production refuses insecure conveniences; the vault refuses lax modes."""

import os
import warnings
from pathlib import Path

import pytest

from gateway.app import create_app
from gateway.errors import ConfigurationError, KeyFileError, KeyFilePermissionsError
from gateway.keyvault import FileKeyVault
from gateway.settings import Mode, Settings


@pytest.mark.parametrize(
    "changes",
    [
        pytest.param({"allow_simulated_tee": True}, id="simulated TEE"),
        pytest.param(
            {"database_url": "postgresql+psycopg://ccgate:changeme@db/ccgate"}, id="placeholder password"
        ),
        pytest.param({"database_url": "postgresql+psycopg://ccgate:@db/ccgate"}, id="empty password"),
    ],
)
def test_production_refuses_insecure_settings(tmp_path: Path, changes: dict[str, object]) -> None:
    settings = Settings(mode=Mode.PRODUCTION, data_dir=tmp_path, **changes)  # type: ignore[arg-type]  # each case overrides different settings fields
    with pytest.raises(ConfigurationError):
        create_app(settings)


def test_production_accepts_a_sound_configuration(tmp_path: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        create_app(Settings(mode=Mode.PRODUCTION, data_dir=tmp_path))


def test_development_warns_when_the_simulated_tee_is_enabled(tmp_path: Path) -> None:
    with pytest.warns(UserWarning, match="simulated TEE"):
        Settings(data_dir=tmp_path, allow_simulated_tee=True).check()


def test_settings_come_from_ccgate_variables(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CCGATE_MODE", "production")
    monkeypatch.setenv("CCGATE_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("CCGATE_MAX_UPLOAD_BYTES", "1000")
    settings = Settings()
    assert settings.mode is Mode.PRODUCTION
    assert settings.max_upload_bytes == 1000
    assert settings.sqlalchemy_url == f"sqlite:///{tmp_path.resolve()}/ccgate.db"


def test_keys_are_generated_once_with_mode_0600(tmp_path: Path) -> None:
    vault = FileKeyVault(tmp_path / "keys")
    kek = vault.create_kek()
    files = [p for p in (tmp_path / "keys").rglob("*") if p.is_file()]
    assert len(files) == 4
    assert all(p.stat().st_mode & 0o777 == 0o600 for p in files)
    assert (tmp_path / "keys").stat().st_mode & 0o777 == 0o700
    again = FileKeyVault(tmp_path / "keys")
    assert again.ledger_public_key == vault.ledger_public_key
    assert again.kek_public(kek) == vault.kek_public(kek)


def test_a_key_file_readable_by_others_is_refused(tmp_path: Path) -> None:
    FileKeyVault(tmp_path / "keys")
    os.chmod(tmp_path / "keys" / "ledger.ed25519", 0o644)
    with pytest.raises(KeyFilePermissionsError):
        FileKeyVault(tmp_path / "keys")
    with pytest.raises(KeyFilePermissionsError):
        create_app(Settings(mode=Mode.PRODUCTION, data_dir=tmp_path))


def test_a_key_directory_open_to_others_is_refused(tmp_path: Path) -> None:
    (tmp_path / "keys").mkdir(mode=0o755)
    os.chmod(tmp_path / "keys", 0o755)
    with pytest.raises(KeyFileError):
        FileKeyVault(tmp_path / "keys")


def test_a_kek_id_cannot_name_a_path(tmp_path: Path) -> None:
    vault = FileKeyVault(tmp_path / "keys")
    with pytest.raises(KeyFileError):
        vault.kek_public("kek_../../ledger")
