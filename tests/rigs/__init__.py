"""What the tests start and drive: brokers, browsers, services, rigs."""
