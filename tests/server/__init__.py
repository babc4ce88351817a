"""Harnesses for the school server tests in tests/school_server/ (and the kiosk tests
and benchmarks that need a real server): imported by name, `server.harness`.

This folder holds no tests: tests/school_server/ has no __init__.py, so it
cannot shadow the real school_server package on sys.path.
"""
