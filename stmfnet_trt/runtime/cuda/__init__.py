"""CUDA for the TensorRT runtime, through a small binding interface so the logic runs on fakes.

Layer 8 (docs/ARCHITECTURE.md; tests/test_layers.py checks it): above ``calibration/``, below
``engine/``. Nothing here imports torch.

Modules: ``binding`` (the ``CudaBinding`` interface and host buffers), ``cuda_python_binding`` and
``pycuda_binding`` (its two implementations), ``selection`` (which one is used), ``memory``
(device buffers for the per-batch path), ``trt_pipeline`` (one x2 level with decode, upload,
inference, download and encode overlapped; where each frame lives on the device is
``scheduling.frame_ring``'s, the logic the host's window ring shares).
"""
