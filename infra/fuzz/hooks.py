"""Schemathesis hooks for `make test`'s API fuzzing (tests/e2e/api_fuzz.rs runs it).

Every generated request carries the bearer token of the role its route is for, so the fuzzer
reaches the handlers' validation and logic instead of stopping at 401/403. The tokens come from
the test, in AZORA_FUZZ_TOKENS (a JSON object: role -> token).
"""
import json
import os
import re
import uuid

import schemathesis

TOKENS = json.loads(os.environ.get("AZORA_FUZZ_TOKENS", "{}"))

# First match wins: (route pattern, method or None for any, role or None for no token).
ROLES = [
    (r"/api/webhooks/", None, None),
    (r"/api/admin/", None, "admin"),
    (r"/api/tokens/award$", None, "admin"),
    (r"/api/enterprise/licenses/create$", None, "admin"),
    (r"/api/enterprise/licenses/\{licenseId\}/(suspend|reinstate|revoke|renew)$", None, "admin"),
    (r"/api/enterprise/", None, "enterprise"),
    (r"/api/instructors/", None, "instructor"),
    (r"/api/classes$", "POST", "instructor"),
    (r"/api/courses(/upload)?$", "POST", "instructor"),
    (r"/api/courses/\{courseId\}$", "DELETE", "instructor"),
    (r"/api/courses/\{courseId\}/status$", None, "instructor"),
]


def role_for(path, method):
    for pattern, wanted, role in ROLES:
        if re.match(pattern, path) and (wanted is None or wanted == method):
            return role
    return "student"


@schemathesis.hook
def before_call(ctx, case, **kwargs):
    role = role_for(case.operation.path, case.method.upper())
    token = TOKENS.get(role) if role else None
    headers = dict(case.headers or {})
    # A generated Authorization header is replaced: the fuzzer tests our handlers, not JWT parsing
    # (the parser properties in `make test` do that).
    headers.pop("Authorization", None)
    if token:
        headers["Authorization"] = f"Bearer {token}"
    # A manual award needs an Idempotency-Key and a completion does not; OpenAPI cannot tie a
    # header to a body field, so the document says it in words and this sends one always.
    if case.operation.path == "/api/tokens/award" and "Idempotency-Key" not in headers:
        headers["Idempotency-Key"] = f"fuzz-{uuid.uuid4().hex}"
    case.headers = headers
    # Cursors are opaque values the server issued (an unknown one is 400 `invalid_cursor`, as
    # documented); a fuzzer cannot invent one, so generated requests start at the first page.
    if case.query:
        case.query = {k: v for k, v in case.query.items() if k not in ("cursor", "startingAfter")}
