"""The safety invariants as Hypothesis state machines."""
