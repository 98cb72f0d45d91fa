from leo.cli import main

raise SystemExit(main())
