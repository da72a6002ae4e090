"""Parts of the massage room on gpiozero (libvlc for the speaker, w1thermsensor for pad sensors).

This package imports nothing else of massage-hub.
"""

from .button import WallButton
from .diffuser import Diffuser, DiffuserMode
from .heatpad import HEAT_LEVELS, HeatLevel, HeatPad
from .light import DimmableLight
from .pins import PinMirror, SimFactory, make_pin_factory, normalize_pin
from .room import Room
from .speaker import SilentSpeaker, Speaker
from .thermal_model import ThermalModel
from .thermometer import (
    W1_DEVICES,
    Reading,
    SimThermometer,
    ThermometerError,
    W1Thermometer,
    find_sensors,
)

__all__ = [
    "HEAT_LEVELS",
    "W1_DEVICES",
    "Diffuser",
    "DiffuserMode",
    "DimmableLight",
    "HeatLevel",
    "HeatPad",
    "PinMirror",
    "Reading",
    "Room",
    "SilentSpeaker",
    "SimFactory",
    "SimThermometer",
    "Speaker",
    "ThermalModel",
    "ThermometerError",
    "W1Thermometer",
    "WallButton",
    "find_sensors",
    "make_pin_factory",
    "normalize_pin",
]
