from checker.command.cli import main

raise SystemExit(main())
