from django.urls import path

from oidc_login import views as oidc
from portal import views

urlpatterns = [
    path("", oidc.home, name="home"),
    path("oidc/login", oidc.login, name="oidc-login"),
    path("oidc/callback", oidc.callback, name="oidc-callback"),
    path("oidc/logout", oidc.logout, name="oidc-logout"),
    path("health", views.health),
    path("api/profile", views.profile),
    path("api/orgs/<uuid:org_id>/patients", views.patients),
]
