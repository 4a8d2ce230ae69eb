"""Jinja rendering of a Program into C files. Templates render; Python has decided every value."""

from __future__ import annotations

import jinja2

from tinycompiler import __version__
from tinycompiler.codegen.kernel_config import kernel_config
from tinycompiler.resources import TEMPLATES


def _c_initializer(array) -> str:
    return array.initializer()


def environment() -> jinja2.Environment:
    """The template environment: strict (an unknown name is an error, never empty C)."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
    )
    env.filters["c_initializer"] = _c_initializer
    return env


def op_macros(env, program) -> dict:
    """template name -> its macro module (``decl`` and ``call`` macros) for the calls used."""
    return {name: env.get_template(f"ops/{name}.c.j2").module for name in {c.template for c in program.calls}}


def render_model(program, headers) -> dict:
    """file name -> text for model.h, model.c, model_weights.h, weights.c and tc_model_config.h."""
    env = environment()
    ctx = {"p": program, "version": __version__, "ops": op_macros(env, program), "headers": headers}
    return {
        "model.h": env.get_template("model.h.j2").render(ctx),
        "model.c": env.get_template("model.c.j2").render(ctx),
        "model_weights.h": env.get_template("model_weights.h.j2").render(ctx),
        "weights.c": env.get_template("weights.c.j2").render(ctx),
        "tc_model_config.h": env.get_template("tc_model_config.h.j2").render(
            ctx, config=kernel_config(program.calls)),
    }


def render_template(template: str, **ctx) -> str:
    """Render any other template (e.g. a harness main) with ``ctx``."""
    return environment().get_template(template).render(version=__version__, **ctx)
