"""Where the suite finds WapiKit's spec, and what happens when it cannot: a visible skip on a
workstation, a failure on CI (`CI=true`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from . import conftest as contract_conftest

pytestmark = pytest.mark.contract


@pytest.fixture
def no_spec_anywhere(monkeypatch, tmp_path):
    monkeypatch.setenv("WAPIKIT_SPEC", str(tmp_path / "missing.yaml"))
    monkeypatch.setattr(contract_conftest, "DEFAULT_SPEC", tmp_path / "also-missing.yaml")


def test_default_location_is_next_to_the_repo():
    repo = Path(contract_conftest.__file__).resolve().parents[2]
    assert contract_conftest.DEFAULT_SPEC == repo.parent / "shared/wapikit/openapi.yaml"


def test_env_var_wins(monkeypatch, tmp_path):
    spec = tmp_path / "spec.yaml"
    spec.write_text("openapi: 3.0.0\n")
    monkeypatch.setenv("WAPIKIT_SPEC", str(spec))
    assert contract_conftest.spec_path() == spec


def test_missing_spec_skips_with_a_reason(no_spec_anywhere, monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="WAPIKIT_SPEC"):
        contract_conftest.load_spec()


def test_missing_spec_fails_on_ci(no_spec_anywhere, monkeypatch):
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="cannot run on CI"):
        contract_conftest.load_spec()
