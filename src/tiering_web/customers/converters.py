"""The customer code in a web address: ``<customer_code:code>`` in the URL patterns.

New codes never contain ``/`` (:func:`.domain.check_code`), but codes stored before that
rule may, and Django's ``<str:...>`` stops at a ``/``: reversing such a customer's
address failed, and so did every page listing them. This converter reaches every stored
code and changes no address of a code without ``/`` or ``%`` (bookmarks keep working):
:meth:`CustomerCodeConverter.to_url` writes ``%`` as ``%25`` and ``/`` as ``%2F``, which
Django's ``reverse`` escapes once more (``A/B`` is ``/customers/A%252FB/``); the server
decodes the address once, and :meth:`~CustomerCodeConverter.to_python` the rest. A
``/`` never reaches the path, so ``customers/<code>/override/`` stays unambiguous.

Registered as ``customer_code`` by :class:`~tiering_web.customers.apps.CustomersConfig`.
"""

import re

#: What the escapes stand for.
_UNESCAPED = {"%25": "%", "%2F": "/"}
_ESCAPE = re.compile("%25|%2F", re.IGNORECASE)


class CustomerCodeConverter:
    regex = "[^/]+"

    def to_python(self, value: str) -> str:
        return _ESCAPE.sub(lambda m: _UNESCAPED[m.group(0).upper()], value)

    def to_url(self, value: str) -> str:
        return str(value).replace("%", "%25").replace("/", "%2F")
