"""Get a decomposed :class:`torch.export.ExportedProgram` from a ``.pt2`` file or an nn.Module.

Decompositions run to core aten *except* for the ops the lowering understands as a whole
(conv2d, batch_norm, linear, hardswish, hardsigmoid, pools, flatten): decomposing those would turn
e.g. Hardswish into add/clamp/mul/div chains that no longer map onto one int8 TFLite op.
"""

from __future__ import annotations

import warnings
from contextlib import contextmanager
from pathlib import Path

from tinycompiler.errors import TinyCompilerError


@contextmanager
def _quiet():
    """torch's own deprecation noise (pytree FutureWarnings) is not the user's to act on."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        warnings.simplefilter("ignore", UserWarning)
        yield


def _keep_ops():
    import torch

    aten = torch.ops.aten
    return (
        aten.conv2d.default, aten.batch_norm.default, aten.linear.default, aten.hardswish.default,
        aten.hardsigmoid.default, aten.hardtanh.default, aten.flatten.using_ints,
        aten.adaptive_avg_pool2d.default, aten.max_pool2d.default, aten.avg_pool2d.default,
        aten.softmax.int,
    )


def decompose(ep):
    """Run decompositions to core aten, keeping the ops listed in :func:`_keep_ops`."""
    import torch

    table = torch.export.default_decompositions()
    for op in _keep_ops():
        table.pop(op, None)
    try:
        with _quiet():
            return ep.run_decompositions(table)
    except Exception as e:  # torch raises many types here; the user needs one line
        raise TinyCompilerError(f"torch could not decompose the exported program: {type(e).__name__}: {e}") from None


def load_pt2(path):
    """Load a ``torch.export.save``-d program (``.pt2``) and decompose it."""
    import torch

    p = Path(path)
    try:
        with _quiet():
            ep = torch.export.load(str(p))
    except Exception as e:
        raise TinyCompilerError(f"cannot load {p.name} as a torch.export program (.pt2 written by "
                                f"torch.export.save): {type(e).__name__}: {e}") from None
    return decompose(ep)


def export_module(module, example_input):
    """``torch.export.export`` an nn.Module (in eval mode) on one example input, then decompose."""
    import torch

    if example_input is None:
        raise TinyCompilerError("exporting an nn.Module needs an example input (a tensor shaped like "
                                "one batch of the model's input, e.g. torch.zeros(1, 3, 32, 32))")
    module = module.eval()
    x = torch.as_tensor(example_input, dtype=torch.float32)
    try:
        with _quiet():
            ep = torch.export.export(module, (x,))
    except Exception as e:
        raise TinyCompilerError(f"torch.export.export failed on {type(module).__name__}: "
                                f"{type(e).__name__}: {e}") from None
    return decompose(ep)


def exported_program(model, example_input=None):
    """An ExportedProgram, decomposed, from a path (``.pt2``), an ExportedProgram or an nn.Module."""
    import torch

    if isinstance(model, (str, Path)):
        return load_pt2(model)
    if isinstance(model, torch.export.ExportedProgram):
        return decompose(model)
    if isinstance(model, torch.nn.Module):
        return export_module(model, example_input)
    raise TinyCompilerError(f"cannot convert a {type(model).__name__}; pass a .pt2 path, a "
                            f"torch.export.ExportedProgram or an nn.Module with an example input")
