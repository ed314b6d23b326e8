"""Tests of the variational spiking network family (synlearn.spiking)."""
