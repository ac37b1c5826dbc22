"""Pages of the notifications app."""

from django.urls import path

from tiering_web.notifications import views

urlpatterns = [
    path("", views.notification_outbox, name="notification_outbox"),
    path("<int:pk>/retry/", views.notification_retry, name="notification_retry"),
    path("publications/<int:pk>/release/", views.notification_release, name="notification_release"),
    path("publications/<int:pk>/cancel/", views.notification_cancel, name="notification_cancel"),
    path("templates/", views.notification_templates, name="notification_templates"),
    path(
        "templates/<str:kind>/<str:language>/<str:channel>/",
        views.notification_template_edit,
        name="notification_template_edit",
    ),
    path("webhooks/", views.notification_endpoints, name="notification_endpoints"),
    path("webhooks/<int:pk>/", views.notification_endpoint_edit, name="notification_endpoint_edit"),
    path(
        "customers/<customer_code:code>/preferences/",
        views.notification_preferences,
        name="notification_preferences",
    ),
]
