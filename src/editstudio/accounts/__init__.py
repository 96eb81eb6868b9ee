"""Users, API tokens, tiers and budgets.

Data functions are keyword-only and each runs one transaction on the ``AsyncSession`` it is
given (``reserve(*, session, ...)``); they return frozen dataclasses, never ORM rows, so a token
hash cannot leak through a response model. Money is ``Decimal`` here, micro-dollars in the
database.
"""

from editstudio.accounts.budget import (
    Reservation,
    Settlement,
    capture,
    capture_in,
    period_of,
    release,
    release_in,
    reserve,
)
from editstudio.accounts.money import micros_to_usd, usd_to_micros
from editstudio.accounts.tiers import DEFAULT_TIERS, Tier, Tiers, load_tiers, tier_for
from editstudio.accounts.tokens import (
    IssuedToken,
    TokenInfo,
    create_token,
    hash_token,
    list_tokens,
    revoke_token,
    verify_token,
)
from editstudio.accounts.usage import ModelUsage, UsageSummary, usage_summary
from editstudio.accounts.users import (
    LOCAL_USER_ID,
    UserInfo,
    create_user,
    disable_user,
    get_user,
    list_users,
    single_user,
)

__all__ = [
    "DEFAULT_TIERS",
    "LOCAL_USER_ID",
    "IssuedToken",
    "ModelUsage",
    "Reservation",
    "Settlement",
    "Tier",
    "Tiers",
    "TokenInfo",
    "UsageSummary",
    "UserInfo",
    "capture",
    "capture_in",
    "create_token",
    "create_user",
    "disable_user",
    "get_user",
    "hash_token",
    "list_tokens",
    "list_users",
    "load_tiers",
    "micros_to_usd",
    "period_of",
    "release",
    "release_in",
    "reserve",
    "revoke_token",
    "single_user",
    "tier_for",
    "usage_summary",
    "usd_to_micros",
    "verify_token",
]
