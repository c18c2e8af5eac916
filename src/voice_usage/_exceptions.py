"""The exception tree. Every error voice-usage raises derives from `VoiceUsageError`.

::

    VoiceUsageError
    ├── ConfigurationError            bad arguments or set-up; the CLI exits 2
    │   ├── ProviderNotFoundError     no provider by that name is installed
    │   ├── MissingCredentialsError   no API key in the arguments or the environment
    │   ├── InvalidQueryError         a date, range or granularity that is not one (a ValueError too)
    │   ├── InsecureBaseURLError      plain http:// to a host that is not loopback
    │   ├── UnsupportedQueryError     the vendor's API cannot answer this query (asked before
    │   │                             any request: a filter, option or granularity it lacks)
    │   ├── RateCardError             no rate card for that vendor, item or date; a bad card file
    │   └── MissingRateError          a currency conversion without its exchange rate
    └── ProviderError                 the provider or its API failed; the CLI exits 1
        ├── TransportError            connection refused/reset, timeout, a body cut short
        ├── APIStatusError            the API answered with an HTTP error status
        │   ├── BadRequestError           400
        │   ├── AuthenticationError       401
        │   ├── PaymentRequiredError      402 (insufficient credits)
        │   ├── PermissionDeniedError     403
        │   ├── NotFoundError             404
        │   ├── ConflictError             409
        │   ├── UnprocessableEntityError  422
        │   ├── RateLimitError            429
        │   └── ServerError               5xx
        ├── ResponseValidationError   the body did not fit the vendor's documented shape
        ├── PaginationError           a page walk that loops, stalls or exceeds its cap
        └── UnsafeRedirectError       a redirect to another origin (the key is never sent there)

`status_error` is the one place where an HTTP status becomes an exception class, and
`invalid_input` the one place where a pydantic validation error of the caller's input becomes a
`ConfigurationError`.
"""

from __future__ import annotations

import decimal
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the exception tree itself is imported by `voice-usage --version`: kept light
    from pydantic import ValidationError

__all__ = [
    "APIStatusError",
    "AuthenticationError",
    "BadRequestError",
    "ConfigurationError",
    "ConflictError",
    "InsecureBaseURLError",
    "InvalidQueryError",
    "MissingCredentialsError",
    "NotFoundError",
    "PaginationError",
    "PaymentRequiredError",
    "PermissionDeniedError",
    "ProviderError",
    "ProviderNotFoundError",
    "RateLimitError",
    "ResponseValidationError",
    "ServerError",
    "TransportError",
    "UnprocessableEntityError",
    "UnsafeRedirectError",
    "UnsupportedQueryError",
    "VoiceUsageError",
    "invalid_input",
    "status_error",
]


class VoiceUsageError(Exception):
    """Root of every error voice-usage raises."""


class ConfigurationError(VoiceUsageError):
    """Raised before any request when arguments or set-up are wrong.

    `argument` names the library argument at fault (`currency`, `fx`, `targets`...) when there
    is one, so a front end can name its own flag for it.
    """

    def __init__(self, message: str, *, argument: str | None = None) -> None:
        super().__init__(message)
        self.argument = argument


def invalid_input(exc: ValidationError) -> ConfigurationError:
    """A pydantic validation error of the caller's input, as one line: where, then what is wrong."""
    first = exc.errors()[0]
    where = ".".join(str(part) for part in first["loc"])
    message = first["msg"].removeprefix("Value error, ")
    if where and not message.startswith(where):
        message = f"{where}: {message}"
    return ConfigurationError(message)


OUT_OF_RANGE = (OverflowError, decimal.InvalidOperation)
"""What arithmetic on an absurd figure raises (a date past 9999, a number past 28 digits)."""


def out_of_range(exc: BaseException, what: str = "a figure") -> str:
    """Say that ``what`` is beyond what can be computed with."""
    detail = str(exc) if isinstance(exc, OverflowError) else "too many digits"
    return f"{what} is out of range ({type(exc).__name__}: {detail})"


class ProviderNotFoundError(ConfigurationError):
    """Raised when a provider name matches no installed provider."""


class MissingCredentialsError(ConfigurationError):
    """Raised when a provider needs an API key and none was given or found in the environment."""


class InvalidQueryError(ConfigurationError, ValueError):
    """Raised for a query whose dates, range or granularity are not valid, before any request.

    Also a `ValueError`, as a bad argument value is.
    """


class InsecureBaseURLError(ConfigurationError):
    """Raised for a plain `http://` base URL whose host is not a loopback address."""


class ProviderError(VoiceUsageError):
    """Raised when a provider or its API fails. Carries the provider name.

    The message always starts with the provider name, so one line on stderr says who failed.
    """

    def __init__(self, provider: str, message: str) -> None:
        self.provider = provider
        self.detail = message
        self.attempts = 1
        """Requests made for the failed request, retries included."""
        self.waited = 0.0
        """Seconds spent waiting between those attempts (backoff and `Retry-After`)."""
        self.endpoint: str | None = None
        """The path that failed, e.g. `/usage`, when the error came from a request."""
        self.method = "GET"
        """The HTTP method of the failed request (`POST` for a read that takes a JSON body)."""
        super().__init__(provider, message)

    def __str__(self) -> str:
        return f"{self.provider}: {self.detail}{self._tried()}"

    def _tried(self) -> str:
        """What was tried, when the request was retried: where, how often, how long."""
        if self.attempts <= 1:
            return ""
        shown = self.endpoint and self.endpoint not in self.detail
        where = f"{self.method} {self.endpoint}: " if shown else ""
        waited = f" and {self.waited:.1f} s of waiting" if self.waited else ""
        return f" ({where}gave up after {self.attempts} attempts{waited})"


class TransportError(ProviderError):
    """Raised when the network failed: connection refused or reset, a timeout, a body cut short.

    Raised only after the retry budget is spent; `attempts` says how many were made.
    """

    def __init__(self, provider: str, message: str, *, retryable: bool = True) -> None:
        super().__init__(provider, message)
        self.retryable = retryable


class APIStatusError(ProviderError):
    """Raised when the API answered with an HTTP error status.

    Attributes:
        status_code: The HTTP status.
        vendor_code: The vendor's own error code (`insufficient_credits`, `VALIDATION_ERROR`...).
        vendor_message: The vendor's human-readable message.
        request_id: The vendor's request identifier, when a response header carried one.
        retry_after: Seconds the vendor asked to wait (`Retry-After`), when it said.
        retry_after_cap: Set when `retry_after` was over the retry policy's cap, so no retry
            was made: the cap in seconds.
        attempts: How many requests were made, retries included.
        body: The decoded JSON body, or the text when it was not JSON.
    """

    def __init__(
        self,
        provider: str,
        status_code: int,
        *,
        vendor_code: str | None = None,
        vendor_message: str | None = None,
        request_id: str | None = None,
        retry_after: float | None = None,
        body: Any = None,
    ) -> None:
        self.status_code = status_code
        self.vendor_code = vendor_code
        self.vendor_message = vendor_message
        self.request_id = request_id
        self.retry_after = retry_after
        self.retry_after_cap: float | None = None
        self.body = body
        parts = [f"HTTP {status_code} {self.reason}"]
        if vendor_code:
            parts.append(f"[{vendor_code}]")
        if vendor_message:
            parts.append(vendor_message)
        if request_id:
            parts.append(f"(request id {request_id})")
        super().__init__(provider, " ".join(parts))

    reason = "error"

    def _tried(self) -> str:
        if self.retry_after_cap is not None and self.retry_after is not None:
            return (
                f" (the API asked to wait {self.retry_after:g} s, over the "
                f"{self.retry_after_cap:g} s this client waits at most; not retried)"
            )
        return super()._tried()


class BadRequestError(APIStatusError):
    """400: the vendor rejected the request."""

    reason = "bad request"


class AuthenticationError(APIStatusError):
    """401: the API key is missing, wrong, expired or revoked."""

    reason = "authentication failed (check the API key)"


class PaymentRequiredError(APIStatusError):
    """402: the account has insufficient credits or balance."""

    reason = "payment required (insufficient credits)"


class PermissionDeniedError(APIStatusError):
    """403: the key is valid but may not read this resource."""

    reason = "permission denied"


class NotFoundError(APIStatusError):
    """404: the endpoint or resource does not exist (check the base URL)."""

    reason = "not found (check the base URL)"


class ConflictError(APIStatusError):
    """409: the vendor reported a conflict; retried before this is raised."""

    reason = "conflict"


class UnprocessableEntityError(APIStatusError):
    """422: the vendor found a parameter invalid."""

    reason = "invalid parameters"


class RateLimitError(APIStatusError):
    """429: rate limited, after the retry budget was spent or when `Retry-After` exceeded its cap."""

    reason = "rate limited"


class ServerError(APIStatusError):
    """5xx: the vendor failed; retried before this is raised."""

    reason = "server error"


class ResponseValidationError(ProviderError):
    """Raised when a response body does not fit the vendor's documented shape.

    `field` names the offending location (`logs[3].duration_sec`) when known.
    """

    def __init__(self, provider: str, message: str, *, field: str | None = None) -> None:
        self.field = field
        super().__init__(provider, message)


class PaginationError(ProviderError):
    """Raised when a page walk would loop, stall or pass its page cap.

    A repeated cursor, an offset that does not advance, an empty page before the total: never a
    silently truncated result.
    """


class UnsafeRedirectError(ProviderError):
    """Raised when the API redirects to another origin; the request is not followed there."""


class UnsupportedQueryError(ConfigurationError):
    """Raised before any request when the vendor's API cannot answer the query.

    For example a filter or option the provider does not declare, a period further back than it
    keeps, or a granularity it does not report. The message starts with the provider name.
    """

    def __init__(self, provider: str, message: str) -> None:
        super().__init__(f"{provider}: {message}")
        self.provider = provider
        self.detail = message


_STATUS_ERRORS: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    402: PaymentRequiredError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    422: UnprocessableEntityError,
    429: RateLimitError,
}


def status_error(
    provider: str,
    status_code: int,
    *,
    vendor_code: str | None = None,
    vendor_message: str | None = None,
    request_id: str | None = None,
    retry_after: float | None = None,
    body: Any = None,
) -> APIStatusError:
    """Build the exception for an HTTP error status: the one status-to-class table."""
    if status_code >= 500:
        cls: type[APIStatusError] = ServerError
    else:
        cls = _STATUS_ERRORS.get(status_code, APIStatusError)
    return cls(
        provider,
        status_code,
        vendor_code=vendor_code,
        vendor_message=vendor_message,
        request_id=request_id,
        retry_after=retry_after,
        body=body,
    )
