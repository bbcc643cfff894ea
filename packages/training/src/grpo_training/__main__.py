"""`python -m grpo_training {train,launch,eval,generate}`."""

import sys

from grpo_training.cli.main import main

sys.exit(main())
