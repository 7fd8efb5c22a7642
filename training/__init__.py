"""PyTorch side of Art2Music: corpora, data set, encoders, models, losses, training, evaluation.

torchvision 0.28's CUDA-only wheel fails to import on CPU torch unless two op schemas exist;
they are defined here, once, before anything below can import torchvision or open_clip.
"""

from training.encoders import torchvision_ops as _torchvision_ops  # noqa: F401
