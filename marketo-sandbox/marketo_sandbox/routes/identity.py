"""``/identity/oauth/token``: client credentials grant (no envelope, no quota)."""

from __future__ import annotations

from werkzeug.wrappers import Response

from marketo_sandbox.app import Ctx, json_response, router
from marketo_sandbox.envelope import HttpError


@router.route("/identity/oauth/token", ("GET", "POST"), kind="identity")
def token(ctx: Ctx) -> Response:
    args = ctx.request.args
    form = ctx.request.form if ctx.request.method == "POST" else {}
    grant = args.get("grant_type") or form.get("grant_type")
    client_id = args.get("client_id") or form.get("client_id")
    client_secret = args.get("client_secret") or form.get("client_secret")
    if grant != "client_credentials":
        raise HttpError(
            400,
            {
                "error": "unsupported_grant_type",
                "error_description": f"Unsupported grant type: {grant}",
            },
        )
    user = ctx.app.tokens.authenticate(client_id, client_secret)
    if user is None:
        raise HttpError(
            401, {"error": "invalid_client", "error_description": "Bad client credentials"}
        )
    access_token, expires_in = ctx.app.tokens.issue(user)
    response = json_response(
        {
            "access_token": access_token,
            "token_type": "bearer",
            "expires_in": expires_in,
            "scope": user,
        }
    )
    # As recorded: a token answer must not be cached (docs/MARKETO.md section 9).
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    return response
