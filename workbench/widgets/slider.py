"""A slider a screen reader can name: a native ``<input type="range">`` with its label.

ipywidgets' ``IntSlider`` draws its handle with noUiSlider and gives the handle no
name (its ``description`` is a ``<label>`` tied to nothing), so a screen reader
announces "slider" and nothing else, and axe-core reports it (rule
``aria-input-field-name``, serious). This widget is the browser's own range input
inside a ``<label>``: named by ``description``, moved by keyboard (arrows, Home,
End, Page Up/Down: JupyterLab's notebook shortcuts don't take these keys from it) as
well as by mouse, and read out next to it (``<output
class="widget-readout">``). It keeps ``IntSlider``'s traits (``value``, ``min``,
``max``, ``step``, ``description``), so code that assigns or observes them works
the same. It draws offline: the ES module is the text below, sent by the kernel.

>>> slider = LabelledSlider(description="Version", min=1, max=5, value=3)
>>> slider.value = slider.max
>>> slider.value
5
"""

from __future__ import annotations

from typing import Any

import anywidget
import traitlets

__all__ = ["LabelledSlider"]

_ESM = """
function render({ model, el }) {
  const label = document.createElement("label");
  label.className = "wb-slider-label";
  const text = document.createElement("span");
  text.className = "wb-slider-description";
  const input = document.createElement("input");
  input.type = "range";
  // the arrow keys move the slider: JupyterLab's notebook shortcuts (ArrowLeft folds
  // a heading in command mode) must not take them
  input.setAttribute("data-lm-suppress-shortcuts", "true");
  const readout = document.createElement("output");
  readout.className = "widget-readout";
  label.append(text, input, readout);
  el.appendChild(label);
  const show = () => {
    input.min = String(model.get("min"));
    input.max = String(model.get("max"));
    input.step = String(model.get("step"));
    input.value = String(model.get("value"));
    readout.textContent = String(model.get("value"));
    text.textContent = model.get("description");
    input.disabled = model.get("disabled");
  };
  const changed = () => {
    readout.textContent = input.value;
    model.set("value", Number(input.value));
    model.save_changes();
  };
  input.addEventListener("input", changed);
  const names = "change:value change:min change:max change:step change:description change:disabled";
  model.on(names, show);
  show();
  return () => model.off(names, show);
}
export default { render };
"""

_CSS = """
.wb-slider-label { display: inline-flex; align-items: center; gap: 8px; }
.wb-slider-label input[type="range"] { width: 240px; }
.wb-slider-label .widget-readout { min-width: 3em; }
"""


class LabelledSlider(anywidget.AnyWidget):  # type: ignore[misc]
    """An integer slider named by ``description`` for screen readers and keyboards."""

    _esm = _ESM
    _css = _CSS
    value = traitlets.Int(0).tag(sync=True)
    """The chosen integer (kept between ``min`` and ``max``)."""
    min = traitlets.Int(0).tag(sync=True)
    """The smallest value."""
    max = traitlets.Int(100).tag(sync=True)
    """The largest value."""
    step = traitlets.Int(1).tag(sync=True)
    """The distance between two values the slider stops at."""
    description = traitlets.Unicode("").tag(sync=True)
    """The label shown before the slider; also its name for a screen reader."""
    disabled = traitlets.Bool(False).tag(sync=True)
    """Whether the slider is greyed out and cannot be moved."""

    @traitlets.validate("value")
    def _clamp(self, proposal: Any) -> int:
        return max(self.min, min(self.max, int(proposal["value"])))

    @traitlets.observe("min", "max")
    def _bounds(self, change: Any) -> None:
        if self.min > self.max:
            if change["name"] == "min":
                self.max = self.min
            else:
                self.min = self.max
        self.value = max(self.min, min(self.max, self.value))
