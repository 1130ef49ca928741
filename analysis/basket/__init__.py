"""Basket-trial designs for CAR-T across SLE, IIM and SSc: a deterministic posterior engine
(:mod:`analysis.bayes.engine`), design files and operating characteristics
(:mod:`analysis.basket.spec`, :mod:`analysis.basket.design`), an executor for simulation studies
(:mod:`analysis.basket.executor`) (benchmarks: :mod:`tools.bench_basket`)."""
