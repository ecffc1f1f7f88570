"""CartonaClient: the one place that speaks HTTP to Cartona.

Plain Python, no ORM: it builds requests, classifies every way they fail into
the typed errors of ``exceptions``, and walks pages. It never logs or raises
the token.
"""

import email.utils
import json
import threading
from datetime import datetime, timezone

import requests

from .. import const
from ..exceptions import (
    MarketplaceAuthError,
    MarketplacePermanentError,
    MarketplaceRetryableError,
)
from .answers import short_text

RETRYABLE_STATUS = {408, 425, 429}
_local = threading.local()


def _session():
    """One pooled session per thread, reused across calls of the process."""
    session = getattr(_local, "session", None)
    if session is None:
        session = _local.session = requests.Session()
    return session


def parse_retry_after(value, now=None):
    """Seconds to wait from a Retry-After header (seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return int(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    now = now or datetime.now(timezone.utc)
    return max(0, int((when - now).total_seconds() + 0.999))


class CartonaClient:
    def __init__(self, base_url, token, auth_header=None, timeout=30, user_agent=None):
        self.base_url = base_url.rstrip("/") + "/"
        self._token = token or ""
        self.auth_header = auth_header or const.DEFAULT_AUTH_HEADER
        self.timeout = timeout or 30
        self.user_agent = user_agent or const.USER_AGENT

    def __repr__(self):
        return f"<CartonaClient {self.base_url}>"

    def url(self, endpoint):
        return self.base_url + endpoint.lstrip("/")

    def _headers(self):
        return {
            self.auth_header: self._token,
            "Content-Type": "application/json",
            "Accept": "application/json",
            "User-Agent": self.user_agent,
        }

    def _scrub(self, text):
        if self._token and text:
            text = text.replace(self._token, "***")
        return text

    def excerpt(self, text):
        return short_text(self._scrub(text or ""))

    def request(self, endpoint, method="GET", data=None, params=None):
        """Send one request; return ``(status_code, decoded JSON body)``.

        Raises MarketplaceAuthError, MarketplaceRetryableError or
        MarketplacePermanentError for every answer that is not usable JSON.
        """
        url = self.url(endpoint)
        try:
            response = _session().request(
                method,
                url,
                headers=self._headers(),
                params=params,
                data=json.dumps(data) if data is not None else None,
                timeout=self.timeout,
            )
        except requests.Timeout as exc:
            raise MarketplaceRetryableError(
                f"Cartona did not answer {method} {endpoint} within {self.timeout}s",
                endpoint=endpoint,
            ) from exc
        except requests.RequestException as exc:
            # The exception text may quote the URL but never the headers.
            raise MarketplaceRetryableError(
                f"Cannot reach Cartona for {method} {endpoint}: {type(exc).__name__}",
                endpoint=endpoint,
            ) from exc
        return response.status_code, self._decode(response, endpoint, method)

    def _decode(self, response, endpoint, method):
        status = response.status_code
        what = f"{method} {endpoint}"
        if status in const.AUTH_FAILED_STATUSES:
            raise MarketplaceAuthError(
                f"Cartona refused the token ({status}) for {what}: {self.excerpt(response.text)}",
                status_code=status,
                endpoint=endpoint,
            )
        if status in RETRYABLE_STATUS or status >= 500:
            seconds = parse_retry_after(response.headers.get("Retry-After"))
            raise MarketplaceRetryableError(
                f"Cartona answered {status} for {what}"
                + (f", retry after {seconds}s" if seconds is not None else "")
                + f": {self.excerpt(response.text)}",
                status_code=status,
                endpoint=endpoint,
                seconds=seconds,
            )
        if not 200 <= status < 300:
            raise MarketplacePermanentError(
                f"Cartona rejected {what} ({status}): {self.excerpt(response.text)}",
                status_code=status,
                endpoint=endpoint,
            )
        if not response.content:
            return None
        try:
            return response.json()
        except (ValueError, RecursionError) as exc:  # nested past the decoder's depth
            raise MarketplacePermanentError(
                f"Cartona answered {what} ({status}) with a body that is not JSON: {self.excerpt(response.text)}",
                status_code=status,
                endpoint=endpoint,
            ) from exc


def iter_pages(fetch_page, max_pages=const.MAX_PULL_PAGES):
    """Yield ``(page, items)`` from ``fetch_page(page)`` until an empty page,
    and never past ``max_pages``. A page shorter than asked ends nothing:
    Cartona may serve fewer items a page than asked, and says nothing of it."""
    for page in range(1, max_pages + 1):
        items = fetch_page(page)
        if not items:
            return
        yield page, items
