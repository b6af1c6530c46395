"""Bearer token → request.user, verified offline against UMS's JWKS."""
from . import jwks
from .responses import problem


class UMSUser:
    """The caller as the access token describes them. Offline verification
    sees a revoked session only when its token expires (ACCESS_TOKEN_TTL):
    sensitive views should also ask UMS (require_permissions does)."""

    is_authenticated = True
    is_anonymous = False

    def __init__(self, claims):
        self.claims = claims
        self.id = claims["sub"]
        self.session_id = claims.get("sid")

    def __str__(self):
        return self.id


class AnonymousUMSUser:
    is_authenticated = False
    is_anonymous = True
    id = None
    session_id = None
    claims = {}


class UMSTokenMiddleware:
    """No Authorization header: anonymous (views decide). A Bearer token
    that does not verify: 401 at once. Keys unobtainable: 503."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.user = AnonymousUMSUser()
        request.ums_token = None
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if header:
            scheme, _, token = header.partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                return problem(401, "invalid_request", "expected: Authorization: Bearer <token>")
            token = token.strip()
            try:
                claims = jwks.verify(token)
            except jwks.InvalidToken as exc:
                return problem(401, "invalid_token", str(exc), token_error=True)
            except jwks.KeysUnavailable:
                return problem(503, "ums_unavailable", "token keys unavailable", retry_after=5)
            request.user = UMSUser(claims)
            request.ums_token = token
        return self.get_response(request)
