"""Click parameter types shared by the command groups."""

from __future__ import annotations

import math

import click


class FiniteRange(click.FloatRange):
    """A float within [min, max] that is a real number: click's FloatRange lets "nan" through, because no
    comparison with NaN is ever true."""

    name = "finite float range"

    def convert(self, value, param, ctx):
        number = super().convert(value, param, ctx)
        if number is not None and not math.isfinite(number):
            self.fail(f"{value!r} is not a number", param, ctx)
        return number
