"""What every API error answer is (okto88.errors, docs/architecture.md): a problem+json body whose
`status` and `code` are the answer's, with a `detail` for the reader. One assertion for every test."""

from __future__ import annotations

PROBLEM = "application/problem+json"


def assert_problem(response, status: int, code: str) -> dict:
    """The body of `response`, asserted to be the problem `code` with HTTP `status`."""
    assert response.status_code == status, response.content[:500]
    assert response["Content-Type"].startswith(PROBLEM), response.content[:500]
    body = response.json()
    assert body["status"] == status and body["code"] == code and body["detail"], body
    return body
