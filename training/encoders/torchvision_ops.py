"""Makes `import torchvision` work with the CUDA-only torchvision 0.28 wheel on CPU torch 2.13.

torchvision's Python code registers fake kernels for its C++ ops at import time and fails with
"operator torchvision::nms does not exist" when its C++ library did not load. open_clip imports
torchvision (for transforms only), so the two op schemas it checks are defined before that
import. Nothing in CLIP calls these ops. Import this module before `open_clip` or `torchvision`.
"""

from __future__ import annotations

import torch

_SCHEMAS = {
    "nms": "nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
    "qnms": "qnms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
}
_LIBRARIES: list[torch.library.Library] = []


def _op_exists(name: str) -> bool:
    try:
        getattr(torch.ops.torchvision, name)
    except (AttributeError, RuntimeError):
        return False
    return True


def register_missing_torchvision_ops() -> None:
    """Defines the torchvision::nms / qnms schemas when torchvision's C++ ops did not load."""
    missing = [name for name in _SCHEMAS if not _op_exists(name)]
    if not missing:
        return
    library = torch.library.Library("torchvision", "FRAGMENT")
    for name in missing:
        library.define(_SCHEMAS[name])
    _LIBRARIES.append(library)


register_missing_torchvision_ops()
