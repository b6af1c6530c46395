"""View decorators: who may call, decided by the token and by UMS."""
import functools

from .client import NotAuthenticated, UMSUnavailable, client
from .responses import problem


def ums_login_required(view):
    """401 unless the request carries a valid UMS access token."""

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return problem(401, "unauthorized", "a UMS access token is required")
        return view(request, *args, **kwargs)

    return wrapper


def require_permissions(*permissions, org_kwarg="org_id"):
    """Ask UMS (POST /api/v1/authorize) whether the caller holds every one
    of permissions in the organization named by the URL kwarg org_kwarg.
    UMS slow or down: 503 within the client timeout, at once while the
    breaker is open - fail closed, never allow on error."""

    def decorate(view):
        @functools.wraps(view)
        @ums_login_required
        def wrapper(request, *args, **kwargs):
            try:
                answer = client().authorize(request.ums_token, kwargs[org_kwarg], permissions)
            except UMSUnavailable as exc:
                return problem(503, "ums_unavailable", "authorization service unavailable",
                               retry_after=exc.retry_after or 5)
            except NotAuthenticated:
                return problem(401, "invalid_token", "UMS refused the token", token_error=True)
            if not answer.get("allowed"):
                return problem(403, "forbidden", "missing permissions", missing=answer.get("missing", []))
            request.ums_authorization = answer
            return view(request, *args, **kwargs)

        return wrapper

    return decorate
