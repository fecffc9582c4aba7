"""Training of ST-MFNet Mini: losses, data, the resumable trainer and the ``train`` command.

Public API: ``laplacian_loss`` / ``distillation_loss`` (losses.py), ``TrainConfig``
(config.py), ``TrainingData`` / ``validation_windows`` (data.py), the photo motion generator
(synthetic.py), ``Trainer`` (trainer.py), ``run_training`` (job.py) and ``add_train_parser``
(cli.py). Nothing here is imported by the inference path; only ``cli.py`` is imported by
``stmfnet-trt`` itself, and it loads torch only when ``train`` runs.
"""

# Training forward precisions (config.py, cli.py); validation and every exported graph stay in
# float32. Kept here because the CLI's parser may not import torch.
PRECISIONS = ("fp32", "bf16")
