"""``python -m certyn_simulator serve|demo|scenarios``."""

from .cli import main

raise SystemExit(main())
