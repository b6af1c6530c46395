"""Browser sign-in with the provider's hosted page: a session cookie here,
no password ever seen by this app.

The session keeps the ID token's verified claims (who signed in), the ID
token itself (id_token_hint at logout) and the tokens (the refresh token
because of offline_access). Use a server-side SESSION_ENGINE (this project:
files) so tokens never sit in the browser.
"""
import logging
import time

import requests
from authlib.common.urls import add_params_to_uri
from authlib.integrations.base_client import OAuthError
from authlib.jose.errors import JoseError
from django.http import HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.html import format_html
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from . import provider

log = logging.getLogger(__name__)

SESSION_CLAIMS = "oidc_claims"
SESSION_ID_TOKEN = "oidc_id_token"
SESSION_TOKENS = "oidc_tokens"


def page(title, body, status=200):
    html = format_html(
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{}</title></head>'
        "<body><h1>{}</h1>{}</body></html>",
        title, title, body,
    )
    res = HttpResponse(html, status=status, content_type="text/html; charset=utf-8")
    res["Cache-Control"] = "no-store"
    return res


def signed_in_claims(request):
    """The verified ID token claims of the signed-in browser, or None."""
    return request.session.get(SESSION_CLAIMS)


@require_GET
def home(request):
    claims = signed_in_claims(request)
    if not claims:
        return page("UMS demo", format_html('<p>Not signed in.</p><p><a href="{}">Sign in with UMS</a></p>',
                                            reverse("oidc-login")))
    return page("UMS demo", format_html(
        '<p>Signed in as <strong id="email">{}</strong> ({}).</p><p><a href="{}">Sign out</a></p>',
        claims.get("email") or claims.get("preferred_username") or claims["sub"],
        claims.get("name") or claims["sub"],
        reverse("oidc-logout"),
    ))


def _redirect_uri(request):
    return provider.conf().get("REDIRECT_URI") or request.build_absolute_uri(reverse("oidc-callback"))


@require_GET
@never_cache
def login(request):
    """Off to the provider's sign-in page (authorization code, PKCE S256,
    state and nonce kept in the session)."""
    try:
        return provider.ums().authorize_redirect(request, _redirect_uri(request))
    except requests.RequestException as exc:
        log.warning("OpenID provider unreachable: %s", exc)
        return page("Sign-in unavailable", format_html("<p>The sign-in service cannot be reached. Try again later.</p>"), 503)


@require_GET
@never_cache
def callback(request):
    """The provider sends the browser back with ?code&state (or ?error).
    Authlib checks the state, redeems the code with the code_verifier and
    the client secret, and verifies the ID token: signature from the JWKS
    with the algorithms the discovery document lists, iss, aud, exp, iat,
    nonce and at_hash."""
    client = provider.ums()
    try:
        token = client.authorize_access_token(request)
        claims = token.get("userinfo")  # the verified ID token's claims
        if not claims:
            return page("Sign-in failed", format_html("<p>The provider sent no ID token.</p>"), 400)
        claims = dict(claims)
        if "email" not in claims:
            # Some providers put profile claims only in the userinfo response.
            info = client.userinfo(token=token)
            if info.get("sub") == claims["sub"]:
                claims.update({k: v for k, v in info.items() if k not in claims})
    except (OAuthError, JoseError) as exc:
        log.warning("sign-in failed: %s", exc)
        return page("Sign-in failed", format_html('<p>{}</p><p><a href="{}">Try again</a></p>',
                                                  str(exc), reverse("oidc-login")), 400)
    except requests.RequestException as exc:
        log.warning("OpenID provider unreachable: %s", exc)
        return page("Sign-in unavailable", format_html("<p>The sign-in service cannot be reached. Try again later.</p>"), 503)
    # A new session id on sign-in: no session fixation.
    request.session.cycle_key()
    request.session[SESSION_CLAIMS] = claims
    request.session[SESSION_ID_TOKEN] = token["id_token"]
    request.session[SESSION_TOKENS] = {
        "access_token": token.get("access_token"),
        "refresh_token": token.get("refresh_token"),
        "expires_at": token.get("expires_at") or int(time.time()) + int(token.get("expires_in", 0)),
    }
    return HttpResponseRedirect(reverse("home"))


@require_GET
@never_cache
def logout(request):
    """Forget the session here, then end the provider's browser session
    (RP-initiated logout) and come back to the home page."""
    id_token = request.session.get(SESSION_ID_TOKEN)
    request.session.flush()
    home_url = provider.conf().get("POST_LOGOUT_REDIRECT_URI") or request.build_absolute_uri(reverse("home"))
    if not id_token:
        return HttpResponseRedirect(reverse("home"))
    client = provider.ums()
    try:
        end_session = client.load_server_metadata().get("end_session_endpoint")
    except requests.RequestException as exc:
        log.warning("OpenID provider unreachable: %s", exc)
        end_session = None
    if not end_session:
        return HttpResponseRedirect(reverse("home"))
    return HttpResponseRedirect(add_params_to_uri(end_session, [
        ("id_token_hint", id_token),
        ("post_logout_redirect_uri", home_url),
        ("client_id", client.client_id),
    ]))
