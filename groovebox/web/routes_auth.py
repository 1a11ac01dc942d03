"""``/api/pair``, ``/api/tokens`` and ``/api/logout``: pairing a phone and managing paired devices (control loop).

Decisions:
- ``POST /api/pair`` needs no token (it is how a phone gets one); the tokens routes and logout do. They are
  protected here, on each route, so including this router without router-wide dependencies is safe.
- The token is returned in the body (for scripts: ``Authorization: Bearer``) and set as a cookie for the page:
  ``HttpOnly`` (page scripts cannot read it), ``SameSite=Strict`` (other sites' pages do not send it),
  ``Path=/``, ten years long (revoke it from the tokens list instead of waiting for it to expire). It has no
  ``Secure`` flag on purpose: the appliance serves plain HTTP on the LAN (there is no certificate a phone
  would trust for a ``.local`` name or an IP address), and a Secure cookie would never be sent back.
- Pairing and revoking write the tokens file, so they run in a thread; listing is memory only.
- Wrong PIN: 403 with the attempts left. Locked: 429 with ``Retry-After``. Tokens file not writable: 503.
"""

from __future__ import annotations

import asyncio
import math
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from fastapi import Path as PathParam
from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from groovebox.web.pairing import Pairing, PairingLocked, TokenInfo, WrongPin
from groovebox.web.security import TOKEN_COOKIE, require_token

__all__ = ["PairRequest", "PairResponse", "PairedToken", "router"]

COOKIE_MAX_AGE_S = 315_360_000          # ten years

Caller = Annotated[TokenInfo, Depends(require_token)]
PROTECTED = [Depends(require_token)]


class _Camel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")


class PairRequest(_Camel):
    """The PIN shown on the groovebox's display (or in its log), and a name for this device."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"pin": "042917", "label": "Anna's phone"}]})

    pin: str = Field(pattern=r"^[0-9]{6}$", description="the 6 digits shown on the groovebox")
    label: str = Field("phone", max_length=200, description="a name to recognise this device by (cut to 40)")


class PairResponse(_Camel):
    """A new token (also set as the ``groovebox_token`` cookie)."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "token": "q3Vh0m1V6bQqk3yGm7nJ0wC2d7g5S8rX1fYzL4aTt9E", "tokenId": "3fa85f64", "label": "Anna's phone"}]})

    token: str = Field(description="send as `Authorization: Bearer <token>` or let the browser send the cookie")
    token_id: str
    label: str


class PairedToken(_Camel):
    """A paired device (the token itself is never shown again)."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "tokenId": "3fa85f64", "label": "Anna's phone", "createdAt": "2025-05-01T20:15:03+00:00",
        "lastUsedAt": "2025-05-02T21:40:11+00:00", "current": True}]})

    token_id: str
    label: str
    created_at: str = Field(description="ISO 8601, UTC")
    last_used_at: str | None = Field(description="ISO 8601, UTC; saved at most once a minute")
    current: bool = Field(description="this is the token of the request listing them")


class Detail(BaseModel):
    """An error a person can read."""

    detail: str


def _pairing(request: Request) -> Pairing:
    pairing = getattr(request.app.state.context, "pairing", None)
    if pairing is None:
        raise HTTPException(503, "pairing is not available on this groovebox")
    return pairing


def _set_token_cookie(response: Response, token: str) -> None:
    response.set_cookie(TOKEN_COOKIE, token, max_age=COOKIE_MAX_AGE_S, path="/", httponly=True,
                        samesite="strict", secure=False)


def _clear_token_cookie(response: Response) -> None:
    response.delete_cookie(TOKEN_COOKIE, path="/", httponly=True, samesite="strict", secure=False)


def _not_saved(error: OSError) -> HTTPException:
    return HTTPException(503, f"the groovebox could not save its paired devices ({error.strerror or error})")


def router() -> APIRouter:
    """The pairing routes (include without router-wide dependencies: ``/api/pair`` must stay open)."""
    api = APIRouter(tags=["pairing"])

    @api.post("/api/pair", response_model=PairResponse, responses={
        403: {"model": Detail, "description": "wrong PIN (the message says how many tries are left)"},
        429: {"model": Detail, "description": "too many wrong PINs: pairing is locked (see Retry-After)"},
        503: {"model": Detail, "description": "the tokens file could not be written"}})
    async def pair(body: PairRequest, request: Request, response: Response) -> PairResponse:
        """Exchange the PIN on the groovebox's display for a token (also set as an HttpOnly cookie).
        No token needed. Ten wrong PINs in a row lock pairing for a minute."""
        try:
            token, info = await asyncio.to_thread(_pairing(request).pair, body.pin, body.label)
        except WrongPin as error:
            raise HTTPException(403, f"wrong PIN: {error.attempts_left} more wrong PINs lock pairing "
                                     "for a minute") from None
        except PairingLocked as error:
            retry_after_s = max(1, math.ceil(error.retry_after_s))
            raise HTTPException(429, f"too many wrong PINs: pairing is locked, try again in {retry_after_s} s "
                                     "with the new PIN", headers={"Retry-After": str(retry_after_s)}) from None
        except OSError as error:
            raise _not_saved(error) from None
        _set_token_cookie(response, token)
        return PairResponse(token=token, token_id=info.token_id, label=info.label)

    @api.get("/api/tokens", response_model=list[PairedToken], dependencies=PROTECTED,
             responses={401: {"model": Detail}})
    async def list_tokens(request: Request, caller: Caller) -> list[PairedToken]:
        """The paired devices, oldest first; ``current`` marks the one asking."""
        return [PairedToken(token_id=info.token_id, label=info.label, created_at=info.created_at,
                            last_used_at=info.last_used_at, current=info.token_id == caller.token_id)
                for info in _pairing(request).tokens()]

    @api.delete("/api/tokens/{token_id}", status_code=204, response_class=Response, dependencies=PROTECTED,
                responses={401: {"model": Detail}, 404: {"model": Detail}, 503: {"model": Detail}})
    async def revoke_token(request: Request, caller: Caller,
                           token_id: Annotated[str, PathParam(max_length=64)]) -> Response:
        """Unpair a device: its token stops working at once."""
        try:
            revoked = await asyncio.to_thread(_pairing(request).revoke, token_id)
        except OSError as error:
            raise _not_saved(error) from None
        if not revoked:
            raise HTTPException(404, f"no paired device has the token id {token_id!r}")
        response = Response(status_code=204)
        if token_id == caller.token_id:
            _clear_token_cookie(response)
        return response

    @api.post("/api/logout", status_code=204, response_class=Response, dependencies=PROTECTED,
              responses={401: {"model": Detail}, 503: {"model": Detail}})
    async def logout(request: Request, caller: Caller) -> Response:
        """Unpair this device: revoke the token of this request and clear its cookie."""
        try:
            await asyncio.to_thread(_pairing(request).revoke, caller.token_id)
        except OSError as error:
            raise _not_saved(error) from None
        response = Response(status_code=204)
        _clear_token_cookie(response)
        return response

    return api
