from django.apps import AppConfig


class UMSAuthConfig(AppConfig):
    name = "ums_auth"
    verbose_name = "UMS authentication"
