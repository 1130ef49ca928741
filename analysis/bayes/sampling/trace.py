"""Trace a registered model's NUTS sampler as one JAX program of (parameters, hyperparameters, counts)."""

from __future__ import annotations

import numpy as np

from analysis.bayes.models.base import Model
from analysis.bayes.units import Units
from analysis.settings import MCMC


def padded_size(k: int, multiple: int) -> int:
    """The number of units after padding ``k`` units with empty ones to a multiple of ``multiple`` (0: none)."""
    return max(multiple, -(-k // multiple) * multiple) if multiple > 0 else k


def _program_key(spec: Model, size: int, mcmc: MCMC) -> tuple:
    return (spec.structure(), size, mcmc.tune, mcmc.draws, mcmc.chains, mcmc.target_accept)


def _trace(spec: Model, size: int, mcmc: MCMC):
    """Trace and lower the sampler for ``spec``'s structure, ``size`` units and ``mcmc`` (not yet compiled).

    Returns the lowered program and its metadata: the names of its data arguments, the shapes of the parameters,
    the names and dimensions of its outputs.
    """
    import jax
    import jax.numpy as jnp

    jax.config.update("jax_enable_x64", True)
    from numpyro.infer.hmc import hmc
    from pytensor.graph.replace import clone_replace

    labels = tuple(f"u{i}" for i in range(size))
    template = spec.build(Units(labels, (0,) * size, (1,) * size))
    names = [*spec.hyperparameters(), *spec.unit_hyperparameters(labels), "events", "trials"]
    shared = [template[name] for name in names]
    inputs = [v.type() for v in shared]
    outputs = clone_replace([template.logp(), *template.unobserved_value_vars], replace=dict(zip(shared, inputs)))
    logp = get_jaxified_graph(inputs=[*template.value_vars, *inputs], outputs=outputs[:1])
    post = get_jaxified_graph(inputs=[*template.value_vars, *inputs], outputs=outputs[1:])
    post_names = [v.name for v in template.unobserved_value_vars]
    init_kernel, sample_kernel = hmc(potential_fn_gen=lambda data: lambda z: -logp(*z, *data)[0], algo="NUTS")
    tune, draws, accept = mcmc.tune, mcmc.draws, mcmc.target_accept

    def chain(rng_key, z0, data):
        state = init_kernel(z0, tune, target_accept_prob=accept, model_args=(data,), rng_key=rng_key)

        def step(st, _):  # one kernel for warm-up and draws: it adapts while st.i < tune
            st = sample_kernel(st, model_args=(data,))
            stats = (
                st.diverging,
                st.num_steps,
                st.accept_prob,
                st.energy,
                st.adapt_state.step_size,
                -st.potential_energy,
            )
            return st, (st.z, stats)

        _, (z, stats) = jax.lax.scan(step, state, None, length=tune + draws)
        z, stats = jax.tree.map(lambda a: a[tune:], (z, stats))
        return jax.vmap(lambda *zz: post(*zz, *data))(*z), stats

    point = template.initial_point()
    shapes = [point[v.name].shape for v in template.value_vars]
    dims = {name: tuple(template.named_vars_to_dims.get(name, ())) for name in post_names}
    values = {
        **spec.hyperparameters(),
        **spec.unit_hyperparameters(labels),
        "events": np.zeros(size, "int64"),
        "trials": np.zeros(size, "int64"),
    }
    args = (
        jax.random.split(jax.random.PRNGKey(0), mcmc.chains),
        [jnp.zeros((mcmc.chains, *shape)) for shape in shapes],
        [jnp.asarray(values[name]) for name in names],
    )
    jitted = jax.jit(jax.vmap(chain, in_axes=(0, 0, None)))
    return jitted.lower(*args), (names, shapes, post_names, dims)


def _register_checks_passthrough() -> None:
    """Parameter checks pass values through under JAX (as ``pymc.sampling.jax`` registers them): JAX cannot
    assert on traced values, and the priors' parameters are validated before sampling (:mod:`analysis.bayes.prior`)."""
    from pymc.logprob.utils import CheckParameterValue
    from pytensor.link.jax.dispatch import jax_funcify
    from pytensor.raise_op import Assert

    def passthrough(op, **kwargs):
        return lambda value, *conditions: value

    jax_funcify.register(Assert)(passthrough)
    jax_funcify.register(CheckParameterValue)(passthrough)


def get_jaxified_graph(inputs: list, outputs: list):
    """A PyTensor graph as a JAX function, rewritten as PyMC's JAX samplers do (``pymc.sampling.jax``).

    Not imported from there: importing ``pymc.sampling.jax`` rewrites ``XLA_FLAGS`` (and drops flags of ours), so
    the steps of a build would compile under different flags and not share compiled programs.  In the graphs here
    data and hyperparameters are inputs; the remaining shared variables (dimension lengths) become constants.
    """
    import pytensor.tensor as pt
    from pytensor.compile.mode import JAX
    from pytensor.compile.sharedvalue import SharedVariable
    from pytensor.graph.fg import FunctionGraph
    from pytensor.graph.replace import clone_replace
    from pytensor.graph.traversal import graph_inputs
    from pytensor.link.jax.dispatch import jax_funcify

    _register_checks_passthrough()
    shared = [v for v in graph_inputs(outputs) if isinstance(v, SharedVariable)]
    constants = {v: pt.constant(v.get_value(borrow=True), name=v.name) for v in shared}
    fgraph = FunctionGraph(inputs=inputs, outputs=clone_replace(outputs, replace=constants), clone=True)
    JAX.optimizer.rewrite(fgraph)
    return jax_funcify(fgraph)
