"""Which specialised kernel variants a model's calls reach: the macros of its ``tc_model_config.h``.

The runtime compiles every variant by default (``runtime_c/include/tc_config.h``); a bundle turns off
the ones none of its calls can take, which is flash the model never uses (e.g. the 5x5 / 7x7
depthwise runs, ~7 KB, in a 3x3-only MobileNet). The predicates mirror the kernels' own choices, and
turning a variant off never changes an output: the kernel then takes its generic path or refuses the
call (TC_ERROR_ARGUMENT), so a mismatch here shows up as an error in the tests, never as wrong bytes.
"""

from __future__ import annotations

INPLACE_DW = "tc_depthwise_conv2d_inplace_packed_s8"
CONV_PACKED = "tc_conv2d_packed_s8"
CONV_WIDE = "tc_conv2d_packed_wide_s8"


def _all_on() -> dict:
    return {"TC_DWIP_K3": 1, "TC_DWIP_K5": 1, "TC_DWIP_K7": 1, "TC_DWIP_RUNS_FULL": 1, "TC_DWIP_RUNS_CLAMP": 1,
            "TC_DWIP_COL": 1, "TC_CONV_RQ_SSAT": 1, "TC_CONV_RQ_CLAMP": 1, "TC_CONV_QUANT": 1,
            "TC_CONV_WIDE": 1, "TC_CONV_ROWS": 1, "TC_CONV_LEAN": 1}


def kernel_config(calls) -> dict:
    """Macro name -> 0/1 for ``calls`` (the Program's Call list). A call that reaches a configurable
    kernel some other way than the plain conv2d / depthwise templates (e.g. inside a patch stage)
    keeps every variant on."""
    cfg = {k: 0 for k in _all_on()}
    for c in calls:
        a = c.args
        if c.template == "depthwise" and a.get("kernel") == INPLACE_DW:
            _, kh, kw, _ = a["filter_dims"]
            if kh == kw and kh in (3, 5, 7) and a["dilation_h"] == 1 and a["dilation_w"] == 1:
                cfg[f"TC_DWIP_K{kh}"] = 1
            # the kernel's FULL runs need a tc_rq row for every channel and the whole int8 range;
            # without a table it folds rows itself, and a group with an unfoldable channel runs CLAMP
            if a["in_dims"][2] == 1 and a["out_dims"][2] == 1 and kw == 1:
                cfg["TC_DWIP_COL"] = 1  # a 1-D layer takes the column path, nothing else
                continue
            full_range = a["act_min"] == -128 and a["act_max"] == 127
            cfg["TC_DWIP_RUNS_FULL"] |= int(full_range)
            cfg["TC_DWIP_RUNS_CLAMP"] |= int(not (full_range and a.get("folds", a["rq"])))
        elif c.template == "conv2d" and a.get("kernel") in (CONV_PACKED, CONV_WIDE):
            cfg["TC_CONV_WIDE"] |= int(a["kernel"] == CONV_WIDE)
            if a["rq"]:
                cfg["TC_CONV_LEAN" if a.get("lean") else "TC_CONV_ROWS"] = 1
            if not a["rq"]:
                cfg["TC_CONV_QUANT"] = 1
            elif a["act_max"] == 127:
                cfg["TC_CONV_RQ_SSAT"] = 1
            else:
                cfg["TC_CONV_RQ_CLAMP"] = 1
        elif INPLACE_DW in c.functions or CONV_PACKED in c.functions or CONV_WIDE in c.functions:
            return _all_on()
    return cfg
