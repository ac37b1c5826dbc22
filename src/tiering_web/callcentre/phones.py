"""Telephone numbers as one canonical key, so that a caller ID finds the customer whose
contact sheet wrote the same number some other way.

The key (:func:`normalise_phone`) is the number's digits in international form without
the ``+``:

* full-width digits and brackets are read as ASCII (``（０１０）`` is ``(010)``);
* an extension is dropped: anything after 转, 分机, ``ext``, ``x``, ``#``, ``,`` or ``;``,
  and a last dash/space group of 1–5 digits once the number is already complete
  (``010-12345678-801``), since a caller ID never carries it;
* ``+CC`` or ``00CC`` keeps the country code (``+1 415 555 0100`` → ``14155550100``);
  for China (86) an optional ``(0)`` trunk prefix after it is dropped;
* a Chinese national number loses its trunk ``0`` and gains ``86``: a mobile
  (``138 0013 8000``, ``013800138000``, ``8613800138000``) becomes ``8613800138000`` and a
  landline with its area code (``010-1234 5678``, ``(0755) 87654321``) becomes
  ``861012345678`` / ``8675587654321``, with or without the leading ``0``;
* a number too short to hold an area code (a local 7–8 digit number, a service number
  such as 95588) is kept as its digits and matches only the same digits.

Text without digits gives ``""``, which is never indexed, and so does a key of more than
15 digits (E.164's longest number): no caller ID carries one, and the phone columns hold
keys of up to 32 characters (a 63-digit "caller" was a 500 on PostgreSQL).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from typing import Any

_EXTENSION = re.compile(r"(转|分机|ext\.?|x|#|,|;)", re.IGNORECASE)
_GROUPS = re.compile(r"\d+")
#: A national number with its trunk 0: 0 + area code (2–3 digits) + 7–8 digits.
_LONGEST_NATIONAL = 12
_MOBILE = re.compile(r"^1[3-9]\d{9}$")
#: The longest telephone number in international form (ITU-T E.164).
LONGEST_KEY = 15


def _national(digits: str) -> str:
    """A Chinese number without country code and trunk prefix, or "" when too short to be
    one (then the caller keeps the bare digits)."""
    digits = digits.lstrip("0")
    if _MOBILE.match(digits):
        return digits
    # area code (2-3 digits without the 0) + local number (7-8 digits)
    return digits if 9 <= len(digits) <= 11 else ""


def normalise_phone(raw: Any) -> str:
    """The canonical key of a telephone number (see the module's rules); "" when there is
    none."""
    key = _key(raw)
    return key if len(key) <= LONGEST_KEY else ""


def _key(raw: Any) -> str:
    if raw is None:
        return ""
    text = unicodedata.normalize("NFKC", str(raw)).strip()
    text = _EXTENSION.split(text, maxsplit=1)[0]
    groups = _GROUPS.findall(text)
    if not groups:
        return ""
    international = text.lstrip("(（ ").startswith("+")
    digits = "".join(groups)
    if not international and digits.startswith("00"):
        international, digits = True, digits[2:]
    if international:
        if not digits.startswith("86"):
            return digits
        national = _national(digits[2:])
        return "86" + national if national else digits
    if len(digits) > _LONGEST_NATIONAL and len(groups) > 1 and len(groups[-1]) <= 5:
        digits = digits[: -len(groups[-1])]  # a trailing extension: 010-12345678-801
    if len(digits) == 13 and digits.startswith("86") and _MOBILE.match(digits[2:]):
        return digits  # a mobile written with its country code but no +
    national = _national(digits)
    return "86" + national if national else digits


def contact_phones(contacts: Any) -> set[str]:
    """The keys of every phone number on a customer's contact list (``contacts`` as
    :attr:`Customer.contacts` holds it: a list of ``{name, title, phone, email}``; a
    ``phone`` may hold several numbers separated by ``/``, ``、`` or ``;``)."""
    keys: set[str] = set()
    if not isinstance(contacts, list):
        return keys
    for contact in contacts:
        if not isinstance(contact, dict):
            continue
        phones = contact.get("phone")
        values: Iterable[Any] = phones if isinstance(phones, list) else [phones]
        for value in values:
            for part in re.split(r"[/、；]", str(value or "")):
                key = normalise_phone(part)
                if key:
                    keys.add(key)
    return keys
