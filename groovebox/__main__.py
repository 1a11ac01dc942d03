"""``python -m groovebox`` runs the command line."""

from groovebox.cli import main

raise SystemExit(main())
