"""The recorder itself: proof that a spec violation on either side of an exchange is caught and
reported, so a green suite means the traffic conforms, not that nothing was checked."""

from __future__ import annotations

import copy

import pytest

from .conftest import ContractRecorder, build_openapi, make_client

pytestmark = pytest.mark.contract


def test_a_response_violation_is_reported(wapikit, wapikit_spec_dict):
    stricter = copy.deepcopy(wapikit_spec_dict)
    stricter["components"]["schemas"]["ConversationSchema"]["required"].append("canaryField")
    recorder = ContractRecorder(build_openapi(stricter, wapikit.base_url))
    make_client(wapikit, recorder).list_conversations(per_page=2)
    with pytest.raises(AssertionError) as failure:
        recorder.assert_clean()
    report = str(failure.value)
    assert "1 of 1 exchange(s)" in report
    assert "GET http://127.0.0.1:" in report and "/api/conversations?page=1&per_page=2" in report
    assert "at conversations/0: 'canaryField' is a required property" in report


def test_a_request_violation_is_reported(wapikit, contract):
    contract.session().get(
        f"{wapikit.base_url}/conversations",
        params={"page": 1, "per_page": 5, "order": "sideways"},
        headers={"x-access-token": wapikit.api_key},
        timeout=5,
    )
    [exchange] = contract.failures()
    assert any(v.startswith("request: InvalidParameter") and "'sideways' is not one of" in v for v in exchange.violations)
    contract.checked = True  # the violation is this test's point


def test_an_undocumented_path_is_reported(wapikit, contract):
    contract.session().get(
        f"{wapikit.root_url}/_sandbox/control", headers={"x-access-token": wapikit.api_key}, timeout=5
    )
    [exchange] = contract.failures()
    assert any("PathNotFound" in v for v in exchange.violations)
    contract.checked = True
