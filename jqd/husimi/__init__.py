"""Husimi-function Fokker-Planck law with commutator diffusion (SPEC §4)."""
