"""Diffusion quantum mechanics (SPEC §2, §3, §6): Madelung and canonical (ρ, S)
laws, Nelson and Bohmian ensembles, quantum statistics."""
