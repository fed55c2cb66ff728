"""Helpers for the ``/engine-rest`` tests: tokens, auth headers, and Camunda Modeler's upload."""

from __future__ import annotations

import base64
import contextlib
from pathlib import Path
from typing import Any

from orchestrator.access import add_agency, create_token
from orchestrator.errors import Conflict

from .conftest import CORPUS, REPO

BIRTH = REPO / "processes" / "birth-registration.bpmn"
EXAMPLES = CORPUS / "camunda-examples"
ORDER = EXAMPLES / "clients__java__order-handling__order-handling.bpmn"
SYNCHRONOUS = EXAMPLES / "servicetask__service-invocation-synchronous__synchronousServiceInvocation.bpmn"
MESSAGE_START = EXAMPLES / "startevent__message-start__message_start_process.bpmn"
# Chromium's FormData boundary, as Camunda Modeler (Electron) sends it.
BOUNDARY = "----WebKitFormBoundaryq3KcFZ1W9yT6mDxA"


def token(runtime: Any, *scopes: str, agency: str | None = None) -> str:
    if agency is not None:
        with contextlib.suppress(Conflict):  # already added by an earlier call in this test
            add_agency(runtime.db, agency, agency)
    return create_token(runtime.db, name=f"test-{'-'.join(scopes)}", scopes=list(scopes), agency=agency)[1]


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def basic(secret: str, user: str = "any-user") -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{secret}".encode()).decode()}


def modeler_body(
    files: list[tuple[str, bytes]],
    *,
    fields: list[tuple[str, str]] | None = None,
    file_type: str = "application/octet-stream",
) -> bytes:
    """The multipart body byte for byte: the form fields, then one part per file."""
    if fields is None:
        fields = [
            ("deployment-name", "diagram_1"),
            ("deployment-source", "Camunda Modeler"),
            ("enable-duplicate-filtering", "true"),
        ]
    body = b""
    for name, value in fields:
        body += (f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n').encode()
    for filename, content in files:
        disposition = f'form-data; name="{filename}"; filename="{filename}"'
        head = f"--{BOUNDARY}\r\nContent-Disposition: {disposition}\r\nContent-Type: {file_type}\r\n\r\n"
        body += head.encode() + content + b"\r\n"
    return body + f"--{BOUNDARY}--\r\n".encode()


def deploy(client: Any, headers: dict[str, str], files: list[Path | tuple[str, bytes]], **kwargs: Any) -> Any:
    """POST /deployment/create as Camunda Modeler does."""
    parts = [(f.name, f.read_bytes()) if isinstance(f, Path) else f for f in files]
    return client.post(
        "/engine-rest/deployment/create",
        data=modeler_body(parts, **kwargs),
        content_type=f"multipart/form-data; boundary={BOUNDARY}",
        headers=headers,
    )


class FlaskRequests:
    """Stands in for ``requests`` inside the Camunda Python client: its calls go to the test app."""

    def __init__(self, client: Any) -> None:
        self.client = client

    @staticmethod
    def _path(url: str) -> str:
        return url.removeprefix("http://localhost:8080")

    def post(self, url: str, headers: dict[str, str], json: Any = None) -> Any:
        return _Answer(self.client.post(self._path(url), json=json, headers=headers))

    def get(self, url: str, headers: dict[str, str], params: dict[str, Any] | None = None) -> Any:
        return _Answer(self.client.get(self._path(url), query_string=params, headers=headers))


class _Answer:
    """The part of ``requests.Response`` the client reads."""

    def __init__(self, response: Any) -> None:
        self.status_code = response.status_code
        self.ok = response.status_code < 400
        self._response = response

    def json(self) -> Any:
        return self._response.get_json()
