"""Fixed-point types ap_fixed<W,I> of the firmware: parsing the config's precisions and widening a type's integer bits
to the range of the values it holds (what one does by hand after hls4ml's profiling)."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace

from rootml.errors import ConfigError

PATTERN = re.compile(r"^ap_fixed<(\d+),(\d+)>$")


@dataclass(frozen=True)
class FixedPoint:
    """Signed ap_fixed<width, integer, rounding, overflow>: integer bits include the sign bit."""

    width: int
    integer: int
    rounding: str = "AP_TRN"
    overflow: str = "AP_WRAP"

    @classmethod
    def parse(cls, text: str, rounding: str = "AP_TRN", overflow: str = "AP_WRAP",
              key: str = "firmware.precisions") -> FixedPoint:
        """The type written 'ap_fixed<W,I>' (config key `key` in the error), with the given modes."""
        match = PATTERN.match(text.replace(" ", ""))
        if match is None:
            raise ConfigError(key, f"'{text}' is not of the form ap_fixed<W,I>")
        width, integer = int(match.group(1)), int(match.group(2))
        if not 0 < width or integer > width:
            raise ConfigError(key, f"'{text}': need 0 < W and I <= W")
        return cls(width, integer, rounding, overflow)

    @property
    def fractional(self) -> int:
        """Bits after the binary point."""
        return self.width - self.integer

    @property
    def name(self) -> str:
        """ap_fixed<W,I> (the scan's label, without modes)."""
        return f"ap_fixed<{self.width},{self.integer}>"

    def __str__(self) -> str:
        """The C++ type: ap_fixed<W,I> with the default modes, else ap_fixed<W,I,rounding,overflow>."""
        if (self.rounding, self.overflow) == ("AP_TRN", "AP_WRAP"):
            return self.name
        return f"ap_fixed<{self.width},{self.integer},{self.rounding},{self.overflow}>"

    def widened(self, max_abs: float, headroom: int = 0) -> FixedPoint:
        """This type with enough integer bits for |values| up to `max_abs` (+ headroom), never fewer than now; the
        fractional bits stay."""
        integer = max(self.integer, integer_bits_for(max_abs) + headroom)
        return replace(self, width=self.fractional + integer, integer=integer)


def integer_bits_for(max_abs: float) -> int:
    """Integer bits (sign included) of the smallest signed ap_fixed range [-2^(I-1), 2^(I-1)) holding +-max_abs."""
    if not math.isfinite(max_abs):
        raise ValueError(f"cannot size a fixed-point type for the value {max_abs}")
    if max_abs <= 0:
        return 1
    return math.floor(math.log2(max_abs)) + 2
