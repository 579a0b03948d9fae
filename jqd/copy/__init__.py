"""Smolin's copy dynamics (SPEC §5): mean-field law, stochastic copy process."""
