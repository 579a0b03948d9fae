"""Diffusion quantum mechanics (SPEC §2, §3, §6): Madelung and canonical (ρ, S)
laws, Nelson and Bohmian ensembles, quantum statistics."""

from ._nelson import BohmEnsemble as BohmEnsemble
from ._nelson import EnsembleState as EnsembleState
from ._nelson import NelsonEnsemble as NelsonEnsemble
from ._nelson import ParticleHistogram as ParticleHistogram
from ._nelson import ParticleMoments as ParticleMoments
from ._nelson import grid_cdf as grid_cdf
from ._nelson import grid_cdf_function as grid_cdf_function
from ._nelson import guidance_velocities as guidance_velocities
from ._nelson import histogram as histogram
from ._nelson import interpolate as interpolate
from ._nelson import ks_distance as ks_distance
from ._nelson import sample_density as sample_density
