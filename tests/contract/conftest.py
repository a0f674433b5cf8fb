"""Contract fixtures: WapiKit's own OpenAPI spec, loaded once, and a recorder that validates
every request the dashboard's client sends and every answer the sandbox gives.

The recorder hooks a `requests.Session` (`session.hooks["response"]`), so what is checked is
exactly what went over the wire: the PreparedRequest (URL, query string, headers, JSON body)
and the raw response bytes. Failures are collected, not raised inside the hook (the client
must behave as it would in production), and each test ends with `contract.assert_clean()`."""

from __future__ import annotations

import copy
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
import yaml

from dashboard.wapikit.client import WapiKitClient

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_SPEC = REPO_ROOT.parent / "shared" / "wapikit" / "openapi.yaml"


def spec_path() -> Path | None:
    """`WAPIKIT_SPEC` if set, else `<repo>/../shared/wapikit/openapi.yaml`; None if missing."""
    configured = os.environ.get("WAPIKIT_SPEC")
    candidates = [Path(configured)] if configured else []
    candidates.append(DEFAULT_SPEC)
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    return None


def spec_missing(what: str) -> None:
    """Skip with a visible reason, except on CI (`CI=true`), where a missing spec is a failure:
    a contract suite that silently skips there would prove nothing."""
    reason = (
        f"{what} not found: set WAPIKIT_SPEC or provide {DEFAULT_SPEC} "
        f"(WAPIKIT_SPEC={os.environ.get('WAPIKIT_SPEC')!r})"
    )
    if os.environ.get("CI") == "true":
        pytest.fail(f"contract tests cannot run on CI: {reason}", pytrace=False)
    pytest.skip(reason)


def load_spec() -> dict[str, Any]:
    path = spec_path()
    if path is None:
        spec_missing("WapiKit OpenAPI spec")
    with path.open(encoding="utf-8") as handle:
        return yaml.safe_load(handle)


@pytest.fixture(scope="session")
def wapikit_spec_dict() -> dict[str, Any]:
    """The spec as a plain dict (the file itself is read-only and never changed)."""
    return load_spec()


def build_openapi(spec: dict[str, Any], base_url: str):
    """An openapi-core app for the spec, served at `base_url`.

    The spec declares a single server, https://api.wapikit.com/api; the sandbox is at
    http://127.0.0.1:<port>/api. Only the in-memory copy's `servers` is replaced, so path
    matching (`/api` prefix stripped, then `/conversations`, `/conversation/{id}`, ...) works
    exactly as it would against the real host. Nothing else in the spec is touched here."""
    from openapi_core import Config, OpenAPI

    data = copy.deepcopy(spec)
    data["servers"] = [{"url": base_url.rstrip("/"), "description": "embedded WapiKit sandbox"}]
    # The spec's media `link`s are `format: uri`, a format openapi-schema-validator only checks
    # when the optional rfc3987 package is installed (it is not here), silently passing any
    # string. Checking it ourselves makes the format mean what the spec says.
    return OpenAPI.from_dict(data, config=Config(extra_format_validators={"uri": is_absolute_uri}))


def is_absolute_uri(value: Any) -> bool:
    """RFC 3986 absolute URI: a scheme, and for http(s) a host; no whitespace."""
    if not isinstance(value, str) or not value or any(ch.isspace() for ch in value):
        return False
    parts = urlsplit(value)
    if not parts.scheme or not parts.scheme[0].isalpha():
        return False
    return bool(parts.netloc) if parts.scheme in ("http", "https") else bool(parts.path or parts.netloc)


@pytest.fixture(scope="session")
def openapi(wapikit_spec_dict, sandbox):
    return build_openapi(wapikit_spec_dict, sandbox.base_url)


MAX_SCHEMA_ERRORS = 12


def describe_error(error: BaseException) -> str:
    """One readable block for an openapi-core error, down to each JSON-schema failure."""
    lines = [f"{type(error).__name__}: {error}"[:160]]
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        schema_errors = list(getattr(current, "schema_errors", None) or ())
        for schema_error in schema_errors[:MAX_SCHEMA_ERRORS]:
            lines.extend(_describe_schema_error(schema_error, indent="    "))
        if len(schema_errors) > MAX_SCHEMA_ERRORS:
            lines.append(f"    ... and {len(schema_errors) - MAX_SCHEMA_ERRORS} more schema error(s)")
        current = current.__cause__ or current.__context__
        if current is not None and not getattr(current, "schema_errors", None):
            lines.append(f"  caused by {type(current).__name__}: {str(current)[:300]}")
    return "\n".join(lines)


def _describe_schema_error(error: Any, indent: str) -> list[str]:
    path = "/".join(str(p) for p in getattr(error, "absolute_path", ())) or "<root>"
    schema_path = "/".join(str(p) for p in getattr(error, "absolute_schema_path", ()))
    message = getattr(error, "message", str(error))
    lines = [f"{indent}at {path}: {message[:300]}  [schema: {schema_path}]"]
    for sub in sorted(getattr(error, "context", None) or (), key=lambda e: list(map(str, e.absolute_schema_path)))[:8]:
        lines.extend(_describe_schema_error(sub, indent + "    "))
    return lines


@dataclass
class Exchange:
    method: str
    url: str
    status: int
    request_body: bytes | None
    response_body: bytes
    violations: list[str] = field(default_factory=list)

    def headline(self) -> str:
        return f"{self.method} {self.url} -> {self.status}"


class ContractRecorder:
    """Validates each exchange of the hooked sessions against the spec and keeps the results."""

    def __init__(self, app) -> None:
        self.app = app
        self.exchanges: list[Exchange] = []
        self.checked = False

    def hook(self, session: requests.Session) -> requests.Session:
        session.hooks.setdefault("response", []).append(self._on_response)
        return session

    def session(self) -> requests.Session:
        """A fresh hooked session, for calls the client refuses to make (e.g. per_page=51)."""
        return self.hook(requests.Session())

    def _on_response(self, response: requests.Response, *args: Any, **kwargs: Any) -> requests.Response:
        from openapi_core.contrib.requests import RequestsOpenAPIRequest, RequestsOpenAPIResponse

        prepared = response.request
        body = prepared.body.encode() if isinstance(prepared.body, str) else prepared.body
        exchange = Exchange(prepared.method or "", prepared.url or "", response.status_code, body, response.content)
        try:
            openapi_request = RequestsOpenAPIRequest(prepared)
            for error in self.app.iter_request_errors(openapi_request):
                exchange.violations.append("request: " + describe_error(error))
            openapi_response = RequestsOpenAPIResponse(response)
            for error in self.app.iter_response_errors(openapi_request, openapi_response):
                exchange.violations.append("response: " + describe_error(error))
        except Exception as exc:  # a crash in validation is a failure too, never a silent pass
            exchange.violations.append(f"validator crashed: {type(exc).__name__}: {exc}")
        self.exchanges.append(exchange)
        return response

    # Results

    def statuses(self) -> list[int]:
        return [e.status for e in self.exchanges]

    def failures(self) -> list[Exchange]:
        return [e for e in self.exchanges if e.violations]

    def report(self, limit: int = 15) -> str:
        blocks = []
        failures = self.failures()
        for exchange in failures[:limit]:
            blocks.append(exchange.headline())
            if exchange.request_body:
                blocks.append(f"  request body: {exchange.request_body[:300]!r}")
            blocks.append(f"  response body: {_excerpt(exchange.response_body)}")
            blocks.extend("  " + v.replace("\n", "\n  ") for v in exchange.violations)
        if len(failures) > limit:
            blocks.append(f"... and {len(failures) - limit} more failing exchange(s)")
        return "\n".join(blocks)

    def assert_clean(self, *, min_exchanges: int = 1) -> None:
        self.checked = True
        assert len(self.exchanges) >= min_exchanges, (
            f"expected at least {min_exchanges} validated exchange(s), saw {len(self.exchanges)}: "
            "the session hook did not fire"
        )
        failures = self.failures()
        assert not failures, (
            f"{len(failures)} of {len(self.exchanges)} exchange(s) break WapiKit's OpenAPI spec:\n" + self.report()
        )


def _excerpt(content: bytes, limit: int = 400) -> str:
    try:
        text = json.dumps(json.loads(content), ensure_ascii=False)
    except ValueError:
        text = content.decode("utf-8", "replace")
    return text if len(text) <= limit else text[:limit] + f"... ({len(text)} chars)"


@pytest.fixture
def contract(openapi, request) -> ContractRecorder:
    recorder = ContractRecorder(openapi)
    yield recorder
    # Guard against a test that forgets its final check while violations were recorded.
    if recorder.failures() and not recorder.checked:
        pytest.fail(f"{request.node.name} never called contract.assert_clean():\n{recorder.report()}")


def make_client(sandbox, recorder: ContractRecorder, *, api_key: str | None = None) -> WapiKitClient:
    client = WapiKitClient(
        base_url=sandbox.base_url, api_key=sandbox.api_key if api_key is None else api_key, get_retries=0
    )
    recorder.hook(client.session)
    return client


@pytest.fixture
def contract_client(contract, wapikit) -> WapiKitClient:
    """The dashboard's client against the seeded sandbox, every exchange validated."""
    return make_client(wapikit, contract)


@pytest.fixture
def fresh_contract_client(contract, fresh_wapikit) -> WapiKitClient:
    """As `contract_client`, on a freshly re-seeded sandbox, for tests that change data."""
    return make_client(fresh_wapikit, contract)
