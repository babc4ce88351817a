"""The receipt's QR code: a link (the capture's status page) drawn as a
square of modules, black on white, as large as its box, with sharp module
edges (no smoothing), so a phone camera reads it from the screen."""

from __future__ import annotations

import numpy as np
import segno
from kivy.factory import Factory
from kivy.graphics import Color, Rectangle
from kivy.graphics.texture import Texture
from kivy.properties import ObjectProperty, StringProperty
from kivy.uix.widget import Widget

# The standard's quiet zone is 4 modules; the receipt is white around the
# code, so 2 drawn here leave more pixels for each module on a small screen.
QUIET_MODULES = 2


def qr_modules(data: str) -> np.ndarray:
    """The code as a boolean array (True: dark), quiet zone included.
    Error level M: a screen's glare may hide a corner."""
    matrix = np.array(segno.make_qr(data, error="m").matrix, dtype=bool)
    return np.pad(matrix, QUIET_MODULES, constant_values=False)


class QrCode(Widget):
    """Draws `data` as a QR code, centred, as large as fits ('' draws nothing)."""

    data = StringProperty("")
    texture = ObjectProperty(None, allownone=True)

    def on_data(self, *_: object) -> None:
        if not self.data:
            self.texture = None
        else:
            modules = qr_modules(self.data)
            pixels = np.where(modules, 0, 255).astype(np.uint8)[::-1]  # GL rows go up
            rgb = np.ascontiguousarray(np.repeat(pixels[:, :, None], 3, axis=2))
            texture = Texture.create(size=(rgb.shape[1], rgb.shape[0]), colorfmt="rgb")
            texture.blit_buffer(rgb.tobytes(), colorfmt="rgb", bufferfmt="ubyte")
            texture.mag_filter = texture.min_filter = "nearest"  # sharp module edges
            self.texture = texture
        self._draw()

    def on_size(self, *_: object) -> None:
        self._draw()

    def on_pos(self, *_: object) -> None:
        self._draw()

    def _draw(self) -> None:
        self.canvas.clear()
        if self.texture is None:
            return
        n = self.texture.width
        # The whole box: on a small screen 2.9 pixels a module (some 2, some 3)
        # read better than 2 each; on a large one the difference is nothing.
        side = max(n, int(min(self.width, self.height)))
        # From x and width, not center_x: that alias is not updated yet inside on_size.
        with self.canvas:
            Color(1, 1, 1, 1)
            Rectangle(texture=self.texture, size=(side, side),
                      pos=(int(self.x + (self.width - side) / 2),
                           int(self.y + (self.height - side) / 2)))


Factory.register("QrCode", cls=QrCode)
