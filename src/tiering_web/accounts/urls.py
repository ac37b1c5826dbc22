"""Pages of the accounts app (server-rendered, django-htmx), under ``users/``."""

from django.urls import path

from tiering_web.accounts import views

urlpatterns = [
    path("", views.user_list, name="user_list"),
    path("new/", views.user_create, name="user_create"),
    path("<int:pk>/", views.user_edit, name="user_edit"),
    path("<int:pk>/password/", views.user_password, name="user_password"),
    path("me/", views.account_profile, name="account_profile"),
    path("me/password/", views.account_password, name="account_password"),
    path("me/tokens/", views.account_token_issue, name="account_token_issue"),
    path("tokens/<int:pk>/revoke/", views.token_revoke, name="token_revoke"),
]
