"""NUL characters: PostgreSQL can neither store one in a text or a JSON column nor
compare a text with one (a 500 until refused), so every way in refuses them."""

from typing import Any


def has_nul(value: Any) -> bool:
    """Whether ``value`` (a text, or a dict or list of them, keys included) holds U+0000."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(has_nul(k) or has_nul(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(has_nul(v) for v in value)
    return False
