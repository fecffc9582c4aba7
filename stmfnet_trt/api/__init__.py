"""The library's front: the interpolator over any backend, and the engine build chain with its gates.

Layer: above runtime.backends and engine (it opens backends from specs and runs engines for the
gate), below the applications and the CLI. ``stmfnet_trt`` re-exports its public names.
"""
