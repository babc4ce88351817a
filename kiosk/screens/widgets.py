"""Widgets the screens share: buttons, self-fitting labels, the live preview.

Styles (colours, rounded corners) are in common.kv; sizes come from the
window height (app.u = 1 % of it), so layouts scale from 800x480 to 1080p.
"""

from __future__ import annotations

import re
from io import BytesIO
from typing import Callable

import numpy as np
from kivy.clock import Clock
from kivy.core.image import Image as CoreImage
from kivy.factory import Factory
from kivy.graphics import Color, Line, Rectangle
from kivy.graphics.texture import Texture
from kivy.properties import BooleanProperty, ListProperty, NumericProperty, ObjectProperty, StringProperty
from kivy.uix.behaviors import ButtonBehavior
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.label import Label
from kivy.uix.widget import Widget

from kiosk.screens import style
from kiosk.screens.overlay import DEFAULT_FACE_SHARE, Rect, overlay_geometry


# Chinese line-breaking rules (kinsoku): these may not start a line ...
NO_LINE_START = set("，。、：；！？）》」』”’…%,.:;!?)]}")
# ... and these may not end one.
NO_LINE_END = set("（《「『“‘([{")
BREAK_AFTER = set("，。；：！？、")  # good places to break a Chinese line
_TOKEN = re.compile(r"[A-Za-z0-9*#@._/+'-]+|\s+|.")


def wrap_text(text: str, width: float, measure: Callable[[str], float]) -> str:
    """Break text into lines no wider than width, keeping words and numbers whole
    and never starting a line with closing punctuation (Kivy breaks Chinese anywhere)."""
    out = []
    for paragraph in text.split("\n"):
        lines: list[str] = []
        cur: list[str] = []
        cur_w = 0.0
        for tok in _TOKEN.findall(paragraph):
            w = measure(tok)
            if cur and cur_w + w > width and not tok.isspace():
                carry: list[str] = []
                # break after a comma or full stop if that keeps the line half full
                for i in range(len(cur) - 1, 0, -1):
                    if cur[i] in BREAK_AFTER and i + 1 < len(cur) and cur[i + 1][0] in NO_LINE_START:
                        continue  # "？）": the bracket may not start the next line
                    if cur[i] in BREAK_AFTER:
                        if sum(measure(t) for t in cur[: i + 1]) >= width * 0.5 and i < len(cur) - 1:
                            carry, cur = cur[i + 1 :], cur[: i + 1]
                        break
                if not carry and tok[0] in NO_LINE_START and len(cur) > 1:
                    carry.append(cur.pop())  # take the last character along
                while len(cur) > 1 and cur[-1][-1] in NO_LINE_END:
                    carry.insert(0, cur.pop())
                lines.append("".join(cur).rstrip())
                cur, cur_w = carry, sum(measure(t) for t in carry)
            if not cur and tok.isspace():
                continue
            cur.append(tok)
            cur_w += w
        lines.append("".join(cur).rstrip())
        out.append("\n".join(lines))
    return "\n".join(out)


class WrapLabel(Label):
    """A label that wraps to its width with Chinese line-breaking rules.

    `text` stays what kv set; the wrapped copy goes to the core label only.
    """

    rewrap_on: tuple[str, ...] = ("text", "width", "font_size", "padding")

    def __init__(self, **kw) -> None:
        self._wrap_trigger = Clock.create_trigger(self._rewrap, -1)
        super().__init__(**kw)
        for prop in self.rewrap_on:
            self.fbind(prop, self._wrap_trigger)

    def _avail_width(self) -> float:
        pad = self.padding
        left, right = (pad[0], pad[2]) if len(pad) == 4 else (pad[0], pad[0])
        return self.width - left - right - 2  # 2 px spare: Kivy must not wrap again

    def _rewrap(self, *_: object) -> None:
        if self.width < 2:
            return
        self.text_size = (self.width, None)
        self._apply_wrap()

    balance = False

    def _apply_wrap(self) -> None:
        core = self._label
        widths: dict[str, float] = {}

        def measure(s: str) -> float:
            if s not in widths:
                widths[s] = core.get_extents(s)[0]
            return widths[s]

        width = self._avail_width()
        text = wrap_text(self.text, width, measure)
        if self.balance and self.halign == "center" and "\n" in text and "\n" not in self.text:
            # narrowest width that still gives the same number of lines
            lines = text.count("\n")
            lo, hi = width / (lines + 1), width
            for _ in range(8):
                mid = (lo + hi) / 2
                if wrap_text(self.text, mid, measure).count("\n") == lines:
                    hi = mid
                else:
                    lo = mid
            text = wrap_text(self.text, hi, measure)
        core.text = text
        self.texture_update()


class FitLabel(WrapLabel):
    """A wrapping label that shrinks its font until the text fits its box.

    With `balance`, wrapped lines are made about equally long (no lone last
    character under a big hint).
    """

    max_font = NumericProperty(20)
    min_font = NumericProperty(8)
    scale = NumericProperty(1.0)  # the 大字 option (app.text_scale, bound in common.kv)
    balance = BooleanProperty(True)
    # not font_size: the fitting sets it
    rewrap_on = ("text", "width", "height", "padding", "max_font", "min_font", "scale")

    def _rewrap(self, *_: object) -> None:
        if self.width < 2 or self.height < 2:
            return
        self.text_size = (self.width, None)
        size = self.max_font * self.scale
        while True:
            self.font_size = size
            self._apply_wrap()
            tw, th = self.texture_size
            if (th <= self.height and tw <= self.width + 1) or size <= self.min_font:
                return
            size = max(self.min_font, size * 0.9)


class KButton(ButtonBehavior, FitLabel):
    """A big rounded touch button; `code` is the kiosk.codes.Button it forwards."""

    code = StringProperty("")
    primary = BooleanProperty(True)
    bg = ListProperty(style.BLUE)
    fg = ListProperty(style.WHITE)
    bg_down = ListProperty(style.BLUE_DARK)
    outline = ListProperty([0, 0, 0, 0])


class Pane(BoxLayout):
    """A box that can be hidden in place, for panes stacked in one FloatLayout
    (staff mode's PIN pad and its pages): hidden, it is invisible and lets
    touches through to the pane shown under it. (A `disabled` widget would
    not do: it swallows every touch on its area.)"""

    shown = BooleanProperty(True)

    def on_touch_down(self, touch) -> bool:
        return bool(self.shown and super().on_touch_down(touch))

    def on_touch_move(self, touch) -> bool:
        return bool(self.shown and super().on_touch_move(touch))

    def on_touch_up(self, touch) -> bool:
        return bool(self.shown and super().on_touch_up(touch))


class Rows(BoxLayout):
    """A small table of FitLabels: `count` rows of len(`cols`) cells, `cols`
    their width shares. `rows` gives each row's cells as (text, rgba); rows
    not given stay blank, so the layout does not jump as data comes and goes.
    Every cell gets the same font size: the largest at which all fit."""

    rows = ListProperty([])
    cols = ListProperty([1.0])
    count = NumericProperty(4)
    max_font = NumericProperty(20)
    cell_spacing = NumericProperty(8)

    def __init__(self, **kw) -> None:
        kw.setdefault("orientation", "vertical")
        self._cells: list[list[Label]] = []
        self._build_trigger = Clock.create_trigger(self._build, -1)
        self._equalize_trigger = Clock.create_trigger(self._equalize, -1)
        super().__init__(**kw)
        for prop in ("cols", "count", "max_font", "cell_spacing"):
            self.fbind(prop, self._build_trigger)
        self._build()

    def _build(self, *_: object) -> None:
        self.clear_widgets()
        self._cells = []
        for _row in range(int(self.count)):
            line = BoxLayout(spacing=self.cell_spacing)
            cells = []
            for share in self.cols:
                cell = FitLabel(halign="left", size_hint_x=share, max_font=self.max_font)
                cell.bind(size=self._equalize_trigger)
                line.add_widget(cell)
                cells.append(cell)
            self.add_widget(line)
            self._cells.append(cells)
        self.on_rows(self, self.rows)

    def on_rows(self, _w: Widget, rows: list) -> None:
        for i, cells in enumerate(self._cells):
            row = rows[i] if i < len(rows) else ()
            for j, cell in enumerate(cells):
                text, colour = row[j] if j < len(row) else ("", style.INK)
                cell.text = text
                cell.color = colour
        self._equalize_trigger()

    def _equalize(self, *_: object) -> None:
        cells = [c for row in self._cells for c in row if c.text and c.width > 1 and c.height > 1]
        fitted = []
        for cell in cells:  # each cell's own fit first...
            cell.max_font = self.max_font
            cell._rewrap()
            fitted.append(cell.font_size)
        for cell in cells:  # ...then all at the smallest of them
            cell.max_font = min(fitted)
            cell._rewrap()


class Header(BoxLayout):
    """The band at the top of a screen (layout in common.kv)."""

    title = StringProperty("")
    seconds_left = NumericProperty(0)
    bg = ListProperty(style.BLUE)


class PhotoView(Widget):
    """Shows JPEG bytes (the spec photo) at their own aspect ratio, centred."""

    jpeg = ObjectProperty(None, allownone=True)
    texture = ObjectProperty(None, allownone=True)
    photo_rect = ListProperty([0, 0, 0, 0])  # x, y, w, h drawn

    def on_jpeg(self, _w: Widget, data: bytes | None) -> None:
        self.texture = CoreImage(BytesIO(data), ext="jpg").texture if data else None
        self._layout()

    def on_size(self, *_: object) -> None:
        self._layout()

    def on_pos(self, *_: object) -> None:
        self._layout()

    def _layout(self) -> None:
        tw, th = self.texture.size if self.texture else (3, 4)
        scale = min(self.width / tw, self.height / th)
        w, h = tw * scale, th * scale
        self.photo_rect = [self.center_x - w / 2, self.center_y - h / 2, w, h]


class PreviewView(Widget):
    """Live camera preview, mirrored like a mirror, with the framing overlay.

    Frames are RGB numpy arrays (row 0 at the top). They are uploaded as they
    are; the texture coordinates flip them vertically (Kivy's origin is
    bottom-left) and horizontally (mirror), so no per-frame copy is made.
    """

    mode = StringProperty("none")  # 'none' | 'face' (spec crop and bands) | 'square' (QR target)
    ready = BooleanProperty(False)
    face_share = NumericProperty(DEFAULT_FACE_SHARE)
    frame_size = ListProperty([640, 480])
    image_rect = ListProperty([0, 0, 0, 0])

    # bottom-left, bottom-right, top-right, top-left sample (u, v): mirrored and flipped
    MIRROR_FLIP = (1.0, 1.0, 0.0, 1.0, 0.0, 0.0, 1.0, 0.0)

    def __init__(self, **kw) -> None:
        super().__init__(**kw)
        self._texture: Texture | None = None
        self._frame_id = 0
        with self.canvas:
            Color(*style.NAVY)
            self._bg = Rectangle()
            self._img_color = Color(1, 1, 1, 0)
            self._img = Rectangle(tex_coords=self.MIRROR_FLIP)
        self._overlay = self.canvas.after
        self.bind(
            pos=self._redraw, size=self._redraw, mode=self._redraw, ready=self._redraw,
            face_share=self._redraw, frame_size=self._redraw,
        )

    def set_frame(self, frame: np.ndarray | None) -> None:
        """Show a new frame; None blanks the preview."""
        if frame is None:
            self._frame_id = 0
            if self._texture is not None:
                self._texture = None
                self._img.texture = None
                self._img_color.a = 0
            return
        if id(frame) == self._frame_id:
            return  # same frame object as last time
        self._frame_id = id(frame)
        h, w = frame.shape[:2]
        if self._texture is None or self._texture.size != (w, h):
            self._texture = Texture.create(size=(w, h), colorfmt="rgb")
            self._img.texture = self._texture
            self._img.tex_coords = self.MIRROR_FLIP
            self._img_color.a = 1
            self.frame_size = [w, h]
        self._texture.blit_buffer(np.ascontiguousarray(frame).tobytes(), colorfmt="rgb", bufferfmt="ubyte")
        self.canvas.ask_update()

    def _redraw(self, *_: object) -> None:
        fw, fh = self.frame_size
        scale = min(self.width / fw, self.height / fh)
        w, h = fw * scale, fh * scale
        x, y = self.center_x - w / 2, self.center_y - h / 2
        self.image_rect = [x, y, w, h]
        self._bg.pos, self._bg.size = (x, y), (w, h)
        self._img.pos, self._img.size = (x, y), (w, h)
        self._overlay.clear()
        if self.mode == "none":
            return

        def to_widget(r: Rect) -> tuple[float, float, float, float]:
            # preview px (top-left origin) -> widget coords; the crop is centred so mirroring keeps it
            return (x + r.x * scale, y + (fh - r.bottom) * scale, r.w * scale, r.h * scale)

        if self.mode == "square":
            side = 0.6 * fh
            target = to_widget(Rect((fw - side) / 2, (fh - side) / 2, side, side))
            self._draw_target(target, (x, y, w, h), style.WHITE)
            return
        geo = overlay_geometry(fw, fh, self.face_share)
        crop = to_widget(geo.crop)
        frame_colour = style.GREEN if self.ready else style.WHITE
        with self._overlay:
            # bands first, then the shade and the crop frame on top
            Color(1, 1, 1, 0.16)
            for band in (geo.head_top, geo.eye_line, geo.face_left, geo.face_right):
                Rectangle(pos=to_widget(band)[:2], size=to_widget(band)[2:])
            Color(1, 1, 1, 0.55)
            for band in (geo.head_top, geo.eye_line):
                bx, by, bw, bh = to_widget(band)
                Line(points=[bx, by, bx + bw, by], width=1, dash_length=6, dash_offset=4)
                Line(points=[bx, by + bh, bx + bw, by + bh], width=1, dash_length=6, dash_offset=4)
        self._draw_target(crop, (x, y, w, h), frame_colour)

    def _draw_target(self, target: tuple, image: tuple, colour: tuple) -> None:
        tx, ty, tw, th = target
        x, y, w, h = image
        with self._overlay:
            Color(*style.SHADE)
            Rectangle(pos=(x, y), size=(tx - x, h))  # left
            Rectangle(pos=(tx + tw, y), size=(x + w - tx - tw, h))  # right
            Rectangle(pos=(tx, y), size=(tw, ty - y))  # below
            Rectangle(pos=(tx, ty + th), size=(tw, y + h - ty - th))  # above
            Color(*colour)
            Line(rectangle=(tx, ty, tw, th), width=max(2.0, self.height / 160))


class BusySpinner(Widget):
    """A turning arc: 'working' without a number."""

    angle = NumericProperty(0)

    def __init__(self, **kw) -> None:
        super().__init__(**kw)
        self._ev = None

    def start(self) -> None:
        if self._ev is None:
            self._ev = Clock.schedule_interval(self._turn, 1 / 30)

    def stop(self) -> None:
        if self._ev is not None:
            self._ev.cancel()
            self._ev = None

    def _turn(self, dt: float) -> None:
        self.angle = (self.angle + 300 * dt) % 360


# Let the .kv files use these by name.
for _cls in (WrapLabel, FitLabel, KButton, Pane, Rows, Header, PhotoView, PreviewView, BusySpinner):
    Factory.register(_cls.__name__, cls=_cls)
