import jax; jax.config.update("jax_enable_x64", True)
import jax.numpy as jnp, matplotlib.pyplot as plt, jqd

grid = jqd.Grid(512, 60.0)                                   # free Gaussian packet, physics §1
law = jqd.SchrodingerGrid(grid)
psi0 = jqd.reference.gaussian_packet(grid, a=1.0, p0=1.0)
packet = jqd.evolve(law, psi0, jqd.SchrodingerParams(), dt=0.1, n_save=50, observe=jqd.observables.Density(law))
kerr = jqd.evolve(jqd.SchrodingerBasis(), jqd.fock.coherent_state(2.0, 40), jqd.MatrixParams(jqd.fock.kerr_hamiltonian(40)),
                  dt=0.02 * jnp.pi, n_save=100, observe=jqd.observables.Expect(jqd.fock.destroy(40)))
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
ax1.imshow(packet.observables.T, aspect="auto", origin="lower", extent=(0, 5, -30, 30)); ax1.set(xlabel="t", ylabel="x", title="|ψ(x,t)|²")
ax2.plot(kerr.ts, kerr.observables.real, label="Re⟨a⟩"); ax2.plot(kerr.ts, jqd.reference.kerr_mean_a(kerr.ts, 2.0).real, "--", label="closed form")
ax2.set(xlabel="Ut", title="Kerr collapse and revival"); ax2.legend(); fig.savefig("quickstart.png")
