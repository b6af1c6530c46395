"""Verify UMS access tokens offline and ask UMS for permissions.

- middleware.UMSTokenMiddleware: Bearer token → request.user (UMSUser).
- decorators.ums_login_required / require_permissions: 401, 403, 503.
- client.UMSClient: /authorize with a short timeout behind a circuit
  breaker, token refresh and login for a backend-for-frontend.
"""
