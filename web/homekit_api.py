"""Apple Home in the REST API (``/api/v1/homekit``); the Settings card is static/homekit.js.

The views read the HomeKit bridge the service runs (``service.homekit``, when
``homekit.enabled``) through two calls, ``status()`` and ``reset_pairing()``; the web
imports nothing of :mod:`hub.homekit`. The QR code is drawn here, on the hub (segno),
so the setup code never goes to a QR service on the internet.
"""

from __future__ import annotations

import io
from typing import Any

from flask import Blueprint, Response, jsonify
from pydantic import BaseModel

from . import web_state
from .errors import ApiError
from .openapi import describe

bp = Blueprint("homekit", __name__, url_prefix="/api/v1/homekit")

OFF_MESSAGE = (
    "Apple Home is off. To pair the hub with the Home app, set homekit.enabled: true "
    "in the config and restart the hub."
)


class HomeKitStatus(BaseModel):
    """Apple Home: on or off, paired or not; the setup code and its QR code while unpaired."""

    enabled: bool
    running: bool = False
    paired: bool = False
    name: str | None = None
    port: int | None = None
    accessories: list[str] = []
    setup_code: str | None = None
    setup_uri: str | None = None
    qr_svg: str | None = None
    message: str | None = None


def _bridge() -> Any:
    service = web_state().service
    return getattr(service, "homekit", None) if service is not None else None


def qr_svg(uri: str) -> str:
    """Return the QR code of ``uri`` as a standalone SVG document."""
    import segno

    out = io.BytesIO()
    segno.make(uri, error="q", micro=False).save(
        out,
        kind="svg",
        xmldecl=False,
        scale=5,
        border=2,
        dark="black",
        light="white",
        title="Apple Home setup code",
    )
    return out.getvalue().decode("utf-8")


def _status(bridge: Any) -> dict[str, Any]:
    if bridge is None:
        return HomeKitStatus(enabled=False, message=OFF_MESSAGE).model_dump()
    out = dict(bridge.status())
    out["qr_svg"] = qr_svg(out["setup_uri"]) if out.get("setup_uri") else None
    if out.get("paired"):
        out["message"] = "Paired with Apple Home."
    else:
        out["message"] = (
            "Not paired yet. In the Home app on your iPhone, tap +, then Add Accessory, and "
            "scan this QR code, or enter the setup code."
        )
    return HomeKitStatus.model_validate(out).model_dump()


@bp.get("")
@describe(HomeKitStatus, tag="homekit")
def status() -> Response:
    """Say whether Apple Home is on and paired; while unpaired, give the setup code and QR."""
    return jsonify(_status(_bridge()))


@bp.delete("/pairing")
@describe(HomeKitStatus, errors=(409, 503), tag="homekit")
def reset_pairing() -> Response:
    """Forget every paired iPhone and Home; a new setup code is made for the next pairing."""
    bridge = _bridge()
    if bridge is None:  # the hub is fine; there is just nothing to reset
        raise ApiError(409, "conflict", OFF_MESSAGE)
    try:
        bridge.reset_pairing()
    except RuntimeError as exc:  # the bridge stopped, or did not answer in time
        raise ApiError(503, "unavailable", str(exc)) from None
    return jsonify(_status(bridge))
