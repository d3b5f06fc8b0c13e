"""Package layering: features and models load without the prediction package."""

from __future__ import annotations

import subprocess
import sys

MODULES = ("nbaprops.features.reader", "nbaprops.features.store", "nbaprops.models.calibration",
           "nbaprops.models.registry", "nbaprops.models.systems")


def test_features_and_models_do_not_load_the_prediction_package() -> None:
    code = (f"import sys, {', '.join(MODULES)}\n"
            "bad = sorted(m for m in sys.modules if m == 'nbaprops.predict' or m.startswith('nbaprops.predict.'))\n"
            "print(','.join(bad))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_recommend_re_exports_the_models_calibrator() -> None:
    from nbaprops.models.calibration import Calibrator
    from nbaprops.predict import recommend

    assert recommend.Calibrator is Calibrator
