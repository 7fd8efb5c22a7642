"""Colours, sizes and the style sheet of the kiosk: readable at 2 m on a 1080p touchscreen."""

from __future__ import annotations

from PyQt6.QtGui import QColor, QFont

BACKGROUND = "#15120f"
PANEL = "#221d19"
PANEL_RAISED = "#2e2722"
TEXT = "#f4eee6"
MUTED = "#b8ad9e"
ACCENT = "#e3b25b"
ACCENT_DARK = "#3a2e1c"
OK = "#7cc08a"
WARN = "#e6a23c"
ERROR = "#e36a5a"

FONT_FAMILY = "DejaVu Sans"
FONT_BODY_PX = 30
"""Smallest text on screen (≥ 28 px is readable at about 2 m)."""
FONT_TITLE_PX = 46
FONT_HINT_PX = 28
TOUCH_PX = 88
"""Minimum height of anything a finger must hit (≥ 80 px)."""
MARGIN_PX = 28
KEY_PX = 80
"""Height of an on-screen keyboard key (the touch minimum; five rows must leave room for the
painting's preview)."""


def font(px: int = FONT_BODY_PX, bold: bool = False) -> QFont:
    result = QFont(FONT_FAMILY)
    result.setPixelSize(px)
    result.setBold(bold)
    return result


def color(name: str, alpha: int = 255) -> QColor:
    result = QColor(name)
    result.setAlpha(alpha)
    return result


STATE_COLOURS = {"ok": OK, "busy": ACCENT, "warn": WARN, "error": ERROR, "idle": MUTED}

STYLE_SHEET = f"""
QWidget {{
    background: {BACKGROUND};
    color: {TEXT};
    font-family: "{FONT_FAMILY}";
    font-size: {FONT_BODY_PX}px;
}}
QFrame#panel {{
    background: {PANEL};
    border-radius: 22px;
}}
QLabel {{ background: transparent; }}
QLabel#title {{ font-size: {FONT_TITLE_PX}px; font-weight: bold; color: {TEXT}; }}
QLabel#subtitle {{ font-size: {FONT_BODY_PX}px; color: {MUTED}; }}
QLabel#section {{ font-size: {FONT_HINT_PX}px; color: {MUTED}; letter-spacing: 2px; }}
QLabel#hint {{ font-size: {FONT_HINT_PX}px; color: {MUTED}; }}
QLabel#reading {{ font-size: {FONT_BODY_PX}px; color: {TEXT}; background: {PANEL};
                  border-radius: 14px; padding: 12px 18px; }}
QLabel#hint[warning="true"] {{ color: {WARN}; }}
QLineEdit {{
    background: {PANEL_RAISED};
    border: 3px solid {PANEL_RAISED};
    border-radius: 18px;
    padding: 10px 22px;
    min-height: {TOUCH_PX}px;
    font-size: 34px;
    selection-background-color: {ACCENT};
    selection-color: {BACKGROUND};
}}
QLineEdit:focus {{ border-color: {ACCENT}; }}
QPushButton {{
    background: {PANEL_RAISED};
    color: {TEXT};
    border: none;
    border-radius: 20px;
    min-height: {TOUCH_PX}px;
    padding: 0 34px;
    font-size: {FONT_BODY_PX}px;
    font-weight: bold;
}}
QPushButton:pressed {{ background: {ACCENT_DARK}; }}
QPushButton:disabled {{ color: #6d645a; background: #241f1b; }}
QPushButton#primary {{ background: {ACCENT}; color: {BACKGROUND}; }}
QPushButton#primary:pressed {{ background: #b98d3f; }}
QPushButton#primary:disabled {{ background: #5a4a2f; color: #2a2520; }}
QPushButton#chip {{
    background: transparent;
    border: 3px solid #5b5047;
    border-radius: {TOUCH_PX // 2}px;
    padding: 0 30px;
    font-weight: normal;
}}
QPushButton#chip:checked {{
    background: {ACCENT};
    border-color: {ACCENT};
    color: {BACKGROUND};
}}
QFrame#keyboardPanel {{ background: {PANEL}; border-radius: 22px; }}
QPushButton#key, QPushButton#actionKey, QPushButton#enterKey {{
    background: {PANEL_RAISED};
    min-height: {KEY_PX}px;
    min-width: {KEY_PX - 16}px;
    padding: 0 8px;
    border-radius: 14px;
    font-size: 34px;
    font-weight: normal;
}}
QPushButton#actionKey {{ background: #3d342d; font-size: {FONT_BODY_PX}px; }}
QPushButton#actionKey:checked {{ background: {ACCENT}; color: {BACKGROUND}; }}
QPushButton#enterKey {{ background: {ACCENT}; color: {BACKGROUND}; font-size: {FONT_BODY_PX}px;
                        font-weight: bold; }}
QPushButton#key:pressed, QPushButton#actionKey:pressed {{ background: {ACCENT_DARK}; }}
QPushButton#enterKey:pressed {{ background: #b98d3f; }}
QPushButton#word {{
    background: transparent;
    border: 3px dashed #7a6a58;
    border-radius: {TOUCH_PX // 2}px;
    padding: 0 26px;
    font-weight: normal;
}}
QPushButton#word:pressed {{ background: {ACCENT_DARK}; }}
QSlider {{ min-height: {TOUCH_PX}px; background: transparent; }}
QSlider::groove:horizontal {{
    height: 14px; border-radius: 7px; background: {PANEL_RAISED};
}}
QSlider::sub-page:horizontal {{ height: 14px; border-radius: 7px; background: {ACCENT}; }}
QSlider::handle:horizontal {{
    width: 56px; height: 56px; margin: -21px 0; border-radius: 28px; background: {TEXT};
}}
"""
