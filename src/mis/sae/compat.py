"""The parts of the ``overcomplete`` library (0.3.0) that the training uses.

overcomplete builds colormaps when imported, with ``matplotlib.cm.get_cmap``, which matplotlib 3.9
removed (the project pins 3.11): that alias is restored first, as the colormap registry's lookup
that replaced it. Importing this module loads overcomplete (and its scikit-learn, scikit-image and
OpenCV imports, about 1.5 s on top of torch), so only the training imports it.
"""

from __future__ import annotations

import matplotlib
import matplotlib.cm

if not hasattr(matplotlib.cm, "get_cmap"):
    matplotlib.cm.get_cmap = matplotlib.colormaps.get_cmap

from overcomplete.sae import SAE, DictionaryLayer, train_sae  # after the alias

__all__ = ["SAE", "DictionaryLayer", "train_sae"]
