"""`python -m school_server ...` is the same as `photo-server ...`."""

from school_server.cli import main

raise SystemExit(main())
