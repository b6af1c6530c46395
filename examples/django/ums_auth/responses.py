"""RFC 9457 problem responses, like UMS's own."""
from django.http import JsonResponse


def problem(status, code, detail, retry_after=None, token_error=False, **extra):
    body = {"type": "about:blank", "status": status, "code": code, "detail": detail}
    body.update(extra)
    res = JsonResponse(body, status=status, content_type="application/problem+json")
    if status == 401:
        res["WWW-Authenticate"] = 'Bearer realm="umsdemo"' + (', error="invalid_token"' if token_error else "")
    if retry_after is not None:
        res["Retry-After"] = str(retry_after)
    return res
