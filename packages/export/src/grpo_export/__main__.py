import sys

from grpo_export.cli import main

sys.exit(main())
