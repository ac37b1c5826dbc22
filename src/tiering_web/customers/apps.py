from django.apps import AppConfig
from django.urls import register_converter
from django.utils.translation import gettext_lazy as _

from tiering_web.customers.converters import CustomerCodeConverter


class CustomersConfig(AppConfig):
    name = "tiering_web.customers"
    verbose_name = _("Customers")

    def ready(self):
        # before any URL pattern is read: <customer_code:code> reaches every stored code
        register_converter(CustomerCodeConverter, "customer_code")
