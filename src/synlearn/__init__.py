"""synlearn: normative local learning rules in recurrent and spiking networks."""

__version__ = "0.1.0"
