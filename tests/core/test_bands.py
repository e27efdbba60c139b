import math

import pytest

from labelcheck.agreement.bands import band, krippendorff_band, landis_koch


@pytest.mark.parametrize(
    "value, name",
    [(-0.1, "poor"), (0.0, "slight"), (0.2, "slight"), (0.21, "fair"), (0.6, "moderate"),
     (0.61, "substantial"), (0.81, "almost perfect"), (1.0, "almost perfect")],
)
def test_landis_koch_bands(value: float, name: str) -> None:
    # Landis & Koch (1977), Biometrics 33(1), p. 165
    assert landis_koch(value) == name


def test_krippendorff_bands() -> None:
    assert krippendorff_band(0.8) == "reliable"
    assert krippendorff_band(0.667) == "tentative"
    assert krippendorff_band(0.6669) == "unreliable"
    assert krippendorff_band(math.nan) == "undefined"
    with pytest.raises(ValueError, match="convention must be"):
        band(0.5, "cicchetti")  # type: ignore[arg-type]
