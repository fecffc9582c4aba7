"""Evaluation of frame interpolation on real clips, torch-free (any backend, NumPy metrics).

Public API: ``evaluate`` / ``EvalOptions`` / ``EvalReport`` (evaluate.py), ``psnr`` and
``ssim`` (metrics.py), (``stmfnet-trt eval`` is stmfnet_trt/cli/evaluate.py).

Layer 12 (docs/ARCHITECTURE.md; tests/test_layers.py checks it): above ``api/``, below the
applications (``serve/``, ``batch/``, ``bench/``, ``train/``, ``gst/``). Modules: ``evaluate``
(drop frames, interpolate them back, score every method), ``metrics`` (PSNR, SSIM), ``windows``
(the 7-frame windows shared with training), ``minterpolate`` (FFmpeg's baseline), ``pictures``
(side-by-side crops).
"""
