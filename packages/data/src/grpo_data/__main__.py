"""``python -m grpo_data``: see ``grpo_data.cli``."""

from grpo_data.cli import main

raise SystemExit(main())
