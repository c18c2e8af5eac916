"""The emulator's fault hooks, on their own: which requests a fault hits, and what it sends."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import pytest

from voice_usage.emulator import (
    Emulator,
    EmulatorRequest,
    EmulatorResponse,
    EmulatorServer,
    Fault,
    json_response,
)

KEY = "vu-test-key-5f0c2d9e8a7b4c3d"
AUTH = {"Authorization": f"Bearer {KEY}"}


class Echo(Emulator):
    """Answers every path with its path and query."""

    def handle(self, request: EmulatorRequest) -> EmulatorResponse:
        return json_response({"path": request.path, "query": dict(request.query)})


@pytest.fixture
def server():
    with EmulatorServer(Echo(KEY)) as running:
        yield running


def get(server: EmulatorServer, path: str, **params: str) -> httpx.Response:
    return httpx.get(f"{server.base_url}{path}", params=params, headers=AUTH, timeout=5)


def test_a_fault_aimed_at_a_query_value_hits_only_those_requests(server):
    server.faults.add(Fault(status=503, query={"offset": "25"}), times=None)
    assert get(server, "/usage", offset="0").status_code == 200
    assert get(server, "/usage", offset="25").status_code == 503
    assert get(server, "/usage", offset="50").status_code == 200
    assert get(server, "/usage", offset="25", limit="25").status_code == 503
    assert get(server, "/usage").status_code == 200


def test_after_lets_the_first_matching_requests_through(server):
    server.faults.add(Fault(status=500, path="/usage", after=2), times=1)
    statuses = [get(server, "/usage").status_code for _ in range(4)]
    assert statuses == [200, 200, 500, 200]
    assert get(server, "/other").status_code == 200
    assert server.faults.pending == 0


def test_a_fault_forever_stays_scripted_until_cleared(server):
    server.faults.add(Fault(status=429, headers={"Retry-After": "1"}), times=None)
    responses = [get(server, "/x") for _ in range(3)]
    assert [r.status_code for r in responses] == [429, 429, 429]
    assert responses[0].headers["retry-after"] == "1"
    assert server.faults.pending == 1
    server.faults.clear()
    assert get(server, "/x").status_code == 200


def test_rewrite_changes_the_real_answer(server):
    def drop_query(body: Any, request: EmulatorRequest) -> Any:
        del body["query"]
        body["seen"] = request.param("page")
        return body

    server.faults.add(Fault(action="rewrite", rewrite=drop_query))
    assert get(server, "/usage", page="2").json() == {"path": "/usage", "seen": "2"}
    assert get(server, "/usage", page="2").json() == {"path": "/usage", "query": {"page": ["2"]}}


def test_rewrite_may_return_bytes_verbatim(server):
    server.faults.add(Fault(action="rewrite", rewrite=lambda body, request: b'{"cut": '))
    response = get(server, "/usage")
    assert response.status_code == 200 and response.content == b'{"cut": '


def test_rewrite_leaves_an_error_answer_alone(server):
    server.faults.add(Fault(action="rewrite", rewrite=lambda body, request: {"ok": True}))
    response = httpx.get(f"{server.base_url}/usage", timeout=5)  # no key: 401
    assert response.status_code == 401
    assert "Invalid or missing API key" in response.text


def test_drip_sends_the_real_answer_one_byte_at_a_time(server):
    server.faults.add(Fault(action="drip", delay=0.001))
    with httpx.stream("GET", f"{server.base_url}/usage", headers=AUTH, timeout=5) as response:
        chunks = list(response.iter_raw())
    body = b"".join(chunks)
    assert json.loads(body) == {"path": "/usage", "query": {}}
    assert len(chunks) > 1


@pytest.mark.real_time("a real read timeout against a server thread that really hangs")
def test_a_client_that_hangs_up_leaves_no_traceback(server, capfd):
    server.faults.add(Fault(action="hang", delay=0.1))
    with pytest.raises(httpx.ReadTimeout):
        httpx.get(f"{server.base_url}/usage", headers=AUTH, timeout=httpx.Timeout(0.02))
    server.faults.add(Fault(action="reset"))
    with pytest.raises(httpx.TransportError):
        get(server, "/usage")
    assert get(server, "/usage").status_code == 200
    time.sleep(0.15)  # let the hung handler wake up and find its client gone
    assert "Traceback" not in capfd.readouterr().err
