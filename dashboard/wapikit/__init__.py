"""WapiKit API client: typed objects in, typed exceptions out."""

from functools import cache

from django.conf import settings

from . import errors
from .breaker import CircuitBreaker
from .client import WapiKitClient, validate_id
from .transport import parse_timeout
from .types import Conversation, Member, Message

__all__ = ["Conversation", "Member", "Message", "WapiKitClient", "errors", "get_client", "validate_id"]


@cache
def get_client() -> WapiKitClient:
    """The process-wide client: one session, so connections to WapiKit are reused."""
    return WapiKitClient(
        base_url=settings.WAPIKIT_BASE_URL,
        api_key=settings.WAPIKIT_API_KEY,
        auth_header=settings.WAPIKIT_AUTH_HEADER,
        timeout=settings.WAPIKIT_TIMEOUT,
        get_retries=settings.WAPIKIT_GET_RETRIES,
        max_retry_wait=settings.WAPIKIT_MAX_RETRY_WAIT,
        capability_lifetime=settings.WAPIKIT_CAPABILITY_SECONDS,
        breaker=CircuitBreaker(
            threshold=settings.WAPIKIT_BREAKER_THRESHOLD,
            cooldown=settings.WAPIKIT_BREAKER_COOLDOWN,
            # Waiting for a probe is bounded by how long the probe itself may take.
            probe_wait=sum(parse_timeout(settings.WAPIKIT_TIMEOUT)),
        ),
    )
