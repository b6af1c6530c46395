from django.urls import path

from portal import views

urlpatterns = [
    path("health", views.health),
    path("api/profile", views.profile),
    path("api/orgs/<uuid:org_id>/patients", views.patients),
]
