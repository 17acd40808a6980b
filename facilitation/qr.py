"""QR codes for a session's join link, as SVG (for screens and print) and PNG (for sharing)."""
from __future__ import annotations

import io

import qrcode
import qrcode.image.svg
from qrcode.constants import ERROR_CORRECT_M


def qr_svg(url: str) -> str:
    """Return an SVG QR code for `url` that scales to any size."""
    image = qrcode.make(
        url, image_factory=qrcode.image.svg.SvgPathFillImage, error_correction=ERROR_CORRECT_M, border=2
    )
    return image.to_string(encoding="unicode")


def qr_png(url: str, *, box_size: int = 12) -> bytes:
    """Return a PNG QR code for `url`."""
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, box_size=box_size, border=2)
    code.add_data(url)
    code.make(fit=True)
    buffer = io.BytesIO()
    code.make_image().save(buffer)
    return buffer.getvalue()
