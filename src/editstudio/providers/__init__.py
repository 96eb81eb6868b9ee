"""Cloud providers behind the ``EditProvider`` contract.

``registry.provider_for(model_id, settings)`` picks the provider for a catalogue model. Each
``<slug>.py`` holds pure request/response mapping and ``<slug>_provider.py`` the provider class that
wires it to ``http.py``, which alone does the I/O (retries, polling, deadlines, downloads).
``images.py`` stages input images and finishes outputs for every provider; ``webhooks.py`` verifies
signed deliveries.
"""

from editstudio.providers.http import (
    Deadline,
    Done,
    Failed,
    HttpCall,
    HttpReply,
    Pending,
    PollPolicy,
    ProviderHttp,
    RetryPolicy,
    Timeouts,
    compute_backoff,
)
from editstudio.providers.registry import provider_for
from editstudio.providers.webhooks import verify_webhook

__all__ = [
    "Deadline",
    "Done",
    "Failed",
    "HttpCall",
    "HttpReply",
    "Pending",
    "PollPolicy",
    "ProviderHttp",
    "RetryPolicy",
    "Timeouts",
    "compute_backoff",
    "provider_for",
    "verify_webhook",
]
