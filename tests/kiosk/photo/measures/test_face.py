"""The face measures' own arithmetic (kiosk/photo/measures/face.py); the
measures on real faces are in tests/kiosk/photo/test_measures.py and
test_head_pose.py."""

from __future__ import annotations

import numpy as np

from kiosk.photo.measures.face import _det, _rotation


def test_plain_determinant_is_numpys():
    """_det (the fit's rotation-or-mirror test, eight times a frame) is
    np.linalg.det, and its sign tells a rotation from a mirror."""
    rng = np.random.default_rng(3)
    for _ in range(200):
        m = rng.normal(size=(3, 3))
        assert np.isclose(_det(m), np.linalg.det(m), rtol=1e-12, atol=1e-12)
    q, _ = np.linalg.qr(rng.normal(size=(3, 3)))
    rot = q if np.linalg.det(q) > 0 else -q
    assert _det(rot) > 0 and _det(rot @ np.diag([1.0, 1.0, -1.0])) < 0


def test_rotation_is_never_a_mirror():
    """Kabsch's answer for a covariance whose best orthogonal fit is a
    mirror is still a rotation (det +1)."""
    rng = np.random.default_rng(5)
    for _ in range(50):
        cov = rng.normal(size=(3, 3))
        rot = _rotation(cov)
        assert np.allclose(rot @ rot.T, np.eye(3)) and np.isclose(np.linalg.det(rot), 1.0)
