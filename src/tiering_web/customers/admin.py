from django.contrib import admin

from tiering_web.customers.models import Customer, Payment, Transaction
from tiering_web.readonly_admin import ReadOnlyAdmin

# written through customers.services (customers) and customers.ledger (transactions,
# payments), audited; a customer with history is never deleted (PROTECT)


@admin.register(Customer)
class CustomerAdmin(ReadOnlyAdmin):
    list_display = ("code", "name", "industry", "status", "owner", "updated_at")
    list_filter = ("status", "size", "nature", "industry")
    search_fields = ("code", "name")


@admin.register(Transaction)
class TransactionAdmin(ReadOnlyAdmin):
    list_display = ("customer", "date", "kind", "amount", "cost", "reference")
    list_filter = ("kind",)
    date_hierarchy = "date"


@admin.register(Payment)
class PaymentAdmin(ReadOnlyAdmin):
    list_display = ("customer", "date", "amount", "reference")
    date_hierarchy = "date"
