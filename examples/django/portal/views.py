"""The example's own API: one view for any signed-in user, one that needs
a permission in an organization."""
from django.http import JsonResponse

from ums_auth.decorators import require_permissions, ums_login_required


def health(request):
    return JsonResponse({"status": "ok"})


@ums_login_required
def profile(request):
    user = request.user
    return JsonResponse({"user_id": user.id, "session_id": user.session_id})


@require_permissions("lab.patient.read", org_kwarg="org_id")
def patients(request, org_id):
    # request.ums_authorization is UMS's answer: granted, missing, permissions.
    return JsonResponse({"org_id": str(org_id), "patients": [], "granted": request.ums_authorization["granted"]})
