"""Training of ST-MFNet Mini: losses, data, the resumable trainer and the ``train`` command.

Public API: ``laplacian_loss`` / ``distillation_loss`` (losses.py), ``TrainConfig``
(config.py), ``TrainingData`` / ``validation_windows`` (data.py), the photo motion generator
(synthetic.py), ``Trainer`` (trainer.py) and ``run_training`` (job.py); ``sources.py`` and
``prefetch.py`` feed it. Nothing here is imported by the inference path; the ``train`` command
(stmfnet_trt/cli/train.py) imports only ``PRECISIONS`` from this package up front, and torch only
when ``train`` runs.

Layer 13, the applications, with ``serve/``, ``batch/``, ``bench/`` and ``gst/``
(docs/ARCHITECTURE.md; tests/test_layers.py checks it): none imports another; above every
library layer, below ``cli/``.
"""

# Training forward precisions (config.py, cli.py); validation and every exported graph stay in
# float32. Kept here because the CLI's parser may not import torch.
PRECISIONS = ("fp32", "bf16")
