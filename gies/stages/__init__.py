"""The stages of a run, each a module, in run order:

1. :mod:`~gies.stages.plan`: layer metadata, AOI, zones, constraints, the target grid, the
   resolved layers;
2. :mod:`~gies.stages.preflight`: coverage and sampled plausibility checks (also
   ``gies validate``);
3. :mod:`~gies.stages.harmonise` (with :mod:`~gies.stages.warp`): every layer onto the grid,
   in its units;
4. :mod:`~gies.stages.quality`: which factors the unit and plausibility checks keep;
5. :mod:`~gies.stages.score`, :mod:`~gies.stages.combine`, :mod:`~gies.stages.classify`,
   :mod:`~gies.stages.constrain`: the suitability model (:mod:`~gies.stages.model` runs them
   in order);
6. :mod:`~gies.stages.zonal`: zone statistics, summed in the pass that writes the rasters.

Stages are pure functions of frozen records (:class:`~gies.stages.plan.Plan`,
:class:`~gies.config.LoadedPipeline`) and lazy layers; they return new values and compute
nothing. :mod:`gies.runner` orders them and does their I/O.
"""
