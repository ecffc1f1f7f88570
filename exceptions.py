"""The typed errors of the connector (decisions.md section 1)."""

from odoo.addons.queue_job.exception import RetryableJobError


class MarketplaceError(Exception):
    """Base of every error raised when talking to, or reading from, Cartona."""

    def __init__(self, message, status_code=None, endpoint=None):
        super().__init__(message)
        self.message = message
        self.status_code = status_code
        self.endpoint = endpoint

    def __str__(self):
        return self.message


class MarketplaceAuthError(MarketplaceError):
    """401/403: the token is wrong or revoked. Never retried."""


class MarketplaceRetryableError(MarketplaceError, RetryableJobError):
    """408, 429, 5xx, timeout, connection error: queue_job retries the job
    no sooner than ``seconds`` (Cartona's Retry-After when it gave one)."""

    def __init__(self, message, status_code=None, endpoint=None, seconds=None):
        # MarketplaceError's super() reaches RetryableJobError's __init__.
        super().__init__(message, status_code, endpoint)
        self.seconds = seconds


class MarketplacePermanentError(MarketplaceError):
    """Any other 4xx, or a 2xx that is not JSON: retrying cannot help."""


class MarketplaceDataError(MarketplaceError):
    """An order or product payload that cannot be used; names the field."""

    def __init__(self, message, field=None):
        super().__init__(message)
        self.field = field
