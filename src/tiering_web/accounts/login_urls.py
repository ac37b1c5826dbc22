"""The login page, included by the root URLconf at ``login/``: Django's ``LoginView``
with a form that throttles failed logins (:mod:`tiering_web.accounts.login_throttle`)."""

from django.urls import path

from tiering_web.accounts import views

urlpatterns = [path("", views.login, name="login")]
