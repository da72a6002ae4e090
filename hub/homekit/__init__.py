"""Apple Home: the hub as a HomeKit bridge (HAP-python), advertised over mDNS (zeroconf).

One bridge holds every light (a Lightbulb with Brightness), the diffuser (a Switch), each
scene (a Switch: "Swedish massage" starts a session of that scene for its default length)
and All off (a momentary Switch). Heat pads are left out on purpose: heat comes only with a
session, so Siri is never a way to switch a mains pad on. Every write from a controller is
a public hub command, so the safety rules and each person's limits hold.

Layout: :mod:`.bridge` is the component (the driver's thread, events in, pairing);
:mod:`.server` bounds the HAP server's connections; :mod:`.srp` keeps pairing's SRP
values at full width; :mod:`.network` picks interfaces;
:mod:`.accessories` holds one class per accessory kind; :mod:`.setup_code` keeps the
setup code in ``data_dir`` and makes the ``X-HM://`` setup URI; :mod:`.lean` has zeroconf
load as the pure Python it ships. Nothing of HAP-python or zeroconf is imported until
:func:`homekit_component` makes a bridge (``homekit.enabled``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .lean import prefer_source

if TYPE_CHECKING:
    from .bridge import HomeKitBridge

__all__ = ["homekit_component"]

prefer_source()  # before any module of ours imports zeroconf (it saves the bridge ~2.7 MB)


def homekit_component(service: Any) -> HomeKitBridge | None:
    """Make the HomeKit bridge for the service, or None when ``homekit.enabled`` is false."""
    if not service.config.homekit.enabled:
        return None
    from .bridge import HomeKitBridge  # HAP-python and zeroconf load only now

    return HomeKitBridge(service.hub, service.config)
