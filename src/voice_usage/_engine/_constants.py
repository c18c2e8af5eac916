"""Named defaults of the HTTP layer, in one place."""

import httpx

DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=10.0)
"""Per socket operation: 10 s to connect, 30 s for any read or write."""

DEFAULT_REQUEST_DEADLINE = 120.0
"""Seconds one request may take from send to the last byte, however slowly the body drips."""

DEFAULT_MAX_CONNECTIONS = 8
"""Connections per provider account in the async path."""

DEFAULT_PAGE_CONCURRENCY = 8
"""Offset pages fetched at once after the first page told the total."""

MAX_RESPONSE_BYTES = 32 * 1024 * 1024
"""Bytes one response body may hold (32 MiB): a page of the largest documented size is under
1 MiB, and a server sending more is refused before it fills memory (and is not asked again)."""
