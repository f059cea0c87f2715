from servicebook.cli import main

raise SystemExit(main())
