from django.contrib import admin

from tiering_web.customers.models import Customer, Payment, Transaction


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "industry", "status", "owner", "updated_at")
    list_filter = ("status", "size", "nature", "industry")
    search_fields = ("code", "name")
    raw_id_fields = ("owner",)
    # writes go through services.do_create_customer / do_update_customer (audited)
    readonly_fields = [f.name for f in Customer._meta.fields]

    def has_add_permission(self, request):
        return False


@admin.register(Transaction)
class TransactionAdmin(admin.ModelAdmin):
    list_display = ("customer", "date", "kind", "amount", "cost", "reference")
    list_filter = ("kind",)
    raw_id_fields = ("customer",)
    date_hierarchy = "date"


@admin.register(Payment)
class PaymentAdmin(admin.ModelAdmin):
    list_display = ("customer", "date", "amount", "reference")
    raw_id_fields = ("customer",)
    date_hierarchy = "date"
