"""Evaluation of frame interpolation on real clips, torch-free (any backend, NumPy metrics).

Public API: ``evaluate`` / ``EvalOptions`` / ``EvalReport`` (evaluate.py), ``psnr`` and
``ssim`` (metrics.py), ``add_eval_parser`` (cli.py, for ``stmfnet-trt eval``).
"""
