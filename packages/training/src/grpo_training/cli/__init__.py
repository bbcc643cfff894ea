"""The command lines: `python -m grpo_training {train,launch,plan,eval,generate}` (`main`) and the apps' runner (`app`)."""
