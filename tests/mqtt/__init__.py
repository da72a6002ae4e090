"""Home Assistant over MQTT: a real Mosquitto, a real Home Assistant."""
