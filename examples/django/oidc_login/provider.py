"""The OpenID provider as Authlib's Django client sees it: everything —
endpoints, JWKS, the issuer and the ID token algorithms (UMS: RS256) — comes
from the discovery document."""
import threading

from authlib.integrations.django_client import OAuth
from django.conf import settings

NAME = "ums"

_oauth = None
_lock = threading.Lock()


def conf():
    return settings.UMS_OIDC


def ums():
    """The process-wide client, registered on first use (settings are read
    then, so tests can override them before)."""
    global _oauth
    with _lock:
        if _oauth is None:
            c = conf()
            oauth = OAuth()
            oauth.register(
                name=NAME,
                server_metadata_url=c["SERVER_METADATA_URL"],
                client_id=c["CLIENT_ID"],
                client_secret=c["CLIENT_SECRET"],
                client_kwargs={
                    "scope": c["SCOPE"],
                    # PKCE: Authlib makes a code_verifier per sign-in and keeps
                    # it in the session with the state and the nonce.
                    "code_challenge_method": "S256",
                    # (connect, read) seconds for discovery, JWKS and tokens.
                    "default_timeout": c["TIMEOUT"],
                },
            )
            _oauth = oauth
        return _oauth.create_client(NAME)


def reset():
    """Forget the client and its cached metadata and keys (tests)."""
    global _oauth
    with _lock:
        _oauth = None
