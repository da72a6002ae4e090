"""Parts of the massage room on gpiozero (and libvlc for the speaker).

This package imports nothing else of massage-hub.
"""

from .button import WallButton
from .diffuser import Diffuser, DiffuserMode
from .heatpad import HEAT_LEVELS, HeatLevel, HeatPad
from .light import DimmableLight
from .pins import PinMirror, SimFactory, make_pin_factory, normalize_pin
from .room import Room
from .speaker import SilentSpeaker, Speaker

__all__ = [
    "HEAT_LEVELS",
    "Diffuser",
    "DiffuserMode",
    "DimmableLight",
    "HeatLevel",
    "HeatPad",
    "PinMirror",
    "Room",
    "SilentSpeaker",
    "SimFactory",
    "Speaker",
    "WallButton",
    "make_pin_factory",
    "normalize_pin",
]
