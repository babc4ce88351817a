"""Colours of the kiosk screens (RGBA 0-1), imported by every .kv file as C.

Blue and white, high contrast: white text on BLUE is 6.3:1, INK on WHITE 15:1.
"""

BLUE = (0.05, 0.36, 0.69, 1)  # #0D5CB0: headers, primary buttons
BLUE_DARK = (0.03, 0.25, 0.50, 1)  # pressed primary
BLUE_LIGHT = (0.89, 0.94, 1, 1)  # panels on white
NAVY = (0.06, 0.11, 0.20, 1)  # behind the live preview
WHITE = (1, 1, 1, 1)
INK = (0.08, 0.12, 0.20, 1)  # body text on white
MUTED = (0.33, 0.40, 0.50, 1)  # small print on white
LINE = (0.75, 0.82, 0.90, 1)
GREEN = (0.10, 0.62, 0.32, 1)  # ready / ok
GREEN_BG = (0.90, 0.97, 0.92, 1)  # behind an "all is well" note
ORANGE = (0.85, 0.40, 0.05, 1)  # student problem (readable on white)
ORANGE_BG = (1, 0.95, 0.88, 1)
RED = (0.75, 0.12, 0.12, 1)  # device problem / call staff
DISABLED = (0.78, 0.81, 0.85, 1)
SHADE = (0, 0, 0, 0.45)  # dims the preview outside the crop
